/* log.h - messages for people, on stderr only.
 *
 * Messages are lower-case, without a trailing period, with the subject in
 * quotes: error: cannot read kubeconfig '/x': No such file or directory
 *
 * die() prints "error: ..." and exits 1; die_usage() exits 2 (a usage error).
 * error() prints "error: ..." and returns -1 so that `return error(...)`
 * reads well. warn() prints "warning: ...". info() prints the message as is
 * unless --quiet. logv(level, ...) prints only at -v=level or more.
 * progress() draws a line that redraws in place, only when stderr is a TTY
 * and not --quiet; progress_done() ends it. Colour only on a TTY and never
 * with NO_COLOR set.
 *
 * The verbosity and quiet settings are option values set once by cli.
 * Nothing here allocates memory that the caller must free.
 */
#ifndef WLKIT_LOG_H
#define WLKIT_LOG_H

#include <stdbool.h>
#include <stdnoreturn.h>

#define EXIT_USAGE 2
#define EXIT_TIMEOUT 124
#define EXIT_WORKLOAD_FAILED 125

void log_set_verbosity(int level);
int log_verbosity(void);
void log_set_quiet(bool quiet);
bool log_quiet(void);
/* True when stderr is a terminal and NO_COLOR is unset. */
bool log_color(void);

noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void logv(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_done(void);

#endif
