/* prepare.c - `kubectl vastrun prepare-run DIR | -`: everything a run
 * needs, written instead of applied (airgapped clusters, CI, review).
 *
 * DIR gets:
 *   robovast-secret.yaml       the Secret VAST_STORE_SECRET with credentials
 *                              generated now (mode 0600; apply it once)
 *   robovast-manifest.yaml     the results store as setup deploys it for
 *                              --cluster-config (store_manifests) and the
 *                              ConfigMap VAST_STORE_CONFIGMAP the Jobs read
 *   kueue-queue-setup.yaml     ResourceFlavor, ClusterQueue (quota from the
 *                              cluster now, as setup sizes it), LocalQueue
 *   README_kueue.md
 *   out_template/              the bucket's content: execution.yaml, the
 *                              entrypoint, <config>/config.yaml and files
 *   jobs/<job>.yaml, all-jobs.yaml
 *   upload_configs.sh          creates the bucket and uploads out_template/
 *                              with `curl --aws-sigv4`
 *   README.md                  the order to apply them in
 * "-" writes robovast-manifest.yaml, kueue-queue-setup.yaml and the Jobs as
 * one stream on stdout (no Secret: a stream applied to a cluster whose
 * store runs must not replace its credentials), so that
 * `kubectl vastrun prepare-run - | kubectl wlrun apply -f -` works; the
 * configs must then be uploaded with a DIR's upload_configs.sh or by a
 * `run` (the stream cannot carry files).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "obj.h"
#include "s3.h"
#include "setup.h"
#include "stream.h"
#include "vastrun.h"
#include "yaml.h"

static const char *opt_project, *opt_config, *opt_tools_image, *opt_cluster = "minikube";
static long opt_runs;
static struct cli_list opt_options;

const struct cli_opt prepare_opts[] = {
	{ "project-file", 0, CLI_STR, &opt_project, "FILE",
	  "the project file (default: the *.vast of this directory or a parent)", NULL, "file" },
	{ "runs", 0, CLI_INT, &opt_runs, "N", "runs per config (default: execution.runs)",
	  NULL, NULL },
	{ "config", 0, CLI_STR, &opt_config, "NAME", "only this config", NULL, NULL },
	{ "tools-image", 0, CLI_STR, &opt_tools_image, "IMAGE",
	  "the image of the init container (default " VAST_DEFAULT_TOOLS_IMAGE ")", NULL, NULL },
	{ "cluster-config", 0, CLI_STR, &opt_cluster, "CONFIG",
	  "the store's cluster config (default minikube)", "gcp|rke2|minikube", NULL },
	{ "option", 0, CLI_LIST, &opt_options, "KEY=VALUE",
	  "an option of the cluster config (gcp: storage_size, disk_type)", NULL, NULL },
	{ NULL, 0, CLI_BOOL, NULL, NULL, NULL, NULL, NULL }
};

static int write_file(const char *dir, const char *rel, const void *data, size_t n,
		      mode_t mode)
{
	struct buf path = BUF_INIT;
	int fd, rc = -1;

	buf_printf(&path, "%s/%s", dir, rel);
	for (size_t i = dir ? strlen(dir) + 1 : 0; i < path.len; i++) {
		if (path.data[i] != '/')
			continue;
		path.data[i] = '\0';
		if (mkdir(path.data, 0755) < 0 && errno != EEXIST) {
			error("cannot make directory '%s': %s", path.data, strerror(errno));
			goto out;
		}
		path.data[i] = '/';
	}
	if ((fd = open(buf_str(&path), O_WRONLY | O_CREAT | O_TRUNC, mode)) < 0 ||
	    write(fd, data, n) != (ssize_t)n || fchmod(fd, mode) < 0 || close(fd) < 0) {
		error("cannot write '%s': %s", buf_str(&path), strerror(errno));
		goto out;
	}
	rc = 0;
out:
	buf_release(&path);
	return rc;
}

static int write_copy(const char *dir, const char *rel, const char *src)
{
	struct buf data = BUF_INIT;
	int rc;

	if (buf_read_file(&data, src) < 0) {
		buf_release(&data);
		return error("cannot read '%s': %s", src, strerror(errno));
	}
	rc = write_file(dir, rel, data.data ? data.data : "", data.len, 0644);
	buf_release(&data);
	return rc;
}

/* Writes the objects of array a as a YAML stream file. */
static int write_stream(const char *dir, const char *rel, const cJSON *a, mode_t mode)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	const cJSON *o;
	int rc = -1;

	cJSON_ArrayForEach(o, a) {
		if (out.len)
			buf_adds(&out, "---\n");
		if (yaml_emit(&out, o, &err) < 0) {
			error("%s", buf_str(&err));
			goto out;
		}
	}
	rc = write_file(dir, rel, out.data ? out.data : "", out.len, mode);
out:
	buf_release(&out);
	buf_release(&err);
	return rc;
}

static void random_hex(struct buf *out, size_t bytes)
{
	unsigned char b[64];
	FILE *f = fopen("/dev/urandom", "rb");

	if (!f || bytes > sizeof(b) || fread(b, 1, bytes, f) != bytes)
		die("cannot read '/dev/urandom'");
	fclose(f);
	for (size_t i = 0; i < bytes; i++)
		buf_printf(out, "%02x", b[i]);
}

static cJSON *store_secret(const char *ns)
{
	cJSON *s = obj_new("v1", "Secret", ns, VAST_STORE_SECRET);
	struct buf a = BUF_INIT, k = BUF_INIT;

	random_hex(&a, 10);
	random_hex(&k, 20);
	obj_set_label(s, VAST_LABEL_APP, "kubectl-vastrun");
	cJSON_AddStringToObject(s, "type", "Opaque");
	cJSON_AddStringToObject(obj_ensure(s, "stringData"), "access-key", buf_str(&a));
	cJSON_AddStringToObject(obj_ensure(s, "stringData"), "secret-key", buf_str(&k));
	buf_release(&a);
	buf_release(&k);
	return s;
}

/* The store's objects (namespaced ones in ns) and its ConfigMap. */
static int store_objects(const char *ns, cJSON *out)
{
	cJSON *opts = cJSON_CreateObject(), *o, *cm;
	struct buf err = BUF_INIT, ep = BUF_INIT;
	int rc = -1;

	for (int i = 0; i < opt_options.n; i++) {
		const char *kv = opt_options.items[i], *eq = strchr(kv, '=');
		struct buf key = BUF_INIT;

		if (!eq || eq == kv) {
			error("invalid --option '%s': want KEY=VALUE", kv);
			goto out;
		}
		buf_add(&key, kv, (size_t)(eq - kv));
		cJSON_DeleteItemFromObjectCaseSensitive(opts, buf_str(&key));
		cJSON_AddStringToObject(opts, buf_str(&key), eq + 1);
		buf_release(&key);
	}
	if (store_manifests(opt_cluster, opts, out, &err) < 0) {
		error("%s", buf_str(&err));
		goto out;
	}
	cJSON_ArrayForEach(o, out) {
		const char *k = obj_kind(o);

		if (strcmp(k, "StorageClass") && strcmp(k, "PersistentVolume"))
			obj_set_str(o, "metadata.namespace", ns);
	}
	cm = obj_new("v1", "ConfigMap", ns, VAST_STORE_CONFIGMAP);
	obj_set_label(cm, VAST_LABEL_APP, "kubectl-vastrun");
	buf_printf(&ep, "http://robovast.%s.svc:9000", ns);
	cJSON_AddStringToObject(obj_ensure(cm, "data"), "kind", "minio");
	cJSON_AddStringToObject(obj_ensure(cm, "data"), "endpoint", buf_str(&ep));
	cJSON_AddStringToObject(obj_ensure(cm, "data"), "region", "us-east-1");
	cJSON_AddStringToObject(obj_ensure(cm, "data"), "config", opt_cluster);
	cJSON_AddItemToArray(out, cm);
	rc = 0;
out:
	cJSON_Delete(opts);
	buf_release(&err);
	buf_release(&ep);
	return rc;
}

static void readme(struct buf *b, const struct vast_run *r, size_t njobs)
{
	buf_printf(b,
		"# Run %s (prepared by kubectl vastrun prepare-run)\n\n"
		"Project `%s`: %zu configs x %ld runs = %zu Jobs in namespace `%s`.\n\n"
		"1. `kubectl apply -f robovast-secret.yaml` (once: the store's credentials;\n"
		"   skip it when `kubectl vastrun setup` already made the Secret `%s`)\n"
		"2. `kubectl apply -f robovast-manifest.yaml` (the results store)\n"
		"3. Kueue and its queues: see README_kueue.md\n"
		"4. Upload the configs: reach the store (for example\n"
		"   `kubectl port-forward -n %s svc/robovast 9000:9000`), then\n"
		"   `S3_ENDPOINT=http://127.0.0.1:9000 sh upload_configs.sh`\n"
		"5. `kubectl apply -f all-jobs.yaml` (or one file of jobs/ at a time)\n\n"
		"out_template/ holds what the bucket `%s` must contain; each Job's init\n"
		"container fetches its config from there into /config, and each Job\n"
		"uploads its results to `%s/<config>/<run>/`.\n",
		r->run_id, r->p->name, r->nconfigs, r->runs, njobs, r->ns, VAST_STORE_SECRET,
		r->ns, r->run_id, r->run_id);
}

static void readme_kueue(struct buf *b, int64_t cpu, int64_t mem)
{
	buf_printf(b,
		"# Kueue for vastrun\n\n"
		"The Jobs carry the label `%s: %s`, so Kueue admits them only while\n"
		"the ClusterQueue `%s` has quota for them.\n\n"
		"1. Install Kueue 0.16.1 (namespace kueue-system), for example\n"
		"   `helm install kueue oci://registry.k8s.io/kueue/charts/kueue --version 0.16.1\n"
		"   --namespace kueue-system --create-namespace --wait`\n"
		"2. `kubectl apply -f kueue-queue-setup.yaml`\n\n"
		"The quota (%lld cores, %lldGi memory) is the cluster's allocatable minus what\n"
		"its pods requested when this was written; edit nominalQuota to change it.\n"
		"Without Kueue the Jobs are not queued: they all start at once.\n",
		VAST_QUEUE_LABEL, VAST_LOCAL_QUEUE, VAST_CLUSTER_QUEUE, (long long)cpu,
		(long long)mem);
}

static void upload_script(struct buf *b, const struct vast_run *r, const cJSON *uploads)
{
	const cJSON *u;

	buf_printf(b,
		"#!/bin/sh\n"
		"# upload_configs.sh - creates the bucket %s and uploads out_template/ to it.\n"
		"# S3_ENDPOINT: how this machine reaches the store (required);\n"
		"# S3_ACCESS_KEY, S3_SECRET_KEY: default from the Secret %s in %s;\n"
		"# S3_REGION: default us-east-1.\n"
		"set -eu\n"
		"cd \"$(dirname \"$0\")\"\n"
		"BUCKET=%s\n"
		": \"${S3_ENDPOINT:?set S3_ENDPOINT, e.g. http://127.0.0.1:9000 after "
		"kubectl port-forward -n %s svc/robovast 9000:9000}\"\n"
		"if [ -z \"${S3_ACCESS_KEY:-}\" ]; then\n"
		"\tS3_ACCESS_KEY=$(kubectl get secret -n %s %s -o jsonpath='{.data.access-key}' "
		"| base64 -d)\n"
		"fi\n"
		"if [ -z \"${S3_SECRET_KEY:-}\" ]; then\n"
		"\tS3_SECRET_KEY=$(kubectl get secret -n %s %s -o jsonpath='{.data.secret-key}' "
		"| base64 -d)\n"
		"fi\n"
		"REGION=${S3_REGION:-us-east-1}\n"
		"s3() {\n"
		"\tcurl -fsS --aws-sigv4 \"aws:amz:$REGION:s3\" --user \"$S3_ACCESS_KEY:$S3_SECRET_KEY\" "
		"\"$@\"\n"
		"}\n"
		"E=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
		"# an existing bucket of ours is fine\n"
		"s3 -o /dev/null -H \"x-amz-content-sha256: $E\" -X PUT \"$S3_ENDPOINT/$BUCKET\" || "
		"s3 -o /dev/null -H \"x-amz-content-sha256: $E\" -I \"$S3_ENDPOINT/$BUCKET\"\n",
		r->run_id, VAST_STORE_SECRET, r->ns, r->run_id, r->ns, r->ns, VAST_STORE_SECRET,
		r->ns, VAST_STORE_SECRET);
	cJSON_ArrayForEach(u, uploads) {
		const char *key = obj_str(u, "key");

		buf_adds(b, "s3 -o /dev/null -H \"x-amz-content-sha256: $(sha256sum < 'out_template/");
		buf_adds(b, key);
		buf_adds(b, "' | cut -d' ' -f1)\" -T 'out_template/");
		buf_adds(b, key);
		buf_adds(b, "' \"$S3_ENDPOINT/$BUCKET/");
		s3_key_path(b, key);
		buf_adds(b, "\"\n");
	}
	buf_printf(b, "echo \"uploaded %d files to $BUCKET\"\n", cJSON_GetArraySize(uploads));
}

/* Keys in the scripts are single-quoted: refuse a quote in one. */
static int keys_ok(const cJSON *uploads)
{
	const cJSON *u;

	cJSON_ArrayForEach(u, uploads)
		if (strchr(obj_str(u, "key"), '\''))
			return error("cannot prepare '%s': a file name with a quote", obj_str(u, "key"));
	return 0;
}


static bool selected(const char *name, const char *want)
{
	size_t n = strlen(want);

	if (!strcmp(name, want))
		return true;
	if (strncmp(name, want, n) || name[n] != '-' || !name[n + 1])
		return false;
	return strspn(name + n + 1, "0123456789") == strlen(name + n + 1);
}

int prepare_run(struct cli_ctx *ctx)
{
	const char *dir = ctx->argv[0];
	bool to_stdout = !strcmp(dir, "-");
	struct vast_project p;
	struct vast_run r;
	struct kube *k = NULL;
	struct kube_err ke = KUBE_ERR_INIT;
	struct buf err = BUF_INIT, id = BUF_INIT, text = BUF_INIT;
	cJSON *store = cJSON_CreateArray(), *queues = cJSON_CreateArray();
	cJSON *jobs = cJSON_CreateArray(), *uploads = NULL, *secret = NULL;
	const cJSON *o;
	int64_t cpu = 0, mem = 0;
	bool loaded = false;
	int rc = 1;

	memset(&p, 0, sizeof(p));
	memset(&r, 0, sizeof(r));
	if (opt_runs < 0) {
		rc = cli_usage_error(ctx, "--runs must be a positive integer");
		goto out;
	}
	if ((rc = project_open(ctx, opt_project, &k, &p)) != 0)
		goto out;
	rc = 1;
	loaded = true;
	r.p = &p;
	r.ns = kube_namespace(k);
	r.tools_image = opt_tools_image ? opt_tools_image : VAST_DEFAULT_TOOLS_IMAGE;
	r.runs = opt_runs > 0 ? opt_runs : p.runs;
	if (!(r.configs = calloc(p.nconfigs, sizeof(*r.configs))))
		die("out of memory");
	for (size_t i = 0; i < p.nconfigs; i++)
		if (!opt_config || selected(p.configs[i].name, opt_config))
			r.configs[r.nconfigs++] = &p.configs[i];
	if (!r.nconfigs) {
		error("no config '%s' in '%s'", opt_config, p.path);
		rc = EXIT_USAGE;
		goto out;
	}
	run_id_make((int64_t)time(NULL), &id);
	r.run_id = buf_str(&id);
	if (store_objects(r.ns, store) < 0)
		goto out;
	if (kueue_quota(k, &cpu, &mem, &err) < 0) {
		error("cannot size the ClusterQueue: %s", buf_str(&err));
		goto out;
	}
	kueue_manifests(cpu, mem, r.ns, queues);
	for (size_t i = 0; i < r.nconfigs; i++)
		for (long n = 1; n <= r.runs; n++)
			cJSON_AddItemToArray(jobs, run_job(&r, r.configs[i], n));
	if (to_stdout) {
		struct stream_out *out = stream_out_open(stdout, STREAM_YAML);
		const cJSON *lists[] = { store, queues, jobs };

		for (size_t l = 0; l < 3; l++) {
			cJSON_ArrayForEach(o, lists[l]) {
				if (stream_out_write(out, o, NULL) < 0) {
					stream_out_close(out);
					goto out;
				}
			}
		}
		if (stream_out_close(out) < 0)
			goto out;
		info("run %s: %d jobs; upload the configs with a prepared DIR's "
		     "upload_configs.sh", r.run_id, cJSON_GetArraySize(jobs));
		rc = 0;
		goto out;
	}
	uploads = run_uploads(&r);
	if (keys_ok(uploads) < 0)
		goto out;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		error("cannot make directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	secret = cJSON_CreateArray();
	cJSON_AddItemToArray(secret, store_secret(r.ns));
	if (write_stream(dir, "robovast-secret.yaml", secret, 0600) < 0 ||
	    write_stream(dir, "robovast-manifest.yaml", store, 0644) < 0 ||
	    write_stream(dir, "kueue-queue-setup.yaml", queues, 0644) < 0 ||
	    write_stream(dir, "all-jobs.yaml", jobs, 0644) < 0)
		goto out;
	cJSON_ArrayForEach(o, jobs) {
		cJSON *one = cJSON_CreateArray();
		int w;

		buf_reset(&text);
		buf_printf(&text, "jobs/%s.yaml", obj_name(o));
		cJSON_AddItemReferenceToArray(one, (cJSON *)o);
		w = write_stream(dir, buf_str(&text), one, 0644);
		cJSON_Delete(one);
		if (w < 0)
			goto out;
	}
	cJSON_ArrayForEach(o, uploads) {
		const char *data = obj_str(o, "data");

		buf_reset(&text);
		buf_printf(&text, "out_template/%s", obj_str(o, "key"));
		if ((data ? write_file(dir, buf_str(&text), data, strlen(data), 0644)
			  : write_copy(dir, buf_str(&text), obj_str(o, "path"))) < 0)
			goto out;
	}
	buf_reset(&text);
	upload_script(&text, &r, uploads);
	if (write_file(dir, "upload_configs.sh", text.data, text.len, 0755) < 0)
		goto out;
	buf_reset(&text);
	readme_kueue(&text, cpu, mem);
	if (write_file(dir, "README_kueue.md", text.data, text.len, 0644) < 0)
		goto out;
	buf_reset(&text);
	readme(&text, &r, (size_t)cJSON_GetArraySize(jobs));
	if (write_file(dir, "README.md", text.data, text.len, 0644) < 0)
		goto out;
	info("run %s prepared in '%s': %d jobs (see README.md)", r.run_id, dir,
	     cJSON_GetArraySize(jobs));
	rc = 0;
out:
	cJSON_Delete(store);
	cJSON_Delete(queues);
	cJSON_Delete(jobs);
	cJSON_Delete(uploads);
	cJSON_Delete(secret);
	free(r.configs);
	if (loaded)
		project_free(&p);
	kube_close(k);
	kube_err_release(&ke);
	buf_release(&err);
	buf_release(&id);
	buf_release(&text);
	return rc;
}
