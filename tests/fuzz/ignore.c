/* ignore.c - fuzz target: the ignore-file parser and matcher
 * (common/ignore.h). The first byte picks the dialect (gcloud or Docker);
 * the rest is the file. Its rules are then matched against a few fixed
 * paths and against each of its own lines taken as a path. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ignore.h"

static const char *const paths[] = {
	"a", "a/b", "a/b/c.txt", ".git", ".gcloudignore", "src/main.c",
	"node_modules/x/y", "dir/", "x.pyc", "[abc]", "*", "a/**/b", "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ignore *ig = NULL;
	struct buf err = BUF_INIT;
	char *text, *line, *save = NULL;

	if (size < 1)
		return 0;
	if (!(text = malloc(size)))
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (ignore_parse(data[0] & 1 ? IGNORE_DOCKER : IGNORE_GCLOUD, text, NULL,
			 &ig, &err) < 0)
		goto out;
	ignore_count(ig);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (ignore_excluded(ig, paths[i], i & 1))
			ignore_descend(ig, paths[i]);
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (ignore_excluded(ig, line, data[0] & 2))
			ignore_descend(ig, line);
	}
out:
	ignore_free(ig);
	free(text);
	buf_release(&err);
	return 0;
}
