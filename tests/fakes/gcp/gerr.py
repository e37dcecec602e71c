"""gerr.py - Google API errors as the real services shape them.

GError(code, message, reason) becomes, on the wire,
  {"error": {"code": 404, "message": "...", "status": "NOT_FOUND",
             "errors": [{"message": "...", "domain": "global",
                         "reason": "notFound"}]}}
the canonical status comes from the HTTP code unless given.
"""
import json

STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED",
          403: "PERMISSION_DENIED", 404: "NOT_FOUND", 409: "ALREADY_EXISTS",
          412: "FAILED_PRECONDITION", 416: "OUT_OF_RANGE",
          429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL",
          501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
REASON = {400: "invalid", 401: "authError", 403: "forbidden",
          404: "notFound", 409: "conflict", 412: "conditionNotMet",
          416: "requestedRangeNotSatisfiable", 429: "rateLimitExceeded",
          500: "backendError", 501: "notImplemented", 503: "backendError"}


class GError(Exception):
    def __init__(self, code, message, reason=None, status=None,
                 domain="global", headers=None, extra=None):
        Exception.__init__(self, message)
        self.code = code
        self.message = message
        self.reason = reason or REASON.get(code, "unknown")
        self.status = status or STATUS.get(code, "UNKNOWN")
        self.domain = domain
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self):
        item = {"message": self.message, "domain": self.domain,
                "reason": self.reason}
        item.update(self.extra)
        return {"error": {"code": self.code, "message": self.message,
                          "errors": [item], "status": self.status}}


def unauthenticated():
    return GError(
        401, "Request had invalid authentication credentials. Expected "
        "OAuth 2 access token, login cookie or other valid authentication "
        "credential. See https://developers.google.com/identity/sign-in/"
        "web/devconsole-project.", "authError",
        extra={"location": "Authorization", "locationType": "header"},
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})


def not_found(what):
    return GError(404, "The resource '%s' was not found" % what, "notFound")


def bad(message, reason="invalid"):
    return GError(400, message, reason)


def no_route(method, path):
    return GError(404, "Method not found: %s %s" % (method, path),
                  "notFound")


class Resp:
    """An answer: code, a JSON object or raw bytes, extra headers."""

    def __init__(self, code=200, obj=None, body=None,
                 ctype="application/json; charset=UTF-8", headers=None):
        self.code = code
        if obj is not None:
            body = (json.dumps(obj, indent=1) + "\n").encode()
        self.body = body if body is not None else b""
        self.ctype = ctype
        self.headers = headers or {}


def rfc3339(t, digits=3):
    """UTC time t as Google prints it: 2026-01-02T03:04:05.678Z."""
    import time as _t
    frac = ("%.*f" % (digits, t % 1))[1:] if digits else ""
    return _t.strftime("%Y-%m-%dT%H:%M:%S", _t.gmtime(t)) + frac + "Z"


def page(items, q, key="pageToken", size_param="maxResults", default=500):
    """One page of items by the query's page size and token: (items, next)."""
    try:
        size = int(q.get(size_param) or default)
        start = int(q.get(key) or 0)
    except ValueError:
        raise GError(400, "Invalid value for page token or size", "invalid")
    if size <= 0:
        size = default
    chunk = items[start:start + size]
    nxt = str(start + size) if start + size < len(items) else None
    return chunk, nxt
