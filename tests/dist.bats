#!/usr/bin/env bats
# make dist: one reproducible archive per program with SHA256SUMS, krew
# manifests that follow krew's rules, and the plugins installed from them
# the way krew lays them out (store/<name>/<version>, bin/kubectl-<name>),
# then run by kubectl from that bin directory.
#
# The release binaries are built in build/dist (make dist's DIST_B), so the
# first run compiles every program once; later runs only re-pack.

bats_require_minimum_version 1.5.0
load helpers

VERSION=0.0.1
PLUGINS_KREW="wlrun wlbuild gpusnap vastrun vkcmd"

# yaml2json FILE: the one YAML document of FILE as JSON, read by common/yaml.h.
YAML2JSON_C='#include <stdio.h>
#include "yaml.h"
int main(int argc, char **argv)
{
	struct buf err = BUF_INIT;
	FILE *f = argc == 2 ? fopen(argv[1], "r") : NULL;
	cJSON *docs = f ? yaml_read_stream(f, argv[1], &err) : NULL;
	char *s = docs && cJSON_GetArraySize(docs) == 1 ?
		cJSON_Print(cJSON_GetArrayItem(docs, 0)) : NULL;
	if (s)
		puts(s);
	else
		fprintf(stderr, "yaml2json: %s\n", docs ? "not one document" : buf_str(&err));
	if (f)
		fclose(f);
	cJSON_free(s);
	cJSON_Delete(docs);
	buf_release(&err);
	return !s;
}'

# krew_install JSON KREW_ROOT: installs the plugin of a manifest (as JSON)
# as krew does: picks the linux/amd64 platform, fetches the file:// uri,
# checks its sha256, unpacks it, copies each files[].from glob into
# store/<name>/<version>/<to>, and links bin/kubectl-<name> to the bin.
krew_install() {
	python3 - "$1" "$2" <<'EOF'
import glob, hashlib, io, json, os, shutil, sys, tarfile, tempfile
m = json.load(open(sys.argv[1]))
root = sys.argv[2]
name, version = m["metadata"]["name"], m["spec"]["version"]
plat = [p for p in m["spec"]["platforms"]
        if p["selector"].get("matchLabels") == {"os": "linux", "arch": "amd64"}]
if len(plat) != 1:
    sys.exit("%s: no single linux/amd64 platform" % name)
p = plat[0]
if not p["uri"].startswith("file://"):
    sys.exit("%s: uri %r is not file://" % (name, p["uri"]))
data = open(p["uri"][len("file://"):], "rb").read()
if hashlib.sha256(data).hexdigest() != p["sha256"]:
    sys.exit("%s: sha256 mismatch" % name)
store = os.path.join(root, "store", name, version)
with tempfile.TemporaryDirectory() as tmp:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        if hasattr(tarfile, "data_filter"):
            t.extractall(tmp, filter="data")
        else:
            t.extractall(tmp)
    for f in p["files"]:
        found = glob.glob(os.path.join(tmp, f["from"]))
        if not found:
            sys.exit("%s: files.from %r matches nothing" % (name, f["from"]))
        dest = os.path.normpath(os.path.join(store, f["to"]))
        os.makedirs(dest, exist_ok=True)
        for src in found:
            shutil.copy2(src, os.path.join(dest, os.path.basename(src)))
binpath = os.path.join(store, p["bin"])
if not os.access(binpath, os.X_OK):
    sys.exit("%s: bin %r is not an executable of the plugin" % (name, p["bin"]))
os.makedirs(os.path.join(root, "bin"), exist_ok=True)
os.symlink(binpath, os.path.join(root, "bin", "kubectl-" + name))
EOF
}

setup_file() {
	export DIST="$BATS_FILE_TMPDIR/dist" KREW_ROOT="$BATS_FILE_TMPDIR/krew"
	local log="$BATS_FILE_TMPDIR/make.log" p
	make -C "$WLKIT_ROOT" -j"$(nproc)" dist VERSION=$VERSION DISTDIR="$DIST" \
		DIST_URL="file://$DIST" >"$log" 2>&1 || { cat "$log" >&3; return 1; }
	printf '%s\n' "$YAML2JSON_C" |
		cc -std=c11 -Wall -Werror -D_GNU_SOURCE -iquote "$WLKIT_ROOT/common" -x c - -x none \
			-o "$BATS_FILE_TMPDIR/yaml2json" "$WLKIT_ROOT/build/dist/libwlkit.a" \
			-lyaml -lcjson -larchive -lssl -lcrypto -lz -lm -ldl -pthread >&3 2>&1
	mkdir -p "$BATS_FILE_TMPDIR/json"
	for p in $PLUGINS_KREW; do
		"$BATS_FILE_TMPDIR/yaml2json" "$DIST/krew/$p.yaml" \
			>"$BATS_FILE_TMPDIR/json/$p.json" || return 1
		krew_install "$BATS_FILE_TMPDIR/json/$p.json" "$KREW_ROOT" >&3 2>&1 || return 1
	done
	# The krew bin directory first, then kubectl and the system: not bin/.
	export KPATH="$KREW_ROOT/bin:$(dirname "$(command -v kubectl)"):/usr/bin:/bin"
}

@test "make dist writes one archive per program, listed in SHA256SUMS" {
	local a p
	run -0 find "$DIST" -maxdepth 1 -name '*.tar.gz' -printf '%f\n'
	assert_equal "$(sort <<<"$output")" "$(printf '%s\n' \
		gcloud-nodeimage kubectl-gpusnap kubectl-vastrun kubectl-vkcmd \
		kubectl-wlbuild kubectl-wlrun | sed "s/\$/-$VERSION-linux-amd64.tar.gz/")"
	run -0 wc -l <"$DIST/SHA256SUMS"
	assert_output 6
	cd "$DIST"
	run -0 sha256sum --strict -c SHA256SUMS
	for p in $PLUGINS_KREW; do
		a=kubectl-$p-$VERSION-linux-amd64.tar.gz
		run -0 tar -tzf "$a"
		assert_equal "$output" "$(printf '%s\n' LICENSE kubectl-$p kubectl-$p.1 kubectl_complete-$p)"
	done
	run -0 tar -tzf gcloud-nodeimage-$VERSION-linux-amd64.tar.gz
	assert_equal "$output" "$(printf '%s\n' LICENSE gcloud-nodeimage gcloud-nodeimage.1)"
	# The binary inside is the program at this version.
	tar -xzf kubectl-wlrun-$VERSION-linux-amd64.tar.gz -C "$BATS_TEST_TMPDIR" kubectl-wlrun
	run -0 "$BATS_TEST_TMPDIR/kubectl-wlrun" --version
	assert_output --partial "$VERSION"
}

@test "archives are reproducible: fixed owners, modes and times, no gzip stamp" {
	local a
	for a in "$DIST"/*.tar.gz; do
		# gzip header: no FNAME flag (byte 3), MTIME 0 (bytes 4-7).
		run -0 od -An -tx1 -j3 -N5 "$a"
		assert_output ' 00 00 00 00 00'
		# Lines that are not "MODE 0/0 SIZE 1970-01-01 00:00:00 NAME",
		# MODE 0755 for the programs and 0644 for the rest.
		tar --numeric-owner --full-time -tvzf "$a" >"$BATS_TEST_TMPDIR/list"
		run -0 awk '$2 != "0/0" || $4 " " $5 != "1970-01-01 00:00:00" ||
			$1 != ($6 ~ /^(kubectl|gcloud)[-_][a-z-]+$/ ? "-rwxr-xr-x" : "-rw-r--r--")' \
			"$BATS_TEST_TMPDIR/list"
		assert_output ''
		[ -s "$BATS_TEST_TMPDIR/list" ]
	done
	# Packing again gives the same bytes.
	make -C "$WLKIT_ROOT" dist VERSION=$VERSION DISTDIR="$BATS_TEST_TMPDIR/again" \
		DIST_URL="file://$DIST" >/dev/null 2>&1
	run -0 diff "$DIST/SHA256SUMS" "$BATS_TEST_TMPDIR/again/SHA256SUMS"
	run -0 diff "$DIST/krew/wlrun.yaml" "$BATS_TEST_TMPDIR/again/krew/wlrun.yaml"
}

@test "every krew manifest follows krew's rules" {
	run -0 python3 - "$DIST" "$BATS_FILE_TMPDIR/json" "$VERSION" "$PLUGINS_KREW" <<'EOF'
import glob, hashlib, json, os, re, sys, tarfile
dist, jdir, version, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
bad = []
files = sorted(os.path.basename(f) for f in glob.glob(os.path.join(dist, "krew", "*")))
if files != sorted(n + ".yaml" for n in names):
    bad.append("manifests %s" % files)
for n in names:
    m = json.load(open(os.path.join(jdir, n + ".json")))
    def need(ok, what):
        if not ok:
            bad.append("%s: %s" % (n, what))
    need(m.get("apiVersion") == "krew.googlecontainertools.github.com/v1alpha2", "apiVersion")
    need(m.get("kind") == "Plugin", "kind")
    need(m.get("metadata", {}).get("name") == n, "metadata.name is not the file's name")
    s = m.get("spec", {})
    need(re.fullmatch(r"v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?",
                      str(s.get("version"))), "version %r is not v-prefixed semver" % s.get("version"))
    need(s.get("version") == "v" + version, "version is not v" + version)
    for k in ("homepage", "shortDescription", "description", "caveats"):
        need(isinstance(s.get(k), str) and s[k].strip(), k + " is empty")
    need(re.match(r"https://", s.get("homepage", "")), "homepage is not https")
    need("\n" not in s.get("shortDescription", "\n"), "shortDescription has several lines")
    helper = "kubectl_complete-" + n
    need(re.search(r"^\s*ln -sf .*/%s\" " % helper, s.get("caveats", ""), re.M),
         "caveats do not tell how to link " + helper)
    ps = s.get("platforms") or []
    need(len(ps) == 1, "platforms")
    for p in ps:
        sel = p.get("selector", {})
        need(set(sel) <= {"matchLabels", "matchExpressions"} and sel, "selector %r" % sel)
        keys = set(sel.get("matchLabels", {})) | {e.get("key") for e in sel.get("matchExpressions", [])}
        need(keys and keys <= {"os", "arch"}, "selector keys %s" % sorted(keys))
        need(sel.get("matchLabels") == {"os": "linux", "arch": "amd64"}, "not linux/amd64")
        need(re.fullmatch(r"[0-9a-f]{64}", p.get("sha256", "")), "sha256 is not 64 lower-case hex")
        uri = p.get("uri", "")
        need(uri.startswith("file://" + dist + "/"), "uri %r is not under DIST_URL" % uri)
        path = uri[len("file://"):]
        need(os.path.isfile(path), "uri %r names no archive" % uri)
        if not os.path.isfile(path):
            continue
        need(hashlib.sha256(open(path, "rb").read()).hexdigest() == p.get("sha256"),
             "sha256 is not the archive's")
        members = tarfile.open(path).getnames()
        fl = p.get("files") or []
        need(fl, "files is empty")
        for f in fl:
            need(set(f) == {"from", "to"}, "files entry %r" % f)
            need(f.get("from") in members, "files.from %r is not in the archive" % f.get("from"))
        need(p.get("bin") == "kubectl-" + n, "bin %r" % p.get("bin"))
        need(any(f.get("from") == p.get("bin") and f.get("to") == "." for f in fl),
             "bin %r is not copied from the archive" % p.get("bin"))
        need(helper in members, helper + " is not in the archive")
print("\n".join(bad) or "ok")
sys.exit(1 if bad else 0)
EOF
	assert_output ok
}

@test "krew's layout: store/<name>/v$VERSION holds the files, bin links the binary" {
	local p
	for p in $PLUGINS_KREW; do
		run -0 ls "$KREW_ROOT/store/$p/v$VERSION"
		assert_equal "$output" "$(printf '%s\n' LICENSE kubectl-$p kubectl-$p.1 kubectl_complete-$p)"
		run -0 readlink "$KREW_ROOT/bin/kubectl-$p"
		assert_output "$KREW_ROOT/store/$p/v$VERSION/kubectl-$p"
		[ -x "$KREW_ROOT/bin/kubectl-$p" ]
	done
	run -0 ls "$KREW_ROOT/bin"
	assert_equal "${#lines[@]}" 5
}

@test "kubectl plugin list shows the installed plugins and no warnings" {
	local p
	PATH=$KPATH run -0 --separate-stderr kubectl plugin list
	assert_equal "$stderr" ""
	for p in $PLUGINS_KREW; do
		assert_line "$KREW_ROOT/bin/kubectl-$p"
	done
}

@test "kubectl wlrun --help runs the plugin from the krew bin directory" {
	PATH=$KPATH run -0 --separate-stderr kubectl wlrun --help
	assert_line --index 0 'Run accelerator workloads as JobSets, Jobs or Pods'
	assert_output --regexp 'kubectl wlrun'
}

@test "the caveats' ln command makes kubectl complete the plugin" {
	local cmd
	cmd=$(sed -n 's/^ *\(ln -sf .*\)$/\1/p' "$DIST/krew/wlrun.yaml")
	[ -n "$cmd" ]
	PATH=$KPATH run -0 kubectl __complete wlrun ''
	refute_line --regexp '^create'
	PATH=$KPATH run -0 sh -c "$cmd"
	PATH=$KPATH run -0 kubectl __complete wlrun ''
	assert_line --regexp '^create'
	assert_line --regexp '^delete'
}

@test "make dist refuses a version that is not x.y.z" {
	run -2 make -C "$WLKIT_ROOT" dist VERSION=1.2 DISTDIR="$BATS_TEST_TMPDIR/d"
	assert_output --partial "dist: VERSION '1.2' is not a semantic version (x.y.z)"
	[ ! -e "$BATS_TEST_TMPDIR/d" ]
}
