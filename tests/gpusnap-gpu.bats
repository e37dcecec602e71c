#!/usr/bin/env bats
# kubectl-gpusnap's GPU collector on fixture trees: 8 x H100 with MIG on
# GPU 0 (nvidia-smi and sysfs), a node without GPUs, a node whose GPUs have
# no driver, and nvidia-smi that fails, hangs, prints garbage or lives under
# the root. nvidia-smi is the stub tests/fixtures/gpusnap/bin/nvidia-smi.

bats_require_minimum_version 1.5.0
load helpers

FIX="$WLKIT_ROOT/tests/fixtures/gpusnap"
STUB="$FIX/bin"

setup() {
	GPUSNAP=$(command -v kubectl-gpusnap)
	EMPTY="$BATS_TEST_TMPDIR/empty-path"
	mkdir -p "$EMPTY"
}

# snap ROOT [VAR=VALUE...]: a GPU snapshot of ROOT as JSON into s.json,
# its stderr into err, with PATH=$STUB unless a PATH is given.
snap() {
	local root=$1
	shift
	env PATH="$STUB" "$@" "$GPUSNAP" snapshot --root "$root" --collectors gpu -o - \
		--format json >"$BATS_TEST_TMPDIR/s.json" 2>"$BATS_TEST_TMPDIR/err"
}

# kv: the GPU readings of s.json as "subtype/key=JSON value" lines, then
# the metadata's collectors and skipped.
kv() {
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for m in d["measurements"]:
    if m["type"] == "GPU":
        for s in m["subtypes"]:
            for k, v in s["data"].items():
                print("%s/%s=%s" % (s["subtype"], k, json.dumps(v)))
print("collectors=" + json.dumps(d["metadata"]["collectors"]))
print("skipped=" + json.dumps(d["metadata"].get("skipped", {})))' "$BATS_TEST_TMPDIR/s.json"
}

# gone PID: the process ended (or is a zombie nobody reaped) within 2 s.
gone() {
	local i
	for i in $(seq 20); do
		[ -e "/proc/$1" ] || return 0
		[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ] || return 0
		sleep 0.1
	done
	return 1
}

h100() {
	snap "$FIX/gpu-h100x8-mig" WLKIT_SMI_FIXTURE="$FIX/smi/h100x8-mig.xml" "$@"
}

@test "8 x H100: nvidia-smi gives the driver, CUDA and every GPU, GPU 7 included" {
	run -0 h100
	run -0 kv
	assert_line 'smi/available=true'
	assert_line 'smi/driver="570.133.20"'
	assert_line 'smi/cuda-version="12.8"'
	assert_line 'smi/gpu-count=8'
	assert_line 'smi/gpu-models="NVIDIA H100 80GB HBM3"'
	assert_line 'smi/gpu.model="NVIDIA H100 80GB HBM3"'
	assert_line 'smi/gpu.architecture="Hopper"'
	assert_line 'smi/gpu.vbios="96.00.99.00.01"'
	assert_line 'smi/gpu.gsp-firmware="570.133.20"'
	local i
	for i in 0 7; do
		assert_line "smi/gpu.$i.index=$i"
		assert_line "smi/gpu.$i.name=\"NVIDIA H100 80GB HBM3\""
		assert_line "smi/gpu.$i.architecture=\"Hopper\""
		assert_line "smi/gpu.$i.memory-total=81559"
		assert_line "smi/gpu.$i.vbios=\"96.00.99.00.01\""
		assert_line "smi/gpu.$i.gsp-firmware=\"570.133.20\""
		assert_line "smi/gpu.$i.persistence-mode=\"Enabled\""
		assert_line "smi/gpu.$i.ecc-mode.current=\"Enabled\""
		assert_line "smi/gpu.$i.power-limit=700"
		assert_line "smi/gpu.$i.clocks.max-graphics=1980"
		assert_line "smi/gpu.$i.clocks.max-sm=1980"
		assert_line "smi/gpu.$i.clocks.max-mem=2619"
	done
	assert_line 'smi/gpu.0.uuid="GPU-6f0b3c4e-1a2d-4b7e-9c11-0d2e5f7a8b01"'
	assert_line 'smi/gpu.7.uuid="GPU-0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d78"'
	assert_line 'smi/gpu.0.pci-bus-id="00000000:18:00.0"'
	assert_line 'smi/gpu.7.pci-bus-id="00000000:DB:00.0"'
	for i in 1 2 3 4 5 6; do
		assert_line "smi/gpu.$i.index=$i"
	done
	refute_line --partial 'smi/gpu.8.'
	refute_line --partial '"N/A"'
	assert_line 'collectors=["gpu"]'
	assert_line 'skipped={}'
	run -0 cat "$BATS_TEST_TMPDIR/err"
	assert_output ''
}

@test "8 x H100: GPU 0's seven MIG instances; the other GPUs have none" {
	run -0 h100
	run -0 kv
	assert_line 'smi/gpu.0.mig-mode.current="Enabled"'
	assert_line 'smi/gpu.0.mig-mode.pending="Enabled"'
	assert_line 'smi/gpu.0.mig-devices=7'
	local j
	for j in 0 1 2 3 4 5 6; do
		assert_line "smi/gpu.0.mig.$j.index=$j"
		assert_line "smi/gpu.0.mig.$j.gi-id=$((7 + j))"
		assert_line "smi/gpu.0.mig.$j.ci-id=0"
		assert_line "smi/gpu.0.mig.$j.sm-count=16"
		assert_line "smi/gpu.0.mig.$j.memory-total=9984"
	done
	refute_line --partial 'smi/gpu.0.mig.7.'
	assert_line 'smi/gpu.7.mig-mode.current="Disabled"'
	assert_line 'smi/gpu.7.mig-mode.pending="Disabled"'
	assert_line 'smi/gpu.7.mig-devices=0'
	refute_line --regexp '^smi/gpu\.[1-7]\.mig\.'
}

@test "8 x H100: sysfs lists the 8 GPUs, not the NVSwitch or other vendors' devices" {
	run -0 h100
	run -0 kv
	assert_line 'pci/pci.count=8'
	assert_line 'pci/pci.0.address="0000:18:00.0"'
	assert_line 'pci/pci.7.address="0000:db:00.0"'
	local i
	for i in 0 7; do
		assert_line "pci/pci.$i.device=\"0x2330\""
		assert_line "pci/pci.$i.class=\"0x030200\""
		assert_line "pci/pci.$i.driver=\"nvidia\""
		assert_line "pci/pci.$i.subsystem-device=\"0x16c1\""
	done
	assert_line 'pci/pci.0.numa-node=0'
	assert_line 'pci/pci.7.numa-node=1'
	refute_line --partial 'pci/pci.8.'
	refute_line --partial '0000:05:00.0'
	refute_line --partial '0000:19:00.0'
}

@test "8 x H100: nvidia-smi and sysfs name the same bus addresses in the same order" {
	run -0 h100
	run -0 python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
g=[m for m in d["measurements"] if m["type"]=="GPU"][0]["subtypes"]
smi,pci=g[0]["data"],g[1]["data"]
for i in range(pci["pci.count"]):
    a=smi["gpu.%d.pci-bus-id" % i].lower()[4:]
    print(i, a == pci["pci.%d.address" % i])' "$BATS_TEST_TMPDIR/s.json"
	assert_output "$(printf '%s True\n' 0 1 2 3 4 5 6 7)"
}

@test "8 x H100: the driver, its modules and the container toolkit" {
	run -0 h100
	run -0 kv
	assert_line 'driver/loaded=true'
	assert_line 'driver/version="570.133.20"'
	assert_line 'driver/open-kernel-module=true'
	assert_line 'driver/gcc="gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04)"'
	assert_line --partial 'driver/nvrm="NVIDIA UNIX Open Kernel Module for x86_64  570.133.20  Release Build'
	assert_line 'driver/module.nvidia=true'
	assert_line 'driver/module.nvidia_uvm=true'
	assert_line 'driver/module.nvidia_drm=true'
	assert_line 'driver/module.nvidia_modeset=true'
	assert_line 'driver/module.nvidia_peermem=false'
	assert_line 'driver/module.nvidia.version="570.133.20"'
	assert_line 'toolkit/runtime-config=true'
	assert_line 'toolkit/nvidia-container-runtime.mode="auto"'
	assert_line 'toolkit/nvidia-container-runtime.runtimes="[\"docker-runc\", \"runc\", \"crun\"]"'
	assert_line 'toolkit/nvidia-container-runtime.modes.cdi.default-kind="management.nvidia.com/gpu"'
	assert_line 'toolkit/nvidia-container-cli.root="/run/nvidia/driver"'
	refute_line --partial 'toolkit/nvidia-container-cli.debug'
	assert_line 'toolkit/containerd-config=true'
	assert_line 'toolkit/containerd.default-runtime="nvidia"'
	assert_line 'toolkit/containerd.nvidia-runtimes="nvidia, nvidia-cdi"'
	assert_line 'toolkit/containerd.runtime.nvidia.binary="/usr/local/nvidia/toolkit/nvidia-container-runtime"'
	assert_line 'toolkit/containerd.runtime.nvidia-cdi.binary="/usr/local/nvidia/toolkit/nvidia-container-runtime.cdi"'
	refute_line --partial 'containerd.runtime.runc'
}

@test "8 x H100 as YAML: counts are numbers, versions that look like numbers are quoted" {
	run -0 env PATH="$STUB" WLKIT_SMI_FIXTURE="$FIX/smi/h100x8-mig.xml" "$GPUSNAP" snapshot \
		--root "$FIX/gpu-h100x8-mig" --collectors gpu -o - --format yaml
	assert_line '      gpu-count: 8'
	assert_line '      cuda-version: "12.8"'
	assert_line '      gpu.7.memory-total: 81559'
	assert_line '      gpu.0.mig.6.gi-id: 13'
}

@test "no GPU: gpu-count 0, nvidia-smi not found, no PCI GPU, no warning" {
	run -0 snap "$FIX/gpu-none" PATH="$EMPTY"
	run -0 kv
	assert_line 'smi/available=false'
	assert_line 'smi/reason="nvidia-smi not found"'
	assert_line 'smi/gpu-count=0'
	assert_line 'pci/pci.count=0'
	refute_line --partial 'pci/pci.0.'
	assert_line 'driver/loaded=false'
	assert_line 'driver/module.nvidia=false'
	assert_line 'toolkit/runtime-config=false'
	assert_line 'toolkit/containerd-config=false'
	assert_line 'collectors=["gpu"]'
	assert_line 'skipped={}'
	run -0 cat "$BATS_TEST_TMPDIR/err"
	assert_output ''
}

@test "driver missing: the PCI devices are the GPUs, nvidia-smi's message is the reason" {
	run -0 snap "$FIX/gpu-nodriver" WLKIT_SMI_MODE=nodriver
	run -0 kv
	assert_line 'smi/available=false'
	assert_line "smi/reason=\"'$STUB/nvidia-smi' failed (exit status 9): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\""
	assert_line 'smi/gpu-count=2'
	refute_line --partial 'smi/driver='
	assert_line 'pci/pci.count=2'
	assert_line 'pci/pci.0.address="0000:3b:00.0"'
	assert_line 'pci/pci.1.address="0000:d8:00.0"'
	assert_line 'pci/pci.0.device="0x20b5"'
	assert_line 'pci/pci.0.driver="none"'
	assert_line 'pci/pci.1.driver="none"'
	assert_line 'pci/pci.1.numa-node=1'
	assert_line 'driver/loaded=false'
	assert_line 'driver/module.nvidia=false'
	assert_line 'skipped={}'
	run -0 cat "$BATS_TEST_TMPDIR/err"
	assert_output "warning: '$STUB/nvidia-smi' failed (exit status 9): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."
}

@test "PCI GPUs without any nvidia-smi: gpu-count is the PCI count, with a warning" {
	run -0 snap "$FIX/gpu-nodriver" PATH="$EMPTY"
	run -0 kv
	assert_line 'smi/reason="nvidia-smi not found"'
	assert_line 'smi/gpu-count=2'
	run -0 cat "$BATS_TEST_TMPDIR/err"
	assert_output 'warning: 2 NVIDIA GPUs on the PCI bus but no nvidia-smi'
}

@test "nvidia-smi that hangs is killed at the timeout, its process group with it" {
	local log="$BATS_TEST_TMPDIR/smi.log" t0 t1
	t0=$(date +%s%N)
	run -0 snap "$FIX/gpu-nodriver" WLKIT_SMI_MODE=hang WLKIT_NVIDIA_SMI_TIMEOUT_MS=400 \
		WLKIT_SMI_LOG="$log"
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 5000 ]
	run -0 kv
	assert_line 'smi/available=false'
	assert_line "smi/reason=\"'$STUB/nvidia-smi' did not finish within 400 ms\""
	assert_line 'smi/gpu-count=2'
	local pid child
	pid=$(grep -v '^child ' "$log" | cut -d'|' -f1)
	child=$(sed -n 's/^child //p' "$log")
	[ -n "$pid" ] && [ -n "$child" ]
	gone "$pid"
	gone "$child"
}

@test "nvidia-smi output that is not XML is a warning with the parser's reason" {
	run -0 snap "$FIX/gpu-nodriver" WLKIT_SMI_MODE=garbage
	run -0 kv
	assert_line 'smi/available=false'
	assert_line "smi/reason=\"cannot read the output of '$STUB/nvidia-smi': line 1: text outside the root element\""
	assert_line 'smi/gpu-count=2'
	run -0 cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial 'warning: cannot read the output of'
}

@test "a warning line before nvidia-smi's XML is passed on; the XML is read" {
	run -0 h100 WLKIT_SMI_MODE=inforom
	run -0 kv
	assert_line 'smi/available=true'
	assert_line 'smi/gpu-count=8'
	assert_line 'smi/gpu.7.index=7'
	run -0 cat "$BATS_TEST_TMPDIR/err"
	assert_output "warning: '$STUB/nvidia-smi' printed before its XML: WARNING: infoROM is corrupted at gpu 00000000:18:00.0"
}

@test "nvidia-smi under the GPU Operator's driver root runs with its libraries" {
	local r="$BATS_TEST_TMPDIR/root" log="$BATS_TEST_TMPDIR/smi.log"
	cp -r "$FIX/gpu-nodriver" "$r"
	mkdir -p "$r/run/nvidia/driver/usr/bin" "$r/run/nvidia/driver/usr/lib64"
	cp "$STUB/nvidia-smi" "$r/run/nvidia/driver/usr/bin/"
	run -0 snap "$r" PATH="$EMPTY" WLKIT_SMI_FIXTURE="$FIX/smi/mixed-r470.xml" WLKIT_SMI_LOG="$log"
	run -0 kv
	assert_line 'smi/available=true'
	assert_line 'smi/driver="470.256.02"'
	assert_line 'smi/gpu-models="Tesla T4, Tesla V100-SXM2-16GB"'
	assert_line 'smi/gpu.1.power-limit=300'
	run -0 cut -d'|' -f2- "$log"
	assert_output "-q -x|$r/run/nvidia/driver/usr/lib64"
}

@test "nvidia-smi under GKE's /home/kubernetes/bin/nvidia is found, lib64 beside it" {
	local r="$BATS_TEST_TMPDIR/root" log="$BATS_TEST_TMPDIR/smi.log"
	cp -r "$FIX/gpu-none" "$r"
	mkdir -p "$r/home/kubernetes/bin/nvidia/bin" "$r/home/kubernetes/bin/nvidia/lib64"
	cp "$STUB/nvidia-smi" "$r/home/kubernetes/bin/nvidia/bin/"
	run -0 snap "$r" PATH="$EMPTY" WLKIT_SMI_FIXTURE="$FIX/smi/h100x8-mig.xml" WLKIT_SMI_LOG="$log"
	run -0 kv
	assert_line 'smi/gpu-count=8'
	run -0 cut -d'|' -f2- "$log"
	assert_output "-q -x|$r/home/kubernetes/bin/nvidia/lib64"
}

@test "--nvidia-smi names the program; one that cannot run is the reason" {
	local log="$BATS_TEST_TMPDIR/smi.log"
	run -0 env PATH="$EMPTY" WLKIT_SMI_FIXTURE="$FIX/smi/mixed-r470.xml" WLKIT_SMI_LOG="$log" \
		"$GPUSNAP" snapshot --root "$FIX/gpu-none" --collectors gpu -o - --format json \
		--nvidia-smi "$STUB/nvidia-smi"
	assert_output --partial '"gpu.1.name": "Tesla V100-SXM2-16GB"'
	[ -s "$log" ]
	run -0 env PATH="$EMPTY" "$GPUSNAP" snapshot --root "$FIX/gpu-none" --collectors gpu -o - \
		--format json --nvidia-smi "$BATS_TEST_TMPDIR/nope"
	assert_output --partial "\"reason\": \"cannot run '$BATS_TEST_TMPDIR/nope': No such file or directory\""
	assert_output --partial "warning: cannot run '$BATS_TEST_TMPDIR/nope': No such file or directory"
}

@test "an unreadable file is skipped with a warning, the rest is read" {
	local r="$BATS_TEST_TMPDIR/root"
	cp -r "$FIX/gpu-h100x8-mig" "$r"
	rm "$r/proc/driver/nvidia/version"
	mkdir "$r/proc/driver/nvidia/version"
	run -0 snap "$r" WLKIT_SMI_FIXTURE="$FIX/smi/h100x8-mig.xml"
	run -0 kv
	assert_line 'driver/loaded=false'
	assert_line 'driver/module.nvidia=true'
	assert_line 'smi/gpu-count=8'
	run -0 cat "$BATS_TEST_TMPDIR/err"
	assert_output "warning: cannot read '$r/proc/driver/nvidia/version': Is a directory"
}
