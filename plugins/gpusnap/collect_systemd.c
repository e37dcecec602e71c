/* collect_systemd.c - the SystemD measurement: one subtype per unit of
 * containerd.service, docker.service and kubelet.service, and "systemd"
 * (the manager's version and state).
 *
 * On the host (ctx->root ""), one `systemctl show --no-pager -p ... UNITS`
 * (posix_spawnp, no shell, no D-Bus library) prints a block of Key=Value
 * lines per unit; a second `systemctl show -p Version,...` the manager's.
 * A unit that systemd does not know (LoadState=not-found) is recorded as
 * present: false. Under a root, systemctl cannot see the host's manager:
 * the unit files are read instead (os_units.c).
 *
 * Secrets never reach the snapshot: in Environment and ExecStart, the
 * value of every setting whose name holds TOKEN, SECRET, PASSWORD or KEY
 * becomes "<redacted>".
 */
#include "gpusnap.h"
#include "log.h"
#include "os_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SYSTEMCTL_TIMEOUT_MS 10000
#define OUTPUT_MAX (4u << 20)

extern char **environ;

static const char *const units[] = {
	"containerd.service", "docker.service", "kubelet.service"
};
#define N_UNITS (sizeof(units) / sizeof(units[0]))

/* What is asked of each unit; the numbers are recorded as numbers. */
static const char unit_props[] =
	"Id,Description,LoadState,ActiveState,SubState,UnitFileState,"
	"FragmentPath,DropInPaths,ExecMainStartTimestamp,MainPID,NRestarts,"
	"Restart,ExecStart,Environment,EnvironmentFiles,LimitNOFILE,"
	"LimitMEMLOCK,Delegate,KillMode";
static const char *const numeric_props[] = { "MainPID", "NRestarts" };
static const char manager_props[] = "Version,Architecture,Virtualization,SystemState";

/* Appends word to out, quoted as systemctl quotes an Environment entry
 * when it holds white space or quoting characters. */
static void add_quoted(struct buf *out, const char *word)
{
	const char *s;

	if (!word[strcspn(word, " \t\n\"'\\$`")]) {
		buf_adds(out, word);
		return;
	}
	buf_addch(out, '"');
	for (s = word; *s; s++) {
		if (strchr("\\\"$`", *s))
			buf_addch(out, '\\');
		buf_addch(out, *s);
	}
	buf_addch(out, '"');
}

void os_env_redact(const char *env, struct buf *out)
{
	struct buf word = BUF_INIT, red = BUF_INIT;
	const char *p = env, *eq;

	buf_reset(out);
	while (os_next_word(&p, &word)) {
		eq = strchr(buf_str(&word), '=');
		if (out->len)
			buf_addch(out, ' ');
		if (eq && os_secret_name(word.data, (size_t)(eq - word.data))) {
			buf_reset(&red);
			buf_add(&red, word.data, (size_t)(eq - word.data));
			buf_adds(&red, "=<redacted>");
			add_quoted(out, buf_str(&red));
		} else {
			add_quoted(out, buf_str(&word));
		}
	}
	buf_release(&red);
	buf_release(&word);
}

void os_argv_redact(const char *cmd, struct buf *out)
{
	const char *s = cmd, *w, *name, *eq;
	size_t len;
	bool redact_next = false;

	buf_reset(out);
	buf_grow(out, strlen(cmd));
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		w = s;
		len = strcspn(w, " \t\n");
		s = w + len;
		if (out->len)
			buf_addch(out, ' ');
		if (redact_next && *w != '-') {
			buf_adds(out, "<redacted>");
			redact_next = false;
			continue;
		}
		redact_next = false;
		for (name = w; name < w + len && *name == '-'; name++)
			;
		eq = memchr(name, '=', (size_t)(w + len - name));
		if (eq && eq > name && os_secret_name(name, (size_t)(eq - name))) {
			buf_add(out, w, (size_t)(eq + 1 - w));
			buf_adds(out, "<redacted>");
			continue;
		}
		if (!eq && name > w && os_secret_name(name, (size_t)(w + len - name)))
			redact_next = true;
		buf_add(out, w, len);
	}
}

/* The environment of systemctl: ours with LC_ALL=C, so that timestamps
 * read the same on every host. Free the array only. */
static char **c_locale_env(void)
{
	size_t n = 0, i, j = 0;
	char **env;

	while (environ[n])
		n++;
	if (!(env = calloc(n + 2, sizeof(*env))))
		die("out of memory");
	env[j++] = (char *)"LC_ALL=C";
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "LC_ALL=", 7))
			env[j++] = environ[i];
	env[j] = NULL;
	return env;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs argv (found on PATH), stdin /dev/null, its stdout into out and its
 * stderr into err. Returns its exit status (128+N for signal N), or -1
 * with errno (ENOENT: not found; ETIMEDOUT: killed after the timeout). */
static int run_capture(char *const argv[], struct buf *out, struct buf *err)
{
	posix_spawn_file_actions_t fa;
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	struct pollfd pfd[2];
	struct buf *dest[2] = { out, err };
	long long deadline = now_ms() + SYSTEMCTL_TIMEOUT_MS;
	char **env = NULL;
	pid_t pid = -1;
	int rc = -1, saved = 0, status, i, open_fds, left;
	ssize_t n;

	buf_reset(out);
	buf_reset(err);
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		saved = errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	env = c_locale_env();
	saved = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	if (saved) {
		pid = -1;
		goto out;
	}
	pfd[0].fd = po[0];
	pfd[1].fd = pe[0];
	for (open_fds = 2; open_fds > 0; ) {
		pfd[0].events = pfd[1].events = POLLIN;
		left = (int)(deadline - now_ms());
		if (left <= 0) {
			saved = ETIMEDOUT;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(pfd, 2, left) < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			kill(pid, SIGKILL);
			break;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			buf_grow(dest[i], 4096);
			n = read(pfd[i].fd, dest[i]->data + dest[i]->len,
				 dest[i]->cap - dest[i]->len - 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || dest[i]->len + (size_t)n > OUTPUT_MAX) {
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			dest[i]->len += (size_t)n;
			dest[i]->data[dest[i]->len] = '\0';
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!saved)
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
	for (i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	free(env);
	errno = saved;
	return rc;
}

/* The commands of an ExecStart value as systemctl prints it, one
 * "{ path=P ; argv[]=A B ; ignore_errors=no ; ... }" per line, as the
 * argv[] parts (redacted) joined with " ; ". */
static void exec_argv(const char *val, struct buf *acc)
{
	static const char *const ends[] = { " ; ignore_errors=", " ; flags=", " }" };
	struct buf cmd = BUF_INIT, red = BUF_INIT;
	const char *a = strstr(val, "argv[]="), *e = NULL;
	size_t i;

	if (!a) {
		buf_adds(&cmd, val);
	} else {
		a += strlen("argv[]=");
		for (i = 0; i < sizeof(ends) / sizeof(ends[0]) && !e; i++)
			e = strstr(a, ends[i]);
		buf_add(&cmd, a, e ? (size_t)(e - a) : strlen(a));
	}
	os_argv_redact(buf_str(&cmd), &red);
	if (red.len) {
		if (acc->len)
			buf_adds(acc, " ; ");
		buf_add(acc, red.data, red.len);
	}
	buf_release(&red);
	buf_release(&cmd);
}

/* Records one "Key=Value" line of a unit's block into data; the values
 * of a key given on several lines are joined with " ; ". */
static void unit_prop(cJSON *data, const char *key, const char *val, struct buf *exec)
{
	struct buf red = BUF_INIT;
	cJSON *old;
	size_t i;

	if (!*val)
		return;
	if (!strcmp(key, "ExecStart")) {
		exec_argv(val, exec);
		return;
	}
	if (!strcmp(key, "Environment")) {
		os_env_redact(val, &red);
		os_set_str(data, key, buf_str(&red));
		buf_release(&red);
		return;
	}
	for (i = 0; i < sizeof(numeric_props) / sizeof(numeric_props[0]); i++) {
		if (!strcmp(key, numeric_props[i])) {
			os_set_num(data, key, strtod(val, NULL));
			return;
		}
	}
	old = cJSON_GetObjectItemCaseSensitive(data, key);
	if (cJSON_IsString(old)) {	/* one line per item: EnvironmentFiles */
		buf_printf(&red, "%s ; %s", old->valuestring, val);
		os_set_str(data, key, buf_str(&red));
		buf_release(&red);
		return;
	}
	os_set_str(data, key, val);
}

/* Fills the unit's data from its block of lines [*p, blank line or end);
 * advances *p past the block. */
static void unit_block(cJSON *m, const char *unit, char **p)
{
	cJSON *data = snap_subtype(m, unit), *load;
	struct buf exec = BUF_INIT;
	char *line = *p, *next, *eq;

	for (; line && *line && *line != '\n'; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!(eq = strchr(line, '=')))
			continue;
		*eq = '\0';
		unit_prop(data, line, eq + 1, &exec);
	}
	*p = line && *line == '\n' ? line + 1 : line;
	load = cJSON_GetObjectItemCaseSensitive(data, "LoadState");
	if (cJSON_IsString(load) && !strcmp(load->valuestring, "not-found")) {
		while (data->child)
			cJSON_Delete(cJSON_DetachItemViaPointer(data, data->child));
		os_set_str(data, "LoadState", "not-found");
		os_set_bool(data, "present", false);
	} else {
		if (exec.len)
			os_set_str(data, "ExecStart", buf_str(&exec));
		os_set_bool(data, "present", true);
	}
	os_set_str(data, "source", "systemctl");
	buf_release(&exec);
}

/* The first line of text, for a message. */
static const char *first_line(struct buf *text)
{
	buf_grow(text, 0);
	text->data[strcspn(text->data, "\n")] = '\0';
	return text->data;
}

/* Says why the collector did not run, for metadata.skipped. */
static void skipped_why(const struct snap_ctx *c, const char *why)
{
	if (c->why)
		buf_set(c->why, "%s", why);
}

int collect_systemd(const struct snap_ctx *c, cJSON *doc)
{
	char *argv[8 + N_UNITS];
	struct buf out = BUF_INIT, err = BUF_INIT, props = BUF_INIT;
	cJSON *m, *data;
	char *p, *eq, *next;
	int rc = -1, status;
	size_t i;

	if (c->root && *c->root) {
		m = snap_measurement(doc, "SystemD");
		for (i = 0; i < N_UNITS; i++)
			os_unit_from_files(c, units[i], snap_subtype(m, units[i]));
		return 0;
	}
	buf_printf(&props, "--property=%s", unit_props);
	argv[0] = (char *)"systemctl";
	argv[1] = (char *)"show";
	argv[2] = (char *)"--no-pager";
	argv[3] = props.data;
	for (i = 0; i < N_UNITS; i++)
		argv[4 + i] = (char *)units[i];
	argv[4 + N_UNITS] = NULL;
	status = run_capture(argv, &out, &err);
	if (status < 0 && errno == ENOENT) {
		warn("systemctl not found on PATH: no SystemD measurement");
		skipped_why(c, "systemctl not found");
		goto out;
	}
	if (status < 0) {
		warn("cannot run 'systemctl show': %s", strerror(errno));
		skipped_why(c, "cannot run systemctl");
		goto out;
	}
	if (status != 0) {
		warn("'systemctl show' failed (exit %d): %s", status, first_line(&err));
		skipped_why(c, first_line(&err));
		goto out;
	}
	m = snap_measurement(doc, "SystemD");
	for (i = 0, p = out.data; i < N_UNITS && p && *p; i++)
		unit_block(m, units[i], &p);

	buf_reset(&props);
	buf_printf(&props, "--property=%s", manager_props);
	argv[3] = props.data;
	argv[4] = NULL;
	if (run_capture(argv, &out, &err) == 0) {
		data = snap_subtype(m, "systemd");
		for (p = out.data; p && *p; p = next) {
			next = strchr(p, '\n');
			if (next)
				*next++ = '\0';
			if ((eq = strchr(p, '=')) && eq[1]) {
				*eq = '\0';
				os_set_str(data, p, eq + 1);
			}
		}
	}
	rc = 0;
out:
	buf_release(&props);
	buf_release(&err);
	buf_release(&out);
	return rc;
}
