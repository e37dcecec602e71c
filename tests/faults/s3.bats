#!/usr/bin/env bats
# The fault campaign, S3 half: kubectl-vastrun download (ListObjectsV2,
# ranged GETs resumed from a .part, DeleteObjects, the bucket's delete),
# the uploads of a run (vastrun run's configs and `pod upload-results`,
# single PUTs and multipart above 16 MiB) and download-cleanup, against
# s3rver behind the SigV4 gate (tests/fakes/s3) with its fault file:
# 503 SlowDown with Retry-After, 500 bursts, connections dropped mid-body
# or after the request took effect (a lost reply), slow answers. Every
# test reads the gate's log (" fault=" marks what a fault answered) and
# lists the store at the end: objects, buckets, multipart uploads left.

load lib

NS=flt
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

setup_file() {
	"$WLKIT_ROOT/tests/fakes/kube/cluster" up "$BATS_FILE_TMPDIR/c" --nodes 1 >&3 2>&1 || return 1
	export KUBECONFIG="$BATS_FILE_TMPDIR/c/kubeconfig"
	"$WLKIT_ROOT/tests/fakes/s3/s3" up "$BATS_FILE_TMPDIR/s3" >&3 2>&1 || return 1
	kubectl create namespace "$NS" >/dev/null
	(. "$BATS_FILE_TMPDIR/s3/env" &&
		printf '%s' "$S3_ACCESS_KEY" >"$BATS_FILE_TMPDIR/ak" &&
		printf '%s' "$S3_SECRET_KEY" >"$BATS_FILE_TMPDIR/sk" &&
		kubectl-vastrun setup minikube -n "$NS" --store external --s3-endpoint "$S3_ENDPOINT" \
			--s3-access-key-file "$BATS_FILE_TMPDIR/ak" \
			--s3-secret-key-file "$BATS_FILE_TMPDIR/sk") >/dev/null 2>&1
}

teardown_file() {
	"$WLKIT_ROOT/tests/fakes/s3/s3" down "$BATS_FILE_TMPDIR/s3" >/dev/null 2>&1 || true
	"$WLKIT_ROOT/tests/fakes/kube/cluster" down "$BATS_FILE_TMPDIR/c" >/dev/null 2>&1 || true
}

setup() {
	. "$BATS_FILE_TMPDIR/s3/env"
	S3DIR=$BATS_FILE_TMPDIR/s3
	rm -f "$S3DIR/faults"
	NLOG=$(wc -l <"$S3DIR/log")
	R=run-2026-09-$(printf %02d "$BATS_TEST_NUMBER")-100000
}

teardown() {
	rm -f "$S3DIR/faults"
}

# s3 METHOD PATH [FILE]: a signed request to the store with curl
s3() {
	local sha=$EMPTY_SHA up=()
	if [ $# -ge 3 ]; then
		sha=$(sha256sum "$3" | cut -d' ' -f1)
		up=(-T "$3")
	fi
	curl -sS --fail-with-body --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: $sha" \
		-X "$1" "${up[@]}" "$S3_ENDPOINT$2"
}
keys() { s3 GET "/$1?list-type=2" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g' | sort; }
buckets() { s3 GET / | grep -o '<Name>[^<]*</Name>' | sed 's/<[^>]*>//g'; }
# uploads BUCKET: the multipart uploads left in it, "KEY ID" a line
uploads() {
	s3 GET "/$1?uploads=" | grep -o '<Upload><Key>[^<]*</Key><UploadId>[^<]*' |
		sed 's/<Upload><Key>//; s/<\/Key><UploadId>/ /'
}
# log: the gate's log lines since the test began
log() { tail -n +"$((NLOG + 1))" "$S3DIR/log"; }
fired() { log | grep -c ' fault=' || true; }
# count REGEX: log lines since the test began that match
count() { log | grep -cE -- "$1" || true; }

# fill: the run's bucket R with a tree of objects (one of 3 MB); the same
# tree under $SRC
fill() {
	SRC=$BATS_TEST_TMPDIR/src
	mkdir -p "$SRC/c1/0" "$SRC/c2/1"
	echo alpha >"$SRC/execution.yaml"
	head -c 3000000 /dev/urandom >"$SRC/c1/0/big.bin"
	for i in 1 2 3; do echo "file $i" >"$SRC/c2/1/f$i.txt"; done
	s3 PUT "/$R" >/dev/null
	(cd "$SRC" && find . -type f | sed 's|^\./||' | sort) >"$BATS_TEST_TMPDIR/keys"
	while read -r key; do s3 PUT "/$R/$key" "$SRC/$key" >/dev/null; done <"$BATS_TEST_TMPDIR/keys"
	NLOG=$(wc -l <"$S3DIR/log")
}

download() {
	run --separate-stderr kubectl-vastrun download -n "$NS" --run-id "$R" --output "$BATS_TEST_TMPDIR/out"
}

# downloaded: every file on disk with its bytes, each object fetched by
# one whole GET (a cut one finished by one ranged GET), the objects deleted
# only after the last GET, and the bucket gone
downloaded() {
	diff -r "$SRC" "$BATS_TEST_TMPDIR/out/$R"
	[ -z "$(find "$BATS_TEST_TMPDIR/out" -name '*.part')" ]
	while read -r key; do
		assert_equal "$(log | grep -E "^GET /$R/$key range=[^ ]+ status=(200|206) " | grep -cv 'fault=drop$')" 1
	done <"$BATS_TEST_TMPDIR/keys"
	last_get=$(log | grep -n "^GET /$R/" | tail -1 | cut -d: -f1)
	first_del=$(log | grep -n -E "^(POST /$R\?delete|DELETE /$R/)" | head -1 | cut -d: -f1)
	[ -n "$first_del" ] && [ "$first_del" -gt "$last_get" ]
	[[ " $(buckets | tr '\n' ' ') " != *" $R "* ]]
}

@test "500/503 burst | vastrun download: 503 SlowDown with Retry-After 1 twice on a GET, the wait honoured" {
	fill
	echo "GET /$R/c2/1/f2.txt 503 2 1" >"$S3DIR/faults"
	t0=$(date +%s.%N)
	download
	t1=$(date +%s.%N)
	assert_success
	[[ $stderr == *"$R: bucket removed"* ]]
	downloaded
	assert_equal "$(count "^GET /$R/c2/1/f2.txt .*status=503 .*fault=503$")" 2
	python3 -c "import sys; sys.exit(not 1.95 <= $t1 - $t0 < 60)" || fail "took $(python3 -c "print($t1 - $t0)") s: Retry-After not honoured"
	fault_fired "$(fired)"
}

@test "500/503 burst | vastrun download: the listing, a GET, DeleteObjects and the bucket delete answered 500/503" {
	fill
	printf '%s\n' "GET /$R?list-type 500 2" "GET /$R/c1/0/big.bin 500 2" \
		"POST /$R?delete 503 2" "DELETE /$R 503 2" >"$S3DIR/faults"
	download
	assert_success
	downloaded
	assert_equal "$(count "^DELETE /$R .*fault=503$")" 2
	assert_equal "$(count "^POST /$R\?delete.*fault=503$")" 2
	fault_fired "$(fired)"
}

@test "dropped connection | vastrun download: a large object cut mid-body twice, resumed with a Range" {
	fill
	echo "GET /$R/c1/0/big.bin drop 2" >"$S3DIR/faults"
	download
	assert_success
	downloaded
	assert_equal "$(count "^GET /$R/c1/0/big.bin range=bytes=[1-9][0-9]*- status=206 [^ ]+$")" 1
	assert_equal "$(count "^GET /$R/c1/0/big.bin .*fault=drop$")" 2
	fault_fired "$(fired)"
}

@test "dropped connection | vastrun download: every GET of an object cut: one line, nothing lost, a re-run finishes" {
	fill
	echo "GET /$R/c1/0/big.bin drop 100" >"$S3DIR/faults"
	download
	assert_failure 1
	assert_equal "$(grep -c '^error: ' <<<"$stderr")" 1
	[[ $stderr == *"error: run '$R': "*"the bucket is kept: run download again to finish"* ]]
	n=$(fired)
	# the store is untouched; the finished files are on disk
	assert_equal "$(keys "$R")" "$(cat "$BATS_TEST_TMPDIR/keys")"
	assert_equal "$(count "^(POST|DELETE) ")" 0
	cmp "$SRC/c2/1/f3.txt" "$BATS_TEST_TMPDIR/out/$R/c2/1/f3.txt"
	[ ! -e "$BATS_TEST_TMPDIR/out/$R/c1/0/big.bin" ]
	# a re-run fetches only what is missing, from where the .part ends
	rm -f "$S3DIR/faults"
	NLOG=$(wc -l <"$S3DIR/log")
	download
	assert_success
	diff -r "$SRC" "$BATS_TEST_TMPDIR/out/$R"
	assert_equal "$(count "^GET /$R/(c2|execution)")" 0
	assert_equal "$(count "^GET /$R/c1/0/big.bin range=bytes=[1-9][0-9]*- status=206")" 1
	[[ " $(buckets | tr '\n' ' ') " != *" $R "* ]]
	fault_fired "$n"
}

@test "dropped connection | vastrun download: DeleteObjects' reply lost, the bucket delete dropped" {
	fill
	printf '%s\n' "POST /$R?delete drop 1" "DELETE /$R drop 1" >"$S3DIR/faults"
	download
	assert_success
	downloaded
	assert_equal "$(fired)" 2
	fault_fired "$(fired)"
}

@test "slow response | vastrun download: the listing and GETs 1 s late" {
	fill
	printf '%s\n' "GET /$R?list-type delay 1 1" "GET /$R/c1/0/big.bin delay 1 1" \
		"GET /$R/c2/1/f1.txt delay 1 1" >"$S3DIR/faults"
	download
	assert_success
	downloaded
	assert_equal "$(fired)" 3
	fault_fired "$(fired)"
}

# --- uploads -----------------------------------------------------------

# results: a pod's results directory, one file of 20 MiB (multipart)
results() {
	SRC=$BATS_TEST_TMPDIR/res
	mkdir -p "$SRC/logs"
	echo done >"$SRC/result.txt"
	echo log >"$SRC/logs/run.log"
	head -c $((20 * 1048576 + 333)) /dev/urandom >"$SRC/big.bin"
	s3 PUT "/$R" >/dev/null
	NLOG=$(wc -l <"$S3DIR/log")
}

upload() {
	run --separate-stderr env VASTRUN_S3_ENDPOINT="$S3_ENDPOINT" VASTRUN_S3_ACCESS_KEY="$S3_ACCESS_KEY" \
		VASTRUN_S3_SECRET_KEY="$S3_SECRET_KEY" kubectl-vastrun pod upload-results \
		--bucket "$R" --prefix c1/1 --from "$SRC"
}

# uploaded: every file there with its bytes, nothing else, no multipart
# upload left behind
uploaded() {
	assert_equal "$(keys "$R" | tr '\n' ' ')" "c1/1/big.bin c1/1/logs/run.log c1/1/result.txt "
	for f in big.bin logs/run.log result.txt; do
		s3 GET "/$R/c1/1/$f" >"$BATS_TEST_TMPDIR/back"
		cmp "$SRC/$f" "$BATS_TEST_TMPDIR/back"
	done
	assert_equal "$(uploads "$R")" ""
}

@test "500/503 burst | vastrun pod upload-results: PUTs, a part, the create and the complete answered 500/503" {
	results
	printf '%s\n' "PUT /$R/c1/1/result.txt 503 2 1" "PUT partNumber=2& 500 2" \
		"POST /$R/c1/1/big.bin?uploads 503 1" "POST /$R/c1/1/big.bin?uploadId 500 1" >"$S3DIR/faults"
	upload
	assert_success
	uploaded
	assert_equal "$(fired)" 6
	fault_fired "$(fired)"
}

@test "dropped connection | vastrun pod upload-results: a PUT's, a part's and the complete's replies lost" {
	results
	printf '%s\n' "PUT /$R/c1/1/result.txt drop 1" "PUT partNumber=1& drop 1" \
		"POST /$R/c1/1/big.bin?uploadId drop 1" >"$S3DIR/faults"
	upload
	assert_success
	uploaded
	assert_equal "$(fired)" 3
	fault_fired "$(fired)"
}

@test "dropped connection | vastrun pod upload-results: CreateMultipartUpload's reply lost, no upload left behind" {
	results
	echo "POST /$R/c1/1/big.bin?uploads drop 1" >"$S3DIR/faults"
	upload
	if [ "$status" -ne 0 ]; then	# or one clear line
		assert_failure 1
		assert_equal "$(grep -c '^error: ' <<<"$stderr")" 1
	fi
	assert_success
	uploaded
	fault_fired "$(fired)"
}

@test "slow response | vastrun pod upload-results: a part and a PUT 1 s late" {
	results
	printf '%s\n' "PUT partNumber=2& delay 1 1" "PUT /$R/c1/1/logs/run.log delay 1 1" >"$S3DIR/faults"
	upload
	assert_success
	uploaded
	assert_equal "$(fired)" 2
	fault_fired "$(fired)"
}

# --- download-cleanup --------------------------------------------------

@test "500/503 burst | vastrun download-cleanup: the listing, DeleteObjects and the bucket delete under 503" {
	fill
	printf '%s\n' "GET /$R?list-type 503 2" "POST /$R?delete 503 2" "DELETE /$R 503 1" >"$S3DIR/faults"
	run --separate-stderr kubectl-vastrun download-cleanup -n "$NS" --run-id "$R"
	assert_success
	[[ $stderr == *"$R: bucket removed"* ]]
	[[ " $(buckets | tr '\n' ' ') " != *" $R "* ]]
	assert_equal "$(fired)" 5
	fault_fired "$(fired)"
}

@test "500/503 burst | vastrun download-cleanup: the store keeps answering 503: one line, exit 1, the bucket kept" {
	fill
	echo "POST /$R?delete 503 100" >"$S3DIR/faults"
	run --separate-stderr kubectl-vastrun download-cleanup -n "$NS" --run-id "$R"
	assert_failure 1
	assert_equal "$(grep -c '^error: ' <<<"$stderr")" 1
	[[ $stderr == *"SlowDown"* ]]
	assert_equal "$(keys "$R")" "$(cat "$BATS_TEST_TMPDIR/keys")"
	n=$(fired)
	rm -f "$S3DIR/faults"
	run -0 kubectl-vastrun download-cleanup -n "$NS" --run-id "$R"
	[[ " $(buckets | tr '\n' ' ') " != *" $R "* ]]
	fault_fired "$n"
}

# --- vastrun run's uploads, then run-cleanup and download-cleanup -------

# campaign: the vastrun fixture's campaign with a 17 MiB file in the
# corridor config (multipart); cd there
campaign() {
	cp -r "$WLKIT_ROOT/tests/fixtures/vastrun/campaign" "$BATS_TEST_TMPDIR/camp"
	head -c $((17 * 1048576)) /dev/urandom >"$BATS_TEST_TMPDIR/camp/corridor/big.bin"
	cd "$BATS_TEST_TMPDIR/camp"
}

# ran: the run's bucket holds the configs (big.bin intact), no multipart
# upload is left, one Job was made; run-cleanup and download-cleanup then
# leave no Job and no bucket
ran() {
	R=$(sed -n 's/^  runId: //p' <<<"$output")
	[[ $R == run-* ]]
	assert_equal "$(keys "$R" | tr '\n' ' ')" "corridor/config.yaml corridor/corridor/big.bin corridor/corridor/map.txt corridor/scenario.osc entrypoint.sh execution.yaml "
	s3 GET "/$R/corridor/corridor/big.bin" >"$BATS_TEST_TMPDIR/back"
	cmp corridor/big.bin "$BATS_TEST_TMPDIR/back"
	assert_equal "$(uploads "$R")" ""
	# completed once (a retry after a lost reply finds it done: 404)
	assert_equal "$(count '^POST .*big.bin\?uploadId=.* status=(200|- .*fault=drop$)')" 1
	assert_equal "$(kubectl get jobs -n "$NS" -l "run-id=$R" -o name | wc -l)" 1
	n=$(fired)
	run -0 kubectl-vastrun run-cleanup -n "$NS" --run-id "$R"
	run -0 kubectl-vastrun download-cleanup -n "$NS" --run-id "$R"
	assert_equal "$(kubectl get jobs -n "$NS" -l "run-id=$R" -o name)" ""
	[[ " $(buckets | tr '\n' ' ') " != *" $R "* ]]
}

@test "500/503 burst | vastrun run: config PUTs, the create and a part answered 503/500" {
	campaign
	printf '%s\n' "PUT entrypoint.sh 503 2" "PUT execution.yaml 500 1" \
		"POST big.bin?uploads 503 1 1" "PUT partNumber=2& 500 2" >"$S3DIR/faults"
	run -0 --separate-stderr kubectl-vastrun run -n "$NS" --config corridor --runs 1
	ran
	assert_equal "$n" 6
	fault_fired "$n"
}

@test "dropped connection | vastrun run: a config PUT's, a part's and the complete's replies lost" {
	campaign
	printf '%s\n' "PUT corridor/config.yaml drop 1" "PUT partNumber=1& drop 1" \
		"POST big.bin?uploadId drop 1" >"$S3DIR/faults"
	run -0 --separate-stderr kubectl-vastrun run -n "$NS" --config corridor --runs 1
	ran
	assert_equal "$n" 3
	fault_fired "$n"
}
