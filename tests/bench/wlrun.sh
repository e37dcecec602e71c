#!/usr/bin/env bash
# wlrun.sh - kubectl-wlrun against kubectl. (1) generating a manifest:
# `kubectl wlrun NAME --dry-run=client -o yaml` vs `kubectl create job NAME
# --image=... --dry-run=client -o yaml`, N runs each (default 50): wall time
# and peak RSS (/usr/bin/time -f %M) of both and their ratios; /bin/true
# in the same loop shows the cost of fork and exec alone. (2) applying
# M workloads (default 200) from one file on the local control plane: one
# `kubectl wlrun apply -f FILE` vs `kubectl apply --server-side -f FILE`
# (each into a fresh namespace), and the ratio.
# Ends with its result lines (tests/bench/lib.sh). Not part of make check.
# Usage: tests/bench/wlrun.sh [--quick] [N] [M]   (--quick: N=10, M=50)
set -eu
n=50 m=200
if [ "${1:-}" = --quick ]; then n=10 m=50; shift; fi
n=${1:-$n}
m=${2:-$m}
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/bench/lib.sh"
d=$(mktemp -d)
trap '"$root/tests/fakes/kube/cluster" down "$d/c" >/dev/null 2>&1; rm -rf "$d"' EXIT
"$root/tests/fakes/kube/cluster" up "$d/c" --nodes 1 >/dev/null
export KUBECONFIG=$d/c/kubeconfig PATH="$root/bin:$PATH"
wlrun=$root/bin/kubectl-wlrun
kubectl=$(command -v kubectl)

now() { date +%s.%N; }

# many LABEL CMD...: runs CMD n times in a plain loop for the wall time
# (ms per run, fork and exec included, as a user's loop pays them), then 5
# more under /usr/bin/time for the peak RSS (max KiB); timing under
# /usr/bin/time would add its own fork and exec to both sides.
many() {
	local t0 t1 i r
	rss=0
	t0=$(now)
	for i in $(seq "$n"); do
		"${@:2}" >/dev/null
	done
	t1=$(now)
	for i in 1 2 3 4 5; do
		/usr/bin/time -f %M -o "$d/rss" "${@:2}" >/dev/null
		r=$(tail -1 "$d/rss")
		[ "$r" -gt "$rss" ] && rss=$r
	done
	ms=$(echo "($t1 - $t0) * 1000 / $n" | bc -l)
	printf '%-28s %8.2f ms/run  peak RSS %6d KiB\n' "$1" "$ms" "$rss"
}

echo "(1) a Job manifest, --dry-run=client -o yaml, $n runs each"
many "/bin/true (fork+exec)" /bin/true
many "kubectl-wlrun" "$wlrun" bench --kind job --image busybox --dry-run=client -o yaml -- echo hi
w_ms=$ms w_rss=$rss
many "kubectl create job" "$kubectl" create job bench --image=busybox --dry-run=client -o yaml -- echo hi
k_ms=$ms k_rss=$rss
printf 'time ratio kubectl/wlrun: %.1fx   RSS ratio kubectl/wlrun: %.1fx\n' \
	"$(echo "$k_ms / $w_ms" | bc -l)" "$(echo "$k_rss / $w_rss" | bc -l)"

echo "(2) server-side apply of $m workloads from one file"
for i in $(seq "$m"); do
	"$wlrun" "w$i" --kind job --image busybox --queue bench --dry-run=client -o yaml -- echo "$i"
	echo ---
done >"$d/all.yaml"
"$kubectl" create namespace wl >/dev/null
"$kubectl" create namespace kc >/dev/null
t0=$(now)
"$wlrun" apply -n wl -f "$d/all.yaml" 2>/dev/null
t1=$(now)
"$kubectl" apply --server-side -n kc -f "$d/all.yaml" >/dev/null
t2=$(now)
w=$(echo "$t1 - $t0" | bc -l)
k=$(echo "$t2 - $t1" | bc -l)
printf '%-28s %8.3f s\n%-28s %8.3f s\n' "kubectl-wlrun apply" "$w" "kubectl apply --server-side" "$k"
printf 'time ratio kubectl/wlrun: %.1fx\n' "$(echo "$k / $w" | bc -l)"
[ "$("$kubectl" get jobs -n wl -o name | wc -l)" = "$m" ]
[ "$("$kubectl" get jobs -n kc -o name | wc -l)" = "$m" ]

bench_row "wlrun dry-run -o yaml: time/run" "$(bench_fmt '%.2f ms' "$w_ms")" \
	"$(bench_fmt 'kubectl create job %.2f ms' "$k_ms")" "$(bench_ratio "$k_ms" "$w_ms")" \
	">= 20x" "$(bench_met 'k / w >= 20' k="$k_ms" w="$w_ms")"
bench_row "wlrun dry-run -o yaml: peak RSS" "$(bench_fmt '%.1f MB' "$(bench_calc 'r / 1024' r="$w_rss")")" \
	"$(bench_fmt 'kubectl create job %.1f MB' "$(bench_calc 'r / 1024' r="$k_rss")")" \
	"$(bench_ratio "$k_rss" "$w_rss")" - -
bench_row "wlrun apply, $m workloads" "$(bench_fmt '%.2f s' "$w")" \
	"$(bench_fmt 'kubectl apply (SSA) %.2f s' "$k")" "$(bench_ratio "$k" "$w")" \
	">= 3x" "$(bench_met 'k / w >= 3' k="$k" w="$w")"
