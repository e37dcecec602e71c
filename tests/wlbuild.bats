#!/usr/bin/env bats
# kubectl-wlbuild against the Google Cloud fakes (tests/fakes/gcp): the
# upload, the build, its log, the ImageBuild and its digest; failures,
# Ctrl-C, retries without a second build, --async and status, --dry-run
# without the network, image naming (the seed's two bugs), the pipe into
# kubectl-wlrun, and the docker backend through a stub docker.

load helpers

CLOUD="$BATS_TEST_DIRNAME/fakes/gcp/cloud"
P=wlkit-test

setup_file() {
	export D="$BATS_FILE_TMPDIR/gcp"
	"$CLOUD" up "$D" --seed "$BATS_TEST_DIRNAME/fakes/gcp/example-seed.yaml" >&3 2>&1 || return 1
}

teardown_file() {
	"$CLOUD" down "$D" >/dev/null 2>&1 || true
	[ -z "${D2:-}" ] || "$CLOUD" down "$D2" >/dev/null 2>&1 || true
}

setup() {
	source "$D/env"
	TOK=$(cat "$D/token")
	GCS=$WLKIT_GCP_FAKE
	CTX="$BATS_TEST_TMPDIR/ctx"
	mkdir -p "$CTX/sub" "$CTX/logs"
	printf 'FROM busybox\nCOPY . /app\nRUN echo built\n' >"$CTX/Dockerfile"
	echo one >"$CTX/a.txt"
	echo two >"$CTX/sub/b.txt"
	echo noise >"$CTX/logs/x.log"
	echo skip >"$CTX/sub/c.tmp"
	printf 'logs/\n*.tmp\n' >"$CTX/.gcloudignore"
}

# api METHOD PATH [BODY]: a request to the fakes with the token; body on stdout
api() {
	curl -sS --max-time 10 -X "$1" -H "Authorization: Bearer $TOK" \
		${3:+-H "Content-Type: application/json" --data-binary "$3"} "$GCS$2"
}

# py EXPR: a Python expression over the JSON document on stdin (o)
py() {
	python3 -I -S -c 'import json, sys
o = json.load(sys.stdin)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$@"
}

requests() {	# requests METHOD PATH-REGEX: how many such requests the fakes saw
	api GET "/_wlkit/requests?method=$1" | py "len([e for e in o['requests'] if __import__('re').search(sys.argv[2], e['path'])])" "$2"
}

@test "a build: the filtered archive uploaded, the steps, the log in order, the digest" {
	api DELETE /_wlkit/requests >/dev/null
	run -0 --separate-stderr kubectl-wlbuild "$CTX" --image app
	# the ImageBuild on stdout, pinned by the digest
	assert_line --index 0 "apiVersion: wlkit.dev/v1alpha1"
	assert_line "kind: ImageBuild"
	assert_line "  name: app"
	assert_line "  context: $CTX"
	assert_line "  project: $P"
	assert_line "  region: global"
	assert_line "  state: SUCCESS"
	image=$(printf '%s\n' "$output" | sed -n 's/^  image: \(gcr.*:.*\)$/\1/p' | head -1)
	[[ $image =~ ^gcr\.io/wlkit-test/app:[0-9]{8}-[0-9]{6}-[0-9a-f]{12}$ ]]
	digest=$(printf '%s\n' "$output" | sed -n 's/^  image: gcr.io\/wlkit-test\/app@\(sha256:.*\)$/\1/p')
	id=$(printf '%s\n' "$output" | sed -n 's/^  buildId: //p')
	# the log went to stderr, in order, and ended with the build
	printf '%s\n' "$stderr" | grep -n -e '^FETCHSOURCE$' -e '^BUILD$' -e '^PUSH$' -e '^DONE$' |
		cut -d: -f2 | tr '\n' ' ' | grep -qx 'FETCHSOURCE BUILD PUSH DONE '
	[[ $stderr == *"Step #0: Step 3/3 : RUN echo built"* ]]
	# the build as created: the docker step and the uploaded object
	curl -sS -H "Authorization: Bearer $TOK" \
		"${CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD}v1/projects/$P/locations/global/builds/$id" >"$BATS_TEST_TMPDIR/b.json"
	run -0 py 'o["steps"][0]["name"] + " " + " ".join(o["steps"][0]["args"])' <"$BATS_TEST_TMPDIR/b.json"
	assert_output "gcr.io/cloud-builders/docker build --network cloudbuild --no-cache -t $image ."
	run -0 py 'o["images"], o["timeout"], o["source"]["storageSource"]["bucket"]' <"$BATS_TEST_TMPDIR/b.json"
	assert_output "[[\"$image\"], \"600s\", \"wlkit-test_cloudbuild\"]"
	obj=$(py 'o["source"]["storageSource"]["object"]' <"$BATS_TEST_TMPDIR/b.json")
	[[ $obj =~ ^source/[0-9]+\.[0-9]{6}-[0-9a-f]{32}\.tgz$ ]]
	curl -sS -H "Authorization: Bearer $TOK" -o "$BATS_TEST_TMPDIR/src.tgz" \
		"$GCS/storage/v1/b/wlkit-test_cloudbuild/o/$(printf %s "$obj" | sed 's|/|%2F|g')?alt=media"
	run -0 tar tzf "$BATS_TEST_TMPDIR/src.tgz"
	assert_output $'.gcloudignore\nDockerfile\na.txt\nsub/\nsub/b.txt'
	# the digest is what the fake computed from those bytes and the name
	want=$( { cat "$BATS_TEST_TMPDIR/src.tgz"; printf %s "$image"; } | sha256sum | cut -c1-64)
	assert_equal "$digest" "sha256:$want"
	# one bucket insert, one upload session, one build
	assert_equal "$(requests POST '/builds$')" 1
	assert_equal "$(requests PUT '^/upload/storage/v1/b/wlkit-test_cloudbuild/o$')" 1
}

@test "the same context gets the same default tag; a change gets another" {
	run -0 kubectl-wlbuild "$CTX" --image app --dry-run -o json
	t1=$(printf '%s\n' "$output" | py 'o["images"][0]')
	run -0 kubectl-wlbuild "$CTX" --image app --dry-run -o json
	assert_equal "$(printf '%s\n' "$output" | py 'o["images"][0]')" "$t1"
	touch -d '2030-01-02 03:04:05 UTC' "$CTX/logs/x.log"	# left out: no change
	run -0 kubectl-wlbuild "$CTX" --image app --dry-run -o json
	assert_equal "$(printf '%s\n' "$output" | py 'o["images"][0]')" "$t1"
	touch -d '2030-01-02 03:04:05 UTC' "$CTX/a.txt"
	run -0 kubectl-wlbuild "$CTX" --image app --dry-run -o json
	t2=$(printf '%s\n' "$output" | py 'o["images"][0]')
	[[ $t2 == gcr.io/wlkit-test/app:20300102-030405-* ]]
	[ "$t2" != "$t1" ]
}

@test "a failing build exits 1 with the end of its log" {
	printf 'FROM busybox\nRUN false\n' >"$CTX/Dockerfile"
	run -1 --separate-stderr kubectl-wlbuild "$CTX" --image app:v1
	assert_output ""
	[[ $stderr == *"Step #0: The command '/bin/sh -c false' returned a non-zero code: 1"* ]]
	[[ $stderr == *"error: build '"*"' ended with FAILURE: Build step failure: build step 0"* ]]
	# streamed once, not repeated at the end
	assert_equal "$(grep -c '^ERROR: build step 0' <<<"$stderr")" 1
	# quiet: the log is not streamed, its last lines are printed at the end
	run -1 --separate-stderr kubectl-wlbuild "$CTX" --image app:v1 -q
	[[ $stderr != *"created build"* ]]
	assert_equal "$(grep -c '^ERROR: build step 0' <<<"$stderr")" 1
	[[ $stderr == *'ERROR: build step 0 "gcr.io/cloud-builders/docker" failed'*"error: build '"*"' ended with FAILURE"* ]]
}

@test "Ctrl-C cancels the build and exits 130" {
	export D2="$BATS_FILE_TMPDIR/slow"
	WLKIT_GCP_FAKE_TIMING="buildQueued=0.2,buildWorking=30" "$CLOUD" up "$D2" >&3 2>&1
	source "$D2/env"
	GCS=$WLKIT_GCP_FAKE TOK=$(cat "$D2/token")
	kubectl-wlbuild "$CTX" --image app:v1 >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	for _ in $(seq 100); do
		grep -q '^starting build' "$BATS_TEST_TMPDIR/err" && break
		sleep 0.1
	done
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 130
	run cat "$BATS_TEST_TMPDIR/err"
	assert_line --regexp "^cancelled build '[0-9a-f-]{36}'$"
	id=$(sed -n "s/^cancelled build '\(.*\)'$/\1/p" "$BATS_TEST_TMPDIR/err")
	assert_equal "$(requests POST "/builds/$id:cancel\$")" 1
	run -0 curl -sS -H "Authorization: Bearer $TOK" \
		"${CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD}v1/projects/$P/locations/global/builds/$id"
	[[ $output == *'"status": "CANCELLED"'* ]]
	[ ! -s "$BATS_TEST_TMPDIR/out" ]
	"$CLOUD" down "$D2"
}

@test "a 503 storm on the upload is retried; exactly one build is created" {
	api DELETE /_wlkit/requests >/dev/null
	api POST /_wlkit/faults '[{"api":"storage","method":"PUT","path":"^/upload/","action":"503","count":3},{"api":"storage","method":"POST","path":"^/upload/","action":"503","count":1}]' >/dev/null
	run -0 --separate-stderr kubectl-wlbuild "$CTX" --image app:storm
	assert_line --regexp '^  image: gcr.io/wlkit-test/app@sha256:[0-9a-f]{64}$'
	assert_equal "$(requests PUT '^/upload/')" 4
	assert_equal "$(requests POST '^/upload/')" 2
	assert_equal "$(requests POST '/builds$')" 1
}

@test "an upload in several chunks, streamed while packing" {
	head -c 700000 /dev/urandom >"$CTX/blob.bin"
	api DELETE /_wlkit/requests >/dev/null
	WLKIT_UPLOAD_CHUNK_KIB=256 run -0 --separate-stderr kubectl-wlbuild "$CTX" --image app:big
	assert_line --regexp '^  image: gcr.io/wlkit-test/app@sha256:[0-9a-f]{64}$'
	assert_equal "$(requests PUT '^/upload/')" 3
}

@test "--async prints the build id at once; status follows it to the digest" {
	run -0 --separate-stderr kubectl-wlbuild "$CTX" --image app:async --async
	assert_line "  state: QUEUED"
	refute_line --partial "@sha256:"
	id=$(printf '%s\n' "$output" | sed -n 's/^  buildId: //p')
	[[ $stderr == *"kubectl wlbuild status $id --follow"* ]]
	run -0 --separate-stderr kubectl-wlbuild status "$id" --follow
	assert_line --regexp '^  image: gcr.io/wlkit-test/app@sha256:[0-9a-f]{64}$'
	assert_line "  buildId: $id"
	[[ $stderr == *DONE* ]]
	run -0 --separate-stderr kubectl-wlbuild status "$id" -o name
	assert_output "imagebuild.wlkit.dev/app"
	assert_equal "$stderr" "build '$id': SUCCESS"
	run -1 --separate-stderr kubectl-wlbuild status 00000000-0000-4000-8000-000000000000
	[[ $stderr == "error: cloudbuild: NOT_FOUND: Requested entity was not found." ]]
}

@test "--dry-run prints the Build request and sends nothing, even with no network" {
	api DELETE /_wlkit/requests >/dev/null
	(
		unset CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
		export CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD=http://127.0.0.1:1/
		export CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE=http://127.0.0.1:1/storage/v1/
		kubectl-wlbuild "$CTX" --image app:v2 --dry-run --region us-central1 \
			--machine-type e2-highcpu-8 --disk-size 200 --timeout 20m \
			--build-arg A=1 --substitution _ENV=prod --dockerfile "$CTX/Dockerfile" \
			--config-out "$BATS_TEST_TMPDIR/cloudbuild.yaml" -o json
	) >"$BATS_TEST_TMPDIR/req.json"
	run -0 py 'o["steps"][0]["args"], o["timeout"], o["options"], o["substitutions"]' <"$BATS_TEST_TMPDIR/req.json"
	assert_output '[["build", "--network", "cloudbuild", "--no-cache", "-t", "gcr.io/wlkit-test/app:v2", "-f", "Dockerfile", "--build-arg", "A=1", "."], "1200s", {"machineType": "E2_HIGHCPU_8", "diskSizeGb": "200", "logging": "LEGACY"}, {"_ENV": "prod"}]'
	run -0 py 'o["source"]["storageSource"]["bucket"]' <"$BATS_TEST_TMPDIR/req.json"
	assert_output wlkit-test_cloudbuild
	assert_equal "$(api GET /_wlkit/requests | py 'len(o["requests"])')" 0
	# the cloudbuild.yaml: the same build, without the source
	run -0 cat "$BATS_TEST_TMPDIR/cloudbuild.yaml"
	assert_line "- name: gcr.io/cloud-builders/docker"
	assert_line "  - gcr.io/wlkit-test/app:v2"
	assert_line "timeout: 1200s"
	assert_line "  machineType: E2_HIGHCPU_8"
	assert_line "  _ENV: prod"
	refute_output --partial "source"
	refute_output --partial "LEGACY"
}

@test "image names: registry hosts kept, the project never doubled, values trimmed" {
	name() {	# name IMAGE [FLAGS...]: the image a dry run would build
		kubectl-wlbuild "$CTX" --image "$@" --dry-run -o json | py 'o["images"][0]'
	}
	run -0 name app:1
	assert_output gcr.io/wlkit-test/app:1
	# the seed's bug 2: gcr.io/p/p/app
	run -0 name wlkit-test/app:1
	assert_output gcr.io/wlkit-test/app:1
	run -0 name team/app:1
	assert_output gcr.io/wlkit-test/team/app:1
	run -0 name gcr.io/other/app:1
	assert_output gcr.io/other/app:1
	run -0 name localhost:5000/app:1
	assert_output localhost:5000/app:1
	run -0 name localhost/app:1
	assert_output localhost/app:1
	run -0 name us-docker.pkg.dev/p/r/app:1
	assert_output us-docker.pkg.dev/p/r/app:1
	run -0 name app:1 --registry europe-west4-docker.pkg.dev/p/repo
	assert_output europe-west4-docker.pkg.dev/p/repo/app:1
	run -0 name app:1 --registry eu.gcr.io
	assert_output eu.gcr.io/wlkit-test/app:1
	run -0 name wlkit-test/app:1 --registry eu.gcr.io
	assert_output eu.gcr.io/wlkit-test/app:1
	run -0 name app:1 --project example.com:proj
	assert_output gcr.io/example.com/proj/app:1
	# the seed's bug 1: a project with a trailing newline, from a flag or the config
	run -0 name app:1 --project $'wlkit-test\n'
	assert_output gcr.io/wlkit-test/app:1
	run -0 name $' app:1\n'
	assert_output gcr.io/wlkit-test/app:1
	mkdir -p "$CLOUDSDK_CONFIG/configurations"
	printf '[core]\nproject = from-config  \n' >"$CLOUDSDK_CONFIG/configurations/config_default"
	CLOUDSDK_CORE_PROJECT= run -0 name app:1
	assert_output gcr.io/from-config/app:1
	rm "$CLOUDSDK_CONFIG/configurations/config_default"
}

@test "the staging bucket's name as gcloud makes it; a bucket of another project is refused" {
	run -0 kubectl-wlbuild "$CTX" --image app:1 --project example.com:my-google-p --dry-run -o json
	assert_equal "$(printf '%s\n' "$output" | py 'o["source"]["storageSource"]["bucket"]')" example_com_my-elgoog-p_cloudbuild
	api POST "/storage/v1/b?project=someone-else" '{"name":"taken-p_cloudbuild"}' >/dev/null
	api DELETE /_wlkit/requests >/dev/null
	run -1 --separate-stderr kubectl-wlbuild "$CTX" --image app:1 --project taken-p -q
	assert_equal "$stderr" "error: the staging bucket 'gs://taken-p_cloudbuild' exists but is not in project 'taken-p'; it belongs to another project and is not used"
	assert_equal "$(requests PUT '^/upload/')" 0
	assert_equal "$(requests POST '/builds$')" 0
}

@test "bad input is one error, exit 2, and nothing is sent" {
	api DELETE /_wlkit/requests >/dev/null
	bad() {	# bad MESSAGE ARGS...: exit 2 with that first line
		local msg=$1
		shift
		run -2 --separate-stderr kubectl-wlbuild "$@"
		assert_equal "${stderr%%$'\n'*}" "error: $msg"
	}
	bad "invalid image name 'gcr.io/wlkit-test/App:1': the repository name must be lower case" "$CTX" --image App:1
	bad "invalid image name 'gcr.io/wlkit-test/app:-x': the tag '-x' must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'" "$CTX" --image app:-x
	bad "invalid image name 'gcr.io/wlkit-test/a b': it contains blanks" "$CTX" --image 'a b'
	bad "--image is empty" "$CTX" --image ' '
	bad "--image is required" "$CTX"
	bad "invalid image name 'gcr.io/wlkit-test/app@sha256:00': a build gives an image a tag, not a digest" "$CTX" --image app@sha256:00
	bad "invalid --substitution 'ENV=1': it must be _KEY=VALUE, KEY upper-case letters, digits and '_'" "$CTX" --image app --substitution ENV=1
	bad "--machine-type needs --backend cloudbuild" "$CTX" --image app --backend docker --machine-type e2-medium
	bad "--dry-run=server is not supported: Cloud Build has no server-side dry run; use --dry-run" "$CTX" --image app --dry-run=server
	bad "invalid --registry 'us-docker.pkg.dev/p': an Artifact Registry is REGION-docker.pkg.dev/PROJECT/REPOSITORY" "$CTX" --image app --registry us-docker.pkg.dev/p
	bad "cannot use the build context '$CTX/nope': No such file or directory" "$CTX/nope" --image app
	bad "the Dockerfile '/etc/hostname' is not inside the build context '$CTX'" "$CTX" --image app --dockerfile /etc/hostname
	printf 'Dockerfile\n' >>"$CTX/.gcloudignore"
	bad "the Dockerfile 'Dockerfile' is left out of the upload by .gcloudignore" "$CTX" --image app
	CLOUDSDK_CORE_PROJECT= bad "no project is set: pass --project, set CLOUDSDK_CORE_PROJECT or run 'gcloud config set project PROJECT'" "$CTX" --image app
	assert_equal "$(api GET /_wlkit/requests | py 'len(o["requests"])')" 0
}

@test "wlbuild | wlrun --dry-run=client: the workload uses the digest; stdin passes through" {
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep-me\n' >"$BATS_TEST_TMPDIR/in.yaml"
	kubectl-wlbuild "$CTX" --image app:piped <"$BATS_TEST_TMPDIR/in.yaml" 2>/dev/null |
		kubectl-wlrun train --accelerator l4-1 --dry-run=client -o yaml -- python3 train.py \
		>"$BATS_TEST_TMPDIR/out.yaml"
	run -0 cat "$BATS_TEST_TMPDIR/out.yaml"
	assert_line --index 0 "apiVersion: v1"
	assert_line "  name: keep-me"
	assert_line --regexp '^ +image: gcr.io/wlkit-test/app@sha256:[0-9a-f]{64}$'
	assert_line --partial "nvidia-l4"
}

@test "--backend docker: buildx with the same name, the filtered archive on stdin" {
	mkdir -p "$BATS_TEST_TMPDIR/stub"
	cat >"$BATS_TEST_TMPDIR/stub/docker" <<-'EOF'
	#!/bin/sh
	# a docker stub: records its argv and stdin, writes buildx's metadata file
	printf '%s\n' "$@" >"$STUB_OUT.argv"
	cat >"$STUB_OUT.stdin"
	while [ $# -gt 0 ]; do
		[ "$1" = --metadata-file ] && printf '{"containerimage.digest": "sha256:%064d"}' 7 >"$2"
		shift
	done
	echo "pushed (stub)"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/stub/docker"
	export STUB_OUT="$BATS_TEST_TMPDIR/rec" PATH="$BATS_TEST_TMPDIR/stub:$PATH"
	api DELETE /_wlkit/requests >/dev/null
	run -0 --separate-stderr kubectl-wlbuild "$CTX" --image app:v1 --backend docker --build-arg A=1
	assert_line "  image: gcr.io/wlkit-test/app:v1"
	assert_line "  image: gcr.io/wlkit-test/app@sha256:$(printf '%064d' 7)"
	assert_line "  backend: docker"
	[[ $stderr == *"pushed (stub)"* ]]
	run -0 grep -v -x -e "$BATS_TEST_TMPDIR/tmp/wlbuild-metadata-.*" -e "/tmp/wlbuild-metadata-.*" "$STUB_OUT.argv"
	assert_output $'buildx\nbuild\n--push\n--metadata-file\n-t\ngcr.io/wlkit-test/app:v1\n--build-arg\nA=1\n-'
	run -0 tar tzf "$STUB_OUT.stdin"
	assert_output $'.gcloudignore\nDockerfile\na.txt\nsub/\nsub/b.txt'
	# .dockerignore rules: docker gets the directory and reads them itself
	rm "$CTX/.gcloudignore"
	printf 'logs\n' >"$CTX/.dockerignore"
	run -0 --separate-stderr kubectl-wlbuild "$CTX" --image localhost:5000/app:v2 --backend docker
	run -0 tail -n 1 "$STUB_OUT.argv"
	assert_output "$CTX"
	[ ! -s "$STUB_OUT.stdin" ]
	# a failing docker is exit 1; nothing reached Google
	printf '#!/bin/sh\nexit 3\n' >"$BATS_TEST_TMPDIR/stub/docker"
	run -1 --separate-stderr kubectl-wlbuild "$CTX" --image app:v3 --backend docker -q
	assert_equal "$stderr" "error: docker buildx build failed with exit status 3"
	assert_equal "$(api GET /_wlkit/requests | py 'len(o["requests"])')" 0
	run -0 kubectl-wlbuild "$CTX" --image app:v4 --backend docker --dry-run
	assert_output "docker buildx build --push -t gcr.io/wlkit-test/app:v4 $CTX"
}

@test "completion: machine types, backends, projects and regions from the gcloud config" {
	run -0 kubectl-wlbuild __complete --machine-type ""
	assert_line e2-highcpu-8
	assert_line n1-highcpu-32
	run -0 kubectl-wlbuild __complete --backend ""
	assert_output $'cloudbuild\ndocker\n:4'
	mkdir -p "$CLOUDSDK_CONFIG/configurations"
	printf '[core]\nproject = other-p\n[compute]\nregion = europe-west4\n' >"$CLOUDSDK_CONFIG/configurations/config_work"
	run -0 kubectl-wlbuild __complete --project ""
	assert_line wlkit-test
	assert_line other-p
	run -0 kubectl-wlbuild __complete --region ""
	assert_line europe-west4
	assert_line global
	rm "$CLOUDSDK_CONFIG/configurations/config_work"
}

@test "the man page documents every flag of both commands" {
	local missing="" c f
	for c in build status; do
		for f in $(kubectl-wlbuild __complete "$c" -- | cut -f1 | grep '^--'); do
			case $f in --v|--quiet) continue ;; esac
			grep -qF -- "$(printf '%s' "$f" | sed 's/-/\\-/g')" "$WLKIT_ROOT/man/kubectl-wlbuild.1" ||
				missing+=" $c:$f"
		done
	done
	[ -z "$missing" ] || { echo "undocumented:$missing"; false; }
}
