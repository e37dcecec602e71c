/* fuzz.h - what the fuzz targets share: the entry point's prototype and a
 * scratch directory for the parsers that take a path.
 *
 * fuzz_dir() makes one directory under $TMPDIR (or /tmp) per process and
 * removes it, with what the targets wrote there, at exit. Paths it returns
 * are static and valid until exit.
 */
#ifndef WLKIT_FUZZ_H
#define WLKIT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The process's scratch directory; dies when it cannot be made. */
const char *fuzz_dir(void);
/* Writes n bytes to fuzz_dir()/name (replacing it) and returns its path
 * (static until the next call); dies on a write error. */
const char *fuzz_write(const char *name, const void *data, size_t n);
/* Removes fuzz_dir()/name when it is there. */
void fuzz_remove(const char *name);

#endif
