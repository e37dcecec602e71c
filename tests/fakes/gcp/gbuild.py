"""gbuild.py - Cloud Build v1: builds, their operations and logs.

  POST /v1/projects/P/locations/L/builds, /v1/projects/P/builds
       validates the Build (steps non-empty, each with a name;
       source.storageSource bucket/object[/generation] present in the fake
       storage; images and steps' names valid references without blanks;
       timeout "<n>s"; options.machineType known) and answers an Operation
       {name, metadata: {@type: ...BuildOperationMetadata, build}}; the
       operation is done when the build is (error {code 2} unless SUCCESS)
  GET  .../builds/ID, .../builds?pageSize&pageToken (newest first)
  POST .../builds/ID:cancel      CANCELLED (400 FAILED_PRECONDITION when the
                                 build already ended)
  GET  /v1/operations/build/P/ID, /v1/projects/P/locations/L/operations/ID

Life of a build (the ticker): QUEUED for timing.buildQueued seconds,
WORKING for timing.buildWorking, then SUCCESS, FAILURE or TIMEOUT (the
build's own timeout shorter than buildWorking). The log object
log-ID.txt in logsBucket (default gs://NUMBER.cloudbuild-logs.googleuser
content.com, made when missing) is written in timing.logPieces growing
generations over the WORKING time, so Range-tailing sees it grow.

The failure rule: a step `gcr.io/cloud-builders/docker` with args `build`
reads the uploaded archive (tarfile) and fails when the archive is not a
readable tar.gz, has no Dockerfile (or the -f/--file one), or the
Dockerfile has a line `RUN false` or `RUN exit N` with N > 0; its log
then ends as Cloud Build's does ("ERROR: build step 0 ... failed").
results.images[] = {name, digest: "sha256:" + sha256(archive bytes +
image name)}, so the same archive and name give the same digest.

gcloud builds submit works against this fake only with --async: its log
tailer reads https://storage.googleapis.com/BUCKET/log-ID.txt, a URL built
in that ignores the endpoint overrides (the storage fake serves that path,
GET /BUCKET/OBJECT, too).
"""
import hashlib
import io
import re
import tarfile
import time
import uuid

import gstorage
from gauth import project_number
from gerr import GError, Resp, page, rfc3339

BUILD_TYPE = "type.googleapis.com/google.devtools.cloudbuild.v1.Build"
META_TYPE = ("type.googleapis.com/google.devtools.cloudbuild.v1."
             "BuildOperationMetadata")
TERMINAL = ("SUCCESS", "FAILURE", "INTERNAL_ERROR", "TIMEOUT", "CANCELLED",
            "EXPIRED")
MACHINES = ("UNSPECIFIED", "E2_HIGHCPU_8", "E2_HIGHCPU_32", "E2_MEDIUM",
            "N1_HIGHCPU_8", "N1_HIGHCPU_32", "E2_STANDARD_2")
REF_RE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?"
                    r"(/[a-z0-9]+([._-]+[a-z0-9]+)*)*"
                    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
                    r"(@sha256:[0-9a-f]{64})?$")
FAIL_RE = re.compile(r"^\s*RUN\s+(false|exit\s+0*[1-9][0-9]*)\s*$", re.I)
DOCKER = "gcr.io/cloud-builders/docker"


def init(state):
    state.builds = {}          # id -> build resource (as the API shows it)
    state.build_run = {}       # id -> plan: times, log pieces, outcome


def _invalid(msg):
    return GError(400, "invalid build: " + msg, "badRequest",
                  "INVALID_ARGUMENT")


def _dockerfile(data, args):
    """(failing step line or None, instruction lines) or raises ValueError."""
    path = "Dockerfile"
    for i, a in enumerate(args):
        if a in ("-f", "--file") and i + 1 < len(args):
            path = args[i + 1]
        elif a.startswith("--file="):
            path = a[7:]
    ctx = args[-1] if len(args) > 1 and not args[-1].startswith("-") else "."
    want = re.sub(r"^(\./)+", "", (ctx.rstrip("/") + "/" + path)
                  if not path.startswith("/") else path.lstrip("/"))
    want = re.sub(r"^\./", "", want)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
        for m in tf.getmembers():
            if re.sub(r"^(\./)+", "", m.name) == want and m.isfile():
                text = tf.extractfile(m).read().decode("utf-8", "replace")
                break
        else:
            raise FileNotFoundError(want)
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    bad = next((ln for ln in lines if FAIL_RE.match(ln)), None)
    return bad, lines


def _plan(build, archive, name_of_src):
    """The log lines and the outcome of BUILD: (lines, status, detail)."""
    bid = build["id"]
    out = ['starting build "%s"' % bid, "", "FETCHSOURCE"]
    if name_of_src:
        out += ["Fetching storage object: %s" % name_of_src,
                "Copying %s..." % name_of_src,
                "/ [1 files][%6d B/%6d B]" % (len(archive), len(archive)),
                "Operation completed over 1 objects/%d B." % len(archive)]
        try:
            tarfile.open(fileobj=io.BytesIO(archive), mode="r:*").close()
        except (tarfile.TarError, OSError, EOFError):
            out += ["ERROR: failed to unpack the source archive %s"
                    % name_of_src]
            return out, "FAILURE", ("FETCH_SOURCE_FAILED",
                                    "failed to fetch the source")
    out.append("BUILD")
    for i, s in enumerate(build["steps"]):
        name, args = s["name"], [str(a) for a in s.get("args") or []]
        out += ["Starting Step #%d" % i,
                "Step #%d: Already have image (with digest): %s" % (i, name)]
        if name.split(":")[0] == DOCKER and args[:1] == ["build"]:
            try:
                bad, lines = _dockerfile(archive, args)
            except FileNotFoundError as e:
                bad, lines = "", None
                out.append("Step #%d: unable to prepare context: unable to "
                           "evaluate symlinks in Dockerfile path: lstat "
                           "/workspace/%s: no such file or directory"
                           % (i, e.args[0]))
            except (tarfile.TarError, OSError, EOFError):
                bad, lines = "", None
            if lines is not None:
                out.append("Step #%d: Sending build context to Docker "
                           "daemon  %.2fkB" % (i, len(archive) / 1024.0))
                for k, ln in enumerate(lines):
                    out.append("Step #%d: Step %d/%d : %s"
                               % (i, k + 1, len(lines), ln))
                    if ln == bad:
                        out.append("Step #%d: The command '/bin/sh -c %s' "
                                   "returned a non-zero code: 1"
                                   % (i, re.sub(r"^\s*RUN\s+", "", ln,
                                                flags=re.I)))
                        break
                    out.append("Step #%d:  ---> %s" % (i, uuid.uuid4().hex[:12]))
            if bad is not None:
                out += ["Finished Step #%d" % i, "ERROR",
                        'ERROR: build step %d "%s" failed: step exited with '
                        'non-zero status: 1' % (i, name)]
                return out, "FAILURE", (
                    "USER_BUILD_STEP",
                    'Build step failure: build step %d "%s" failed: step '
                    'exited with non-zero status: 1' % (i, name))
            for img in build.get("images") or []:
                out.append("Step #%d: Successfully tagged %s" % (i, img))
        else:
            out.append("Step #%d: %s" % (i, " ".join([name] + args)))
        out.append("Finished Step #%d" % i)
    if build.get("images"):
        out.append("PUSH")
        for img in build["images"]:
            out += ["Pushing %s" % img,
                    "The push refers to repository [%s]" % img.split(":")[0]]
    out.append("DONE")
    return out, "SUCCESS", None


def _duration(v, what):
    m = re.match(r"^([0-9]+(\.[0-9]+)?)s$", str(v))
    if not m:
        raise _invalid("invalid %s %r: must be a duration like \"600s\""
                       % (what, v))
    return float(m.group(1))


def create(req, project, location):
    st = req.state
    st.check_project(project)
    b = req.json()
    steps = b.get("steps")
    if not isinstance(steps, list) or not steps:
        raise _invalid("build must have at least one step")
    for i, s in enumerate(steps):
        if not isinstance(s, dict) or not s.get("name"):
            raise _invalid("build step %d must specify name" % i)
        if not REF_RE.match(str(s["name"])):
            raise _invalid("invalid build step name %r" % s["name"])
    images = b.get("images") or []
    for img in images:
        if not isinstance(img, str) or not REF_RE.match(img):
            raise _invalid("invalid image name %r" % (img,))
    timeout = _duration(b.get("timeout") or "600s", "timeout")
    mt = (b.get("options") or {}).get("machineType")
    if mt and mt not in MACHINES:
        raise _invalid("invalid value for machineType %r" % mt)
    archive, src_name = b"", None
    ss = (b.get("source") or {}).get("storageSource")
    if ss is not None:
        if not ss.get("bucket") or not ss.get("object"):
            raise _invalid("storageSource must name a bucket and an object")
        rec = gstorage.get_object(st, ss["bucket"], ss["object"])
        gen = str(ss.get("generation") or "")
        if rec is None or (gen and gen != rec["meta"]["generation"]):
            raise _invalid("source object gs://%s/%s%s does not exist"
                           % (ss["bucket"], ss["object"],
                              "#" + gen if gen else ""))
        archive = rec["data"]
        src_name = "gs://%s/%s#%s" % (ss["bucket"], ss["object"],
                                      rec["meta"]["generation"])
    now = time.time()
    bid = str(uuid.uuid4())
    num = project_number(project)
    logs = b.get("logsBucket") or \
        "gs://%d.cloudbuild-logs.googleusercontent.com" % num
    lb = logs[5:] if logs.startswith("gs://") else logs
    gstorage.ensure_bucket(st, lb.split("/")[0], project)
    build = dict(b)
    build.update({
        "id": bid, "projectId": project, "status": "QUEUED",
        "name": "projects/%s/locations/%s/builds/%s" % (project, location, bid),
        "createTime": rfc3339(now, 6), "timeout": "%gs" % timeout,
        "queueTtl": b.get("queueTtl") or "3600s", "logsBucket": logs,
        "logUrl": "https://console.cloud.google.com/cloud-build/builds;"
                  "region=%s/%s?project=%d" % (location, bid, num),
        "options": dict(b.get("options") or {}, logging=(b.get("options") or {})
                        .get("logging", "LEGACY")),
        "steps": [dict(s) for s in steps]})
    if ss is not None:
        build["sourceProvenance"] = {"resolvedStorageSource": {
            "bucket": ss["bucket"], "object": ss["object"],
            "generation": src_name.rsplit("#", 1)[1]}}
    lines, outcome, detail = _plan(build, archive, src_name)
    t = st.timing
    st.builds[bid] = build
    st.build_run[bid] = {"location": location, "archive": archive,
                         "created": now, "lines": lines, "outcome": outcome,
                         "detail": detail, "written": 0,
                         "log": (lb.split("/")[0], "/".join(
                             lb.split("/")[1:] + ["log-%s.txt" % bid])),
                         "queued": float(t["buildQueued"]),
                         "working": float(t["buildWorking"]),
                         "pieces": max(1, int(t["logPieces"])),
                         "timeout": timeout}
    return bid


def _write_log(st, bid, upto):
    run = st.build_run[bid]
    n = len(run["lines"])
    k = min(n, (n * upto + run["pieces"] - 1) // run["pieces"])
    if k <= run["written"] and run["written"] > 0:
        return
    run["written"] = max(k, 1)
    text = "\n".join(run["lines"][:run["written"]]) + "\n"
    gstorage.put_object(st, run["log"][0], run["log"][1], text.encode(),
                        "text/plain; charset=utf-8")


def _finish(st, bid, status, now, detail=None):
    b = st.builds[bid]
    run = st.build_run[bid]
    b["status"] = status
    b["finishTime"] = rfc3339(now, 6)
    if "startTime" in b:
        b["timing"] = {"BUILD": {"startTime": b["startTime"],
                                 "endTime": b["finishTime"]}}
    if status == "SUCCESS":
        b["results"] = {"images": [
            {"name": img, "digest": "sha256:" + hashlib.sha256(
                run["archive"] + img.encode()).hexdigest(),
             "pushTiming": {"startTime": b["finishTime"],
                            "endTime": b["finishTime"]}}
            for img in b.get("images") or []],
            "buildStepImages": ["" for _ in b["steps"]],
            "numArtifacts": "0"}
        for s in b["steps"]:
            s["status"] = "SUCCESS"
    elif detail:
        b["failureInfo"] = {"type": detail[0], "detail": detail[1]}
        b["statusDetail"] = detail[1]
    if status == "TIMEOUT":
        b["statusDetail"] = "Build timeout"
        run["lines"] = run["lines"][:run["written"]] + [
            "ERROR: context deadline exceeded", "TIMEOUT"]
        run["written"] = 0
    if status != "CANCELLED":
        _write_log(st, bid, run["pieces"])


def tick(st, now):
    for bid, b in st.builds.items():
        if b["status"] in TERMINAL:
            continue
        run = st.build_run[bid]
        start = run["created"] + run["queued"]
        if b["status"] == "QUEUED":
            if now < start:
                continue
            b["status"] = "WORKING"
            b["startTime"] = rfc3339(now, 6)
            run["started"] = now
            _write_log(st, bid, 1)
        elapsed = now - run["started"]
        if elapsed >= run["timeout"] and run["timeout"] < run["working"]:
            _finish(st, bid, "TIMEOUT", now)
        elif elapsed >= run["working"]:
            _finish(st, bid, run["outcome"], now, run["detail"])
        else:
            _write_log(st, bid, 1 + int(elapsed / run["working"] *
                                        run["pieces"]))


def _operation(st, bid, location, legacy=False):
    b = st.builds[bid]
    name = ("operations/build/%s/%s" % (b["projectId"], bid)) if legacy else \
        "projects/%s/locations/%s/operations/%s" % (b["projectId"], location,
                                                    bid)
    op = {"name": name, "metadata": {"@type": META_TYPE, "build": b}}
    if b["status"] in TERMINAL:
        op["done"] = True
        if b["status"] == "SUCCESS":
            op["response"] = dict(b, **{"@type": BUILD_TYPE})
        else:
            op["error"] = {"code": 2, "message": "Build failed; check build "
                           "logs for details" if b["status"] == "FAILURE"
                           else "Build %s" % b["status"].lower()}
    return op


def _get(st, project, bid):
    b = st.builds.get(bid)
    if b is None or b["projectId"] != project:
        raise GError(404, "Requested entity was not found.", "notFound")
    return b


def route(req):
    st = req.state
    with st.lock:
        return _route(req, st)


def _route(req, st):
    p = req.path.strip("/").split("/")
    m = req.method
    if len(p) >= 5 and p[:2] == ["v1", "operations"] and p[2] == "build" \
            and m == "GET":
        b = _get(st, p[3], p[4])
        return Resp(200, _operation(st, b["id"], st.build_run[b["id"]]
                                    ["location"], legacy=True))
    if len(p) < 3 or p[:2] != ["v1", "projects"]:
        return None
    project = p[2]
    rest = p[3:]
    location = "global"
    legacy = True
    if rest[:1] == ["locations"] and len(rest) >= 2:
        location, rest, legacy = rest[1], rest[2:], False
    if rest[:1] == ["operations"] and len(rest) == 2 and m == "GET":
        b = _get(st, project, rest[1])
        return Resp(200, _operation(st, b["id"], location, legacy))
    if rest[:1] != ["builds"]:
        return None
    if len(rest) == 1:
        if m == "POST":
            bid = create(req, project, location)
            return Resp(200, _operation(st, bid, location, legacy))
        if m == "GET":
            st.check_project(project)
            items = [b for b in st.builds.values()
                     if b["projectId"] == project and
                     st.build_run[b["id"]]["location"] == location]
            items.sort(key=lambda b: b["createTime"], reverse=True)
            chunk, nxt = page(items, req.q, "pageToken", "pageSize", 50)
            out = {"builds": chunk}
            if nxt:
                out["nextPageToken"] = nxt
            return Resp(200, out)
        return None
    if len(rest) == 2:
        bid, _, verb = rest[1].partition(":")
        b = _get(st, project, bid)
        if not verb and m == "GET":
            return Resp(200, b)
        if verb == "cancel" and m == "POST":
            if b["status"] in TERMINAL:
                raise GError(400, "build %s is already in a final state: %s"
                             % (bid, b["status"]), "failedPrecondition",
                             "FAILED_PRECONDITION")
            _finish(st, bid, "CANCELLED", time.time())
            return Resp(200, b)
    return None
