/* driver.h - what the files of the test driver wlkit-t share: the parsed
 * command line (wlkit-t.c) and the commands (commands.c, objects.c). */
#ifndef WLKIT_TEST_DRIVER_H
#define WLKIT_TEST_DRIVER_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "kube.h"
#include "kube_config.h"

#define DRV_MAX_ARGS 16

/* Every option of every command; strings point into argv. */
struct drv {
	struct kube_flags kf;
	const char *output;		/* yaml, json, name */
	const char *field_manager;
	const char *file;		/* -f: "-" is stdin */
	const char *label_selector, *field_selector;
	const char *propagation, *uid, *subresource, *rv;
	const char *container, *audience;
	long limit, count, timeout_s, tail, grace, expiration;
	bool force, dry_run, all_namespaces, follow;
	const char *args[DRV_MAX_ARGS];	/* the command and its words */
	int nargs;
	struct kube *k;
	int printed;			/* objects written so far */
};

/* Runs d->args[0]; the exit code. */
int drv_run(struct drv *d);

/* objects.c: the commands that send objects read from d->file. */
int drv_objects(struct drv *d, const char *verb);
/* Prints one object in d->output; verb for -o name ("created"), or NULL. */
void drv_print(struct drv *d, const cJSON *obj, const char *verb);

#endif
