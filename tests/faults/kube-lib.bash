# tests/faults/kube-lib.bash - the kube fake's side of the fault campaign:
# one control plane per suite, fault injection and the request log.
# load it with: load kube-lib   (after: load lib)

# kube_up [NODES]: starts the fake cluster for this file (call from
# setup_file); sets KUBECONFIG, C (its directory), KURL and KTOKEN, and PY,
# the Python interpreter resolved once (a version manager's shim costs most
# of a second a run on a loaded machine).
kube_up() {
	C="$BATS_FILE_TMPDIR/c"
	PY=$(python3 -I -S -c 'import sys; print(sys.executable)') || return 1
	export PY
	"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$C" --nodes "${1:-0}" >&3 2>&1 || return 1
	export C KUBECONFIG="$C/kubeconfig"
	export KURL="https://127.0.0.1:$(cat "$C/port")" KTOKEN
	KTOKEN=$(cat "$C/token")
}

kube_down() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$C" >/dev/null 2>&1 || true
}

# admin METHOD WHAT [BODY]: the fake's admin endpoint /_wlkit/WHAT.
admin() {
	curl -fsS --max-time 10 --cacert "$C/ca.crt" -H "Authorization: Bearer $KTOKEN" \
		-X "$1" ${3:+-H "Content-Type: application/json" --data-binary "$3"} \
		"$KURL/_wlkit/$2"
}

# inject JSON: adds faults (one object or a list) after clearing the
# request log and the faults left over from an earlier test.
inject() {
	admin DELETE faults >/dev/null && admin DELETE requests >/dev/null &&
		admin POST faults "$1" >/dev/null
}

# unfault: removes every fault still pending.
unfault() {
	admin DELETE faults >/dev/null
}

# reqs EXPR: a Python expression over the request log, bound to r (the
# entries, without the admin requests); strings print bare.
reqs() {
	admin GET requests | "$PY" -I -S -c '
import json, re, sys
r = [e for e in json.load(sys.stdin)["requests"] if not e["path"].startswith("/_wlkit/")]
v = eval(sys.argv[1], {"r": r, "re": re, "len": len, "sorted": sorted})
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

# fired_count: how many requests a fault answered since inject (short
# pages, a helper to make paging cheap, are not counted).
fired_count() {
	reqs 'len([e for e in r if e.get("fault") not in (None, "page")])'
}

# count METHOD PATH-REGEX [CODE]: requests of the log that match (and got
# CODE, when given).
count() {
	reqs "len([e for e in r if e['method'] == '$1' and re.search(r'''$2''', e['path'])
		and ('${3:-}' == '' or str(e['code']) == '${3:-}')])"
}

# names KIND NS: the sorted names of NS's objects of KIND, one line.
names() {
	kubectl get "$1" -n "$2" -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//'
}

# ms: milliseconds since the epoch.
ms() {
	date +%s%3N
}
