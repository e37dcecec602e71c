"""gdrive.py - the Google Drive API v3 (www.googleapis.com/drive/v3).

Shapes as the real service has them; what is served:
  POST   /drive/v3/drives?requestId=R          create a shared drive
                                               {name} -> drive#drive
  POST   /drive/v3/files                       create a file from metadata
                                               alone (folders:
                                               mimeType application/
                                               vnd.google-apps.folder)
  GET    /drive/v3/files?q=&fields=&pageSize=&pageToken=
         q: clauses joined by "and": name = 'X' (\\' escapes),
         'ID' in parents, trashed = true|false, mimeType = 'X'
         -> {kind: drive#fileList, incompleteSearch, files[, nextPageToken]}
  GET    /drive/v3/files/ID[?alt=media]        metadata or content
  DELETE /drive/v3/files/ID                    204
  POST   /upload/drive/v3/files?uploadType=resumable     a new file
  PATCH  /upload/drive/v3/files/ID?uploadType=resumable  new content
         metadata JSON body, X-Upload-Content-Type / -Length headers ->
         200, Location: .../upload/drive/v3/files[/ID]?uploadType=
         resumable&upload_id=U
  PUT    that Location, Content-Range "bytes A-B/T" or "bytes */T":
         308 Resume Incomplete with "Range: bytes=0-N" (only whole
         multiples of 256 KiB of a chunk that is not the last are kept, as
         Drive does), then 200 with the file.
Items of a shared drive need supportsAllDrives=true (else 404 File not
found, as Drive answers); a list includes them only with
includeItemsFromAllDrives=true (which itself needs supportsAllDrives).
A file must have a parent in a shared drive when the caller is a service
account: they have no storage of their own (403 storageQuotaExceeded).
Every request needs a bearer token the fake accepts (server.py). Responses
honour `fields` (id,name or files(id,name),nextPageToken).
"""
import hashlib
import re
import secrets
import time

from gerr import GError, Resp, rfc3339

FOLDER = "application/vnd.google-apps.folder"
UNIT = 256 * 1024
DEFAULT_FIELDS = ("kind", "id", "name", "mimeType")


def init(state):
    state.drive_files = {}       # id -> record (content in "data")
    state.drive_drives = {}      # id -> {id, name}
    state.drive_uploads = {}     # upload_id -> session


def _id(prefix=""):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(33 - len(prefix)))


def not_found(fid):
    return GError(404, "File not found: %s." % fid, "notFound",
                  extra={"locationType": "parameter", "location": "fileId"})


def _bool(req, name):
    return (req.q.get(name) or "").lower() == "true"


def _fields(spec):
    """'id,name,files(id,name)' -> {'id': None, 'files': {'id': None, ...}}."""
    out, i, name = {}, 0, ""
    while i < len(spec):
        c = spec[i]
        if c == "(":
            depth, j = 1, i + 1
            while j < len(spec) and depth:
                depth += {"(": 1, ")": -1}.get(spec[j], 0)
                j += 1
            out[name.strip()] = _fields(spec[i + 1:j - 1])
            name, i = "", j
            continue
        if c == ",":
            if name.strip():
                out[name.strip()] = None
            name = ""
        else:
            name += c
        i += 1
    if name.strip():
        out[name.strip()] = None
    return out


def _pick(obj, fields):
    if fields is None or not isinstance(obj, dict):
        return obj
    if "*" in fields:
        return obj
    out = {}
    for k, sub in fields.items():
        if k in obj:
            v = obj[k]
            out[k] = [_pick(x, sub) for x in v] if isinstance(v, list) and sub \
                else _pick(v, sub)
    return out


def _resource(rec):
    out = {"kind": "drive#file", "id": rec["id"], "name": rec["name"],
           "mimeType": rec["mimeType"], "parents": list(rec["parents"]),
           "trashed": rec["trashed"], "createdTime": rfc3339(rec["created"]),
           "modifiedTime": rfc3339(rec["modified"])}
    if rec.get("driveId"):
        out["driveId"] = rec["driveId"]
    if rec["mimeType"] != FOLDER:
        out["size"] = str(len(rec["data"]))
        out["md5Checksum"] = hashlib.md5(rec["data"]).hexdigest()
    return out


def _answer(req, rec, code=200):
    spec = req.q.get("fields")
    res = _resource(rec)
    if not spec:
        res = {k: res[k] for k in DEFAULT_FIELDS}
    else:
        res = _pick(res, _fields(spec))
    return Resp(code, res)


def _get(req, fid, parent=False):
    st = req.state
    rec = st.drive_files.get(fid)
    if rec is None and fid in st.drive_drives:
        rec = st.drive_drives[fid]["root"]
    if rec is None or (rec.get("driveId") and not _bool(req, "supportsAllDrives")):
        if parent:
            raise GError(404, "File not found: %s." % fid, "notFound",
                         extra={"locationType": "other", "location": "file"})
        raise not_found(fid)
    return rec


def _check_parents(req, meta):
    parents = meta.get("parents") or []
    if not isinstance(parents, list) or len(parents) > 1:
        raise GError(403, "Increasing the number of parents is not allowed",
                     "cannotAddParent")
    drive = None
    for p in parents:
        rec = _get(req, p, parent=True)
        if rec["mimeType"] != FOLDER:
            raise GError(400, "The specified parent is not a folder.",
                         "invalid")
        drive = rec.get("driveId")
    if drive is None and req.state.token_email.get(
            _bearer(req), "").endswith(".iam.gserviceaccount.com"):
        raise GError(403, "Service Accounts do not have storage quota. "
                     "Leverage shared drives (https://developers.google.com/"
                     "workspace/drive/api/guides/about-shareddrives), or use "
                     "OAuth delegation instead.", "storageQuotaExceeded",
                     domain="usageLimits")
    return parents, drive


def _bearer(req):
    a = req.headers.get("Authorization") or ""
    return a[7:].strip() if a[:7].lower() == "bearer " else ""


def _new_file(st, name, mime, parents, drive, data=b""):
    now = time.time()
    rec = {"id": _id(), "name": name, "mimeType": mime or
           "application/octet-stream", "parents": parents, "driveId": drive,
           "trashed": False, "created": now, "modified": now, "data": data}
    st.drive_files[rec["id"]] = rec
    return rec


def _create_drive(req):
    st = req.state
    if not req.q.get("requestId"):
        raise GError(400, "Required parameter: requestId", "required",
                     extra={"locationType": "parameter",
                            "location": "requestId"})
    body = req.json()
    did = "0A" + _id()[:17]
    root = {"id": did, "name": body.get("name") or "Untitled",
            "mimeType": FOLDER, "parents": [], "driveId": did,
            "trashed": False, "created": time.time(),
            "modified": time.time(), "data": b""}
    st.drive_drives[did] = {"id": did, "name": root["name"], "root": root}
    return Resp(200, {"kind": "drive#drive", "id": did, "name": root["name"]})


def _parse_q(q):
    """-> list of predicates over records; GError on what is not understood."""
    preds = []
    for clause in re.split(r"\s+and\s+", q.strip()) if q.strip() else []:
        m = re.match(r"^(name|mimeType)\s*=\s*'((?:[^'\\]|\\.)*)'$", clause)
        if m:
            key, val = m.group(1), re.sub(r"\\(.)", r"\1", m.group(2))
            preds.append(lambda r, k=key, v=val: r[k] == v)
            continue
        m = re.match(r"^'((?:[^'\\]|\\.)*)'\s+in\s+parents$", clause)
        if m:
            preds.append(lambda r, p=m.group(1): p in r["parents"])
            continue
        m = re.match(r"^trashed\s*=\s*(true|false)$", clause)
        if m:
            preds.append(lambda r, t=(m.group(1) == "true"): r["trashed"] == t)
            continue
        raise GError(400, "Invalid Value", "invalid",
                     extra={"locationType": "parameter", "location": "q"})
    return preds


def _list(req):
    st = req.state
    all_drives = _bool(req, "includeItemsFromAllDrives")
    if all_drives and not _bool(req, "supportsAllDrives"):
        raise GError(403, "The includeItemsFromAllDrives parameter can only be "
                     "set to true when supportsAllDrives is also set to true.",
                     "invalid")
    preds = _parse_q(req.q.get("q") or "")
    files = [r for r in st.drive_files.values()
             if (all_drives or not r.get("driveId"))
             and all(p(r) for p in preds)]
    files.sort(key=lambda r: (r["created"], r["id"]))
    try:
        size = int(req.q.get("pageSize") or 100)
        start = int(req.q.get("pageToken") or 0)
    except ValueError:
        raise GError(400, "Invalid Value", "invalid",
                     extra={"locationType": "parameter",
                            "location": "pageToken"})
    size = max(1, min(size, 1000))
    chunk = files[start:start + size]
    out = {"kind": "drive#fileList", "incompleteSearch": False,
           "files": [_resource(r) for r in chunk]}
    if start + size < len(files):
        out["nextPageToken"] = str(start + size)
    spec = req.q.get("fields")
    if spec:
        out = _pick(out, _fields(spec))
    else:
        out["files"] = [{k: f[k] for k in DEFAULT_FIELDS} for f in out["files"]]
    return Resp(200, out)


def _start_upload(req, fid):
    st = req.state
    meta = req.json()
    if fid:
        rec = _get(req, fid)
        if meta.get("parents"):
            raise GError(403, "The parents field is not directly writable in "
                         "update requests. Use the addParents and "
                         "removeParents parameters instead.",
                         "fieldNotWritable")
        parents, drive = rec["parents"], rec.get("driveId")
    else:
        if not meta.get("name"):
            meta["name"] = "Untitled"
        parents, drive = _check_parents(req, meta)
    try:
        total = int(req.headers.get("X-Upload-Content-Length") or -1)
    except ValueError:
        raise GError(400, "Invalid X-Upload-Content-Length", "invalid")
    uid = "AFiumC" + secrets.token_urlsafe(30)
    st.drive_uploads[uid] = {
        "file": fid, "meta": meta, "parents": parents, "drive": drive,
        "mime": meta.get("mimeType") or req.headers.get("X-Upload-Content-Type"),
        "total": total if total >= 0 else None, "data": bytearray(),
        "done": None, "fields": req.q.get("fields")}
    path = "/upload/drive/v3/files" + ("/" + fid if fid else "")
    loc = "%s%s?uploadType=resumable&supportsAllDrives=true&upload_id=%s" % (
        req.base, path, uid)
    return Resp(200, body=b"", headers={"Location": loc,
                                       "X-GUploader-UploadID": uid})


def _put(req):
    st = req.state
    up = st.drive_uploads.get(req.q.get("upload_id") or "")
    if up is None:
        raise GError(404, "Not Found", "notFound")
    if up["done"] is not None:
        req.q["fields"] = up["fields"] or ""
        return _answer(req, up["done"])
    cr = (req.headers.get("Content-Range") or "").strip()
    m = re.match(r"^bytes (\*|(\d+)-(\d+))/(\*|\d+)$", cr)
    if not m:
        raise GError(400, "Failed to parse Content-Range header.", "badContent")
    if m.group(4) != "*":
        total = int(m.group(4))
        if up["total"] is not None and total != up["total"]:
            raise GError(400, "Content-Range total does not match the declared "
                         "X-Upload-Content-Length.", "badContent")
        up["total"] = total
    have = len(up["data"])
    if m.group(1) != "*":
        a, z = int(m.group(2)), int(m.group(3))
        if z - a + 1 != len(req.body):
            raise GError(400, "Content-Range does not match the size of the "
                         "request body", "badContent")
        if a > have:
            raise GError(400, "Invalid request. According to the "
                         "Content-Range header, the upload offset is %d "
                         "byte(s), which exceeds already uploaded size of "
                         "%d byte(s)." % (a, have), "badContent")
        data = req.body[have - a:]
        last = up["total"] is not None and z + 1 == up["total"]
        if not last:
            data = data[:max(0, len(data) - (z + 1) % UNIT)]
        up["data"] += data
    elif req.body:
        raise GError(400, "A status query must have an empty body", "badContent")
    n = len(up["data"])
    if up["total"] is None or n < up["total"]:
        hdr = {"Range": "bytes=0-%d" % (n - 1)} if n else {}
        return Resp(308, body=b"", ctype="text/plain; charset=utf-8",
                    headers=hdr)
    if n > up["total"]:
        raise GError(400, "The upload is larger than its declared size",
                     "badContent")
    if up["file"]:
        rec = _get(req, up["file"]) if up["file"] in st.drive_files else None
        if rec is None:
            raise not_found(up["file"])
        rec["data"] = bytes(up["data"])
        rec["modified"] = time.time()
        if up["mime"]:
            rec["mimeType"] = up["mime"]
    else:
        rec = _new_file(st, up["meta"]["name"], up["mime"], up["parents"],
                        up["drive"], bytes(up["data"]))
    up["done"] = rec
    req.q["fields"] = up["fields"] or ""
    return _answer(req, rec)


def route(req):
    st = req.state
    with st.lock:
        return _route(req)


def _route(req):
    p, meth = req.path, req.method
    if p == "/drive/v3/drives" and meth == "POST":
        return _create_drive(req)
    if p == "/drive/v3/files":
        if meth == "GET":
            return _list(req)
        if meth == "POST":
            meta = req.json()
            parents, drive = _check_parents(req, meta)
            rec = _new_file(req.state, meta.get("name") or "Untitled",
                            meta.get("mimeType"), parents, drive)
            return _answer(req, rec)
        return None
    m = re.match(r"^/drive/v3/files/([^/]+)$", p)
    if m:
        rec = _get(req, m.group(1))
        if meth == "GET":
            if req.q.get("alt") == "media":
                if rec["mimeType"] == FOLDER:
                    raise GError(403, "Only files with binary content can be "
                                 "downloaded.", "fileNotDownloadable")
                return Resp(200, body=rec["data"],
                            ctype=rec["mimeType"])
            return _answer(req, rec)
        if meth == "DELETE":
            req.state.drive_files.pop(rec["id"], None)
            return Resp(204, body=b"", ctype="text/plain")
        return None
    m = re.match(r"^/upload/drive/v3/files(?:/([^/]+))?$", p)
    if m:
        if req.q.get("upload_id"):
            if meth in ("PUT", "POST"):
                return _put(req)
            return None
        if req.q.get("uploadType") != "resumable":
            raise GError(400, "Invalid upload type: %s; this fake takes "
                         "uploadType=resumable" % (req.q.get("uploadType") or
                                                   "(none)"), "invalid")
        if (meth == "POST" and not m.group(1)) or \
                (meth == "PATCH" and m.group(1)):
            return _start_upload(req, m.group(1))
        return None
    return None
