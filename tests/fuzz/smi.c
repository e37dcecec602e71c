/* smi.c - fuzz target: the `nvidia-smi -q -x` reader of kubectl-gpusnap
 * (smi_parse in plugins/gpusnap/smi.c). */
#include "fuzz.h"
#include "../../plugins/gpusnap/smi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf err = BUF_INIT;
	cJSON *d = cJSON_CreateObject();

	smi_parse((const char *)data, size, d, &err);
	cJSON_Delete(d);
	buf_release(&err);
	return 0;
}
