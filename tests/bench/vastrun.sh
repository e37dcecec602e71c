#!/bin/bash
# vastrun.sh - downloading a run's results: `kubectl vastrun download`
# against curl fetching the same objects (SigV4, the same 4 at a time),
# both from one s3rver on loopback. Prints both wall times, their ratio
# (target: vastrun within 1.2x of curl) and vastrun's peak RSS for the
# whole run and for a run a tenth of its size (target: under 30 MB and
# flat in the data size); then its result lines (tests/bench/lib.sh).
#
# usage: tests/bench/vastrun.sh [--quick] [MB [OBJECTS]]
#   default: 1000 MB in 2,000 objects (needs about 3.3 GB free in
#            ${TMPDIR:-/tmp}: the store and two copies)
#   --quick: 100 MB in 200 objects
# Run from the repository root after `make` and `npm ci --prefix tests`.
set -eu

mb=1000 n=2000
if [ "${1:-}" = --quick ]; then mb=100 n=200; shift; fi
mb=${1:-$mb} n=${2:-$n}
case $mb$n in *[!0-9]*) echo "usage: $0 [MB [OBJECTS]]" >&2; exit 2 ;; esac
[ "$n" -ge 10 ] || { echo "error: at least 10 objects" >&2; exit 2; }
root=$(pwd)
. "$root/tests/bench/lib.sh"
vastrun=${VASTRUN:-$root/bin/kubectl-vastrun}
[ -x "$vastrun" ] || { echo "error: build '$vastrun' first (make)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/wlkit-bench-vastrun.XXXXXX")
cleanup() {
	"$root/tests/fakes/s3/s3" down "$work/s3" >/dev/null 2>&1 || true
	"$root/tests/fakes/kube/cluster" down "$work/c" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

"$root/tests/fakes/kube/cluster" up "$work/c" >/dev/null
export KUBECONFIG=$work/c/kubeconfig
"$root/tests/fakes/s3/s3" up "$work/s3" >/dev/null
. "$work/s3/env"
printf '%s' "$S3_ACCESS_KEY" >"$work/ak"
printf '%s' "$S3_SECRET_KEY" >"$work/sk"
"$vastrun" setup minikube --store external --s3-endpoint "$S3_ENDPOINT" \
	--s3-access-key-file "$work/ak" --s3-secret-key-file "$work/sk" 2>/dev/null

empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
sig=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY")
# one file per object, sizes around mb*1e6/n, under src/
echo "generating $mb MB in $n objects" >&2
python3 - "$work/src" "$mb" "$n" <<'PY'
import os, random, sys
root, mb, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(7)
avg = mb * 1000 * 1000 // n
for i in range(n):
    d = os.path.join(root, "c%02d" % (i % 20), str(i % 3))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "out%05d.bin" % i), "wb") as f:
        f.write(os.urandom(max(1, int(avg * rnd.uniform(0.5, 1.5)))))
PY
(cd "$work/src" && find . -type f | sed 's|^\./||' | sort) >"$work/keys"
head -n $((n / 10)) "$work/keys" >"$work/keys-small"

# put.sh BUCKET KEY: one object with curl
cat >"$work/put.sh" <<EOF
#!/bin/sh
exec curl -sS --fail --aws-sigv4 aws:amz:us-east-1:s3 --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \\
	-H "x-amz-content-sha256: \$(sha256sum "$work/src/\$2" | cut -d' ' -f1)" \\
	-T "$work/src/\$2" "$S3_ENDPOINT/\$1/\$2" -o /dev/null
EOF
chmod +x "$work/put.sh"
# upload KEYSFILE BUCKET
upload() {
	curl -sS --fail "${sig[@]}" -H "x-amz-content-sha256: $empty" -X PUT "$S3_ENDPOINT/$2" >/dev/null
	echo "uploading $(wc -l <"$1") objects to $2" >&2
	xargs -P 8 -n 1 "$work/put.sh" "$2" <"$1"
}
big=run-2099-01-01-000000 small=run-2099-01-01-000001
upload "$work/keys" $big
upload "$work/keys-small" $small

t() { /usr/bin/time -f "%e %M" -o "$work/time" "$@"; cat "$work/time"; }
# vastrun: the small run first (RSS), then the big one
set -- $(t "$vastrun" download --run-id $small --output "$work/v" --keep 2>/dev/null)
s_kb=$2
set -- $(t "$vastrun" download --run-id $big --output "$work/v" --keep 2>/dev/null)
v_s=$1 v_kb=$2
# curl: the same objects, one curl with 4 transfers at a time (-Z) over
# reused connections
while read -r key; do
	printf 'url = "%s/%s/%s"\noutput = "%s/k/%s"\n' "$S3_ENDPOINT" $big "$key" "$work" "$key"
done <"$work/keys" >"$work/curl.conf"
set -- $(t curl -sS --fail -Z --parallel-max 4 --create-dirs "${sig[@]}" \
	-H "x-amz-content-sha256: $empty" -K "$work/curl.conf" 2>/dev/null)
c_s=$1
diff -rq "$work/src" "$work/v/$big" >/dev/null || { echo "error: vastrun's copy differs" >&2; exit 1; }
diff -rq "$work/src" "$work/k" >/dev/null || { echo "error: curl's copy differs" >&2; exit 1; }

printf 'download of %s MB in %s objects from s3rver\n' "$mb" "$n"
printf '  kubectl vastrun download  %8.2f s  peak RSS %6.1f MB (a tenth of the run: %.1f MB)\n' \
	"$v_s" "$(echo "$v_kb / 1024" | bc -l)" "$(echo "$s_kb / 1024" | bc -l)"
printf '  curl -Z, 4 at a time      %8.2f s\n' "$c_s"
printf '  ratio vastrun/curl        %8.2f (target <= 1.2)\n' "$(echo "$v_s / $c_s" | bc -l)"

bench_row "vastrun download $mb MB, $n obj: time" "$(bench_fmt '%.2f s' "$v_s")" \
	"$(bench_fmt 'curl -Z %.2f s' "$c_s")" "$(bench_ratio "$c_s" "$v_s")" \
	"<= 1.2x curl's time" "$(bench_met 'v <= 1.2 * c' v="$v_s" c="$c_s")"
v_mb=$(bench_calc 'k / 1024' k="$v_kb")
bench_row "vastrun download $mb MB, $n obj: peak RSS" "$(bench_fmt '%.1f MB' "$v_mb")" - - \
	"< 30 MB" "$(bench_met 'm < 30' m="$v_mb")"
# flat: the whole run's peak at most 1.5 times the tenth's
bench_row "vastrun download: peak RSS, run / its 1/10" \
	"$(bench_fmt '%.2fx' "$(bench_calc 'v / s' v="$v_kb" s="$s_kb")")" - - \
	"<= 1.5x (flat)" "$(bench_met 'v <= 1.5 * s' v="$v_kb" s="$s_kb")"
