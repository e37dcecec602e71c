# tests/helpers.bash - shared set-up for the bats suites.
# load it with: load helpers
bats_require_minimum_version 1.5.0
# Sourced file by file: their load.bash costs about 0.5 s per test under
# bats's debug trap.
for _f in /usr/lib/bats/bats-support/src/*.bash /usr/lib/bats/bats-assert/src/*.bash; do
	source "$_f"
done
unset _f

WLKIT_ROOT=${WLKIT_ROOT:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
# The programs of the mode under test (tests/run): bin/, or build/sanitize/bin.
[ "${MODE:-plain}" = sanitize ] && WLKIT_BIN=$WLKIT_ROOT/build/sanitize/bin || WLKIT_BIN=$WLKIT_ROOT/bin
PATH="$WLKIT_BIN:$PATH" VKCMD=${VKCMD:-$WLKIT_BIN/kubectl-vkcmd}
export WLKIT_ROOT WLKIT_BIN VKCMD PATH
# Programs read stdin on their own when it is a pipe: never leave one open.
exec </dev/null

# eventually SECONDS CMD...: CMD succeeds within SECONDS (tried every 0.1 s;
# a loaded machine may take a while, nothing here measures speed). On time
# out CMD runs once more with its output shown, and it fails.
eventually() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$end" ]; then
			"$@"
			return 1
		fi
		sleep 0.1
	done
}

# cluster_up DIR: starts the fake control plane; sets KUBECONFIG.
cluster_up() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$1" >&3 2>&1 || return 1
	export KUBECONFIG="$1/kubeconfig"
}

cluster_down() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$1" >/dev/null 2>&1 || true
}
