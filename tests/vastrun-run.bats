#!/usr/bin/env bats
# kubectl vastrun run / prepare-run / pod against the sandbox: the project
# file's checks (one line with file, line and key; nothing created),
# per-context resources, prepare-run's manifests accepted by the API server,
# and a whole campaign whose pods really fetch their config from s3rver,
# run the scenario and upload their results.

bats_require_minimum_version 1.5.0
load helpers

FIX="$WLKIT_ROOT/tests/fixtures/vastrun"
NS=vast
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

setup_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$BATS_FILE_TMPDIR/c" --nodes 2 >&3 2>&1
	export KUBECONFIG="$BATS_FILE_TMPDIR/c/kubeconfig"
	"$WLKIT_ROOT/tests/fakes/s3/s3" up "$BATS_FILE_TMPDIR/s3" >&3 2>&1
	kubectl create namespace "$NS" >/dev/null
	# the store as setup records an external one
	(. "$BATS_FILE_TMPDIR/s3/env" &&
		kubectl-vastrun setup minikube -n "$NS" --store external \
			--s3-endpoint "$S3_ENDPOINT") >/dev/null 2>&1
}

teardown_file() {
	"$WLKIT_ROOT/tests/fakes/s3/s3" down "$BATS_FILE_TMPDIR/s3" >/dev/null 2>&1 || true
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$BATS_FILE_TMPDIR/c" >/dev/null 2>&1 || true
}

setup() {
	. "$BATS_FILE_TMPDIR/s3/env"
}

# s3get PATH: GET ENDPOINT/PATH from s3rver, signed as the store's owner.
s3get() {
	curl -fsS --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H "x-amz-content-sha256: $EMPTY_SHA" "$S3_ENDPOINT/$1"
}

# keys BUCKET: the bucket's keys, one a line.
keys() {
	s3get "$1?list-type=2" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'
}

buckets() {
	s3get "" | grep -o '<Name>[^<]*</Name>' | sed 's/<[^>]*>//g'
}

# nothing_made: no Job, no run record, no bucket.
nothing_made() {
	[ -z "$(kubectl get jobs -n "$NS" -o name)" ] &&
		! kubectl get configmap vastrun-runs -n "$NS" >/dev/null 2>&1 &&
		[ -z "$(buckets)" ]
}

# finished RUN N: N Jobs of the run have finished (Complete or Failed).
finished() {
	kubectl get jobs -n "$NS" -l "run-id=$1" -o json | python3 -c 'import json,sys
d=json.load(sys.stdin)
done=[j for j in d["items"] if any(c["type"] in ("Complete","Failed") and c["status"]=="True"
       for c in j.get("status",{}).get("conditions",[]))]
sys.exit(0 if len(done)==int(sys.argv[1]) else 1)' "$2"
}

@test "a project file with an unknown key, a wrong type, a bad config name or no image: one line, exit 2, nothing made" {
	cd "$FIX/bad"
	run -2 kubectl-vastrun run -n "$NS" --project-file unknown-key.vast
	assert_output "error: unknown-key.vast:3: configuration.0.paramters: unknown key"
	run -2 kubectl-vastrun run -n "$NS" --project-file wrong-type.vast
	assert_output "error: wrong-type.vast:5: execution.runs: must be a positive integer, not a string"
	run -2 kubectl-vastrun run -n "$NS" --project-file bad-name.vast
	assert_output --regexp "^error: bad-name.vast:3: configuration.1.name: 'Narrow_Corridor' is not a valid config name: [^
]*no '_', spaces or '.'\)$"
	run -2 kubectl-vastrun run -n "$NS" --project-file no-image.vast
	assert_output "error: no-image.vast:4: execution.image: is required"
	run -2 kubectl-vastrun run -n "$NS" --project-file params-type.vast
	assert_output "error: params-type.vast:3: configuration.0.parameters: must be a list of single-key maps, not a number"
	nothing_made
}

@test "per-context resources: a scalar everywhere, a list picks the active context, requests equal limits" {
	cd "$FIX/contexts"
	run -0 kubectl-vastrun run -n "$NS" --project-file scalar.vast --dry-run=client -o json
	[ "$(echo "$output" | python3 -c 'import json,sys
c=json.load(sys.stdin)["spec"]["template"]["spec"]["containers"][0]["resources"]
print(c["requests"], c["limits"] == c["requests"])')" = "{'cpu': '2', 'memory': '1Gi'} True" ]
	run -0 kubectl-vastrun run -n "$NS" --project-file match.vast --dry-run=client -o json
	[ "$(echo "$output" | python3 -c 'import json,sys
cs=json.load(sys.stdin)["spec"]["template"]["spec"]["containers"]
print([(c["name"], c["resources"]["limits"]) for c in cs])')" = "[('robovast', {'cpu': '3', 'memory': '2Gi'}), ('nav', {'cpu': '500m', 'memory': '256Mi'})]" ]
}

@test "per-context resources: a list without the active context is an error" {
	cd "$FIX/contexts"
	run -2 kubectl-vastrun run -n "$NS" --project-file nomatch.vast
	assert_output "error: nomatch.vast:7: execution.resources.cpu: no entry for context 'wlkit-test'"
	nothing_made
}

@test "per-context lists naming several contexts are refused without --context, before anything is made" {
	cd "$FIX/contexts"
	run -2 kubectl-vastrun run -n "$NS" --project-file multi.vast
	assert_output "error: multi.vast:8: execution.resources.cpu: per-context values name 2 contexts (gcp-c4, wlkit-test): give --context"
	nothing_made
	run -0 kubectl-vastrun run -n "$NS" --project-file multi.vast --context wlkit-test --dry-run=client -o json
	[ "$(echo "$output" | python3 -c 'import json,sys
print(json.load(sys.stdin)["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"])')" = "{'cpu': '8', 'memory': '20Gi'}" ]
	nothing_made
}

@test "variations expand as a product: --config picks a base config's variations, --runs the count" {
	cd "$FIX/campaign"
	run -0 kubectl-vastrun run -n "$NS" --config open-field --runs 3 --dry-run=client -o name
	assert_equal "${#lines[@]}" 6
	assert_line --regexp '^job.batch/run-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6}-open-field-2-3$'
	run -2 kubectl-vastrun run -n "$NS" --config nope --dry-run=client
	assert_output "error: no config 'nope' in '$FIX/campaign/nav.vast' (configs: corridor, open-field-1, open-field-2, fails)"
	nothing_made
}

@test "prepare-run DIR writes manifests the API server accepts, and an upload script that fills the bucket" {
	cd "$FIX/campaign"
	local d="$BATS_TEST_TMPDIR/prep"
	run -0 kubectl-vastrun prepare-run -n "$NS" "$d"
	for f in robovast-secret.yaml robovast-manifest.yaml kueue-queue-setup.yaml README_kueue.md \
		all-jobs.yaml upload_configs.sh README.md out_template/execution.yaml \
		out_template/entrypoint.sh out_template/open-field-2/config.yaml \
		out_template/corridor/corridor/map.txt; do
		[ -s "$d/$f" ] || fail "$f is missing"
	done
	[ "$(ls "$d/jobs" | wc -l)" -eq 8 ]
	for f in robovast-secret.yaml robovast-manifest.yaml kueue-queue-setup.yaml all-jobs.yaml; do
		run -0 kubectl apply --dry-run=server -f "$d/$f"
	done
	assert_line --regexp '^job.batch/run-.*-fails-2 created \(server dry run\)$'
	# the script's bucket and objects, as the Jobs will fetch them
	local bucket
	bucket=$(sed -n 's/^BUCKET=//p' "$d/upload_configs.sh")
	run -0 sh "$d/upload_configs.sh"
	run -0 keys "$bucket"
	assert_equal "${#lines[@]}" 11
	assert_line "corridor/corridor/map.txt"
	run -0 s3get "$bucket/open-field-1/config.yaml"
	assert_line "  speed: 0.3"
}

@test "prepare-run - writes the manifests as one stream" {
	cd "$FIX/campaign"
	run -0 --separate-stderr kubectl-vastrun prepare-run -n "$NS" -
	[ "$(grep -c '^kind: Job$' <<<"$output")" -eq 8 ]
	grep -q '^kind: LocalQueue$' <<<"$output"
	! grep -q '^kind: Secret$' <<<"$output"
	kubectl-vastrun prepare-run -n "$NS" - 2>/dev/null | kubectl apply --dry-run=server -f - >/dev/null
}

@test "a campaign: 3 configs (one with a 2-value variation) x 2 runs = 8 Jobs that fetch, run and upload" {
	cd "$FIX/campaign"
	run -0 --separate-stderr kubectl-vastrun run -n "$NS" --tools-image wlkit-tools
	assert_line "kind: Campaign"
	local id
	id=$(sed -n 's/^  runId: //p' <<<"$output")
	[[ "$id" =~ ^run-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6}$ ]]
	[ "$(grep -c "^  - $id-" <<<"$output")" -eq 8 ]
	# labelled for Kueue and for the other commands, with the total
	run -0 kubectl get jobs -n "$NS" -l "run-id=$id,kueue.x-k8s.io/queue-name=robovast" \
		-o jsonpath='{range .items[*]}{.metadata.annotations.vastrun\.wlkit\.dev/total-jobs}{" "}{.spec.backoffLimit}{"\n"}{end}'
	assert_equal "$(sort -u <<<"$output")" "8 0"
	run -0 kubectl get configmap vastrun-runs -n "$NS" -o json
	python3 -c 'import json,sys
r=json.loads(json.load(sys.stdin)["data"][sys.argv[1]])
assert r["total"]==8 and r["bucket"]==sys.argv[1] and len(r["jobs"])==8, r' "$id" <<<"$output"
	# the bucket holds the run-level files and every config's files
	run -0 keys "$id"
	assert_line "execution.yaml"
	assert_line "entrypoint.sh"
	assert_line "open-field-2/config.yaml"
	assert_line "corridor/corridor/map.txt"
	eventually 90 finished "$id" 8
	run -0 kubectl get jobs -n "$NS" -l "run-id=$id" \
		-o jsonpath='{range .items[*]}{.metadata.labels.jobgroup}{" "}{.status.succeeded}{.status.failed}{"\n"}{end}'
	assert_equal "$(sort <<<"$output" | tr '\n' ,)" "corridor 1,corridor 1,fails 1,fails 1,open-field-1 1,open-field-1 1,open-field-2 1,open-field-2 1,"
	run -0 kubectl get jobs -n "$NS" -l "run-id=$id,jobgroup=fails" -o jsonpath='{.items[*].status.failed}'
	assert_output "1 1"
	# every pod fetched its config and uploaded what its scenario wrote
	for c in corridor open-field-1 open-field-2 fails; do
		for n in 1 2; do
			run -0 s3get "$id/$c/$n/result.txt"
			assert_output "config=$c run=$n"
			run -0 s3get "$id/$c/$n/logs/scenario.log"
			assert_output "scenario nav: drive along the corridor
domain=7"
		done
	done
	run -0 s3get "$id/open-field-2/1/config.yaml"
	assert_line "  speed: 0.7"
	run -0 s3get "$id/corridor/2/map.txt"
	assert_line "#...#"
	# the failed scenario's partial results were uploaded all the same
	run -0 s3get "$id/fails/1/partial.txt"
	assert_output "partial"
	# monitor reaches 8/8 and shows the failures as failed
	run -0 kubectl-vastrun monitor -n "$NS" --run-id "$id"
	assert_output --partial "$id: 8/8 finished (succeeded 6, failed 2"
	# download gets every file, the failed ones' partial results too, then
	# the bucket goes
	run -0 kubectl-vastrun download -n "$NS" --run-id "$id" --output "$BATS_TEST_TMPDIR/results"
	for c in corridor open-field-1 open-field-2 fails; do
		for n in 1 2; do
			assert_equal "$(cat "$BATS_TEST_TMPDIR/results/$id/$c/$n/result.txt")" "config=$c run=$n"
		done
	done
	assert_equal "$(cat "$BATS_TEST_TMPDIR/results/$id/fails/2/partial.txt")" partial
	[[ "$(buckets || true)" != *"$id"* ]]
}

@test "pod upload-results outside a Job: one line, exit 1" {
	mkdir -p "$BATS_TEST_TMPDIR/out"
	run -1 env -u VASTRUN_S3_ENDPOINT kubectl-vastrun pod upload-results --bucket b \
		--prefix c/1 --from "$BATS_TEST_TMPDIR/out"
	assert_output "error: VASTRUN_S3_ENDPOINT is not set: this command runs in a vastrun Job's pod"
	run -1 env VASTRUN_S3_ENDPOINT="$S3_ENDPOINT" VASTRUN_S3_ACCESS_KEY="$S3_ACCESS_KEY" \
		VASTRUN_S3_SECRET_KEY="$S3_SECRET_KEY" kubectl-vastrun pod fetch-config \
		--bucket no-such-bucket --config c --to "$BATS_TEST_TMPDIR/cfg"
	assert_output --regexp "^error: cannot fetch 'no-such-bucket/execution.yaml': "
	[ "${#lines[@]}" -eq 1 ]
}
