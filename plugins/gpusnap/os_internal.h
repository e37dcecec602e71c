/* os_internal.h - the parts of the OS and SystemD collectors, shared
 * between collect_os.c, os_hw.c, os_sysctl.c, collect_systemd.c and
 * os_units.c. Not used elsewhere.
 *
 * Every function that fills a measurement takes the data map of its
 * subtype (from snap_subtype()) and adds scalars to it; cJSON owns what
 * is added. Paths are absolute host paths ("/proc/cpuinfo"); the
 * functions put ctx->root in front through snap_read()/snap_path().
 */
#ifndef WLKIT_GPUSNAP_OS_INTERNAL_H
#define WLKIT_GPUSNAP_OS_INTERNAL_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "gpusnap.h"

/* Set key in map to a string, number or boolean, replacing a value that
 * is there already. */
void os_set_str(cJSON *map, const char *key, const char *val);
void os_set_num(cJSON *map, const char *key, double val);
void os_set_bool(cJSON *map, const char *key, bool val);

/* snap_read() of path into out (at most max bytes, 0: 16 MiB) that warns
 * "cannot read 'ROOT/PATH': why" on failure, except for a missing file
 * when missing_ok. Returns 0 or -1 (errno kept). */
int os_read(const struct snap_ctx *c, const char *path, struct buf *out,
	    size_t max, bool missing_ok);

/* Trims s in place and turns every run of white space (tabs, new lines)
 * inside it into one space. Returns s. */
char *os_squeeze(char *s);

/* Splits the next word off *p with the shell's quoting rules for double
 * quotes ("a \"b\"" with \\ \" \$ \` escapes), single quotes and
 * backslashes, into out (emptied first); advances *p past it. Returns
 * false when only white space is left. */
bool os_next_word(const char **p, struct buf *out);

/* True when the name of a setting (an environment variable, an option)
 * holds a secret: it contains TOKEN, SECRET, PASSWORD or KEY, in any case. */
bool os_secret_name(const char *name, size_t len);

/* os_hw.c: OS / cpu, memory, hugepages, numa, iommu (grub is the
 * OS / grub data map, read for the iommu kernel options). */
void os_cpu(const struct snap_ctx *c, cJSON *m);
void os_memory(const struct snap_ctx *c, cJSON *m);
void os_numa(const struct snap_ctx *c, cJSON *m);
void os_iommu(const struct snap_ctx *c, cJSON *m, const cJSON *grub);

/* os_sysctl.c: OS / sysctl, every readable file under /proc/sys except
 * /proc/sys/net, /proc/sys/dev/cdrom and /proc/sys/fs/binfmt_misc. Warns
 * once with the number of files that could not be read. */
void os_sysctl(const struct snap_ctx *c, cJSON *m);

/* os_units.c: a unit read from the unit files under ctx->root (not from a
 * running systemd): LoadState, present, FragmentPath, DropInPaths,
 * UnitFileState, Description, ExecStart, Environment (secrets redacted),
 * EnvironmentFiles, into data. */
void os_unit_from_files(const struct snap_ctx *c, const char *unit, cJSON *data);

/* collect_systemd.c: the redacted form of an Environment value (assignments
 * separated by spaces, quoted as systemctl prints them) into out. */
void os_env_redact(const char *env, struct buf *out);
/* The redacted form of a command line: the value of an --option=value or
 * NAME=value word, or the word after an --option, whose name holds a secret,
 * becomes <redacted>. */
void os_argv_redact(const char *cmd, struct buf *out);

#endif
