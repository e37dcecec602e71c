/* log.c - see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int verbosity;
static bool quiet;
static bool progress_shown;

void log_set_verbosity(int level)
{
	verbosity = level;
}

int log_verbosity(void)
{
	return verbosity;
}

void log_set_quiet(bool q)
{
	quiet = q;
}

bool log_quiet(void)
{
	return quiet;
}

bool log_color(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(2) && !(nc && *nc);
}

static void clear_progress(void)
{
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		progress_shown = false;
	}
}

static void vreport(const char *prefix, const char *color, const char *fmt, va_list ap)
{
	clear_progress();
	if (prefix) {
		if (color && log_color())
			fprintf(stderr, "\033[%sm%s\033[0m", color, prefix);
		else
			fputs(prefix, stderr);
	}
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("error: ", "31", fmt, ap);
	va_end(ap);
	exit(1);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("error: ", "31", fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("error: ", "31", fmt, ap);
	va_end(ap);
	return -1;
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("warning: ", "33", fmt, ap);
	va_end(ap);
}

void info(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vreport(NULL, NULL, fmt, ap);
	va_end(ap);
}

/* klog-like prefix so -v output reads like kubectl's: I1122 17:04:05.123456 */
void logv(int level, const char *fmt, ...)
{
	struct timeval tv;
	struct tm tm;
	va_list ap;

	if (verbosity < level)
		return;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	clear_progress();
	fprintf(stderr, "I%02d%02d %02d:%02d:%02d.%06ld %7d] ", tm.tm_mon + 1,
		tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec,
		(int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void progress(const char *fmt, ...)
{
	va_list ap;

	if (quiet || !isatty(2))
		return;
	fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
	progress_shown = true;
}

void progress_done(void)
{
	if (progress_shown) {
		fputc('\n', stderr);
		fflush(stderr);
		progress_shown = false;
	}
}
