/* unit.c - the harness of unit.h. */
#include "unit.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_TESTS 512

static struct { const char *name; void (*fn)(void); } tests[MAX_TESTS];
static int ntests;
static int failed_now;
static char tmpdir[256];
static pid_t tmp_owner;	/* children that exit() must not remove it */
static char pathbuf[64][512];
static int npath;

void unit_register(const char *name, void (*fn)(void))
{
	if (ntests < MAX_TESTS) {
		tests[ntests].name = name;
		tests[ntests].fn = fn;
		ntests++;
	}
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	failed_now++;
	printf("#   %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	if (tmpdir[0] && getpid() == tmp_owner && !getenv("UNIT_KEEP_TMP"))
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *unit_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/wlkit-unit-XXXXXX",
			 base && *base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(1);
		}
		tmp_owner = getpid();
		atexit(cleanup);
	}
	return tmpdir;
}

const char *unit_write(const char *name, const char *text)
{
	char *p = pathbuf[npath++ % 64];
	FILE *f;

	snprintf(p, 512, "%s/%s", unit_tmpdir(), name);
	f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	return p;
}

const char *unit_srcdir(void)
{
	const char *s = getenv("UNIT_SRCDIR");

	return s && *s ? s : ".";
}

int main(int argc, char **argv)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int i, bad = 0;

	printf("1..%d\n", ntests);
	for (i = 0; i < ntests; i++) {
		if (argc > 1 && strcmp(argv[1], tests[i].name))
			continue;
		failed_now = 0;
		fflush(stdout);
		tests[i].fn();
		printf("%sok %d - %s: %s\n", failed_now ? "not " : "", i + 1, prog,
		       tests[i].name);
		fflush(stdout);
		if (failed_now)
			bad++;
	}
	return bad ? 1 : 0;
}
