#!/usr/bin/env bash
# bench-logs.sh - throughput of kubectl-vkcmd's container log writer and of
# its kubelet API serving a log, against `cat` of the same file.
# Usage: tests/vkcmd-io/bench-logs.sh [MB]   (default 100)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
mb=${1:-100}
t=$(mktemp -d)
kpid=
cleanup() {
	[ -n "$kpid" ] && kill "$kpid" 2>/dev/null && wait "$kpid" 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT

cc -std=c11 -D_GNU_SOURCE -O2 -iquote "$root/common" -I"$root/plugins/vkcmd" \
	"$root"/tests/vkcmd-io/*.c \
	"$root"/plugins/vkcmd/{logs,kubelet,kubelet_logs,volumes,downward,bwrap}.c \
	"$root/common/libwlkit.a" -lyaml -lcjson -lcurl -larchive -lssl -lcrypto -lz -lm \
	-lpthread -o "$t/vkio"

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%7.1f MB/s  (%.3f s)", b / 1e6 / s, s }'; }

# lines of 100 bytes, like a chatty program
awk -v n=$((mb * 10000)) 'BEGIN { s = sprintf("%99s", ""); gsub(/ /, "x", s);
	for (i = 0; i < n; i++) print s }' >"$t/src"
bytes=$(stat -c %s "$t/src")
pod="$t/pods/default_bench_u"
mkdir -p "$pod"

a=$(now); "$t/vkio" log "$pod" c 0 -- cat "$t/src"; b=$(now)
log="$pod/logs/c/0.log"
printf 'log writer (%d MB of output, %d MB of log):  %s\n' $((bytes / 1000000)) \
	$(($(stat -c %s "$log") / 1000000)) "$(rate "$bytes" "$(sub "$a" "$b")")"

"$t/vkio" kubelet "$t" bench-node >"$t/port" &
kpid=$!
for _ in $(seq 100); do [ -s "$t/port" ] && break; sleep 0.05; done
url="https://127.0.0.1:$(cat "$t/port")/containerLogs/default/bench/c"

best() {	# best CMD...: the best of three wall times
	local m= i a b d
	for i in 1 2 3; do
		a=$(now); "$@" >/dev/null; b=$(now)
		d=$(sub "$a" "$b")
		if [ -z "$m" ] || awk -v d="$d" -v m="$m" 'BEGIN { exit !(d < m) }'; then
			m=$d
		fi
	done
	echo "$m"
}
s=$(best curl -sk -o /dev/null "$url")
printf 'kubelet API, plain:                      %s\n' "$(rate "$bytes" "$s")"
s=$(best curl -sk -o /dev/null "$url?timestamps=true")
printf 'kubelet API, timestamps=true:            %s\n' "$(rate "$bytes" "$s")"
s=$(best curl -sk -o /dev/null "$url?tailLines=10")
printf 'kubelet API, tailLines=10:               %.3f s\n' "$s"
s=$(best cat "$log")
printf 'cat of the log file:                     %s\n' "$(rate "$(stat -c %s "$log")" "$s")"
s=$(best cut -d' ' -f4- "$log")
printf 'cut -f4- of the log file (same output):  %s\n' "$(rate "$bytes" "$s")"
curl -sk "$url" | cmp -s - "$t/src" && echo "served text identical to the program's output"
printf 'kubelet peak RSS: %s\n' "$(awk '/VmHWM/ { print $2, $3 }' "/proc/$kpid/status")"
