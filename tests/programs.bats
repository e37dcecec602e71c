#!/usr/bin/env bats
# The six programs' frames: honest --help/--version, exit 2 for anything
# else, and kubectl finding them as plugins and completing through them.

load helpers

PROGRAMS="kubectl-wlbuild kubectl-wlrun kubectl-gpusnap kubectl-vastrun kubectl-vkcmd gcloud-nodeimage"

@test "every program answers --help with what it is and what this build has" {
	for p in $PROGRAMS; do
		run -0 "$p" --help
		assert_output --partial "Usage:"
	done
	run -0 kubectl-wlrun --help
	assert_output --partial "kubectl wlrun [create] NAME"
	refute_output --partial "Status: this build of wlkit"
	run -0 gcloud-nodeimage -h
	assert_output --partial "gcloud nodeimage COMMAND [flags]"
	run -0 kubectl-vastrun --help
	assert_output --partial "upload-to-share"
	refute_output --partial "Status: this build of wlkit"
}

@test "every program answers --version with the build's version" {
	for p in $PROGRAMS; do
		run -0 "$p" --version
		assert_output --regexp "^$p version [0-9]+\.[0-9]+\.[0-9]+"
	done
}

@test "every program exits 2 on a usage error and points to --help" {
	for p in $PROGRAMS; do
		run -2 "$p" --no-such-flag
		assert_line --index 0 --regexp "^error: "
		assert_output --partial "--help' for usage"
	done
	run -2 kubectl-vastrun create x --image busybox
	assert_output --partial "error: unknown command 'create'"
	run -2 kubectl-vastrun
}

@test "kubectl finds the plugins on PATH and runs them" {
	run -0 kubectl plugin list
	for p in kubectl-wlbuild kubectl-wlrun kubectl-gpusnap kubectl-vastrun kubectl-vkcmd; do
		assert_output --partial "$WLKIT_BIN/$p"
	done
	refute_output --partial "warning"
	run -0 kubectl wlrun --version
	assert_output --partial "kubectl-wlrun version"
	run -2 kubectl vkcmd bogus
}

@test "kubectl completes plugin flags through the kubectl_complete helpers" {
	PATH="$WLKIT_ROOT/completions:$PATH"
	run -0 kubectl __complete wlrun --
	assert_output --partial "--help"
	assert_output --partial "--version"
	assert_line ":4"
}

@test "the shell completion scripts load and ask the program" {
	run -0 bash -c "source '$WLKIT_ROOT/completions/kubectl-wlrun.bash' && COMP_WORDS=(kubectl-wlrun --ver) COMP_CWORD=1 && _kubectl_wlrun && printf '%s\n' \"\${COMPREPLY[@]}\""
	assert_output "--version"
}
