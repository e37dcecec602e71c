/* kube_gke.c - a GKE cluster as the target, without a kubeconfig (see
 * kube_config.h): endpoint and CA from the Container API's
 * projects.locations.clusters.get, Google access tokens as the bearer
 * (kube_cred.c asks t->gke for one before each request). */
#include "kube_config_file.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "gcp.h"
#include "log.h"

/* One Google client and the last cluster read, for the whole process: a
 * command that opens several connections (wlrun wait: one per watch)
 * fetches the cluster and the access token once, also across connections
 * opened one after another. Freed at exit. */
static struct {
	pthread_mutex_t mu;
	struct gcp *g;
	cJSON *cluster;		/* the last clusters.get reply */
	char *path;		/* ... and what it was for */
} shared = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL, NULL };

/* The cluster at path, from the cache or the Container API; a duplicate
 * for the caller. Called with shared.mu held. */
static cJSON *cluster_get(const char *path, struct buf *err)
{
	cJSON *c = NULL;

	if (!shared.cluster || strcmp(shared.path, path)) {
		if (gcp_request(shared.g, "GET", "container", path, NULL, &c, err) < 0)
			return NULL;
		cJSON_Delete(shared.cluster);
		free(shared.path);
		shared.cluster = c;
		shared.path = kc_strdup(path);
	}
	return cJSON_Duplicate(shared.cluster, 1);
}

static void shared_free(void)
{
	gcp_free(shared.g);
	cJSON_Delete(shared.cluster);
	free(shared.path);
	shared.g = NULL;
	shared.cluster = NULL;
	shared.path = NULL;
}

int kc_gke_load(const struct kube_flags *flags, struct kube_target *t,
		struct buf *err)
{
	struct gcp_options opt = { 0 };
	struct buf path = BUF_INIT, ca = BUF_INIT, server = BUF_INIT;
	const char *project, *endpoint, *ca64, *status;
	struct gcp *g = NULL;
	cJSON *c = NULL;
	int rc = -1;

	opt.project = flags->project;
	pthread_mutex_lock(&shared.mu);
	if (!shared.g) {
		if (!(shared.g = gcp_new(&opt, err))) {
			pthread_mutex_unlock(&shared.mu);
			goto out;
		}
		atexit(shared_free);
	}
	g = shared.g;
	if (gcp_require_project(g, &project, err) == 0) {
		buf_printf(&path, "v1/projects/%s/locations/%s/clusters/%s", project,
			   flags->location, flags->cluster);
		c = cluster_get(buf_str(&path), err);
	}
	pthread_mutex_unlock(&shared.mu);
	if (!c)
		goto out;
	endpoint = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "endpoint"));
	status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "status"));
	ca64 = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(c, "masterAuth"), "clusterCaCertificate"));
	if (!endpoint || !*endpoint) {
		buf_set(err, "GKE cluster '%s' in '%s' has no endpoint yet (status %s)",
			flags->cluster, flags->location, status && *status ? status : "unknown");
		goto out;
	}
	if (!ca64 || !*ca64 || buf_add_unbase64(&ca, ca64, strlen(ca64)) < 0 || !ca.len) {
		buf_set(err, "GKE cluster '%s' in '%s' has no valid "
			"masterAuth.clusterCaCertificate", flags->cluster, flags->location);
		goto out;
	}
	if (!strstr(endpoint, "://"))
		buf_adds(&server, "https://");
	buf_adds(&server, endpoint);
	t->source = kc_strdup(buf_str(&path) + 3);	/* "projects/P/locations/L/clusters/C" */
	t->cluster_name = kc_strdup(flags->cluster);
	t->server = buf_detach(&server, NULL);
	t->ca_len = ca.len;
	t->ca_data = buf_detach(&ca, NULL);
	t->gke = g;
	logv(4, "GKE cluster '%s': endpoint '%s'", t->source, t->server);
	rc = 0;
out:
	cJSON_Delete(c);
	buf_release(&server);
	buf_release(&ca);
	buf_release(&path);
	return rc;
}
