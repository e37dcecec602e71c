#!/usr/bin/env bash
# gpusnap.sh - kubectl-gpusnap's local snapshot: N runs (default 50) of
# `kubectl-gpusnap --collectors os,gpu,systemd -o FILE` for the wall time
# (ms per run, fork and exec included) and 5 more under /usr/bin/time for
# the peak RSS, against the targets of the issue (under 50 ms and 10 MB on
# a host without a GPU). Beside it, as peers: /bin/true (fork and exec
# alone) and `sysctl -a` (procps, which reads the same /proc/sys tree the OS
# collector walks) when installed. With --k8s, the k8s collector runs too,
# against the local control plane started for the run.
# Not part of make check.  Usage: tests/bench/gpusnap.sh [N] [--k8s]
set -eu
n=50 k8s=
for a in "$@"; do
	case $a in
	--k8s) k8s=1 ;;
	*[!0-9]*|'') echo "usage: $0 [N] [--k8s]" >&2; exit 2 ;;
	*) n=$a ;;
	esac
done
root=$(cd "$(dirname "$0")/../.." && pwd)
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
if command -v sysctl >/dev/null; then
	many "sysctl -a (procps)" sysctl -a
fi
many "kubectl-gpusnap" "$snap" --collectors "$collectors" -o "$d/s.yaml"
awk -v ms="$ms" -v rss="$rss" 'BEGIN {
	printf "target < 50 ms: %s   target < 10 MB: %s\n",
		ms < 50 ? "met" : "MISSED", rss < 10240 ? "met" : "MISSED" }'
