#!/usr/bin/env bats
# kubectl vastrun upload-to-share against the sandbox: .env discovery and
# its one-line list of missing variables; the upload running in a Job on a
# vk-cmd node (`kubectl-vastrun pod share`), to a Nextcloud-style WebDAV
# share (nginx) and to the fake Google Drive API (resumable, in chunks,
# into a Shared Drive folder); existing names refused unless --force; the
# archive kept in the run's bucket when the upload fails (and reused) or
# with --keep-archive; runs still running skipped; credentials never shown.
# The store is s3rver, recorded with --store external.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$BATS_FILE_TMPDIR/c" --nodes 1 >&3 2>&1
	export KUBECONFIG="$BATS_FILE_TMPDIR/c/kubeconfig"
	"$WLKIT_ROOT/tests/fakes/s3/s3" up "$BATS_FILE_TMPDIR/s3" >&3 2>&1
	"$WLKIT_ROOT/tests/fakes/dav/dav" up "$BATS_FILE_TMPDIR/dav" >&3 2>&1
	"$WLKIT_ROOT/tests/fakes/gcp/cloud" up "$BATS_FILE_TMPDIR/gcp" >&3 2>&1
	. "$BATS_FILE_TMPDIR/s3/env"
	printf '%s' "$S3_ACCESS_KEY" >"$BATS_FILE_TMPDIR/ak"
	printf '%s' "$S3_SECRET_KEY" >"$BATS_FILE_TMPDIR/sk"
	kubectl-vastrun setup minikube --store external --s3-endpoint "$S3_ENDPOINT" \
		--s3-access-key-file "$BATS_FILE_TMPDIR/ak" \
		--s3-secret-key-file "$BATS_FILE_TMPDIR/sk" >"$BATS_FILE_TMPDIR/setup.log" 2>&1 ||
		{ cat "$BATS_FILE_TMPDIR/setup.log" >&3; return 1; }
}

teardown_file() {
	"$WLKIT_ROOT/tests/fakes/gcp/cloud" down "$BATS_FILE_TMPDIR/gcp" >/dev/null 2>&1 || true
	"$WLKIT_ROOT/tests/fakes/dav/dav" down "$BATS_FILE_TMPDIR/dav" >/dev/null 2>&1 || true
	"$WLKIT_ROOT/tests/fakes/s3/s3" down "$BATS_FILE_TMPDIR/s3" >/dev/null 2>&1 || true
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$BATS_FILE_TMPDIR/c" >/dev/null 2>&1 || true
}

setup() {
	. "$BATS_FILE_TMPDIR/s3/env"
	. "$BATS_FILE_TMPDIR/dav/env"
	G=$BATS_FILE_TMPDIR/gcp
	DRIVE=$(sed -n "s/^export CLOUDSDK_API_ENDPOINT_OVERRIDES_DRIVE='\(.*\)'$/\1/p" "$G/env")
	export CLOUDSDK_API_ENDPOINT_OVERRIDES_DRIVE=$DRIVE
	unset ROBOVAST_SHARE_TYPE ROBOVAST_SHARE_URL ROBOVAST_GDRIVE_SERVICE_ACCOUNT_JSON
	RUN=run-2026-01-01-0000$(printf '%02d' "$BATS_TEST_NUMBER")
	P=$BATS_TEST_TMPDIR/project
	mkdir -p "$P/sub/dir"
	cd "$P/sub/dir"
}

# s3 METHOD PATH [FILE]: a signed request to s3rver with curl
s3() {
	local sha=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 up=()
	if [ $# -ge 3 ]; then
		sha=$(sha256sum "$3" | cut -d' ' -f1)
		up=(-T "$3")
	fi
	curl -sS --fail-with-body --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: $sha" \
		-X "$1" "${up[@]}" "$S3_ENDPOINT$2"
}

# mkrun [BIG-KIB]: the bucket $RUN with three results, and a random file
# of BIG-KIB KiB (incompressible) when given
mkrun() {
	local d=$BATS_TEST_TMPDIR/objects k
	rm -rf "$d"
	mkdir -p "$d/c1/0" "$d/c1/1"
	echo "speed: 0.5" >"$d/c1/config.yaml"
	echo "result of run 0" >"$d/c1/0/out.txt"
	echo "result of run 1" >"$d/c1/1/out.txt"
	[ -z "${1:-}" ] || head -c "$(($1 * 1024))" /dev/urandom >"$d/c1/0/big.bin"
	s3 PUT "/$RUN" >/dev/null
	for k in $(cd "$d" && find . -type f | sed 's|^\./||'); do
		s3 PUT "/$RUN/$k" "$d/$k" >/dev/null
	done
}

nextcloud_env() {
	printf 'ROBOVAST_SHARE_TYPE=nextcloud\nROBOVAST_SHARE_URL=%s\n' "${1:-$DAV_SHARE_URL}" >"$P/.env"
}

# gdrive_env: a Shared Drive with a folder (FOLDER), the key next to .env
gdrive_env() {
	local tok
	tok=$(cat "$G/token")
	DRIVE_ID=$(curl -sS -H "Authorization: Bearer $tok" -X POST \
		"${DRIVE}drive/v3/drives?requestId=$RUN" -d '{"name": "results"}' | json id)
	FOLDER=$(curl -sS -H "Authorization: Bearer $tok" -X POST \
		"${DRIVE}drive/v3/files?supportsAllDrives=true" \
		-d "{\"name\": \"campaigns\", \"mimeType\": \"application/vnd.google-apps.folder\", \"parents\": [\"$DRIVE_ID\"]}" | json id)
	cp "$G/sa.json" "$P/sa.json"
	printf '%s\n' "ROBOVAST_SHARE_TYPE=gdrive" \
		"ROBOVAST_SHARE_URL=https://drive.google.com/drive/folders/$FOLDER?usp=sharing" \
		"ROBOVAST_GDRIVE_SERVICE_ACCOUNT_JSON=sa.json" >"$P/.env"
}

json() {
	python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# drive_files: "id size name" of the files in FOLDER
drive_files() {
	curl -sS -H "Authorization: Bearer $(cat "$G/token")" \
		"${DRIVE}drive/v3/files?q=%27$FOLDER%27+in+parents+and+trashed%3Dfalse&supportsAllDrives=true&includeItemsFromAllDrives=true&fields=files(id,name,size)" |
		python3 -c 'import json,sys
for f in json.load(sys.stdin)["files"]: print(f["id"], f["size"], f["name"])'
}

drive_get() {
	curl -sS -H "Authorization: Bearer $(cat "$G/token")" \
		"${DRIVE}drive/v3/files/$1?alt=media&supportsAllDrives=true"
}

# the archive's members and contents match the run's objects
check_archive() {
	local x=$BATS_TEST_TMPDIR/x
	rm -rf "$x" && mkdir -p "$x"
	tar -xzf "$1" -C "$x"
	[ "$(cd "$x/$RUN" && find . -type f | sort)" = "$(cd "$BATS_TEST_TMPDIR/objects" && find . -type f | sort)" ]
	diff -r "$x/$RUN" "$BATS_TEST_TMPDIR/objects"
}

@test ".env is found in a parent directory and every missing variable is named in one error" {
	echo "ROBOVAST_SHARE_TYPE=gdrive" >"$P/.env"
	KUBECONFIG=/nonexistent run -1 kubectl-vastrun upload-to-share
	assert_output "error: missing share settings in '$P/.env' and the environment: ROBOVAST_SHARE_URL (the Drive folder link or id), ROBOVAST_GDRIVE_SERVICE_ACCOUNT_JSON (the service account key file)"
	rm "$P/.env"
	cd "$BATS_TEST_TMPDIR"
	[ ! -e /.env ] && [ ! -e /tmp/.env ] || skip "a .env above the test directory"
	KUBECONFIG=/nonexistent run -1 kubectl-vastrun upload-to-share
	assert_output --partial "no .env file in '.' or its parents, and missing from the environment: ROBOVAST_SHARE_TYPE (nextcloud or gdrive), ROBOVAST_SHARE_URL (the share link)"
	assert_equal "${#lines[@]}" 1
}

@test ".env takes export, quotes and comments; the environment wins over it" {
	cat >"$P/.env" <<-EOF
	# the share of the lab
	export ROBOVAST_SHARE_TYPE='nextcloud'   # a comment
	ROBOVAST_SHARE_URL = "https://cloud.example.com/s/AbCdEf"
	EOF
	KUBECONFIG=/nonexistent run -1 kubectl-vastrun upload-to-share
	refute_output --partial "missing"
	refute_output --partial "ROBOVAST"
	ROBOVAST_SHARE_TYPE=dropbox KUBECONFIG=/nonexistent run -1 kubectl-vastrun upload-to-share
	assert_output "error: ROBOVAST_SHARE_TYPE is 'dropbox': it must be nextcloud or gdrive"
	printf 'ROBOVAST_SHARE_TYPE=nextcloud\nROBOVAST_SHARE_URL=https://cloud.example.com/index.php\n' >"$P/.env"
	KUBECONFIG=/nonexistent run -1 kubectl-vastrun upload-to-share
	assert_output "error: ROBOVAST_SHARE_URL is not a Nextcloud public share link (https://HOST/s/TOKEN)"
	KUBECONFIG=/nonexistent run -2 kubectl-vastrun upload-to-share --chunk-size 100Ki
	assert_line --index 0 "error: --chunk-size '100Ki' is not a positive multiple of 256Ki"
	printf 'ROBOVAST_SHARE_TYPE="nextcloud\nROBOVAST_SHARE_URL=x\n' >"$P/.env"
	KUBECONFIG=/nonexistent run -1 kubectl-vastrun upload-to-share
	assert_output "error: cannot parse '$P/.env' line 1: 'ROBOVAST_SHARE_TYPE' has no closing quote"
}

@test "a run goes to the Nextcloud share from a Job in the cluster, with progress" {
	mkrun
	nextcloud_env
	kubectl delete --raw /_wlkit/requests >/dev/null
	run -0 --separate-stderr kubectl-vastrun upload-to-share --run-id "$RUN"
	assert_equal "$output" ""
	output=$stderr
	lines=("${stderr_lines[@]}")
	assert_line "$RUN  downloading 3 objects of run '$RUN' from the store"
	assert_line --regexp "^$RUN  100\.0%  [0-9]+ B/[0-9]+ B$"
	assert_line --regexp "^$RUN  uploaded $RUN\.tar\.gz \([0-9]+ B\) to nextcloud$"
	assert_line "uploaded 1 run(s) to nextcloud"
	check_archive "$BATS_FILE_TMPDIR/dav/share/$RUN.tar.gz"
	# the Job did it, and it is gone with its Secret
	run -0 kubectl get --raw "/_wlkit/requests?method=POST"
	assert_output --partial "/apis/batch/v1/namespaces/default/jobs"
	run -0 kubectl get jobs,secrets -l vastrun.wlkit.dev/share -o name
	assert_output ""
	# no archive left in the bucket
	run -0 s3 GET "/$RUN?list-type=2"
	refute_output --partial "$RUN.tar.gz"
}

@test "an existing archive on the share is refused unless --force" {
	mkrun
	nextcloud_env
	echo old >"$BATS_FILE_TMPDIR/dav/share/$RUN.tar.gz"
	run -1 kubectl-vastrun upload-to-share --run-id "$RUN"
	assert_output --partial "error: nextcloud: '$RUN.tar.gz' already exists on the share: pass --force to replace it"
	assert_line "error: 1 of 1 run(s) not uploaded"
	[ "$(cat "$BATS_FILE_TMPDIR/dav/share/$RUN.tar.gz")" = old ]
	run -0 kubectl-vastrun upload-to-share --run-id "$RUN" --force
	check_archive "$BATS_FILE_TMPDIR/dav/share/$RUN.tar.gz"
}

@test "a wrong share token is a clear error, and the run stays in the store" {
	mkrun
	nextcloud_env "${DAV_SHARE_URL%/s/*}/s/not-the-token"
	run -1 kubectl-vastrun upload-to-share --run-id "$RUN"
	assert_line "$RUN  error: nextcloud: the share at '${DAV_SHARE_URL%/s/*}' refused its token (HTTP 401 Unauthorized): check ROBOVAST_SHARE_URL and that the share allows uploads"
	[ ! -e "$BATS_FILE_TMPDIR/dav/share/$RUN.tar.gz" ]
	run -0 s3 GET "/$RUN?list-type=2"
	assert_output --partial "c1/0/out.txt"
}

@test "Google Drive: a resumable upload in 256 KiB chunks into a Shared Drive folder" {
	mkrun 700
	gdrive_env
	run -0 kubectl-vastrun upload-to-share --run-id "$RUN" --chunk-size 256Ki
	assert_line --regexp "^$RUN   [0-9 ][0-9]\.[0-9]%  256\.0 KiB/7[0-9][0-9]\.[0-9] KiB$"
	assert_line --regexp "^$RUN   [0-9 ][0-9]\.[0-9]%  512\.0 KiB/7[0-9][0-9]\.[0-9] KiB$"
	assert_line --regexp "^$RUN  uploaded $RUN\.tar\.gz \(.* KiB\) to gdrive$"
	run -0 drive_files
	assert_line --regexp " $RUN\.tar\.gz$"
	assert_equal "${#lines[@]}" 1
	drive_get "${lines[0]%% *}" >"$BATS_TEST_TMPDIR/got.tar.gz"
	check_archive "$BATS_TEST_TMPDIR/got.tar.gz"
	# one session, then one PUT per chunk
	run -0 curl -sS -H "Authorization: Bearer $(cat "$G/token")" "${DRIVE}_wlkit/requests?api=drive&method=PUT"
	[ "$(grep -c '"/upload/drive/v3/files"' <<<"$output")" -ge 3 ]
}

@test "Google Drive: an existing name is refused; --force replaces its content" {
	mkrun
	gdrive_env
	run -0 kubectl-vastrun upload-to-share --run-id "$RUN"
	run -0 drive_files
	local id=${output%% *}
	run -1 kubectl-vastrun upload-to-share --run-id "$RUN"
	assert_line "$RUN  error: gdrive: '$RUN.tar.gz' already exists in the Drive folder '$FOLDER': pass --force to replace it"
	echo "result of run 0, again" >"$BATS_TEST_TMPDIR/objects/c1/0/out.txt"
	s3 PUT "/$RUN/c1/0/out.txt" "$BATS_TEST_TMPDIR/objects/c1/0/out.txt" >/dev/null
	run -0 kubectl-vastrun upload-to-share --run-id "$RUN" --force
	run -0 drive_files
	assert_equal "${#lines[@]}" 1
	assert_equal "${output%% *}" "$id"
	drive_get "$id" >"$BATS_TEST_TMPDIR/got.tar.gz"
	check_archive "$BATS_TEST_TMPDIR/got.tar.gz"
}

@test "a failed upload keeps the archive in the bucket; the next one reuses it" {
	mkrun
	gdrive_env
	local admin=(-H "Authorization: Bearer $(cat "$G/token")")
	curl -sS "${admin[@]}" -X POST "${DRIVE}_wlkit/faults" \
		-d '{"api": "drive", "method": "PUT", "path": "^/upload/drive/v3/files", "action": "503", "count": 0}' >/dev/null
	run -1 kubectl-vastrun upload-to-share --run-id "$RUN"
	curl -sS "${admin[@]}" -X DELETE "${DRIVE}_wlkit/faults" >/dev/null
	assert_line --regexp "^$RUN  error: drive: UNAVAILABLE: The service is currently unavailable"
	assert_line "$RUN  the archive is kept in the store as '$RUN/$RUN.tar.gz'"
	s3 GET "/$RUN/$RUN.tar.gz" >"$BATS_TEST_TMPDIR/kept.tar.gz"
	check_archive "$BATS_TEST_TMPDIR/kept.tar.gz"
	run -0 kubectl-vastrun upload-to-share --run-id "$RUN"
	assert_line "$RUN  reusing the archive '$RUN.tar.gz' kept in the store (--force makes a new one)"
	run -0 s3 GET "/$RUN?list-type=2"
	refute_output --partial "$RUN.tar.gz"
	run -0 drive_files
	drive_get "${output%% *}" | cmp - "$BATS_TEST_TMPDIR/kept.tar.gz"
}

@test "--keep-archive keeps the archive in the bucket after the upload" {
	mkrun
	nextcloud_env
	run -0 kubectl-vastrun upload-to-share --run-id "$RUN" --keep-archive
	assert_line "$RUN  the archive is kept in the store as '$RUN/$RUN.tar.gz'"
	s3 GET "/$RUN/$RUN.tar.gz" | cmp - "$BATS_FILE_TMPDIR/dav/share/$RUN.tar.gz"
}

@test "a run with jobs still running or pending is skipped" {
	mkrun
	nextcloud_env
	kubectl apply -f - >/dev/null <<-EOF
	apiVersion: batch/v1
	kind: Job
	metadata: {name: pending-$BATS_TEST_NUMBER, labels: {run-id: $RUN}}
	spec:
	  template:
	    spec:
	      restartPolicy: Never
	      nodeSelector: {kubernetes.io/hostname: no-such-node}
	      containers: [{name: main, image: busybox, command: ["true"]}]
	EOF
	run -0 kubectl-vastrun upload-to-share --run-id "$RUN"
	assert_line "$RUN  skipped: 1 jobs are still running or pending"
	[ ! -e "$BATS_FILE_TMPDIR/dav/share/$RUN.tar.gz" ]
	kubectl delete job "pending-$BATS_TEST_NUMBER" >/dev/null
}

@test "no credential shows on the terminal, -v=9 included" {
	mkrun
	nextcloud_env
	run -0 kubectl-vastrun upload-to-share --run-id "$RUN" -v=9
	assert_output --partial "uploaded 1 run(s)"
	refute_output --partial "$DAV_TOKEN"
	refute_output --partial "$(printf %s "$DAV_SHARE_URL" | base64 -w0)"
	refute_output --partial "$S3_SECRET_KEY"
	gdrive_env
	run -0 kubectl-vastrun upload-to-share --run-id "$RUN" -v=9
	assert_output --partial "uploaded 1 run(s)"
	refute_output --partial "$S3_SECRET_KEY"
	refute_output --partial "$(sed -n 2p "$G/sa.key")"
	refute_output --partial "ya29."
	refute_output --partial "assertion="
}
