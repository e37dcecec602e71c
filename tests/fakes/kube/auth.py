"""auth.py - who is asking: bearer tokens, service-account tokens, impersonation.

The admin token (DIR/token) is the user "wlkit-admin" in system:masters.
Service-account tokens are JWTs this server issues through TokenRequest
(HS256 with a per-process key; the claims are those of real bound tokens:
iss, sub, aud, exp, iat, nbf and the kubernetes.io block). A token is
accepted while it has not expired and its ServiceAccount (and the pod it
is bound to, if any) still exists with the same uid. With a token webhook
(a Google tokeninfo URL, WLKIT_FAKE_TOKEN_WEBHOOK), any other token is
asked about there, as GKE authenticates Google OAuth access tokens: a 200
answer with an email is the user named by that email, in the group
system:authenticated (RBAC decides what it may do); anything else is 401.
Answers are not cached, so an expired token fails at once. No
Authorization header is the anonymous user; a token the server does not
know is 401.
"""
import base64
import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

from errors import ApiError

API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"


class User:
    def __init__(self, name, groups, uid="", extra=None):
        self.name = name
        self.groups = list(groups)
        self.uid = uid
        self.extra = extra or {}

    def info(self):
        d = {"username": self.name, "groups": self.groups}
        if self.uid:
            d["uid"] = self.uid
        if self.extra:
            d["extra"] = self.extra
        return d


ADMIN = User("wlkit-admin", ["system:masters", "system:authenticated"])
ANONYMOUS = User("system:anonymous", ["system:unauthenticated"])


def sa_user(ns, name, uid=""):
    return User("system:serviceaccount:%s:%s" % (ns, name),
                ["system:serviceaccounts", "system:serviceaccounts:" + ns,
                 "system:authenticated"], uid)


def _b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


class Authenticator:
    def __init__(self, store, admin_token, webhook=None):
        self.store = store
        self.admin_token = admin_token
        self.webhook = webhook or ""
        self.key = os.urandom(32)

    def ask_webhook(self, token):
        """The User of a Google access token per the tokeninfo webhook, or
        None."""
        if not self.webhook:
            return None
        url = self.webhook + ("&" if "?" in self.webhook else "?") + \
            urllib.parse.urlencode({"access_token": token})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(url, timeout=10) as r:
                info = json.loads(r.read().decode())
        except (urllib.error.URLError, OSError, ValueError):
            return None
        email = info.get("email") if isinstance(info, dict) else None
        if not email or int(info.get("expires_in") or 0) <= 0:
            return None
        return User(email, ["system:authenticated"])

    def issue(self, ns, sa, seconds, audiences, bound=None):
        """A token for ServiceAccount sa (a stored object); bound is the
        pod (or secret) object the token is bound to, or None. Returns
        (token, expiration time as epoch seconds)."""
        now = int(time.time())
        exp = now + seconds
        claims = {"aud": audiences or [API_AUDIENCE], "exp": exp, "iat": now,
                  "nbf": now, "iss": API_AUDIENCE,
                  "sub": "system:serviceaccount:%s:%s" % (ns, sa["metadata"]["name"]),
                  "kubernetes.io": {"namespace": ns, "serviceaccount": {
                      "name": sa["metadata"]["name"],
                      "uid": sa["metadata"]["uid"]}}}
        if bound is not None:
            claims["kubernetes.io"][bound["kind"].lower()] = {
                "name": bound["metadata"]["name"],
                "uid": bound["metadata"]["uid"]}
        head = _b64(json.dumps({"alg": "HS256", "kid": "wlkit",
                                "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = _b64(hmac.new(self.key, (head + "." + body).encode(),
                            hashlib.sha256).digest())
        return head + "." + body + "." + sig, exp

    def verify(self, token, audiences=None):
        """(User, token audiences) for a service-account token, or None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        want = _b64(hmac.new(self.key, (parts[0] + "." + parts[1]).encode(),
                             hashlib.sha256).digest())
        if not hmac.compare_digest(want, parts[2]):
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
        except ValueError:
            return None
        if claims.get("exp", 0) < time.time():
            return None
        auds = claims.get("aud") or []
        if not set(audiences or [API_AUDIENCE]) & set(auds):
            return None
        k = claims.get("kubernetes.io") or {}
        ns = k.get("namespace")
        sa = k.get("serviceaccount") or {}
        cur = self.store.get("serviceaccounts", ns, sa.get("name"))
        if cur is None or cur["metadata"]["uid"] != sa.get("uid"):
            return None
        extra = {}
        for kind, res in (("pod", "pods"), ("secret", "secrets")):
            b = k.get(kind)
            if b:
                o = self.store.get(res, ns, b.get("name"))
                if o is None or o["metadata"]["uid"] != b.get("uid") or \
                        o["metadata"].get("deletionTimestamp"):
                    return None
                extra["authentication.kubernetes.io/%s-name" % kind] = [b["name"]]
                extra["authentication.kubernetes.io/%s-uid" % kind] = [b["uid"]]
        u = sa_user(ns, sa.get("name"), sa.get("uid"))
        u.extra = extra
        return u, auds

    def authenticate(self, header):
        """The User for an Authorization header value (None: anonymous).
        Raises 401 for a token the server does not accept."""
        if not header:
            return ANONYMOUS
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized()
        token = token.strip()
        if hmac.compare_digest(token, self.admin_token):
            return ADMIN
        r = self.verify(token)
        if r is None:
            u = self.ask_webhook(token)
            if u is None:
                raise unauthorized()
            return u
        return r[0]

    def token_review(self, spec):
        token = (spec or {}).get("token") or ""
        auds = (spec or {}).get("audiences") or None
        if hmac.compare_digest(token, self.admin_token):
            return {"authenticated": True, "user": ADMIN.info(),
                    "audiences": auds or [API_AUDIENCE]}
        r = self.verify(token, auds)
        if r is None:
            return {"user": {}, "error": "[invalid bearer token, service "
                    "account token has been invalidated]"}
        u, taud = r
        return {"authenticated": True, "user": u.info(),
                "audiences": [a for a in (auds or [API_AUDIENCE]) if a in taud]}


def impersonate(user, headers, authorize):
    """Applies Impersonate-* headers. authorize(verb, resource, ns, name,
    group) -> bool checks the real user's right to impersonate."""
    as_user = headers.get("Impersonate-User")
    as_groups = headers.get_all("Impersonate-Group") or []
    as_uid = headers.get("Impersonate-Uid")
    extra = {}
    for k in headers.keys():
        if k.lower().startswith("impersonate-extra-"):
            extra.setdefault(k[len("impersonate-extra-"):].lower(), []).append(
                headers[k])
    if not as_user:
        if as_groups or extra or as_uid:
            raise ApiError(500, "InternalError",
                           "Internal error occurred: requested [%s] without "
                           "impersonating a user" % ", ".join(
                               "{Group %s}" % g for g in as_groups))
        return user
    if as_user.startswith("system:serviceaccount:"):
        parts = as_user.split(":")
        ns, name = (parts[2], parts[3]) if len(parts) == 4 else ("", "")
        checks = [("serviceaccounts", ns, name, "")]
    else:
        checks = [("users", "", as_user, "")]
    checks += [("groups", "", g, "") for g in as_groups]
    checks += [("userextras/" + k, "", v, "authentication.k8s.io")
               for k, vs in extra.items() for v in vs]
    if as_uid:
        checks.append(("uids", "", as_uid, "authentication.k8s.io"))
    for resource, ns, name, group in checks:
        if not authorize("impersonate", resource, ns, name, group):
            where = 'in the namespace "%s"' % ns if ns else "at the cluster scope"
            raise ApiError(403, "Forbidden",
                           '%s "%s" is forbidden: User "%s" cannot impersonate '
                           'resource "%s" in API group "%s" %s'
                           % (resource, name, user.name, resource, group, where),
                           {"name": name, "kind": resource})
    if as_user.startswith("system:serviceaccount:") and len(as_user.split(":")) == 4:
        _, _, ns, name = as_user.split(":")
        u = sa_user(ns, name)
        u.groups = [g for g in u.groups if g != "system:authenticated"]
        u.groups += [g for g in as_groups if g not in u.groups]
    else:
        u = User(as_user, list(as_groups))
    if as_user != "system:anonymous" and "system:authenticated" not in u.groups:
        u.groups.append("system:authenticated")
    u.uid = as_uid or ""
    u.extra = extra
    return u
