/* volumes.c - a pod's volumes, materialised under pod_dir/volumes/<name>:
 * emptyDir, configMap, secret, downwardAPI, projected (serviceAccountToken,
 * configMap, secret, downwardAPI), hostPath; and the mounts of one
 * container. Files are written plainly (no ..data symlink swap: the agent
 * writes them once, before the pod's processes start). downward.c holds
 * the downward API values; bwrap.c turns mounts into a bwrap command.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "obj.h"
#include "vkcmd_io.h"

#define MODE_DEFAULT 0644

struct vol {
	char *name;
	char *path;		/* host path */
	bool readonly;		/* configMap, secret, downwardAPI, projected */
	bool writable_src;	/* emptyDir, hostPath: a subPath may be made */
};

/* A projected service-account token, renewed by volumes_refresh_tokens. */
struct token {
	char *ns, *sa, *audience;	/* audience may be NULL */
	char *dir, *path;
	int64_t exp_s;
	mode_t mode;
	int64_t renew_ms;		/* CLOCK_MONOTONIC */
};

struct pod_volumes {
	struct vol *v;
	size_t n;
	struct token *t;
	size_t nt;
};

/* A relative path inside a volume: not empty, not absolute, no ".." step. */
static bool rel_path_ok(const char *p)
{
	if (!*p || *p == '/')
		return false;
	for (const char *s = p; *s;) {
		const char *e = strchrnul(s, '/');
		if (e - s == 2 && !strncmp(s, "..", 2))
			return false;
		s = *e ? e + 1 : e;
	}
	return true;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return (flag == FTW_DP ? rmdir(p) : unlink(p)) < 0 && errno != ENOENT ? -1 : 0;
}

static int fresh_dir(const char *dir, mode_t mode, struct buf *err)
{
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT) {
		buf_set(err, "cannot remove '%s': %s", dir, strerror(errno));
		return -1;
	}
	if (vk_mkdirs(dir, 0700, err) < 0)
		return -1;
	if (chmod(dir, mode) < 0) {
		buf_set(err, "cannot chmod '%s': %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int vk_write_file(const char *dir, const char *rel, const char *data,
		  size_t len, mode_t mode, struct buf *err)
{
	struct buf p = BUF_INIT;
	int rc = -1;
	char *slash;

	if (!rel_path_ok(rel)) {
		buf_set(err, "invalid path '%s' in a volume", rel);
		goto out;
	}
	buf_printf(&p, "%s/%s", dir, rel);
	slash = strrchr(p.data, '/');
	*slash = '\0';
	if (vk_mkdirs(p.data, 0755, err) < 0)
		goto out;
	*slash = '/';
	/* a reader sees the old file or the new one, never a part */
	rc = file_write_atomic(p.data, data, len, (int)(mode & 07777), 0, err);
out:
	buf_release(&p);
	return rc;
}

/* Standard base64 into out; 0 or -1. */
static int b64_decode(const char *s, struct buf *out)
{
	return buf_add_unbase64(out, s, strlen(s));
}

static mode_t mode_of(const cJSON *o, const char *key, mode_t def)
{
	int64_t m = obj_int(o, key, -1);
	return m >= 0 && m <= 0777 ? (mode_t)m : def;
}

/* The value of key in a ConfigMap or Secret into out: 1 found, 0 not,
 * -1 bad base64. */
static int keyed_value(const cJSON *o, bool secret, const char *key, struct buf *out)
{
	const char *v;

	buf_reset(out);
	if (!secret) {
		const cJSON *d = obj_get(o, "data");
		const cJSON *s = d ? cJSON_GetObjectItemCaseSensitive(d, key) : NULL;
		if (cJSON_IsString(s)) {
			buf_adds(out, s->valuestring);
			return 1;
		}
	}
	const cJSON *bd = obj_get(o, secret ? "data" : "binaryData");
	const cJSON *b = bd ? cJSON_GetObjectItemCaseSensitive(bd, key) : NULL;
	if (!cJSON_IsString(b))
		return 0;
	v = b->valuestring;
	return b64_decode(v, out) < 0 ? -1 : 1;
}

/* 1 written, 0 no such key, -1 error. */
static int write_key(const cJSON *o, bool secret, const char *key,
		     const char *dir, const char *path, mode_t mode, struct buf *err)
{
	struct buf v = BUF_INIT;
	int rc = keyed_value(o, secret, key, &v);

	if (rc < 0)
		buf_set(err, "%s \"%s\": key '%s' is not valid base64",
			secret ? "secret" : "configmap", obj_name(o), key);
	else if (rc > 0 && vk_write_file(dir, path, v.data ? v.data : "", v.len,
					 mode, err) < 0)
		rc = -1;
	buf_release(&v);
	return rc;
}

/* The ConfigMap kube-root-ca.crt as the agent's own CA when the cluster
 * has none. NULL when the agent trusts the system store. */
static cJSON *root_ca_from_kubeconfig(struct kube *k)
{
	const struct kube_target *t = kube_target(k);
	struct buf ca = BUF_INIT;
	cJSON *cm = NULL;

	if (t->ca_data)
		buf_add(&ca, t->ca_data, t->ca_len);
	else if (t->ca_file && buf_read_file(&ca, t->ca_file) < 0)
		buf_reset(&ca);
	if (ca.len) {
		cm = obj_new("v1", "ConfigMap", NULL, "kube-root-ca.crt");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(cm, "data"), "ca.crt",
					buf_str(&ca));
	}
	buf_release(&ca);
	return cm;
}

/* A configMap or secret source (volume or projection) into dir. */
static int project_keyed(struct kube *k, const char *ns, bool secret,
			 const cJSON *src, const char *name, const char *dir,
			 mode_t def_mode, struct buf *err)
{
	struct kube_err kerr = KUBE_ERR_INIT;
	bool optional = obj_bool(src, "optional", false);
	const cJSON *items = obj_get(src, "items"), *it;
	cJSON *o = NULL;
	int rc = -1;

	if (!name || !*name) {
		buf_set(err, "a %s volume source has no name", secret ? "secret" : "configMap");
		goto out;
	}
	if (kube_get(k, "v1", secret ? "Secret" : "ConfigMap", ns, name, &o, &kerr) < 0) {
		if (kerr.code == 404 && !secret && !strcmp(name, "kube-root-ca.crt"))
			o = root_ca_from_kubeconfig(k);
		if (!o && kerr.code == 404 && optional) {
			rc = 0;
			goto out;
		}
		if (!o) {
			buf_reset(err);
			kube_err_format(&kerr, err);
			goto out;
		}
	}
	def_mode = mode_of(src, "defaultMode", def_mode);
	if (cJSON_IsArray(items) && cJSON_GetArraySize(items) > 0) {
		cJSON_ArrayForEach(it, items) {
			const char *key = obj_str(it, "key"), *path = obj_str(it, "path");
			int r;
			if (!key || !path) {
				buf_set(err, "%s \"%s\": an item needs a key and a path",
					secret ? "secret" : "configmap", name);
				goto out;
			}
			r = write_key(o, secret, key, dir, path,
				      mode_of(it, "mode", def_mode), err);
			if (r < 0)
				goto out;
			if (r == 0 && !optional) {
				buf_set(err, "%s references non-existent %s key: %s",
					secret ? "secret" : "configmap",
					secret ? "secret" : "config", key);
				goto out;
			}
		}
	} else {
		const char *maps[] = { "data", secret ? NULL : "binaryData" };
		for (size_t i = 0; i < 2 && maps[i]; i++) {
			const cJSON *m = obj_get(o, maps[i]);
			cJSON_ArrayForEach(it, m) {
				if (write_key(o, secret, it->string, dir, it->string,
					      def_mode, err) < 0)
					goto out;
			}
		}
	}
	rc = 0;
out:
	cJSON_Delete(o);
	kube_err_release(&kerr);
	return rc;
}

static int64_t mono_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Requests t's token and writes it; the next renewal at 80% of its life. */
static int token_write(struct kube *k, struct token *t, struct buf *err)
{
	struct kube_err kerr = KUBE_ERR_INIT;
	char *token = NULL;
	int rc = -1;

	if (kube_token_request(k, t->ns, t->sa, t->exp_s, t->audience, &token,
			       &kerr) < 0) {
		buf_set(err, "cannot get a token for service account '%s': ", t->sa);
		kube_err_format(&kerr, err);
		goto out;
	}
	if (vk_write_file(t->dir, t->path, token, strlen(token), t->mode, err) < 0)
		goto out;
	t->renew_ms = mono_now_ms() + t->exp_s * 800;
	rc = 0;
out:
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	kube_err_release(&kerr);
	return rc;
}

static void token_release(struct token *t)
{
	free(t->ns);
	free(t->sa);
	free(t->audience);
	free(t->dir);
	free(t->path);
}

static char *xstrdup_or_null(const char *s)
{
	char *r;

	if (!s)
		return NULL;
	if (!(r = strdup(s)))
		die("out of memory");
	return r;
}

static int project_token(struct kube *k, struct pod_volumes *v, const cJSON *pod,
			 const cJSON *src, const char *dir, mode_t mode, struct buf *err)
{
	const char *sa = obj_str(pod, "spec.serviceAccountName");
	struct token t = { 0 };

	if (!obj_str(src, "path")) {
		buf_set(err, "a serviceAccountToken projection has no path");
		return -1;
	}
	t.ns = xstrdup_or_null(obj_namespace(pod));
	t.sa = xstrdup_or_null(sa && *sa ? sa : "default");
	t.audience = xstrdup_or_null(obj_str(src, "audience"));
	t.dir = xstrdup_or_null(dir);
	t.path = xstrdup_or_null(obj_str(src, "path"));
	t.exp_s = obj_int(src, "expirationSeconds", 3600);
	if (t.exp_s < 600)
		t.exp_s = 600;
	t.mode = mode;
	if (token_write(k, &t, err) < 0) {
		token_release(&t);
		return -1;
	}
	if (!(v->t = realloc(v->t, (v->nt + 1) * sizeof(*v->t))))
		die("out of memory");
	v->t[v->nt++] = t;
	return 0;
}

int volumes_refresh_tokens(struct kube *k, struct pod_volumes *v, int64_t *next_ms,
			   struct buf *err)
{
	int64_t now = mono_now_ms(), next = 0;
	int rc = 0;

	for (size_t i = 0; i < v->nt; i++) {
		if (now >= v->t[i].renew_ms && token_write(k, &v->t[i], err) < 0) {
			/* try again in a minute */
			v->t[i].renew_ms = now + 60000;
			rc = -1;
		}
		if (!next || v->t[i].renew_ms < next)
			next = v->t[i].renew_ms;
	}
	if (next_ms)
		*next_ms = next;
	return rc;
}

static int projected(struct kube *k, struct pod_volumes *v, const cJSON *pod,
		     const cJSON *vol, const char *dir, struct buf *err)
{
	mode_t def = mode_of(vol, "defaultMode", MODE_DEFAULT);
	const char *ns = obj_namespace(pod);
	const cJSON *src;
	bool token = false;
	struct buf p = BUF_INIT;
	int rc = -1;

	cJSON_ArrayForEach(src, obj_get(vol, "sources")) {
		const cJSON *s;
		if ((s = obj_get(src, "serviceAccountToken"))) {
			token = true;
			if (project_token(k, v, pod, s, dir, mode_of(s, "mode", def), err) < 0)
				goto out;
		} else if ((s = obj_get(src, "configMap")) || (s = obj_get(src, "secret"))) {
			bool secret = s == obj_get(src, "secret");
			if (project_keyed(k, ns, secret, s, obj_str(s, "name"), dir,
					  def, err) < 0)
				goto out;
		} else if ((s = obj_get(src, "downwardAPI"))) {
			if (downward_items(pod, obj_get(s, "items"), dir, def, err) < 0)
				goto out;
		} else {
			buf_set(err, "a projected volume source of an unsupported kind");
			goto out;
		}
	}
	if (token) {
		/* kube-api-access: the CA and the namespace beside the token */
		buf_printf(&p, "%s/ca.crt", dir);
		if (access(p.data, F_OK) < 0) {
			cJSON *cm = root_ca_from_kubeconfig(k);
			int r = cm ? write_key(cm, false, "ca.crt", dir, "ca.crt", def, err) : 0;
			cJSON_Delete(cm);
			if (r < 0)
				goto out;
		}
		buf_reset(&p);
		buf_printf(&p, "%s/namespace", dir);
		if (access(p.data, F_OK) < 0 &&
		    vk_write_file(dir, "namespace", ns, strlen(ns), def, err) < 0)
			goto out;
	}
	rc = 0;
out:
	buf_release(&p);
	return rc;
}

static const char *hostpath_check(const char *path, const char *type, struct buf *err)
{
	struct stat st;
	bool exists = stat(path, &st) == 0;

	if (!type || !*type)
		return NULL;
	if (!strcmp(type, "DirectoryOrCreate")) {
		if (!exists) {
			if (vk_mkdirs(path, 0755, err) < 0)
				return buf_str(err);
			return NULL;
		}
		return S_ISDIR(st.st_mode) ? NULL : "is not a directory";
	}
	if (!strcmp(type, "FileOrCreate")) {
		if (!exists) {
			struct buf dir = BUF_INIT;
			buf_adds(&dir, path);
			*strrchr(dir.data, '/') = '\0';
			int fd = -1;
			if (!dir.data[0] || vk_mkdirs(dir.data, 0755, err) == 0)
				fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			buf_release(&dir);
			if (fd < 0)
				return "cannot be created";
			close(fd);
			return NULL;
		}
		return S_ISDIR(st.st_mode) ? "is not a file" : NULL;
	}
	if (!strcmp(type, "Directory"))
		return exists && S_ISDIR(st.st_mode) ? NULL : "is not a directory";
	if (!strcmp(type, "File"))
		return exists && S_ISREG(st.st_mode) ? NULL : "is not a file";
	if (!strcmp(type, "Socket"))
		return exists && S_ISSOCK(st.st_mode) ? NULL : "is not a socket file";
	if (!strcmp(type, "CharDevice"))
		return exists && S_ISCHR(st.st_mode) ? NULL : "is not a character device";
	if (!strcmp(type, "BlockDevice"))
		return exists && S_ISBLK(st.st_mode) ? NULL : "is not a block device";
	return "has an unknown hostPath type";
}

static int prepare_one(struct kube *k, struct pod_volumes *v, const cJSON *pod,
		       const cJSON *vol, const char *vdir, struct vol *out,
		       struct buf *err)
{
	const char *name = obj_str(vol, "name");
	const cJSON *s;
	struct buf path = BUF_INIT;
	int rc = -1;

	if (!name || !rel_path_ok(name) || strchr(name, '/') || !strcmp(name, ".")) {
		buf_set(err, "invalid volume name '%s'", name ? name : "");
		goto out;
	}
	buf_printf(&path, "%s/%s", vdir, name);
	out->readonly = true;
	if (obj_get(vol, "emptyDir")) {
		out->readonly = false;
		out->writable_src = true;
		if (vk_mkdirs(path.data, 0777, err) < 0 || chmod(path.data, 0777) < 0)
			goto fail;
	} else if ((s = obj_get(vol, "hostPath"))) {
		const char *hp = obj_str(s, "path"), *why;
		if (!hp || *hp != '/') {
			buf_set(err, "volume \"%s\": hostPath needs an absolute path", name);
			goto out;
		}
		if ((why = hostpath_check(hp, obj_str(s, "type"), err))) {
			buf_set(err, "volume \"%s\": hostPath type check failed: %s %s",
				name, hp, why);
			goto out;
		}
		buf_reset(&path);
		buf_adds(&path, hp);
		out->readonly = false;
		out->writable_src = true;
	} else if ((s = obj_get(vol, "configMap")) || (s = obj_get(vol, "secret"))) {
		bool secret = s == obj_get(vol, "secret");
		if (fresh_dir(path.data, 0755, err) < 0 ||
		    project_keyed(k, obj_namespace(pod), secret, s,
				  obj_str(s, secret ? "secretName" : "name"), path.data,
				  MODE_DEFAULT, err) < 0)
			goto fail;
	} else if ((s = obj_get(vol, "downwardAPI"))) {
		if (fresh_dir(path.data, 0755, err) < 0 ||
		    downward_items(pod, obj_get(s, "items"), path.data,
				   mode_of(s, "defaultMode", MODE_DEFAULT), err) < 0)
			goto fail;
	} else if ((s = obj_get(vol, "projected"))) {
		if (fresh_dir(path.data, 0755, err) < 0 ||
		    projected(k, v, pod, s, path.data, err) < 0)
			goto fail;
	} else {
		buf_set(err, "volume \"%s\": this node supports emptyDir, configMap, "
			"secret, downwardAPI, projected and hostPath volumes only", name);
		goto out;
	}
	if (!(out->name = strdup(name)))
		die("out of memory");
	out->path = buf_detach(&path, NULL);
	rc = 0;
	goto out;
fail:
	if (!strstr(buf_str(err), name)) {
		struct buf m = BUF_INIT;
		buf_printf(&m, "volume \"%s\": %s", name, buf_str(err));
		buf_set(err, "%s", buf_str(&m));
		buf_release(&m);
	}
out:
	buf_release(&path);
	return rc;
}

int volumes_prepare(struct kube *k, const cJSON *pod, const char *pod_dir,
		    struct pod_volumes **out, struct buf *err)
{
	struct pod_volumes *v;
	struct buf vdir = BUF_INIT;
	const cJSON *vol, *vols = obj_get(pod, "spec.volumes");
	int rc = -1;

	if (!(v = calloc(1, sizeof(*v))) ||
	    !(v->v = calloc(cJSON_GetArraySize(vols) + 1, sizeof(*v->v))))
		die("out of memory");
	buf_printf(&vdir, "%s/volumes", pod_dir);
	if (vk_mkdirs(vdir.data, 0700, err) < 0)
		goto out;
	cJSON_ArrayForEach(vol, vols) {
		if (prepare_one(k, v, pod, vol, vdir.data, &v->v[v->n], err) < 0)
			goto out;
		v->n++;
	}
	rc = 0;
out:
	buf_release(&vdir);
	if (rc < 0)
		volumes_free(v);
	else
		*out = v;
	return rc;
}

void volumes_free(struct pod_volumes *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		free(v->v[i].name);
		free(v->v[i].path);
	}
	free(v->v);
	for (size_t i = 0; i < v->nt; i++)
		token_release(&v->t[i]);
	free(v->t);
	free(v);
}

void mount_list_release(struct mount_list *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->items[i].src);
		free(m->items[i].dst);
	}
	free(m->items);
	m->items = NULL;
	m->n = 0;
}

int volumes_container_mounts(const struct pod_volumes *v, const cJSON *container,
			     struct mount_list *out, struct buf *err)
{
	const cJSON *vm, *vms = obj_get(container, "volumeMounts");
	const char *cname = obj_str(container, "name");
	struct buf src = BUF_INIT;

	out->n = 0;
	if (!(out->items = calloc(cJSON_GetArraySize(vms) + 1, sizeof(*out->items))))
		die("out of memory");
	cJSON_ArrayForEach(vm, vms) {
		const char *name = obj_str(vm, "name"), *mp = obj_str(vm, "mountPath");
		const char *sub = obj_str(vm, "subPath");
		const struct vol *vol = NULL;
		struct stat st;

		for (size_t i = 0; name && i < v->n && !vol; i++)
			if (!strcmp(v->v[i].name, name))
				vol = &v->v[i];
		if (!vol) {
			buf_set(err, "container \"%s\": volume \"%s\" not found",
				cname ? cname : "", name ? name : "");
			goto fail;
		}
		if (!mp || *mp != '/') {
			buf_set(err, "container \"%s\": mountPath '%s' must be absolute",
				cname ? cname : "", mp ? mp : "");
			goto fail;
		}
		if (obj_str(vm, "subPathExpr")) {
			buf_set(err, "container \"%s\": subPathExpr is not supported on "
				"this node", cname ? cname : "");
			goto fail;
		}
		buf_reset(&src);
		buf_adds(&src, vol->path);
		if (sub && *sub) {
			if (!rel_path_ok(sub)) {
				buf_set(err, "container \"%s\": invalid subPath '%s'",
					cname ? cname : "", sub);
				goto fail;
			}
			buf_printf(&src, "/%s", sub);
			if (stat(src.data, &st) < 0) {
				if (!vol->writable_src) {
					buf_set(err, "container \"%s\": subPath '%s' does "
						"not exist in volume \"%s\"",
						cname ? cname : "", sub, name);
					goto fail;
				}
				if (vk_mkdirs(src.data, 0755, err) < 0)
					goto fail;
			}
		}
		struct mount *m = &out->items[out->n++];
		m->src = buf_detach(&src, NULL);
		if (!(m->dst = strdup(mp)))
			die("out of memory");
		m->readonly = vol->readonly || obj_bool(vm, "readOnly", false);
	}
	buf_release(&src);
	return 0;
fail:
	buf_release(&src);
	mount_list_release(out);
	return -1;
}
