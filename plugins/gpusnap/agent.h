/* agent.h - the pieces of `kubectl gpusnap --deploy-agent` (agent.c runs
 * them): the RBAC objects (agent_rbac.c), the Job manifest and the checks
 * of the agent flags (agent_job.c), and the wait on the Jobs and their pods
 * (agent_wait.c).
 *
 * Ownership: functions that return cJSON * give a new tree to the caller;
 * strings are borrowed unless said otherwise. struct agent_plan owns what
 * it holds (agent_plan_release).
 */
#ifndef GPUSNAP_AGENT_H
#define GPUSNAP_AGENT_H
#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "gpusnap.h"
#include "kube.h"

#define AGENT_FIELD_MANAGER "kubectl-gpusnap"
#define AGENT_DEFAULT_NS "gpu-operator"
#define AGENT_DEFAULT_SELECTOR_KEY "nvidia.com/gpu.present"
#define AGENT_DEFAULT_SELECTOR_VALUE "true"
#define AGENT_RUN_LABEL "wlkit.dev/gpusnap-run"
#define AGENT_JOB_LABEL "wlkit.dev/gpusnap-job"
#define AGENT_TTL_SECONDS 600

/* The checked flags: what every Job of the run shares. */
struct agent_plan {
	const char *ns;			/* the namespace (borrowed) */
	const char *sa;			/* the ServiceAccount and RBAC name */
	struct buf run_id;		/* 8 hex digits, unique per invocation */
	cJSON *node_selector;		/* object k -> v */
	cJSON *tolerations;		/* array */
	const char *cpu, *memory, *pull_policy, *image, *format;
	int64_t deadline_s;		/* activeDeadlineSeconds */
};

/* agent_job.c: checks every agent flag and fills p (the namespace from
 * ns, already defaulted). 0, or -1 with the message for a usage error in
 * *err (nothing was sent). */
int agent_plan_make(const struct agent_opts *o, const char *ns,
		    struct agent_plan *p, struct buf *err);
void agent_plan_release(struct agent_plan *p);
/* The Job `name`; node NULL: placed by the node selector, else pinned to
 * that node (a required node affinity on metadata.name). */
cJSON *agent_job_manifest(const struct agent_plan *p, const char *name, const char *node);
/* Parses one --toleration value into a new toleration object; NULL with
 * *err when malformed. */
cJSON *agent_toleration_parse(const char *s, struct buf *err);

/* agent_rbac.c: makes the namespace and the five RBAC objects when
 * missing (GET, then create; AlreadyExists is fine), reusing those
 * present. *created_ns is set when the namespace was made here. Prints the
 * server's error and returns -1 on failure. */
int agent_rbac_ensure(struct kube *k, const struct agent_plan *p, bool *created_ns);
/* The RBAC objects (and the namespace when delete_ns) deleted; 404 is
 * fine. Each deletion that failed adds its kubectl command to cmds, one a
 * line. Returns the number of failures. */
int agent_rbac_delete(struct kube *k, const struct agent_plan *p, bool delete_ns,
		      struct buf *cmds);
/* The rules the agent's ServiceAccount gets, for tests and the man page:
 * the Role's (namespaced) or the ClusterRole's. New arrays. */
cJSON *agent_role_rules(void);
cJSON *agent_cluster_role_rules(void);

/* agent_wait.c: one Job of the run and what became of it. */
enum agent_state { AJ_PENDING, AJ_COMPLETE, AJ_FAILED };

struct agent_job {
	char *name;		/* the Job's (and its ConfigMap's) name, owned */
	char *node;		/* --all-nodes: the node it is pinned to, owned */
	enum agent_state state;
	char *pod;		/* its pod, once seen, owned */
	bool said_scheduled, said_running;
	struct buf unsched;	/* the last unschedulable message printed */
	struct buf why;		/* the Job's Failed condition, or "" */
	bool deadline;		/* it failed with DeadlineExceeded: a timeout */
	bool created;		/* the Job was created: clean it up */
};

/* Watches the Jobs of run p (and their pods), printing the progress lines,
 * until every job is complete or failed, the deadline (monotonic ms, see
 * agent_now_ms) passes, or cancel fires. Each job whose Job completes is
 * handed to on_done(ctx, job) at once, from the calling thread.
 * Returns 0 when all finished, EXIT_TIMEOUT, or 1 when a watch failed
 * (printed) or cancel fired (*cancelled set). */
int agent_wait(const struct kube_flags *flags, const struct agent_plan *p,
	       struct agent_job *jobs, int njobs, struct http_cancel *cancel,
	       int64_t deadline, void (*on_done)(void *ctx, struct agent_job *j),
	       void *ctx, bool *cancelled);
int64_t agent_now_ms(void);

#endif
