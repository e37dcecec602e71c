#!/usr/bin/env bats
# make install / uninstall into a temporary DESTDIR.

load helpers

@test "make install puts binaries, man pages and completions under DESTDIR/PREFIX and uninstall removes them" {
	d=$BATS_TEST_TMPDIR/root
	run -0 make -C "$WLKIT_ROOT" --no-print-directory install DESTDIR="$d" PREFIX=/opt/wlkit SANITIZE="${SANITIZE:-}"
	for b in kubectl-wlbuild kubectl-wlrun kubectl-gpusnap kubectl-vastrun kubectl-vkcmd gcloud-nodeimage; do
		[ -x "$d/opt/wlkit/bin/$b" ]
		[ -f "$d/opt/wlkit/share/man/man1/$b.1" ]
		[ -f "$d/opt/wlkit/share/bash-completion/completions/$b" ]
		[ -f "$d/opt/wlkit/share/zsh/site-functions/_$b" ]
		[ -f "$d/opt/wlkit/share/fish/vendor_completions.d/$b.fish" ]
		run -0 man -l "$d/opt/wlkit/share/man/man1/$b.1"
		assert_output --partial "SYNOPSIS"
	done
	[ -x "$d/opt/wlkit/bin/kubectl_complete-wlrun" ]
	[ -f "$d/opt/wlkit/share/man/man7/wlkit.7" ]
	run -0 "$d/opt/wlkit/bin/kubectl-wlrun" --version
	run -0 make -C "$WLKIT_ROOT" --no-print-directory uninstall DESTDIR="$d" PREFIX=/opt/wlkit SANITIZE="${SANITIZE:-}"
	run -0 find "$d" -type f
	assert_output ""
}

@test "the wlkit(7) page documents the stream protocol, exit codes and environment" {
	run -0 man -l "$WLKIT_ROOT/man/wlkit.7"
	assert_output --partial "THE STREAM PROTOCOL"
	assert_output --partial "124"
	assert_output --partial "125"
	assert_output --partial "WLKIT_SERVICEACCOUNT_DIR"
	assert_output --partial "</dev/null"
}

@test "make deps prints the exact apt-get command for what is missing when not root" {
	local stubs=$BATS_TEST_TMPDIR/stubs
	mkdir -p "$stubs"
	# bats-assert is missing and we are not root
	printf '#!/bin/sh\ncase "$*" in *bats-assert*) exit 1;; esac\necho "install ok installed"\n' >"$stubs/dpkg-query"
	printf '#!/bin/sh\necho 1000\n' >"$stubs/id"
	chmod +x "$stubs/dpkg-query" "$stubs/id"
	PATH="$stubs:$PATH" run -2 make -C "$WLKIT_ROOT" --no-print-directory deps
	assert_output --partial "missing Debian packages; run: sudo apt-get install -y bats-assert"
}
