/* kubeconfig.c - fuzz target: kubeconfig loading (kube_config_load) of a
 * file holding the input, with no in-cluster fallback and no GKE. */
#include <stdlib.h>

#include "fuzz.h"
#include "kube_config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* nothing but the file: no ~/.kube/config, no service account */
	setenv("HOME", fuzz_dir(), 1);
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("POD_NAMESPACE");
	setenv("WLKIT_SERVICEACCOUNT_DIR", "/nonexistent/wlkit-fuzz", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_flags flags = { 0 };
	struct kube_target *t = NULL;
	struct buf err = BUF_INIT;

	flags.kubeconfig = fuzz_write("config", data, size);
	if (kube_config_load(&flags, &t, &err) == 0)
		kube_target_free(t);
	buf_release(&err);
	return 0;
}
