/* os_hw.c - OS / cpu, memory, hugepages, numa and iommu: what the kernel
 * tells of the machine's processors, memory and IOMMU. See os_internal.h.
 */
#include "gpusnap.h"
#include "log.h"
#include "os_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SOCKETS 1024

/* Splits "key<tabs> : value" (cpuinfo) or "Key:   value kB" (meminfo) at
 * the first ':' in place; *key and *val trimmed. False without a ':'. */
static bool split_colon(char *line, char **key, char **val)
{
	char *colon = strchr(line, ':'), *e;

	if (!colon)
		return false;
	*colon = '\0';
	for (e = colon; e > line && isspace((unsigned char)e[-1]); e--)
		e[-1] = '\0';
	*key = line;
	*val = os_squeeze(colon + 1);
	return true;
}

/* Calls fn(key, value, arg) for each "key: value" line of text (changed
 * in place). */
static void each_colon_line(char *text, void (*fn)(const char *, const char *, void *),
			    void *arg)
{
	char *line, *next, *key, *val;

	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (split_colon(line, &key, &val))
			fn(key, val, arg);
	}
}

struct cpuinfo {
	cJSON *data;
	int cpus;
	int sockets;
	long cores_per_socket;
	bool seen[MAX_SOCKETS];
};

static void cpuinfo_line(const char *key, const char *val, void *arg)
{
	struct cpuinfo *ci = arg;
	long id;

	if (!strcmp(key, "processor")) {
		ci->cpus++;
	} else if (!strcmp(key, "model name")) {
		if (!cJSON_GetObjectItemCaseSensitive(ci->data, "model"))
			os_set_str(ci->data, "model", val);
	} else if (!strcmp(key, "vendor_id")) {
		if (!cJSON_GetObjectItemCaseSensitive(ci->data, "vendor"))
			os_set_str(ci->data, "vendor", val);
	} else if (!strcmp(key, "CPU implementer")) {
		if (!cJSON_GetObjectItemCaseSensitive(ci->data, "cpu-implementer"))
			os_set_str(ci->data, "cpu-implementer", val);
	} else if (!strcmp(key, "CPU part")) {
		if (!cJSON_GetObjectItemCaseSensitive(ci->data, "cpu-part"))
			os_set_str(ci->data, "cpu-part", val);
	} else if (!strcmp(key, "physical id")) {
		id = strtol(val, NULL, 10);
		if (id >= 0 && id < MAX_SOCKETS && !ci->seen[id]) {
			ci->seen[id] = true;
			ci->sockets++;
		}
	} else if (!strcmp(key, "cpu cores")) {
		ci->cores_per_socket = strtol(val, NULL, 10);
	}
}

/* OS / cpu from /proc/cpuinfo: model and vendor (x86), cpu-implementer and
 * cpu-part (Arm), logical-cpus (the processor entries), and where the
 * kernel tells the topology, sockets (distinct physical ids) and cores
 * (sockets x cpu cores). */
void os_cpu(const struct snap_ctx *c, cJSON *m)
{
	struct cpuinfo *ci = calloc(1, sizeof(*ci));
	struct buf text = BUF_INIT;

	if (!ci)
		die("out of memory");
	ci->data = snap_subtype(m, "cpu");
	if (os_read(c, "/proc/cpuinfo", &text, 0, false) < 0)
		goto out;
	each_colon_line(text.data, cpuinfo_line, ci);
	os_set_num(ci->data, "logical-cpus", ci->cpus);
	if (ci->sockets) {
		os_set_num(ci->data, "sockets", ci->sockets);
		if (ci->cores_per_socket > 0)
			os_set_num(ci->data, "cores", (double)ci->sockets * ci->cores_per_socket);
	}
out:
	buf_release(&text);
	free(ci);
}

struct meminfo {
	cJSON *memory, *hugepages;
};

/* "16384000 kB" -> bytes; a count without a unit as is. */
static double meminfo_value(const char *val)
{
	char *end;
	double n = strtod(val, &end);

	while (isspace((unsigned char)*end))
		end++;
	if (!strcasecmp(end, "kB"))
		n *= 1024;
	return n;
}

static void meminfo_line(const char *key, const char *val, void *arg)
{
	static const char *const memory[] = { "MemTotal", "SwapTotal" };
	static const char *const huge[] = { "HugePages_Total", "Hugepagesize", "Hugetlb" };
	struct meminfo *mi = arg;
	size_t i;

	for (i = 0; i < sizeof(memory) / sizeof(memory[0]); i++)
		if (!strcmp(key, memory[i]))
			os_set_num(mi->memory, key, meminfo_value(val));
	for (i = 0; i < sizeof(huge) / sizeof(huge[0]); i++)
		if (!strcmp(key, huge[i]))
			os_set_num(mi->hugepages, key, meminfo_value(val));
}

static int not_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* The entries of root+dir (no dot files) in version order, or -1 with
 * errno; *names to free with free_names(). */
static int list_dir(const struct snap_ctx *c, const char *dir, struct dirent ***names)
{
	struct buf path = BUF_INIT;
	int n;

	snap_path(c, dir, &path);
	n = scandir(buf_str(&path), names, not_dot, versionsort);
	buf_release(&path);
	return n;
}

static void free_names(struct dirent **names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* OS / memory (MemTotal, SwapTotal in bytes) and OS / hugepages
 * (HugePages_Total, Hugepagesize and Hugetlb in
 * bytes from /proc/meminfo; "hugepages-2048kB": nr_hugepages of each size
 * under /sys/kernel/mm/hugepages). What is free or available now is left
 * out: it changes from one read to the next and is no setting, and a drift
 * check (gpusnap diff) must not report it. */
void os_memory(const struct snap_ctx *c, cJSON *m)
{
	struct meminfo mi = { snap_subtype(m, "memory"), snap_subtype(m, "hugepages") };
	struct buf text = BUF_INIT, file = BUF_INIT;
	struct dirent **names = NULL;
	int i, n;

	if (os_read(c, "/proc/meminfo", &text, 0, false) == 0)
		each_colon_line(text.data, meminfo_line, &mi);
	n = list_dir(c, "/sys/kernel/mm/hugepages", &names);
	for (i = 0; i < n; i++) {
		buf_reset(&file);
		buf_printf(&file, "/sys/kernel/mm/hugepages/%s/nr_hugepages", names[i]->d_name);
		if (os_read(c, buf_str(&file), &text, 4096, false) == 0)
			os_set_num(mi.hugepages, names[i]->d_name, strtod(buf_str(&text), NULL));
	}
	if (n > 0)
		free_names(names, n);
	buf_release(&file);
	buf_release(&text);
}

/* OS / numa: nodes (the count of /sys/devices/system/node/node<N>; 0 when
 * the kernel has no NUMA support) and "node<N>.cpulist" for each. */
void os_numa(const struct snap_ctx *c, cJSON *m)
{
	cJSON *data = snap_subtype(m, "numa");
	struct buf text = BUF_INIT, file = BUF_INIT, key = BUF_INIT;
	struct dirent **names = NULL;
	const char *name;
	int i, n, nodes = 0;

	n = list_dir(c, "/sys/devices/system/node", &names);
	for (i = 0; i < n; i++) {
		name = names[i]->d_name;
		if (strncmp(name, "node", 4) || !isdigit((unsigned char)name[4]))
			continue;
		nodes++;
		buf_reset(&file);
		buf_printf(&file, "/sys/devices/system/node/%s/cpulist", name);
		if (os_read(c, buf_str(&file), &text, 0, false) < 0)
			continue;
		buf_reset(&key);
		buf_printf(&key, "%s.cpulist", name);
		buf_grow(&text, 0);
		os_set_str(data, buf_str(&key), os_squeeze(text.data));
	}
	if (n > 0)
		free_names(names, n);
	os_set_num(data, "nodes", nodes);
	buf_release(&key);
	buf_release(&file);
	buf_release(&text);
}

/* -1: the kernel option turns the IOMMU off, 1: on (or pass-through),
 * 0: neither or absent. */
static int iommu_option(const cJSON *grub, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(grub, key);
	const char *s;

	if (!cJSON_IsString(v))
		return 0;
	s = v->valuestring;
	if (!strncmp(s, "off", 3))
		return -1;
	if (!strncmp(s, "on", 2) || !strncmp(s, "force", 5) || !strncmp(s, "pt", 2))
		return 1;
	return 0;
}

/* OS / iommu: units (entries of /sys/class/iommu), groups (entries of
 * /sys/kernel/iommu_groups), the intel_iommu, amd_iommu and iommu kernel
 * options as given, and enabled: from sysfs when the root has
 * /sys/class/iommu (an IOMMU the kernel uses has a unit there), else from
 * the kernel options (on, force or pt, and none off); source says which. */
void os_iommu(const struct snap_ctx *c, cJSON *m, const cJSON *grub)
{
	static const char *const keys[] = { "intel_iommu", "amd_iommu", "iommu" };
	cJSON *data = snap_subtype(m, "iommu");
	struct dirent **names = NULL;
	const cJSON *v;
	int units, groups, on = 0, off = 0, opt;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		v = cJSON_GetObjectItemCaseSensitive(grub, keys[i]);
		if (cJSON_IsString(v))
			os_set_str(data, keys[i], v->valuestring);
		opt = iommu_option(grub, keys[i]);
		on += opt > 0;
		off += opt < 0;
	}
	groups = list_dir(c, "/sys/kernel/iommu_groups", &names);
	if (groups > 0)
		free_names(names, groups);
	units = list_dir(c, "/sys/class/iommu", &names);
	if (units > 0)
		free_names(names, units);
	os_set_num(data, "groups", groups > 0 ? groups : 0);
	if (units >= 0) {
		os_set_num(data, "units", units);
		os_set_bool(data, "enabled", units > 0 || groups > 0);
		os_set_str(data, "source", "sysfs");
	} else {
		os_set_bool(data, "enabled", on > 0 && !off);
		os_set_str(data, "source", "cmdline");
	}
}
