/* vast_project.c - fuzz target: the project-file (.vast) parser of
 * kubectl-vastrun (project_load in plugins/vastrun/project.c), over a file
 * holding the input. The first byte picks the active context and whether
 * --context was given. */
#include "fuzz.h"
#include "../../plugins/vastrun/vastrun.h"

static const char *const contexts[] = { NULL, "gke-a", "kind-b", "" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vast_project p;
	struct buf err = BUF_INIT;
	const char *path;

	if (size < 1)
		return 0;
	path = fuzz_write("project.vast", data + 1, size - 1);
	if (project_load(path, contexts[data[0] & 3], data[0] & 4, &p, &err) == 0)
		project_free(&p);
	buf_release(&err);
	return 0;
}
