/* test_kube_exec.c - exec credential plugins (client.authentication.k8s.io
 * v1 and v1beta1) through kube_config: KUBERNETES_EXEC_INFO, env, caching
 * until expirationTimestamp, re-runs on force, failures; and that no secret
 * reaches the log at any verbosity. */
#include "unit.h"

#include <cjson/cJSON.h>

#include "kube_config_test.h"
#include "obj.h"

/* The test plugin: counts its runs in ./count, keeps KUBERNETES_EXEC_INFO
 * in ./info, $FOO in ./foo and its arguments in ./args; MODE picks the
 * reply; EXP is an expirationTimestamp. */
static const char plugin[] =
	"#!/bin/sh\n"
	"d=$(dirname \"$0\")\n"
	"n=$(cat \"$d/count\" 2>/dev/null || echo 0)\n"
	"n=$((n + 1))\n"
	"echo \"$n\" > \"$d/count\"\n"
	"printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$d/info\"\n"
	"printf '%s' \"$FOO\" > \"$d/foo\"\n"
	"tr '\\0' '\\n' < /proc/$$/environ | grep -c '^FOO=' > \"$d/foos\"\n"
	"echo \"$@\" > \"$d/args\"\n"
	"exp=\"\"\n"
	"[ -n \"$EXP\" ] && exp=\",\\\"expirationTimestamp\\\":\\\"$EXP\\\"\"\n"
	"case \"$MODE\" in\n"
	"fail) echo 'plugin says no' >&2; exit 3 ;;\n"
	"cert) printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":"
	"{\"clientCertificateData\":\"CERT-PEM\\\\n\",\"clientKeyData\":\"KEY-PEM\\\\n\"}}' \"$API\" ;;\n"
	"wrongapi) printf '{\"apiVersion\":\"client.authentication.k8s.io/v1alpha1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"x\"}}' ;;\n"
	"nothing) printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":{}}' \"$API\" ;;\n"
	"*) printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"exec-token-%s\"%s}}' \"$API\" \"$n\" \"$exp\" ;;\n"
	"esac\n";

static int runs(const char *dir)
{
	struct buf b = BUF_INIT, p = BUF_INIT;
	int n = 0;

	buf_printf(&p, "%s/count", tpath(dir));
	if (buf_read_file(&b, p.data) == 0)
		n = atoi(b.data);
	buf_release(&b);
	buf_release(&p);
	return n;
}

static char *slurp(const char *rel)
{
	struct buf b = BUF_INIT;

	if (buf_read_file(&b, tpath(rel)) < 0)
		return NULL;
	return buf_detach(&b, NULL);
}

/* A kubeconfig in dir whose user runs ./plugin with the given settings. */
static const char *exec_config(const char *dir, const char *api, const char *mode,
			       const char *exp, const char *extra)
{
	struct buf b = BUF_INIT, rel = BUF_INIT;
	const char *p;

	buf_printf(&rel, "%s/plugin", dir);
	wscript(rel.data, plugin);
	buf_printf(&b,
		"current-context: x\n"
		"clusters:\n"
		"- name: c\n"
		"  cluster:\n"
		"    server: https://exec.example:6443\n"
		"    certificate-authority-data: Q0EK\n"
		"    extensions:\n"
		"    - name: client.authentication.k8s.io/exec\n"
		"      extension: {audience: wlkit-test, n: 3}\n"
		"contexts:\n"
		"- {name: x, context: {cluster: c, user: u}}\n"
		"users:\n"
		"- name: u\n"
		"  user:\n"
		"    exec:\n"
		"      apiVersion: client.authentication.k8s.io/%s\n"
		"      command: ./plugin\n"
		"      args: [one, two]\n"
		"      provideClusterInfo: true\n"
		"      installHint: install the plugin\n"
		"      env:\n"
		"      - {name: API, value: client.authentication.k8s.io/%s}\n"
		"      - {name: MODE, value: '%s'}\n"
		"      - {name: EXP, value: '%s'}\n"
		"      - {name: FOO, value: inner}\n"
		"%s",
		api, api, mode, exp, extra ? extra : "");
	buf_reset(&rel);
	buf_printf(&rel, "%s/config", dir);
	p = wfile(rel.data, b.data);
	buf_release(&b);
	buf_release(&rel);
	return p;
}

TEST(exec_plugin_v1beta1_caching_and_info)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT;
	struct kube_target *t;
	cJSON *info = NULL;
	char *s;

	env_reset();
	setenv("FOO", "outer", 1);
	fl.kubeconfig = exec_config("ex1", "v1beta1", "", "2999-01-01T00:00:00Z", NULL);
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (!t)
		goto out;
	CHECK_INT(runs("ex1"), 0);	/* nothing runs before it is needed */
	CHECK_STR(bearer(t, false), "exec-token-1");
	CHECK_STR(bearer(t, false), "exec-token-1");
	CHECK_INT(runs("ex1"), 1);	/* cached until expirationTimestamp */
	CHECK_STR(bearer(t, true), "exec-token-2");	/* after a 401 */
	CHECK_INT(runs("ex1"), 2);
	kube_target_free(t);
	/* the configured env replaces ours, it is not added twice */
	s = slurp("ex1/foo");
	CHECK_STR(s, "inner");
	free(s);
	s = slurp("ex1/foos");
	CHECK_STR(s, "1\n");
	free(s);
	s = slurp("ex1/args");
	CHECK_STR(s, "one two\n");
	free(s);
	s = slurp("ex1/info");
	info = s ? cJSON_Parse(s) : NULL;
	free(s);
	CHECK(info != NULL);
	CHECK_STR(obj_str(info, "apiVersion"), "client.authentication.k8s.io/v1beta1");
	CHECK_STR(obj_str(info, "kind"), "ExecCredential");
	CHECK(cJSON_IsFalse(obj_get(info, "spec.interactive")));
	CHECK_STR(obj_str(info, "spec.cluster.server"), "https://exec.example:6443");
	CHECK_STR(obj_str(info, "spec.cluster.certificate-authority-data"), "Q0EK");
	CHECK_STR(obj_str(info, "spec.cluster.config.audience"), "wlkit-test");
	CHECK_INT(obj_int(info, "spec.cluster.config.n", 0), 3);
	cJSON_Delete(info);
	/* an expirationTimestamp in the past: every request runs it again */
	fl.kubeconfig = exec_config("ex1", "v1beta1", "", "2000-01-01T00:00:00Z", NULL);
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(bearer(t, false), "exec-token-3");
		CHECK_STR(bearer(t, false), "exec-token-4");
		kube_target_free(t);
	}
	/* no expirationTimestamp: cached for good */
	fl.kubeconfig = exec_config("ex1", "v1beta1", "", "", NULL);
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(bearer(t, false), "exec-token-5");
		CHECK_STR(bearer(t, false), "exec-token-5");
		kube_target_free(t);
	}
	CHECK_INT(runs("ex1"), 5);
out:
	unsetenv("FOO");
	buf_release(&err);
}

TEST(exec_plugin_v1_and_cert_reply)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT;
	struct kube_target *t;
	struct kube_cred c;

	env_reset();
	/* v1 requires interactiveMode */
	fl.kubeconfig = exec_config("ex2", "v1", "cert", "", NULL);
	CHECK(load(&fl, &err) == NULL);
	CHECK_STR(buf_str(&err), "invalid configuration: interactiveMode must be "
		  "specified for u to use exec authentication plugin");
	fl.kubeconfig = exec_config("ex2", "v1", "cert", "", "      interactiveMode: Never\n");
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_INT(kube_cred_get(t, false, &c, &err), 0);
		CHECK(c.bearer == NULL);
		CHECK_INT(c.cert_len, 9);
		CHECK(c.cert_data && !memcmp(c.cert_data, "CERT-PEM\n", 9));
		CHECK_INT(c.key_len, 8);
		CHECK(c.key_data && !memcmp(c.key_data, "KEY-PEM\n", 8));
		kube_target_free(t);
	}
	fl.kubeconfig = exec_config("ex2", "v1", "", "", "      interactiveMode: Bogus\n");
	CHECK(load(&fl, &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "invalid interactiveMode for u: \"Bogus\"");
	buf_release(&err);
}

TEST(exec_plugin_failures)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT;
	struct kube_target *t;
	struct kube_cred c;

	env_reset();
	/* interactiveMode Always with stdin from /dev/null */
	fl.kubeconfig = exec_config("ex3", "v1", "", "", "      interactiveMode: Always\n");
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_INT(kube_cred_get(t, false, &c, &err), -1);
		CHECK_INT(strncmp(buf_str(&err), "exec plugin '/", 14), 0);
		CHECK_CONTAINS(buf_str(&err), "/ex3/plugin' needs an interactive terminal "
			       "(interactiveMode: Always), but stdin is not one");
		CHECK_INT(runs("ex3"), 0);
		kube_target_free(t);
	}
	/* a plugin that fails: its exit code, and its stderr passes through */
	fl.kubeconfig = exec_config("ex3", "v1beta1", "fail", "", NULL);
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		struct buf said = BUF_INIT;
		int saved = capture_start("ex3/stderr");

		CHECK_INT(kube_cred_get(t, false, &c, &err), -1);
		capture_end(saved, "ex3/stderr", &said);
		CHECK_CONTAINS(buf_str(&err), "ex3/plugin' failed with exit code 3");
		CHECK_STR(buf_str(&said), "plugin says no\n");
		buf_release(&said);
		kube_target_free(t);
	}
	fl.kubeconfig = exec_config("ex3", "v1beta1", "wrongapi", "", NULL);
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_INT(kube_cred_get(t, false, &c, &err), -1);
		CHECK_STR(buf_str(&err), "exec plugin is configured to use API version "
			  "client.authentication.k8s.io/v1beta1, plugin returned version "
			  "client.authentication.k8s.io/v1alpha1");
		kube_target_free(t);
	}
	fl.kubeconfig = exec_config("ex3", "v1beta1", "nothing", "", NULL);
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_INT(kube_cred_get(t, false, &c, &err), -1);
		CHECK_STR(buf_str(&err), "exec plugin didn't return a token or cert/key pair");
		kube_target_free(t);
	}
	/* not found: the install hint is shown */
	unlink(tpath("ex3/plugin"));
	fl.kubeconfig = exec_config("ex3", "v1beta1", "", "", NULL);
	unlink(tpath("ex3/plugin"));
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_INT(kube_cred_get(t, false, &c, &err), -1);
		CHECK_CONTAINS(buf_str(&err), "ex3/plugin' not found");
		CHECK_CONTAINS(buf_str(&err), "install the plugin");
		kube_target_free(t);
	}
	buf_release(&err);
}

TEST(exec_plugin_found_in_path)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT, path = BUF_INIT;
	struct kube_target *t;

	env_reset();
	wscript("ex4/bin/wlkit-test-plugin", plugin);
	buf_printf(&path, "%s:%s", tpath("ex4/bin"), getenv("PATH"));
	setenv("PATH", path.data, 1);
	fl.kubeconfig = wfile("ex4/config",
		"current-context: x\n"
		"clusters:\n- {name: c, cluster: {server: 'https://p'}}\n"
		"contexts:\n- {name: x, context: {cluster: c, user: u}}\n"
		"users:\n"
		"- name: u\n"
		"  user:\n"
		"    exec:\n"
		"      apiVersion: client.authentication.k8s.io/v1\n"
		"      interactiveMode: IfAvailable\n"
		"      command: wlkit-test-plugin\n"
		"      env: [{name: API, value: client.authentication.k8s.io/v1}]\n");
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(bearer(t, false), "exec-token-1");
		kube_target_free(t);
	}
	/* without provideClusterInfo there is no spec.cluster */
	{
		char *s = slurp("ex4/bin/info");
		cJSON *info = s ? cJSON_Parse(s) : NULL;

		CHECK(info && !obj_get(info, "spec.cluster"));
		CHECK(info && cJSON_IsFalse(obj_get(info, "spec.interactive")));
		cJSON_Delete(info);
		free(s);
	}
	buf_release(&path);
	buf_release(&err);
}

TEST(secrets_are_never_logged)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT, log = BUF_INIT;
	struct kube_target *t;
	int saved;

	env_reset();
	saved = capture_start("secrets.log");
	log_set_verbosity(10);
	fl.kubeconfig = exec_config("ex5", "v1beta1", "", "", NULL);
	t = load(&fl, &err);
	CHECK(t && bearer(t, false) && !strcmp(bearer(t, true), "exec-token-2"));
	kube_target_free(t);
	fl.kubeconfig = wfile("ex5/tok-config",
		"current-context: x\n"
		"clusters:\n- {name: c, cluster: {server: 'https://p'}}\n"
		"contexts:\n- {name: x, context: {cluster: c, user: u}}\n"
		"users:\n- {name: u, user: {token: very-secret-token, password: pw}}\n"
		"- {name: b, user: {username: me, password: very-secret-password}}\n");
	t = load(&fl, &err);
	CHECK(t == NULL);	/* token and basic together */
	fl.user = "b";
	t = load(&fl, &err);
	CHECK(t != NULL);
	kube_target_free(t);
	log_set_verbosity(0);
	capture_end(saved, "secrets.log", &log);
	CHECK_CONTAINS(buf_str(&log), "using kubeconfig");	/* -v=4 says what */
	CHECK(!strstr(buf_str(&log), "exec-token"));
	CHECK(!strstr(buf_str(&log), "very-secret"));
	buf_release(&log);
	buf_release(&err);
}
