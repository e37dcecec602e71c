#!/usr/bin/env bats
# kubectl-gpusnap's OS and SystemD collectors: every OS subtype read field
# by field from the fixture trees tests/fixtures/gpusnap/os-debian (a Debian
# 12 host with containerd and kubelet) and os-minimal (a COS-like Arm host
# with nothing but /proc files and /usr/lib/os-release); /proc/sys/net and
# /proc/sys/dev/cdrom left out; unreadable files counted in one warning;
# the systemd units from unit files (--root) and from `systemctl show` (a
# stub that prints recorded output), secrets redacted; the live host.

bats_require_minimum_version 1.5.0
load helpers

FIX="$WLKIT_ROOT/tests/fixtures/gpusnap"
GPUSNAP=$(command -v kubectl-gpusnap)

teardown() {
	[ -z "${SHARED_TREE:-}" ] || rm -rf "$SHARED_TREE"
}

# snapshot ARGS...: runs `kubectl-gpusnap snapshot -o - --format json ARGS`
# (with PATH=$SNAP_PATH when set), which must succeed; the JSON goes to
# $SNAP, its data as TYPE<tab>SUBTYPE<tab>KEY<tab>VALUE lines to $SNAP.tsv
# (true/false for booleans, integers without a fraction), stderr to
# $BATS_TEST_TMPDIR/err.
snapshot() {
	SNAP="$BATS_TEST_TMPDIR/snap.json"
	run --separate-stderr env PATH="${SNAP_PATH:-$PATH}" "$GPUSNAP" snapshot -o - --format json "$@"
	printf '%s\n' "$stderr" >"$BATS_TEST_TMPDIR/err"
	[ "$status" -eq 0 ] || { echo "exit $status: $stderr" >&2; return 1; }
	printf '%s\n' "$output" >"$SNAP"
	flatten
}

flatten() {
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
if isinstance(d,list): d=d[0]
for m in d.get("measurements",[]):
    for s in m["subtypes"]:
        print(m["type"], s["subtype"], "", "", sep="\t")
        for k,v in s["data"].items():
            if isinstance(v,bool): v="true" if v else "false"
            elif isinstance(v,float) and v.is_integer(): v=int(v)
            print(m["type"], s["subtype"], k, str(v).replace("\n","\\n"), sep="\t")' "$SNAP" >"$SNAP.tsv"
}

# fixture TREE [ROOT] [COLLECTORS]: a snapshot of tests/fixtures/gpusnap/TREE
# (or of ROOT, a copy of it).
fixture() {
	snapshot --root "${2:-$FIX/$1}" --collectors "${3:-os,systemd}"
}

# q TYPE SUBTYPE [KEY]: the value of KEY in the data of TYPE/SUBTYPE
# (<missing> when absent, <no subtype> when the subtype is); without KEY
# the keys, sorted, one a line.
q() {
	awk -F '\t' -v t="$1" -v s="$2" -v k="${3-}" -v all="$#" '
		$1 == t && $2 == s { found = 1; if ($3 == "") next
			if (all < 3) print $3; else if ($3 == k) { print $4; hit = 1 } }
		END { if (!found) print "<no subtype>"; else if (all >= 3 && !hit) print "<missing>" }' \
		"$SNAP.tsv" | { [ "$#" -ge 3 ] && cat || LC_ALL=C sort; }
}

# meta EXPR: a python expression on the snapshot's metadata m.
meta() {
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
if isinstance(d,list): d=d[0]
m=d["metadata"]
print(json.dumps(eval(sys.argv[2])))' "$SNAP" "$1"
}

@test "release: /etc/os-release with its quotes removed" {
	fixture os-debian
	assert_equal "$(q OS release ID)" debian
	assert_equal "$(q OS release VERSION_ID)" 12
	assert_equal "$(q OS release VERSION_CODENAME)" bookworm
	assert_equal "$(q OS release PRETTY_NAME)" "Debian GNU/Linux 12 (bookworm)"
	assert_equal "$(q OS release HOME_URL)" "https://www.debian.org/"
	assert_equal "$(q OS release | wc -l)" 9
}

@test "release: /usr/lib/os-release when /etc has none; shell quoting and comments" {
	fixture os-minimal
	assert_equal "$(q OS release ID)" cos
	assert_equal "$(q OS release PRETTY_NAME)" "Container-Optimized OS from Google"
	assert_equal "$(q OS release VARIANT)" 'GPU "accelerated" $edition'
	assert_equal "$(q OS release BUILD_ID)" 17800.66.78
	run -0 q OS release
	refute_output --partial "#"
	assert_equal "${#lines[@]}" 8
}

@test "kernel: osrelease, version and arch under the root, and /proc/version" {
	fixture os-debian
	assert_equal "$(q OS kernel release)" 6.1.0-18-amd64
	assert_equal "$(q OS kernel version)" "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"
	assert_equal "$(q OS kernel machine)" x86_64
	assert_equal "$(q OS kernel proc-version)" "$(cat "$FIX/os-debian/proc/version")"
}

@test "kernel: release and version from /proc/version when /proc/sys/kernel lacks them" {
	fixture os-minimal
	assert_equal "$(q OS kernel release)" 6.1.100+
	assert_equal "$(q OS kernel version)" "#1 SMP PREEMPT_DYNAMIC Sat Aug 31 16:12:31 UTC 2024"
	assert_equal "$(q OS kernel machine)" "<missing>"
}

@test "grub: /proc/cmdline as key=value, flags true, root dropped, repeats joined, init's words left out" {
	fixture os-debian
	assert_equal "$(q OS grub BOOT_IMAGE)" /boot/vmlinuz-6.1.0-18-amd64
	assert_equal "$(q OS grub ro)" true
	assert_equal "$(q OS grub quiet)" true
	assert_equal "$(q OS grub intel_iommu)" on
	assert_equal "$(q OS grub hugepagesz)" 1G
	assert_equal "$(q OS grub hugepages)" 4
	assert_equal "$(q OS grub systemd.unified_cgroup_hierarchy)" 1
	assert_equal "$(q OS grub console)" "tty0,ttyS0,115200n8"
	assert_equal "$(q OS grub root)" "<missing>"
	assert_equal "$(q OS grub splash)" "<missing>"
	assert_equal "$(q OS grub | wc -l)" 9
}

@test "grub: a double-quoted value keeps its spaces" {
	fixture os-minimal
	assert_equal "$(q OS grub dm)" "1 vroot none ro 1,0 4077568 verity"
	assert_equal "$(q OS grub console)" "tty1,ttyS0"
	assert_equal "$(q OS grub cros_efi)" true
	assert_equal "$(q OS grub root)" "<missing>"
}

@test "kmod: each module of /proc/modules is true; none without /proc/modules, silently" {
	fixture os-debian
	run -0 q OS kmod
	assert_output "$(printf '%s\n' br_netfilter bridge ext4 ip_tables nf_conntrack overlay x_tables)"
	assert_equal "$(q OS kmod nf_conntrack)" true
	fixture os-minimal
	assert_equal "$(q OS kmod)" ""
	run -0 cat "$BATS_TEST_TMPDIR/err"
	refute_output --partial modules
}

@test "sysctl: every file under /proc/sys by full path, except net/, dev/cdrom/ and fs/binfmt_misc/" {
	fixture os-debian
	run -0 q OS sysctl
	assert_output "$(printf '/proc/sys/%s\n' dev/raid/speed_limit_min fs/file-max \
		fs/inotify/max_user_watches fs/nr_open kernel/arch kernel/hostname \
		kernel/osrelease kernel/ostype kernel/pid_max kernel/printk \
		kernel/random/poolsize kernel/version vm/max_map_count \
		vm/nr_hugepages vm/overcommit_memory vm/swappiness)"
	refute_output --partial /proc/sys/net
	refute_output --partial cdrom
	refute_output --partial binfmt_misc
	assert_equal "$(q OS sysctl /proc/sys/kernel/hostname)" gpu-node-1
	assert_equal "$(q OS sysctl /proc/sys/fs/file-max)" 9223372036854775807
	assert_equal "$(q OS sysctl /proc/sys/vm/swappiness)" 60
}

@test "sysctl: tabs and new lines inside a value become single spaces" {
	fixture os-debian
	assert_equal "$(q OS sysctl /proc/sys/kernel/printk)" "4 4 1 7"
	run -0 cat "$FIX/os-debian/proc/sys/kernel/printk"
	assert_output "$(printf '4\t4\t1\t7')"
}

@test "sysctl: unreadable files are one warning with their count, not one line each" {
	fixture os-debian
	run -0 cat "$BATS_TEST_TMPDIR/err"
	assert_output "warning: 1 file under '$FIX/os-debian/proc/sys' could not be read (the first '/proc/sys/kernel/tainted': No such file or directory)"
	tree="$BATS_TEST_TMPDIR/tree"
	cp -a "$FIX/os-debian" "$tree"
	ln -s /nonexistent/a "$tree/proc/sys/vm/gone"
	ln -s /nonexistent/b "$tree/proc/sys/fs/gone"
	fixture os-debian "$tree"
	run -0 cat "$BATS_TEST_TMPDIR/err"
	assert_output "warning: 3 files under '$tree/proc/sys' could not be read (the first '/proc/sys/fs/gone': No such file or directory)"
	assert_equal "$(q OS sysctl | wc -l)" 16
}

@test "sysctl: as a user, a file without read bits is skipped silently, one denied is counted" {
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	[ "$(id -u)" = 0 ] || skip "needs root to run the program as another user"
	# A tree the user nobody can reach (bats's own directories are 0700).
	SHARED_TREE=$(mktemp -d /tmp/gpusnap-os.XXXXXX)
	chmod 0755 "$SHARED_TREE"
	tree="$SHARED_TREE/tree"
	cp -a "$FIX/os-debian" "$tree"
	rm "$tree/proc/sys/kernel/tainted"
	chmod -R go+rX "$tree"
	echo 3 >"$tree/proc/sys/vm/drop_caches"
	chmod 0200 "$tree/proc/sys/vm/drop_caches"
	mkdir -m 0700 "$tree/proc/sys/kernel/secret"
	echo 1 >"$tree/proc/sys/kernel/secret/x"
	echo 0 >"$tree/proc/sys/vm/private"
	chmod 0600 "$tree/proc/sys/vm/private"
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$GPUSNAP" snapshot --root "$tree" --collectors os -o - --format json
	assert_equal "$status" 0
	assert_equal "$stderr" "warning: 2 files under '$tree/proc/sys' could not be read (the first '/proc/sys/kernel/secret': Permission denied)"
	SNAP="$BATS_TEST_TMPDIR/snap.json"
	printf '%s\n' "$output" >"$SNAP"
	flatten
	assert_equal "$(q OS sysctl /proc/sys/vm/drop_caches)" "<missing>"
	assert_equal "$(q OS sysctl /proc/sys/vm/private)" "<missing>"
	assert_equal "$(q OS sysctl /proc/sys/vm/swappiness)" 60
	assert_equal "$(q OS sysctl | wc -l)" 16
}

@test "cpu: model, vendor, logical CPUs, sockets and cores from /proc/cpuinfo" {
	fixture os-debian
	assert_equal "$(q OS cpu model)" "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz"
	assert_equal "$(q OS cpu vendor)" GenuineIntel
	assert_equal "$(q OS cpu logical-cpus)" 4
	assert_equal "$(q OS cpu sockets)" 1
	assert_equal "$(q OS cpu cores)" 2
}

@test "cpu: an Arm cpuinfo gives implementer, part and count, no topology" {
	fixture os-minimal
	assert_equal "$(q OS cpu logical-cpus)" 2
	assert_equal "$(q OS cpu cpu-implementer)" 0x41
	assert_equal "$(q OS cpu cpu-part)" 0xd4f
	assert_equal "$(q OS cpu model)" "<missing>"
	assert_equal "$(q OS cpu sockets)" "<missing>"
}

@test "memory and hugepages: bytes as numbers, every hugepage size from sysfs" {
	fixture os-debian
	assert_equal "$(q OS memory MemTotal)" $((16365708 * 1024))
	# usage (available, free) is no setting: left out
	assert_equal "$(q OS memory MemAvailable)" "<missing>"
	assert_equal "$(q OS hugepages HugePages_Free)" "<missing>"
	assert_equal "$(q OS memory SwapTotal)" 0
	assert_equal "$(q OS hugepages HugePages_Total)" 4
	assert_equal "$(q OS hugepages Hugepagesize)" $((1048576 * 1024))
	assert_equal "$(q OS hugepages hugepages-1048576kB)" 4
	assert_equal "$(q OS hugepages hugepages-2048kB)" 0
	run -0 python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
m=[m for m in d["measurements"] if m["type"]=="OS"][0]
s=[s for s in m["subtypes"] if s["subtype"]=="memory"][0]
print(type(s["data"]["MemTotal"]).__name__)' "$SNAP"
	assert_output int
}

@test "numa: the node count and each node's cpulist" {
	fixture os-debian
	assert_equal "$(q OS numa nodes)" 2
	assert_equal "$(q OS numa node0.cpulist)" 0-1
	assert_equal "$(q OS numa node1.cpulist)" 2-3
	fixture os-minimal
	assert_equal "$(q OS numa nodes)" 0
}

@test "iommu: enabled from /sys/class/iommu, with the group count and the kernel options" {
	fixture os-debian
	assert_equal "$(q OS iommu enabled)" true
	assert_equal "$(q OS iommu source)" sysfs
	assert_equal "$(q OS iommu units)" 1
	assert_equal "$(q OS iommu groups)" 3
	assert_equal "$(q OS iommu intel_iommu)" on
	assert_equal "$(q OS iommu iommu)" pt
	tree="$BATS_TEST_TMPDIR/tree"
	cp -a "$FIX/os-debian" "$tree"
	rm "$tree/sys/class/iommu/dmar0"
	rm -r "$tree/sys/kernel/iommu_groups"
	fixture os-debian "$tree"
	assert_equal "$(q OS iommu enabled)" false
	assert_equal "$(q OS iommu units)" 0
}

@test "iommu: from the kernel options when the root has no sysfs" {
	fixture os-minimal
	assert_equal "$(q OS iommu enabled)" false
	assert_equal "$(q OS iommu source)" cmdline
	assert_equal "$(q OS iommu amd_iommu)" off
	tree="$BATS_TEST_TMPDIR/tree"
	cp -a "$FIX/os-minimal" "$tree"
	sed -i 's/amd_iommu=off/intel_iommu=on,sm_on/' "$tree/proc/cmdline"
	fixture os-minimal "$tree"
	assert_equal "$(q OS iommu enabled)" true
	assert_equal "$(q OS iommu intel_iommu)" on,sm_on
}

@test "systemd under --root: fragment, drop-ins in order, enabled, secrets redacted" {
	fixture os-debian
	assert_equal "$(q SystemD containerd.service present)" true
	assert_equal "$(q SystemD containerd.service source)" unit-files
	assert_equal "$(q SystemD containerd.service LoadState)" loaded
	assert_equal "$(q SystemD containerd.service UnitFileState)" enabled
	assert_equal "$(q SystemD containerd.service FragmentPath)" /lib/systemd/system/containerd.service
	assert_equal "$(q SystemD containerd.service Description)" "containerd container runtime"
	assert_equal "$(q SystemD containerd.service ExecStart)" /usr/bin/containerd
	assert_equal "$(q SystemD containerd.service Environment)" \
		"HTTP_PROXY=http://proxy.corp.example:3128 NO_PROXY=localhost,127.0.0.1,10.0.0.0/8 REGISTRY_TOKEN=<redacted>"
	assert_equal "$(q SystemD kubelet.service DropInPaths)" \
		"/etc/systemd/system/kubelet.service.d/10-kubeadm.conf /etc/systemd/system/kubelet.service.d/20-gpu.conf"
	assert_equal "$(q SystemD kubelet.service ExecStart)" \
		'/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS --node-labels=nvidia.com/gpu.present=true --registry-password <redacted>'
	assert_equal "$(q SystemD kubelet.service Environment)" \
		'"KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf" KUBELET_CONFIG_ARGS=--config=/etc/kubernetes/gpu-kubelet.yaml'
	assert_equal "$(q SystemD kubelet.service EnvironmentFiles)" \
		"/var/lib/kubelet/kubeadm-flags.env (ignore_errors=yes) ; /etc/default/kubelet (ignore_errors=yes)"
	assert_equal "$(q SystemD docker.service LoadState)" masked
	run -0 cat "$SNAP"
	refute_output --partial glpat-x7Yq2s3cr3tT0k3n
	refute_output --partial hunter2
}

@test "systemd under --root: units without files are present: false" {
	fixture os-minimal
	for u in containerd.service docker.service kubelet.service; do
		assert_equal "$(q SystemD $u present)" false
		assert_equal "$(q SystemD $u LoadState)" not-found
	done
	assert_equal "$(meta 'm["collectors"]')" '["os", "systemd"]'
}

@test "systemd on the host: one systemctl show for the three units, secrets redacted" {
	export SYSTEMCTL_STUB_LOG="$BATS_TEST_TMPDIR/calls"
	SNAP_PATH="$FIX/bin-systemd:$PATH" snapshot --collectors systemd
	assert_equal "$(q SystemD containerd.service present)" true
	assert_equal "$(q SystemD containerd.service source)" systemctl
	assert_equal "$(q SystemD containerd.service ActiveState)" active
	assert_equal "$(q SystemD containerd.service SubState)" running
	assert_equal "$(q SystemD containerd.service MainPID)" 721
	assert_equal "$(q SystemD containerd.service Delegate)" yes
	assert_equal "$(q SystemD containerd.service ExecStart)" /usr/bin/containerd
	assert_equal "$(q SystemD containerd.service ExecMainStartTimestamp)" "Tue 2025-01-14 09:12:03 UTC"
	assert_equal "$(q SystemD containerd.service Environment)" \
		"HTTP_PROXY=http://proxy.corp.example:3128 NO_PROXY=localhost,127.0.0.1,10.0.0.0/8 REGISTRY_TOKEN=<redacted>"
	assert_equal "$(q SystemD containerd.service InvocationID)" "<missing>"
	assert_equal "$(q SystemD kubelet.service NRestarts)" 2
	assert_equal "$(q SystemD kubelet.service ExecStart)" \
		'/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS --node-labels=nvidia.com/gpu.present=true --registry-password <redacted>'
	assert_equal "$(q SystemD kubelet.service EnvironmentFiles)" \
		"/var/lib/kubelet/kubeadm-flags.env (ignore_errors=yes) ; /etc/default/kubelet (ignore_errors=yes)"
	assert_equal "$(q SystemD docker.service present)" false
	assert_equal "$(q SystemD docker.service | tr '\n' ' ')" "LoadState present source "
	assert_equal "$(q SystemD systemd Version)" 252.22-1~deb12u1
	run -0 cat "$SNAP"
	refute_output --partial glpat-x7Yq2s3cr3tT0k3n
	refute_output --partial hunter2
	run -0 cat "$SYSTEMCTL_STUB_LOG"
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp '^show --no-pager --property=[A-Za-z,]*ExecStart[A-Za-z,]* containerd.service docker.service kubelet.service$'
}

@test "systemd on the host: a unit systemctl does not know is present: false" {
	mkdir "$BATS_TEST_TMPDIR/bin" "$BATS_TEST_TMPDIR/systemd-show"
	cp "$FIX/bin-systemd/systemctl" "$BATS_TEST_TMPDIR/bin/"
	cp "$FIX/systemd-show/manager" "$FIX/systemd-show/containerd.service" "$BATS_TEST_TMPDIR/systemd-show/"
	SNAP_PATH="$BATS_TEST_TMPDIR/bin:$PATH" snapshot --collectors systemd
	assert_equal "$(q SystemD containerd.service present)" true
	assert_equal "$(q SystemD kubelet.service present)" false
	assert_equal "$(q SystemD kubelet.service LoadState)" not-found
	assert_equal "$(q SystemD docker.service present)" false
}

@test "systemd on the host: without systemctl nothing is recorded and the collector is skipped" {
	mkdir "$BATS_TEST_TMPDIR/empty"
	SNAP_PATH="$BATS_TEST_TMPDIR/empty" snapshot --collectors os,systemd
	assert_equal "$(meta 'm["skipped"]')" '{"systemd": "systemctl not found"}'
	assert_equal "$(meta 'm["collectors"]')" '["os"]'
	assert_equal "$(q SystemD containerd.service)" "<no subtype>"
	run -0 grep -c systemctl "$BATS_TEST_TMPDIR/err"
	assert_output 1
}

@test "systemd on the host: systemctl that cannot reach systemd is skipped with its reason" {
	SYSTEMCTL_STUB_NO_SYSTEMD=1 SNAP_PATH="$FIX/bin-systemd:$PATH" snapshot --collectors systemd
	assert_equal "$(meta 'm["skipped"]["systemd"]')" \
		"\"System has not been booted with systemd as init system (PID 1). Can't operate.\""
	run -0 cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial "warning: 'systemctl show' failed (exit 1): System has not been booted"
}

@test "the live host: uname's kernel, the hostname sysctl, no net sysctls" {
	snapshot --collectors os
	assert_equal "$(q OS kernel release)" "$(uname -r)"
	assert_equal "$(q OS kernel machine)" "$(uname -m)"
	assert_equal "$(q OS kernel proc-version)" "$(tr -s ' \t\n' ' ' </proc/version | sed 's/ $//')"
	assert_equal "$(q OS sysctl /proc/sys/kernel/hostname)" "$(hostname)"
	assert_equal "$(q OS sysctl /proc/sys/kernel/osrelease)" "$(uname -r)"
	assert_equal "$(q OS cpu logical-cpus)" "$(grep -c '^processor' /proc/cpuinfo)"
	run -0 q OS sysctl
	refute_output --partial /proc/sys/net/
	[ "${#lines[@]}" -gt 50 ]
}

@test "the live host: two snapshots a moment apart do not differ (no counters, no usage)" {
	kubectl-gpusnap --collectors os,gpu -o "$BATS_TEST_TMPDIR/a.yaml"
	# churn the counters a drift check must not see: files, dentries, pids
	for i in $(seq 50); do : >"$BATS_TEST_TMPDIR/f$i"; done
	sleep 1
	kubectl-gpusnap --collectors os,gpu -o "$BATS_TEST_TMPDIR/b.yaml"
	run -0 kubectl-gpusnap diff "$BATS_TEST_TMPDIR/a.yaml" "$BATS_TEST_TMPDIR/b.yaml"
	run -0 grep -c 'file-nr\|dentry-state\|entropy_avail\|MemAvailable' "$BATS_TEST_TMPDIR/a.yaml" || true
	assert_output 0
}
