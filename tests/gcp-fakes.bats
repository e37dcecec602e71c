#!/usr/bin/env bats
# The Google Cloud fakes (tests/fakes/gcp): the real gcloud against them
# through DIR/env, and each API at the protocol level with curl. `run g
# METHOD URL [BODY [CURL-ARGS...]]` gives the HTTP status as line 0; the
# body is in $BATS_TEST_TMPDIR/body, read with `j EXPR`.

bats_require_minimum_version 1.5.0
for _f in /usr/lib/bats/bats-support/src/*.bash /usr/lib/bats/bats-assert/src/*.bash; do
	source "$_f"
done
unset _f
exec </dev/null

CLOUD="$BATS_TEST_DIRNAME/fakes/gcp/cloud"
P=wlkit-test

setup_file() {
	export D="$BATS_FILE_TMPDIR/gcp"
	mkdir -p "$D/kube"
	echo 16443 >"$D/kube/port"
	printf -- '-----BEGIN CERTIFICATE-----\nZmFrZQ==\n-----END CERTIFICATE-----\n' >"$D/kube/ca.crt"
	# the example seed plus a cluster whose endpoint comes from a kube fake
	# dir; operations last 1.5 s, so that a second request made while one
	# runs still finds it running on a loaded machine
	sed -e "s|^clusters:|clusters:\n  - {location: europe-west4-a, name: local, kube: $D/kube}|" \
		-e 's/^  operation: 0.4$/  operation: 1.5/' \
		"$BATS_TEST_DIRNAME/fakes/gcp/example-seed.yaml" >"$D/seed.yaml"
	"$CLOUD" up "$D" --seed "$D/seed.yaml" >&3 2>&1 || return 1
	PY=$(python3 -I -S -c 'import sys; print(sys.executable)')
	export PY
}

teardown_file() {
	"$CLOUD" down "$D" >/dev/null 2>&1 || true
}

setup() {
	source "$D/env"
	TOK=$(cat "$D/token")
	BUILDS=${CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD}v1/projects/$P
	GKE=${CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER}v1/projects/$P/locations
	GCE=${CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE}projects
	GCS=$WLKIT_GCP_FAKE
}

g() {	# g METHOD URL [BODY [CURL-ARGS...]]: one request with the token ($TOKEN)
	local method=$1 url=$2 body=${3-} tok=${TOKEN-$TOK} rc
	shift $(($# < 3 ? $# : 3))
	local args=(-sS --max-time 10 -X "$method" -o "$BATS_TEST_TMPDIR/body"
		-w '%{http_code}')
	[ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
	[ -n "$body" ] && args+=(-H "Content-Type: application/json" --data-binary "$body")
	curl "${args[@]}" "$@" "$url"
	rc=$?
	echo
	return $rc
}

j() {	# j EXPR [FILE]: a Python expression over a JSON document (o)
	"$PY" -I -S -c '
import json, sys
o = json.load(open(sys.argv[2]))
v = eval(sys.argv[1], {"o": o, "json": json})
print(v if isinstance(v, str) else json.dumps(v))' "$1" "${2:-$BATS_TEST_TMPDIR/body}"
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

jwt() {	# jwt KEY ISS AUD: an RS256 service-account assertion signed with KEY
	local now si
	now=$(date +%s)
	si=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url).$(printf \
		'{"iss":"%s","scope":"https://www.googleapis.com/auth/cloud-platform","aud":"%s","iat":%d,"exp":%d}' \
		"$2" "$3" "$now" $((now + 3600)) | b64url)
	printf '%s.%s' "$si" "$(printf %s "$si" | openssl dgst -sha256 -sign "$1" -binary | b64url)"
}

upload() {	# upload BUCKET NAME FILE: a media upload
	g POST "$GCS/upload/storage/v1/b/$1/o?uploadType=media&name=$2" "" \
		-H "Content-Type: application/gzip" --data-binary "@$3"
}

build_body() {	# build_body OBJECT IMAGE
	printf '{"source":{"storageSource":{"bucket":"%s_cloudbuild","object":"%s"}},"steps":[{"name":"gcr.io/cloud-builders/docker","args":["build","--network","cloudbuild","-t","%s","."]}],"images":["%s"],"timeout":"600s"}' \
		"$P" "$1" "$2" "$2"
}

source_tgz() {	# source_tgz DIR DOCKERFILE-TEXT: DIR.tgz of a context
	mkdir -p "$1"
	printf '%b' "$2" >"$1/Dockerfile"
	tar czf "$1.tgz" -C "$1" .
}

@test "DIR/env: gcloud's own override variables, a fresh config, plain-HTTP loopback" {
	run -0 grep -c '^export ' "$D/env"
	for v in CLOUDBUILD CONTAINER COMPUTE STORAGE; do
		# the variable names gcloud reads (its properties' api_endpoint_overrides)
		grep -q "^export CLOUDSDK_API_ENDPOINT_OVERRIDES_$v='http://127.0.0.1:[0-9]*/" "$D/env"
	done
	assert_equal "$CLOUDSDK_CONFIG" "$D/gcloud"
	assert_equal "$CLOUDSDK_CORE_PROJECT" "$P"
	assert_equal "$(cat "$CLOUDSDK_AUTH_ACCESS_TOKEN_FILE")" "$TOK"
	run -0 j 'o["type"], o["token_uri"] == "'"$CLOUDSDK_AUTH_TOKEN_HOST"'"' "$D/sa.json"
	assert_output '["service_account", true]'
	run -0 j 'o["type"]' "$D/user.json"
	assert_output authorized_user
}

@test "gcloud builds submit and list, clusters describe, instance-templates list, storage cp" {
	# google-cloud-cli is no Debian package: this machine's image has it, a
	# plain Debian one may not
	command -v gcloud >/dev/null || skip "gcloud (google-cloud-cli) is not installed"
	echo 'hello from gcloud' >"$BATS_TEST_TMPDIR/f.txt"
	run g POST "$GCS/storage/v1/b?project=$P" '{"name":"gc-bucket"}'
	assert_output 200
	source_tgz "$BATS_TEST_TMPDIR/ctx" 'FROM busybox\n'
	# gcloud's own flow: staging bucket (created, ownership listed), upload,
	# create; --async because its log tailer has storage.googleapis.com
	# built in and ignores the endpoint override
	run -0 gcloud builds submit "$BATS_TEST_TMPDIR/ctx" --tag "gcr.io/$P/gc:1" \
		--region us-central1 --async --verbosity=error --format='value(id,status)'
	assert_line --regexp '^[0-9a-f-]{36}	QUEUED$'
	id=${lines[-1]%%	*}
	run -0 gcloud builds list --region us-central1 --verbosity=error --format='value(id,images[0],source.storageSource.bucket)'
	assert_line "$id	gcr.io/$P/gc:1	${P}_cloudbuild"
	run -0 gcloud container clusters describe train --location us-central1 \
		--verbosity=error --format='value(endpoint,nodePools[1].name,nodePools[1].instanceGroupUrls[1])'
	assert_output --regexp "^10\\.0\\.0\\.2	gpu-pool	$GCE/$P/zones/us-central1-b/instanceGroupManagers/gke-train-gpu-pool-[0-9a-f]{8}-grp\$"
	run -0 gcloud compute instance-templates list --verbosity=error --format='value(name,properties.machineType)'
	assert_line --regexp '^gke-train-gpu-pool-[0-9a-f]{8}	g2-standard-12$'
	assert_line 'regional-tpl	e2-small'
	run -0 gcloud storage cp "$BATS_TEST_TMPDIR/f.txt" gs://gc-bucket/dir/f.txt --verbosity=error
	run g GET "$GCS/storage/v1/b/gc-bucket/o/dir%2Ff.txt?alt=media"
	assert_output 200
	cmp "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/f.txt"
}

@test "a build goes QUEUED -> WORKING -> SUCCESS, its log grows, the digest is the archive's" {
	run g POST "$GCS/storage/v1/b?project=$P" "{\"name\":\"${P}_cloudbuild\"}"
	source_tgz "$BATS_TEST_TMPDIR/ctx" 'FROM busybox\nRUN echo hi\n'
	run upload "${P}_cloudbuild" source/ok.tgz "$BATS_TEST_TMPDIR/ctx.tgz"
	assert_output 200
	run g POST "$BUILDS/locations/us-central1/builds" "$(build_body source/ok.tgz gcr.io/$P/app:v1)"
	assert_output 200
	run -0 j 'o["metadata"]["@type"], o["metadata"]["build"]["status"], "done" in o'
	assert_output '["type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata", "QUEUED", false]'
	id=$(j 'o["metadata"]["build"]["id"]')
	[ "$(j 'o["name"]')" = "projects/$P/locations/us-central1/operations/$id" ]
	logs=$(j 'o["metadata"]["build"]["logsBucket"]')
	logs=${logs#gs://}
	states=" QUEUED" off=0 grew=0 auth="Authorization: Bearer $TOK"	# QUEUED: the creation's answer
	for i in $(seq 200); do
		s=$(curl -sS -H "$auth" "$BUILDS/locations/us-central1/builds/$id" |
			sed -n 's/^ "status": "\([A-Z_]*\)",*$/\1/p')
		[ "${states##* }" = "$s" ] || states="$states $s"
		# tail the log as gcloud does: Range from the offset read so far
		code=$(curl -sS -o "$BATS_TEST_TMPDIR/piece" -w '%{http_code}' -H "$auth" \
			-H "Range: bytes=$off-" "$GCS/storage/v1/b/$logs/o/log-$id.txt?alt=media")
		if [ "$code" = 206 ]; then
			cat "$BATS_TEST_TMPDIR/piece" >>"$BATS_TEST_TMPDIR/log"
			off=$((off + $(stat -c %s "$BATS_TEST_TMPDIR/piece")))
			grew=$((grew + 1))
		else
			[[ "$code" == 404 || "$code" == 416 ]]
		fi
		[ "$s" = SUCCESS ] && [ "$code" != 206 ] && break
		sleep 0.1
	done
	assert_equal "$states" " QUEUED WORKING SUCCESS"
	echo "log pieces read: $grew"
	[ "$grew" -ge 3 ]
	run g GET "$GCS/storage/v1/b/$logs/o/log-$id.txt?alt=media"
	cmp "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/log"
	run -0 tail -n 1 "$BATS_TEST_TMPDIR/log"
	assert_output DONE
	run g GET "$GCS/storage/v1/b/$logs/o/log-$id.txt?alt=media" "" -H "Range: bytes=$off-"
	assert_output 416
	run -0 j 'o["error"]["errors"][0]["reason"]'
	assert_output requestedRangeNotSatisfiable
	run g GET "$BUILDS/locations/us-central1/builds/$id"
	want=$( (cat "$BATS_TEST_TMPDIR/ctx.tgz"; printf %s "gcr.io/$P/app:v1") | sha256sum)
	run -0 j '[[i["name"], i["digest"]] for i in o["results"]["images"]]'
	assert_output "[[\"gcr.io/$P/app:v1\", \"sha256:${want%% *}\"]]"
	run g GET "${CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD}v1/projects/$P/locations/us-central1/operations/$id"
	run -0 j 'o["done"], o["response"]["@type"], o["response"]["status"]'
	assert_output '[true, "type.googleapis.com/google.devtools.cloudbuild.v1.Build", "SUCCESS"]'
}

@test "builds: RUN exit 1 fails with the step's error, cancel, invalid builds are 400" {
	run g POST "$GCS/storage/v1/b?project=$P" "{\"name\":\"${P}_cloudbuild\"}"
	source_tgz "$BATS_TEST_TMPDIR/bad" 'FROM busybox\nRUN exit 1\nRUN echo never\n'
	run upload "${P}_cloudbuild" source/bad.tgz "$BATS_TEST_TMPDIR/bad.tgz"
	run g POST "$BUILDS/builds" "$(build_body source/bad.tgz gcr.io/$P/bad)"
	assert_output 200
	id=$(j 'o["metadata"]["build"]["id"]')
	[ "$(j 'o["name"]')" = "operations/build/$P/$id" ]
	run g POST "$BUILDS/builds" "$(build_body source/bad.tgz gcr.io/$P/slow)"
	slow=$(j 'o["metadata"]["build"]["id"]')
	run g POST "$BUILDS/builds/$slow:cancel" '{}'
	assert_output 200
	run -0 j 'o["status"]'
	assert_output CANCELLED
	run g POST "$BUILDS/builds/$slow:cancel" '{}'
	assert_output 400
	run -0 j 'o["error"]["status"]'
	assert_output FAILED_PRECONDITION
	for i in $(seq 100); do
		g GET "$BUILDS/builds/$id" >/dev/null
		[ "$(j 'o["status"]')" = FAILURE ] && break
		sleep 0.1
	done
	run -0 j 'o["status"], o["failureInfo"]["type"], "results" in o'
	assert_output '["FAILURE", "USER_BUILD_STEP", false]'
	logs=$(j 'o["logsBucket"]')
	run g GET "$GCS/storage/v1/b/${logs#gs://}/o/log-$id.txt?alt=media"
	run -0 tail -n 4 "$BATS_TEST_TMPDIR/body"
	assert_line --index 0 "Step #0: The command '/bin/sh -c exit 1' returned a non-zero code: 1"
	assert_line --index 3 'ERROR: build step 0 "gcr.io/cloud-builders/docker" failed: step exited with non-zero status: 1'
	refute_output --partial never
	run g POST "$BUILDS/builds" "$(build_body source/missing.tgz gcr.io/$P/x)"
	assert_output 400
	run -0 j 'o["error"]["status"], o["error"]["message"]'
	assert_output "[\"INVALID_ARGUMENT\", \"invalid build: source object gs://${P}_cloudbuild/source/missing.tgz does not exist\"]"
	run g POST "$BUILDS/builds" '{"steps":[]}'
	assert_output 400
	run g POST "$BUILDS/builds" "$(build_body source/bad.tgz "gcr.io/$P
/app")"
	assert_output 400	# the seed's trailing-newline image name
}

@test "storage: 409 with the real messages, resumable upload with 308 and Range, paging" {
	run g POST "$GCS/storage/v1/b?project=$P" '{"name":"st-bucket"}'
	assert_output 200
	run g POST "$GCS/storage/v1/b?project=$P" '{"name":"st-bucket"}'
	assert_output 409
	run -0 j 'o["error"]["message"]'
	assert_output 'Your previous request to create the named bucket succeeded and you already own it.'
	run g POST "$GCS/storage/v1/b?project=someone-else" '{"name":"st-bucket"}'
	run -0 j 'o["error"]["code"], o["error"]["errors"][0]["reason"], o["error"]["message"][:43]'
	assert_output '[409, "conflict", "The requested bucket name is not available."]'
	head -c 1000 /dev/urandom >"$BATS_TEST_TMPDIR/r.bin"
	loc=$(curl -sS -D - -o /dev/null -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
		-d '{"name":"a/r.bin"}' "$GCS/upload/storage/v1/b/st-bucket/o?uploadType=resumable" |
		tr -d '\r' | sed -n 's/^Location: //p')
	[[ "$loc" == "$GCS/upload/storage/v1/b/st-bucket/o?uploadType=resumable&"*"upload_id="* ]]
	head -c 400 "$BATS_TEST_TMPDIR/r.bin" >"$BATS_TEST_TMPDIR/c1"
	run -0 curl -sS -D - -o /dev/null -X PUT -H "Authorization: Bearer $TOK" \
		-H 'Content-Range: bytes 0-399/*' --data-binary "@$BATS_TEST_TMPDIR/c1" "$loc"
	assert_line --index 0 --partial '308 Resume Incomplete'
	assert_line --partial 'Range: bytes=0-399'
	tail -c 600 "$BATS_TEST_TMPDIR/r.bin" >"$BATS_TEST_TMPDIR/c2"
	run g PUT "$loc" "" -H 'Content-Range: bytes 400-999/1000' --data-binary "@$BATS_TEST_TMPDIR/c2"
	assert_output 200
	run -0 j 'o["name"], o["size"]'
	assert_output '["a/r.bin", "1000"]'
	run g GET "$GCS/storage/v1/b/st-bucket/o/a%2Fr.bin?alt=media"
	cmp "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/r.bin"
	for i in 1 2 3; do upload st-bucket "p/o$i" "$BATS_TEST_TMPDIR/c1" >/dev/null; done
	run g GET "$GCS/storage/v1/b/st-bucket/o?prefix=p/&maxResults=2"
	run -0 j '[i["name"] for i in o["items"]]'
	assert_output '["p/o1", "p/o2"]'
	run g GET "$GCS/storage/v1/b/st-bucket/o?prefix=p/&maxResults=2&pageToken=$(j 'o["nextPageToken"]')"
	run -0 j '[i["name"] for i in o["items"]], "nextPageToken" in o'
	assert_output '[["p/o3"], false]'
}

@test "oauth: refresh and JWT grants issue tokens the APIs accept; a JWT signed with another key is refused" {
	tokurl=$CLOUDSDK_AUTH_TOKEN_HOST
	email=$(j 'o["client_email"]' "$D/sa.json")
	j 'o["private_key"]' "$D/sa.json" >"$BATS_TEST_TMPDIR/sa.pem"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$BATS_TEST_TMPDIR/other.pem" 2>/dev/null
	TOKEN= run g POST "$tokurl" "" -d grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer \
		-d "assertion=$(jwt "$BATS_TEST_TMPDIR/other.pem" "$email" "$tokurl")"
	assert_output 400
	run -0 j 'o'
	assert_output '{"error": "invalid_grant", "error_description": "Invalid JWT Signature."}'
	TOKEN= run g POST "$tokurl" "" -d grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer \
		-d "assertion=$(jwt "$BATS_TEST_TMPDIR/sa.pem" "$email" "$tokurl")"
	assert_output 200
	run -0 j 'o["token_type"], o["expires_in"]'
	assert_output '["Bearer", 3600]'
	TOKEN=$(j 'o["access_token"]') run g GET "$GKE/-/clusters"
	assert_output 200
	TOKEN= run g POST "$tokurl" "" -d grant_type=refresh_token -d "client_id=$(j 'o["client_id"]' "$D/user.json")" \
		-d "client_secret=$(j 'o["client_secret"]' "$D/user.json")" -d refresh_token=1//wrong
	assert_output 400
	TOKEN= run g POST "$tokurl" "" -d grant_type=refresh_token -d "client_id=$(j 'o["client_id"]' "$D/user.json")" \
		-d "client_secret=$(j 'o["client_secret"]' "$D/user.json")" -d "refresh_token=$(j 'o["refresh_token"]' "$D/user.json")"
	assert_output 200
	TOKEN=$(j 'o["access_token"]') run g GET "$GKE/-/clusters"
	assert_output 200
	TOKEN=ya29.made-up run g GET "$GKE/-/clusters"
	assert_output 401
	run -0 j 'o["error"]["status"], o["error"]["errors"][0]["reason"]'
	assert_output '["UNAUTHENTICATED", "authError"]'
}

@test "metadata server: Metadata-Flavor required, project id and a usable token" {
	run -0 curl -sS -w '\n%{http_code}' "http://$GCE_METADATA_HOST/computeMetadata/v1/project/project-id"
	assert_line --index 0 --partial 'Missing Metadata-Flavor:Google header.'
	assert_line --index 1 403
	run -0 curl -sS -H 'Metadata-Flavor: Google' "http://$GCE_METADATA_HOST/computeMetadata/v1/project/project-id"
	assert_output "$P"
	TOKEN= run g GET "http://$GCE_METADATA_HOST/computeMetadata/v1/instance/service-accounts/default/token" "" \
		-H 'Metadata-Flavor: Google'
	assert_output 200
	TOKEN=$(j 'o["access_token"]') run g GET "$GCE/$P/global/instanceTemplates"
	assert_output 200
}

@test "container: endpoint and CA from a kube fake dir; node pool create and delete are operations" {
	run g GET "$GKE/europe-west4-a/clusters/local"
	assert_output 200
	run -0 j 'o["endpoint"], o["masterAuth"]["clusterCaCertificate"]'
	assert_output "[\"127.0.0.1:16443\", \"$(base64 -w0 "$D/kube/ca.crt")\"]"
	run g GET "$GKE/us-central1/clusters/nope"
	assert_output 404
	run -0 j 'o["error"]["message"], o["error"]["status"]'
	assert_output "[\"Not found: projects/$P/locations/us-central1/clusters/nope.\", \"NOT_FOUND\"]"
	run g POST "$GKE/us-central1/clusters/train/nodePools" '{"nodePool":{"name":"np2","locations":["us-central1-c"]}}'
	assert_output 200
	run -0 j 'o["operationType"], o["status"]'
	assert_output '["CREATE_NODE_POOL", "PENDING"]'
	op=$(j 'o["selfLink"]')
	run g POST "$GKE/us-central1/clusters/train/nodePools" '{"nodePool":{"name":"np3"}}'
	assert_output 400	# one change at a time
	for i in $(seq 50); do
		g GET "$op" >/dev/null
		[ "$(j 'o["status"]')" = DONE ] && break
		sleep 0.1
	done
	run g GET "$GKE/us-central1/clusters/train/nodePools/np2"
	run -0 j 'o["status"], len(o["instanceGroupUrls"])'
	assert_output '["RUNNING", 1]'
	run g GET "$(j 'o["instanceGroupUrls"][0]')"
	assert_output 200
	run -0 j 'o["name"], o["instanceTemplate"].split("/")[-1] + "-grp" == o["name"]'
	assert_output --regexp '^\["gke-train-np2-[0-9a-f]{8}-grp", true\]$'
	run g DELETE "$GKE/us-central1/clusters/train/nodePools/np2"
	assert_output 200
	run -0 j 'o["operationType"]'
	assert_output DELETE_NODE_POOL
}

@test "compute: template insert and wait, setInstanceTemplate, delete in use, images from family, paging" {
	run g GET "$GCE/gke-node-images/global/images/family/gke-1322-cos"
	run -0 j 'o["name"]'
	assert_output gke-1322-cos-b	# -c is newer but deprecated
	run g GET "$GCE/gke-node-images/global/images?maxResults=2"
	run -0 j 'len(o["items"]), o["nextPageToken"]'
	assert_output '[2, "2"]'
	run g GET "$GCE/$P/zones/us-central1-a/instanceGroupManagers"
	igm=$(j 'o["items"][0]["selfLink"]')
	old=$(j 'o["items"][0]["instanceTemplate"]')
	run g DELETE "$old"
	assert_output 400
	run -0 j 'o["error"]["errors"][0]["reason"]'
	assert_output resourceInUseByAnotherResource
	g GET "$old" >/dev/null
	body=$(j 'json.dumps({"name": "nodeimage-1", "properties": dict(o["properties"], disks=[dict(o["properties"]["disks"][0], initializeParams={"sourceImage": "projects/gke-node-images/global/images/gke-1322-cos-a"})])})')
	run g POST "$GCE/$P/global/instanceTemplates?requestId=r-1" "$body"
	assert_output 200
	op=$(j 'o["selfLink"]')
	run g POST "$GCE/$P/global/instanceTemplates?requestId=r-1" "$body"
	[ "$(j 'o["selfLink"]')" = "$op" ]	# the same operation for a retry
	run g POST "$op/wait"
	run -0 j 'o["status"], "error" in o'
	assert_output '["DONE", false]'
	run g POST "$GCE/$P/global/instanceTemplates" "$body"
	assert_output 409
	run g POST "$igm/setInstanceTemplate" "{\"instanceTemplate\":\"https://www.googleapis.com/compute/v1/projects/$P/global/instanceTemplates/nodeimage-1\"}"
	assert_output 200
	run g POST "$(j 'o["selfLink"]')/wait"
	run g GET "$igm"
	run -0 j 'o["instanceTemplate"]'
	assert_output "$GCE/$P/global/instanceTemplates/nodeimage-1"
	run g DELETE "$old"
	assert_output 200	# no longer in use
	run g POST "$GCE/$P/global/instanceTemplates" \
		'{"name":"broken","properties":{"disks":[{"boot":true,"initializeParams":{"sourceImage":"projects/gke-node-images/global/images/nope"}}]}}'
	run g POST "$(j 'o["selfLink"]')/wait"
	run -0 j 'o["status"], o["httpErrorStatusCode"], o["error"]["errors"][0]["code"]'
	assert_output '["DONE", 404, "RESOURCE_NOT_FOUND"]'
}

@test "faults: 503 with Retry-After, dropped connections; the request log has no credentials" {
	run g POST "$GCS/_wlkit/faults" '[{"api":"compute","action":"503","count":2,"retryAfter":7},{"api":"container","action":"drop"},{"api":"storage","path":"/o/","action":"drop-body"}]'
	assert_output 201
	run -0 curl -sS -D - -o /dev/null -H "Authorization: Bearer $TOK" "$GCE/$P/global/instanceTemplates"
	assert_line --index 0 --partial 503
	assert_line --partial 'Retry-After: 7'
	run g GET "$GCE/$P/global/instanceTemplates"
	assert_output 503
	run -0 j 'o["error"]["status"]'
	assert_output UNAVAILABLE
	run g GET "$GCE/$P/global/instanceTemplates"
	assert_output 200
	run -52 curl -sS -H "Authorization: Bearer $TOK" "$GKE/-/clusters"
	run -0 g GET "$GKE/-/clusters"
	run g POST "$GCS/storage/v1/b?project=$P" '{"name":"faults-bucket"}'
	upload faults-bucket x "$D/env" >/dev/null
	run -18 curl -sS -H "Authorization: Bearer $TOK" "$GCS/storage/v1/b/faults-bucket/o/x"
	run g POST "$GCS/_wlkit/faults" '[{"api":"cloudbuild","action":"429","retryAfter":1},{"api":"metadata","action":"delay","seconds":0.6}]'
	run g GET "$BUILDS/builds"
	assert_output 429
	run -0 j 'o["error"]["status"]'
	assert_output RESOURCE_EXHAUSTED
	run -0 curl -sS -o /dev/null -w '%{time_total}' -H 'Metadata-Flavor: Google' \
		"http://$GCE_METADATA_HOST/computeMetadata/v1/project/project-id"
	[ "${output%%.*}" -ge 1 ] || [ "${output#0.}" -ge 6 ]	# at least 0.6 s
	run g GET "$GCS/_wlkit/faults"
	run -0 j 'o["faults"]'
	assert_output '[]'
	TOKEN= run g GET "$GCS/_wlkit/requests"
	assert_output 401
	run g GET "$GCS/_wlkit/requests"
	assert_output 200
	run -0 j 'len(o["requests"]) > 20, [e["code"] for e in o["requests"] if e["api"] == "container"][-2:]'
	assert_output '[true, [-1, 200]]'
	for secret in "$TOK" "$(j 'o["client_secret"]' "$D/user.json")" \
		"$(j 'o["refresh_token"]' "$D/user.json")" ya29.fake-; do
		run ! grep -qF -- "$secret" "$BATS_TEST_TMPDIR/body" "$D/log"
	done
}
