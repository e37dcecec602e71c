/* run_job.c - the objects of a run: Job names, the Jobs, the uploads and
 * the Campaign (vastrun.h says what lives where).
 *
 * A Job's pod (restartPolicy Never, backoffLimit 0, activeDeadlineSeconds
 * from execution.timeout) has three emptyDirs: /config, /out and /vastrun.
 * The init container (the tools image) runs `kubectl-vastrun pod
 * fetch-config`, which copies the run-level files and the config's files
 * from S3 into /config and copies its own binary into /vastrun. The main
 * container (execution.image, requests = limits) then runs
 *   cd /config && sh ./ENTRYPOINT; rc=$?; touch /vastrun/done;
 *   /vastrun/kubectl-vastrun pod upload-results ...; exit rc
 * so the results in /out reach <config>/<n>/ whatever the scenario's exit
 * status, from any image that has a shell, and the Job fails when the
 * scenario failed or its results could not be stored. Secondary containers
 * (same image, their own resources) run the same entrypoint with
 * VASTRUN_CONTAINER set to their name, and stop once /vastrun/done exists
 * (Kubernetes' native sidecars would do this, but not every node runs
 * them). Credentials come from the Secret, never as literal values.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "obj.h"
#include "vastrun.h"
#include "yaml.h"

#define TOOLS_DIR "/vastrun"

static cJSON *must(cJSON *c)
{
	if (!c)
		die("out of memory");
	return c;
}

void run_id_make(int64_t t, struct buf *out)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];

	gmtime_r(&tt, &tm);
	strftime(s, sizeof(s), "run-%Y-%m-%d-%H%M%S", &tm);
	buf_adds(out, s);
}

void run_job_name(const char *run_id, const char *config, long n, struct buf *out)
{
	struct buf full = BUF_INIT;
	uint32_t h = 2166136261u;
	size_t cut;

	buf_printf(&full, "%s-%s-%ld", run_id, config, n);
	if (full.len <= 63) {
		buf_add(out, full.data, full.len);
		goto out;
	}
	for (const char *s = full.data; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	cut = 63 - 9;
	while (cut && full.data[cut - 1] == '-')
		cut--;
	buf_add(out, full.data, cut);
	buf_printf(out, "-%08x", (unsigned)h);
out:
	buf_release(&full);
}

/* Appends s to out in single quotes for sh. */
static void sh_quote(struct buf *out, const char *s)
{
	buf_addch(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_adds(out, "'\\''");
		else
			buf_addch(out, *s);
	}
	buf_addch(out, '\'');
}

static void env_value(cJSON *env, const char *name, const char *value)
{
	cJSON *e = must(cJSON_CreateObject());

	cJSON_AddStringToObject(e, "name", name);
	cJSON_AddStringToObject(e, "value", value);
	cJSON_AddItemToArray(env, e);
}

static void env_ref(cJSON *env, const char *name, const char *kind, const char *obj,
		    const char *key, bool optional)
{
	cJSON *e = must(cJSON_CreateObject()), *ref;

	cJSON_AddStringToObject(e, "name", name);
	ref = obj_ensure(e, !strcmp(kind, "secret") ? "valueFrom.secretKeyRef"
						     : "valueFrom.configMapKeyRef");
	cJSON_AddStringToObject(ref, "name", obj);
	cJSON_AddStringToObject(ref, "key", key);
	if (optional)
		cJSON_AddTrueToObject(ref, "optional");
	cJSON_AddItemToArray(env, e);
}

/* The store's endpoint, region and credentials. */
static cJSON *s3_env(void)
{
	cJSON *env = must(cJSON_CreateArray());

	env_ref(env, "VASTRUN_S3_ENDPOINT", "configmap", VAST_STORE_CONFIGMAP, "endpoint", false);
	env_ref(env, "VASTRUN_S3_REGION", "configmap", VAST_STORE_CONFIGMAP, "region", true);
	env_ref(env, "VASTRUN_S3_ACCESS_KEY", "secret", VAST_STORE_SECRET, "access-key", false);
	env_ref(env, "VASTRUN_S3_SECRET_KEY", "secret", VAST_STORE_SECRET, "secret-key", false);
	return env;
}

static void mount(cJSON *c, const char *vol, const char *path)
{
	cJSON *mounts = cJSON_GetObjectItemCaseSensitive(c, "volumeMounts");
	cJSON *m = must(cJSON_CreateObject());

	if (!mounts)
		mounts = cJSON_AddArrayToObject(c, "volumeMounts");
	cJSON_AddStringToObject(m, "name", vol);
	cJSON_AddStringToObject(m, "mountPath", path);
	cJSON_AddItemToArray(mounts, m);
}

static void resources(cJSON *c, const char *cpu, const char *memory)
{
	cJSON *req, *lim;

	if (!cpu && !memory)
		return;
	req = obj_ensure(c, "resources.requests");
	lim = obj_ensure(c, "resources.limits");
	if (cpu) {
		cJSON_AddStringToObject(req, "cpu", cpu);
		cJSON_AddStringToObject(lim, "cpu", cpu);
	}
	if (memory) {
		cJSON_AddStringToObject(req, "memory", memory);
		cJSON_AddStringToObject(lim, "memory", memory);
	}
}

static cJSON *str_array(const char *const *v)
{
	cJSON *a = must(cJSON_CreateArray());

	for (; *v; v++)
		cJSON_AddItemToArray(a, must(cJSON_CreateString(*v)));
	return a;
}

/* The scenario's environment: execution.env, then where things are. */
static cJSON *scenario_env(const struct vast_run *r, const struct vast_config *c, long n,
			   const char *container)
{
	cJSON *env = s3_env();
	const cJSON *e;
	struct buf b = BUF_INIT;

	cJSON_ArrayForEach(e, r->p->env)
		env_value(env, e->string, e->valuestring);
	env_value(env, "VASTRUN_RUN_ID", r->run_id);
	env_value(env, "VASTRUN_BUCKET", r->run_id);
	env_value(env, "VASTRUN_CONFIG_NAME", c->name);
	buf_printf(&b, "%ld", n);
	env_value(env, "VASTRUN_RUN_NUMBER", buf_str(&b));
	buf_reset(&b);
	buf_printf(&b, "%s/%ld", c->name, n);
	env_value(env, "VASTRUN_PREFIX", buf_str(&b));
	env_value(env, "VASTRUN_CONFIG", "/config");
	env_value(env, "VASTRUN_OUT", "/out");
	if (r->p->scenario_file) {
		buf_reset(&b);
		buf_printf(&b, "/config/%s", r->p->scenario_file);
		env_value(env, "VASTRUN_SCENARIO", buf_str(&b));
	}
	env_value(env, "VASTRUN_CONTAINER", container);
	buf_release(&b);
	return env;
}

static cJSON *main_container(const struct vast_run *r, const struct vast_config *c, long n)
{
	cJSON *ctr = must(cJSON_CreateObject());
	struct buf sh = BUF_INIT;
	const char *cmd[] = { "/bin/sh", "-c", NULL, NULL };

	buf_adds(&sh, "cd /config && sh ./");
	sh_quote(&sh, r->p->entrypoint);
	buf_adds(&sh, "; rc=$?; touch " TOOLS_DIR "/done; " TOOLS_DIR "/kubectl-vastrun pod "
		 "upload-results --bucket \"$VASTRUN_BUCKET\" --prefix \"$VASTRUN_PREFIX\" "
		 "--from /out || { [ $rc -ne 0 ] || rc=1; }; exit $rc");
	cmd[2] = buf_str(&sh);
	cJSON_AddStringToObject(ctr, "name", "robovast");
	cJSON_AddStringToObject(ctr, "image", r->p->image);
	cJSON_AddItemToObject(ctr, "command", str_array(cmd));
	cJSON_AddItemToObject(ctr, "env", scenario_env(r, c, n, "robovast"));
	resources(ctr, r->p->cpu, r->p->memory);
	mount(ctr, "config", "/config");
	mount(ctr, "out", "/out");
	mount(ctr, "vastrun", TOOLS_DIR);
	buf_release(&sh);
	return ctr;
}

static cJSON *secondary_container(const struct vast_run *r, const struct vast_config *c,
				  long n, const cJSON *sec)
{
	cJSON *ctr = must(cJSON_CreateObject());
	struct buf sh = BUF_INIT;
	const char *cmd[] = { "/bin/sh", "-c", NULL, NULL };

	buf_adds(&sh, "cd /config && { sh ./");
	sh_quote(&sh, r->p->entrypoint);
	buf_adds(&sh, " & pid=$!; while kill -0 $pid 2>/dev/null && [ ! -e " TOOLS_DIR
		 "/done ]; do sleep 1; done; kill $pid 2>/dev/null; wait $pid; exit 0; }");
	cmd[2] = buf_str(&sh);
	cJSON_AddStringToObject(ctr, "name", obj_str(sec, "name"));
	cJSON_AddStringToObject(ctr, "image", r->p->image);
	cJSON_AddItemToObject(ctr, "command", str_array(cmd));
	cJSON_AddItemToObject(ctr, "env", scenario_env(r, c, n, obj_str(sec, "name")));
	resources(ctr, obj_str(sec, "cpu"), obj_str(sec, "memory"));
	mount(ctr, "config", "/config");
	mount(ctr, "out", "/out");
	mount(ctr, "vastrun", TOOLS_DIR);
	buf_release(&sh);
	return ctr;
}

static void labels(cJSON *o, const struct vast_run *r, const struct vast_config *c,
		   const char *num)
{
	obj_set_label(o, VAST_LABEL_RUN, r->run_id);
	obj_set_label(o, VAST_LABEL_GROUP, c->name);
	obj_set_label(o, VAST_LABEL_RUN_NUMBER, num);
	obj_set_label(o, VAST_LABEL_APP, "kubectl-vastrun");
}

cJSON *run_job(const struct vast_run *r, const struct vast_config *c, long n)
{
	struct buf name = BUF_INIT, num = BUF_INIT, total = BUF_INIT;
	cJSON *job, *spec, *pod, *vols, *inits, *ctrs, *init;
	const cJSON *sec;
	const char *fetch[] = { "kubectl-vastrun", "pod", "fetch-config", "--bucket", r->run_id,
				"--config", c->name, "--to", "/config", "--install",
				TOOLS_DIR, NULL };
	const char *vnames[] = { "config", "out", "vastrun" };

	run_job_name(r->run_id, c->name, n, &name);
	buf_printf(&num, "%ld", n);
	buf_printf(&total, "%ld", (long)r->nconfigs * r->runs);
	job = must(obj_new("batch/v1", "Job", r->ns, buf_str(&name)));
	labels(job, r, c, buf_str(&num));
	obj_set_label(job, VAST_QUEUE_LABEL, VAST_LOCAL_QUEUE);
	obj_set_annotation(job, VAST_ANNOT_TOTAL, buf_str(&total));
	spec = obj_ensure(job, "spec");
	cJSON_AddNumberToObject(spec, "backoffLimit", 0);
	if (r->p->timeout_s > 0)
		cJSON_AddNumberToObject(spec, "activeDeadlineSeconds", (double)r->p->timeout_s);
	labels(obj_ensure(spec, "template"), r, c, buf_str(&num));
	pod = obj_ensure(spec, "template.spec");
	cJSON_AddStringToObject(pod, "restartPolicy", "Never");
	vols = cJSON_AddArrayToObject(pod, "volumes");
	for (size_t i = 0; i < 3; i++) {
		cJSON *v = must(cJSON_CreateObject());

		cJSON_AddStringToObject(v, "name", vnames[i]);
		cJSON_AddItemToObject(v, "emptyDir", must(cJSON_CreateObject()));
		cJSON_AddItemToArray(vols, v);
	}
	inits = cJSON_AddArrayToObject(pod, "initContainers");
	init = must(cJSON_CreateObject());
	cJSON_AddStringToObject(init, "name", "fetch-config");
	cJSON_AddStringToObject(init, "image", r->tools_image);
	cJSON_AddItemToObject(init, "command", str_array(fetch));
	cJSON_AddItemToObject(init, "env", s3_env());
	mount(init, "config", "/config");
	mount(init, "vastrun", TOOLS_DIR);
	cJSON_AddItemToArray(inits, init);
	ctrs = cJSON_AddArrayToObject(pod, "containers");
	cJSON_AddItemToArray(ctrs, main_container(r, c, n));
	cJSON_ArrayForEach(sec, r->p->secondary)
		cJSON_AddItemToArray(ctrs, secondary_container(r, c, n, sec));
	buf_release(&name);
	buf_release(&num);
	buf_release(&total);
	return job;
}

static void upload_file(cJSON *a, const char *key, const char *dir, const char *rel)
{
	cJSON *u = must(cJSON_CreateObject());
	struct buf p = BUF_INIT;

	buf_printf(&p, "%s/%s", dir, rel);
	cJSON_AddStringToObject(u, "key", key);
	cJSON_AddStringToObject(u, "path", buf_str(&p));
	cJSON_AddItemToArray(a, u);
	buf_release(&p);
}

static void upload_yaml(cJSON *a, const char *key, const cJSON *doc)
{
	cJSON *u = must(cJSON_CreateObject());
	char *text = yaml_emit_one(doc);

	if (!text)
		die("cannot write '%s'", key);
	cJSON_AddStringToObject(u, "key", key);
	cJSON_AddStringToObject(u, "data", text);
	cJSON_AddItemToArray(a, u);
	free(text);
}

static const char *project_dir(const struct vast_run *r)
{
	return r->p->nconfigs ? r->p->configs[0].dir : ".";
}

cJSON *run_uploads(const struct vast_run *r)
{
	cJSON *a = must(cJSON_CreateArray()), *x = must(cJSON_CreateObject()), *files, *names;
	struct buf key = BUF_INIT;

	cJSON_AddStringToObject(x, "runId", r->run_id);
	cJSON_AddStringToObject(x, "project", r->p->name);
	cJSON_AddStringToObject(x, "image", r->p->image);
	cJSON_AddNumberToObject(x, "runs", (double)r->runs);
	cJSON_AddStringToObject(x, "entrypoint", r->p->entrypoint);
	if (r->p->scenario_file)
		cJSON_AddStringToObject(x, "scenario_file", r->p->scenario_file);
	if (r->p->timeout_s)
		cJSON_AddNumberToObject(x, "timeout", (double)r->p->timeout_s);
	cJSON_AddItemToObject(x, "env", must(cJSON_Duplicate(r->p->env, 1)));
	files = cJSON_AddArrayToObject(x, "files");
	cJSON_AddItemToArray(files, must(cJSON_CreateString(r->p->entrypoint)));
	names = cJSON_AddArrayToObject(x, "configs");
	for (size_t i = 0; i < r->nconfigs; i++)
		cJSON_AddItemToArray(names, must(cJSON_CreateString(r->configs[i]->name)));
	upload_yaml(a, "execution.yaml", x);
	upload_file(a, r->p->entrypoint, project_dir(r), r->p->entrypoint);
	for (size_t i = 0; i < r->nconfigs; i++) {
		const struct vast_config *c = r->configs[i];
		cJSON *doc = must(cJSON_CreateObject()), *fl;

		cJSON_AddStringToObject(doc, "name", c->name);
		cJSON_AddItemToObject(doc, "parameters", must(cJSON_Duplicate(c->parameters, 1)));
		fl = cJSON_AddArrayToObject(doc, "files");
		for (char **f = c->files; *f; f++)
			cJSON_AddItemToArray(fl, must(cJSON_CreateString(*f)));
		buf_reset(&key);
		buf_printf(&key, "%s/config.yaml", c->name);
		upload_yaml(a, buf_str(&key), doc);
		cJSON_Delete(doc);
		for (char **f = c->files; *f; f++) {
			buf_reset(&key);
			buf_printf(&key, "%s/%s", c->name, *f);
			upload_file(a, buf_str(&key), c->dir, *f);
		}
	}
	cJSON_Delete(x);
	buf_release(&key);
	return a;
}

cJSON *run_campaign(const struct vast_run *r, const cJSON *jobs)
{
	cJSON *o = must(obj_new(VAST_API_VERSION, "Campaign", r->ns, r->run_id));
	cJSON *spec = obj_ensure(o, "spec"), *names;

	cJSON_AddStringToObject(spec, "runId", r->run_id);
	cJSON_AddStringToObject(spec, "bucket", r->run_id);
	cJSON_AddStringToObject(spec, "project", r->p->name);
	cJSON_AddNumberToObject(spec, "runs", (double)r->runs);
	names = cJSON_AddArrayToObject(spec, "configs");
	for (size_t i = 0; i < r->nconfigs; i++)
		cJSON_AddItemToArray(names, must(cJSON_CreateString(r->configs[i]->name)));
	cJSON_AddItemToObject(spec, "jobs", must(cJSON_Duplicate(jobs, 1)));
	return o;
}
