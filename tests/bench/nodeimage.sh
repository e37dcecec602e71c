#!/usr/bin/env bash
# nodeimage.sh - `gcloud-nodeimage mutate` of 50 instance groups over 5
# zones (10 node pools of 5 zones each) against the Google fakes: the API
# calls per group, by kind, from the fake's request log (the minimum is one
# manager GET per group, one template GET, insert and wait per pool, one
# setInstanceTemplate and wait per group), and the wall time, with the
# operations (0.5 s each) awaited concurrently across zones; a serial
# mutate would take about 10 x 0.5 + 50 x 0.5 = 30 s of operations.
# Ends with its result lines (tests/bench/lib.sh): the calls per group
# against that minimum, and the wall time against the operations' time
# summed (what awaiting them one after another would take).
# Not part of make check.  Usage: tests/bench/nodeimage.sh [--quick] [POOLS]
# (POOLS node pools of 5 zones each; default 10, --quick: 4)
set -eu
pools=10 op=0.5
if [ "${1:-}" = --quick ]; then pools=4; shift; fi
pools=${1:-$pools}
case $pools in *[!0-9]*|'') echo "usage: $0 [--quick] [POOLS]" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
d=$(mktemp -d)
trap '"$root/tests/fakes/gcp/cloud" down "$d/gcp" >/dev/null 2>&1; rm -rf "$d"' EXIT
zones="us-central1-a, us-central1-b, us-central1-c, us-central1-f, us-central1-d"
{
	printf 'project: wlkit-test\ntiming: {operation: %s}\nclusters:\n' "$op"
	printf '  - {location: us-central1, name: bench, nodePools: [\n'
	for i in $(seq 1 "$pools"); do
		printf '    {name: pool-%d, locations: [%s], config: {machineType: e2-standard-4}},\n' "$i" "$zones"
	done
	printf '  ]}\n'
} >"$d/seed.yaml"
mkdir -p "$d/vars"
cat >"$d/vars/bench.json" <<-'J'
{"project": "wlkit-test", "location": "us-central1", "cluster": "bench",
 "ref_pool": {"name": "ref"}, "source_image": "projects/gke-node-images/global/images/x",
 "image_prefix": "bench", "last_run_id": 1}
J
printf 'KUBELET_ARGS: --v=2\n' >"$d/vars/_kube-env.yaml"
"$root/tests/fakes/gcp/cloud" up "$d/gcp" --seed "$d/seed.yaml" >/dev/null
. "$d/gcp/env"
t0=$(date +%s.%N)
"$root/bin/gcloud-nodeimage" mutate --env bench --vars-dir "$d/vars" --run-id 1 --quiet \
	</dev/null >"$d/out" 2>"$d/err"
t1=$(date +%s.%N)
curl -sS -H "Authorization: Bearer $(cat "$d/gcp/token")" "$WLKIT_GCP_FAKE/_wlkit/requests" |
	python3 -I -S -c '
import json, re, sys
reqs = json.load(sys.stdin)["requests"]
groups, secs = int(sys.argv[1]), float(sys.argv[2])
pools, op = int(sys.argv[3]), float(sys.argv[4])
if groups == 0:
    sys.exit("error: no group was mutated")
kinds = {}
for r in reqs:
    p = r["path"]
    k = ("nodePools list" if "/nodePools" in p else
         "manager GET" if r["method"] == "GET" and "/instanceGroupManagers/" in p else
         "template GET" if r["method"] == "GET" and "/instanceTemplates/" in p else
         "template insert" if r["method"] == "POST" and p.endswith("/instanceTemplates") else
         "setInstanceTemplate" if p.endswith("/setInstanceTemplate") else
         "operation wait" if p.endswith("/wait") else r["method"] + " " + p)
    kinds[k] = kinds.get(k, 0) + 1
print("mutated groups: %d" % groups)
for k, n in sorted(kinds.items()):
    print("  %-22s %4d  (%.2f per group)" % (k, n, n / groups))
print("  %-22s %4d  (%.2f per group)" % ("all calls", len(reqs), len(reqs) / groups))
# awaited one after another: every template insert and setInstanceTemplate
ops = kinds.get("template insert", 0) + kinds.get("setInstanceTemplate", 0)
serial = ops * op
print("wall time: %.2f s (operations %g s each; serial would be about %.1f s)"
      % (secs, op, serial))
# the minimum (above): per group a manager GET, a setInstanceTemplate and
# its wait; per pool a template GET, an insert and its wait; one pool list
least = 3 * groups + 3 * pools + 1
row = "BENCH\t%s\t%s\t%s\t%s\t%s\t%s"
print(row % ("nodeimage mutate, %d groups: API calls/group"
             % groups, "%.2f calls" % (len(reqs) / groups), "-", "-",
             "<= %.2f (the minimum)" % (least / groups),
             "yes" if len(reqs) <= least else "no"))
print(row % ("nodeimage mutate, %d groups: wall time" % groups, "%.2f s" % secs,
             "ops one by one %.1f s" % serial,
             "%.2fx" % (serial / secs) if secs > 0 else "-",
             "< serial (concurrent)", "yes" if secs < serial else "no"))
' "$(grep -c 'action: mutated' "$d/out")" "$(echo "$t1 - $t0" | bc -l)" "$pools" "$op"
