/* cli.h - one option table per command drives parsing, --help, --version
 * and shell completion (the __complete protocol of kubectl plugins).
 *
 * A program is a struct cli_prog with a table of subcommands; main() is
 * `return cli_main(&prog, argc, argv);`. cli_main picks the subcommand (the
 * first word that is not a flag or a flag's value; the default command when
 * that word is not a command name), parses the command's options and the
 * global flags it accepts, applies -v and --quiet to log, runs the command
 * and returns its exit code after checking that stdout was written
 * completely (a full disk is an error, exit 1).
 *
 * Flags: --name VALUE, --name=VALUE, -x VALUE, -xVALUE, -x=VALUE (kubectl's
 * -v=6 form), boolean --name, --name=true|false. Flags and positional words
 * may be mixed; "--" ends the flags and what follows is ctx->rest.
 * Unknown flags, missing values, bad numbers, a value outside `choices` and
 * wrong positional counts are usage errors: one line on stderr, exit 2.
 *
 * Exit codes: 0 ok, 1 error, 2 usage, 124 --wait timed out, 125 the workload
 * finished but failed (log.h has the constants).
 *
 * Completion: `PROG __complete ARGS... WORD` (also when the binary is
 * invoked as kubectl_complete-NAME) prints one candidate per line
 * ("value\tdescription") and a last line ":N", a cobra directive (4: no file
 * completion; 0: let the shell complete files).
 *
 * Memory: option values point into argv or static tables; list values are
 * arrays owned by cli (freed when cli_main returns). Nothing for the caller
 * to free.
 */
#ifndef WLKIT_CLI_H
#define WLKIT_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "kube_config.h"

enum cli_type {
	CLI_BOOL,	/* bool * */
	CLI_STR,	/* const char ** */
	CLI_INT,	/* long * (decimal, may be negative) */
	CLI_LIST,	/* struct cli_list * (repeatable; "a,b" is NOT split) */
	CLI_DURATION,	/* int64_t * milliseconds ("90s", "5m", "1h", bare seconds) */
};

struct cli_list {
	const char **items;
	int n;
};

struct cli_opt {
	const char *name;	/* long name, without "--"; NULL ends a table */
	char shortopt;		/* 0 when none */
	enum cli_type type;
	void *value;
	const char *argname;	/* shown in help: "--image IMAGE" */
	const char *help;
	const char *choices;	/* "a|b|c": validated, completed; or NULL */
	const char *complete;	/* "file", "dir" or NULL: what to complete */
};

/* Which global flag groups a command takes. */
#define CLI_G_KUBE	0x1	/* kubeconfig, context, cluster, user, namespace, server, token, ... */
#define CLI_G_OUTPUT	0x2	/* -o/--output */
#define CLI_G_DRYRUN	0x4	/* --dry-run[=none|client|server] */
#define CLI_G_GKE	0x8	/* --location, --project: --cluster is a GKE
				 * cluster (with CLI_G_KUBE; kube_config.h) */

struct cli_global {
	struct kube_flags kube;
	const char *output;	/* NULL when not given */
	const char *dry_run;	/* "none" unless given; bare --dry-run is "client" */
	long verbosity;
	bool quiet;
};

struct cli_ctx;

struct cli_cmd {
	const char *name;	/* NULL ends the table */
	int (*fn)(struct cli_ctx *ctx);
	const char *summary;	/* one line, for the command list */
	const char *usage;	/* after "kubectl wlrun NAME ": "NAME --image IMAGE [-- CMD...]" */
	const char *description;/* paragraph(s) for --help, or NULL */
	const char *examples;	/* lines of examples for --help (each "  # comment\n  cmd") */
	const struct cli_opt *opts;	/* the command's own options, or NULL */
	unsigned globals;	/* CLI_G_* */
	int min_args, max_args;	/* positional words before "--"; max -1: any */
	const char *output_choices;	/* NULL: "yaml|json|name" */
	const char *args_complete;	/* "file", "dir", another word for the
					 * args completer, or NULL: positional
					 * completion */
};

struct cli_prog {
	const char *name;	/* "wlrun" */
	const char *host;	/* "kubectl" or "gcloud" */
	const char *summary;	/* one line */
	const char *description;	/* paragraph for --help */
	const struct cli_cmd *cmds;
	const char *default_cmd;	/* command used when the first word is none; or NULL */
};

struct cli_ctx {
	const struct cli_prog *prog;
	const struct cli_cmd *cmd;
	int argc;		/* positional words (before "--") */
	char **argv;
	int restc;		/* words after "--" */
	char **rest;
	bool dashdash;		/* "--" was given */
	struct cli_global g;
};

int cli_main(const struct cli_prog *prog, int argc, char **argv);
/* How the program is called in messages: "kubectl wlrun" when run as a plugin
 * (argv[0] contains "kubectl-"), else the binary's name. Static storage. */
const char *cli_invocation(const struct cli_prog *prog);
/* Prints a usage error with a hint to --help and returns EXIT_USAGE. */
int cli_usage_error(const struct cli_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The version string the build stamped in (WLKIT_VERSION). */
const char *cli_version(void);
/* Completion of option values that are too many for `choices` (no
 * validation): fn(option name) returns a NULL-terminated list of candidates
 * in static storage, or NULL for an option it does not complete. Set once,
 * before cli_main; NULL (the default) completes nothing extra. */
void cli_set_value_completer(const char *const *(*fn)(const char *opt));
/* Completion of positional words that a command's args_complete names with
 * a word other than "file" and "dir" (e.g. "workloads"): fn(what, the
 * global flags given so far on the line (--context, --namespace...), the
 * word typed) prints candidates, one "value\tdescription" line each, that
 * begin with prefix, and nothing else on stdout (errors go unsaid: a
 * completion that cannot reach its cluster offers nothing). Called only
 * while the command takes more positional words. */
void cli_set_args_completer(void (*fn)(const char *what, const struct cli_global *g,
				       const char *prefix));

#endif
