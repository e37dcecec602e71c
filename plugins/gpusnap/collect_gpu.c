/* collect_gpu.c - the GPU measurement (see gpusnap.h):
 *
 *   smi      `nvidia-smi -q -x`, read by smi.c (keys in smi.h) after
 *            available: true; or available: false, reason (nvidia-smi not
 *            found, could not run, failed with its first line of output,
 *            timed out, printed what smi.c cannot read) and gpu-count = the
 *            NVIDIA GPUs on the PCI bus (0 on a node without GPUs)
 *   pci      pci.count, pci.I.address, .class, .device, .subsystem-device,
 *            .driver (the bound driver or "none"), .numa-node for each
 *            /sys/bus/pci/devices entry of vendor 0x10de and class 0x0300xx
 *            (VGA) or 0x0302xx (3D): GPUs are seen without a driver
 *   driver   loaded, nvrm, version, open-kernel-module, gcc from
 *            /proc/driver/nvidia/version; module.NAME: true/false for the
 *            nvidia modules in /proc/modules; module.nvidia.version
 *   toolkit  runtime-config (/etc/nvidia-container-runtime/config.toml
 *            present) and its SECTION.KEY for mode, runtimes, root, ...;
 *            containerd-config, containerd.default-runtime,
 *            containerd.nvidia-runtimes, containerd.runtime.NAME.binary
 *            from /etc/containerd/config.toml (line scans, no TOML parser)
 *
 * nvidia-smi is ctx->nvidia_smi when given, else the first in PATH, else
 * the first under ctx->root in usr/bin, usr/local/nvidia/bin,
 * home/kubernetes/bin/nvidia/bin (GKE) and run/nvidia/driver/usr/bin (the
 * GPU Operator's driver root); found under a root, it runs with the lib
 * directories beside it in LD_LIBRARY_PATH. It runs without a shell, in
 * its own process group, stdin /dev/null, for at most 10 s
 * (WLKIT_NVIDIA_SMI_TIMEOUT_MS overrides), then the group is killed.
 */
#include "gpusnap.h"
#include "log.h"
#include "smi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SMI_TIMEOUT_MS 10000
#define SMI_MAX_OUT (16u << 20)		/* nvidia-smi's stdout */
#define SMI_MAX_ERR (64u << 10)		/* and stderr */
#define SMALL_FILE (1u << 20)

/* Where nvidia-smi is looked for under the root, after PATH. */
static const char *const smi_dirs[] = {
	"/usr/bin",
	"/usr/local/nvidia/bin",
	"/home/kubernetes/bin/nvidia/bin",
	"/run/nvidia/driver/usr/bin",
	NULL
};

/* Beside DIR/bin: the library directories that may hold libnvidia-ml. */
static const char *const lib_dirs[] = {
	"lib64",
#if defined(__x86_64__)
	"lib/x86_64-linux-gnu",
#elif defined(__aarch64__)
	"lib/aarch64-linux-gnu",
#endif
	"lib",
	NULL
};

static const char *const nvidia_modules[] = {
	"nvidia", "nvidia_uvm", "nvidia_drm", "nvidia_modeset", "nvidia_peermem", NULL
};

/* Keys of /etc/nvidia-container-runtime/config.toml worth a reading. */
static const char *const toolkit_keys[] = {
	"mode", "runtimes", "default-runtime", "default-kind", "root", "ldconfig", NULL
};

/* snap_read() that warns when the file exists but cannot be read. */
static int read_opt(const struct snap_ctx *c, const char *path, struct buf *out)
{
	struct buf shown = BUF_INIT;
	int e;

	if (snap_read(c, path, out, SMALL_FILE) == 0)
		return 0;
	e = errno;
	if (e != ENOENT && e != ENOTDIR) {
		snap_path(c, path, &shown);
		warn("cannot read '%s': %s", buf_str(&shown), strerror(e));
		buf_release(&shown);
	}
	errno = e;
	return -1;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Next line of *s (NUL-terminated in place), NULL at the end. */
static char *next_line(char **s)
{
	char *line = *s, *nl;

	if (!line || !*line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*s = nl + 1;
	} else {
		*s = line + strlen(line);
	}
	return line;
}

/* ---- finding and running nvidia-smi ------------------------------- */

static bool is_exec(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* The first executable `name` in a non-empty PATH entry, into out. */
static bool find_in_path(const char *name, struct buf *out)
{
	const char *s = getenv("PATH"), *colon;
	size_t n;

	for (; s && *s; s = colon + 1) {
		colon = strchr(s, ':');
		n = colon ? (size_t)(colon - s) : strlen(s);
		if (n) {
			buf_reset(out);
			buf_add(out, s, n);
			buf_addch(out, '/');
			buf_adds(out, name);
			if (is_exec(buf_str(out)))
				return true;
		}
		if (!colon)
			break;
	}
	return false;
}

/* nvidia-smi's path into prog and, when it lives under a root, the lib
 * directories beside it into libs (':'-joined). False when none. */
static bool find_smi(const struct snap_ctx *c, struct buf *prog, struct buf *libs)
{
	struct buf dir = BUF_INIT, lib = BUF_INIT;
	bool found = false;
	size_t cut;
	int i, j;

	buf_reset(prog);
	buf_reset(libs);
	if (c->nvidia_smi) {
		if (strchr(c->nvidia_smi, '/') || !find_in_path(c->nvidia_smi, prog)) {
			buf_reset(prog);
			buf_adds(prog, c->nvidia_smi);
		}
		return true;
	}
	if (find_in_path("nvidia-smi", prog))
		return true;
	for (i = 0; smi_dirs[i] && !found; i++) {
		snap_path(c, smi_dirs[i], &dir);
		buf_reset(prog);
		buf_printf(prog, "%s/nvidia-smi", buf_str(&dir));
		if (!is_exec(buf_str(prog)))
			continue;
		found = true;
		if ((!c->root || !*c->root) && !strcmp(smi_dirs[i], "/usr/bin"))
			break;		/* the host's own: its libraries are found */
		cut = (size_t)(strrchr(dir.data, '/') - dir.data);
		for (j = 0; lib_dirs[j]; j++) {
			buf_reset(&lib);
			buf_add(&lib, dir.data, cut + 1);
			buf_adds(&lib, lib_dirs[j]);
			if (!is_dir(buf_str(&lib)))
				continue;
			if (libs->len)
				buf_addch(libs, ':');
			buf_adds(libs, buf_str(&lib));
		}
	}
	buf_release(&dir);
	buf_release(&lib);
	return found;
}

/* The environment with LD_LIBRARY_PATH=libs in front of the one there;
 * environ itself when libs is empty. *owned gets what to free. */
static char **smi_env(const char *libs, char ***owned, char **owned_var)
{
	struct buf var = BUF_INIT;
	const char *old = getenv("LD_LIBRARY_PATH");
	char **env;
	size_t n = 0, k = 0;

	*owned = NULL;
	*owned_var = NULL;
	if (!*libs)
		return environ;
	while (environ[n])
		n++;
	if (!(env = calloc(n + 2, sizeof(*env))))
		die("out of memory");
	buf_printf(&var, "LD_LIBRARY_PATH=%s%s%s", libs, old && *old ? ":" : "",
		   old ? old : "");
	*owned_var = buf_detach(&var, NULL);
	env[k++] = *owned_var;
	for (n = 0; environ[n]; n++)
		if (strncmp(environ[n], "LD_LIBRARY_PATH=", 16))
			env[k++] = environ[n];
	*owned = env;
	return env;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct run {
	struct buf out, err;	/* what it printed (up to the caps) */
	int status;		/* waitpid() status */
	bool timed_out;
};

/* Reads what fd has into b (keeping at most cap bytes); closes it and
 * sets it to -1 at the end of the stream. */
static void drain(int *fd, struct buf *b, size_t cap)
{
	char tmp[65536];
	ssize_t n = read(*fd, tmp, sizeof(tmp));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	if (b->len < cap)
		buf_add(b, tmp, (size_t)n < cap - b->len ? (size_t)n : cap - b->len);
}

/* Runs prog -q -x with env; collects its output until it ends or
 * timeout_ms pass (then its process group is killed). Returns 0 when it
 * ran, or the posix_spawn() error number. */
static int run_smi(const char *prog, char **env, int64_t timeout_ms, struct run *r)
{
	char *argv[] = { (char *)"nvidia-smi", (char *)"-q", (char *)"-x", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, e, n, w;
	struct pollfd fds[2];
	int64_t deadline, left;
	pid_t pid;

	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) {
		e = errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	e = posix_spawn(&pid, prog, &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	if (e)
		goto out;

	deadline = now_ms() + timeout_ms;
	while (po[0] >= 0 || pe[0] >= 0) {
		if ((left = deadline - now_ms()) <= 0) {
			r->timed_out = true;
			break;
		}
		n = 0;
		if (po[0] >= 0)
			fds[n++] = (struct pollfd){ .fd = po[0], .events = POLLIN };
		if (pe[0] >= 0)
			fds[n++] = (struct pollfd){ .fd = pe[0], .events = POLLIN };
		if (poll(fds, (nfds_t)n, (int)(left > INT_MAX ? INT_MAX : left)) < 0) {
			if (errno == EINTR)
				continue;
			r->timed_out = true;	/* cannot wait: stop it */
			break;
		}
		for (w = 0; w < n; w++) {
			if (!fds[w].revents)
				continue;
			if (fds[w].fd == po[0])
				drain(&po[0], &r->out, SMI_MAX_OUT);
			else
				drain(&pe[0], &r->err, SMI_MAX_ERR);
		}
	}
	/* Both streams closed: give it until the deadline to exit. */
	while (!r->timed_out && waitpid(pid, &r->status, WNOHANG) == 0) {
		if (now_ms() >= deadline) {
			r->timed_out = true;
			break;
		}
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
	}
	if (r->timed_out) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
			;
	}
out:
	for (n = 0; n < 2; n++) {
		if (po[n] >= 0)
			close(po[n]);
		if (pe[n] >= 0)
			close(pe[n]);
	}
	return e;
}

/* The first non-empty line of s into out. */
static void first_line(const char *s, struct buf *out)
{
	const char *e;

	buf_reset(out);
	for (; *s; s = e + 1) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		e = strchr(s, '\n');
		if (!e)
			e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (e > s) {
			buf_add(out, s, (size_t)(e - s));
			return;
		}
		e = strchr(s, '\n');
		if (!e)
			return;
	}
}

static int64_t smi_timeout(void)
{
	const char *s = getenv("WLKIT_NVIDIA_SMI_TIMEOUT_MS");
	char *end;
	long long v;

	if (!s || !*s)
		return SMI_TIMEOUT_MS;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v <= 0) {
		warn("ignoring WLKIT_NVIDIA_SMI_TIMEOUT_MS '%s': not a positive number", s);
		return SMI_TIMEOUT_MS;
	}
	return v;
}

/* Reads nvidia-smi's output into smi. A line printed before the XML
 * (a driver warning such as a corrupted infoROM) is passed on as a
 * warning. Returns smi_parse()'s result. */
static int parse_output(const char *prog, const struct buf *out, cJSON *smi,
			struct buf *err)
{
	struct buf pre = BUF_INIT, line = BUF_INIT;
	const char *s = buf_str(out), *x;
	size_t skip = 0;

	if (out->len && *s != '<' && ((x = strstr(s, "<?xml")) ||
				      (x = strstr(s, "<nvidia_smi_log")))) {
		skip = (size_t)(x - s);
		buf_add(&pre, s, skip);
		first_line(buf_str(&pre), &line);
		if (line.len)
			warn("'%s' printed before its XML: %s", prog, buf_str(&line));
		buf_release(&pre);
		buf_release(&line);
	}
	return smi_parse(s + skip, out->len - skip, smi, err);
}

/* Runs nvidia-smi and reads it into smi. Returns 0, or -1 with the
 * reason in *why (after a warning where one is due). */
static int smi_read(const struct snap_ctx *c, cJSON *smi, int pci_count, struct buf *why)
{
	struct buf prog = BUF_INIT, libs = BUF_INIT, line = BUF_INIT, perr = BUF_INIT;
	struct run r = { BUF_INIT, BUF_INIT, 0, false };
	char **env, **owned_env, *owned_var;
	int64_t timeout = smi_timeout();
	int rc = -1, e;

	if (!find_smi(c, &prog, &libs)) {
		buf_set(why, "nvidia-smi not found");
		if (pci_count)
			warn("%d NVIDIA GPU%s on the PCI bus but no nvidia-smi", pci_count,
			     pci_count == 1 ? "" : "s");
		goto out;
	}
	logv(1, "running '%s -q -x'%s%s", buf_str(&prog), libs.len ? " with LD_LIBRARY_PATH=" : "",
	     buf_str(&libs));
	env = smi_env(buf_str(&libs), &owned_env, &owned_var);
	e = run_smi(buf_str(&prog), env, timeout, &r);
	free(owned_env);
	free(owned_var);
	if (e)
		buf_set(why, "cannot run '%s': %s", buf_str(&prog), strerror(e));
	else if (r.timed_out)
		buf_set(why, "'%s' did not finish within %lld ms", buf_str(&prog),
			(long long)timeout);
	else if (WIFSIGNALED(r.status))
		buf_set(why, "'%s' was killed by signal %d", buf_str(&prog), WTERMSIG(r.status));
	else if (WEXITSTATUS(r.status)) {
		first_line(buf_str(&r.err), &line);
		if (!line.len)
			first_line(buf_str(&r.out), &line);
		buf_set(why, "'%s' failed (exit status %d)%s%s", buf_str(&prog),
			WEXITSTATUS(r.status), line.len ? ": " : "", buf_str(&line));
	} else if (parse_output(buf_str(&prog), &r.out, smi, &perr) < 0) {
		buf_set(why, "cannot read the output of '%s': %s", buf_str(&prog),
			buf_str(&perr));
	} else {
		rc = 0;
	}
	if (rc < 0)
		warn("%s", buf_str(why));
out:
	buf_release(&prog);
	buf_release(&libs);
	buf_release(&line);
	buf_release(&perr);
	buf_release(&r.out);
	buf_release(&r.err);
	return rc;
}

static void collect_smi(const struct snap_ctx *c, cJSON *smi, int pci_count)
{
	struct buf why = BUF_INIT;

	smi_put_bool(smi, "available", true);
	if (smi_read(c, smi, pci_count, &why) < 0) {
		smi_put_bool(smi, "available", false);
		smi_put_str(smi, "reason", buf_str(&why));
		smi_put_num(smi, "gpu-count", pci_count);
	}
	buf_release(&why);
}

/* ---- sysfs PCI devices ------------------------------------------- */

/* /sys/bus/pci/devices/NAME/FILE, trimmed, into out. */
static int pci_attr(const struct snap_ctx *c, const char *name, const char *file,
		    struct buf *out)
{
	struct buf path = BUF_INIT;
	char *s;
	int rc;

	buf_printf(&path, "/sys/bus/pci/devices/%s/%s", name, file);
	rc = read_opt(c, buf_str(&path), out);
	buf_release(&path);
	if (rc < 0)
		return -1;
	s = trim((char *)buf_str(out));
	buf_consume(out, (size_t)(s - buf_str(out)));
	buf_setlen(out, strlen(buf_str(out)));
	return 0;
}

static bool is_gpu_class(const char *class)
{
	return !strncmp(class, "0x0300", 6) || !strncmp(class, "0x0302", 6);
}

/* Adds pci.I.* for each NVIDIA display or 3D controller; returns the
 * number found. */
static int collect_pci(const struct snap_ctx *c, cJSON *pci)
{
	struct buf dir = BUF_INIT, v = BUF_INIT, key = BUF_INIT, link = BUF_INIT;
	struct dirent **ents = NULL;
	const char *base;
	char target[PATH_MAX], *end;
	ssize_t tn;
	long node;
	int n, i, f, count = 0;

	smi_put_num(pci, "pci.count", 0);
	snap_path(c, "/sys/bus/pci/devices", &dir);
	n = scandir(buf_str(&dir), &ents, NULL, alphasort);
	if (n < 0) {
		if (errno != ENOENT)
			warn("cannot read '%s': %s", buf_str(&dir), strerror(errno));
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;

		if (name[0] == '.' || pci_attr(c, name, "vendor", &v) < 0 ||
		    strcmp(buf_str(&v), "0x10de"))
			continue;
		if (pci_attr(c, name, "class", &v) < 0 || !is_gpu_class(buf_str(&v)))
			continue;
		buf_reset(&key);
		buf_printf(&key, "pci.%d.address", count);
		smi_put_str(pci, buf_str(&key), name);
		buf_reset(&key);
		buf_printf(&key, "pci.%d.class", count);
		smi_put_str(pci, buf_str(&key), buf_str(&v));
		for (f = 0; f < 2; f++) {
			if (pci_attr(c, name, f ? "subsystem_device" : "device", &v) < 0)
				continue;
			buf_reset(&key);
			buf_printf(&key, "pci.%d.%s", count, f ? "subsystem-device" : "device");
			smi_put_str(pci, buf_str(&key), buf_str(&v));
		}
		buf_reset(&link);
		buf_printf(&link, "%s/%s/driver", buf_str(&dir), name);
		tn = readlink(buf_str(&link), target, sizeof(target) - 1);
		base = "none";
		if (tn > 0) {
			target[tn] = '\0';
			base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
		}
		buf_reset(&key);
		buf_printf(&key, "pci.%d.driver", count);
		smi_put_str(pci, buf_str(&key), base);
		if (pci_attr(c, name, "numa_node", &v) == 0 && v.len) {
			buf_reset(&key);
			buf_printf(&key, "pci.%d.numa-node", count);
			errno = 0;
			node = strtol(buf_str(&v), &end, 10);
			if (!errno && !*end)
				smi_put_num(pci, buf_str(&key), (double)node);
			else
				smi_put_str(pci, buf_str(&key), buf_str(&v));
		}
		count++;
	}
	smi_put_num(pci, "pci.count", count);
out:
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	buf_release(&dir);
	buf_release(&v);
	buf_release(&key);
	buf_release(&link);
	return count;
}

/* ---- the kernel driver ------------------------------------------- */

/* The first space-separated word of s that is a dotted version. */
static bool find_version(const char *s, struct buf *out)
{
	const char *w, *e;
	bool digits, dot;

	for (w = s; *w; w = e) {
		while (*w == ' ' || *w == '\t')
			w++;
		digits = dot = false;
		for (e = w; *e && *e != ' ' && *e != '\t'; e++) {
			if (*e >= '0' && *e <= '9')
				digits = true;
			else if (*e == '.' && digits && e[1] >= '0' && e[1] <= '9')
				dot = true;
			else
				break;
		}
		if (e > w && dot && (!*e || *e == ' ' || *e == '\t')) {
			buf_reset(out);
			buf_add(out, w, (size_t)(e - w));
			return true;
		}
		while (*e && *e != ' ' && *e != '\t')
			e++;
	}
	return false;
}

static void collect_driver(const struct snap_ctx *c, cJSON *drv)
{
	struct buf f = BUF_INIT, v = BUF_INIT, key = BUF_INIT;
	char *s, *line, *name;
	bool present;
	int i;

	if (read_opt(c, "/proc/driver/nvidia/version", &f) == 0) {
		smi_put_bool(drv, "loaded", true);
		for (s = f.data; (line = next_line(&s));) {
			if (!strncmp(line, "NVRM version:", 13)) {
				line = trim(line + 13);
				smi_put_str(drv, "nvrm", line);
				if (find_version(line, &v))
					smi_put_str(drv, "version", buf_str(&v));
				smi_put_bool(drv, "open-kernel-module",
					     strstr(line, "Open Kernel Module") != NULL);
			} else if (!strncmp(line, "GCC version:", 12)) {
				smi_put_str(drv, "gcc", trim(line + 12));
			}
		}
	} else {
		smi_put_bool(drv, "loaded", false);
	}
	if (read_opt(c, "/proc/modules", &f) == 0) {
		for (i = 0; nvidia_modules[i]; i++) {
			present = false;
			for (s = f.data; !present && s && *s;) {
				line = s;
				s = strchr(s, '\n');
				s = s ? s + 1 : NULL;
				name = line;
				present = !strncmp(name, nvidia_modules[i], strlen(nvidia_modules[i])) &&
					  name[strlen(nvidia_modules[i])] == ' ';
			}
			buf_reset(&key);
			buf_printf(&key, "module.%s", nvidia_modules[i]);
			smi_put_bool(drv, buf_str(&key), present);
		}
	}
	if (read_opt(c, "/sys/module/nvidia/version", &f) == 0)
		smi_put_str(drv, "module.nvidia.version", trim(f.data ? f.data : (char *)""));
	buf_release(&f);
	buf_release(&v);
	buf_release(&key);
}

/* ---- the container toolkit --------------------------------------- */

/* A TOML line: a [section] into section (returns 1), or key = value
 * (returns 2, quotes of a string value removed), else 0. */
static int toml_line(char *line, struct buf *section, char **key, char **val)
{
	char *eq, *v, *q;

	line = trim(line);
	if (!*line || *line == '#')
		return 0;
	if (*line == '[') {
		buf_reset(section);
		while (*line == '[')
			line++;
		if ((q = strchr(line, ']')))
			*q = '\0';
		buf_adds(section, trim(line));
		return 1;
	}
	if (!(eq = strchr(line, '=')))
		return 0;
	*eq = '\0';
	*key = trim(line);
	if ((**key == '"' || **key == '\'') && strlen(*key) >= 2) {
		(*key)[strlen(*key) - 1] = '\0';
		(*key)++;
	}
	v = trim(eq + 1);
	if ((*v == '"' || *v == '\'') && (q = strchr(v + 1, *v))) {
		*q = '\0';
		v++;
	} else if (*v != '[' && (q = strchr(v, '#'))) {
		*q = '\0';
		v = trim(v);
	}
	*val = v;
	return 2;
}

/* The runtime name in a containerd section "...runtimes.NAME[.options]",
 * into out; false when the section is not a runtime's. */
static bool runtime_name(const char *section, struct buf *out)
{
	const char *s = strstr(section, ".runtimes."), *e;

	if (!s)
		return false;
	s += 10;
	if (*s == '"' || *s == '\'') {
		if (!(e = strchr(s + 1, *s)))
			return false;
		s++;
	} else {
		e = s + strcspn(s, ".");
	}
	buf_reset(out);
	buf_add(out, s, (size_t)(e - s));
	return out->len > 0;
}

/* Appends name to the ", "-joined list unless it is there. */
static void add_name(struct buf *names, const char *name)
{
	const char *s = buf_str(names), *e;
	size_t n = strlen(name);

	for (; *s; s = *e ? e + 2 : e) {
		e = strstr(s, ", ");
		if (!e)
			e = s + strlen(s);
		if ((size_t)(e - s) == n && !memcmp(s, name, n))
			return;
	}
	if (names->len)
		buf_adds(names, ", ");
	buf_adds(names, name);
}

static void collect_containerd(const struct snap_ctx *c, cJSON *tk)
{
	struct buf f = BUF_INIT, section = BUF_INIT, rt = BUF_INIT, key = BUF_INIT,
		   names = BUF_INIT;
	char *s, *line, *k, *v;
	int kind;

	if (read_opt(c, "/etc/containerd/config.toml", &f) < 0) {
		smi_put_bool(tk, "containerd-config", false);
		goto out;
	}
	smi_put_bool(tk, "containerd-config", true);
	for (s = f.data; (line = next_line(&s));) {
		kind = toml_line(line, &section, &k, &v);
		if (kind == 1 && runtime_name(buf_str(&section), &rt) &&
		    strstr(buf_str(&rt), "nvidia"))
			add_name(&names, buf_str(&rt));
		if (kind != 2)
			continue;
		if (!strcmp(k, "default_runtime_name")) {
			smi_put_str(tk, "containerd.default-runtime", v);
		} else if (!strcmp(k, "BinaryName") && runtime_name(buf_str(&section), &rt) &&
			   (strstr(buf_str(&rt), "nvidia") || strstr(v, "nvidia"))) {
			buf_reset(&key);
			buf_printf(&key, "containerd.runtime.%s.binary", buf_str(&rt));
			smi_put_str(tk, buf_str(&key), v);
			add_name(&names, buf_str(&rt));
		}
	}
	if (names.len)
		smi_put_str(tk, "containerd.nvidia-runtimes", buf_str(&names));
out:
	buf_release(&f);
	buf_release(&section);
	buf_release(&rt);
	buf_release(&key);
	buf_release(&names);
}

static void collect_toolkit(const struct snap_ctx *c, cJSON *tk)
{
	struct buf f = BUF_INIT, section = BUF_INIT, key = BUF_INIT;
	char *s, *line, *k, *v;
	int i;

	if (read_opt(c, "/etc/nvidia-container-runtime/config.toml", &f) == 0) {
		smi_put_bool(tk, "runtime-config", true);
		for (s = f.data; (line = next_line(&s));) {
			if (toml_line(line, &section, &k, &v) != 2)
				continue;
			for (i = 0; toolkit_keys[i] && strcmp(toolkit_keys[i], k); i++)
				;
			if (!toolkit_keys[i])
				continue;
			buf_reset(&key);
			buf_printf(&key, "%s%s%s", buf_str(&section), section.len ? "." : "", k);
			smi_put_str(tk, buf_str(&key), v);
		}
	} else {
		smi_put_bool(tk, "runtime-config", false);
	}
	collect_containerd(c, tk);
	buf_release(&f);
	buf_release(&section);
	buf_release(&key);
}

int collect_gpu(const struct snap_ctx *c, cJSON *doc)
{
	cJSON *m = snap_measurement(doc, "GPU");
	cJSON *smi = snap_subtype(m, "smi");
	int pci_count = collect_pci(c, snap_subtype(m, "pci"));

	collect_smi(c, smi, pci_count);
	collect_driver(c, snap_subtype(m, "driver"));
	collect_toolkit(c, snap_subtype(m, "toolkit"));
	return 0;
}
