#!/usr/bin/env bash
# nodeimage.sh - `gcloud-nodeimage mutate` of 50 instance groups over 5
# zones (10 node pools of 5 zones each) against the Google fakes: the API
# calls per group, by kind, from the fake's request log (the minimum is one
# manager GET per group, one template GET, insert and wait per pool, one
# setInstanceTemplate and wait per group), and the wall time, with the
# operations (0.5 s each) awaited concurrently across zones; a serial
# mutate would take about 10 x 0.5 + 50 x 0.5 = 30 s of operations.
# Not part of make check.  Usage: tests/bench/nodeimage.sh
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
d=$(mktemp -d)
trap '"$root/tests/fakes/gcp/cloud" down "$d/gcp" >/dev/null 2>&1; rm -rf "$d"' EXIT
zones="us-central1-a, us-central1-b, us-central1-c, us-central1-f, us-central1-d"
{
	printf 'project: wlkit-test\ntiming: {operation: 0.5}\nclusters:\n'
	printf '  - {location: us-central1, name: bench, nodePools: [\n'
	for i in $(seq 1 10); do
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
print("wall time: %.2f s (operations 0.5 s each; serial would be about 30 s)" % secs)
' "$(grep -c 'action: mutated' "$d/out")" "$(echo "$t1 - $t0" | bc -l)"
