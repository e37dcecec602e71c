/* pods.h - a pod as the agent tracks it (pods.c runs it, pod_status.c
 * writes its status). Every pointer in struct pod is owned by it. */
#ifndef WLKIT_VKCMD_PODS_H
#define WLKIT_VKCMD_PODS_H

#include "vkcmd.h"

enum ctr_state { CTR_WAITING, CTR_RUNNING, CTR_DONE };

struct run_end {		/* how a run of a container ended */
	int exit_code;
	char reason[32];	/* Completed, Error, StartError, ... */
	int64_t started, finished;	/* wall clock seconds */
};

struct ctr {
	char *name;
	const cJSON *spec;	/* in pod->spec */
	bool init;
	enum ctr_state state;
	struct proc proc;
	struct ctr_log *log;
	int restarts;		/* runs started minus one */
	int runs;		/* runs started */
	int64_t started;	/* wall clock, of the current run */
	struct run_end last;	/* valid when runs > 0 and not running */
	bool has_last;
	int64_t next_start_ms;	/* monotonic: no start before */
	int64_t backoff_ms;
	char *waiting_reason, *waiting_message;
	char *message;		/* termination message (start errors) */
	bool signalled;		/* TERM sent for deletion/stop */
	bool wrapped;		/* the leader is bwrap: TERM goes to the others */
};

enum pod_stage { STAGE_NEW, STAGE_INIT, STAGE_MAIN, STAGE_DONE };

struct pod {
	char *ns, *name, *uid;
	char *dir;		/* work_dir/pods/NS_NAME_UID */
	cJSON *obj;		/* the object at first sight, with the newest
				 * resourceVersion and deletion fields */
	const cJSON *spec;	/* in obj: what runs */
	struct ctr *c;
	size_t nc, ninit;
	enum pod_stage stage;
	const char *phase;	/* Pending, Running, Succeeded, Failed */
	char *reason, *message;	/* pod-level, for Failed by the agent */
	int64_t start_time;	/* wall clock */
	int64_t start_ms;	/* monotonic */
	int64_t retry_ms;	/* preparing again (volumes) not before */
	struct pod_volumes *vols;
	int64_t token_ms;	/* projected tokens to renew at (0: none) */
	bool deleting;
	int64_t kill_at_ms;
	bool killed;
	bool dirty;		/* status to write */
	bool forget;		/* to remove from the table */
	bool compact;		/* finished and reported: only ns/name/uid kept */
};

/* pod_status.c */
/* Writes p's status (PUT pods/NAME/status, the current resourceVersion,
 * re-read and retried on 409). A 404 marks the pod to forget. */
void pod_status_write(struct agent *a, struct pod *p);
/* A pod found at start whose processes are gone: reported Failed. */
int pod_status_fail_orphan(struct agent *a, const cJSON *pod);
/* Copies from newer what the agent follows of a pod it runs: the
 * resourceVersion and the deletion fields (the rest stays as first seen). */
void pod_sync_meta(cJSON *obj, const cJSON *newer);
/* Final delete with gracePeriodSeconds=0 and the uid precondition. */
void pod_final_delete(struct agent *a, const char *ns, const char *name,
		      const char *uid);

#endif
