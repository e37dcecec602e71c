#!/usr/bin/env bats
# The S3 client (common/s3.h) against s3rver behind a SigV4 check
# (tests/fakes/s3), through tests/s3cli; and the WebDAV share fake
# (tests/fakes/dav) that upload-to-share relies on.

load helpers

setup_file() {
	export S3DIR="$BATS_FILE_TMPDIR/s3" DAVDIR="$BATS_FILE_TMPDIR/dav"
	export S3CLI="$BATS_FILE_TMPDIR/s3cli"
	make -C "$WLKIT_ROOT" -s build/plain/libwlkit.a >&3 2>&1 || return 1
	cc -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -iquote "$WLKIT_ROOT/common" \
		-o "$S3CLI" "$WLKIT_ROOT/tests/s3cli/s3cli.c" \
		"$WLKIT_ROOT/build/plain/libwlkit.a" -lcjson -lcrypto -lz -lm -ldl -pthread ||
		return 1
	"$WLKIT_ROOT/tests/fakes/s3/s3" up "$S3DIR" >&3 2>&1 || return 1
	"$WLKIT_ROOT/tests/fakes/dav/dav" up "$DAVDIR" >&3 2>&1 || return 1
}

teardown_file() {
	"$WLKIT_ROOT/tests/fakes/s3/s3" down "$S3DIR" || true
	"$WLKIT_ROOT/tests/fakes/dav/dav" down "$DAVDIR" || true
}

setup() {
	. "$S3DIR/env"
	rm -f "$S3DIR/faults"
	B=b-$BATS_TEST_NUMBER
	"$S3CLI" mb "$B"
}

requests() {	# requests PATTERN: how many log lines match
	grep -c -- "$1" "$S3DIR/log" || true
}

@test "a bucket is created, listed, found, and deleted; creating it again is fine" {
	run -0 "$S3CLI" mb "$B"
	run -0 "$S3CLI" buckets
	assert_line "$B"
	run -0 "$S3CLI" exists "$B"
	assert_output yes
	run -0 "$S3CLI" rb "$B"
	run -0 "$S3CLI" exists "$B"
	assert_output no
}

@test "a missing bucket is one error line with the code, the message and the bucket" {
	run -1 "$S3CLI" list no-such-bucket
	assert_output "error: s3: NoSuchBucket: The specified bucket does not exist (bucket no-such-bucket)"
	run -1 "$S3CLI" get "$B" missing/key "$BATS_TEST_TMPDIR/x"
	assert_output --partial "s3: NoSuchKey: The specified key does not exist (key $B/missing/key)"
}

@test "requests are signed with SigV4: a wrong secret gets SignatureDoesNotMatch" {
	S3_SECRET_KEY=wrong run -1 "$S3CLI" buckets
	assert_output --partial "error: s3: SignatureDoesNotMatch: The request signature we calculated does not match"
	S3_ACCESS_KEY=NOBODY run -1 "$S3CLI" buckets
	assert_output --partial "InvalidAccessKeyId"
}

@test "small objects with awkward keys round-trip" {
	key='runs/a b/c+d=e&f;(1)!.txt'
	run -0 "$S3CLI" putdata "$B" "$key" hello
	run -0 "$S3CLI" list "$B" runs/
	assert_output "$key 5 5d41402abc4b2a76b9719d911017c592"
	run -0 "$S3CLI" get "$B" "$key" "$BATS_TEST_TMPDIR/out"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" hello
	[ ! -e "$BATS_TEST_TMPDIR/out.part" ]
}

@test "a file over the threshold goes up in parts, a failed part is retried alone" {
	export WLKIT_S3_MULTIPART_MIB=1
	head -c $((3 * 1048576 + 12345)) /dev/urandom >"$BATS_TEST_TMPDIR/big"
	echo "PUT partNumber=2& 500 1" >"$S3DIR/faults"
	run -0 "$S3CLI" put "$B" big "$BATS_TEST_TMPDIR/big"
	assert_equal "$(requests "POST /$B/big?uploads")" 1
	assert_equal "$(requests "PUT /$B/big?partNumber=2&.* status=500")" 1
	assert_equal "$(requests "PUT /$B/big?partNumber=2&.* status=200")" 1
	assert_equal "$(requests "PUT /$B/big?partNumber=1&.* status=200")" 1
	assert_equal "$(requests "PUT /$B/big?partNumber=4&.* status=200")" 1
	assert_equal "$(requests "POST /$B/big?uploadId=.* status=200")" 1
	run -0 "$S3CLI" get "$B" big "$BATS_TEST_TMPDIR/back"
	cmp "$BATS_TEST_TMPDIR/big" "$BATS_TEST_TMPDIR/back"
}

@test "a multipart upload that cannot finish is aborted" {
	export WLKIT_S3_MULTIPART_MIB=1
	head -c $((2 * 1048576 + 1)) /dev/urandom >"$BATS_TEST_TMPDIR/big"
	echo "PUT partNumber=3& 403 1" >"$S3DIR/faults"
	run -1 "$S3CLI" put "$B" doomed "$BATS_TEST_TMPDIR/big"
	assert_output --partial "s3: InternalError: injected fault (key $B/doomed)"
	assert_equal "$(requests "DELETE /$B/doomed?uploadId=")" 1
	run -0 "$S3CLI" list "$B"
	assert_output ""
}

@test "listing follows continuation tokens" {
	export WLKIT_S3_LIST_MAX_KEYS=3
	for i in 1 2 3 4 5 6 7; do "$S3CLI" putdata "$B" "k/$i" "v$i"; done
	"$S3CLI" putdata "$B" other x
	run -0 "$S3CLI" list "$B" k/
	assert_equal "${#lines[@]}" 7
	assert_line --index 0 --partial "k/1 2 "
	assert_line --index 6 --partial "k/7 2 "
	assert_equal "$(requests "GET /$B?.*continuation-token=")" 2
}

@test "deletes are batched and a prefix delete leaves the rest" {
	for i in 1 2 3 4 5; do "$S3CLI" putdata "$B" "run/$i" x; done
	"$S3CLI" putdata "$B" keep x
	run -0 "$S3CLI" rm "$B" run/1 run/2 never-there
	assert_equal "$(requests "POST /$B?delete")" 1
	run -0 "$S3CLI" rmprefix "$B" run/
	run -0 "$S3CLI" list "$B"
	assert_output --partial "keep 1 "
	assert_equal "${#lines[@]}" 1
	run -0 "$S3CLI" rb "$B-none"	# already gone: done (a lost reply's retry)
	run -1 "$S3CLI" rmprefix "$B-none"
	assert_output --partial "NoSuchBucket"
}

@test "a partial download resumes with a Range request for the rest only" {
	head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/src"
	"$S3CLI" put "$B" obj "$BATS_TEST_TMPDIR/src"
	head -c 100000 "$BATS_TEST_TMPDIR/src" >"$BATS_TEST_TMPDIR/dst.part"
	run -0 "$S3CLI" get "$B" obj "$BATS_TEST_TMPDIR/dst"
	assert_output --partial "/300000"
	cmp "$BATS_TEST_TMPDIR/src" "$BATS_TEST_TMPDIR/dst"
	[ ! -e "$BATS_TEST_TMPDIR/dst.part" ]
	assert_equal "$(requests "GET /$B/obj range=bytes=100000- status=206 bytes=200000")" 1
	assert_equal "$(requests "GET /$B/obj range=- ")" 0
}

@test "a download whose content does not match the ETag fails and drops the part" {
	head -c 5000 /dev/urandom >"$BATS_TEST_TMPDIR/src"
	"$S3CLI" put "$B" obj "$BATS_TEST_TMPDIR/src"
	# the same size, other bytes: s3rver keeps serving the stored ETag
	f=$(find "$S3DIR/data/$B" -name 'obj._S3rver_object')
	head -c 5000 /dev/urandom >"$f"
	run -1 "$S3CLI" get "$B" obj "$BATS_TEST_TMPDIR/dst"
	assert_output --regexp "s3: '$B/obj': the download's MD5 [0-9a-f]{32} does not match the ETag [0-9a-f]{32}"
	[ ! -e "$BATS_TEST_TMPDIR/dst" ]
	[ ! -e "$BATS_TEST_TMPDIR/dst.part" ]
	run -1 "$S3CLI" get "$B" obj "$BATS_TEST_TMPDIR/dst" 4000 ""
	assert_output --partial "got 5000 bytes, the object has 4000"
}

@test "the error line of a non-S3 body is the HTTP status" {
	run -0 "$S3CLI" errline 502 <<<"<html>bad gateway</html>"
	assert_output "HTTP 502 Bad Gateway"
}

@test "the WebDAV share takes a PUT with the token as user and refuses another" {
	. "$DAVDIR/env"
	head -c 70000 /dev/urandom >"$BATS_TEST_TMPDIR/x.tar.gz"
	run -0 curl -sS -o /dev/null -w '%{http_code}' -T "$BATS_TEST_TMPDIR/x.tar.gz" \
		-u "$DAV_TOKEN:" "${DAV_URL}run-1/x.tar.gz"
	assert_output 201
	cmp "$BATS_TEST_TMPDIR/x.tar.gz" "$DAVDIR/share/run-1/x.tar.gz"
	run -0 curl -sS -o /dev/null -w '%{http_code}' -T "$BATS_TEST_TMPDIR/x.tar.gz" \
		-u "wrong-token:" "${DAV_URL}y.tar.gz"
	assert_output 401
	[ ! -e "$DAVDIR/share/y.tar.gz" ]
}
