#!/usr/bin/env bash
# vastrun-run.sh - submitting a campaign of N Jobs (default 500: 5 configs
# x N/5 runs) on the local control plane: `kubectl vastrun run` (project
# checks, bucket, uploads to s3rver, run record, the Jobs over reused
# connections) against `kubectl apply -f all-jobs.yaml` of the same
# campaign from `kubectl vastrun prepare-run` (each into its own namespace),
# wall time and the ratio (target: run at least 3x faster). The namespaces
# have no LocalQueue, so Kueue keeps the Jobs suspended and no pod runs
# while it is measured; the store is recorded by hand, as setup --store
# external would (vastrun.h).
# Ends with its result line (tests/bench/lib.sh). Not part of make check.
# Usage: tests/bench/vastrun-run.sh [--quick] [N]   (--quick: N=50)
set -eu
n=500
if [ "${1:-}" = --quick ]; then n=50; shift; fi
n=${1:-$n}
case $n in *[!0-9]*|'') echo "usage: $0 [--quick] [N]" >&2; exit 2 ;; esac
runs=$(( (n + 4) / 5 ))
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/bench/lib.sh"
d=$(mktemp -d)
trap '"$root/tests/fakes/s3/s3" down "$d/s3" >/dev/null 2>&1
"$root/tests/fakes/kube/cluster" down "$d/c" >/dev/null 2>&1; rm -rf "$d"' EXIT
export PATH="$root/bin:$PATH"
"$root/tests/fakes/kube/cluster" up "$d/c" --nodes 1 >/dev/null
"$root/tests/fakes/s3/s3" up "$d/s3" >/dev/null
export KUBECONFIG=$d/c/kubeconfig
. "$d/s3/env"

now() { date +%s.%N; }

mkdir "$d/p"
{
	echo "configuration:"
	for c in 1 2 3 4 5; do echo "- name: c$c"; echo "  parameters: [{n: $c}]"; done
	echo "execution: {image: busybox, runs: $runs, scenario_file: s.osc,"
	echo "  resources: {cpu: 100m, memory: 64Mi}}"
} >"$d/p/bench.vast"
echo "echo hi" >"$d/p/entrypoint.sh"
echo "scenario" >"$d/p/s.osc"

for ns in vr kc; do
	kubectl create namespace "$ns" >/dev/null
	kubectl create configmap vastrun-store -n "$ns" --from-literal=kind=external \
		--from-literal=endpoint="$S3_ENDPOINT" --from-literal=region="$S3_REGION" >/dev/null
	kubectl create secret generic vastrun-s3 -n "$ns" --from-literal=access-key="$S3_ACCESS_KEY" \
		--from-literal=secret-key="$S3_SECRET_KEY" >/dev/null
done

echo "submitting $((runs * 5)) Jobs (5 configs x $runs runs)"
cd "$d/p"
t0=$(now)
kubectl-vastrun run -n vr -o name --quiet >/dev/null </dev/null
t1=$(now)
v=$(echo "$t1 - $t0" | bc -l)
printf '%-44s %8.2f s\n' "kubectl vastrun run" "$v"
[ "$(kubectl get jobs -n vr -o name | wc -l)" -eq $((runs * 5)) ]

kubectl-vastrun prepare-run -n kc "$d/prep" --quiet </dev/null
t0=$(now)
kubectl apply -f "$d/prep/all-jobs.yaml" >/dev/null
t1=$(now)
k=$(echo "$t1 - $t0" | bc -l)
printf '%-44s %8.2f s\n' "kubectl apply -f all-jobs.yaml (prepare-run)" "$k"
[ "$(kubectl get jobs -n kc -o name | wc -l)" -eq $((runs * 5)) ]
printf 'ratio apply/vastrun: %.1fx (target: at least 3x)\n' "$(echo "$k / $v" | bc -l)"
bench_row "vastrun run, $((runs * 5)) Jobs" "$(bench_fmt '%.2f s' "$v")" \
	"$(bench_fmt 'kubectl apply -f %.2f s' "$k")" "$(bench_ratio "$k" "$v")" \
	">= 3x" "$(bench_met 'k / v >= 3' k="$k" v="$v")"
