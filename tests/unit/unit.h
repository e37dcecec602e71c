/* unit.h - a minimal test harness for the C unit tests of common/.
 *
 * Each tests/unit/test_NAME.c is its own program: TEST(x) { ... } registers
 * a case; CHECK* macros record failures and go on; the harness prints TAP
 * ("ok N - file: case" / "not ok N - ...") and exits 1 when any case failed.
 * unit_tmpdir() gives a fresh directory per program (removed at exit);
 * unit_write() writes a file there. UNIT_SRCDIR is the repository root.
 */
#ifndef WLKIT_UNIT_H
#define WLKIT_UNIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

void unit_register(const char *name, void (*fn)(void));
void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *unit_tmpdir(void);
/* Writes text to unit_tmpdir()/name (mode 0600); returns the path (static
 * storage per call site is not kept: the string is owned by the harness). */
const char *unit_write(const char *name, const char *text);
/* The repository root (for fixtures). */
const char *unit_srcdir(void);

#define TEST(name) \
	static void name(void); \
	__attribute__((constructor)) static void unit_reg_##name(void) \
	{ unit_register(#name, name); } \
	static void name(void)

#define CHECK(cond) do { if (!(cond)) \
	unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); } while (0)
#define CHECK_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) unit_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", #a, a_, b_); } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_)) unit_fail(__FILE__, __LINE__, \
		"%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
#define CHECK_CONTAINS(hay, needle) do { const char *h_ = (hay), *n_ = (needle); \
	if (!h_ || !strstr(h_, n_)) unit_fail(__FILE__, __LINE__, \
		"%s == \"%s\" does not contain \"%s\"", #hay, h_ ? h_ : "(null)", n_); } while (0)

#endif
