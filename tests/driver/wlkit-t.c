/* wlkit-t - a small command line over common/ for the bats suites: every
 * verb of kube.h, objects read from files or stdin with yaml.h, results on
 * stdout (YAML, JSON or kubectl's -o name), errors via kube_err_print().
 * Exit 0 ok, 1 error, 2 usage. Not installed; tests only.
 *
 * wlkit-t [GLOBAL] COMMAND ARGS...
 *   GLOBAL: --kubeconfig F --context C --cluster C --user U -n/--namespace NS
 *           --server S --token T --certificate-authority F
 *           --insecure-skip-tls-verify --request-timeout D -v=N
 *           -o yaml|json|name --field-manager M
 *   See usage() for the commands.
 */
#include "driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int usage(const char *fmt, const char *arg)
{
	fputs("error: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nusage: wlkit-t [--kubeconfig F] [--context C] [-n NS] [-v=N] [--token T] [-o yaml|json|name]\n"
	      "               version | resolve APIVERSION KIND | resolve-name RESOURCE\n"
	      "             | get RESOURCE NAME | list RESOURCE [-l SEL] [--field-selector SEL] [--limit N] [-A]\n"
	      "             | create|replace|status [-f FILE] [--dry-run]\n"
	      "             | apply [-f FILE] [--force] [--dry-run]\n"
	      "             | patch RESOURCE NAME PATCH [--subresource S]\n"
	      "             | delete RESOURCE NAME [--propagation P] [--grace N] [--uid UID]\n"
	      "             | watch RESOURCE [--count N] [--timeout SECONDS] [--rv RV] [-l SEL] [-A]\n"
	      "             | logs POD [-c CONTAINER] [-f|--follow] [--tail N]\n"
	      "             | token SERVICEACCOUNT [--expiration SECONDS] [--audience A]\n"
	      "             | raw METHOD PATH [BODY]\n", stderr);
	return 2;
}

/* Takes "--name VALUE", "--name=VALUE", "-x VALUE", "-x=VALUE", "-xVALUE"
 * at argv[*i]; true and *val when it is that flag. */
static bool flag_value(int argc, char **argv, int *i, const char *lng, char shrt,
		       const char **val, int *bad)
{
	const char *a = argv[*i];
	size_t n = strlen(lng);

	if (!strncmp(a, "--", 2) && !strncmp(a + 2, lng, n) &&
	    (a[2 + n] == '=' || !a[2 + n])) {
		if (a[2 + n] == '=') {
			*val = a + 3 + n;
			return true;
		}
	} else if (shrt && a[0] == '-' && a[1] == shrt) {
		if (a[2]) {
			*val = a + 2 + (a[2] == '=');
			return true;
		}
	} else {
		return false;
	}
	if (*i + 1 >= argc) {
		*bad = usage("flag '%s' needs a value", a);
		return true;
	}
	*val = argv[++*i];
	return true;
}

static bool flag_bool(const char *a, const char *lng, char shrt)
{
	if (!strncmp(a, "--", 2) && !strcmp(a + 2, lng))
		return true;
	return shrt && a[0] == '-' && a[1] == shrt && !a[2];
}

static bool number(const char *s, long *out)
{
	char *end;

	if (!s || !*s)
		return false;
	*out = strtol(s, &end, 10);
	return !*end;
}

int main(int argc, char **argv)
{
	struct drv d;
	const char *v = NULL, *num;
	int i, at, nf, bad = 0, rc;
	long n = 0;
	const struct { const char *name; long *out; } numeric[] = {
		{ "limit", &d.limit },
		{ "count", &d.count },
		{ "timeout", &d.timeout_s },
		{ "tail", &d.tail },
		{ "grace", &d.grace },
		{ "expiration", &d.expiration },
		{ NULL, NULL },
	};

	memset(&d, 0, sizeof(d));
	d.output = "yaml";
	d.field_manager = "wlkit-t";
	d.file = "-";
	d.tail = -1;
	d.grace = -1;
	for (i = 1; i < argc && !bad; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || !a[1]) {
			if (d.nargs < DRV_MAX_ARGS)
				d.args[d.nargs++] = a;
			else
				bad = usage("too many arguments at '%s'", a);
			continue;
		}
		if (!strcmp(a, "--")) {
			while (++i < argc && d.nargs < DRV_MAX_ARGS)
				d.args[d.nargs++] = argv[i];
			break;
		}
		if (!strcmp(a, "-f") && d.nargs && !strcmp(d.args[0], "logs")) {
			d.follow = true;
			continue;
		}
		if (flag_value(argc, argv, &i, "kubeconfig", 0, &d.kf.kubeconfig, &bad) ||
		    flag_value(argc, argv, &i, "context", 0, &d.kf.context, &bad) ||
		    flag_value(argc, argv, &i, "cluster", 0, &d.kf.cluster, &bad) ||
		    flag_value(argc, argv, &i, "user", 0, &d.kf.user, &bad) ||
		    flag_value(argc, argv, &i, "namespace", 'n', &d.kf.namespace, &bad) ||
		    flag_value(argc, argv, &i, "server", 's', &d.kf.server, &bad) ||
		    flag_value(argc, argv, &i, "token", 0, &d.kf.token, &bad) ||
		    flag_value(argc, argv, &i, "certificate-authority", 0,
			       &d.kf.certificate_authority, &bad) ||
		    flag_value(argc, argv, &i, "request-timeout", 0,
			       &d.kf.request_timeout, &bad) ||
		    flag_value(argc, argv, &i, "output", 'o', &d.output, &bad) ||
		    flag_value(argc, argv, &i, "field-manager", 0, &d.field_manager, &bad) ||
		    flag_value(argc, argv, &i, "filename", 'f', &d.file, &bad) ||
		    flag_value(argc, argv, &i, "selector", 'l', &d.label_selector, &bad) ||
		    flag_value(argc, argv, &i, "field-selector", 0, &d.field_selector, &bad) ||
		    flag_value(argc, argv, &i, "propagation", 0, &d.propagation, &bad) ||
		    flag_value(argc, argv, &i, "uid", 0, &d.uid, &bad) ||
		    flag_value(argc, argv, &i, "subresource", 0, &d.subresource, &bad) ||
		    flag_value(argc, argv, &i, "rv", 0, &d.rv, &bad) ||
		    flag_value(argc, argv, &i, "container", 'c', &d.container, &bad) ||
		    flag_value(argc, argv, &i, "audience", 0, &d.audience, &bad))
			continue;
		if (flag_value(argc, argv, &i, "v", 'v', &v, &bad)) {
			if (!bad && !number(v, &n))
				bad = usage("-v needs a number, not '%s'", v);
			else
				log_set_verbosity((int)n);
			continue;
		}
		num = NULL;
		at = i;
		for (nf = 0; numeric[nf].name; nf++)
			if (flag_value(argc, argv, &i, numeric[nf].name, 0, &num, &bad))
				break;
		if (numeric[nf].name) {
			if (!bad && !number(num, numeric[nf].out))
				bad = usage("'%s' needs a number", argv[at]);
			continue;
		}
		if (flag_bool(a, "insecure-skip-tls-verify", 0))
			d.kf.insecure_skip_tls_verify = true;
		else if (flag_bool(a, "force", 0))
			d.force = true;
		else if (flag_bool(a, "dry-run", 0))
			d.dry_run = true;
		else if (flag_bool(a, "all-namespaces", 'A'))
			d.all_namespaces = true;
		else if (flag_bool(a, "follow", 0))
			d.follow = true;
		else
			bad = usage("unknown flag '%s'", a);
	}
	if (bad)
		return bad;
	if (!d.nargs)
		return usage("%s", "no command given");
	if (strcmp(d.output, "yaml") && strcmp(d.output, "json") &&
	    strcmp(d.output, "name"))
		return usage("-o must be yaml, json or name, not '%s'", d.output);
	rc = drv_run(&d);
	if (fflush(stdout) || ferror(stdout)) {
		fputs("error: cannot write to stdout\n", stderr);
		rc = 1;
	}
	return rc;
}
