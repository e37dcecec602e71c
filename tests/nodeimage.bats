#!/usr/bin/env bats
# gcloud-nodeimage's preparation commands against the Google Cloud fakes
# (tests/fakes/gcp, seeded by tests/fixtures/nodeimage/seed.yaml): the
# environment file and run ids, ref-pool create/delete, check-source-image,
# fetch-metadata (kube-env never printed), build-image (the packer template,
# `packer validate`, a stub packer for the build) and list-pools.
# plan, mutate and rollback are tests/nodeimage-mutate.bats.

load helpers

CLOUD="$BATS_TEST_DIRNAME/fakes/gcp/cloud"
FIX="$BATS_TEST_DIRNAME/fixtures/nodeimage"
# the secrets of the fixtures: in the reference template's kube-env, and in
# vars/_kube-env.yaml
SECRETS="seed-kubelet-cert-3b8e1f LS0tLS1CRUdJTi1jZXJ0aWZpY2F0ZS1ub2RlaW1hZ2U= fixture-replacement-secret-91c4d2"

setup_file() {
	export D="$BATS_FILE_TMPDIR/gcp"
	"$CLOUD" up "$D" --seed "$FIX/seed.yaml" >&3 2>&1 || return 1
}

teardown_file() {
	"$CLOUD" down "$D" >/dev/null 2>&1 || true
}

setup() {
	source "$D/env"
	TOK=$(cat "$D/token")
	V="$BATS_TEST_TMPDIR/vars"
	cp -r "$FIX/vars" "$V"
	cd "$BATS_TEST_TMPDIR"
	# a packer that records its arguments and exits $PACKER_STUB_RC
	mkdir -p stub
	cat >stub/packer <<-'EOF'
	#!/bin/sh
	if [ "$1" = version ]; then echo "Packer v1.9.4"; exit 0; fi
	printf '%s\n' "$*" >>"$PACKER_STUB_LOG"
	echo "==> googlecompute: stub build"
	exit "${PACKER_STUB_RC:-0}"
	EOF
	chmod +x stub/packer
	export PACKER_STUB_LOG="$BATS_TEST_TMPDIR/packer.log"
}

# api METHOD PATH: a request to the fakes with the token; body on stdout
api() {
	curl -sS --max-time 10 -X "$1" -H "Authorization: Bearer $TOK" "$WLKIT_GCP_FAKE$2"
}

# py EXPR: a Python expression over the JSON document on stdin (o)
py() {
	python3 -I -S -c 'import json, sys
o = json.load(sys.stdin)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$@"
}

get() {	# get URL: a GET with the token on any of the fakes' APIs
	curl -sS --max-time 10 -H "Authorization: Bearer $TOK" "$1"
}

nrequests() {	# how many requests the fakes saw since the last clear
	api GET /_wlkit/requests | py 'len(o["requests"])'
}

no_secrets() {	# no fixture secret in the files given
	local s
	for s in $SECRETS; do
		! grep -qF -- "$s" "$@" || { echo "secret '$s' found in $*"; return 1; }
	done
}

@test "run ids are refused before any call: garbage, a sign, leading zeros, not above last_run_id" {
	api DELETE /_wlkit/requests >/dev/null
	run -2 gcloud-nodeimage build-image --env dev --vars-dir "$V" --run-id 4x
	assert_line "error: invalid run id '4x': want an unsigned integer"
	run -2 gcloud-nodeimage build-image --env dev --vars-dir "$V" --run-id -4
	run -2 gcloud-nodeimage build-image --env dev --vars-dir "$V" --run-id 04
	run -2 gcloud-nodeimage build-image --env dev --vars-dir "$V" --run-id 99999999999999999999
	run -2 gcloud-nodeimage build-image --env dev --vars-dir "$V"
	assert_output --partial "--run-id is required"
	# dev.json has last_run_id 3: a build needs a new run id
	run -1 gcloud-nodeimage build-image --env dev --vars-dir "$V" --run-id 3
	assert_output "error: run id 3 is not above last_run_id 3 of '$V/dev.json': each build needs a new run id"
	run -2 gcloud-nodeimage list-pools --env ../dev --vars-dir "$V"
	assert_output --partial "invalid environment name '../dev'"
	run -2 gcloud-nodeimage list-pools --vars-dir "$V"
	assert_output --partial "--env is required"
	assert_equal "$(nrequests)" 0
}

@test "a bad vars file is one line naming the file and the key" {
	api DELETE /_wlkit/requests >/dev/null
	sed -i 's/"last_run_id": 3/"last_run_id": "5"/' "$V/dev.json"
	run -1 --separate-stderr gcloud-nodeimage list-pools --env dev --vars-dir "$V"
	assert_equal "$stderr" "error: $V/dev.json: last_run_id: want an unsigned integer"
	assert_output ""
	sed -i 's/"last_run_id": "5"/"last_run_id": 2.5/' "$V/dev.json"
	run -2 gcloud-nodeimage check-source-image --env dev --vars-dir "$V"
	assert_output "error: $V/dev.json: last_run_id: want an unsigned integer"
	sed -i 's/"last_run_id": 2.5/"last_run_id": 3, "imagePrefix": "x"/' "$V/dev.json"
	run -1 gcloud-nodeimage list-pools --env dev --vars-dir "$V"
	assert_output "error: $V/dev.json: imagePrefix: unknown key"
	sed -i 's/"imagePrefix": "x"/"node_pools": "gpu-pool"/' "$V/dev.json"
	run -1 gcloud-nodeimage list-pools --env dev --vars-dir "$V"
	assert_output "error: $V/dev.json: node_pools: want a list of strings"
	sed -i '/"source_image"/d; s/, "node_pools": "gpu-pool"//' "$V/dev.json"
	run -1 gcloud-nodeimage list-pools --env dev --vars-dir "$V"
	assert_output "error: $V/dev.json: source_image_family: missing (or source_image)"
	cp "$FIX/vars/dev.json" "$V/dev.json"
	printf 'NODE_LABELS: {a: b}\n' >"$V/_kube-env.yaml"
	run -1 gcloud-nodeimage list-pools --env dev --vars-dir "$V"
	assert_output "error: $V/_kube-env.yaml: NODE_LABELS: want a string"
	run -1 gcloud-nodeimage list-pools --env nope --vars-dir "$V"
	assert_output "error: cannot read '$V/nope.json': No such file or directory"
	assert_equal "$(nrequests)" 0
}

@test "ref-pool create waits for DONE with the cluster's standard config; delete waits too" {
	base="${CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER}v1/projects/wlkit-test/locations/us-central1/clusters/train/nodePools"
	api DELETE /_wlkit/requests >/dev/null
	run -0 gcloud-nodeimage ref-pool create --env family --vars-dir "$V" --dry-run
	assert_line "method: POST"
	assert_line "    name: ref-two"
	assert_equal "$(api GET "/_wlkit/requests?method=POST" | py 'len(o["requests"])')" 0
	run -0 --separate-stderr gcloud-nodeimage ref-pool create --env family --vars-dir "$V"
	assert_line "status: DONE"
	# waited: the pool is RUNNING (PROVISIONING until its operation is DONE)
	# the env's fields win, the cluster's standard config fills the rest
	assert_equal "$(get "$base/ref-two" | py '[o["status"], o["config"]["machineType"], o["config"]["imageType"], o["locations"], o["version"]]')" \
		'["RUNNING", "e2-standard-4", "COS_CONTAINERD", ["us-central1-b"], "1.32.2-gke.1182003"]'
	run -1 gcloud-nodeimage ref-pool create --env family --vars-dir "$V"
	assert_output --partial "ALREADY_EXISTS"
	run -0 gcloud-nodeimage ref-pool delete --env family --vars-dir "$V"
	assert_line "status: DONE"
	run -0 get "$base/ref-two"
	assert_output --partial '"code": 404'
	run -2 gcloud-nodeimage ref-pool resize --env family --vars-dir "$V"
}

@test "check-source-image: 0 same, 1 different with both printed, 2 on an error" {
	run -0 gcloud-nodeimage check-source-image --env dev --vars-dir "$V"
	assert_line "referenceImage: projects/gke-node-images/global/images/gke-1322-cos-a"
	assert_line "same: true"
	# the family's newest image is gke-1322-cos-b; the pool runs gke-1322-cos-a
	sed -i 's|"source_image": .*|"source_image_family": "gke-1322-cos", "source_image_project": "gke-node-images",|' "$V/dev.json"
	run -1 --separate-stderr gcloud-nodeimage check-source-image --env dev --vars-dir "$V" --format json
	assert_equal "$(py '[o["referenceImage"], o["declaredImage"], o["same"]]' <<<"$output")" \
		'["projects/gke-node-images/global/images/gke-1322-cos-a", "projects/gke-node-images/global/images/gke-1322-cos-b", false]'
	[[ $stderr == *"gke-1322-cos-a"*"gke-1322-cos-b"* ]]
	# no such reference pool, no such family: 2
	run -2 gcloud-nodeimage check-source-image --env family --vars-dir "$V"
	assert_output --partial "the reference pool 'ref-two' of cluster 'train' does not exist"
	sed -i 's|"source_image_family": "gke-1322-cos"|"source_image_family": "nope"|' "$V/dev.json"
	run -2 gcloud-nodeimage check-source-image --env dev --vars-dir "$V"
	assert_output --partial "NOT_FOUND"
}

@test "fetch-metadata writes 0600 files and never prints a kube-env value, not even at -v=9" {
	run -0 --separate-stderr gcloud-nodeimage fetch-metadata --env dev --vars-dir "$V" --out meta -v=9
	printf '%s\n' "$output" >stdout.txt
	printf '%s\n' "$stderr" >stderr.txt
	assert_equal "$(stat -c %a meta)" 700
	for f in kube-env cluster-name cluster-location configure-sh; do
		assert_equal "$(stat -c %a "meta/$f")" 600
	done
	assert_equal "$(cat meta/cluster-name)" train
	grep -qF "KUBELET_CERT_DATA_SEED: seed-kubelet-cert-3b8e1f" meta/kube-env
	assert_line "    KUBELET_CERT_DATA_SEED: <redacted>"
	assert_line "  value: train"
	# the bodies were logged at -v=9, the template's masked
	grep -q "Response Body" stderr.txt
	grep -q "Response Body: <masked>" stderr.txt
	no_secrets stdout.txt stderr.txt
	# a file that was there with a wider mode is narrowed
	chmod 0644 meta/cluster-name
	run -0 gcloud-nodeimage fetch-metadata --env dev --vars-dir "$V" --out meta --format json
	assert_equal "$(stat -c %a meta/cluster-name)" 600
	assert_equal "$(py '[i["key"] for i in o["items"]]' <<<"$output")" '["kube-env", "cluster-name", "cluster-location", "configure-sh"]'
}

@test "build-image --dry-run writes the template only: builder, labels, guest OS features, scripts" {
	: >"$PACKER_STUB_LOG"
	run -0 --separate-stderr env PATH="$PWD/stub:$PATH" gcloud-nodeimage build-image --env dev --vars-dir "$V" --run-id 4 --dry-run
	assert_line "image: train-node-4"
	assert_line "built: false"
	# the builder's keys, one line each (key=JSON value), and the provisioner
	run -0 py '"\n".join("%s=%s" % (k, json.dumps(v)) for k, v in list(o["builders"][0].items()) + list(o["provisioners"][0].items()))' <nodeimage-dev-4.json
	assert_line 'type="googlecompute"'
	assert_line 'project_id="wlkit-test"'
	assert_line 'zone="us-central1-a"'
	assert_line 'source_image="gke-1322-cos-a"'
	assert_line 'source_image_project_id=["gke-node-images"]'
	assert_line 'image_name="train-node-4"'
	assert_line 'image_family="train-node"'
	assert_line 'image_labels={"wlkit-nodeimage-run": "4", "wlkit-nodeimage-source": "gke-1322-cos-a"}'
	assert_line 'image_guest_os_features=["UEFI_COMPATIBLE", "GVNIC"]'
	assert_line 'disk_size=120'
	assert_line "scripts=[\"$V/gke-essentials.sh\", \"$V/container-cache.sh\"]"
	assert_line --regexp '^execute_command=".*sudo .*\{\{ \.Path \}\}"$'
	# a family: packer resolves it; the build zone and machine from the env
	run -0 env PATH="$PWD/stub:$PATH" gcloud-nodeimage build-image --env family --vars-dir "$V" --run-id 1 --dry-run --template fam.json
	assert_equal "$(py '[o["builders"][0][k] for k in ("source_image_family", "zone", "machine_type", "image_guest_os_features")] + ["source_image" in o["builders"][0]]' <fam.json)" \
		'["gke-1322-cos", "us-central1-b", "n2-standard-8", ["UEFI_COMPATIBLE", "VIRTIO_SCSI_MULTIQUEUE"], false]'
	# nothing built, nothing recorded
	assert_equal "$(cat "$PACKER_STUB_LOG")" ""
	cmp "$V/dev.json" "$FIX/vars/dev.json"
	run -2 env PATH="$PWD/stub:$PATH" gcloud-nodeimage build-image --env dev --vars-dir "$V" --run-id 4 --dry-run --template x.pkr.json
	assert_output --partial "name it FILE.json"
	rm "$V/container-cache.sh"
	run -1 env PATH="$PWD/stub:$PATH" gcloud-nodeimage build-image --env dev --vars-dir "$V" --run-id 4 --dry-run
	assert_output --partial "cannot use the provisioning script '$V/container-cache.sh': No such file or directory"
}

@test "the generated template passes the real packer validate" {
	command -v packer >/dev/null || skip "packer is not installed (Debian package packer)"
	run -0 gcloud-nodeimage build-image --env dev --vars-dir "$V" --run-id 4 --dry-run --template t.json
	run -0 packer validate t.json
	run -0 gcloud-nodeimage build-image --env family --vars-dir "$V" --run-id 9 --dry-run --template f.json
	run -0 packer validate f.json
	# and it is the builder that checks: a wrong key fails
	sed -i 's/"image_name":/"image_nam": "x",\n"image_name":/' t.json
	run -1 packer validate t.json
}

@test "build-image runs packer build and records last_run_id atomically, and not on failure" {
	: >"$PACKER_STUB_LOG"
	chmod 0640 "$V/dev.json"
	ino=$(stat -c %i "$V/dev.json")
	run -1 --separate-stderr env PATH="$PWD/stub:$PATH" PACKER_STUB_RC=1 gcloud-nodeimage build-image --env dev --vars-dir "$V" --run-id 4
	assert_equal "$stderr" "$(printf "wrote the packer template 'nodeimage-dev-4.json'\n==> googlecompute: stub build\nerror: packer build of 'nodeimage-dev-4.json' failed (exit 1): last_run_id stays 3")"
	cmp "$V/dev.json" "$FIX/vars/dev.json"
	run -0 --separate-stderr env PATH="$PWD/stub:$PATH" gcloud-nodeimage build-image --env dev --vars-dir "$V" --run-id 4
	assert_line "built: true"
	# packer's output went to stderr, stdout has the result only
	[[ $stderr == *"stub build"* ]]
	refute_output --partial "stub build"
	assert_equal "$(cat "$PACKER_STUB_LOG")" "$(printf 'build -color=false nodeimage-dev-4.json\nbuild -color=false nodeimage-dev-4.json')"
	# replaced by a rename (a new inode, no temporary left), mode and keys kept
	[ "$(stat -c %i "$V/dev.json")" != "$ino" ]
	assert_equal "$(stat -c %a "$V/dev.json")" 640
	[ ! -e "$V/dev.json.tmp" ]
	assert_equal "$(py '[list(o), o["last_run_id"]]' <"$V/dev.json")" \
		'[["project", "location", "cluster", "ref_pool", "source_image", "image_prefix", "image_family", "last_run_id"], 4]'
	# the same run id again is refused
	run -1 env PATH="$PWD/stub:$PATH" gcloud-nodeimage build-image --env dev --vars-dir "$V" --run-id 4
	assert_output --partial "not above last_run_id 4"
	# an env without last_run_id gets one
	run -0 env PATH="$PWD/stub:$PATH" gcloud-nodeimage build-image --env family --vars-dir "$V" --run-id 0 -q
	assert_equal "$(py 'o["last_run_id"]' <"$V/family.json")" 0
}

@test "list-pools: pools, groups, templates and images; auto-upgrade warned; no kube-env in -v=9 logs" {
	run -0 --separate-stderr gcloud-nodeimage list-pools --env dev --vars-dir "$V"
	assert_line --index 0 --regexp '^POOL +GROUP +LOCATION +TEMPLATE +IMAGE +MUTATED_BY_RUN +AUTO_UPGRADE$'
	assert_line --regexp '^default-pool +gke-train-default-pool-[0-9a-f]{8}-grp +us-central1-a +gke-train-default-pool-[0-9a-f]{8} +gke-1322-cos-a +- +off$'
	assert_line --regexp '^gpu-pool +gke-train-gpu-pool-[0-9a-f]{8}-grp +us-central1-b +gke-train-gpu-pool-[0-9a-f]{8} +gke-1322-cos-a +- +on'
	[[ $stderr == *"warning: node pool 'gpu-pool' has auto-upgrade on"* ]]
	[[ $stderr != *"'default-pool' has auto-upgrade"* ]]
	run -0 --separate-stderr gcloud-nodeimage list-pools --env family --vars-dir "$V" --format json
	assert_equal "$(py '[(g["pool"], g["location"], g["mutatedByRun"]) for g in o]' <<<"$output")" \
		'[["gpu-pool", "us-central1-a", null], ["gpu-pool", "us-central1-b", null], ["a100-pool", "us-central1-a", null], ["a100-pool", "us-central1-b", null]]'
	gcloud-nodeimage list-pools --env dev --vars-dir "$V" -v=9 >out.txt 2>err.txt
	grep -q "Response Body" err.txt
	no_secrets out.txt err.txt
}

@test "--help tells the risks and gives examples" {
	run -0 gcloud-nodeimage --help
	assert_output --partial "GKE re-creates instance templates on upgrades"
	assert_output --partial "repair loops"
	assert_output --partial "node version"
	assert_output --partial "Shielded nodes"
	run -0 gcloud-nodeimage build-image --help
	assert_output --partial "gcloud nodeimage build-image --env dev --run-id 4"
	assert_output --partial "--run-id N"
	rm -r vars
	run -0 gcloud-nodeimage __complete list-pools --vars-dir "$FIX/vars" --env ""
	assert_line --partial dev
	assert_line --partial family
	refute_line --partial _kube-env
}
