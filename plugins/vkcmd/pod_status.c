/* pod_status.c - a pod's status as a kubelet reports it: phase, conditions,
 * startTime, hostIP/podIP, init and container statuses with their states;
 * written with PUT pods/NAME/status on the current resourceVersion. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "obj.h"
#include "pods.h"

static void add_time(cJSON *o, const char *key, int64_t t)
{
	struct buf b = BUF_INIT;

	rfc3339(t, &b);
	cJSON_AddStringToObject(o, key, b.data);
	buf_release(&b);
}

static cJSON *condition(const char *type, bool status, const char *reason,
			int64_t t)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", status ? "True" : "False");
	cJSON_AddNullToObject(c, "lastProbeTime");
	add_time(c, "lastTransitionTime", t);
	if (reason)
		cJSON_AddStringToObject(c, "reason", reason);
	return c;
}

static cJSON *terminated(struct agent *a, const struct ctr *c,
			 const struct run_end *e)
{
	cJSON *t = cJSON_CreateObject();
	struct buf id = BUF_INIT;

	cJSON_AddNumberToObject(t, "exitCode", e->exit_code);
	if (e->exit_code > 128 && e->exit_code < 128 + 65)
		cJSON_AddNumberToObject(t, "signal", e->exit_code - 128);
	cJSON_AddStringToObject(t, "reason", e->reason);
	if (c->message)
		cJSON_AddStringToObject(t, "message", c->message);
	add_time(t, "startedAt", e->started);
	add_time(t, "finishedAt", e->finished);
	buf_printf(&id, "vkcmd://%s/%s", a->node, c->name);
	cJSON_AddStringToObject(t, "containerID", id.data);
	buf_release(&id);
	return t;
}

static cJSON *ctr_status(struct agent *a, const struct ctr *c)
{
	cJSON *s = cJSON_CreateObject(), *state = cJSON_CreateObject(), *x;
	const char *image = obj_str(c->spec, "image");

	cJSON_AddStringToObject(s, "name", c->name);
	cJSON_AddStringToObject(s, "image", image ? image : "");
	cJSON_AddStringToObject(s, "imageID", "");
	cJSON_AddBoolToObject(s, "ready", c->state == CTR_RUNNING && !c->init);
	cJSON_AddBoolToObject(s, "started", c->state == CTR_RUNNING);
	cJSON_AddNumberToObject(s, "restartCount", c->restarts);
	if (c->state == CTR_RUNNING) {
		x = cJSON_AddObjectToObject(state, "running");
		add_time(x, "startedAt", c->started);
	} else if (c->state == CTR_DONE && c->has_last) {
		cJSON_AddItemToObject(state, "terminated", terminated(a, c, &c->last));
	} else {
		x = cJSON_AddObjectToObject(state, "waiting");
		cJSON_AddStringToObject(x, "reason", c->waiting_reason ?
					c->waiting_reason : "PodInitializing");
		if (c->waiting_message)
			cJSON_AddStringToObject(x, "message", c->waiting_message);
	}
	cJSON_AddItemToObject(s, "state", state);
	x = cJSON_AddObjectToObject(s, "lastState");
	if (c->state != CTR_DONE && c->has_last)
		cJSON_AddItemToObject(x, "terminated", terminated(a, c, &c->last));
	return s;
}

static cJSON *ips(const char *ip)
{
	cJSON *l = cJSON_CreateArray(), *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "ip", ip);
	cJSON_AddItemToArray(l, o);
	return l;
}

/* The status, built over the previous one (qosClass and unknown fields kept). */
static void fill_status(struct agent *a, struct pod *p, cJSON *obj)
{
	cJSON *st = cJSON_DetachItemFromObjectCaseSensitive(obj, "status");
	cJSON *conds, *list;
	bool inited = p->stage == STAGE_MAIN || p->stage == STAGE_DONE;
	bool ready = p->stage == STAGE_MAIN;
	int64_t now = time(NULL);
	size_t i;

	if (!st)
		st = cJSON_CreateObject();
	for (i = 0; i < p->nc; i++)
		if (!p->c[i].init && p->c[i].state != CTR_RUNNING)
			ready = false;
	if (p->stage == STAGE_INIT && p->ninit == 0)
		inited = true;
	cJSON_DeleteItemFromObjectCaseSensitive(st, "phase");
	cJSON_AddStringToObject(st, "phase", p->phase);
	conds = cJSON_CreateArray();
	cJSON_AddItemToArray(conds, condition("PodScheduled", true, NULL, p->start_time));
	cJSON_AddItemToArray(conds, condition("Initialized", inited,
		inited ? NULL : "ContainersNotInitialized", now));
	cJSON_AddItemToArray(conds, condition("ContainersReady", ready,
		ready ? NULL : p->stage == STAGE_DONE ? "PodCompleted" :
		"ContainersNotReady", now));
	cJSON_AddItemToArray(conds, condition("Ready", ready,
		ready ? NULL : p->stage == STAGE_DONE ? "PodCompleted" :
		"ContainersNotReady", now));
	cJSON_DeleteItemFromObjectCaseSensitive(st, "conditions");
	cJSON_AddItemToObject(st, "conditions", conds);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "hostIP");
	cJSON_AddStringToObject(st, "hostIP", a->host_ip);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "hostIPs");
	cJSON_AddItemToObject(st, "hostIPs", ips(a->host_ip));
	cJSON_DeleteItemFromObjectCaseSensitive(st, "podIP");
	cJSON_AddStringToObject(st, "podIP", a->host_ip);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "podIPs");
	cJSON_AddItemToObject(st, "podIPs", ips(a->host_ip));
	cJSON_DeleteItemFromObjectCaseSensitive(st, "startTime");
	add_time(st, "startTime", p->start_time);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "reason");
	cJSON_DeleteItemFromObjectCaseSensitive(st, "message");
	if (p->reason)
		cJSON_AddStringToObject(st, "reason", p->reason);
	if (p->message)
		cJSON_AddStringToObject(st, "message", p->message);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "initContainerStatuses");
	cJSON_DeleteItemFromObjectCaseSensitive(st, "containerStatuses");
	if (p->ninit) {
		list = cJSON_AddArrayToObject(st, "initContainerStatuses");
		for (i = 0; i < p->nc; i++)
			if (p->c[i].init)
				cJSON_AddItemToArray(list, ctr_status(a, &p->c[i]));
	}
	list = cJSON_AddArrayToObject(st, "containerStatuses");
	for (i = 0; i < p->nc; i++)
		if (!p->c[i].init)
			cJSON_AddItemToArray(list, ctr_status(a, &p->c[i]));
	cJSON_AddItemToObject(obj, "status", st);
}

void pod_sync_meta(cJSON *obj, const cJSON *newer)
{
	static const char *const keys[] = { "resourceVersion", "deletionTimestamp",
					     "deletionGracePeriodSeconds" };
	cJSON *md = obj_ensure(obj, "metadata");
	const cJSON *nmd = obj_get(newer, "metadata"), *v;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		v = nmd ? cJSON_GetObjectItemCaseSensitive(nmd, keys[i]) : NULL;
		cJSON_DeleteItemFromObjectCaseSensitive(md, keys[i]);
		if (v)
			cJSON_AddItemToObject(md, keys[i], cJSON_Duplicate(v, 1));
	}
}

void pod_status_write(struct agent *a, struct pod *p)
{
	struct kube_err err = KUBE_ERR_INIT;
	cJSON *obj = NULL, *out = NULL;
	int tries;

	for (tries = 0; tries < 5; tries++) {
		cJSON_Delete(obj);
		obj = cJSON_Duplicate(p->obj, 1);
		fill_status(a, p, obj);
		kube_err_release(&err);
		if (kube_update_status(a->k, obj, &out, &err) == 0) {
			pod_sync_meta(p->obj, out);
			p->dirty = false;
			goto out;
		}
		if (err.code == 404) {
			p->dirty = false;
			p->forget = true;
			goto out;
		}
		if (err.code != 409)
			break;
		kube_err_release(&err);
		if (kube_get(a->k, "v1", "Pod", p->ns, p->name, &out, &err) < 0) {
			if (err.code == 404) {
				p->dirty = false;
				p->forget = true;
				goto out;
			}
			break;
		}
		if (!obj_str(out, "metadata.uid") || strcmp(obj_str(out, "metadata.uid"), p->uid)) {
			cJSON_Delete(out);
			out = NULL;
			p->dirty = false;
			p->forget = true;
			goto out;
		}
		pod_sync_meta(p->obj, out);
		cJSON_Delete(out);
		out = NULL;
	}
	{
		struct buf m = BUF_INIT;

		kube_err_format(&err, &m);
		warn("cannot update the status of pod '%s/%s': %s", p->ns, p->name,
		     buf_str(&m));
		buf_release(&m);
	}
out:
	cJSON_Delete(obj);
	cJSON_Delete(out);
	kube_err_release(&err);
}

int pod_status_fail_orphan(struct agent *a, const cJSON *pod)
{
	struct kube_err err = KUBE_ERR_INIT;
	cJSON *obj = cJSON_Duplicate(pod, 1), *st, *list, *it, *reply = NULL;
	int64_t now = time(NULL);
	int rc;
	size_t i;

	st = obj_ensure(obj, "status");
	cJSON_DeleteItemFromObjectCaseSensitive(st, "phase");
	cJSON_AddStringToObject(st, "phase", "Failed");
	cJSON_DeleteItemFromObjectCaseSensitive(st, "reason");
	cJSON_AddStringToObject(st, "reason", "NodeAgentRestarted");
	cJSON_DeleteItemFromObjectCaseSensitive(st, "message");
	cJSON_AddStringToObject(st, "message", "the node agent restarted and the "
				"pod's processes are gone");
	for (i = 0; i < 2; i++) {
		list = cJSON_GetObjectItemCaseSensitive(st, i ? "containerStatuses" :
							"initContainerStatuses");
		cJSON_ArrayForEach(it, list) {
			cJSON *state = cJSON_GetObjectItemCaseSensitive(it, "state"), *t;
			const cJSON *run;

			if (!state || obj_get(state, "terminated"))
				continue;
			run = obj_get(state, "running");
			t = cJSON_CreateObject();
			cJSON_AddNumberToObject(t, "exitCode", 137);
			cJSON_AddStringToObject(t, "reason", "ContainerStatusUnknown");
			cJSON_AddStringToObject(t, "message", "the container's process "
						"was lost when the node agent restarted");
			if (run && obj_str(run, "startedAt"))
				cJSON_AddStringToObject(t, "startedAt", obj_str(run, "startedAt"));
			add_time(t, "finishedAt", now);
			cJSON_DeleteItemFromObjectCaseSensitive(it, "state");
			state = cJSON_AddObjectToObject(it, "state");
			cJSON_AddItemToObject(state, "terminated", t);
			cJSON_DeleteItemFromObjectCaseSensitive(it, "ready");
			cJSON_AddBoolToObject(it, "ready", false);
			cJSON_DeleteItemFromObjectCaseSensitive(it, "started");
			cJSON_AddBoolToObject(it, "started", false);
		}
	}
	rc = kube_update_status(a->k, obj, &reply, &err);
	cJSON_Delete(reply);
	if (rc < 0 && err.code != 404 && err.code != 409) {
		struct buf m = BUF_INIT;

		kube_err_format(&err, &m);
		warn("cannot fail pod '%s/%s': %s", obj_namespace(pod),
		     obj_name(pod), buf_str(&m));
		buf_release(&m);
	}
	cJSON_Delete(obj);
	kube_err_release(&err);
	return rc;
}

void pod_final_delete(struct agent *a, const char *ns, const char *name,
		      const char *uid)
{
	struct kube_err err = KUBE_ERR_INIT;

	if (kube_delete(a->k, "v1", "Pod", ns, name, "Background", 0, uid, NULL,
			&err) < 0 && err.code != 404 && err.code != 409) {
		struct buf m = BUF_INIT;

		kube_err_format(&err, &m);
		warn("cannot delete pod '%s/%s': %s", ns, name, buf_str(&m));
		buf_release(&m);
	}
	kube_err_release(&err);
}
