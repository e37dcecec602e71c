/* accelerators.c - the device type table and the TPU naming rule (see
 * reference/workloads.md): chips = product of the topology, chips per VM 1
 * for a single chip else 4, VMs = chips / chips per VM.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accelerators.h"

struct gpu_type {
	const char *type, *label, *machine;
	int gpus;
	bool host_network, arm64;
};

static const struct gpu_type gpu_types[] = {
	{ "l4-1", "nvidia-l4", "g2-standard-12", 1, true, false },
	{ "l4-2", "nvidia-l4", "g2-standard-24", 2, true, false },
	{ "l4-4", "nvidia-l4", "g2-standard-48", 4, true, false },
	{ "l4-8", "nvidia-l4", "g2-standard-96", 8, true, false },
	{ "a100-40gb-1", "nvidia-tesla-a100", "a2-highgpu-1g", 1, true, false },
	{ "a100-40gb-2", "nvidia-tesla-a100", "a2-highgpu-2g", 2, true, false },
	{ "a100-40gb-4", "nvidia-tesla-a100", "a2-highgpu-4g", 4, true, false },
	{ "a100-40gb-8", "nvidia-tesla-a100", "a2-highgpu-8g", 8, true, false },
	{ "h100-80gb-8", "nvidia-h100-80gb", "a3-highgpu-8g", 8, false, false },
	{ "h100-mega-80gb-8", "nvidia-h100-mega-80gb", "a3-megagpu-8g", 8, false, false },
	{ "h200-141gb-8", "nvidia-h200-141gb", "a3-ultragpu-8g", 8, false, false },
	{ "b200-8", "nvidia-b200", "a4-highgpu-8g", 8, false, false },
	{ "gb200-4", "nvidia-gb200", "a4x-highgpu-4g", 4, false, true },
	{ NULL, NULL, NULL, 0, false, false }
};

/* Raw GKE accelerator label values (cloud.google.com/gke-accelerator). */
static const char *const raw_labels[] = {
	"nvidia-tesla-k80", "nvidia-tesla-p4", "nvidia-tesla-p100",
	"nvidia-tesla-v100", "nvidia-tesla-t4", "nvidia-l4",
	"nvidia-tesla-a100", "nvidia-a100-80gb", "nvidia-h100-80gb",
	"nvidia-h100-mega-80gb", "nvidia-h200-141gb", "nvidia-b200",
	"nvidia-gb200", NULL
};

struct tpu_family {
	const char *name, *label;
	int dims;		/* 2 or 3 */
	int cores_per_chip;
	int min_chips;
	int max_chips;		/* for the name list */
};

static const struct tpu_family tpu_families[] = {
	{ "v4", "tpu-v4-podslice", 3, 2, 4, 4096 },
	{ "v5p", "tpu-v5p-slice", 3, 2, 4, 8192 },
	{ "v5litepod", "tpu-v5-lite-podslice", 2, 1, 1, 256 },
	{ "v6e", "tpu-v6e-slice", 2, 1, 1, 256 },
	{ "tpu7x", "tpu7x", 3, 2, 1, 8192 },
	{ NULL, NULL, 0, 0, 0, 0 }
};

/* CPU machine series GKE offers. */
static const char *const cpu_series[] = {
	"e2", "n1", "n2", "n2d", "n4", "c2", "c2d", "c3", "c3d", "c4", "c4a",
	"c4d", "t2a", "t2d", "m1", "m2", "m3", "h3", "z3", NULL
};

static const char *const cpu_examples[] = {
	"n2-standard-32-1", "n2-standard-32-4", "e2-standard-4-1",
	"e2-medium-1", "c3-standard-8-1", NULL
};

/* The topology of a power-of-two chip count: 2D doubles y and x in turn
 * from 2x2 (2x4, 4x4, 4x8), 3D goes 2x2x1, 2x2x2 and then doubles z, y, x in
 * turn (2x2x4, 2x4x4, 4x4x4, 4x4x8). 0, or -1 when there is none. */
static int topology_for(int dims, int chips, struct buf *out)
{
	int d[3] = { 1, 1, 1 }, n = chips, i = dims - 1;

	if (chips < 1 || (chips & (chips - 1)) || chips == 2)
		return -1;
	if (chips >= 4) {
		d[0] = d[1] = 2;
		n = chips / 4;
		i = 1;
		if (dims == 3 && n > 1) {
			d[2] = 2;	/* 2x2x2, then z, y, x in turn */
			n /= 2;
			i = 2;
		}
		while (n > 1) {
			d[i] *= 2;
			n /= 2;
			if (dims == 3)
				i = i == 0 ? 2 : i - 1;
			else
				i = i == 0 ? 1 : 0;
		}
	}
	buf_reset(out);
	if (dims == 2)
		buf_printf(out, "%dx%d", d[0], d[1]);
	else
		buf_printf(out, "%dx%dx%d", d[0], d[1], d[2]);
	return 0;
}

static const char *const *names;

static void build_names(void)
{
	static const char *table[256];
	static char store[8192];
	size_t used = 0;
	int n = 0;

	for (const struct gpu_type *g = gpu_types; g->type; g++)
		table[n++] = g->type;
	for (const struct tpu_family *f = tpu_families; f->name; f++) {
		for (int chips = f->min_chips; chips <= f->max_chips; chips *= 2) {
			if (chips == 2)
				continue;
			int len = snprintf(store + used, sizeof(store) - used, "%s-%d",
					   f->name, chips * f->cores_per_chip);
			if (len < 0 || (size_t)len + 1 > sizeof(store) - used)
				break;
			table[n++] = store + used;
			used += (size_t)len + 1;
		}
	}
	for (const char *const *c = cpu_examples; *c; c++)
		table[n++] = *c;
	for (const char *const *r = raw_labels; *r; r++)
		table[n++] = *r;
	table[n] = NULL;
	names = table;
}

const char *const *accel_names(void)
{
	if (!names)
		build_names();
	return names;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[128], prev, tmp;

	if (lb >= sizeof(row) / sizeof(row[0]))
		lb = sizeof(row) / sizeof(row[0]) - 1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

/* "unknown accelerator type 'X'; did you mean 'a', 'b' or 'c'?" */
static int unknown(const char *type, struct buf *why)
{
	const char *const *all = accel_names();
	const char *best[3] = { NULL, NULL, NULL };
	size_t dist[3] = { (size_t)-1, (size_t)-1, (size_t)-1 };
	int n = 0;

	for (const char *const *p = all; *p; p++) {
		/* a name the input begins ("h100" for "h100-80gb-8") is the
		 * closest there is; otherwise the fewest edits */
		size_t d = strncmp(*p, type, strlen(type)) ? edit_distance(type, *p) : 0;

		for (int i = 0; i < 3; i++) {
			if (d < dist[i]) {
				for (int j = 2; j > i; j--) {
					dist[j] = dist[j - 1];
					best[j] = best[j - 1];
				}
				dist[i] = d;
				best[i] = *p;
				break;
			}
		}
	}
	buf_reset(why);
	buf_printf(why, "unknown accelerator type '%s'; did you mean ", type);
	for (int i = 0; i < 3 && best[i]; i++, n++)
		buf_printf(why, "%s'%s'", i == 0 ? "" : i == 2 || !best[i + 1] ? " or " : ", ",
			   best[i]);
	buf_adds(why, "?");
	return -1;
}

static bool copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

/* Parses a positive decimal integer covering all of s. */
static bool parse_int(const char *s, int *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 1000000)
		return false;
	*out = (int)v;
	return true;
}

static int lookup_tpu(const struct tpu_family *f, const char *rest, struct accel *a,
		      struct buf *why)
{
	struct buf topo = BUF_INIT;
	int chips = 1, dims = 0, cores, rc = -1;

	if (strchr(rest, 'x')) {
		const char *p = rest;
		while (*p) {
			char part[16];
			size_t n = strcspn(p, "x");
			int v;
			if (n == 0 || n >= sizeof(part))
				goto bad;
			memcpy(part, p, n);
			part[n] = '\0';
			if (!parse_int(part, &v))
				goto bad;
			chips *= v;
			dims++;
			p += n;
			if (*p == 'x' && !*++p)
				goto bad;
			if (chips > 100000)
				goto bad;
		}
		if (dims != f->dims) {
			buf_set(why, "TPU family '%s' takes a %dD topology, not '%s'",
				f->name, f->dims, rest);
			goto out;
		}
		if (chips > 1 && chips % 4) {
			buf_set(why, "topology '%s' of '%s' is not a whole number of 4-chip VMs",
				rest, a->type);
			goto out;
		}
		buf_adds(&topo, rest);
	} else {
		if (!parse_int(rest, &cores) || cores % f->cores_per_chip)
			goto bad;
		chips = cores / f->cores_per_chip;
		if (chips < f->min_chips || topology_for(f->dims, chips, &topo) < 0)
			goto bad;
	}
	if (chips < f->min_chips)
		goto bad;
	a->family = ACCEL_TPU;
	copy(a->label, sizeof(a->label), f->label);
	if (!copy(a->topology, sizeof(a->topology), buf_str(&topo)))
		goto bad;
	a->per_vm = chips == 1 ? 1 : 4;
	a->vms_per_slice = chips / a->per_vm;
	a->cores = chips * f->cores_per_chip;
	a->host_network = true;
	rc = 0;
	goto out;
bad:
	rc = unknown(a->type, why);
out:
	buf_release(&topo);
	return rc;
}

/* "<series>-<class>-<vCPUs>-<VMs>" (n2-standard-32-4), or for the shared-core
 * classes "<series>-<micro|small|medium>-<VMs>" (e2-medium-1); series from
 * cpu_series. */
static int lookup_cpu(const char *type, struct accel *a)
{
	const char *dash = strrchr(type, '-'), *cls, *num;
	size_t n, cls_len;
	int vms, vcpus;
	bool shared;

	if (!dash || !parse_int(dash + 1, &vms))
		return -1;
	n = strcspn(type, "-");
	for (const char *const *s = cpu_series; *s; s++) {
		if (strlen(*s) == n && !strncmp(type, *s, n))
			goto series;
	}
	return -1;
series:
	cls = type + n + 1;
	if (cls > dash)
		return -1;
	cls_len = strcspn(cls, "-");
	for (size_t i = 0; i < cls_len; i++) {
		if (!islower((unsigned char)cls[i]))
			return -1;
	}
	shared = (cls_len == 5 && !strncmp(cls, "micro", 5)) ||
		 (cls_len == 5 && !strncmp(cls, "small", 5)) ||
		 (cls_len == 6 && !strncmp(cls, "medium", 6));
	num = cls + cls_len;
	if (shared) {
		if (num != dash)
			return -1;
	} else {
		char part[16];
		size_t l = (size_t)(dash - num - 1);
		if (cls_len == 0 || num >= dash || l == 0 || l >= sizeof(part))
			return -1;
		memcpy(part, num + 1, l);
		part[l] = '\0';
		if (!parse_int(part, &vcpus))
			return -1;
	}
	if ((size_t)(dash - type) >= sizeof(a->machine_type))
		return -1;
	a->family = ACCEL_CPU;
	memcpy(a->machine_type, type, (size_t)(dash - type));
	a->machine_type[dash - type] = '\0';
	a->vms_per_slice = vms;
	return 0;
}

int accel_lookup(const char *type, long gpus_per_node, struct accel *out,
		 struct buf *why)
{
	struct accel a;

	memset(&a, 0, sizeof(a));
	if (!copy(a.type, sizeof(a.type), type))
		return unknown(type, why);
	for (const char *const *r = raw_labels; *r; r++) {
		if (strcmp(type, *r))
			continue;
		a.family = ACCEL_GPU;
		copy(a.label, sizeof(a.label), *r);
		a.per_vm = gpus_per_node > 0 ? (int)gpus_per_node : 1;
		a.host_network = !strcmp(*r, "nvidia-l4") || !strcmp(*r, "nvidia-tesla-a100");
		a.arm64 = !strcmp(*r, "nvidia-gb200");
		goto found;
	}
	if (gpus_per_node) {
		buf_set(why, "--gpus-per-node goes with a raw GKE accelerator label such as "
			"'nvidia-tesla-a100', not with '%s'", type);
		return -1;
	}
	for (const struct gpu_type *g = gpu_types; g->type; g++) {
		if (strcmp(type, g->type))
			continue;
		a.family = ACCEL_GPU;
		copy(a.label, sizeof(a.label), g->label);
		copy(a.machine_type, sizeof(a.machine_type), g->machine);
		a.per_vm = g->gpus;
		a.host_network = g->host_network;
		a.arm64 = g->arm64;
		goto found;
	}
	for (const struct tpu_family *f = tpu_families; f->name; f++) {
		size_t n = strlen(f->name);
		if (!strncmp(type, f->name, n) && type[n] == '-') {
			if (lookup_tpu(f, type + n + 1, &a, why) < 0)
				return -1;
			goto found;
		}
	}
	if (lookup_cpu(type, &a) == 0)
		goto found;
	return unknown(type, why);
found:
	*out = a;
	return 0;
}
