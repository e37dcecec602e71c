/* wait.h - `kubectl wlrun wait` and `logs`, and the wait after create.
 *
 * All strings are borrowed. Functions return an exit code: 0 completed, 1
 * error, 124 timed out (the workload keeps running), 125 finished failed.
 */
#ifndef WLRUN_WAIT_H
#define WLRUN_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"

/* The workload kinds wait knows, by their `--kind` word. */
struct wait_opts {
	const char *kind;	/* "jobset", "job", "pod", or NULL: find it */
	int64_t timeout_ms;	/* 0: no limit */
	bool logs;		/* follow the first pod's logs on stdout */
};

/* Waits for workload name (in ctx's namespace) to finish, printing its
 * state changes on stderr. */
int wait_run(struct cli_ctx *ctx, const char *name, const struct wait_opts *o);

/* Prints the logs of one pod of workload name: slice (the JobSet's job
 * index) and node (the completion index), each < 0 for 0. */
int logs_run(struct cli_ctx *ctx, const char *name, long slice, long node, bool follow);

#endif
