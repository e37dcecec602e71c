/* ni_vars.c - fuzz target: the vars/NAME.json loader of gcloud-nodeimage
 * (ni_env_load in plugins/nodeimage/env.c). The input up to its first NUL
 * byte is vars/fuzz.json, what follows it (when there is a NUL) is
 * vars/_kube-env.yaml. */
#include <string.h>

#include "fuzz.h"
#include "../../plugins/nodeimage/nodeimage.h"

/* The options of gcloud-nodeimage's commands (its main.c defines them). */
struct ni_globals ni;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t json_len = nul ? (size_t)(nul - data) : size;
	struct ni_env e;
	struct buf err = BUF_INIT;

	fuzz_write("fuzz.json", data, json_len);
	if (nul)
		fuzz_write("_kube-env.yaml", nul + 1, size - json_len - 1);
	else
		fuzz_remove("_kube-env.yaml");
	/* on failure too: what was taken before the error is e's */
	ni_env_load(fuzz_dir(), "fuzz", &e, &err);
	ni_env_free(&e);
	buf_release(&err);
	return 0;
}
