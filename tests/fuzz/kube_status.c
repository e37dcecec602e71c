/* kube_status.c - fuzz target: a Kubernetes Status body into a kube_err
 * (kube_err_from_response). The first two bytes are the HTTP status. */
#include "fuzz.h"
#include "kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_err err = KUBE_ERR_INIT;
	long status;

	if (size < 2)
		return 0;
	status = 100 + (data[0] << 8 | data[1]) % 500;
	kube_err_from_response(&err, status, (const char *)data + 2, size - 2,
			       data[0] & 0x80 ? "get jobs.batch x" : NULL);
	kube_err_release(&err);
	return 0;
}
