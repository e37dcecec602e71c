/* replay_main.c - runs a fuzz target's LLVMFuzzerTestOneInput over files
 * without libFuzzer (mk/fuzz.mk links it into build/fuzz-replay/replay-*;
 * tests/fuzz-replay.bats runs every seed and kept crash through them).
 *
 * Usage: replay-TARGET FILE...; prints "replayed N inputs" and exits 0, or
 * 1 when a file cannot be read or one input runs over REPLAY_TIMEOUT
 * seconds (default 10, as `make fuzz` allows). A crash is the sanitizers'
 * to report. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static const char *current;	/* the input being run */

static void on_alarm(int sig)
{
	char msg[] = "replay: timeout on ", nl[] = "\n";
	struct iovec iov[] = {
		{ msg, sizeof(msg) - 1 }, { (char *)current, strlen(current) }, { nl, 1 },
	};
	ssize_t r = writev(2, iov, 3);	/* signal-safe; nowhere to report a failure */

	(void)sig;
	(void)r;
	_exit(1);
}

int main(int argc, char **argv)
{
	struct buf b = BUF_INIT;
	const char *limit = getenv("REPLAY_TIMEOUT");
	unsigned secs = limit && *limit ? (unsigned)strtoul(limit, NULL, 10) : 10;
	int rc = 0, n = 0;

	signal(SIGALRM, on_alarm);
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		buf_reset(&b);
		if (buf_read_file(&b, argv[i]) < 0) {
			fprintf(stderr, "replay: cannot read '%s'\n", argv[i]);
			rc = 1;
			continue;
		}
		/* an input of its exact size, as libFuzzer gives it */
		uint8_t *copy = malloc(b.len ? b.len : 1);

		if (!copy) {
			fprintf(stderr, "replay: out of memory\n");
			rc = 1;
			break;
		}
		if (b.len)
			memcpy(copy, b.data, b.len);
		current = argv[i];
		alarm(secs);
		LLVMFuzzerTestOneInput(copy, b.len);
		alarm(0);
		free(copy);
		n++;
	}
	printf("replayed %d inputs\n", n);
	buf_release(&b);
	return rc;
}
