"""protobuf.py - reads the Kubernetes protobuf encoding of request bodies.

kubectl's typed clients send application/vnd.kubernetes.protobuf: the magic
"k8s\\0", then a runtime.Unknown message (typeMeta {apiVersion, kind}, raw)
whose raw bytes are the object's message from the API's generated.proto.
decode(body) returns the object as the JSON form would have it, for the
kinds kubectl's own commands send that way (`kubectl create configmap |
secret | namespace | serviceaccount | role | clusterrole | rolebinding |
clusterrolebinding | priorityclass | token`, `kubectl auth can-i`, the
review kinds). Zero values of optional fields are dropped, as the JSON
encoding omits them. Any other kind raises KeyError (the caller answers
415 Unsupported Media Type).
"""
import base64
import time

MAGIC = b"k8s\x00"


def _varint(b, i):
    shift = result = 0
    while True:
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        if not c & 0x80:
            return result, i
        shift += 7


def _fields(b):
    """[(field number, wire type, value)] of one message."""
    out = []
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 1:
            v, i = int.from_bytes(b[i:i + 8], "little"), i + 8
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 5:
            v, i = int.from_bytes(b[i:i + 4], "little"), i + 4
        else:
            raise ValueError("unsupported wire type %d" % wt)
        out.append((num, wt, v))
    return out


# Field kinds: "s" string, "i" int64, "b" bool, "y" bytes (base64 in JSON),
# "t" Time (RFC 3339), "ms" map<string,string>, "my" map<string,bytes>,
# or the name of a message type. A "*" prefix: repeated; a "!" suffix:
# kept even when zero (a pointer field).
S = {
    "ObjectMeta": {1: ("name", "s"), 2: ("generateName", "s"),
                   3: ("namespace", "s"), 5: ("uid", "s"),
                   6: ("resourceVersion", "s"), 7: ("generation", "i"),
                   8: ("creationTimestamp", "t"), 11: ("labels", "ms"),
                   12: ("annotations", "ms"),
                   13: ("ownerReferences", "*OwnerReference"),
                   14: ("finalizers", "*s")},
    "OwnerReference": {1: ("kind", "s"), 3: ("name", "s"), 4: ("uid", "s"),
                       5: ("apiVersion", "s"), 6: ("controller", "b!"),
                       7: ("blockOwnerDeletion", "b!")},
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", "ms"),
                  3: ("binaryData", "my"), 4: ("immutable", "b!")},
    "Secret": {1: ("metadata", "ObjectMeta"), 2: ("data", "my"),
               3: ("type", "s"), 4: ("stringData", "ms"),
               5: ("immutable", "b!")},
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec")},
    "NamespaceSpec": {1: ("finalizers", "*s")},
    "ServiceAccount": {1: ("metadata", "ObjectMeta"),
                       3: ("imagePullSecrets", "*LocalObjectReference"),
                       4: ("automountServiceAccountToken", "b!")},
    "LocalObjectReference": {1: ("name", "s")},
    "PolicyRule": {1: ("verbs", "*s"), 2: ("apiGroups", "*s"),
                   3: ("resources", "*s"), 4: ("resourceNames", "*s"),
                   5: ("nonResourceURLs", "*s")},
    "Role": {1: ("metadata", "ObjectMeta"), 2: ("rules", "*PolicyRule")},
    "ClusterRole": {1: ("metadata", "ObjectMeta"), 2: ("rules", "*PolicyRule"),
                    3: ("aggregationRule", "AggregationRule")},
    "AggregationRule": {1: ("clusterRoleSelectors", "*LabelSelector")},
    "LabelSelector": {1: ("matchLabels", "ms")},
    "Subject": {1: ("kind", "s"), 2: ("apiGroup", "s"), 3: ("name", "s"),
                4: ("namespace", "s")},
    "RoleRef": {1: ("apiGroup", "s"), 2: ("kind", "s"), 3: ("name", "s")},
    "RoleBinding": {1: ("metadata", "ObjectMeta"), 2: ("subjects", "*Subject"),
                    3: ("roleRef", "RoleRef")},
    "ClusterRoleBinding": {1: ("metadata", "ObjectMeta"),
                           2: ("subjects", "*Subject"), 3: ("roleRef", "RoleRef")},
    "PriorityClass": {1: ("metadata", "ObjectMeta"), 2: ("value", "i!"),
                      3: ("globalDefault", "b"), 4: ("description", "s"),
                      5: ("preemptionPolicy", "s")},
    "TokenRequest": {1: ("metadata", "ObjectMeta"), 2: ("spec", "TokenRequestSpec")},
    "TokenRequestSpec": {1: ("audiences", "*s"), 4: ("expirationSeconds", "i"),
                         3: ("boundObjectRef", "BoundObjectReference")},
    "BoundObjectReference": {1: ("kind", "s"), 2: ("apiVersion", "s"),
                             3: ("name", "s"), 4: ("uid", "s")},
    "TokenReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "TokenReviewSpec")},
    "TokenReviewSpec": {1: ("token", "s"), 2: ("audiences", "*s")},
    "ResourceAttributes": {1: ("namespace", "s"), 2: ("verb", "s"),
                           3: ("group", "s"), 4: ("version", "s"),
                           5: ("resource", "s"), 6: ("subresource", "s"),
                           7: ("name", "s")},
    "NonResourceAttributes": {1: ("path", "s"), 2: ("verb", "s")},
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta"),
                                2: ("spec", "SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {
        1: ("resourceAttributes", "ResourceAttributes"),
        2: ("nonResourceAttributes", "NonResourceAttributes")},
    "SubjectAccessReview": {1: ("metadata", "ObjectMeta"),
                            2: ("spec", "SubjectAccessReviewSpec")},
    "LocalSubjectAccessReview": {1: ("metadata", "ObjectMeta"),
                                 2: ("spec", "SubjectAccessReviewSpec")},
    "SubjectAccessReviewSpec": {
        1: ("resourceAttributes", "ResourceAttributes"),
        2: ("nonResourceAttributes", "NonResourceAttributes"),
        3: ("user", "s"), 4: ("groups", "*s"), 6: ("uid", "s")},
    "SelfSubjectRulesReview": {1: ("metadata", "ObjectMeta"),
                               2: ("spec", "SelfSubjectRulesReviewSpec")},
    "SelfSubjectRulesReviewSpec": {1: ("namespace", "s")},
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta")},
}


def _scalar(kind, wt, v):
    if kind == "s":
        return v.decode("utf-8")
    if kind == "y":
        return base64.b64encode(v).decode()
    if kind == "b":
        return bool(v)
    if kind == "i":
        return v - (1 << 64) if v >= 1 << 63 else v
    if kind == "t":
        secs = dict((n, x) for n, _, x in _fields(v)).get(1, 0)
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(secs))
    raise ValueError(kind)


def _zero(v):
    return v in ("", 0, False, None) or v == {} or v == []


def message(typ, b):
    schema = S[typ]
    out = {}
    for num, wt, v in _fields(b):
        if num not in schema:
            continue
        name, kind = schema[num]
        keep = kind.endswith("!")
        kind = kind.rstrip("!")
        rep = kind.startswith("*")
        kind = kind.lstrip("*")
        if kind in ("ms", "my"):
            entry = dict((n, x) for n, _, x in _fields(v))
            val = entry.get(2, b"")
            out.setdefault(name, {})[entry.get(1, b"").decode()] = \
                val.decode("utf-8") if kind == "ms" else base64.b64encode(val).decode()
            continue
        if kind in S:
            val = message(kind, v)
        else:
            val = _scalar(kind, wt, v)
        if rep:
            out.setdefault(name, []).append(val)
        elif keep or not _zero(val):
            out[name] = val
    return out


def decode(body):
    """The object in a protobuf request body; KeyError for kinds it does
    not know, ValueError for a body it cannot read."""
    if not body.startswith(MAGIC):
        raise ValueError("missing the k8s protobuf prefix")
    env = dict((n, v) for n, _, v in _fields(body[len(MAGIC):]))
    tm = dict((n, v.decode()) for n, _, v in _fields(env.get(1, b"")))
    kind = tm.get(2, "")
    if kind not in S:
        raise KeyError(kind)
    obj = message(kind, env.get(2, b""))
    obj["apiVersion"] = tm.get(1, "")
    obj["kind"] = kind
    return obj
