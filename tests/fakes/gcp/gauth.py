"""gauth.py - access tokens: the OAuth token endpoint and the metadata server.

Accepted bearer tokens: the token in DIR/token (never expires) and every
token this fake issued, until its expiry (timing.tokenLifetime seconds,
3600 unless the seed says otherwise).

POST /token (oauth2.googleapis.com), form or JSON body:
  grant_type=refresh_token with client_id, client_secret and refresh_token
  of DIR/creds.json (the authorized_user in DIR/user.json);
  grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer with an RS256 JWT
  assertion whose iss is a known service account (DIR/sa-pub.json or the
  seed's serviceAccounts), aud the token URI (Google's or ours), scope set,
  iat/exp a window of at most an hour around now; the signature is checked
  with the account's public key (n, e): s^e mod n must be the PKCS#1 v1.5
  encoding of the SHA-256 DigestInfo of "header.payload".
Answers {access_token, expires_in, token_type: Bearer[, scope]}; errors as
Google's token endpoint: {"error": "invalid_grant", "error_description"}.

GET or POST /tokeninfo?access_token=T (oauth2.googleapis.com/tokeninfo):
what GKE's authentication webhook asks about a bearer token. For an
accepted token: {azp, aud, scope, exp, expires_in, email, email_verified,
access_type}; email is the account the token was issued to (USER_EMAIL for
DIR/token and the refresh grant, the service account's client_email for
the JWT grant and the metadata server). Otherwise 400 {"error":
"invalid_token", "error_description": "Invalid Value"}, as Google answers.

Metadata server (GCE_METADATA_HOST): every request needs
"Metadata-Flavor: Google" (403 and a text body without it, like the real
one); answers carry the same header. /computeMetadata/v1/project/project-id,
.../numeric-project-id, .../instance/zone and
.../instance/service-accounts/default/{token,email,scopes,} (the default
account is the one in DIR/sa-pub.json).
"""
import base64
import hashlib
import json
import os
import secrets
import time
import urllib.parse

from gerr import Resp

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
USER_EMAIL = "wlkit-user@wlkit-test.example"   # the user of DIR/token, user.json


def init(state):
    state.tokens = {state.admin_token: None}
    state.token_email = {state.admin_token: USER_EMAIL}
    state.user = {}
    state.service_accounts = {}
    p = os.path.join(state.dir, "creds.json")
    if os.path.exists(p):
        with open(p) as f:
            state.user = json.load(f)
    p = os.path.join(state.dir, "sa-pub.json")
    state.default_sa = None
    if os.path.exists(p):
        with open(p) as f:
            sa = json.load(f)
        add_service_account(state, sa)
        state.default_sa = sa["client_email"]


def add_service_account(state, sa):
    state.service_accounts[sa["client_email"]] = (
        int(sa["n"], 16), int(sa.get("e", 65537)))


def valid(state, tok):
    if not tok:
        return False
    with state.lock:
        if tok not in state.tokens:
            return False
        exp = state.tokens[tok]
        return exp is None or exp > time.time()


def issue(state, scope=None, email=USER_EMAIL):
    tok = "ya29.fake-" + secrets.token_urlsafe(32)
    life = int(state.timing["tokenLifetime"])
    with state.lock:
        state.tokens[tok] = time.time() + life
        state.token_email[tok] = email
    out = {"access_token": tok, "expires_in": life, "token_type": "Bearer"}
    if scope:
        out["scope"] = scope
    return out


def _b64url(s):
    s = s.encode() if isinstance(s, str) else s
    return base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))


def rs256_valid(n, e, signed, sig):
    """RSASSA-PKCS1-v1_5 with SHA-256, by hand: the stdlib has no RSA."""
    k = (n.bit_length() + 7) // 8
    if len(sig) != k:
        return False
    s = int.from_bytes(sig, "big")
    if s >= n:
        return False
    em = pow(s, e, n).to_bytes(k, "big")
    t = SHA256_DIGEST_INFO + hashlib.sha256(signed).digest()
    if k < len(t) + 11:
        return False
    return em == b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t


class OAuthError(Exception):
    def __init__(self, code, error, desc):
        Exception.__init__(self, desc)
        self.code, self.error, self.desc = code, error, desc


def _jwt_grant(state, req, assertion):
    parts = assertion.split(".")
    if len(parts) != 3:
        raise OAuthError(400, "invalid_grant", "Invalid JWT: malformed")
    try:
        head = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
        sig = _b64url(parts[2])
    except (ValueError, TypeError):
        raise OAuthError(400, "invalid_grant", "Invalid JWT: malformed")
    if not isinstance(head, dict) or head.get("alg") != "RS256":
        raise OAuthError(400, "invalid_grant", "Invalid JWT: unsupported "
                         "algorithm, expected RS256")
    if not isinstance(claims, dict):
        raise OAuthError(400, "invalid_grant", "Invalid JWT: malformed")
    with state.lock:
        key = state.service_accounts.get(claims.get("iss"))
    if key is None:
        raise OAuthError(400, "invalid_grant",
                         "Invalid grant: account not found")
    if claims.get("aud") not in (GOOGLE_TOKEN_URI, req.base + "/token"):
        raise OAuthError(400, "invalid_grant",
                         "Invalid JWT: Failed audience check.")
    now = time.time()
    try:
        iat, exp = float(claims["iat"]), float(claims["exp"])
    except (KeyError, TypeError, ValueError):
        iat = exp = 0
    if not (iat - 300 <= now <= exp + 300 and 0 < exp - iat <= 3600):
        raise OAuthError(400, "invalid_grant", "Invalid JWT: Token must be "
                         "a short-lived token (60 minutes) and in a "
                         "reasonable timeframe. Check your iat and exp "
                         "values in the JWT claim.")
    if not rs256_valid(key[0], key[1], (parts[0] + "." + parts[1]).encode(),
                       sig):
        raise OAuthError(400, "invalid_grant", "Invalid JWT Signature.")
    if not claims.get("scope") and not claims.get("target_audience"):
        raise OAuthError(400, "invalid_scope", "Invalid OAuth scope or ID "
                         "token audience provided.")
    return issue(state, claims.get("scope"), claims.get("iss"))


def _refresh_grant(state, f):
    u = state.user
    if not u or f.get("client_id") != u.get("client_id"):
        raise OAuthError(401, "invalid_client",
                         "The OAuth client was not found.")
    if f.get("client_secret") != u.get("client_secret"):
        raise OAuthError(401, "invalid_client", "Unauthorized")
    if f.get("refresh_token") != u.get("refresh_token"):
        raise OAuthError(400, "invalid_grant", "Bad Request")
    return issue(state, f.get("scope") or SCOPE)


def _tokeninfo(req):
    st = req.state
    tok = req.q.get("access_token")
    if tok is None and req.method == "POST":
        tok = dict(urllib.parse.parse_qsl(req.body.decode(
            "utf-8", "replace"))).get("access_token")
    if not valid(st, tok):
        return Resp(400, {"error": "invalid_token",
                          "error_description": "Invalid Value"})
    with st.lock:
        exp, email = st.tokens[tok], st.token_email.get(tok) or USER_EMAIL
    exp = int(exp if exp is not None else time.time() + 3600)
    client = (st.user.get("client_id") or "wlkit.apps.googleusercontent.com")
    return Resp(200, {"azp": client, "aud": client, "scope": SCOPE,
                      "exp": str(exp),
                      "expires_in": str(max(0, exp - int(time.time()))),
                      "email": email, "email_verified": "true",
                      "access_type": "online"})


def route_oauth(req):
    if req.path == "/tokeninfo":
        return _tokeninfo(req)
    if req.path != "/token":
        return None
    if req.method != "POST":
        return Resp(405, {"error": "invalid_request",
                          "error_description": "Method not allowed"})
    ctype = req.headers.get("Content-Type") or ""
    if "json" in ctype:
        try:
            f = json.loads(req.body.decode() or "{}")
        except ValueError:
            f = {}
    else:
        f = dict(urllib.parse.parse_qsl(req.body.decode("utf-8", "replace")))
    try:
        g = f.get("grant_type")
        if g == "refresh_token":
            out = _refresh_grant(req.state, f)
        elif g == JWT_GRANT:
            out = _jwt_grant(req.state, req, f.get("assertion") or "")
        else:
            raise OAuthError(400, "unsupported_grant_type",
                             "Invalid grant_type: %s" % (g or ""))
    except OAuthError as e:
        return Resp(e.code, {"error": e.error, "error_description": e.desc})
    return Resp(200, out, headers={"Cache-Control": "no-store"})


def route_metadata(req):
    st = req.state
    hdr = {"Metadata-Flavor": "Google", "Server": "Metadata Server for VM"}
    if req.headers.get("Metadata-Flavor") != "Google" or \
            req.headers.get("X-Forwarded-For"):
        return Resp(403, body=(
            "Your client does not have permission to get URL %s from this "
            "server. Missing Metadata-Flavor:Google header.\n"
            % req.path).encode(), ctype="text/html; charset=UTF-8",
            headers=hdr)
    p = req.path
    if p in ("/", ""):
        return Resp(200, body=b"computeMetadata/\n", ctype="application/text",
                    headers=hdr)
    sa = st.default_sa or ""
    text = {
        "/computeMetadata/v1/project/project-id": st.project,
        "/computeMetadata/v1/project/numeric-project-id":
            str(project_number(st.project)),
        "/computeMetadata/v1/instance/zone": "projects/%d/zones/%s" % (
            project_number(st.project), st.timing.get("zone", "us-central1-a")),
        "/computeMetadata/v1/instance/service-accounts/default/email": sa,
        "/computeMetadata/v1/instance/service-accounts/default/scopes":
            SCOPE + "\n",
    }.get(p)
    if text is not None:
        return Resp(200, body=text.encode(), ctype="application/text",
                    headers=hdr)
    if p == "/computeMetadata/v1/instance/service-accounts/default/token":
        return Resp(200, issue(st, email=sa), headers=hdr)
    if p.rstrip("/") == "/computeMetadata/v1/instance/service-accounts/default":
        return Resp(200, {"aliases": ["default"], "email": sa,
                          "scopes": [SCOPE]}, headers=hdr)
    return Resp(404, body=b"Not Found\n", ctype="text/html; charset=UTF-8",
                headers=hdr)


def project_number(p):
    return 100000000000 + int(hashlib.sha256(p.encode()).hexdigest()[:12], 16) \
        % 900000000000
