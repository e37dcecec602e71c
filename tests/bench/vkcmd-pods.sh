#!/usr/bin/env bash
# vkcmd-pods.sh - kubectl-vkcmd under load: N pods (default 200) that run
# `true` on one node of the local control plane, created at once with one
# kubectl; prints pods per second from creation to all Succeeded, the time
# per pod against running `true` directly, and the agent's peak RSS (VmHWM).
# Twice: pods without volumes (plain fork/exec) and pods with the
# service-account token volume (materialised, run under bwrap).
# Not part of make check.  Usage: tests/bench/vkcmd-pods.sh [N]
set -eu
n=${1:-200}
root=$(cd "$(dirname "$0")/../.." && pwd)
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

run() {	# run LABEL AUTOMOUNT
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
c1=$(cpu_ms)
run token true
c2=$(cpu_ms)
printf 'agent CPU per pod: %.2f ms plain, %.2f ms with the token volume\n' \
	"$(echo "($c1 - $c0) / $n" | bc -l)" "$(echo "($c2 - $c1) / $n" | bc -l)"
printf 'agent peak RSS (VmHWM): %s\n' "$(awk '/VmHWM/ {print $2, $3}' "/proc/$agent/status")"
