"""gstorage.py - Cloud Storage: the JSON API and media up- and downloads.

  POST   /storage/v1/b?project=P                 insert a bucket (409 when it
                                                 exists, the real messages)
  GET    /storage/v1/b?project=P | /b/B          list, get; DELETE /b/B
  GET    /storage/v1/b/B/o?prefix&delimiter&maxResults&pageToken
  GET    /storage/v1/b/B/o/NAME                  metadata; ?alt=media: data
  DELETE /storage/v1/b/B/o/NAME
  POST   /upload/storage/v1/b/B/o?uploadType=media&name=N | multipart |
         resumable (answers Location: ...&upload_id=ID)
  PUT    /upload/storage/v1/b/B/o?uploadType=resumable&upload_id=ID with
         Content-Range "bytes A-B/T", "bytes A-B/*" or "bytes */T":
         308 with Range: bytes=0-N until complete, then 200 and the object
  GET    /download/storage/v1/b/B/o/NAME?alt=media and GET /B/NAME (the
         XML API's simple download)
Downloads honour Range (bytes=A-B, A-, -N): 206 with Content-Range; a
start at or past the end is 416 (JSON API: Google's error body with reason
requestedRangeNotSatisfiable; XML path: the InvalidRange XML document).
ifGenerationMatch (0: must not exist) is honoured on inserts and gets.
Objects carry size, generation, md5Hash and crc32c as the real API.
"""
import base64
import hashlib
import json
import re
import secrets
import time
import urllib.parse

from gerr import GError, Resp, page, rfc3339
from gauth import project_number

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    t = _CRC_TABLE
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def init(state):
    state.buckets = {}
    state.uploads = {}
    state.last_gen = 0


def _gen(state):
    g = max(int(time.time() * 1e6), state.last_gen + 1)
    state.last_gen = g
    return g


def ensure_bucket(state, name, project, location="US"):
    """The bucket NAME, made for PROJECT when missing (seed, build logs)."""
    with state.lock:
        b = state.buckets.get(name)
        if b is None:
            now = rfc3339(time.time())
            b = {"meta": {"kind": "storage#bucket", "id": name, "name": name,
                          "projectNumber": str(project_number(project)),
                          "metageneration": "1", "location": location,
                          "locationType": "multi-region",
                          "storageClass": "STANDARD", "etag": "CAE=",
                          "timeCreated": now, "updated": now},
                 "project": project, "objects": {}}
            state.buckets[name] = b
        return b


def put_object(state, bucket, name, data, ctype="application/octet-stream",
               meta=None):
    """Stores DATA as BUCKET/NAME (a new generation); returns its record."""
    with state.lock:
        b = state.buckets[bucket]
        g = _gen(state)
        now = rfc3339(time.time())
        old = b["objects"].get(name)
        m = {"kind": "storage#object", "name": name, "bucket": bucket,
             "generation": str(g), "metageneration": "1",
             "contentType": ctype or "application/octet-stream",
             "storageClass": "STANDARD", "size": str(len(data)),
             "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),
             "crc32c": base64.b64encode(
                 crc32c(data).to_bytes(4, "big")).decode(),
             "etag": base64.b64encode(str(g).encode()).decode(),
             "timeCreated": old["meta"]["timeCreated"] if old else now,
             "updated": now, "timeStorageClassUpdated": now}
        for k in ("metadata", "cacheControl", "contentEncoding",
                  "contentDisposition"):
            if meta and k in meta:
                m[k] = meta[k]
        if meta and meta.get("contentType"):
            m["contentType"] = meta["contentType"]
        rec = {"meta": m, "data": bytes(data)}
        b["objects"][name] = rec
        return rec


def get_object(state, bucket, name):
    """The record of BUCKET/NAME ({"meta", "data"}) or None."""
    with state.lock:
        b = state.buckets.get(bucket)
        return b["objects"].get(name) if b else None


def _links(req, rec):
    m = dict(rec["meta"])
    q = urllib.parse.quote(m["name"], safe="")
    m["id"] = "%s/%s/%s" % (m["bucket"], m["name"], m["generation"])
    m["selfLink"] = "%s/storage/v1/b/%s/o/%s" % (req.base, m["bucket"], q)
    m["mediaLink"] = "%s/download/storage/v1/b/%s/o/%s?generation=%s" \
        "&alt=media" % (req.base, m["bucket"], q, m["generation"])
    return m


def _bucket_meta(req, b):
    m = dict(b["meta"])
    m["selfLink"] = "%s/storage/v1/b/%s" % (req.base, m["name"])
    return m


def _bucket(req, name):
    b = req.state.buckets.get(name)
    if b is None:
        raise GError(404, "The specified bucket does not exist.", "notFound")
    return b


def _object(req, bucket, name):
    b = _bucket(req, bucket)
    rec = b["objects"].get(name)
    gen = req.q.get("generation")
    if rec is None or (gen and gen != rec["meta"]["generation"]):
        raise GError(404, "No such object: %s/%s" % (bucket, name),
                     "notFound")
    _precondition(req, rec)
    return rec


def _precondition(req, rec):
    m = req.q.get("ifGenerationMatch")
    if m is None:
        return
    have = rec["meta"]["generation"] if rec else "0"
    if m != have:
        raise GError(412, "At least one of the pre-conditions you specified "
                     "did not hold.", "conditionNotMet",
                     extra={"locationType": "header", "location": "If-Match"})


def _range(req, size):
    """(start, end) inclusive from the Range header, None for the whole."""
    h = req.headers.get("Range")
    if not h:
        return None
    m = re.match(r"^bytes=(\d*)-(\d*)$", h.strip())
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    if m.group(1) == "":
        n = int(m.group(2))
        return (max(size - n, 0), size - 1) if n else (size, size)
    a = int(m.group(1))
    b = int(m.group(2)) if m.group(2) else size - 1
    if a >= size:
        return (a, a)
    return (a, min(b, size - 1)) if b >= a else None


def _media(req, rec, xml=False):
    data = rec["data"]
    m = rec["meta"]
    hdr = {"X-Goog-Generation": m["generation"],
           "X-Goog-Hash": "crc32c=%s,md5=%s" % (m["crc32c"], m["md5Hash"]),
           "X-Goog-Stored-Content-Length": m["size"],
           "ETag": m["etag"], "Accept-Ranges": "bytes"}
    r = _range(req, len(data))
    if r is None:
        return Resp(200, body=data, ctype=m["contentType"], headers=hdr)
    a, b = r
    if a >= len(data):
        hdr = {"Content-Range": "bytes */%d" % len(data)}
        if xml:
            return Resp(416, body=(
                "<?xml version='1.0' encoding='UTF-8'?><Error><Code>"
                "InvalidRange</Code><Message>The requested range cannot be "
                "satisfied.</Message><Details>%s</Details></Error>"
                % req.headers.get("Range")).encode(),
                ctype="application/xml; charset=UTF-8", headers=hdr)
        e = GError(416, "The requested range cannot be satisfied.",
                   "requestedRangeNotSatisfiable")
        return Resp(416, e.body(), headers=hdr)
    hdr["Content-Range"] = "bytes %d-%d/%d" % (a, b, len(data))
    return Resp(206, body=data[a:b + 1], ctype=m["contentType"], headers=hdr)


def _list_objects(req, b):
    prefix = req.q.get("prefix") or ""
    delim = req.q.get("delimiter") or ""
    entries = []
    seen = set()
    for name in sorted(b["objects"]):
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix):]
        if delim and delim in rest:
            p = prefix + rest[:rest.index(delim) + len(delim)]
            if p not in seen:
                seen.add(p)
                entries.append(("p", p))
            continue
        entries.append(("o", name))
    chunk, nxt = page(entries, req.q, default=1000)
    out = {"kind": "storage#objects"}
    items = [_links(req, b["objects"][n]) for k, n in chunk if k == "o"]
    prefixes = [n for k, n in chunk if k == "p"]
    if items:
        out["items"] = items
    if prefixes:
        out["prefixes"] = prefixes
    if nxt:
        out["nextPageToken"] = nxt
    return Resp(200, out)


def _insert_bucket(req):
    st = req.state
    p = req.q.get("project") or ""
    if not p:
        raise GError(400, "Required parameter: project", "required")
    st.check_project(p)
    body = req.json()
    name = body.get("name") or ""
    if not BUCKET_RE.match(name) or ".." in name or \
            name.startswith("goog") or "google" in name:
        raise GError(400, "Invalid bucket name: '%s'" % name, "invalid")
    old = st.buckets.get(name)
    if old is not None:
        if old["project"] == p:
            raise GError(409, "Your previous request to create the named "
                         "bucket succeeded and you already own it.",
                         "conflict", "CONFLICT")
        raise GError(409, "The requested bucket name is not available. The "
                     "bucket namespace is shared by all users of the "
                     "system. Please select a different name and try "
                     "again.", "conflict", "CONFLICT")
    b = ensure_bucket(st, name, p, (body.get("location") or "US").upper())
    if body.get("storageClass"):
        b["meta"]["storageClass"] = body["storageClass"]
    return Resp(200, _bucket_meta(req, b))


def _multipart(req):
    ctype = req.headers.get("Content-Type") or ""
    m = re.search(r"""boundary=(?:"([^"]+)"|'([^']+)'|([^;\s]+))""", ctype)
    if not m or "multipart/related" not in ctype:
        raise GError(400, "Upload requests must include an uploadType URL "
                     "parameter and a multipart/related body", "wrongUrlForUpload")
    delim = b"--" + next(g for g in m.groups() if g).encode()
    parts = []
    for chunk in req.body.split(delim)[1:]:
        if chunk.startswith(b"--"):
            break
        nl = b"\r\n" if chunk.startswith(b"\r\n") else b"\n"
        chunk = chunk[len(nl):]
        head, sep, data = chunk.partition(nl + nl)
        if data.endswith(nl):
            data = data[:-len(nl)]
        hdrs = {}
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        parts.append((hdrs, data))
    if len(parts) != 2:
        raise GError(400, "Multipart upload must have exactly two parts",
                     "invalid")
    try:
        meta = json.loads(parts[0][1].decode() or "{}")
    except ValueError:
        raise GError(400, "Invalid JSON payload received in the metadata "
                     "part.", "parseError")
    meta.setdefault("contentType", parts[1][0].get("content-type"))
    return meta, parts[1][1]


def _upload(req, bucket):
    st = req.state
    b = _bucket(req, bucket)
    kind = req.q.get("uploadType") or ""
    if req.method == "PUT" or (kind == "resumable" and req.q.get("upload_id")):
        return _resumable_put(req, b)
    if kind == "media":
        meta = {"name": req.q.get("name") or "",
                "contentType": req.headers.get("Content-Type")}
        data = req.body
    elif kind == "multipart":
        meta, data = _multipart(req)
        meta["name"] = req.q.get("name") or meta.get("name") or ""
    elif kind == "resumable":
        meta = req.json() if req.body else {}
        meta["name"] = req.q.get("name") or meta.get("name") or ""
        if not meta["name"]:
            raise GError(400, "Required", "required")
        meta.setdefault("contentType", req.headers.get("X-Upload-Content-Type"))
        _precondition(req, b["objects"].get(meta["name"]))
        uid = "ADPycd" + secrets.token_urlsafe(24)
        st.uploads[uid] = {"bucket": bucket, "meta": meta,
                           "data": bytearray(), "done": None,
                           "ifGenerationMatch": req.q.get("ifGenerationMatch")}
        loc = "%s/upload/storage/v1/b/%s/o?uploadType=resumable&name=%s" \
            "&upload_id=%s" % (req.base, bucket,
                               urllib.parse.quote(meta["name"], safe=""), uid)
        return Resp(200, body=b"", headers={"Location": loc,
                                           "X-GUploader-UploadID": uid})
    else:
        raise GError(400, "Upload requests must include an uploadType URL "
                     "parameter and a URL path beginning with /upload/",
                     "wrongUrlForUpload")
    if not meta.get("name"):
        raise GError(400, "Required", "required")
    _precondition(req, b["objects"].get(meta["name"]))
    rec = put_object(st, bucket, meta["name"], data, meta.get("contentType"),
                     meta)
    return Resp(200, _links(req, rec))


def _resumable_put(req, b):
    st = req.state
    up = st.uploads.get(req.q.get("upload_id") or "")
    if up is None or up["bucket"] != b["meta"]["name"]:
        raise GError(404, "No such upload session.", "notFound")
    if up["done"] is not None:
        return Resp(200, _links(req, up["done"]))
    cr = (req.headers.get("Content-Range") or "").strip()
    total = None
    if cr:
        m = re.match(r"^bytes (\*|(\d+)-(\d+))/(\*|\d+)$", cr)
        if not m:
            raise GError(400, "Invalid Content-Range header: %s" % cr,
                         "invalid")
        total = None if m.group(4) == "*" else int(m.group(4))
        if m.group(1) != "*":
            a, z = int(m.group(2)), int(m.group(3))
            if z - a + 1 != len(req.body):
                raise GError(400, "Content-Range does not match the size of "
                             "the request body", "invalid")
            have = len(up["data"])
            if a > have:
                raise GError(400, "Invalid request. According to the "
                             "Content-Range header, the upload offset is %d "
                             "byte(s), which exceeds already uploaded size "
                             "of %d byte(s)." % (a, have), "invalid")
            up["data"] += req.body[have - a:]
        elif req.body:
            raise GError(400, "A status query must have an empty body",
                         "invalid")
    else:
        up["data"] = bytearray(req.body)
        total = len(req.body)
    n = len(up["data"])
    if total is None or n < total:
        hdr = {"Range": "bytes=0-%d" % (n - 1)} if n else {}
        return Resp(308, body=b"", ctype="text/plain; charset=utf-8",
                    headers=hdr)
    if n > total:
        raise GError(400, "The upload is larger than its declared size",
                     "invalid")
    meta = up["meta"]
    name = meta["name"]
    if up["ifGenerationMatch"] is not None:
        req.q["ifGenerationMatch"] = up["ifGenerationMatch"]
        _precondition(req, b["objects"].get(name))
    up["done"] = put_object(st, b["meta"]["name"], name, bytes(up["data"]),
                            meta.get("contentType"), meta)
    return Resp(200, _links(req, up["done"]))


def route(req):
    st = req.state
    with st.lock:
        return _route(req, st)


def _route(req, st):
    parts = req.raw.split("/")
    meth = req.method
    if req.raw.startswith("/storage/v1/b"):
        if req.raw in ("/storage/v1/b", "/storage/v1/b/"):
            if meth == "POST":
                return _insert_bucket(req)
            if meth == "GET":
                p = req.q.get("project") or ""
                if not p:
                    raise GError(400, "Required parameter: project",
                                 "required")
                st.check_project(p)
                items = [_bucket_meta(req, b) for n, b in
                         sorted(st.buckets.items()) if b["project"] == p]
                chunk, nxt = page(items, req.q, default=1000)
                out = {"kind": "storage#buckets", "items": chunk}
                if nxt:
                    out["nextPageToken"] = nxt
                return Resp(200, out)
            return None
        if len(parts) == 5:                        # /storage/v1/b/B
            bucket = urllib.parse.unquote(parts[4])
            if meth == "GET":
                return Resp(200, _bucket_meta(req, _bucket(req, bucket)))
            if meth == "DELETE":
                if _bucket(req, bucket)["objects"]:
                    raise GError(409, "The bucket you tried to delete is not "
                                 "empty.", "conflict", "CONFLICT")
                del st.buckets[bucket]
                return Resp(204, body=b"")
            return None
        if len(parts) == 6 and parts[5] == "o" and meth == "GET":
            return _list_objects(req, _bucket(req, urllib.parse.unquote(
                parts[4])))
        if len(parts) >= 7 and parts[5] == "o":
            bucket = urllib.parse.unquote(parts[4])
            name = urllib.parse.unquote("/".join(parts[6:]))
            if meth == "GET":
                rec = _object(req, bucket, name)
                if req.q.get("alt") == "media":
                    return _media(req, rec)
                return Resp(200, _links(req, rec))
            if meth == "DELETE":
                _object(req, bucket, name)
                del st.buckets[bucket]["objects"][name]
                return Resp(204, body=b"")
        return None
    if req.raw.startswith("/upload/storage/v1/b/") and len(parts) == 7 and \
            parts[6] == "o" and meth in ("POST", "PUT"):
        return _upload(req, urllib.parse.unquote(parts[5]))
    if req.raw.startswith("/download/storage/v1/b/") and len(parts) >= 8 \
            and parts[6] == "o" and meth == "GET":
        rec = _object(req, urllib.parse.unquote(parts[5]),
                      urllib.parse.unquote("/".join(parts[7:])))
        return _media(req, rec)
    if meth == "GET" and len(parts) >= 3 and parts[1] and parts[2]:
        bucket = urllib.parse.unquote(parts[1])
        name = urllib.parse.unquote("/".join(parts[2:]))
        b = st.buckets.get(bucket)
        rec = b["objects"].get(name) if b else None
        if rec is None:
            return Resp(404, body=(
                "<?xml version='1.0' encoding='UTF-8'?><Error><Code>"
                "NoSuchKey</Code><Message>The specified key does not exist."
                "</Message><Details>No such object: %s/%s</Details></Error>"
                % (bucket, name)).encode(),
                ctype="application/xml; charset=UTF-8")
        return _media(req, rec, xml=True)
    return None
