/* cloudbuild.c - the Cloud Build flow of `kubectl wlbuild DIR` and
 * `kubectl wlbuild status ID`.
 *
 * Upload the context (upload.c), create the build in the region (or
 * global), then follow it: the log tailed to stderr about once a second,
 * the build polled, and once it ended the log read once more. SUCCESS
 * prints the ImageBuild with the digest; any other final state (FAILURE,
 * TIMEOUT, CANCELLED, INTERNAL_ERROR, EXPIRED, or a state this program
 * does not know) is exit 1 with the last log lines.
 *
 * Cloud Build's create has no request id, so the POST is sent once: it is
 * never repeated after a 5xx or a transport failure (http.c repeats a POST
 * only on 429, which the server did not act on), and an upload that needed
 * retries cannot lead to a second build.
 *
 * SIGINT/SIGTERM fire one cancel switch (wlb_interrupt): a transfer in
 * flight ends at once; once a build exists it is cancelled with
 * POST .../builds/ID:cancel (not with --async, and not by `status
 * --follow`, which only stops following) and the exit code is 130. The
 * create POST itself is not interruptible, so a build is never created
 * without this program knowing its id. A second signal kills the program.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "obj.h"
#include "wlbuild.h"

#define POLL_MS 1000

static struct http_cancel intr;
static bool intr_ready;

struct http_cancel *wlb_interrupt(void)
{
	return intr_ready ? &intr : NULL;
}

bool wlb_interrupted(void)
{
	return intr_ready && http_cancelled(&intr);
}

static void on_signal(int sig)
{
	(void)sig;
	http_cancel_fire(&intr);
}

int wlb_interrupt_install(struct buf *err)
{
	struct sigaction sa;

	if (intr_ready)
		return 0;
	if (http_cancel_init(&intr) < 0) {
		buf_set(err, "cannot make a pipe: %s", strerror(errno));
		return -1;
	}
	intr_ready = true;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;	/* a second signal ends the program */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return 0;
}

/* Sleeps ms, less when interrupted. */
static void nap(int64_t ms)
{
	struct pollfd pfd = { .fd = intr_ready ? intr.fd[0] : -1, .events = POLLIN };

	if (!wlb_interrupted())
		poll(&pfd, intr_ready ? 1 : 0, (int)ms);
}

static bool build_running(const char *status)
{
	return status && (!strcmp(status, "QUEUED") || !strcmp(status, "WORKING") ||
			  !strcmp(status, "PENDING"));
}

static void builds_path(struct buf *out, const char *project, const char *location,
			const char *id, const char *verb)
{
	buf_adds(out, "v1/projects/");
	http_escape(out, project);
	buf_adds(out, "/locations/");
	http_escape(out, location);
	buf_adds(out, "/builds");
	if (id) {
		buf_addch(out, '/');
		http_escape(out, id);
	}
	if (verb)
		buf_printf(out, ":%s", verb);
}

static int cancel_build(struct gcp *g, const char *project, const char *location,
			const char *id)
{
	struct buf path = BUF_INIT, err = BUF_INIT;
	cJSON *body = cJSON_CreateObject(), *reply = NULL;

	builds_path(&path, project, location, id, "cancel");
	if (gcp_request(g, "POST", "cloudbuild", path.data, body, &reply, &err) < 0)
		error("cannot cancel build '%s': %s", id, err.data);
	else
		info("cancelled build '%s'", id);
	cJSON_Delete(reply);
	cJSON_Delete(body);
	buf_release(&err);
	buf_release(&path);
	return EXIT_INTERRUPTED;
}

/* Follows the build until it ends; prints the ImageBuild on success. */
static int follow(struct gcp *g, const char *project, const char *location, cJSON *build,
		  cJSON *ib, bool cancel_on_interrupt, struct stream_out *out)
{
	struct wlb_tail tail;
	struct buf path = BUF_INIT, err = BUF_INIT, idb = BUF_INIT;
	const char *id, *status, *detail;
	bool tailing;
	int rc = 1;

	buf_adds(&idb, obj_str(build, "id") ? obj_str(build, "id") : "");
	id = idb.data;	/* build is replaced by each poll */

	tailing = wlb_tail_init(&tail, obj_str(build, "logsBucket"), id,
				!log_quiet(), &err) == 0;
	if (!tailing)
		warn("not showing the log: %s", err.data);
	builds_path(&path, project, location, id, NULL);
	for (;;) {
		struct gcp_req r = { .method = "GET", .api = "cloudbuild", .path = path.data,
				     .idempotent = true, .cancel = wlb_interrupt() };
		struct gcp_reply reply = GCP_REPLY_INIT;

		if (wlb_interrupted())
			goto interrupted;
		if (tailing && wlb_tail_poll(g, &tail, wlb_interrupt(), &err) < 0) {
			if (wlb_interrupted())
				goto interrupted;
			warn("not showing the rest of the log: %s", err.data);
			tailing = false;
		}
		if (gcp_do(g, &r, &reply, &err) < 0) {
			gcp_reply_release(&reply);
			if (wlb_interrupted())
				goto interrupted;
			error("%s", err.data);
			goto out;
		}
		if (cJSON_IsObject(reply.json)) {
			cJSON_Delete(build);
			build = reply.json;
			reply.json = NULL;
		}
		gcp_reply_release(&reply);
		if (!build_running(obj_str(build, "status")))
			break;
		nap(POLL_MS);
	}
	if (tailing && wlb_tail_poll(g, &tail, wlb_interrupt(), &err) < 0)
		warn("cannot read the end of the log: %s", err.data);
	status = obj_str(build, "status");
	wlb_image_build_status(ib, build);
	if (status && !strcmp(status, "SUCCESS")) {
		if (!obj_str(ib, "status.image")) {
			error("build '%s' succeeded but reported no digest for '%s'", id,
			      obj_str(ib, "spec.image"));
			goto out;
		}
		info("built %s", obj_str(ib, "status.image"));
		rc = stream_out_write(out, ib, NULL) < 0 ? 1 : 0;
		goto out;
	}
	if (tailing && !tail.echo)
		wlb_tail_print_last(&tail, WLB_TAIL_LINES);
	detail = obj_str(build, "statusDetail");
	if (!detail)
		detail = obj_str(build, "failureInfo.detail");
	error("build '%s' ended with %s%s%s", id, status ? status : "no status",
	      detail && *detail ? ": " : "", detail ? detail : "");
	goto out;
interrupted:
	if (cancel_on_interrupt) {
		rc = cancel_build(g, project, location, id);
	} else {
		info("stopped following build '%s'; it goes on", id);
		rc = EXIT_INTERRUPTED;
	}
out:
	wlb_tail_release(&tail);
	cJSON_Delete(build);
	buf_release(&idb);
	buf_release(&err);
	buf_release(&path);
	return rc;
}

int wlb_cloudbuild_run(struct gcp *g, const struct wlb_opts *o, struct wlb_context *c,
		       const char *project, const char *location, const char *image,
		       bool dry_run, struct stream_out *out)
{
	struct buf bucket = BUF_INIT, object = BUF_INIT, path = BUF_INIT, err = BUF_INIT;
	struct wlb_build bd = { .o = o, .ctx = c, .project = project, .location = location,
				.image = image };
	cJSON *req = NULL, *op = NULL, *build, *ib = NULL;
	const char *id;
	int rc = 1;

	wlb_bucket_name(project, &bucket);
	wlb_source_object(&object);
	bd.bucket = bucket.data;
	bd.object = object.data;
	if (dry_run) {
		req = wlb_build_request(&bd);
		rc = stream_out_write(out, req, NULL) < 0 ? 1 : 0;
		goto out;
	}
	if (wlb_ensure_bucket(g, project, bucket.data, wlb_interrupt(), &err) < 0 ||
	    wlb_upload_context(g, c, bucket.data, object.data, wlb_interrupt(),
			       &bd.generation, &err) < 0) {
		if (wlb_interrupted()) {
			error("interrupted before the build was created");
			rc = EXIT_INTERRUPTED;
		} else {
			error("%s", err.data);
		}
		goto out;
	}
	info("uploaded '%s' (%ld files, %s rules, %llu bytes) to gs://%s/%s", c->dir,
	     c->st.files, ignore_source(c->ig), (unsigned long long)c->st.out_bytes,
	     bucket.data, object.data);
	req = wlb_build_request(&bd);
	builds_path(&path, project, location, NULL, NULL);
	/* not cancellable and never repeated: Cloud Build has no request id */
	if (gcp_request(g, "POST", "cloudbuild", path.data, req, &op, &err) < 0) {
		error("%s", err.data);
		goto out;
	}
	build = cJSON_DetachItemViaPointer(op, (cJSON *)obj_get(op, "metadata.build"));
	if (!build || !(id = obj_str(build, "id"))) {
		cJSON_Delete(build);
		error("cloudbuild: the created build's operation has no build id");
		goto out;
	}
	info("created build '%s' in %s%s%s", id, location,
	     obj_str(build, "logUrl") ? "; logs: " : "",
	     obj_str(build, "logUrl") ? obj_str(build, "logUrl") : "");
	ib = wlb_image_build(image, c->dir, c->dockerfile, project, location, "cloudbuild");
	if (wlb_interrupted()) {
		cJSON_Delete(build);
		rc = o->async ? EXIT_INTERRUPTED : cancel_build(g, project, location, id);
		goto out;
	}
	if (o->async) {
		wlb_image_build_status(ib, build);
		info("follow it with: kubectl wlbuild status %s --follow%s%s", id,
		     strcmp(location, "global") ? " --region " : "",
		     strcmp(location, "global") ? location : "");
		cJSON_Delete(build);
		rc = stream_out_write(out, ib, NULL) < 0 ? 1 : 0;
		goto out;
	}
	rc = follow(g, project, location, build, ib, true, out);
out:
	cJSON_Delete(ib);
	cJSON_Delete(op);
	cJSON_Delete(req);
	buf_release(&err);
	buf_release(&path);
	buf_release(&object);
	buf_release(&bucket);
	return rc;
}

/* The -f argument of the build's docker step, or NULL. */
static const char *step_dockerfile(const cJSON *build)
{
	const cJSON *args = obj_get(build, "steps"), *a;

	args = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(args, 0), "args");
	cJSON_ArrayForEach(a, args)
		if (cJSON_IsString(a) && (!strcmp(a->valuestring, "-f") ||
					  !strcmp(a->valuestring, "--file")) &&
		    cJSON_IsString(a->next))
			return a->next->valuestring;
	return NULL;
}

int wlb_status_run(struct gcp *g, const char *project, const char *id,
		   const char *location, bool follow_it, struct stream_out *out)
{
	struct buf path = BUF_INIT, err = BUF_INIT;
	cJSON *build = NULL, *ib = NULL;
	const cJSON *first;
	const char *image, *status;
	int rc = 1;

	builds_path(&path, project, location, id, NULL);
	if (gcp_request(g, "GET", "cloudbuild", path.data, NULL, &build, &err) < 0) {
		error("%s", err.data);
		goto out;
	}
	first = cJSON_GetArrayItem(obj_get(build, "images"), 0);
	image = cJSON_IsString(first) ? first->valuestring : "";
	ib = wlb_image_build(image, NULL, step_dockerfile(build), project, location,
			     "cloudbuild");
	status = obj_str(build, "status");
	if (follow_it && build_running(status)) {
		rc = follow(g, project, location, build, ib, false, out);
		build = NULL;
		goto out;
	}
	wlb_image_build_status(ib, build);
	if (build_running(status) || (status && !strcmp(status, "SUCCESS"))) {
		info("build '%s': %s", id, status);
		rc = stream_out_write(out, ib, NULL) < 0 ? 1 : 0;
		goto out;
	}
	error("build '%s' ended with %s%s%s", id, status ? status : "no status",
	      obj_str(build, "statusDetail") ? ": " : "",
	      obj_str(build, "statusDetail") ? obj_str(build, "statusDetail") : "");
out:
	cJSON_Delete(ib);
	cJSON_Delete(build);
	buf_release(&err);
	buf_release(&path);
	return rc;
}
