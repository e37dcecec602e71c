#!/bin/sh
# archive.sh - packing a build context: archive_tgz() against `tar czf` of
# the same tree in the same run (gzip level 6 for both: tar pipes through
# `gzip -6`). Prints the wall times, their ratio and both peak RSS, and
# archive_tgz's peak RSS on one fiftieth of the tree (one of its 50 top
# directories), to show it flat in the tree size; then its result lines
# (tests/bench/lib.sh).
#
# usage: tests/bench/archive.sh [--quick] [--keep]
#   default: a 300 MB tree of 20,000 files (needs about 600 MB free in
#            ${TMPDIR:-/tmp}: the tree and two archives)
#   --quick: 30 MB, 2,000 files; --keep: leave the tree for another run
# Run from the repository root after `make common/libwlkit.a`.
set -eu

mb=300 files=20000 keep=0
for a in "$@"; do
	case $a in
	--quick) mb=30 files=2000 ;;
	--keep) keep=1 ;;
	*) echo "usage: $0 [--quick] [--keep]" >&2; exit 2 ;;
	esac
done
. tests/bench/lib.sh
lib=build/plain/libwlkit.a
[ -f "$lib" ] || { echo "error: build '$lib' first (make common/libwlkit.a)" >&2; exit 1; }
work=${TMPDIR:-/tmp}/wlkit-bench-archive-$mb
bin=$work/archive_bench
mkdir -p "$work"
cc -std=c11 -O2 -D_GNU_SOURCE -iquote common -o "$bin" tests/bench/archive_bench.c \
	"$lib" -larchive -lcrypto -lz

tree=$work/tree
if [ ! -f "$tree/.done" ]; then
	rm -rf "$tree"
	echo "generating $mb MB in $files files under $tree" >&2
	python3 - "$tree" "$mb" "$files" <<'PY'
import os, random, sys
root, mb, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(42)
total = mb * 1000 * 1000
# sizes: mostly small files, a few large ones, summing to about `total`
weights = [rnd.paretovariate(1.2) for _ in range(n)]
scale = total / sum(weights)
words = b"the quick brown fox jumps over the lazy dog 0123456789\n"
for i in range(n):
    d = os.path.join(root, "d%02d" % (i % 50), "s%02d" % (i % 7))
    os.makedirs(d, exist_ok=True)
    size = max(1, int(weights[i] * scale))
    with open(os.path.join(d, "f%05d.%s" % (i, "txt" if i % 2 else "bin")), "wb") as f:
        if i % 2:   # compressible text
            f.write((words * (size // len(words) + 1))[:size])
        else:       # incompressible bytes
            f.write(os.urandom(size))
PY
	touch "$tree/.done"
fi
du -sh "$tree" >&2

t() { /usr/bin/time -f "%e %M" -o "$work/time" "$@"; cat "$work/time"; }
set -- $(t sh -c "'$bin' '$tree' > '$work/wlkit.tgz'")
w_s=$1 w_kb=$2
set -- $(t sh -c "tar -C '$tree' -cf - . | gzip -6 > '$work/tar.tgz'")
t_s=$1 t_kb=$2
set -- $(t sh -c "'$bin' '$tree/d00' > /dev/null")
s_kb=$2
printf 'archive_tgz: %6.2f s  peak RSS %6d KiB  %s bytes\n' "$w_s" "$w_kb" "$(stat -c %s "$work/wlkit.tgz")"
printf 'tar | gzip : %6.2f s  peak RSS %6d KiB  %s bytes\n' "$t_s" "$t_kb" "$(stat -c %s "$work/tar.tgz")"
printf 'archive_tgz of %s (a fiftieth): peak RSS %6d KiB\n' "$tree/d00" "$s_kb"
awk -v a="$w_s" -v b="$t_s" 'BEGIN { printf "ratio (archive_tgz / tar+gzip): %.2f (target <= 1)\n", (b > 0 ? a / b : 0) }'

bench_row "archive_tgz $mb MB, $files files: time" "$(bench_fmt '%.2f s' "$w_s")" \
	"$(bench_fmt 'tar|gzip -6 %.2f s' "$t_s")" "$(bench_ratio "$t_s" "$w_s")" \
	">= 1x (no slower)" "$(bench_met 'w <= t' w="$w_s" t="$t_s")"
bench_row "archive_tgz $mb MB, $files files: peak RSS" \
	"$(bench_fmt '%.1f MB' "$(bench_calc 'k / 1024' k="$w_kb")")" \
	"$(bench_fmt 'tar|gzip -6 %.1f MB' "$(bench_calc 'k / 1024' k="$t_kb")")" \
	"$(bench_ratio "$t_kb" "$w_kb")" - -
# flat: the whole tree's peak at most 1.5 times the fiftieth's
bench_row "archive_tgz: peak RSS, tree / its 1/50" \
	"$(bench_fmt '%.2fx' "$(bench_calc 'w / s' w="$w_kb" s="$s_kb")")" - - \
	"<= 1.5x (flat)" "$(bench_met 'w <= 1.5 * s' w="$w_kb" s="$s_kb")"
rm -f "$work/wlkit.tgz" "$work/tar.tgz" "$work/time" "$bin"
[ "$keep" = 1 ] || rm -rf "$work"
