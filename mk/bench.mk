# mk/bench.mk - `make bench`: every benchmark of tests/bench/, one after
# another, and one table of their results (tests/bench/run; the format of
# the result lines is in tests/bench/lib.sh). `make bench BENCH_QUICK=1`
# uses each benchmark's small sizes, a fast check of the plumbing;
# `make bench BENCH='wlrun vastrun'` runs only those; BENCH_FLAGS=--markdown
# prints the table in Markdown, as README.md's performance section has it.
# The benchmarks time the plain programs (bin/, build/plain/libwlkit.a),
# never sanitized ones: SANITIZE is left out of the build they get (`all`,
# common/libwlkit.a with it). Only the table goes to stdout.

BENCH_QUICK ?=
BENCH       ?=
BENCH_FLAGS ?=

bench: deps
	@$(MAKE) --no-print-directory SANITIZE= all >&2
	@tests/bench/run $(if $(filter-out 0,$(BENCH_QUICK)),--quick) $(BENCH_FLAGS) $(BENCH)

.PHONY: bench
