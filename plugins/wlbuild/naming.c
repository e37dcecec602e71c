/* naming.c - image references, the default tag and the staging names.
 *
 * The rules (from the seed's two bugs and gcloud): every value is trimmed
 * first (a project read as "p\n" made "gcr.io/p\n/app"); a name whose first
 * path part is a registry host ('.' or ':' in it, or "localhost") is used
 * as is; "P/app" with P the project is "gcr.io/P/app", never
 * "gcr.io/P/P/app"; anything else goes under the registry (default
 * gcr.io/<project>). The result must be a reference docker and Cloud Build
 * accept (distribution's grammar), checked before anything is uploaded.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "wlbuild.h"

#define MAX_NAME_LEN 255
#define MAX_TAG_LEN 128

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void wlb_trim(const char *s, struct buf *out)
{
	size_t n;

	if (!s)
		return;
	while (blank(*s))
		s++;
	n = strlen(s);
	while (n && blank(s[n - 1]))
		n--;
	buf_add(out, s, n);
}

static bool has_blank(const char *s)
{
	for (; *s; s++)
		if (blank(*s) || iscntrl((unsigned char)*s))
			return true;
	return false;
}

int wlb_check_project(const char *project, struct buf *err)
{
	if (!project || !*project) {
		buf_set(err, "no project is set: pass --project, set CLOUDSDK_CORE_PROJECT "
			"or run 'gcloud config set project PROJECT'");
		return -1;
	}
	if (has_blank(project) || strchr(project, '/')) {
		buf_set(err, "invalid project '%s'", project);
		return -1;
	}
	return 0;
}

/* The project as a path in gcr.io names: "example.com:p" is
 * "example.com/p". */
static void add_project_path(struct buf *out, const char *project)
{
	for (; *project; project++)
		buf_addch(out, *project == ':' ? '/' : *project);
}

/* Does the first path part name a registry host? */
static bool is_host(const char *part, size_t n)
{
	return memchr(part, '.', n) || memchr(part, ':', n) ||
	       (n == 9 && !strncmp(part, "localhost", 9));
}

static bool is_gcr_host(const char *host, size_t n)
{
	return (n == 6 && !strncmp(host, "gcr.io", 6)) ||
	       (n > 7 && !strncmp(host + n - 7, ".gcr.io", 7));
}

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* distribution's domain: components [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?
 * joined by '.', an optional ":port". */
static bool valid_domain(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t host_n = colon ? (size_t)(colon - s) : n, i, start = 0;

	if (colon) {
		if (colon + 1 == s + n)
			return false;
		for (const char *p = colon + 1; p < s + n; p++)
			if (!isdigit((unsigned char)*p))
				return false;
	}
	if (!host_n)
		return false;
	for (i = 0; i <= host_n; i++) {
		if (i < host_n && s[i] != '.') {
			if (!isalnum((unsigned char)s[i]) && s[i] != '-')
				return false;
			continue;
		}
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

/* A path component: [a-z0-9]+ joined by '.', '_', "__" or any number of '-'. */
static bool valid_component(const char *s, size_t n)
{
	size_t i = 0;

	if (!n || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	while (i < n) {
		if (alnum(s[i])) {
			i++;
			continue;
		}
		if (s[i] == '.' || s[i] == '_') {
			size_t run = 1;

			while (i + run < n && s[i + run] == '_' && s[i] == '_')
				run++;
			if (run > 2 || !alnum(s[i + run]))
				return false;
			i += run;
			continue;
		}
		if (s[i] == '-') {
			while (s[i] == '-')
				i++;
			if (!alnum(s[i]))
				return false;
			continue;
		}
		return false;
	}
	return true;
}

static bool valid_tag(const char *t)
{
	size_t n = strlen(t);

	if (!n || n > MAX_TAG_LEN || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && !strchr("_.-", t[i]))
			return false;
	return true;
}

/* Where the tag's ':' is (after the last '/'), or NULL. */
static const char *tag_colon(const char *ref)
{
	const char *slash = strrchr(ref, '/');

	return strchr(slash ? slash : ref, ':');
}

int wlb_check_ref(const char *ref, struct buf *err)
{
	const char *colon, *p, *end, *slash;
	size_t name_n;
	bool first = true;

	if (!*ref) {
		buf_set(err, "the image name is empty");
		return -1;
	}
	if (has_blank(ref)) {
		buf_set(err, "invalid image name '%s': it contains blanks", ref);
		return -1;
	}
	if (strchr(ref, '@')) {
		buf_set(err, "invalid image name '%s': a build gives an image a tag, not a digest",
			ref);
		return -1;
	}
	colon = tag_colon(ref);
	name_n = colon ? (size_t)(colon - ref) : strlen(ref);
	if (colon && !valid_tag(colon + 1)) {
		buf_set(err, "invalid image name '%s': the tag '%s' must be 1 to 128 letters, "
			"digits, '_', '.' or '-', not starting with '.' or '-'", ref, colon + 1);
		return -1;
	}
	if (name_n > MAX_NAME_LEN) {
		buf_set(err, "invalid image name '%s': the name is longer than %d characters",
			ref, MAX_NAME_LEN);
		return -1;
	}
	for (p = ref, end = ref + name_n; p <= end; p = slash + 1, first = false) {
		slash = memchr(p, '/', (size_t)(end - p));
		if (!slash)
			slash = end;
		if (first && slash != end && is_host(p, (size_t)(slash - p))) {
			if (!valid_domain(p, (size_t)(slash - p))) {
				buf_set(err, "invalid image name '%s': '%.*s' is not a valid "
					"registry host", ref, (int)(slash - p), p);
				return -1;
			}
			continue;
		}
		if (!valid_component(p, (size_t)(slash - p))) {
			bool upper = false;

			for (const char *q = p; q < slash; q++)
				upper |= isupper((unsigned char)*q);
			buf_set(err, "invalid image name '%s': %s", ref,
				upper ? "the repository name must be lower case" :
				"each path part must be lower-case letters and digits "
				"joined by '.', '_', '__' or '-'");
			return -1;
		}
	}
	return 0;
}

int wlb_registry(const char *registry, const char *project, struct buf *out,
		 struct buf *err)
{
	struct buf r = BUF_INIT, probe = BUF_INIT;
	const char *slash;
	size_t host_n;
	int rc = -1;

	wlb_trim(registry, &r);
	while (r.len && r.data[r.len - 1] == '/')
		buf_setlen(&r, r.len - 1);
	if (!r.len) {
		if (wlb_check_project(project, err) < 0)
			goto out;
		buf_adds(out, "gcr.io/");
		add_project_path(out, project);
		rc = 0;
		goto out;
	}
	slash = strchr(r.data, '/');
	host_n = slash ? (size_t)(slash - r.data) : r.len;
	if (!is_host(r.data, host_n)) {
		buf_set(err, "invalid --registry '%s': it must start with a registry host "
			"(gcr.io, REGION-docker.pkg.dev/PROJECT/REPOSITORY, ...)", r.data);
		goto out;
	}
	if (host_n > 15 && !memcmp(r.data + host_n - 15, "-docker.pkg.dev", 15) &&
	    (!slash || !strchr(slash + 1, '/'))) {
		buf_set(err, "invalid --registry '%s': an Artifact Registry is "
			"REGION-docker.pkg.dev/PROJECT/REPOSITORY", r.data);
		goto out;
	}
	buf_add(&probe, r.data, r.len);
	if (!slash && is_gcr_host(r.data, host_n)) {
		if (wlb_check_project(project, err) < 0)
			goto out;
		buf_addch(&probe, '/');
		add_project_path(&probe, project);
	}
	buf_adds(&probe, "/x");
	if (wlb_check_ref(probe.data, err) < 0) {
		buf_set(err, "invalid --registry '%s'", r.data);
		goto out;
	}
	buf_add(out, probe.data, probe.len - 2);
	rc = 0;
out:
	buf_release(&probe);
	buf_release(&r);
	return rc;
}

int wlb_image_name(const char *name, const char *project, const char *registry,
		   struct buf *out, bool *has_tag, struct buf *err)
{
	struct buf n = BUF_INIT, reg = BUF_INIT, proj = BUF_INIT;
	const char *slash, *rslash;
	size_t first_n;
	int rc = -1;

	wlb_trim(name, &n);
	wlb_trim(project, &proj);
	*has_tag = false;
	if (!n.len) {
		buf_set(err, "--image is empty");
		goto out;
	}
	slash = strchr(n.data, '/');
	first_n = slash ? (size_t)(slash - n.data) : n.len;
	if (slash && is_host(n.data, first_n)) {
		buf_add(out, n.data, n.len);
	} else if (slash && proj.len && first_n == proj.len &&
		   !strncmp(n.data, proj.data, first_n)) {
		/* "P/app": the project is already there (the seed's gcr.io/P/P/app) */
		struct buf r = BUF_INIT;

		wlb_trim(registry, &r);
		rslash = strchr(buf_str(&r), '/');
		if (r.len && !rslash && is_gcr_host(r.data, r.len))
			buf_add(out, r.data, r.len);
		else
			buf_adds(out, "gcr.io");
		buf_release(&r);
		buf_addch(out, '/');
		add_project_path(out, proj.data);
		buf_adds(out, slash);
	} else {
		if (wlb_registry(registry, proj.len ? proj.data : NULL, &reg, err) < 0)
			goto out;
		buf_printf(out, "%s/%s", reg.data, n.data);
	}
	*has_tag = tag_colon(buf_str(out)) != NULL;
	if (wlb_check_ref(buf_str(out), err) < 0)
		goto out;
	rc = 0;
out:
	buf_release(&proj);
	buf_release(&reg);
	buf_release(&n);
	return rc;
}

void wlb_ref_repository(const char *ref, struct buf *out)
{
	const char *at = strchr(ref, '@'), *colon = tag_colon(ref);
	size_t n = strlen(ref);

	if (at)
		n = (size_t)(at - ref);
	if (colon && (size_t)(colon - ref) < n)
		n = (size_t)(colon - ref);
	buf_add(out, ref, n);
}

void wlb_ref_short_name(const char *ref, struct buf *out)
{
	struct buf repo = BUF_INIT;
	const char *last;
	size_t start = out->len;

	wlb_ref_repository(ref, &repo);
	last = strrchr(buf_str(&repo), '/');
	last = last ? last + 1 : buf_str(&repo);
	for (; *last && out->len - start < 63; last++) {
		char c = (char)tolower((unsigned char)*last);

		if (!alnum(c))
			c = '-';
		if (c == '-' && (out->len == start || out->data[out->len - 1] == '-'))
			continue;
		buf_addch(out, c);
	}
	while (out->len > start && out->data[out->len - 1] == '-')
		buf_setlen(out, out->len - 1);
	if (out->len == start)
		buf_adds(out, "image");
	buf_release(&repo);
}

void wlb_default_tag(int64_t newest_mtime, const char *sha256, struct buf *out)
{
	time_t t = (time_t)newest_mtime;
	struct tm tm;
	char stamp[32];

	if (!gmtime_r(&t, &tm) || !strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm))
		buf_adds(out, "19700101-000000");
	else
		buf_adds(out, stamp);
	buf_printf(out, "-%.12s", sha256);
}

void wlb_bucket_name(const char *project, struct buf *out)
{
	struct buf p = BUF_INIT;
	const char *s, *g;

	for (s = project; *s; s++)
		buf_addch(&p, *s == ':' || *s == '.' ? '_' : *s);
	for (s = buf_str(&p); (g = strstr(s, "google")); s = g + 6) {
		buf_add(out, s, (size_t)(g - s));
		buf_adds(out, "elgoog");
	}
	buf_adds(out, s);
	buf_adds(out, "_cloudbuild");
	buf_release(&p);
}

void wlb_source_object(struct buf *out)
{
	struct buf id = BUF_INIT;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	gcp_request_id(&id);	/* a UUID v4, written as hex as gcloud's uuid4().hex */
	buf_printf(out, "source/%lld.%06ld-", (long long)ts.tv_sec, ts.tv_nsec / 1000);
	for (const char *p = id.data; *p; p++)
		if (*p != '-')
			buf_addch(out, *p);
	buf_adds(out, ".tgz");
	buf_release(&id);
}
