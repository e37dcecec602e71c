/* test_cli.c - option parsing, help, version and the completion protocol. */
#include "unit.h"
#include "cli.h"
#include "buf.h"
#include "log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *o_image;
static bool o_wait;
static long o_num;
static struct cli_list o_env;
static int64_t o_timeout;
static struct buf seen = BUF_INIT;	/* what the command saw, printed to stdout */

static int cmd_create(struct cli_ctx *ctx)
{
	printf("create image=%s wait=%d num=%ld timeout=%lld ns=%s out=%s dry=%s v=%ld",
	       o_image ? o_image : "-", o_wait, o_num, (long long)o_timeout,
	       ctx->g.kube.namespace ? ctx->g.kube.namespace : "-",
	       ctx->g.output ? ctx->g.output : "-", ctx->g.dry_run, ctx->g.verbosity);
	for (int i = 0; i < o_env.n; i++)
		printf(" env=%s", o_env.items[i]);
	for (int i = 0; i < ctx->argc; i++)
		printf(" arg=%s", ctx->argv[i]);
	if (ctx->dashdash)
		for (int i = 0; i < ctx->restc; i++)
			printf(" rest=%s", ctx->rest[i]);
	printf("\n");
	return 0;
}

static int cmd_list(struct cli_ctx *ctx)
{
	printf("list args=%d\n", ctx->argc);
	return 0;
}

static const struct cli_opt create_opts[] = {
	{ "image", 0, CLI_STR, &o_image, "IMAGE", "container image", NULL, NULL },
	{ "wait", 0, CLI_BOOL, &o_wait, NULL, "wait for the end", NULL, NULL },
	{ "num-nodes", 0, CLI_INT, &o_num, "N", "nodes", NULL, NULL },
	{ "env", 'e', CLI_LIST, &o_env, "K=V", "environment", NULL, NULL },
	{ "timeout", 0, CLI_DURATION, &o_timeout, "DURATION", "how long", NULL, NULL },
	{ "kind", 0, CLI_STR, &o_image, "KIND", "kind", "jobset|job|pod", NULL },
	{ "env-file", 0, CLI_STR, &o_image, "FILE", "env file", NULL, "file" },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

static const struct cli_cmd cmds[] = {
	{ "create", cmd_create, "Create a workload", "NAME --image IMAGE [-- CMD...]", NULL,
	  "  # run a thing\n  kubectl demo create x --image busybox -- echo hi", create_opts,
	  CLI_G_KUBE | CLI_G_OUTPUT | CLI_G_DRYRUN, 1, 1, NULL, NULL },
	{ "list", cmd_list, "List workloads", "[flags]", NULL, NULL, NULL, CLI_G_KUBE | CLI_G_OUTPUT,
	  0, 0, "wide|yaml|json", NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL }
};

static const struct cli_prog prog = {
	"demo", "kubectl", "A demo program", NULL, cmds, "create"
};

/* Runs cli_main in a child with argv; captures stdout and stderr. */
static int run(struct buf *out, struct buf *err, const char *a0, ...)
{
	const char *argv[64];
	char outp[512], errp[512];
	va_list ap;
	int n = 0, status;
	pid_t pid;

	argv[n++] = a0;
	va_start(ap, a0);
	while (n < 63 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	snprintf(outp, sizeof(outp), "%s/out", unit_tmpdir());
	snprintf(errp, sizeof(errp), "%s/err", unit_tmpdir());
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fo, 1);
		dup2(fe, 2);
		int rc = cli_main(&prog, n, (char **)argv);

		fflush(NULL);
		_exit(rc);	/* not exit(): the parent's atexit cleanup must not run */
	}
	waitpid(pid, &status, 0);
	buf_reset(out);
	buf_reset(err);
	buf_read_file(out, outp);
	buf_read_file(err, errp);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

TEST(default_command_mixes_flags_and_words)
{
	struct buf o = BUF_INIT, e = BUF_INIT;

	CHECK_INT(run(&o, &e, "kubectl-demo", "train", "--image", "busybox", "-n", "team",
		      "--wait", "-e", "A=1", "--env=B=2", "-v=6", "-o", "json", "--", "python", "-u", "x.py", NULL), 0);
	CHECK_STR(buf_str(&o), "create image=busybox wait=1 num=0 timeout=0 ns=team out=json dry=none v=6"
		  " env=A=1 env=B=2 arg=train rest=python rest=-u rest=x.py\n");
	CHECK_INT(run(&o, &e, "kubectl-demo", "create", "train", "--image=x", "-nteam", "--v", "8",
		      "--num-nodes", "-3", "--timeout", "90s", NULL), 0);
	CHECK_STR(buf_str(&o), "create image=x wait=0 num=-3 timeout=90000 ns=team out=- dry=none v=8 arg=train\n");
	buf_release(&o);
	buf_release(&e);
}

static const char *const *image_values(const char *opt)
{
	static const char *const images[] = { "busybox", "bash-img", "python", NULL };

	return !strcmp(opt, "image") ? images : NULL;
}

TEST(value_completer_completes_long_value_lists)
{
	struct buf o = BUF_INIT, e = BUF_INIT;

	cli_set_value_completer(image_values);
	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "x", "--image", "b", NULL), 0);
	CHECK_STR(buf_str(&o), "busybox\nbash-img\n:4\n");
	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "x", "--image=bu", NULL), 0);
	CHECK_STR(buf_str(&o), "--image=busybox\n:4\n");
	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "x", "--image", "z", NULL), 0);
	CHECK_STR(buf_str(&o), ":4\n");
	/* options it does not know keep their own completion */
	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "x", "--env-file", "", NULL), 0);
	CHECK_STR(buf_str(&o), ":0\n");
	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "x", "--kind", "jobs", NULL), 0);
	CHECK_STR(buf_str(&o), "jobset\n:4\n");
	/* values are not validated against the list */
	CHECK_INT(run(&o, &e, "kubectl-demo", "x", "--image", "zzz", NULL), 0);
	CHECK_CONTAINS(buf_str(&o), "image=zzz");
	cli_set_value_completer(NULL);
	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "x", "--image", "b", NULL), 0);
	CHECK_STR(buf_str(&o), ":4\n");
	buf_release(&o);
	buf_release(&e);
}

TEST(subcommand_after_global_flags)
{
	struct buf o = BUF_INIT, e = BUF_INIT;

	CHECK_INT(run(&o, &e, "kubectl-demo", "-n", "x", "--context", "list", "list", NULL), 0);
	CHECK_STR(buf_str(&o), "list args=0\n");
	buf_release(&o);
	buf_release(&e);
}

TEST(dry_run_forms)
{
	struct buf o = BUF_INIT, e = BUF_INIT;

	run(&o, &e, "kubectl-demo", "a", "--dry-run", NULL);
	CHECK_CONTAINS(buf_str(&o), "dry=client");
	run(&o, &e, "kubectl-demo", "a", "--dry-run=server", NULL);
	CHECK_CONTAINS(buf_str(&o), "dry=server");
	run(&o, &e, "kubectl-demo", "a", "--dry-run", "none", NULL);
	CHECK_CONTAINS(buf_str(&o), "dry=none");
	CHECK_INT(run(&o, &e, "kubectl-demo", "a", "--dry-run=maybe", NULL), 2);
	CHECK_CONTAINS(buf_str(&e), "invalid value 'maybe' for --dry-run: must be one of none|client|server");
	buf_release(&o);
	buf_release(&e);
}

TEST(usage_errors_exit_2_with_one_line)
{
	struct buf o = BUF_INIT, e = BUF_INIT;

	CHECK_INT(run(&o, &e, "kubectl-demo", "a", "--nope", NULL), 2);
	CHECK_STR(buf_str(&e), "error: unknown flag: --nope\nSee 'kubectl demo create --help' for usage.\n");
	CHECK_INT(run(&o, &e, "kubectl-demo", "a", "--image", NULL), 2);
	CHECK_CONTAINS(buf_str(&e), "flag needs an argument: --image");
	CHECK_INT(run(&o, &e, "kubectl-demo", "a", "--num-nodes", "x1", NULL), 2);
	CHECK_CONTAINS(buf_str(&e), "invalid value 'x1' for --num-nodes: must be an integer");
	CHECK_INT(run(&o, &e, "kubectl-demo", "a", "-o", "xml", NULL), 2);
	CHECK_CONTAINS(buf_str(&e), "must be one of yaml|json|name");
	CHECK_INT(run(&o, &e, "kubectl-demo", "list", "-o", "wide", NULL), 0);
	CHECK_INT(run(&o, &e, "kubectl-demo", "a", "b", NULL), 2);
	CHECK_CONTAINS(buf_str(&e), "unexpected argument 'b'");
	CHECK_INT(run(&o, &e, "kubectl-demo", "--image", "x", NULL), 2);
	CHECK_CONTAINS(buf_str(&e), "needs 1 argument");
	CHECK_INT(run(&o, &e, "kubectl-demo", "a", "--wait=maybe", NULL), 2);
	CHECK_INT(run(&o, &e, "kubectl-demo", "a", "-Z", NULL), 2);
	CHECK_CONTAINS(buf_str(&e), "unknown shorthand flag: 'Z'");
	CHECK_INT(run(&o, &e, "kubectl-demo", "a", "--timeout", "soon", NULL), 2);
	CHECK_STR(buf_str(&o), "");
	buf_release(&o);
	buf_release(&e);
}

TEST(help_and_version)
{
	struct buf o = BUF_INIT, e = BUF_INIT;

	CHECK_INT(run(&o, &e, "/usr/bin/kubectl-demo", "--help", NULL), 0);
	CHECK_CONTAINS(buf_str(&o), "Usage:\n  kubectl demo [create] NAME --image IMAGE [-- CMD...]");
	CHECK_CONTAINS(buf_str(&o), "Commands:\n  create         Create a workload (the default)");
	CHECK_CONTAINS(buf_str(&o), "--kubeconfig FILE");
	CHECK_INT(run(&o, &e, "kubectl-demo", "create", "-h", NULL), 0);
	CHECK_CONTAINS(buf_str(&o), "Examples:\n  # run a thing");
	CHECK_CONTAINS(buf_str(&o), "--kind KIND");
	CHECK_CONTAINS(buf_str(&o), "(jobset|job|pod)");
	CHECK_INT(run(&o, &e, "kubectl-demo", "help", "list", NULL), 0);
	CHECK_CONTAINS(buf_str(&o), "kubectl demo list [flags]");
	CHECK_INT(run(&o, &e, "kubectl-demo", "help", "nope", NULL), 2);
	CHECK_INT(run(&o, &e, "kubectl-demo", "--version", NULL), 0);
	CHECK_STR(buf_str(&o), "kubectl-demo version " WLKIT_VERSION "\n");
	/* not as a plugin: the binary's own name */
	CHECK_INT(run(&o, &e, "./demo-local", "--help", NULL), 0);
	CHECK_CONTAINS(buf_str(&o), "  demo-local [create]");
	buf_release(&o);
	buf_release(&e);
}

TEST(completion_protocol)
{
	struct buf o = BUF_INIT, e = BUF_INIT;

	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "", NULL), 0);
	CHECK_CONTAINS(buf_str(&o), "create\tCreate a workload\nlist\tList workloads\n");
	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "l", NULL), 0);
	CHECK_STR(buf_str(&o), "list\tList workloads\n:4\n");
	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "create", "x", "--ima", NULL), 0);
	CHECK_STR(buf_str(&o), "--image\tcontainer image\n:4\n");
	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "create", "x", "--kind", "j", NULL), 0);
	CHECK_STR(buf_str(&o), "jobset\njob\n:4\n");
	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "x", "-o", "", NULL), 0);
	CHECK_STR(buf_str(&o), "yaml\njson\nname\n:4\n");
	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "x", "--output=j", NULL), 0);
	CHECK_STR(buf_str(&o), "--output=json\n:4\n");
	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "list", "-o", "w", NULL), 0);
	CHECK_STR(buf_str(&o), "wide\n:4\n");
	/* a file-valued flag lets the shell complete files */
	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "x", "--env-file", "", NULL), 0);
	CHECK_STR(buf_str(&o), ":0\n");
	/* the kubectl_complete-NAME helper name works the same */
	CHECK_INT(run(&o, &e, "/bin/kubectl_complete-demo", "li", NULL), 0);
	CHECK_STR(buf_str(&o), "list\tList workloads\n:4\n");
	/* after "--" the command line is the user's: files */
	CHECK_INT(run(&o, &e, "kubectl-demo", "__complete", "x", "--", "py", NULL), 0);
	CHECK_STR(buf_str(&o), ":0\n");
	buf_release(&o);
	buf_release(&e);
	buf_release(&seen);
}
