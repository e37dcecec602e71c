/* collect_os.c - the OS measurement: release, kernel, grub, kmod here;
 * cpu, memory, hugepages, numa, iommu in os_hw.c; sysctl in os_sysctl.c.
 * See gpusnap.h for the contract and os_internal.h for the helpers.
 */
#include "gpusnap.h"
#include "log.h"
#include "obj.h"
#include "os_internal.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#define SMALL_FILE (1u << 20)

void os_set_str(cJSON *map, const char *key, const char *val)
{
	obj_put(map, key, cJSON_CreateString(val));
}

void os_set_num(cJSON *map, const char *key, double val)
{
	obj_put(map, key, cJSON_CreateNumber(val));
}

void os_set_bool(cJSON *map, const char *key, bool val)
{
	obj_put(map, key, cJSON_CreateBool(val));
}

int os_read(const struct snap_ctx *c, const char *path, struct buf *out,
	    size_t max, bool missing_ok)
{
	struct buf shown = BUF_INIT;
	int saved;

	if (snap_read(c, path, out, max) == 0)
		return 0;
	saved = errno;
	if (!(missing_ok && saved == ENOENT)) {
		snap_path(c, path, &shown);
		warn("cannot read '%s': %s", buf_str(&shown), strerror(saved));
		buf_release(&shown);
	}
	errno = saved;
	return -1;
}

char *os_squeeze(char *s)
{
	char *r = s, *w = s;
	bool space = false;

	while (*r && isspace((unsigned char)*r))
		r++;
	for (; *r; r++) {
		if (isspace((unsigned char)*r)) {
			space = true;
			continue;
		}
		if (space)
			*w++ = ' ';
		space = false;
		*w++ = *r;
	}
	*w = '\0';
	return s;
}

bool os_next_word(const char **p, struct buf *out)
{
	const char *s = *p;
	char quote = 0;

	buf_reset(out);
	buf_grow(out, 0);
	while (*s && isspace((unsigned char)*s))
		s++;
	if (!*s) {
		*p = s;
		return false;
	}
	for (; *s; s++) {
		if (quote == '\'') {
			if (*s == '\'')
				quote = 0;
			else
				buf_addch(out, *s);
		} else if (quote == '"') {
			if (*s == '"')
				quote = 0;
			else if (*s == '\\' && s[1] && strchr("\\\"$`", s[1]))
				buf_addch(out, *++s);
			else
				buf_addch(out, *s);
		} else if (isspace((unsigned char)*s)) {
			break;
		} else if (*s == '"' || *s == '\'') {
			quote = *s;
		} else if (*s == '\\' && s[1]) {
			buf_addch(out, *++s);
		} else {
			buf_addch(out, *s);
		}
	}
	*p = s;
	return true;
}

bool os_secret_name(const char *name, size_t len)
{
	static const char *const words[] = { "TOKEN", "SECRET", "PASSWORD", "KEY" };
	size_t i, j, n;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		n = strlen(words[i]);
		for (j = 0; j + n <= len; j++)
			if (!strncasecmp(name + j, words[i], n))
				return true;
	}
	return false;
}

/* OS / release: /etc/os-release, else /usr/lib/os-release (os-release(5)):
 * KEY=value lines, the value one shell word whose quoting is removed. */
static void os_release(const struct snap_ctx *c, cJSON *m)
{
	static const char *const files[] = { "/etc/os-release", "/usr/lib/os-release" };
	struct buf text = BUF_INIT, val = BUF_INIT, key = BUF_INIT;
	cJSON *data = snap_subtype(m, "release");
	char *line, *next, *eq;
	const char *p;
	size_t i;

	for (i = 0; i < 2; i++)
		if (snap_read(c, files[i], &text, SMALL_FILE) == 0)
			break;
	if (i == 2) {
		os_read(c, files[0], &text, SMALL_FILE, false);
		goto out;
	}
	for (line = text.data; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while (isspace((unsigned char)*line))
			line++;
		if (*line == '#' || !(eq = strchr(line, '=')) || eq == line)
			continue;
		buf_reset(&key);
		buf_add(&key, line, (size_t)(eq - line));
		p = eq + 1;
		if (!os_next_word(&p, &val))
			buf_reset(&val);
		os_set_str(data, buf_str(&key), buf_str(&val));
	}
out:
	buf_release(&key);
	buf_release(&val);
	buf_release(&text);
}

/* The release ("6.1.0-18-amd64") and version ("#1 SMP ...") parts of a
 * /proc/version text: "Linux version RELEASE (builder) (compiler) VERSION". */
static void proc_version_parts(const char *text, cJSON *data, bool want_release,
			       bool want_version)
{
	static const char prefix[] = "Linux version ";
	const char *s, *e;
	struct buf part = BUF_INIT;

	if (strncmp(text, prefix, sizeof(prefix) - 1))
		return;
	s = text + sizeof(prefix) - 1;
	e = s + strcspn(s, " \n");
	if (want_release && e > s) {
		buf_add(&part, s, (size_t)(e - s));
		os_set_str(data, "release", buf_str(&part));
	}
	if (want_version && (s = strstr(e, " #"))) {
		buf_reset(&part);
		buf_adds(&part, s + 1);
		os_set_str(data, "version", os_squeeze(part.data));
	}
	buf_release(&part);
}

/* OS / kernel: release, version, machine and proc-version. uname(2) tells
 * the running kernel; under a root, /proc/sys/kernel/{osrelease,version,arch}
 * there tell the host's (the same kernel in a container, but not in a
 * fixture tree), with /proc/version for what is missing. */
static void os_kernel(const struct snap_ctx *c, cJSON *m)
{
	static const struct { const char *file, *key; } sys[] = {
		{ "/proc/sys/kernel/osrelease", "release" },
		{ "/proc/sys/kernel/version", "version" },
		{ "/proc/sys/kernel/arch", "machine" },
	};
	cJSON *data = snap_subtype(m, "kernel");
	struct buf text = BUF_INIT;
	struct utsname u;
	size_t i;

	if ((!c->root || !*c->root) && uname(&u) == 0) {
		os_set_str(data, "release", u.release);
		os_set_str(data, "version", u.version);
		os_set_str(data, "machine", u.machine);
	} else {
		for (i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
			if (snap_read(c, sys[i].file, &text, SMALL_FILE) == 0) {
				buf_grow(&text, 0);
				os_set_str(data, sys[i].key, os_squeeze(text.data));
			}
	}
	if (os_read(c, "/proc/version", &text, SMALL_FILE, false) < 0)
		goto out;
	buf_grow(&text, 0);
	os_squeeze(text.data);
	proc_version_parts(buf_str(&text), data,
			   !cJSON_GetObjectItemCaseSensitive(data, "release"),
			   !cJSON_GetObjectItemCaseSensitive(data, "version"));
	os_set_str(data, "proc-version", buf_str(&text));
out:
	buf_release(&text);
}

/* Adds one kernel parameter to the grub map: a bare flag is true; a key
 * given twice keeps both values joined with ',' (console=tty0
 * console=ttyS0 -> "tty0,ttyS0"), as the kernel hands every occurrence to
 * the parameter's handler; a bare repeat of a key with a value changes
 * nothing. */
static void grub_add(cJSON *data, const char *word)
{
	struct buf key = BUF_INIT, joined = BUF_INIT;
	const char *eq = strchr(word, '=');
	cJSON *old;

	buf_add(&key, word, eq ? (size_t)(eq - word) : strlen(word));
	if (!strcmp(buf_str(&key), "root") || !key.len)
		goto out;
	old = cJSON_GetObjectItemCaseSensitive(data, buf_str(&key));
	if (!eq) {
		if (!old)
			os_set_bool(data, buf_str(&key), true);
		goto out;
	}
	if (cJSON_IsString(old)) {
		buf_printf(&joined, "%s,%s", old->valuestring, eq + 1);
		os_set_str(data, buf_str(&key), buf_str(&joined));
	} else {
		os_set_str(data, buf_str(&key), eq + 1);
	}
out:
	buf_release(&joined);
	buf_release(&key);
}

/* OS / grub: /proc/cmdline split as the kernel does (white space outside
 * double quotes; the quotes removed), up to a lone "--", after which the
 * words are init's, not the kernel's. Returns the data map. */
static cJSON *os_grub(const struct snap_ctx *c, cJSON *m)
{
	cJSON *data = snap_subtype(m, "grub");
	struct buf text = BUF_INIT, word = BUF_INIT;
	const char *s;
	bool quote;

	if (os_read(c, "/proc/cmdline", &text, SMALL_FILE, false) < 0)
		goto out;
	for (s = buf_str(&text); *s; ) {
		while (*s && isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		buf_reset(&word);
		for (quote = false; *s && (quote || !isspace((unsigned char)*s)); s++) {
			if (*s == '"')
				quote = !quote;
			else
				buf_addch(&word, *s);
		}
		if (!strcmp(buf_str(&word), "--"))
			break;
		grub_add(data, buf_str(&word));
	}
out:
	buf_release(&word);
	buf_release(&text);
	return data;
}

/* OS / kmod: the loaded modules of /proc/modules, name -> true. A kernel
 * without module support has no /proc/modules: an empty map, no warning. */
static void os_kmod(const struct snap_ctx *c, cJSON *m)
{
	cJSON *data = snap_subtype(m, "kmod");
	struct buf text = BUF_INIT, name = BUF_INIT;
	const char *line, *end;

	if (os_read(c, "/proc/modules", &text, 0, true) < 0)
		goto out;
	for (line = buf_str(&text); *line; line = *end ? end + 1 : end) {
		end = line + strcspn(line, "\n");
		buf_reset(&name);
		buf_add(&name, line, strcspn(line, " \t\n"));
		if (name.len)
			os_set_bool(data, buf_str(&name), true);
	}
out:
	buf_release(&name);
	buf_release(&text);
}

int collect_os(const struct snap_ctx *c, cJSON *doc)
{
	cJSON *m = snap_measurement(doc, "OS");
	cJSON *grub;

	os_release(c, m);
	os_kernel(c, m);
	grub = os_grub(c, m);
	os_kmod(c, m);
	os_sysctl(c, m);
	os_cpu(c, m);
	os_memory(c, m);
	os_numa(c, m);
	os_iommu(c, m, grub);
	return 0;
}
