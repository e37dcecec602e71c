#!/usr/bin/env bash
# vkcmd-pods.sh - kubectl-vkcmd under load: N pods (default 200) that run
# `true` on one node of the local control plane, created at once with one
# kubectl; prints pods per second from creation to all Succeeded, the time
# per pod against running `true` directly, and the agent's peak RSS (VmHWM).
# Twice: pods without volumes (plain fork/exec) and pods with the
# service-account token volume (materialised, run under bwrap).
# Ends with its result lines (tests/bench/lib.sh): the start overhead per
# pod is the time per pod less `true` run directly (target of the issue:
# under 20 ms, for the plain pods), the peak RSS under 20 MB.
# Not part of make check.  Usage: tests/bench/vkcmd-pods.sh [--quick] [N]
# (--quick: N=50)
set -eu
n=200
if [ "${1:-}" = --quick ]; then n=50; shift; fi
n=${1:-$n}
case $n in *[!0-9]*|'') echo "usage: $0 [--quick] [N]" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/bench/lib.sh"
d=$(mktemp -d)
trap '[ -n "${agent:-}" ] && kill -TERM "$agent" 2>/dev/null; wait 2>/dev/null;
      "$root/tests/fakes/kube/cluster" down "$d/c" >/dev/null 2>&1; rm -rf "$d"' EXIT
"$root/tests/fakes/kube/cluster" up "$d/c" >/dev/null
export KUBECONFIG=$d/c/kubeconfig PATH="$root/bin:$PATH"
kubectl-vkcmd --node-name bench --listen 127.0.0.1:0 --no-taint --max-pods $((n * 2 + 10)) \
	--work-dir "$d/node" </dev/null >"$d/node.log" 2>&1 &
agent=$!
for _ in $(seq 100); do grep -q registered "$d/node.log" && break; sleep 0.1; done

now() { date +%s.%N; }

# the cost of the process itself, for comparison
t0=$(now)
for _ in $(seq "$n"); do /bin/true; done
t1=$(now)
direct=$(echo "($t1 - $t0) * 1000 / $n" | bc -l)

run() {	# run LABEL AUTOMOUNT; sets pps and per_pod (ms)
	local label=$1 mount=$2 i t0 t1 done=0
	for i in $(seq "$n"); do
		cat <<-Y
		---
		apiVersion: v1
		kind: Pod
		metadata: {name: $label-$i, labels: {bench: $label}}
		spec:
		  nodeName: bench
		  restartPolicy: Never
		  automountServiceAccountToken: $mount
		  containers: [{name: main, image: busybox, command: ['true']}]
		Y
	done >"$d/$label.yaml"
	t0=$(now)
	kubectl create -f "$d/$label.yaml" >/dev/null
	t1=$(now)
	until [ "$done" -ge "$n" ]; do
		sleep 0.2
		done=$(kubectl get pods -l bench="$label" \
			-o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Succeeded$' || true)
	done
	local t2 elapsed
	t2=$(now)
	elapsed=$(echo "$t2 - $t0" | bc -l)
	pps=$(echo "$n / $elapsed" | bc -l)
	per_pod=$(echo "$elapsed * 1000 / $n" | bc -l)
	printf '%-10s %d pods: created in %.2f s, all Succeeded after %.2f s: %.1f pods/s, %.1f ms per pod (true alone: %.2f ms)\n' \
		"$label" "$n" "$(echo "$t1 - $t0" | bc -l)" "$elapsed" \
		"$(echo "$n / $elapsed" | bc -l)" "$(echo "$elapsed * 1000 / $n" | bc -l)" "$direct"
}

# the agent's own CPU time (user + system, its threads, not its children)
cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / hz }' \
		"/proc/$agent/stat"
}

printf 'idle agent RSS: %s\n' "$(awk '/VmRSS/ {print $2, $3}' "/proc/$agent/status")"
c0=$(cpu_ms)
run plain false
p_pps=$pps p_ms=$per_pod
c1=$(cpu_ms)
run token true
t_pps=$pps t_ms=$per_pod
c2=$(cpu_ms)
printf 'agent CPU per pod: %.2f ms plain, %.2f ms with the token volume\n' \
	"$(echo "($c1 - $c0) / $n" | bc -l)" "$(echo "($c2 - $c1) / $n" | bc -l)"
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")
printf 'agent peak RSS (VmHWM): %s kB\n' "$hwm"

p_over=$(bench_calc 'p - d' p="$p_ms" d="$direct")
t_over=$(bench_calc 'p - d' p="$t_ms" d="$direct")
bench_row "vkcmd $n pods, plain: pods/s" "$(bench_fmt '%.1f pods/s' "$p_pps")" - - - -
bench_row "vkcmd $n pods, plain: overhead/pod" "$(bench_fmt '%.2f ms' "$p_over")" \
	- - "< 20 ms" "$(bench_met 'o < 20' o="$p_over")"
bench_row "vkcmd $n pods, token volume: pods/s" "$(bench_fmt '%.1f pods/s' "$t_pps")" - - - -
bench_row "vkcmd $n pods, token volume: overhead/pod" \
	"$(bench_fmt '%.2f ms' "$t_over")" - - - -
bench_row "vkcmd agent: peak RSS (VmHWM)" "$(bench_fmt '%.1f MB' "$(bench_calc 'k / 1024' k="$hwm")")" \
	- - "< 20 MB" "$(bench_met 'k / 1024 < 20' k="$hwm")"
