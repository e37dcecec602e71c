#!/usr/bin/env bats
# The fake control plane's controllers, in-process against a stand-in store
# (tests/fakes/kube/test_controllers.py), as part of make check.

load helpers

@test "the controllers' Python unit tests pass" {
	cd "$WLKIT_ROOT/tests/fakes/kube"
	run -0 env PYTHONDONTWRITEBYTECODE=1 python3 -B -m unittest test_controllers
	assert_output --regexp "Ran [0-9]+ tests"
	assert_output --partial "OK"
}
