# tests/fakes/kube/bats-helpers.bash - set-up for the suites that test the
# local control plane itself (tests/kubectl.bats, tests/fake-apiserver.bats).
# load it with: load fakes/kube/bats-helpers
# bats-support and bats-assert from /usr/lib/bats, sourced file by file:
# their load.bash runs `dirname` once per file, and under bats's debug trap
# that costs about half a second per test.
for _f in /usr/lib/bats/bats-support/src/*.bash /usr/lib/bats/bats-assert/src/*.bash; do
	source "$_f"
done
unset _f

FAKE_KUBE="$(cd "$BATS_TEST_DIRNAME/fakes/kube" && pwd)"
exec </dev/null

# fake_up DIR: starts a control plane in DIR (call from setup_file). PY is
# the Python interpreter, resolved once (a version manager's shim can take
# a good part of a second per run).
fake_up() {
	"$FAKE_KUBE/cluster" up "$1" >&3 2>&1 || return 1
	PY=$(python3 -I -S -c 'import sys; print(sys.executable)')
	FAKE_URL="https://127.0.0.1:$(cat "$1/port")"
	FAKE_TOKEN=$(cat "$1/token")
	export PY FAKE_URL FAKE_TOKEN
}

# fake_down DIR: stops it (call from teardown_file).
fake_down() {
	"$FAKE_KUBE/cluster" down "$1" >/dev/null 2>&1 || true
}

# api METHOD PATH [BODY [CONTENT-TYPE [CURL-ARGS...]]]: one request to the
# server fake_up started, with the admin token (TOKEN overrides it; TOKEN=none sends
# none). Prints the HTTP status on the first line, the body on the second.
api() {
	local method=$1 path=$2 body=${3-} ctype=${4:-application/json} tok rc
	shift $(($# < 4 ? $# : 4))
	tok=${TOKEN:-$FAKE_TOKEN}
	local args=(-sS --max-time 10 --cacert "$D/ca.crt" -X "$method"
		-o "$BATS_TEST_TMPDIR/body" -w '%{http_code}')
	[ "$tok" = none ] || args+=(-H "Authorization: Bearer $tok")
	[ -n "$body" ] && args+=(-H "Content-Type: $ctype" --data-binary "$body")
	curl "${args[@]}" "$@" "$FAKE_URL$path"
	rc=$?
	echo
	cat "$BATS_TEST_TMPDIR/body" 2>/dev/null
	echo
	return $rc
}

# body EXPR: json EXPR over the body of the last api call.
body() {
	json "$1" <"$BATS_TEST_TMPDIR/body"
}

# json EXPR: evaluates a Python expression over the JSON document on stdin
# (bound to o); strings print bare, other values as JSON.
json() {
	"${PY:-python3}" -I -S -c '
import json, sys
o = json.loads(sys.stdin.read())
v = eval(sys.argv[1], {"o": o, "len": len, "sorted": sorted})
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

# events FILE: the "TYPE name" lines of a captured watch stream.
events() {
	"${PY:-python3}" -I -S -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line:
        e = json.loads(line)
        o = e["object"]
        print(e["type"], o.get("metadata", {}).get("name") or o.get("code", ""))' "$1"
}
