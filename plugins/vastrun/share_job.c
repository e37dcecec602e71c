/* share_job.c - the one-off Job that uploads one run (see share.h): a
 * Secret with the share's credentials, a Job running `kubectl-vastrun pod
 * share` with them and the store's credentials (both by secretKeyRef or a
 * secret volume, never as values), its log relayed to the terminal, then
 * both removed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "obj.h"
#include "share.h"
#include "vastrun.h"

#define KEY_DIR "/var/run/secrets/vastrun-share"
#define SCRATCH "/scratch"
#define POD_START_MS (10 * 60 * 1000)
#define POD_END_MS (2 * 60 * 1000)

static void kerr_to(struct buf *err, struct kube_err *ke)
{
	buf_reset(err);
	kube_err_format(ke, err);
	kube_err_release(ke);
}

static void add_b64(cJSON *data, const char *key, const char *v, size_t n)
{
	struct buf b = BUF_INIT;

	buf_add_base64(&b, v, n);
	obj_put(data, key, cJSON_CreateString(b.data));
	explicit_bzero(b.data, b.len);
	buf_release(&b);
}

static void labels(cJSON *o, const char *run)
{
	obj_set_label(o, VAST_LABEL_APP, "kubectl-vastrun");
	obj_set_label(o, SHARE_LABEL, run);
}

/* The Secret: data.url, and for gdrive data["key.json"]. */
static int make_secret(const struct share_job *j, char **name,
		       struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct buf key = BUF_INIT, gen = BUF_INIT;
	cJSON *s = obj_new("v1", "Secret", j->ns, NULL), *data, *out = NULL;
	int rc = -1;

	buf_printf(&gen, "vastrun-share-%s-", j->run);
	obj_set_str(s, "metadata.generateName", gen.data);
	labels(s, j->run);
	obj_set_str(s, "type", "Opaque");
	data = obj_ensure(s, "data");
	add_b64(data, "url", j->conf->url, strlen(j->conf->url));
	if (j->conf->key_path) {
		if (buf_read_file(&key, j->conf->key_path) < 0) {
			buf_set(err, "cannot read the service account key '%s'",
				j->conf->key_path);
			goto out;
		}
		add_b64(data, "key.json", key.data, key.len);
	}
	if (kube_create(j->k, s, j->ns, false, &out, &ke) < 0) {
		kerr_to(err, &ke);
		goto out;
	}
	if (!obj_name(out) || !(*name = strdup(obj_name(out))))
		die("out of memory");
	rc = 0;
out:
	if (key.data)
		explicit_bzero(key.data, key.len);
	buf_release(&key);
	buf_release(&gen);
	cJSON_Delete(s);
	cJSON_Delete(out);
	return rc;
}

static void env_value(cJSON *env, const char *name, const char *value)
{
	cJSON *e = cJSON_CreateObject();

	obj_put(e, "name", cJSON_CreateString(name));
	obj_put(e, "value", cJSON_CreateString(value));
	cJSON_AddItemToArray(env, e);
}

static void env_secret(cJSON *env, const char *name, const char *secret,
		       const char *key)
{
	cJSON *e = cJSON_CreateObject();

	obj_put(e, "name", cJSON_CreateString(name));
	obj_set_str(e, "valueFrom.secretKeyRef.name", secret);
	obj_set_str(e, "valueFrom.secretKeyRef.key", key);
	cJSON_AddItemToArray(env, e);
}

static cJSON *job_object(const struct share_job *j, const char *name)
{
	cJSON *job = obj_new("batch/v1", "Job", j->ns, name), *pod, *c, *env, *cmd,
	      *mounts, *vols, *m, *v;
	struct buf b = BUF_INIT;
	const char *drive = getenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_DRIVE");

	labels(job, j->run);
	obj_set(job, "spec.backoffLimit", cJSON_CreateNumber(0));
	obj_set(job, "spec.ttlSecondsAfterFinished", cJSON_CreateNumber(3600));
	pod = obj_ensure(job, "spec.template");
	labels(pod, j->run);
	obj_set_str(pod, "spec.restartPolicy", "Never");
	c = cJSON_CreateObject();
	obj_put(c, "name", cJSON_CreateString("share"));
	obj_put(c, "image", cJSON_CreateString(j->image));
	cmd = obj_put(c, "command", cJSON_CreateArray());
	cJSON_AddItemToArray(cmd, cJSON_CreateString("kubectl-vastrun"));
	cJSON_AddItemToArray(cmd, cJSON_CreateString("pod"));
	cJSON_AddItemToArray(cmd, cJSON_CreateString("share"));
	if (log_verbosity() > 0) {
		buf_printf(&b, "-v=%d", log_verbosity());
		cJSON_AddItemToArray(cmd, cJSON_CreateString(b.data));
	}
	env = obj_put(c, "env", cJSON_CreateArray());
	env_value(env, SHARE_ENV_RUN, j->run);
	env_value(env, SHARE_ENV_TYPE, j->conf->type);
	env_secret(env, SHARE_ENV_URL, name, "url");
	if (j->conf->key_path)
		env_value(env, SHARE_ENV_KEY_FILE, KEY_DIR "/key.json");
	buf_reset(&b);
	buf_printf(&b, "%lld", (long long)j->chunk);
	env_value(env, SHARE_ENV_CHUNK, b.data);
	env_value(env, SHARE_ENV_FORCE, j->force ? "1" : "0");
	env_value(env, SHARE_ENV_KEEP, j->keep ? "1" : "0");
	env_value(env, SHARE_ENV_WORKDIR, SCRATCH);
	env_value(env, SHARE_ENV_S3_ENDPOINT, j->store->cluster_endpoint);
	env_value(env, SHARE_ENV_S3_REGION, j->store->region);
	env_secret(env, SHARE_ENV_S3_ACCESS, VAST_STORE_SECRET, "access-key");
	env_secret(env, SHARE_ENV_S3_SECRET, VAST_STORE_SECRET, "secret-key");
	if (drive && *drive)
		env_value(env, "CLOUDSDK_API_ENDPOINT_OVERRIDES_DRIVE", drive);
	mounts = obj_put(c, "volumeMounts", cJSON_CreateArray());
	vols = obj_set(pod, "spec.volumes", cJSON_CreateArray());
	m = cJSON_CreateObject();
	obj_put(m, "name", cJSON_CreateString("scratch"));
	obj_put(m, "mountPath", cJSON_CreateString(SCRATCH));
	cJSON_AddItemToArray(mounts, m);
	v = cJSON_CreateObject();
	obj_put(v, "name", cJSON_CreateString("scratch"));
	obj_put(v, "emptyDir", cJSON_CreateObject());
	cJSON_AddItemToArray(vols, v);
	if (j->conf->key_path) {
		cJSON *items, *it;

		m = cJSON_CreateObject();
		obj_put(m, "name", cJSON_CreateString("share-key"));
		obj_put(m, "mountPath", cJSON_CreateString(KEY_DIR));
		obj_put(m, "readOnly", cJSON_CreateTrue());
		cJSON_AddItemToArray(mounts, m);
		v = cJSON_CreateObject();
		obj_put(v, "name", cJSON_CreateString("share-key"));
		obj_set_str(v, "secret.secretName", name);
		items = obj_set(v, "secret.items", cJSON_CreateArray());
		it = cJSON_CreateObject();
		obj_put(it, "key", cJSON_CreateString("key.json"));
		obj_put(it, "path", cJSON_CreateString("key.json"));
		cJSON_AddItemToArray(items, it);
		cJSON_AddItemToArray(vols, v);
	}
	cJSON_AddItemToArray(obj_set(pod, "spec.containers", cJSON_CreateArray()), c);
	buf_release(&b);
	return job;
}

/* The Secret is owned by the Job, so the garbage collector removes it
 * with the Job should this process end early. */
static void own_secret(const struct share_job *j, const char *name, const cJSON *job)
{
	struct kube_err ke = KUBE_ERR_INIT;
	cJSON *patch = cJSON_CreateObject(), *refs, *ref = cJSON_CreateObject();

	refs = obj_set(patch, "metadata.ownerReferences", cJSON_CreateArray());
	obj_put(ref, "apiVersion", cJSON_CreateString("batch/v1"));
	obj_put(ref, "kind", cJSON_CreateString("Job"));
	obj_put(ref, "name", cJSON_CreateString(name));
	obj_put(ref, "uid", cJSON_CreateString(obj_str(job, "metadata.uid") ?
					       obj_str(job, "metadata.uid") : ""));
	cJSON_AddItemToArray(refs, ref);
	if (kube_merge_patch(j->k, "v1", "Secret", j->ns, name, NULL, patch, NULL, &ke) < 0)
		logv(2, "cannot make Job '%s' the owner of its Secret: %s", name,
		     ke.message.data ? ke.message.data : "");
	kube_err_release(&ke);
	cJSON_Delete(patch);
}

struct follow {
	const char *run;
	struct buf line;
	struct buf pod;
	struct timespec t0;
	bool t0_set;
	bool tty;
	bool saw_error;
};

static double since(const struct follow *f)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - f->t0.tv_sec) + (now.tv_nsec - f->t0.tv_nsec) / 1e9;
}

static void show_progress(struct follow *f, long long done, long long total)
{
	struct buf a = BUF_INIT, b = BUF_INIT, r = BUF_INIT;
	double pct = total > 0 ? 100.0 * (double)done / (double)total : 0, t;
	char bar[21];
	int i, fill = (int)(pct / 5);

	if (!f->t0_set) {
		clock_gettime(CLOCK_MONOTONIC, &f->t0);
		f->t0_set = true;
	}
	t = since(f);
	share_size(&a, done);
	share_size(&b, total);
	share_size(&r, t > 0.05 ? (int64_t)((double)done / t) : 0);
	for (i = 0; i < 20; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[20] = '\0';
	if (f->tty)
		progress("%s  [%s] %5.1f%%  %s/%s  %s/s", f->run, bar, pct, a.data, b.data,
			 r.data);
	else
		info("%s  %5.1f%%  %s/%s", f->run, pct, a.data, b.data);
	buf_release(&a);
	buf_release(&b);
	buf_release(&r);
}

static void relay_line(struct follow *f, const char *line)
{
	long long done, total;
	char tail;

	if (sscanf(line, "progress %lld %lld%c", &done, &total, &tail) == 2) {
		show_progress(f, done, total);
		return;
	}
	if (!*line)
		return;
	if (f->tty)
		progress_done();
	if (!strncmp(line, "error: ", 7))
		f->saw_error = true;
	info("%s  %s", f->run, line);
}

static int on_log(void *ctx, const char *data, size_t len)
{
	struct follow *f = ctx;
	size_t i;

	for (i = 0; i < len; i++) {
		if (data[i] != '\n') {
			buf_addch(&f->line, data[i]);
			continue;
		}
		relay_line(f, buf_str(&f->line));
		buf_reset(&f->line);
	}
	return 0;
}

struct pod_wait {
	struct buf *name;
	struct buf phase;
	bool terminal_only;
};

static int on_pod(void *ctx, const char *type, const cJSON *pod)
{
	struct pod_wait *w = ctx;
	const char *phase = obj_str(pod, "status.phase");

	if (!strcmp(type, "DELETED") || !phase)
		return 0;
	buf_reset(w->name);
	buf_adds(w->name, obj_name(pod));
	buf_reset(&w->phase);
	buf_adds(&w->phase, phase);
	if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
		return 1;
	return !w->terminal_only && strcmp(phase, "Pending") ? 1 : 0;
}

static int wait_pod(const struct share_job *j, const char *job, struct pod_wait *w,
		    int64_t timeout_ms, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct buf sel = BUF_INIT;
	struct kube_watch_opts o = { NULL, NULL, NULL, false, timeout_ms };
	int rc = 0;

	buf_printf(&sel, "job-name=%s", job);
	o.label_selector = sel.data;
	if (kube_watch(j->k, "v1", "Pod", j->ns, &o, on_pod, w, &ke) < 0) {
		if (!strcmp(ke.reason, "Timeout"))
			buf_set(err, "the share Job '%s' has no running pod after %llds "
				"(is the image '%s' reachable?)", job,
				(long long)(timeout_ms / 1000), j->image);
		else
			kerr_to(err, &ke);
		rc = -1;
	}
	kube_err_release(&ke);
	buf_release(&sel);
	return rc;
}

static void remove_objects(const struct share_job *j, const char *name, bool job)
{
	struct kube_err ke = KUBE_ERR_INIT;

	if (job && kube_delete(j->k, "batch/v1", "Job", j->ns, name, "Background", -1,
			       NULL, NULL, &ke) < 0 && ke.code != 404)
		warn("cannot delete the share Job '%s': %s", name, buf_str(&ke.message));
	kube_err_release(&ke);
	if (kube_delete(j->k, "v1", "Secret", j->ns, name, "Background", -1, NULL, NULL,
			&ke) < 0 && ke.code != 404)
		warn("cannot delete the share Secret '%s': %s", name, buf_str(&ke.message));
	kube_err_release(&ke);
}

int share_job_run(const struct share_job *j, struct buf *err)
{
	struct kube_err ke = KUBE_ERR_INIT;
	struct follow f = { j->run, BUF_INIT, BUF_INIT, { 0, 0 }, false,
			    isatty(2) && !log_quiet(), false };
	struct pod_wait w = { &f.pod, BUF_INIT, false };
	struct kube_log_opts lo = { NULL, true, false, false, -1, 0, 0 };
	cJSON *job = NULL, *created = NULL;
	char *name = NULL;
	bool have_job = false;
	int rc = -1;

	if (make_secret(j, &name, err) < 0)
		goto out;
	job = job_object(j, name);
	if (kube_create(j->k, job, j->ns, false, &created, &ke) < 0) {
		kerr_to(err, &ke);
		goto out;
	}
	have_job = true;
	own_secret(j, name, created);
	logv(1, "share Job '%s' created", name);
	if (wait_pod(j, name, &w, POD_START_MS, err) < 0)
		goto out;
	if (kube_logs(j->k, j->ns, f.pod.data, &lo, on_log, &f, &ke) < 0) {
		kerr_to(err, &ke);
		goto out;
	}
	if (f.line.len)
		relay_line(&f, f.line.data);
	if (f.tty)
		progress_done();
	w.terminal_only = true;
	if (wait_pod(j, name, &w, POD_END_MS, err) < 0)
		goto out;
	if (strcmp(w.phase.data, "Succeeded")) {
		if (!f.saw_error)	/* else the pod said why */
			buf_set(err, "the upload of run '%s' failed: its pod '%s' ended "
				"in phase %s", j->run, f.pod.data, w.phase.data);
		goto out;
	}
	rc = 0;
out:
	if (name)
		remove_objects(j, name, have_job);
	kube_err_release(&ke);
	cJSON_Delete(job);
	cJSON_Delete(created);
	free(name);
	buf_release(&f.line);
	buf_release(&f.pod);
	buf_release(&w.phase);
	return rc;
}
