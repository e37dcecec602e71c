# lib.sh - the result lines of the benchmarks, sourced by tests/bench/*.sh
# (POSIX sh, so that sh and bash scripts share it).
#
# Every benchmark ends by printing one or more result lines on stdout, one
# per figure, in this fixed format (7 fields separated by one TAB, no TAB
# inside a field), which tests/bench/run collects into its table:
#
#   BENCH <name> <wlkit> <peer> <ratio> <target> <met>
#
#   name    what is measured, e.g. "wlrun dry-run -o yaml, time per run"
#   wlkit   wlkit's figure with its unit, e.g. "5.31 ms"
#   peer    the peer's figure with the peer named, e.g. "kubectl 129.6 ms";
#           "-" where the figure has no peer (RSS targets, call counts)
#   ratio   peer / wlkit, e.g. "24.4x": above 1 wlkit takes less time or
#           memory than the peer; "-" where there is no peer
#   target  the target, in words, e.g. ">= 20x", "< 50 ms"; "-" where
#           the issue asks only for the figure to be reported
#   met     "yes" or "no", computed from the figures; "-" where no target
#
# Nothing in a result line is written by hand: every number is computed from
# what the script measured in the same run.

# bench_row NAME WLKIT PEER RATIO TARGET MET: prints one result line.
bench_row() {
	printf 'BENCH\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6"
}

# bench_fmt FORMAT ARG...: printf in the C locale (a decimal point, always).
bench_fmt() {
	LC_ALL=C printf "$@"
}

# bench_met AWK-CONDITION NAME=NUMBER...: "yes" if the condition holds for
# the numbers, else "no"; e.g. bench_met 'p / w >= 20' p=129.6 w=5.3.
bench_met() {
	_bm_cond=$1
	shift
	_bm_n=$#
	for _bm_v; do
		set -- "$@" -v "$_bm_v"
	done
	shift "$_bm_n"
	if awk "$@" "BEGIN { exit !($_bm_cond) }" </dev/null; then
		echo yes
	else
		echo no
	fi
}

# bench_ratio PEER WLKIT: PEER / WLKIT as "N.NNx" ("-" when WLKIT is 0).
bench_ratio() {
	awk -v p="$1" -v w="$2" 'BEGIN {
		if (w + 0 == 0) print "-"; else printf "%.2fx\n", p / w }' </dev/null
}

# bench_calc AWK-EXPRESSION NAME=NUMBER...: the expression's value (%.6g).
bench_calc() {
	_bc_expr=$1
	shift
	_bc_n=$#
	for _bc_v; do
		set -- "$@" -v "$_bc_v"
	done
	shift "$_bc_n"
	awk "$@" "BEGIN { printf \"%.6g\\n\", ($_bc_expr) }" </dev/null
}
