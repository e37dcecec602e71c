/* create.c - `kubectl wlrun create`: checks every flag before anything is
 * sent (usage errors: one line, exit 2), reads the stdin stream (an
 * ImageBuild supplies the image; other objects pass through), then prints
 * or server-side applies the workload.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube.h"
#include "log.h"
#include "obj.h"
#include "stream.h"
#include "wlrun.h"
#include "yaml.h"

#define MAX_NAME 40

/* DNS-1035 label of at most 40 characters (xpk's limit). */
static bool name_valid(const char *s, struct buf *why)
{
	size_t n = strlen(s);

	if (n > MAX_NAME) {
		buf_set(why, "must be no more than %d characters", MAX_NAME);
		return false;
	}
	if (n == 0 || !islower((unsigned char)s[0]) || s[n - 1] == '-') {
		buf_set(why, "a DNS-1035 label must start with a lower-case letter and end "
			"with a lower-case letter or digit");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-') {
			buf_set(why, "a DNS-1035 label consists of lower-case letters, digits "
				"and '-'");
			return false;
		}
	}
	return true;
}

/* KEY=VALUE with a valid label key and, when label, a valid label value. */
static bool kv_valid(const char *s, bool label_value, struct buf *why)
{
	const char *eq = strchr(s, '=');
	struct buf k = BUF_INIT;
	bool ok;

	if (!eq) {
		buf_set(why, "want KEY=VALUE");
		return false;
	}
	buf_add(&k, s, (size_t)(eq - s));
	ok = label_key_valid(buf_str(&k), why) &&
	     (!label_value || label_value_valid(eq + 1, why));
	buf_release(&k);
	return ok;
}

static bool toleration_valid(const char *s, struct buf *why)
{
	const char *colon = strrchr(s, ':'), *eq;
	struct buf k = BUF_INIT;
	bool ok;

	if (!colon || (strcmp(colon + 1, "NoSchedule") && strcmp(colon + 1, "PreferNoSchedule") &&
		       strcmp(colon + 1, "NoExecute"))) {
		buf_set(why, "want KEY[=VALUE]:NoSchedule|PreferNoSchedule|NoExecute");
		return false;
	}
	eq = memchr(s, '=', (size_t)(colon - s));
	buf_add(&k, s, (size_t)((eq ? eq : colon) - s));
	ok = label_key_valid(buf_str(&k), why);
	buf_release(&k);
	return ok;
}

/* "1,42" into an array of numbers 1..255. */
static cJSON *exit_codes(const char *s, struct buf *why)
{
	cJSON *a = cJSON_CreateArray();
	const char *p = s;

	while (*p) {
		char *end;
		long v;
		errno = 0;
		v = isdigit((unsigned char)*p) ? strtol(p, &end, 10) : -1;
		if (v < 1 || v > 255 || errno || (*end && *end != ',') ||
		    (*end == ',' && !end[1])) {
			buf_set(why, "invalid --restart-on-exit-codes '%s': want exit codes "
				"1-255 separated by commas", s);
			cJSON_Delete(a);
			return NULL;
		}
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v));
		p = *end ? end + 1 : end;
	}
	return a;
}

static bool quantity_valid(const char *flag, const char *s, bool milli, struct buf *why)
{
	int64_t v;
	int rc = milli ? quantity_milli(s, &v, why) : quantity_value(s, &v, why);

	if (rc < 0 || v <= 0) {
		buf_set(why, "invalid %s '%s': want a positive quantity such as %s", flag, s,
			milli ? "500m or 2" : "512Mi or 2Gi");
		return false;
	}
	return true;
}

/* Every check that needs no input: fills w; 0 or a usage message in *why. */
static int check_flags(const struct cli_ctx *ctx, const struct create_opts *o,
		       struct workload *w, struct buf *why)
{
	const char *name = ctx->argv[0];
	struct buf t = BUF_INIT;
	bool nodes_given = o->num_nodes != NUM_NODES_UNSET;
	int rc = -1;

	w->name = name;
	if (!name_valid(name, &t)) {
		buf_set(why, "invalid name '%s': %s", name, buf_str(&t));
		goto out;
	}
	if (o->command && ctx->dashdash) {
		buf_set(why, "--command and a command after '--' exclude each other");
		goto out;
	}
	if (ctx->dashdash && ctx->restc == 0) {
		buf_set(why, "a command is required after '--'");
		goto out;
	}
	w->shell_line = o->command;
	w->argv = ctx->rest;
	w->argc = ctx->restc;
	w->kind = !o->kind || !strcmp(o->kind, "jobset") ? KIND_JOBSET :
		  !strcmp(o->kind, "job") ? KIND_JOB : KIND_POD;
	if (o->num_slices < 1 || (nodes_given && o->num_nodes < 1)) {
		buf_set(why, "--%s must be at least 1", o->num_slices < 1 ? "num-slices" : "num-nodes");
		goto out;
	}
	if (o->max_restarts < 0 || o->ttl < -1 || o->grace < 0 || o->gpus_per_node < 0) {
		buf_set(why, "--%s must not be negative",
			o->max_restarts < 0 ? "max-restarts" : o->ttl < -1 ?
			"ttl-seconds-after-finished" : o->grace < 0 ? "termination-grace-period" :
			"gpus-per-node");
		goto out;
	}
	w->num_slices = o->num_slices;
	w->num_nodes = nodes_given ? o->num_nodes : 1;
	w->max_restarts = o->max_restarts;
	w->ttl = o->ttl;
	w->grace = o->grace;
	if (o->accelerator) {
		if (accel_lookup(o->accelerator, o->gpus_per_node, &w->accel, why) < 0)
			goto out;
		w->has_accel = true;
		if (w->accel.family == ACCEL_TPU && nodes_given) {
			buf_set(why, "--num-nodes does not go with TPU type '%s': its topology "
				"%s has %d VMs per slice", o->accelerator, w->accel.topology,
				w->accel.vms_per_slice);
			goto out;
		}
		if (w->accel.family == ACCEL_CPU) {
			if (nodes_given && o->num_nodes != w->accel.vms_per_slice) {
				buf_set(why, "--num-nodes %ld contradicts CPU type '%s' (%d VMs "
					"per slice)", o->num_nodes, o->accelerator,
					w->accel.vms_per_slice);
				goto out;
			}
			w->num_nodes = w->accel.vms_per_slice;
		}
	} else if (o->gpus_per_node) {
		buf_set(why, "--gpus-per-node needs --accelerator with a raw GKE label such "
			"as 'nvidia-tesla-a100'");
		goto out;
	}
	if (w->kind != KIND_JOBSET && o->num_slices != 1) {
		buf_set(why, "--num-slices goes with --kind jobset only");
		goto out;
	}
	if (w->kind == KIND_POD) {
		const char *bad = w->num_nodes != 1 || (w->has_accel &&
			w->accel.family == ACCEL_TPU && w->accel.vms_per_slice != 1) ?
			"more than one node" : o->max_restarts ? "--max-restarts" :
			o->ttl >= 0 ? "--ttl-seconds-after-finished" :
			o->restart_on_exit_codes ? "--restart-on-exit-codes" : NULL;
		if (bad) {
			buf_set(why, "--kind pod does not go with %s", bad);
			goto out;
		}
	}
	w->queue = o->queue;
	if (o->queue && !label_value_valid(o->queue, &t)) {
		buf_set(why, "invalid --queue '%s': %s", o->queue, buf_str(&t));
		goto out;
	}
	w->priority = o->priority;
	if (o->restart_on_exit_codes && !(w->exit_codes = exit_codes(o->restart_on_exit_codes, why)))
		goto out;
	if ((o->cpu && !quantity_valid("--cpu", o->cpu, true, why)) ||
	    (o->memory && !quantity_valid("--memory", o->memory, false, why)) ||
	    (o->shm_size && !quantity_valid("--shm-size", o->shm_size, false, why)))
		goto out;
	w->cpu = o->cpu;
	w->memory = o->memory;
	w->shm_size = o->shm_size;
	for (int i = 0; i < o->node_selectors.n; i++) {
		if (!kv_valid(o->node_selectors.items[i], true, &t)) {
			buf_set(why, "invalid --node-selector '%s': %s", o->node_selectors.items[i],
				buf_str(&t));
			goto out;
		}
	}
	for (int i = 0; i < o->labels.n; i++) {
		if (!kv_valid(o->labels.items[i], true, &t)) {
			buf_set(why, "invalid --label '%s': %s", o->labels.items[i], buf_str(&t));
			goto out;
		}
	}
	for (int i = 0; i < o->annotations.n; i++) {
		if (!kv_valid(o->annotations.items[i], false, &t)) {
			buf_set(why, "invalid --annotation '%s': %s", o->annotations.items[i],
				buf_str(&t));
			goto out;
		}
	}
	for (int i = 0; i < o->tolerations.n; i++) {
		if (!toleration_valid(o->tolerations.items[i], &t)) {
			buf_set(why, "invalid --toleration '%s': %s", o->tolerations.items[i],
				buf_str(&t));
			goto out;
		}
	}
	for (int i = 0; i < o->pull_secrets.n; i++) {
		if (!dns1123_subdomain(o->pull_secrets.items[i], &t)) {
			buf_set(why, "invalid --image-pull-secret '%s': %s", o->pull_secrets.items[i],
				buf_str(&t));
			goto out;
		}
	}
	if (o->service_account && !dns1123_subdomain(o->service_account, &t)) {
		buf_set(why, "invalid --service-account '%s': %s", o->service_account, buf_str(&t));
		goto out;
	}
	if (o->node && !dns1123_subdomain(o->node, &t)) {
		buf_set(why, "invalid --node '%s': %s", o->node, buf_str(&t));
		goto out;
	}
	w->node_selectors = o->node_selectors;
	w->tolerations = o->tolerations;
	w->labels = o->labels;
	w->annotations = o->annotations;
	w->pull_secrets = o->pull_secrets;
	w->service_account = o->service_account;
	w->node = o->node;
	if (env_collect(&o->env, o->env_file, &w->env, why) < 0)
		goto out;
	rc = 0;
out:
	buf_release(&t);
	return rc;
}

/* Reads the stdin stream: the first ImageBuild (when no --image) is taken,
 * everything else is kept for output. 0, 1 when an ImageBuild lacked its
 * image (message in *why), -1 on a read error. */
static int read_input(cJSON *pass, bool want_image, cJSON **image_build, struct buf *why)
{
	struct stream_in *in = NULL;
	cJSON *doc;
	int rc = -1, r;

	if (stream_in_open(NULL, &in, why) < 0)
		goto out;
	while ((r = stream_in_next(in, &doc, why)) == 1) {
		if (want_image && !*image_build && stream_is_wlkit(doc, "ImageBuild")) {
			if (!obj_str(doc, "status.image")) {
				buf_set(why, "ImageBuild '%s' on stdin has no status.image",
					obj_name(doc) ? obj_name(doc) : "");
				cJSON_Delete(doc);
				rc = 1;
				goto out;
			}
			*image_build = doc;
			continue;
		}
		cJSON_AddItemToArray(pass, doc);
	}
	rc = r < 0 ? -1 : 0;
out:
	stream_in_close(in);
	return rc;
}

static int write_manifest(const char *path, const cJSON *m)
{
	struct buf y = BUF_INIT, err = BUF_INIT;
	FILE *f = NULL;
	int rc = -1;

	if (yaml_emit(&y, m, &err) < 0) {
		error("cannot write '%s': %s", path, buf_str(&err));
		goto out;
	}
	if (!(f = fopen(path, "w")) || fwrite(y.data, 1, y.len, f) != y.len) {
		error("cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	if (fclose(f)) {
		f = NULL;
		error("cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	f = NULL;
	rc = 0;
out:
	if (f)
		fclose(f);
	buf_release(&err);
	buf_release(&y);
	return rc;
}

/* "jobset.jobset.x-k8s.io/NAME", "job.batch/NAME", "pod/NAME". */
static void object_ref(const cJSON *m, struct buf *out)
{
	struct buf g = BUF_INIT;

	for (const char *k = obj_kind(m); *k; k++)
		buf_addch(out, tolower((unsigned char)*k));
	obj_group(obj_api_version(m), &g);
	if (g.len)
		buf_printf(out, ".%s", buf_str(&g));
	buf_printf(out, "/%s", obj_name(m));
	buf_release(&g);
}

int create_run(struct cli_ctx *ctx, const struct create_opts *o)
{
	struct workload w;
	struct buf why = BUF_INIT, ref = BUF_INIT;
	struct kube_err kerr = KUBE_ERR_INIT;
	struct kube *k = NULL;
	struct stream_out *out = NULL;
	cJSON *pass = cJSON_CreateArray(), *image_build = NULL, *m = NULL, *reply = NULL;
	const char *dry = ctx->g.dry_run, *it_fmt = ctx->g.output;
	const cJSON *it;
	int rc = EXIT_FAILURE, r;

	memset(&w, 0, sizeof(w));
	if (check_flags(ctx, o, &w, &why) < 0) {
		rc = cli_usage_error(ctx, "%s", buf_str(&why));
		goto out;
	}
	r = read_input(pass, !o->image, &image_build, &why);
	if (r < 0) {
		error("%s", buf_str(&why));
		goto out;
	}
	if (r > 0) {
		rc = cli_usage_error(ctx, "%s", buf_str(&why));
		goto out;
	}
	w.image = o->image ? o->image : image_build ? obj_str(image_build, "status.image") : NULL;
	if (!w.image || !*w.image) {
		rc = cli_usage_error(ctx, "an image is required: give --image or an ImageBuild "
				     "on stdin");
		goto out;
	}
	m = workload_manifest(&w);
	if (o->output_manifest && write_manifest(o->output_manifest, m) < 0)
		goto out;
	object_ref(m, &ref);
	if (strcmp(dry, "client")) {
		if (kube_open(&ctx->g.kube, "kubectl-wlrun", &k, &kerr) < 0 ||
		    kube_apply(k, m, NULL, false, !strcmp(dry, "server"), &reply, &kerr) < 0) {
			kube_err_print(&kerr);
			goto out;
		}
	}
	if (cJSON_GetArraySize(pass) || it_fmt) {
		out = stream_out_open(stdout, (enum stream_format)stream_format_parse(it_fmt));
		cJSON_ArrayForEach(it, pass) {
			if (stream_out_write(out, it, NULL) < 0)
				goto out;
		}
		if (it_fmt && stream_out_write(out, reply ? reply : m, NULL) < 0)
			goto out;
		r = stream_out_close(out);
		out = NULL;
		if (r < 0)
			goto out;
	}
	if (!it_fmt)
		info("%s serverside-applied%s", buf_str(&ref), !strcmp(dry, "client") ?
		     " (dry run)" : !strcmp(dry, "server") ? " (server dry run)" : "");
	else
		logv(1, "%s serverside-applied", buf_str(&ref));
	rc = 0;
out:
	if (out)
		stream_out_close(out);
	kube_close(k);
	kube_err_release(&kerr);
	cJSON_Delete(reply);
	cJSON_Delete(m);
	cJSON_Delete(image_build);
	cJSON_Delete(pass);
	cJSON_Delete(w.env);
	cJSON_Delete(w.exit_codes);
	buf_release(&ref);
	buf_release(&why);
	return rc;
}
