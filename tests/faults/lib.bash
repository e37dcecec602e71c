# tests/faults/lib.bash - shared set-up for the fault campaign.
# load it with: load lib
#
# A fault test is named "FAULT | FLOW: what is checked", FAULT one of
#   429 Retry-After, 500/503 burst, dropped connection, cut watch,
#   410 on watch, 410 on continue, slow response
# and FLOW the program and command under test ("wlrun apply"). Each test
# reads the fake's request log to learn how many requests were answered by
# the fault and calls `fault_fired N`: it fails when N is 0 (a fault that
# never fired proves nothing) and records N for the table that
# tests/faults/table prints from the TAP stream.
WLKIT_ROOT=${WLKIT_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
export WLKIT_ROOT
load ../helpers

# fault_fired N: see above.
fault_fired() {
	case ${1:-} in
	'' | *[!0-9]*) echo "fault_fired: not a count: '${1:-}'" >&2; return 1 ;;
	esac
	if [ "$1" -eq 0 ]; then
		echo "the injected fault never fired" >&2
		return 1
	fi
	echo "# fired $1" >&3
}
