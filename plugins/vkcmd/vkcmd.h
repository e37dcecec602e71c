/* vkcmd.h - the node agent's private interfaces: the options, the agent's
 * state, and the functions each concern file exports.
 *
 * One thread (the event loop in agent.c) owns struct agent and every pod;
 * the watch thread (watch.c) only feeds the event queue. Strings in struct
 * vk_opts point into argv (cli's memory); everything else in struct agent
 * is owned by it and freed by agent_release().
 */
#ifndef WLKIT_VKCMD_H
#define WLKIT_VKCMD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "cli.h"
#include "kube.h"
#include "vkcmd_io.h"

enum runtime { RT_HOST, RT_APPTAINER, RT_SHIFTER, RT_DOCKER };

struct vk_opts {
	const char *node_name;
	const char *runtime;
	const char *pipe;
	const char *listen;
	long max_pods;
	struct cli_list labels;
	struct cli_list taints;
	bool no_taint;
	int64_t walltime_ms;
	const char *work_dir;
	const char *cpu;
	const char *memory;
	const char *kubelet_cert;
	const char *kubelet_key;
	const char *kubelet_client_ca;
};

struct pod;

struct agent {
	struct vk_opts o;
	enum runtime rt;
	struct kube *k;		/* the event loop's connection */
	char *node;		/* node name */
	char *node_uid;
	char *work_dir;		/* absolute, 0700 */
	char *host_ip;		/* InternalIP: the address used to reach the API */
	char *svc_host, *svc_port;	/* KUBERNETES_SERVICE_HOST/PORT for pods */
	char *self_exe;		/* this program, for pipe-exec */
	int64_t cpu_milli, mem_bytes;
	int lease_seconds;	/* leaseDurationSeconds */
	int kubelet_port;
	struct kubelet_server *ks;
	bool bwrap;
	struct pod **pods;
	size_t npods;
	int64_t started_ms;	/* monotonic */
};

/* time.c-like helpers (agent.c) */
int64_t mono_ms(void);
/* A new string; dies when out of memory. */
char *xstrdup(const char *s);
void *xcalloc(size_t n, size_t size);

/* node.c */
/* Creates or updates the Node (labels, taints, status Ready) and the Lease. */
int node_register(struct agent *a, struct kube_err *err);
/* Renews the Lease (renewTime now). */
int node_renew_lease(struct agent *a, struct kube_err *err);
/* Sets the Ready condition (True with KubeletReady, else False with reason). */
int node_set_ready(struct agent *a, bool ready, const char *reason,
		   const char *message, struct kube_err *err);
/* The host's address towards the API server, CPUs and memory. */
void node_probe_host(struct agent *a);
/* Checks --label, --taint, --cpu and --memory before anything is sent;
 * -1 with the message in *why. */
int node_check_options(const struct vk_opts *o, struct buf *why);

/* runtime.c */
int runtime_parse(const char *s, enum runtime *out);
const char *runtime_name(enum runtime rt);
/* The argv that runs container c of pod (its command and args already
 * expanded in cmd, NULL-terminated, borrowed) with the pod's variables
 * pod_env (NULL-terminated "K=V", borrowed) and mounts, for a.rt; with --pipe, wrapped in
 * `SELF pipe-exec FIFO --`. *cwd gets the directory to chdir to before exec
 * (NULL: stay). Returns a new array (argv_free()) or NULL with *err set. */
char **runtime_argv(const struct agent *a, const cJSON *pod, const cJSON *c,
		    char *const *cmd, char *const *pod_env,
		    const struct mount_list *mounts, char **cwd, struct buf *err);

/* env.c */
/* The container's environment as "K=V" strings (NULL-terminated, new; free
 * with argv_free()): the agent's own (less KUBECONFIG), then from index
 * *pod_from the pod's: the in-cluster variables, envFrom, env (each value
 * $(VAR)-expanded); and its command + args expanded against it (*cmd new,
 * NULL-terminated). A missing ConfigMap/Secret key that is not optional
 * fails with *err. */
int env_build(struct agent *a, const cJSON *pod, const cJSON *c, char ***env,
	      size_t *pod_from, char ***cmd, struct buf *err);
/* Kubernetes' $(VAR) expansion of s against env ("K=V" array, n entries
 * considered): $$ is $, $(NAME) a defined variable's value, anything else
 * as is. Appends to out. */
void env_expand(const char *s, char *const *env, size_t n, struct buf *out);

/* process.c */
struct proc {
	pid_t pid;		/* also its process group */
	int out_fd, err_fd;	/* non-blocking read ends, -1 once closed */
};
/* Starts argv (PATH searched) in a new process group with stdin /dev/null,
 * stdout/stderr on pipes, the given environment. A program that cannot be
 * run fails here. (An agent that dies leaves its groups running; the next
 * run kills them, from the pgids files of the pods' directories.) */
int proc_spawn(char *const *argv, char *const *env, const char *cwd,
	       struct proc *p, struct buf *err);
/* Exit code as a shell reports it: the status, or 128+signal. */
int proc_exit_code(int wstatus);
/* Process groups are recorded in the pod's directory ("PGID START" lines,
 * START from /proc/PGID/stat), so that an agent that was killed can end
 * them when it starts again: proc_kill_recorded SIGKILLs each group left
 * (not one whose id now belongs to a newer process). */
void proc_record_group(const char *pod_dir, pid_t pgid);
void proc_kill_recorded(const char *pod_dir);
/* Signals the members of process group pgid but its leader (bwrap, which
 * would end at once and take its child down with SIGKILL: the programs get
 * their grace period this way). */
void proc_signal_members(pid_t pgid, int sig);

/* pods.c */
/* A watch event; the object is taken (freed or kept). */
void pods_event(struct agent *a, const char *type, cJSON *take_pod);
/* Advances every pod (starts due containers, deadlines, kills, final
 * deletes, status writes). */
void pods_step(struct agent *a);
/* A child exited. */
void pods_child_exit(struct agent *a, pid_t pid, int wstatus);
/* Reads what a container wrote on fd. */
void pods_child_output(struct agent *a, int fd);
/* The pollable output fds of running containers: appends to *fds/n. */
void pods_fds(struct agent *a, int **fds, size_t *n);
/* Milliseconds until the next timed action of any pod (capped at cap). */
int64_t pods_next_ms(struct agent *a, int64_t cap);
/* Ends every pod not finished: their processes are signalled (TERM, then
 * KILL after grace_ms), then each is reported Failed with reason/message. */
void pods_end_all(struct agent *a, const char *reason, const char *message,
		  int64_t grace_ms);
void pods_free(struct agent *a);

/* pipe.c */
int pipe_exec_main(const char *fifo, char *const *argv);
int pipe_runner_main(const char *fifo);

/* agent.c */
int agent_run(struct agent *a, const struct kube_flags *flags);

#endif
