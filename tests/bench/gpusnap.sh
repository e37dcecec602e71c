#!/usr/bin/env bash
# gpusnap.sh - kubectl-gpusnap's local snapshot: N runs (default 50) of
# `kubectl-gpusnap --collectors os,gpu,systemd -o FILE` for the wall time
# (ms per run, fork and exec included) and 5 more under /usr/bin/time for
# the peak RSS, against the targets of the issue (under 50 ms and 10 MB on
# a host without a GPU). Beside it, as peers: /bin/true (fork and exec
# alone) and `sysctl -a` (procps, which reads the same /proc/sys tree the OS
# collector walks) when installed. With --k8s, the k8s collector runs too,
# against the local control plane started for the run.
# Ends with its result lines (tests/bench/lib.sh). Not part of make check.
# Usage: tests/bench/gpusnap.sh [--quick] [N] [--k8s]   (--quick: N=10)
set -eu
n=50 k8s=
for a in "$@"; do
	case $a in
	--k8s) k8s=1 ;;
	--quick) n=10 ;;
	*[!0-9]*|'') echo "usage: $0 [--quick] [N] [--k8s]" >&2; exit 2 ;;
	*) n=$a ;;
	esac
done
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/bench/lib.sh"
d=$(mktemp -d)
trap '[ -z "$k8s" ] || "$root/tests/fakes/kube/cluster" down "$d/c" >/dev/null 2>&1; rm -rf "$d"' EXIT
snap=$root/bin/kubectl-gpusnap
collectors=os,gpu,systemd
if [ -n "$k8s" ]; then
	"$root/tests/fakes/kube/cluster" up "$d/c" >/dev/null
	export KUBECONFIG=$d/c/kubeconfig
	collectors=$collectors,k8s
fi

now() { date +%s.%N; }

# many LABEL CMD...: CMD n times in a plain loop for the wall time, then 5
# times under /usr/bin/time for the peak RSS (max KiB). Sets ms and rss.
many() {
	local t0 t1 i r
	rss=0
	t0=$(now)
	for i in $(seq "$n"); do
		"${@:2}" >/dev/null 2>&1
	done
	t1=$(now)
	for i in 1 2 3 4 5; do
		/usr/bin/time -f %M -o "$d/rss" "${@:2}" >/dev/null 2>&1
		r=$(tail -1 "$d/rss")
		[ "$r" -gt "$rss" ] && rss=$r
	done
	ms=$(echo "($t1 - $t0) * 1000 / $n" | bc -l)
	printf '%-34s %8.2f ms/run  peak RSS %6d KiB\n' "$1" "$ms" "$rss"
}

"$snap" --collectors "$collectors" -o "$d/s.yaml" 2>"$d/warnings" || true
echo "a snapshot of $(wc -c <"$d/s.yaml") bytes, $(wc -l <"$d/s.yaml") lines;" \
	"collectors run: $(sed -n '/^  collectors:/,/^  skipped/p' "$d/s.yaml" | grep -c '^  - ')"
echo "local snapshot, --collectors $collectors, $n runs each"
many "/bin/true (fork+exec)" /bin/true
p_ms= p_rss=
if command -v sysctl >/dev/null; then
	many "sysctl -a (procps)" sysctl -a
	p_ms=$ms p_rss=$rss
fi
many "kubectl-gpusnap" "$snap" --collectors "$collectors" -o "$d/s.yaml"
awk -v ms="$ms" -v rss="$rss" 'BEGIN {
	printf "target < 50 ms: %s   target < 10 MB: %s\n",
		ms < 50 ? "met" : "MISSED", rss < 10240 ? "met" : "MISSED" }'

mb=$(bench_calc 'r / 1024' r="$rss")
if [ -n "$p_ms" ]; then
	peer_ms=$(bench_fmt 'sysctl -a %.2f ms' "$p_ms") ratio_ms=$(bench_ratio "$p_ms" "$ms")
	peer_mb=$(bench_fmt 'sysctl -a %.1f MB' "$(bench_calc 'r / 1024' r="$p_rss")")
	ratio_mb=$(bench_ratio "$p_rss" "$rss")
else
	peer_ms=- ratio_ms=- peer_mb=- ratio_mb=-
fi
bench_row "gpusnap local snapshot: time" "$(bench_fmt '%.2f ms' "$ms")" \
	"$peer_ms" "$ratio_ms" "< 50 ms" "$(bench_met 'ms < 50' ms="$ms")"
bench_row "gpusnap local snapshot: peak RSS" "$(bench_fmt '%.1f MB' "$mb")" \
	"$peer_mb" "$ratio_mb" "< 10 MB" "$(bench_met 'mb < 10' mb="$mb")"
