/* test_kube_config.c - kubeconfig loading as kubectl does it: merging,
 * overrides, namespaces, paths, data fields, token files and in-cluster
 * config (exec plugins: test_kube_exec.c). */
#include "unit.h"

#include "kube_config_test.h"

static const char kc_a[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: ctx-a\n"
	"clusters:\n"
	"- name: c1\n"
	"  cluster:\n"
	"    server: https://a1.example:6443\n"
	"contexts:\n"
	"- name: ctx-a\n"
	"  context:\n"
	"    cluster: c1\n"
	"    user: u1\n"
	"    namespace: team-a\n"
	"users:\n"
	"- name: u1\n"
	"  user:\n"
	"    token: token-a\n";

static const char kc_b[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: ctx-b\n"
	"clusters:\n"
	"- name: c1\n"
	"  cluster:\n"
	"    server: https://b1.example:6443\n"
	"    tls-server-name: b1-name\n"
	"- name: c2\n"
	"  cluster:\n"
	"    server: https://b2.example\n"
	"contexts:\n"
	"- name: ctx-b\n"
	"  context:\n"
	"    cluster: c2\n"
	"    user: u2\n"
	"- name: ctx-a\n"
	"  context:\n"
	"    cluster: c2\n"
	"    user: u2\n"
	"    namespace: from-b\n"
	"users:\n"
	"- name: u1\n"
	"  user:\n"
	"    token: token-b\n"
	"- name: u2\n"
	"  user:\n"
	"    username: bob\n"
	"    password: secret-b\n";

/* A file that sets no current-context, and a cluster c3 of its own. */
static const char kc_c[] =
	"clusters:\n"
	"- name: c3\n"
	"  cluster:\n"
	"    server: https://c3.example\n"
	"contexts:\n"
	"- name: ctx-c\n"
	"  context:\n"
	"    cluster: c3\n"
	"    user: u1\n";

TEST(merge_two_files_first_wins)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT, env = BUF_INIT;
	struct kube_target *t;

	env_reset();
	buf_printf(&env, "%s:%s", wfile("m2/a", kc_a), wfile("m2/b", kc_b));
	setenv("KUBECONFIG", env.data, 1);
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		/* current-context, the context, the cluster and the user all
		 * come whole from the first file that has them */
		CHECK_STR(t->context, "ctx-a");
		CHECK_STR(t->cluster_name, "c1");
		CHECK_STR(t->server, "https://a1.example:6443");
		CHECK(t->tls_server_name == NULL);
		CHECK_STR(t->namespace, "team-a");
		CHECK_STR(bearer(t, false), "token-a");
		CHECK_CONTAINS(t->source, "m2/a'");
		kube_target_free(t);
	}
	/* the other order: b's current-context and b's c1 */
	buf_reset(&env);
	buf_printf(&env, "%s:%s", tpath("m2/b"), tpath("m2/a"));
	setenv("KUBECONFIG", env.data, 1);
	fl.context = "ctx-a";
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(t->context, "ctx-a");
		CHECK_STR(t->server, "https://b2.example");
		CHECK_STR(t->namespace, "from-b");
		CHECK_STR(t->username, "bob");
		kube_target_free(t);
	}
	fl.context = NULL;
	fl.cluster = "c1";
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(t->context, "ctx-b");
		CHECK_STR(t->server, "https://b1.example:6443");
		CHECK_STR(t->tls_server_name, "b1-name");
		kube_target_free(t);
	}
	buf_release(&env);
	buf_release(&err);
}

TEST(merge_three_files_missing_empty_and_repeated_entries)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT, env = BUF_INIT, log = BUF_INIT;
	struct kube_target *t;
	int saved;

	env_reset();
	wfile("m3/a", kc_a);
	wfile("m3/b", kc_b);
	wfile("m3/c", kc_c);
	/* c sets no current-context: b's is taken; b's u2 is the user */
	buf_printf(&env, "::%s:%s::%s:%s:%s:", tpath("m3/c"), tpath("m3/missing"),
		   tpath("m3/c"), tpath("m3/b"), tpath("m3/a"));
	setenv("KUBECONFIG", env.data, 1);
	log_set_verbosity(6);
	saved = capture_start("m3/log");
	t = load(&fl, &err);
	capture_end(saved, "m3/log", &log);
	log_set_verbosity(0);
	/* each file once, in order */
	buf_reset(&env);
	buf_printf(&env, "config loaded from file: %s\n", tpath("m3/c"));
	CHECK_INT(count(log.data, env.data), 1);
	CHECK_INT(count(log.data, "config loaded from file: "), 3);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(t->context, "ctx-b");
		CHECK_STR(t->server, "https://b2.example");
		CHECK_STR(t->username, "bob");
		CHECK_STR(t->password, "secret-b");
		CHECK_STR(t->namespace, "default");
		kube_target_free(t);
	}
	/* a context of c with a user that b defines before a does */
	fl.context = "ctx-c";
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(t->server, "https://c3.example");
		CHECK_STR(t->user_name, "u1");
		CHECK_STR(bearer(t, false), "token-b");
		kube_target_free(t);
	}
	/* only missing files: nothing configured, and ~/.kube/config is
	 * not consulted when KUBECONFIG is set */
	wfile("m3/home/.kube/config", kc_a);
	setenv("HOME", tpath("m3/home"), 1);
	setenv("KUBECONFIG", tpath("m3/nothing"), 1);
	fl.context = NULL;
	t = load(&fl, &err);
	CHECK(t == NULL);
	CHECK_STR(buf_str(&err), "invalid configuration: no configuration has been provided, "
		  "try setting KUBERNETES_MASTER environment variable");
	/* ~/.kube/config when KUBECONFIG is unset (or empty) */
	setenv("KUBECONFIG", "", 1);
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(t->context, "ctx-a");
		CHECK_CONTAINS(t->source, "m3/home/.kube/config");
		kube_target_free(t);
	}
	buf_release(&log);
	buf_release(&env);
	buf_release(&err);
}

TEST(same_name_twice_in_one_file_is_refused)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT, want = BUF_INIT;

	env_reset();
	fl.kubeconfig = wfile("dup/config",
		"current-context: x\n"
		"clusters:\n"
		"- {name: c, cluster: {server: 'https://first'}}\n"
		"- {name: d, cluster: {server: 'https://other'}}\n"
		"- {name: c, cluster: {server: 'https://second'}}\n"
		"contexts:\n"
		"- {name: x, context: {cluster: c}}\n");
	CHECK(load(&fl, &err) == NULL);
	buf_printf(&want, "cannot load kubeconfig '%s': duplicate name \"c\" in 'clusters'",
		   fl.kubeconfig);
	CHECK_STR(buf_str(&err), want.data);
	buf_release(&want);
	buf_release(&err);
}

TEST(explicit_kubeconfig_must_exist)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT, want = BUF_INIT;

	env_reset();
	setenv("KUBECONFIG", wfile("explicit/a", kc_a), 1);
	fl.kubeconfig = tpath("explicit/none");
	CHECK(load(&fl, &err) == NULL);
	buf_printf(&want, "cannot read kubeconfig '%s': No such file or directory", fl.kubeconfig);
	CHECK_STR(buf_str(&err), want.data);
	/* a file that is not YAML names itself */
	fl.kubeconfig = wfile("explicit/bad", "clusters: [\n");
	CHECK(load(&fl, &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "explicit/bad");
	fl.kubeconfig = wfile("explicit/list", "clusters: {a: b}\n");
	CHECK(load(&fl, &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "'clusters' must be a list");
	buf_release(&want);
	buf_release(&err);
}

TEST(no_configuration_at_all)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT;

	env_reset();
	CHECK(load(&fl, &err) == NULL);
	CHECK_STR(buf_str(&err), "invalid configuration: no configuration has been provided, "
		  "try setting KUBERNETES_MASTER environment variable");
	/* an empty file and a file without current-context are the same */
	fl.kubeconfig = wfile("none/empty", "");
	CHECK(load(&fl, &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "no configuration has been provided");
	fl.kubeconfig = wfile("none/c", kc_c);
	CHECK(load(&fl, &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "no configuration has been provided");
	buf_release(&err);
}

TEST(missing_context_cluster_user)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT;

	env_reset();
	fl.kubeconfig = wfile("missing/a", kc_a);
	fl.context = "foo";
	CHECK(load(&fl, &err) == NULL);
	CHECK_STR(buf_str(&err), "invalid configuration: context was not found for "
		  "specified context: foo");
	fl.context = NULL;
	fl.cluster = "nope";
	CHECK(load(&fl, &err) == NULL);
	CHECK_STR(buf_str(&err), "invalid configuration: no server found for cluster \"nope\"");
	fl.cluster = NULL;
	fl.user = "nobody";
	CHECK(load(&fl, &err) == NULL);
	CHECK_STR(buf_str(&err), "auth info \"nobody\" does not exist");
	fl.user = NULL;
	/* a current-context that names nothing */
	fl.kubeconfig = wfile("missing/b", "current-context: gone\n"
		"clusters:\n- {name: c1, cluster: {server: 'https://x'}}\n");
	CHECK(load(&fl, &err) == NULL);
	CHECK_STR(buf_str(&err), "invalid configuration: context was not found for "
		  "specified context: gone");
	/* several problems at once, as kubectl lists them */
	fl.kubeconfig = wfile("missing/d", "current-context: gone\n"
		"users:\n- {name: u, user: {token: t, username: a}}\n");
	fl.user = "u";
	CHECK(load(&fl, &err) == NULL);
	CHECK_STR(buf_str(&err), "invalid configuration: [context was not found for "
		  "specified context: gone, more than one authentication method found "
		  "for u; found [token basicAuth], only one is allowed]");
	fl.user = NULL;
	/* a context whose cluster has no server */
	fl.kubeconfig = wfile("missing/c", "current-context: x\n"
		"clusters:\n- {name: c1, cluster: {insecure-skip-tls-verify: true}}\n"
		"contexts:\n- {name: x, context: {cluster: c1}}\n");
	CHECK(load(&fl, &err) == NULL);
	CHECK_STR(buf_str(&err), "invalid configuration: no server found for cluster \"c1\"");
	buf_release(&err);
}

TEST(override_flags)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT;
	struct kube_target *t;
	const char *ca;

	env_reset();
	ca = wfile("ovr/ca.pem", "CA\n");
	wfile("ovr/cert.pem", "CERT\n");
	wfile("ovr/key.pem", "KEY\n");
	fl.kubeconfig = wfile("ovr/config",
		"current-context: x\n"
		"clusters:\n"
		"- name: c\n"
		"  cluster:\n"
		"    server: https://kc.example/\n"
		"    certificate-authority-data: Q0EtREFUQQo=\n"
		"    tls-server-name: kc-name\n"
		"- name: other\n"
		"  cluster: {server: 'https://other.example'}\n"
		"contexts:\n"
		"- {name: x, context: {cluster: c, user: u}}\n"
		"users:\n"
		"- name: u\n"
		"  user: {tokenFile: tok, client-certificate: cert.pem, client-key: key.pem}\n"
		"- name: v\n"
		"  user: {token: vtoken}\n");
	wfile("ovr/tok", "file-token\n");
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(t->server, "https://kc.example");
		CHECK_INT(t->ca_len, 8);
		CHECK(t->ca_data && !memcmp(t->ca_data, "CA-DATA\n", 8));
		CHECK_STR(t->tls_server_name, "kc-name");
		CHECK_STR(bearer(t, false), "file-token");
		CHECK_INT(t->request_timeout_ms, 0);
		CHECK(!t->namespace_explicit);
		kube_target_free(t);
	}
	/* --server alone drops the kubeconfig's tls-server-name */
	fl.server = "https://flag.example:8443";
	t = load(&fl, &err);
	CHECK(t && !strcmp(t->server, "https://flag.example:8443") && !t->tls_server_name);
	CHECK(t && t->ca_data != NULL);
	kube_target_free(t);
	fl.token = "flag-token";
	fl.certificate_authority = ca;
	fl.client_certificate = "/flag/cert";
	fl.client_key = "/flag/key";
	fl.request_timeout = "30s";
	fl.namespace = "ns-flag";
	fl.cluster = "other";
	fl.user = "v";
	/* /flag/cert does not exist: kubectl refuses it */
	CHECK(load(&fl, &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "unable to read client-cert '/flag/cert' for v: "
		       "No such file or directory");
	fl.client_certificate = tpath("ovr/cert.pem");
	fl.client_key = tpath("ovr/key.pem");
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(t->server, "https://flag.example:8443");
		CHECK_STR(t->cluster_name, "other");
		CHECK_STR(t->user_name, "v");
		CHECK_STR(bearer(t, false), "flag-token");
		CHECK(t->token_file == NULL);
		CHECK_STR(t->ca_file, ca);
		CHECK(t->ca_data == NULL);
		CHECK(t->tls_server_name == NULL);
		CHECK_STR(t->cert_file, tpath("ovr/cert.pem"));
		CHECK_STR(t->key_file, tpath("ovr/key.pem"));
		CHECK_INT(t->request_timeout_ms, 30000);
		CHECK_STR(t->namespace, "ns-flag");
		CHECK(t->namespace_explicit);
		kube_target_free(t);
	}
	/* --server with --tls-server-name keeps the flag's name; --token
	 * replaces the token file of the kubeconfig's user */
	memset(&fl, 0, sizeof(fl));
	fl.kubeconfig = tpath("ovr/config");
	fl.server = "https://10.1.2.3";
	fl.tls_server_name = "flag-name";
	fl.token = "t2";
	fl.insecure_skip_tls_verify = true;
	fl.request_timeout = "1m";
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(t->tls_server_name, "flag-name");
		CHECK(t->insecure);
		CHECK(t->ca_data == NULL && t->ca_file == NULL);
		CHECK(t->token_file == NULL);
		CHECK_STR(bearer(t, false), "t2");
		CHECK_INT(t->request_timeout_ms, 60000);
		kube_target_free(t);
	}
	buf_release(&err);
}

TEST(request_timeout_values)
{
	static const struct { const char *in; int64_t ms; } ok[] = {
		{ "0", 0 }, { "", 0 }, { "5", 5000 }, { "30s", 30000 },
		{ "1m", 60000 }, { "1h30m", 5400000 }, { "250ms", 250 },
	};
	static const char *const bad[] = { "soon", "-1", "-5s", "10x", "1.5" };
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT;
	struct kube_target *t;

	env_reset();
	fl.kubeconfig = wfile("timeout/config", kc_a);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		fl.request_timeout = ok[i].in;
		t = load(&fl, &err);
		CHECK(t != NULL);
		if (t)
			CHECK_INT(t->request_timeout_ms, ok[i].ms);
		kube_target_free(t);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fl.request_timeout = bad[i];
		CHECK(load(&fl, &err) == NULL);
		CHECK_CONTAINS(buf_str(&err), "invalid timeout value");
	}
	buf_release(&err);
}

TEST(namespace_resolution_order)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT;
	struct kube_target *t;

	env_reset();
	fl.kubeconfig = wfile("ns/a", kc_a);
	fl.namespace = "from-flag";
	t = load(&fl, &err);
	CHECK(t && !strcmp(t->namespace, "from-flag") && t->namespace_explicit);
	kube_target_free(t);
	fl.namespace = NULL;
	t = load(&fl, &err);
	CHECK(t && !strcmp(t->namespace, "team-a") && !t->namespace_explicit);
	kube_target_free(t);
	/* a context without a namespace: "default" ... */
	fl.kubeconfig = wfile("ns/b", kc_b);
	t = load(&fl, &err);
	CHECK(t && !strcmp(t->namespace, "default"));
	kube_target_free(t);
	/* ... unless in-cluster config is possible: its namespace file */
	wfile("ns/sa/token", "sa-token\n");
	wfile("ns/sa/namespace", "  pod-ns\n");
	setenv("WLKIT_SERVICEACCOUNT_DIR", tpath("ns/sa"), 1);
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	t = load(&fl, &err);
	CHECK(t && !strcmp(t->namespace, "pod-ns"));
	CHECK(t && !strcmp(t->server, "https://b2.example"));
	kube_target_free(t);
	/* POD_NAMESPACE before the file, the context's before both */
	setenv("POD_NAMESPACE", "env-ns", 1);
	t = load(&fl, &err);
	CHECK(t && !strcmp(t->namespace, "env-ns"));
	kube_target_free(t);
	fl.kubeconfig = tpath("ns/a");
	t = load(&fl, &err);
	CHECK(t && !strcmp(t->namespace, "team-a"));
	kube_target_free(t);
	buf_release(&err);
}

TEST(relative_paths_resolve_against_their_file)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT, env = BUF_INIT;
	struct kube_target *t;
	char *cwd = getcwd(NULL, 0);

	env_reset();
	wfile("rel/one/ca.pem", "CA\n");
	wfile("rel/certs/c.pem", "CERT\n");
	wfile("rel/one/sub/k.pem", "KEY\n");
	wfile("rel/two/tok", "tok-two\n");
	wfile("rel/one/config",
		"current-context: x\n"
		"clusters:\n"
		"- name: c\n"
		"  cluster: {server: 'https://one', certificate-authority: ca.pem}\n"
		"contexts:\n"
		"- {name: x, context: {cluster: c, user: u}}\n"
		"- {name: y, context: {cluster: c, user: w}}\n"
		"users:\n"
		"- name: u\n"
		"  user: {client-certificate: ../certs/c.pem, client-key: ./sub/./k.pem}\n");
	wfile("rel/two/config",
		"users:\n"
		"- name: w\n"
		"  user:\n"
		"    tokenFile: tok\n"
		"    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ./bin/plug}\n"
		"- name: p\n"
		"  user:\n"
		"    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: plug-in-path}\n");
	/* relative KUBECONFIG entries are taken from the working directory */
	CHECK_INT(chdir(unit_tmpdir()), 0);
	buf_printf(&env, "rel/one/config:rel/two/config");
	setenv("KUBECONFIG", env.data, 1);
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(t->ca_file, tpath("rel/one/ca.pem"));
		CHECK_STR(t->cert_file, tpath("rel/certs/c.pem"));
		CHECK_STR(t->key_file, tpath("rel/one/sub/k.pem"));
		kube_target_free(t);
	}
	fl.context = "y";
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(t->token_file, tpath("rel/two/tok"));
		CHECK(t->exec != NULL);
		if (t->exec)
			CHECK_STR(t->exec->command, tpath("rel/two/bin/plug"));
		kube_target_free(t);
	}
	/* a command without '/' stays a name for PATH */
	fl.user = "p";
	t = load(&fl, &err);
	CHECK(t && t->exec && !strcmp(t->exec->command, "plug-in-path"));
	kube_target_free(t);
	/* paths given as flags are not rewritten */
	fl.user = NULL;
	fl.certificate_authority = "rel/one/ca.pem";
	t = load(&fl, &err);
	CHECK(t && !strcmp(t->ca_file, "rel/one/ca.pem"));
	kube_target_free(t);
	CHECK_INT(chdir(cwd), 0);
	free(cwd);
	buf_release(&env);
	buf_release(&err);
}

TEST(data_fields_and_files)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT;
	struct kube_target *t;

	env_reset();
	wfile("data/ca.pem", "CA\n");
	/* base64 of 100 bytes "0123456789"x10, split over lines; and of "ab" */
	fl.kubeconfig = wfile("data/config",
		"current-context: x\n"
		"clusters:\n"
		"- name: c\n"
		"  cluster:\n"
		"    server: https://d\n"
		"    certificate-authority-data: |\n"
		"      MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIz\n"
		"      NDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OQ==\n"
		"- name: both\n"
		"  cluster: {server: 'https://d', certificate-authority: ca.pem, certificate-authority-data: YWI=}\n"
		"- name: bad\n"
		"  cluster: {server: 'https://d', certificate-authority-data: 'not base64!'}\n"
		"contexts:\n"
		"- {name: x, context: {cluster: c, user: u}}\n"
		"users:\n"
		"- name: u\n"
		"  user: {client-certificate-data: YWI=, client-key-data: YWJj}\n"
		"- name: nokey\n"
		"  user: {client-certificate-data: YWI=}\n"
		"- name: two\n"
		"  user: {token: t, username: a, password: b}\n"
		"- name: gcp\n"
		"  user: {auth-provider: {name: gcp}}\n");
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_INT(t->ca_len, 100);
		CHECK(t->ca_data && !memcmp(t->ca_data, "0123456789", 10) &&
		      !memcmp(t->ca_data + 90, "0123456789", 10));
		CHECK_INT(t->cert_len, 2);
		CHECK(t->cert_data && !memcmp(t->cert_data, "ab", 2));
		CHECK_INT(t->key_len, 3);
		CHECK(t->key_data && !memcmp(t->key_data, "abc", 3));
		CHECK(t->ca_file == NULL && t->cert_file == NULL);
		kube_target_free(t);
	}
	fl.cluster = "both";
	CHECK(load(&fl, &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "certificate-authority-data and certificate-authority are both specified for both");
	fl.cluster = "bad";
	CHECK(load(&fl, &err) == NULL);
	CHECK_STR(buf_str(&err), "certificate-authority-data of cluster \"bad\" is not valid base64");
	fl.cluster = NULL;
	fl.user = "nokey";
	CHECK(load(&fl, &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "client-key-data or client-key must be specified for nokey");
	fl.user = "two";
	CHECK(load(&fl, &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "more than one authentication method found for two");
	fl.user = "gcp";
	CHECK(load(&fl, &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "gke-gcloud-auth-plugin");
	buf_release(&err);
}

TEST(server_scheme_and_plain_http)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT;
	struct kube_target *t;
	struct kube_cred c;

	env_reset();
	fl.kubeconfig = wfile("scheme/config",
		"current-context: x\n"
		"clusters:\n"
		"- {name: tls, cluster: {server: 'k.example:6443', insecure-skip-tls-verify: true}}\n"
		"- {name: plain, cluster: {server: 'http://k.example:8080/'}}\n"
		"contexts:\n"
		"- {name: x, context: {cluster: tls, user: u}}\n"
		"users:\n"
		"- {name: u, user: {token: tok}}\n");
	t = load(&fl, &err);
	CHECK(t && !strcmp(t->server, "https://k.example:6443"));
	kube_target_free(t);
	/* kubectl sends credentials only over TLS */
	fl.cluster = "plain";
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(t->server, "http://k.example:8080");
		CHECK(t->token == NULL);
		CHECK_INT(kube_cred_get(t, false, &c, &err), 0);
		CHECK(c.bearer == NULL && c.username == NULL);
		kube_target_free(t);
	}
	buf_release(&err);
}

TEST(token_file_reread)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT;
	struct kube_target *t;
	struct kube_cred c;

	env_reset();
	wfile("tokf/tok", "tok-1\n");
	fl.kubeconfig = wfile("tokf/config",
		"current-context: x\n"
		"clusters:\n- {name: c, cluster: {server: 'https://t'}}\n"
		"contexts:\n- {name: x, context: {cluster: c, user: u}}\n"
		"users:\n- {name: u, user: {tokenFile: tok, token: static}}\n"
		"- {name: gone, user: {tokenFile: nothing-here}}\n");
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (!t)
		goto out;
	CHECK_INT(t->token_file_period_s, 60);
	CHECK_STR(bearer(t, false), "tok-1");
	wfile("tokf/tok", "tok-2\n");
	/* within the period the file is not read again ... */
	CHECK_STR(bearer(t, false), "tok-1");
	/* ... unless a 401 forces it */
	CHECK_STR(bearer(t, true), "tok-2");
	wfile("tokf/tok", "tok-3");
	t->token_file_period_s = 0;
	CHECK_STR(bearer(t, false), "tok-3");
	/* a file that went away: the last token stays */
	unlink(tpath("tokf/tok"));
	CHECK_STR(bearer(t, true), "tok-3");
	kube_target_free(t);
	/* the file wins over the token; without the file, the token */
	t = load(&fl, &err);
	CHECK(t && !strcmp(bearer(t, false), "static"));
	kube_target_free(t);
	/* an empty token file and an unreadable one are errors */
	fl.user = "gone";
	CHECK(load(&fl, &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "cannot read token file");
	CHECK_CONTAINS(buf_str(&err), "tokf/nothing-here");
	wfile("tokf/nothing-here", "\n");
	CHECK(load(&fl, &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "read empty token from file");
	(void)c;
out:
	buf_release(&err);
}

TEST(in_cluster_config)
{
	struct kube_flags fl = { 0 };
	struct buf err = BUF_INIT;
	struct kube_target *t;

	env_reset();
	wfile("ic/sa/token", "sa-token-1\n");
	wfile("ic/sa/ca.crt", "CA\n");
	wfile("ic/sa/namespace", "pods-here\n");
	setenv("WLKIT_SERVICEACCOUNT_DIR", tpath("ic/sa"), 1);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(t->source, "in-cluster config");
		CHECK(t->context == NULL);
		CHECK_STR(t->server, "https://10.96.0.1:443");
		CHECK_STR(t->ca_file, tpath("ic/sa/ca.crt"));
		CHECK_STR(t->namespace, "pods-here");
		CHECK_STR(bearer(t, false), "sa-token-1");
		wfile("ic/sa/token", "sa-token-2\n");
		CHECK_STR(bearer(t, false), "sa-token-1");
		CHECK_STR(bearer(t, true), "sa-token-2");
		kube_target_free(t);
	}
	setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
	fl.namespace = "mine";
	t = load(&fl, &err);
	CHECK(t && !strcmp(t->server, "https://[fd00:10:96::1]:443"));
	CHECK(t && !strcmp(t->namespace, "mine"));
	kube_target_free(t);
	/* --token replaces the service-account token */
	fl.token = "flag-token";
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(t->source, "in-cluster config");
		CHECK_STR(bearer(t, false), "flag-token");
		CHECK_STR(t->ca_file, tpath("ic/sa/ca.crt"));
		kube_target_free(t);
	}
	/* --server alone is a configuration of its own, as in kubectl: no
	 * service-account token goes to that server */
	fl.token = NULL;
	fl.server = "https://elsewhere:6443";
	t = load(&fl, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(t->source, "command-line flags");
		CHECK_STR(t->server, "https://elsewhere:6443");
		CHECK(t->token_file == NULL && t->ca_file == NULL);
		CHECK(bearer(t, false) == NULL);
		kube_target_free(t);
	}
	/* a usable kubeconfig wins over in-cluster */
	memset(&fl, 0, sizeof(fl));
	fl.kubeconfig = wfile("ic/config", kc_a);
	t = load(&fl, &err);
	CHECK(t && !strcmp(t->server, "https://a1.example:6443"));
	kube_target_free(t);
	/* no token file, or no port: not in a cluster */
	fl.kubeconfig = NULL;
	unsetenv("KUBERNETES_SERVICE_PORT");
	CHECK(load(&fl, &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "no configuration has been provided");
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	unlink(tpath("ic/sa/token"));
	CHECK(load(&fl, &err) == NULL);
	CHECK_CONTAINS(buf_str(&err), "no configuration has been provided");
	buf_release(&err);
}
