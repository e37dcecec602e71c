/* exec_cred.c - fuzz target: the parser of a client-go credential plugin's
 * reply (exec_parse_reply in common/kube_cred.c, compiled in: it is static).
 * The first byte picks the apiVersion the kubeconfig asked for. */
#include "../../common/kube_cred.c"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char v1[] = "client.authentication.k8s.io/v1";
	char v1beta1[] = "client.authentication.k8s.io/v1beta1";
	char cmd[] = "fuzz-plugin";
	struct kube_exec ex = { 0 };
	struct kube_exec_result res = { 0 };
	struct buf reply = BUF_INIT, err = BUF_INIT;

	if (size < 1)
		return 0;
	ex.api_version = data[0] & 1 ? v1beta1 : v1;
	ex.command = cmd;
	buf_add(&reply, data + 1, size - 1);
	if (exec_parse_reply(&ex, &reply, &res, &err) == 0)
		kube_exec_result_release(&res);
	buf_release(&reply);
	buf_release(&err);
	return 0;
}
