/* request.c - what wlbuild sends and prints: the Build resource, the
 * equivalent cloudbuild.yaml, and the ImageBuild object.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "obj.h"
#include "wlbuild.h"
#include "yaml.h"

static cJSON *must(cJSON *x)
{
	if (!x)
		die("out of memory");
	return x;
}

static void add_str(cJSON *arr, const char *s)
{
	cJSON_AddItemToArray(arr, must(cJSON_CreateString(s)));
}

/* gcloud's machine type names ("e2-highcpu-8") as the API's enum. */
static void add_machine_type(cJSON *options, const char *mt)
{
	struct buf e = BUF_INIT;

	for (; *mt; mt++)
		buf_addch(&e, *mt == '-' ? '_' : toupper((unsigned char)*mt));
	cJSON_AddItemToObject(options, "machineType", must(cJSON_CreateString(e.data)));
	buf_release(&e);
}

/* steps, images, timeout, options, substitutions: what a Build and a
 * cloudbuild.yaml share. */
static void add_common(cJSON *b, const struct wlb_build *bd, bool with_logging)
{
	const struct wlb_opts *o = bd->o;
	cJSON *steps = must(cJSON_AddArrayToObject(b, "steps"));
	cJSON *step = must(cJSON_CreateObject()), *args, *images, *options, *subst;
	struct buf s = BUF_INIT;

	cJSON_AddItemToArray(steps, step);
	cJSON_AddItemToObject(step, "name", must(cJSON_CreateString(WLB_DOCKER_STEP)));
	args = must(cJSON_AddArrayToObject(step, "args"));
	add_str(args, "build");
	add_str(args, "--network");
	add_str(args, "cloudbuild");
	add_str(args, "--no-cache");
	add_str(args, "-t");
	add_str(args, bd->image);
	if (!bd->ctx->dockerfile_default) {
		add_str(args, "-f");
		add_str(args, bd->ctx->dockerfile);
	}
	for (int i = 0; i < o->build_args.n; i++) {
		add_str(args, "--build-arg");
		add_str(args, o->build_args.items[i]);
	}
	add_str(args, ".");
	images = must(cJSON_AddArrayToObject(b, "images"));
	add_str(images, bd->image);
	buf_printf(&s, "%llds", (long long)((o->timeout_ms + 999) / 1000));
	cJSON_AddItemToObject(b, "timeout", must(cJSON_CreateString(s.data)));
	options = must(cJSON_CreateObject());
	if (o->machine_type)
		add_machine_type(options, o->machine_type);
	if (o->disk_size > 0) {
		buf_reset(&s);
		buf_printf(&s, "%ld", o->disk_size);
		cJSON_AddItemToObject(options, "diskSizeGb", must(cJSON_CreateString(s.data)));
	}
	/* LEGACY keeps the log in Cloud Storage, where it is tailed */
	if (with_logging)
		cJSON_AddItemToObject(options, "logging", must(cJSON_CreateString("LEGACY")));
	if (cJSON_GetArraySize(options))
		cJSON_AddItemToObject(b, "options", options);
	else
		cJSON_Delete(options);
	if (o->substitutions.n) {
		subst = must(cJSON_AddObjectToObject(b, "substitutions"));
		for (int i = 0; i < o->substitutions.n; i++) {
			const char *kv = o->substitutions.items[i], *eq = strchr(kv, '=');
			char *k = strndup(kv, (size_t)(eq - kv));

			if (!k)
				die("out of memory");
			cJSON_DeleteItemFromObjectCaseSensitive(subst, k);
			cJSON_AddItemToObject(subst, k, must(cJSON_CreateString(eq + 1)));
			free(k);
		}
	}
	buf_release(&s);
}

cJSON *wlb_build_request(const struct wlb_build *bd)
{
	cJSON *b = must(cJSON_CreateObject());

	if (bd->bucket && bd->object) {
		cJSON *ss = must(obj_ensure(b, "source.storageSource"));
		struct buf gen = BUF_INIT;

		cJSON_AddItemToObject(ss, "bucket", must(cJSON_CreateString(bd->bucket)));
		cJSON_AddItemToObject(ss, "object", must(cJSON_CreateString(bd->object)));
		if (bd->generation) {
			buf_printf(&gen, "%lld", (long long)bd->generation);
			cJSON_AddItemToObject(ss, "generation", must(cJSON_CreateString(gen.data)));
		}
		buf_release(&gen);
	}
	add_common(b, bd, true);
	return b;
}

int wlb_cloudbuild_yaml(const struct wlb_build *bd, struct buf *out, struct buf *err)
{
	cJSON *b = must(cJSON_CreateObject());
	int rc;

	add_common(b, bd, false);
	buf_adds(out, "# cloudbuild.yaml written by kubectl-wlbuild: "
		 "gcloud builds submit --config cloudbuild.yaml DIR\n");
	rc = yaml_emit(out, b, err);
	cJSON_Delete(b);
	return rc;
}

cJSON *wlb_image_build(const char *image, const char *context, const char *dockerfile,
		       const char *project, const char *location, const char *backend)
{
	struct buf name = BUF_INIT;
	cJSON *ib, *spec;

	wlb_ref_short_name(image, &name);
	ib = must(obj_new(WLB_API_VERSION, "ImageBuild", NULL, name.data));
	spec = must(cJSON_AddObjectToObject(ib, "spec"));
	cJSON_AddItemToObject(spec, "image", must(cJSON_CreateString(image)));
	if (context)
		cJSON_AddItemToObject(spec, "context", must(cJSON_CreateString(context)));
	if (dockerfile)
		cJSON_AddItemToObject(spec, "dockerfile", must(cJSON_CreateString(dockerfile)));
	if (project)
		cJSON_AddItemToObject(spec, "project", must(cJSON_CreateString(project)));
	if (location)
		cJSON_AddItemToObject(spec, "region", must(cJSON_CreateString(location)));
	if (backend)
		cJSON_AddItemToObject(spec, "backend", must(cJSON_CreateString(backend)));
	buf_release(&name);
	return ib;
}

/* An RFC 3339 time in milliseconds (fraction kept); -1 when malformed. */
static int64_t time_ms(const char *s)
{
	int64_t t, ms = 0, scale = 100;
	const char *p;

	if (!s || rfc3339_parse(s, &t) < 0)
		return -1;
	if ((p = strchr(s + 19, '.')) && p == s + 19)
		for (p++; isdigit((unsigned char)*p) && scale; p++, scale /= 10)
			ms += (*p - '0') * scale;
	return t * 1000 + ms;
}

void wlb_format_duration(int64_t ms, struct buf *out)
{
	int64_t s = ms / 1000;

	if (ms < 60000) {
		buf_printf(out, "%lld.%llds", (long long)s, (long long)(ms % 1000 / 100));
		return;
	}
	s = (ms + 500) / 1000;
	if (s >= 3600)
		buf_printf(out, "%lldh", (long long)(s / 3600));
	if (s >= 60)
		buf_printf(out, "%lldm", (long long)(s % 3600 / 60));
	buf_printf(out, "%llds", (long long)(s % 60));
}

void wlb_image_build_status(cJSON *ib, const cJSON *build)
{
	cJSON *st = cJSON_GetObjectItemCaseSensitive(ib, "status");
	const char *image = obj_str(ib, "spec.image"), *v;
	const cJSON *imgs = obj_get(build, "results.images"), *x, *hit = NULL;
	int64_t a, z;

	if (!st)
		st = must(cJSON_AddObjectToObject(ib, "status"));
	cJSON_ArrayForEach(x, imgs) {
		const char *n = obj_str(x, "name"), *d = obj_str(x, "digest");

		if (!d || !*d)
			continue;
		if (!hit || (n && image && !strcmp(n, image)))
			hit = x;
	}
	if (hit) {
		struct buf ref = BUF_INIT;

		wlb_ref_repository(obj_str(hit, "name") ? obj_str(hit, "name") :
				   image ? image : "", &ref);
		buf_printf(&ref, "@%s", obj_str(hit, "digest"));
		obj_set_str(st, "image", ref.data);
		buf_release(&ref);
	}
	if ((v = obj_str(build, "status")))
		obj_set_str(st, "state", v);
	if ((v = obj_str(build, "id")))
		obj_set_str(st, "buildId", v);
	if ((v = obj_str(build, "logUrl")))
		obj_set_str(st, "logUrl", v);
	a = time_ms(obj_str(build, "startTime"));
	if (a < 0)
		a = time_ms(obj_str(build, "createTime"));
	z = time_ms(obj_str(build, "finishTime"));
	if (a >= 0 && z >= a) {
		struct buf d = BUF_INIT;

		wlb_format_duration(z - a, &d);
		obj_set_str(st, "duration", d.data);
		buf_release(&d);
	}
}
