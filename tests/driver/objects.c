/* objects.c - wlkit-t's output, and the commands that send the objects of a
 * YAML stream (create, replace, status, apply). */
#include "driver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obj.h"
#include "yaml.h"

void drv_print(struct drv *d, const cJSON *obj, const char *verb)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	struct kube_resource r;
	struct kube_err kerr = KUBE_ERR_INIT;
	char *json;

	if (!strcmp(d->output, "name")) {
		const char *name = obj_name(obj);

		if (d->k && kube_resolve(d->k, obj_api_version(obj), obj_kind(obj),
					 &r, &kerr) == 0)
			kube_object_ref(&r, name, &out);
		else
			buf_printf(&out, "%s/%s", obj_kind(obj) ? obj_kind(obj) : "",
				   name ? name : "");
		if (verb)
			buf_printf(&out, " %s", verb);
		buf_addch(&out, '\n');
	} else if (!strcmp(d->output, "json")) {
		if (!(json = cJSON_Print(obj))) {
			fputs("error: out of memory\n", stderr);
			goto out;
		}
		buf_printf(&out, "%s\n", json);
		free(json);
	} else {
		if (d->printed)
			buf_adds(&out, "---\n");
		if (yaml_emit(&out, obj, &err) < 0) {
			fprintf(stderr, "error: %s\n", buf_str(&err));
			goto out;
		}
	}
	d->printed++;
	fputs(buf_str(&out), stdout);
	fflush(stdout);
out:
	kube_err_release(&kerr);
	buf_release(&out);
	buf_release(&err);
}

/* Sends one object; 0 or 1. */
static int send_one(struct drv *d, const char *verb, const cJSON *obj)
{
	struct kube_err err = KUBE_ERR_INIT;
	const char *done = "created";
	cJSON *reply = NULL;
	int rc;

	if (!strcmp(verb, "create")) {
		rc = kube_create(d->k, obj, d->kf.namespace, d->dry_run, &reply, &err);
	} else if (!strcmp(verb, "replace")) {
		rc = kube_replace(d->k, obj, d->kf.namespace, d->dry_run, &reply, &err);
		done = "replaced";
	} else if (!strcmp(verb, "status")) {
		rc = kube_update_status(d->k, obj, &reply, &err);
		done = "status updated";
	} else {
		rc = kube_apply(d->k, obj, d->kf.namespace, d->force, d->dry_run,
				&reply, &err);
		done = "serverside-applied";
	}
	if (rc < 0)
		kube_err_print(&err);
	else if (reply)
		drv_print(d, reply, done);
	cJSON_Delete(reply);
	kube_err_release(&err);
	return rc < 0 ? 1 : 0;
}

int drv_objects(struct drv *d, const char *verb)
{
	struct yaml_reader *r;
	struct buf err = BUF_INIT;
	cJSON *doc = NULL;
	FILE *f = stdin;
	int got, rc = 0;

	if (strcmp(d->file, "-") && !(f = fopen(d->file, "r"))) {
		fprintf(stderr, "error: cannot open '%s': %s\n", d->file, strerror(errno));
		return 1;
	}
	kube_set_source(d->k, strcmp(d->file, "-") ? d->file : "STDIN");
	r = yaml_reader_new(f, d->file);
	while ((got = yaml_reader_next(r, &doc, &err)) > 0) {
		/* Like kubectl, go on after a failed object and exit 1. */
		rc |= send_one(d, verb, doc);
		cJSON_Delete(doc);
		doc = NULL;
	}
	if (got < 0) {
		fprintf(stderr, "error: %s\n", buf_str(&err));
		rc = 1;
	}
	yaml_reader_free(r);
	if (f != stdin)
		fclose(f);
	buf_release(&err);
	return rc;
}
