#!/usr/bin/env bats
# Every seed (tests/fuzz/corpus/TARGET) and every crash the fuzzers found
# (tests/fuzz/crashes/TARGET, kept once fixed) replayed through the fuzz
# targets of mk/fuzz.mk, built without libFuzzer: build/fuzz-replay/
# replay-TARGET, with AddressSanitizer and UBSan when the compiler has them
# (`make unit` builds them; setup_file makes sure).

load helpers

TARGETS="yaml_stream kubeconfig exec_cred watch_split kube_status vast_project ni_vars smi ignore s3_xml"

setup_file() {
	make -C "$WLKIT_ROOT" -s fuzz-replay >&3 2>&1 || return 1
}

# replay TARGET: runs every input of TARGET; each must run to its end.
replay() {
	local t=$1 files=() f
	for f in "$WLKIT_ROOT/tests/fuzz/corpus/$t"/* "$WLKIT_ROOT/tests/fuzz/crashes/$t"/*; do
		[ -f "$f" ] && files+=("$f")
	done
	[ ${#files[@]} -gt 0 ] || fail "no inputs for $t"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		run -0 "$WLKIT_ROOT/build/fuzz-replay/replay-$t" "${files[@]}"
	assert_output --partial "replayed ${#files[@]} inputs"
	refute_output --partial "ERROR: "
	refute_output --partial "runtime error"
}

@test "every target of mk/fuzz.mk has an entry point and seeds" {
	local t
	run -0 make -C "$WLKIT_ROOT" -s --no-print-directory fuzz-targets
	assert_output "$TARGETS"
	for t in $TARGETS; do
		[ -f "$WLKIT_ROOT/tests/fuzz/$t.c" ] || fail "no tests/fuzz/$t.c"
		grep -q LLVMFuzzerTestOneInput "$WLKIT_ROOT/tests/fuzz/$t.c" || fail "$t.c has no entry point"
		[ -n "$(ls -A "$WLKIT_ROOT/tests/fuzz/corpus/$t")" ] || fail "no seeds for $t"
	done
}

@test "the replay driver fails on an input it cannot read" {
	run -1 "$WLKIT_ROOT/build/fuzz-replay/replay-smi" "$BATS_TEST_TMPDIR/missing"
	assert_output --partial "cannot read"
}

@test "replay: YAML stream reader" { replay yaml_stream; }
@test "replay: kubeconfig loading" { replay kubeconfig; }
@test "replay: ExecCredential parsing" { replay exec_cred; }
@test "replay: watch event splitter" { replay watch_split; }
@test "replay: Kubernetes Status parsing" { replay kube_status; }
@test "replay: project-file (.vast) parser" { replay vast_project; }
@test "replay: vars/*.json loader" { replay ni_vars; }
@test "replay: nvidia-smi output parsing" { replay smi; }
@test "replay: ignore-file matcher" { replay ignore; }
@test "replay: S3 XML parsing" { replay s3_xml; }
