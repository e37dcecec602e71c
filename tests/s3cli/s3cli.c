/* s3cli.c - a thin command line over common/s3.h for tests/s3.bats.
 *
 *   s3cli mb BUCKET | rb BUCKET | exists BUCKET | buckets
 *   s3cli put BUCKET KEY FILE | putdata BUCKET KEY TEXT
 *   s3cli get BUCKET KEY PATH [SIZE ETAG]    (SIZE ETAG: the expectation)
 *   s3cli list BUCKET [PREFIX]               ("KEY SIZE ETAG" lines)
 *   s3cli rm BUCKET KEY... | rmprefix BUCKET [PREFIX]
 *   s3cli errline STATUS < BODY
 *
 * The endpoint and keys come from S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY
 * and S3_REGION (tests/fakes/s3/s3 writes them). Errors: "error: ..." on
 * stderr, exit 1; exists prints "yes" or "no". get prints its progress
 * calls' count and last value on stderr ("progress N DONE/TOTAL"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"

struct progress {
	int calls;
	long long done, total;
};

static void on_progress(void *ctx, int64_t done, int64_t total)
{
	struct progress *p = ctx;

	p->calls++;
	p->done = done;
	p->total = total;
}

static int print_object(void *ctx, const struct s3_object *o)
{
	(void)ctx;
	printf("%s %lld %s\n", o->key, (long long)o->size, o->etag);
	return 0;
}

static int run(struct s3 *s, int argc, char **argv, struct buf *err)
{
	const char *cmd = argv[1];

	if (!strcmp(cmd, "mb") && argc == 3)
		return s3_bucket_create(s, argv[2], err);
	if (!strcmp(cmd, "rb") && argc == 3)
		return s3_bucket_delete(s, argv[2], err);
	if (!strcmp(cmd, "exists") && argc == 3) {
		int rc = s3_bucket_exists(s, argv[2], err);

		if (rc >= 0)
			puts(rc ? "yes" : "no");
		return rc < 0 ? -1 : 0;
	}
	if (!strcmp(cmd, "buckets") && argc == 2) {
		cJSON *names = NULL, *n;

		if (s3_bucket_list(s, &names, err) < 0)
			return -1;
		cJSON_ArrayForEach(n, names)
			puts(n->valuestring);
		cJSON_Delete(names);
		return 0;
	}
	if (!strcmp(cmd, "put") && argc == 5)
		return s3_put_file(s, argv[2], argv[3], argv[4], err);
	if (!strcmp(cmd, "putdata") && argc == 5)
		return s3_put_data(s, argv[2], argv[3], argv[4], strlen(argv[4]),
				   "text/plain", err);
	if (!strcmp(cmd, "get") && (argc == 5 || argc == 7)) {
		struct s3_object o = { argv[3], -1, NULL, NULL };
		struct progress p = { 0, 0, 0 };
		int rc;

		if (argc == 7) {
			o.size = strtoll(argv[5], NULL, 10);
			o.etag = argv[6];
		}
		rc = s3_get_file(s, argv[2], argv[3], argv[4],
				 argc == 7 ? &o : NULL, on_progress, &p, err);
		fprintf(stderr, "progress %d %lld/%lld\n", p.calls, p.done, p.total);
		return rc;
	}
	if (!strcmp(cmd, "list") && (argc == 3 || argc == 4))
		return s3_list(s, argv[2], argc == 4 ? argv[3] : NULL,
			       print_object, NULL, err);
	if (!strcmp(cmd, "rm") && argc >= 4)
		return s3_delete_objects(s, argv[2], (const char *const *)argv + 3,
					 argc - 3, err);
	if (!strcmp(cmd, "rmprefix") && (argc == 3 || argc == 4))
		return s3_delete_prefix(s, argv[2], argc == 4 ? argv[3] : NULL, err);
	buf_set(err, "usage: s3cli mb|rb|exists|buckets|put|putdata|get|list|rm|rmprefix|errline ...");
	return -1;
}

int main(int argc, char **argv)
{
	struct s3_config c = {
		getenv("S3_ENDPOINT"), getenv("S3_REGION"),
		getenv("S3_ACCESS_KEY"), getenv("S3_SECRET_KEY"),
	};
	struct buf err = BUF_INIT;
	struct s3 *s = NULL;
	int rc = 1;

	if (argc == 3 && !strcmp(argv[1], "errline")) {
		struct buf in = BUF_INIT;

		buf_read_fp(&in, stdin);
		s3_error_line(strtol(argv[2], NULL, 10), in.data, in.len, &err);
		puts(err.data);
		buf_release(&in);
		buf_release(&err);
		return 0;
	}
	if (argc < 2 || s3_open(&c, &s, &err) < 0)
		goto out;
	rc = run(s, argc, argv, &err) < 0;
out:
	if (rc)
		fprintf(stderr, "error: %s\n", err.len ? err.data : "usage: s3cli COMMAND ...");
	s3_close(s);
	buf_release(&err);
	return rc;
}
