#!/usr/bin/env bats
# kubectl-vkcmd's bad input: one line, exit 2, nothing sent (the kubeconfig
# does not even exist, so any attempt to connect would fail differently).

load helpers

@test "bad node options are usage errors before any connection" {
	for a in "--taint bad" "--taint k=v:NoBlah" "--label =x" "--label a=b@c" \
		 "--cpu lots" "--memory 0" "--max-pods 0" "--runtime podman" \
		 "--walltime soon" "--node-name Bad_Name" "--kubelet-cert /x"; do
		# shellcheck disable=SC2086
		run -2 kubectl-vkcmd --kubeconfig /nonexistent/config $a
		assert_line --index 0 --regexp "^error: "
		refute_output --partial "kubeconfig"
	done
}

@test "pipe-exec needs a command after --" {
	run -2 kubectl-vkcmd pipe-exec /nonexistent/fifo
	assert_output --partial "a command is required after '--'"
}
