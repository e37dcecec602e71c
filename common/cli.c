/* cli.c - see cli.h. */
#include "cli.h"
#include "buf.h"
#include "log.h"
#include "obj.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef WLKIT_VERSION
#define WLKIT_VERSION "0.0.0-dev"
#endif

static const char *argv0 = "";

/* The global option tables point at this; cli_main fills ctx->g from it. */
static struct cli_global G;
static const char *output_choices_now = "yaml|json|name";
static const char *const *(*value_completer)(const char *opt);

void cli_set_value_completer(const char *const *(*fn)(const char *opt))
{
	value_completer = fn;
}

static void (*args_completer)(const char *what, const struct cli_global *g,
			      const char *prefix);

void cli_set_args_completer(void (*fn)(const char *what, const struct cli_global *g,
				       const char *prefix))
{
	args_completer = fn;
}

static const struct cli_opt kube_opts[] = {
	{ "kubeconfig", 0, CLI_STR, &G.kube.kubeconfig, "FILE", "path to the kubeconfig file to use", NULL, "file" },
	{ "context", 0, CLI_STR, &G.kube.context, "NAME", "the kubeconfig context to use", NULL, NULL },
	{ "cluster", 0, CLI_STR, &G.kube.cluster, "NAME", "the kubeconfig cluster to use", NULL, NULL },
	{ "user", 0, CLI_STR, &G.kube.user, "NAME", "the kubeconfig user to use", NULL, NULL },
	{ "namespace", 'n', CLI_STR, &G.kube.namespace, "NAME", "the namespace for this request", NULL, NULL },
	{ "server", 's', CLI_STR, &G.kube.server, "URL", "the address of the Kubernetes API server", NULL, NULL },
	{ "token", 0, CLI_STR, &G.kube.token, "TOKEN", "bearer token for authentication to the API server", NULL, NULL },
	{ "certificate-authority", 0, CLI_STR, &G.kube.certificate_authority, "FILE", "path to a cert file for the certificate authority", NULL, "file" },
	{ "client-certificate", 0, CLI_STR, &G.kube.client_certificate, "FILE", "path to a client certificate file for TLS", NULL, "file" },
	{ "client-key", 0, CLI_STR, &G.kube.client_key, "FILE", "path to a client key file for TLS", NULL, "file" },
	{ "tls-server-name", 0, CLI_STR, &G.kube.tls_server_name, "NAME", "server name to use for server certificate validation", NULL, NULL },
	{ "insecure-skip-tls-verify", 0, CLI_BOOL, &G.kube.insecure_skip_tls_verify, NULL, "do not verify the server's certificate (insecure)", NULL, NULL },
	{ "request-timeout", 0, CLI_STR, &G.kube.request_timeout, "DURATION", "how long to wait for a single request (0: no timeout)", NULL, NULL },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

static const struct cli_opt gke_opts[] = {
	{ "location", 0, CLI_STR, &G.kube.location, "LOCATION", "with --cluster: the GKE cluster's region or zone (no kubeconfig is used)", NULL, NULL },
	{ "project", 0, CLI_STR, &G.kube.project, "PROJECT", "with --location: the GKE cluster's project (default: gcloud's)", NULL, NULL },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

static const struct cli_opt output_opts[] = {
	{ "output", 'o', CLI_STR, &G.output, "FORMAT", "output format", NULL /* set per command */, NULL },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

static const struct cli_opt dryrun_opts[] = {
	{ "dry-run", 0, CLI_STR, &G.dry_run, "none|client|server", "client: print without sending; server: send with dryRun=All", "none|client|server", NULL },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

static const struct cli_opt always_opts[] = {
	{ "v", 'v', CLI_INT, &G.verbosity, "LEVEL", "log level: 6 requests, 7 headers, 8 bodies (secrets are always masked)", NULL, NULL },
	{ "quiet", 'q', CLI_BOOL, &G.quiet, NULL, "no progress or informational messages on stderr", NULL, NULL },
	{ NULL, 0, 0, NULL, NULL, NULL, NULL, NULL }
};

/* The option tables a command accepts, in the order help prints them. */
struct opt_set {
	const struct cli_opt *tables[6];
	int n;
};

static void opt_set_for(const struct cli_cmd *cmd, struct opt_set *s)
{
	s->n = 0;
	if (cmd && cmd->opts)
		s->tables[s->n++] = cmd->opts;
	if (cmd && (cmd->globals & CLI_G_OUTPUT))
		s->tables[s->n++] = output_opts;
	if (cmd && (cmd->globals & CLI_G_DRYRUN))
		s->tables[s->n++] = dryrun_opts;
	if (!cmd || (cmd->globals & CLI_G_KUBE))
		s->tables[s->n++] = kube_opts;
	if (cmd && (cmd->globals & CLI_G_GKE))
		s->tables[s->n++] = gke_opts;
	s->tables[s->n++] = always_opts;
}

static const struct cli_opt *find_long(const struct opt_set *s, const char *name, size_t len)
{
	for (int t = 0; t < s->n; t++)
		for (const struct cli_opt *o = s->tables[t]; o->name; o++)
			if (strlen(o->name) == len && !strncmp(o->name, name, len))
				return o;
	return NULL;
}

static const struct cli_opt *find_short(const struct opt_set *s, char c)
{
	for (int t = 0; t < s->n; t++)
		for (const struct cli_opt *o = s->tables[t]; o->name; o++)
			if (o->shortopt && o->shortopt == c)
				return o;
	return NULL;
}

static const char *opt_choices(const struct cli_opt *o)
{
	if (o->value == (void *)&G.output)
		return output_choices_now;
	return o->choices;
}

const char *cli_version(void)
{
	return WLKIT_VERSION;
}

static const char *binary_name(const struct cli_prog *p, struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "%s-%s", p->host, p->name);
	return buf_str(out);
}

const char *cli_invocation(const struct cli_prog *p)
{
	static struct buf inv = BUF_INIT;
	const char *base = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
	struct buf bin = BUF_INIT;

	buf_reset(&inv);
	binary_name(p, &bin);
	/* As a plugin ("kubectl-wlrun", "gcloud-nodeimage") we are "kubectl wlrun". */
	if (!*base || strstr(base, "kubectl-") || strstr(base, "gcloud-") ||
	    strstr(base, "kubectl_complete-"))
		buf_printf(&inv, "%s %s", p->host, p->name);
	else
		buf_adds(&inv, base);
	buf_release(&bin);
	return buf_str(&inv);
}

int cli_usage_error(const struct cli_ctx *ctx, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "error: %s\nSee '%s%s%s --help' for usage.\n", buf_str(&msg),
		cli_invocation(ctx->prog), ctx->cmd ? " " : "",
		ctx->cmd ? ctx->cmd->name : "");
	buf_release(&msg);
	return EXIT_USAGE;
}

/* ---- help ---- */

static void print_opts(FILE *f, const struct cli_opt *t)
{
	for (const struct cli_opt *o = t; o->name; o++) {
		struct buf left = BUF_INIT;
		const char *ch = opt_choices(o);

		if (o->shortopt)
			buf_printf(&left, "  -%c, --%s", o->shortopt, o->name);
		else
			buf_printf(&left, "      --%s", o->name);
		if (o->type != CLI_BOOL)
			buf_printf(&left, " %s", o->argname ? o->argname : "VALUE");
		if (left.len < 34)
			fprintf(f, "%-34s %s", buf_str(&left), o->help);
		else
			fprintf(f, "%s\n%-34s %s", buf_str(&left), "", o->help);
		if (ch && (!o->argname || strcmp(ch, o->argname)))
			fprintf(f, " (%s)", ch);
		if (o->type == CLI_LIST)
			fputs(" (repeatable)", f);
		fputc('\n', f);
		buf_release(&left);
	}
}

static void print_help(const struct cli_prog *p, const struct cli_cmd *cmd, bool explicit_cmd)
{
	const char *inv = cli_invocation(p);
	FILE *f = stdout;
	struct opt_set s;

	if (cmd && explicit_cmd) {
		fprintf(f, "%s\n", cmd->summary);
		if (cmd->description)
			fprintf(f, "\n%s\n", cmd->description);
		fprintf(f, "\nUsage:\n  %s %s %s\n", inv, cmd->name, cmd->usage ? cmd->usage : "[flags]");
	} else {
		fprintf(f, "%s\n", p->summary);
		if (p->description)
			fprintf(f, "\n%s\n", p->description);
		fprintf(f, "\nUsage:\n");
		if (cmd)
			fprintf(f, "  %s [%s] %s\n", inv, cmd->name, cmd->usage ? cmd->usage : "[flags]");
		if (p->cmds && p->cmds[0].name)
			fprintf(f, "  %s COMMAND [flags]\n", inv);
		else
			fprintf(f, "  %s --help | --version\n", inv);
	}
	if (cmd && cmd->examples)
		fprintf(f, "\nExamples:\n%s\n", cmd->examples);
	if (!explicit_cmd && p->cmds && p->cmds[0].name) {
		int w = 14;

		for (const struct cli_cmd *c = p->cmds; c->name; c++)
			if ((int)strlen(c->name) > w)
				w = (int)strlen(c->name);
		fprintf(f, "\nCommands:\n");
		for (const struct cli_cmd *c = p->cmds; c->name; c++)
			fprintf(f, "  %-*s %s%s\n", w, c->name, c->summary,
				p->default_cmd && !strcmp(p->default_cmd, c->name) ? " (the default)" : "");
	}
	if (!p->cmds || !p->cmds[0].name) {
		fprintf(f, "\nFlags:\n%-34s help for %s\n%-34s print the version\n",
			"  -h, --help", p->name, "      --version");
		fprintf(f, "See man %s-%s(1) and wlkit(7).\n", p->host, p->name);
		return;
	}
	opt_set_for(cmd, &s);
	output_choices_now = cmd && cmd->output_choices ? cmd->output_choices : "yaml|json|name";
	if (cmd && cmd->opts && cmd->opts[0].name)
		fprintf(f, "\nFlags:\n");
	for (int t = 0; t < s.n; t++) {
		/* before a command, a gcloud program takes no kubectl flag */
		if (!cmd && s.tables[t] == kube_opts && strcmp(p->host, "kubectl"))
			continue;
		if (s.tables[t] == kube_opts)
			fprintf(f, "\nKubernetes connection flags (as kubectl's):\n");
		else if (s.tables[t] == gke_opts)
			fprintf(f, "\nGKE flags (the cluster from the Container API, no kubeconfig):\n");
		else if (s.tables[t] == always_opts)
			fprintf(f, "\nOther flags:\n");
		print_opts(f, s.tables[t]);
	}
	fprintf(f, "%-34s help for %s\n", "  -h, --help", cmd && explicit_cmd ? cmd->name : p->name);
	fprintf(f, "%-34s print the version\n", "      --version");
	if (!explicit_cmd && p->cmds && p->cmds[0].name)
		fprintf(f, "\nUse \"%s COMMAND --help\" for more about a command.\n", inv);
	fprintf(f, "See man %s-%s(1) and wlkit(7).\n", p->host, p->name);
}

/* ---- parsing ---- */

struct parser {
	const struct cli_prog *prog;
	struct cli_ctx *ctx;
	struct opt_set set;
	/* every CLI_LIST we appended to, to free afterwards */
	struct cli_list *lists[32];
	int nlists;
};

static int set_value(struct parser *ps, const struct cli_opt *o, const char *shown,
		     const char *val)
{
	const char *ch = opt_choices(o);
	struct buf why = BUF_INIT;
	int rc = 0;

	if (ch && o->type == CLI_STR) {
		size_t n = strlen(val);
		const char *p = ch;
		bool ok = false;

		while (*p) {
			const char *bar = strchr(p, '|');
			size_t l = bar ? (size_t)(bar - p) : strlen(p);

			if (l == n && !strncmp(p, val, n))
				ok = true;
			p += l + (bar ? 1 : 0);
		}
		if (!ok) {
			rc = cli_usage_error(ps->ctx, "invalid value '%s' for %s: must be one of %s",
					     val, shown, ch);
			goto out;
		}
	}
	switch (o->type) {
	case CLI_BOOL:
		if (!strcmp(val, "true") || !strcmp(val, "1"))
			*(bool *)o->value = true;
		else if (!strcmp(val, "false") || !strcmp(val, "0"))
			*(bool *)o->value = false;
		else
			rc = cli_usage_error(ps->ctx, "invalid value '%s' for %s: must be true or false", val, shown);
		break;
	case CLI_STR:
		*(const char **)o->value = val;
		break;
	case CLI_INT: {
		char *end;
		long v;

		errno = 0;
		v = strtol(val, &end, 10);
		if (!*val || *end || errno)
			rc = cli_usage_error(ps->ctx, "invalid value '%s' for %s: must be an integer", val, shown);
		else
			*(long *)o->value = v;
		break;
	}
	case CLI_DURATION:
		if (duration_parse_ms(val, (int64_t *)o->value, &why) < 0)
			rc = cli_usage_error(ps->ctx, "invalid value '%s' for %s: %s", val, shown, buf_str(&why));
		break;
	case CLI_LIST: {
		struct cli_list *l = o->value;
		const char **items = realloc(l->items, sizeof(*items) * (size_t)(l->n + 1));
		int i;

		if (!items)
			die("out of memory");
		l->items = items;
		l->items[l->n++] = val;
		for (i = 0; i < ps->nlists; i++)
			if (ps->lists[i] == l)
				break;
		if (i == ps->nlists && ps->nlists < 32)
			ps->lists[ps->nlists++] = l;
		break;
	}
	}
out:
	buf_release(&why);
	return rc;
}

static void free_lists(struct parser *ps)
{
	for (int i = 0; i < ps->nlists; i++) {
		free(ps->lists[i]->items);
		ps->lists[i]->items = NULL;
		ps->lists[i]->n = 0;
	}
	ps->nlists = 0;
}

/* Parses args (already without the program and command words) into ctx. */
static int parse_args(struct parser *ps, int argc, char **argv)
{
	struct cli_ctx *ctx = ps->ctx;
	int i;

	ctx->argv = calloc((size_t)argc + 1, sizeof(char *));
	if (!ctx->argv)
		die("out of memory");
	ctx->argc = 0;
	for (i = 0; i < argc; i++) {
		char *a = argv[i];
		const struct cli_opt *o;
		const char *val = NULL;
		struct buf shown = BUF_INIT;
		int rc;

		if (!strcmp(a, "--")) {
			ctx->dashdash = true;
			ctx->rest = argv + i + 1;
			ctx->restc = argc - i - 1;
			break;
		}
		if (a[0] != '-' || !a[1]) {
			ctx->argv[ctx->argc++] = a;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

			o = find_long(&ps->set, a + 2, len);
			buf_printf(&shown, "--%.*s", (int)len, a + 2);
			if (!o) {
				rc = cli_usage_error(ctx, "unknown flag: %s", buf_str(&shown));
				buf_release(&shown);
				return rc;
			}
			if (eq)
				val = eq + 1;
		} else {
			o = find_short(&ps->set, a[1]);
			buf_printf(&shown, "-%c", a[1]);
			if (!o) {
				rc = cli_usage_error(ctx, "unknown shorthand flag: '%c' in %s", a[1], a);
				buf_release(&shown);
				return rc;
			}
			if (a[2])
				val = a[2] == '=' ? a + 3 : a + 2;
		}
		if (!val) {
			if (o->type == CLI_BOOL) {
				val = "true";
			} else if (o->value == (void *)&G.dry_run) {
				/* bare --dry-run means client, as kubectl */
				val = "client";
				if (i + 1 < argc && (!strcmp(argv[i + 1], "none") ||
						     !strcmp(argv[i + 1], "client") ||
						     !strcmp(argv[i + 1], "server")))
					val = argv[++i];
			} else if (i + 1 < argc) {
				val = argv[++i];
			} else {
				rc = cli_usage_error(ctx, "flag needs an argument: %s", buf_str(&shown));
				buf_release(&shown);
				return rc;
			}
		}
		rc = set_value(ps, o, buf_str(&shown), val);
		buf_release(&shown);
		if (rc)
			return rc;
	}
	return 0;
}

/* --location makes --cluster a GKE cluster: it needs --cluster and takes
 * no kubeconfig flag; --project means nothing without it. */
static int check_gke(const struct cli_ctx *ctx)
{
	const struct kube_flags *k = &G.kube;
	const char *other = k->kubeconfig ? "kubeconfig" : k->context ? "context" :
		k->user ? "user" : k->server ? "server" : k->token ? "token" :
		k->certificate_authority ? "certificate-authority" :
		k->client_certificate ? "client-certificate" :
		k->client_key ? "client-key" : k->tls_server_name ? "tls-server-name" :
		k->insecure_skip_tls_verify ? "insecure-skip-tls-verify" : NULL;

	if (!k->location || !*k->location) {
		if (k->project)
			return cli_usage_error(ctx, "--project needs --cluster NAME and "
					       "--location LOCATION (a GKE cluster)");
		return 0;
	}
	if (!k->cluster || !*k->cluster)
		return cli_usage_error(ctx, "--location needs --cluster NAME (the GKE "
				       "cluster)");
	if (other)
		return cli_usage_error(ctx, "--location cannot be combined with --%s: "
				       "the GKE cluster is used without a kubeconfig", other);
	return 0;
}

/* Does this global flag, written as a separate word, take the next word? */
static bool takes_value(const struct cli_prog *p, const char *a)
{
	const struct cli_opt *o = NULL;
	struct opt_set s;

	if (a[0] != '-' || strchr(a, '='))
		return false;
	s.n = 0;
	s.tables[s.n++] = kube_opts;
	s.tables[s.n++] = gke_opts;
	s.tables[s.n++] = output_opts;
	s.tables[s.n++] = always_opts;
	if (a[1] == '-')
		o = find_long(&s, a + 2, strlen(a + 2));
	else if (!a[2])
		o = find_short(&s, a[1]);
	if (!o) {
		/* a command's own flag: look it up in every command */
		for (const struct cli_cmd *c = p->cmds; c && c->name; c++) {
			s.n = 0;
			if (c->opts)
				s.tables[s.n++] = c->opts;
			o = a[1] == '-' ? find_long(&s, a + 2, strlen(a + 2)) :
					  (!a[2] ? find_short(&s, a[1]) : NULL);
			if (o)
				break;
		}
	}
	return o && o->type != CLI_BOOL;
}

/* Index of the first word that is a command name, or -1. */
static int find_cmd_word(const struct cli_prog *p, int argc, char **argv,
			 const struct cli_cmd **cmd)
{
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return -1;
		if (argv[i][0] == '-') {
			if (takes_value(p, argv[i]))
				i++;
			continue;
		}
		for (const struct cli_cmd *c = p->cmds; c && c->name; c++)
			if (!strcmp(c->name, argv[i])) {
				*cmd = c;
				return i;
			}
		return -1;	/* first word is not a command */
	}
	return -1;
}

static const struct cli_cmd *find_cmd(const struct cli_prog *p, const char *name)
{
	for (const struct cli_cmd *c = p->cmds; c && name && c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* ---- completion ---- */

static void complete_choices(const char *prefix, const char *flag, const char *choices)
{
	const char *p = choices;

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);

		if (!strncmp(p, prefix, strlen(prefix) < l ? strlen(prefix) : l) &&
		    strlen(prefix) <= l)
			printf("%s%.*s\n", flag ? flag : "", (int)l, p);
		p += l + (bar ? 1 : 0);
	}
}

/* Candidates from the value completer for o that start with prefix; true
 * when the completer knows o. */
static bool complete_values(const struct cli_opt *o, const char *prefix, const char *flag)
{
	const char *const *v = value_completer ? value_completer(o->name) : NULL;

	for (; v && *v; v++)
		if (!strncmp(*v, prefix, strlen(prefix)))
			printf("%s%s\n", flag ? flag : "", *v);
	return value_completer && value_completer(o->name);
}

static int directive_for(const char *what)
{
	if (!what)
		return 4;
	if (!strcmp(what, "dir"))
		return 16;
	return 0;	/* files: the shell's default */
}

static int complete(const struct cli_prog *p, int argc, char **argv)
{
	const char *word = argc > 0 ? argv[argc - 1] : "";
	const struct cli_cmd *cmd = NULL;
	int nargs = argc > 0 ? argc - 1 : 0;
	int ci = find_cmd_word(p, nargs, argv, &cmd);
	struct opt_set s;
	const char *prev = nargs > 0 ? argv[nargs - 1] : NULL;
	bool after_dashdash = false;
	int positional = 0;

	if (!cmd)
		cmd = find_cmd(p, p->default_cmd);
	opt_set_for(cmd, &s);
	output_choices_now = cmd && cmd->output_choices ? cmd->output_choices : "yaml|json|name";
	for (int i = 0; i < nargs; i++) {
		if (!strcmp(argv[i], "--"))
			after_dashdash = true;
		else if (argv[i][0] == '-' && !after_dashdash) {
			const struct cli_opt *o = argv[i][1] == '-' ?
				find_long(&s, argv[i] + 2, strcspn(argv[i] + 2, "=")) :
				find_short(&s, argv[i][1]);
			const char *v = NULL;

			if (o && o->type != CLI_BOOL && strchr(argv[i], '='))
				v = strchr(argv[i], '=') + 1;
			else if (o && o->type != CLI_BOOL && argv[i][1] != '-' && argv[i][2])
				v = argv[i] + 2;
			else if (o && o->type != CLI_BOOL && i + 1 < nargs)
				v = argv[++i];
			/* the global string flags (--context, --namespace...)
			 * count for completions that ask the cluster */
			if (v && o->type == CLI_STR && (char *)o->value >= (char *)&G &&
			    (char *)o->value < (char *)(&G + 1))
				*(const char **)o->value = v;
		} else if (i != ci)
			positional++;
	}
	if (after_dashdash) {
		printf(":0\n");
		return 0;
	}
	/* the value of a flag given as a separate word */
	if (prev && prev[0] == '-' && !strchr(prev, '=')) {
		const struct cli_opt *o = prev[1] == '-' ? find_long(&s, prev + 2, strlen(prev + 2)) :
				(!prev[2] ? find_short(&s, prev[1]) : NULL);

		if (o && o->type != CLI_BOOL && o->value != (void *)&G.dry_run) {
			if (opt_choices(o)) {
				complete_choices(word, NULL, opt_choices(o));
				printf(":4\n");
			} else if (complete_values(o, word, NULL)) {
				printf(":4\n");
			} else {
				printf(":%d\n", directive_for(o->complete));
			}
			return 0;
		}
	}
	if (word[0] == '-') {
		const char *eq = strchr(word, '=');

		if (eq && word[1] == '-') {
			const struct cli_opt *o = find_long(&s, word + 2, (size_t)(eq - word - 2));
			struct buf flag = BUF_INIT;

			if (o && opt_choices(o)) {
				buf_add(&flag, word, (size_t)(eq - word + 1));
				complete_choices(eq + 1, buf_str(&flag), opt_choices(o));
			} else if (o) {
				buf_add(&flag, word, (size_t)(eq - word + 1));
				complete_values(o, eq + 1, buf_str(&flag));
			}
			buf_release(&flag);
			printf(":4\n");
			return 0;
		}
		static const char *const always[][2] = {
			{ "help", "help for this command" }, { "version", "print the version" },
		};
		size_t wl = strlen(word);

		if (!p->cmds || !p->cmds[0].name)
			s.n = 0;	/* a frame without commands takes no other flag */
		for (size_t i = 0; i < 2; i++)
			if (wl <= 2 + strlen(always[i][0]) && !strncmp(word, "--", wl < 2 ? wl : 2) &&
			    (wl <= 2 || !strncmp(word + 2, always[i][0], wl - 2)))
				printf("--%s\t%s\n", always[i][0], always[i][1]);
		for (int t = 0; t < s.n; t++)
			for (const struct cli_opt *o = s.tables[t]; o->name; o++) {
				if (wl <= 2 + strlen(o->name) && !strncmp(word, "--", wl < 2 ? wl : 2) &&
				    (wl <= 2 || !strncmp(word + 2, o->name, wl - 2)))
					printf("--%s\t%s\n", o->name, o->help);
				else if (o->shortopt && wl <= 2 && word[1] == o->shortopt)
					printf("-%c\t%s\n", o->shortopt, o->help);
			}
		printf(":4\n");
		return 0;
	}
	if (ci < 0 && positional == 0 && p->cmds && p->cmds[0].name) {
		for (const struct cli_cmd *c = p->cmds; c->name; c++)
			if (!strncmp(c->name, word, strlen(word)))
				printf("%s\t%s\n", c->name, c->summary);
		/* the default command takes a free word here too */
		printf(":%d\n", cmd && cmd->args_complete ? directive_for(cmd->args_complete) : 4);
		return 0;
	}
	if (cmd && cmd->args_complete && args_completer &&
	    strcmp(cmd->args_complete, "file") && strcmp(cmd->args_complete, "dir")) {
		if (cmd->max_args < 0 || positional < cmd->max_args)
			args_completer(cmd->args_complete, &G, word);
		printf(":4\n");
		return 0;
	}
	printf(":%d\n", cmd ? directive_for(cmd->args_complete) : 4);
	return 0;
}

/* ---- main ---- */

static int check_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		int e = errno;

		if (e == EPIPE)
			return 1;
		return error("cannot write to standard output: %s", strerror(e ? e : EIO));
	}
	return 0;
}

int cli_main(const struct cli_prog *p, int argc, char **argv)
{
	const char *base;
	const struct cli_cmd *cmd = NULL;
	struct cli_ctx ctx;
	struct parser ps;
	char **args = NULL;
	int nargs = 0, ci, rc = 0;
	bool explicit_cmd = false;

	argv0 = argc > 0 ? argv[0] : "";
	base = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
	if (!strncmp(base, "kubectl_complete-", 17))
		return complete(p, argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "__complete"))
		return complete(p, argc - 2, argv + 2);

	memset(&ctx, 0, sizeof(ctx));
	memset(&G, 0, sizeof(G));
	G.dry_run = "none";
	ctx.prog = p;

	if (argc > 1 && !strcmp(argv[1], "help")) {
		cmd = find_cmd(p, argc > 2 ? argv[2] : NULL);
		if (argc > 2 && !cmd) {
			fprintf(stderr, "error: unknown command '%s' for '%s'\n", argv[2], cli_invocation(p));
			return EXIT_USAGE;
		}
		print_help(p, cmd ? cmd : find_cmd(p, p->default_cmd), cmd != NULL);
		return check_stdout() ? 1 : 0;
	}

	ci = find_cmd_word(p, argc - 1, argv + 1, &cmd);
	if (ci >= 0)
		explicit_cmd = true;
	else
		cmd = find_cmd(p, p->default_cmd);
	/* --help and --version win over everything before "--" */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			print_help(p, cmd, explicit_cmd);
			return check_stdout() ? 1 : 0;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("%s-%s version %s\n", p->host, p->name, cli_version());
			return check_stdout() ? 1 : 0;
		}
	}
	ctx.cmd = cmd;
	if (!cmd) {
		if (!p->cmds || !p->cmds[0].name) {
			fprintf(stderr, "error: this build of %s has no commands yet; "
				"only --help and --version work\n", cli_invocation(p));
			return EXIT_USAGE;
		}
		if (argc < 2)
			return cli_usage_error(&ctx, "a command is required");
		for (int i = 1; i < argc; i++)
			if (argv[i][0] != '-')
				return cli_usage_error(&ctx, "unknown command '%s'", argv[i]);
		return cli_usage_error(&ctx, "a command is required");
	}

	args = calloc((size_t)argc + 1, sizeof(char *));
	if (!args)
		die("out of memory");
	for (int i = 1; i < argc; i++)
		if (i - 1 != ci)
			args[nargs++] = argv[i];

	memset(&ps, 0, sizeof(ps));
	ps.prog = p;
	ps.ctx = &ctx;
	opt_set_for(cmd, &ps.set);
	output_choices_now = cmd->output_choices ? cmd->output_choices : "yaml|json|name";
	rc = parse_args(&ps, nargs, args);
	if (rc)
		goto out;
	if (ctx.argc < cmd->min_args) {
		rc = cli_usage_error(&ctx, "%s %s needs %d argument%s: %s", cli_invocation(p),
				     cmd->name, cmd->min_args, cmd->min_args == 1 ? "" : "s",
				     cmd->usage ? cmd->usage : "");
		goto out;
	}
	if (cmd->max_args >= 0 && ctx.argc > cmd->max_args) {
		rc = cli_usage_error(&ctx, "unexpected argument '%s'", ctx.argv[cmd->max_args]);
		goto out;
	}
	if ((rc = check_gke(&ctx)))
		goto out;
	if (!ctx.dashdash) {
		ctx.rest = args + nargs;
		ctx.restc = 0;
	}
	log_set_verbosity((int)G.verbosity);
	log_set_quiet(G.quiet);
	ctx.g = G;
	rc = cmd->fn(&ctx);
	if (check_stdout() && rc == 0)
		rc = 1;
out:
	free_lists(&ps);
	free(ctx.argv);
	free(args);
	return rc;
}
