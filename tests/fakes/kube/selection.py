"""selection.py - label and field selectors in the API's string syntax.

parse_labels("a=b,c!=d,e in (x,y),f notin (z),g,!h") and
parse_fields("spec.nodeName=n1,status.phase!=Running") return a matcher:
a function of an object that says whether the object matches. A syntax
error raises ApiError 400 with the real server's wording.
"""
import re

from errors import ApiError

_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                  r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def _split_top(s):
    """Splits on commas outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [p.strip() for p in out if p.strip()]


def _bad_label(sel, why):
    return ApiError(400, "BadRequest",
                    'unable to parse requirement: %s' % why if why else
                    "couldn't parse the selector string \"%s\"" % sel)


def parse_labels(sel):
    if not sel:
        return lambda obj: True
    reqs = []
    for part in _split_top(sel):
        m = re.fullmatch(r"(!?)\s*([^\s!=<>()]+)\s*(?:(notin|in)\s*\((.*)\)"
                         r"|(==|=|!=|<|>)\s*([^\s]*))?", part)
        if not m:
            raise _bad_label(sel, "")
        neg, key, setop, setvals, op, val = m.groups()
        if not _KEY.match(key):
            raise _bad_label(sel, 'invalid label key "%s"' % key)
        if neg:
            if setop or op:
                raise _bad_label(sel, "")
            reqs.append(("!", key, None))
        elif setop:
            vals = {v.strip() for v in setvals.split(",") if v.strip()}
            reqs.append((setop, key, vals))
        elif op:
            reqs.append(("!=" if op == "!=" else op if op in "<>" else "=",
                         key, val))
        else:
            reqs.append(("exists", key, None))

    def match(obj):
        labels = (obj.get("metadata") or {}).get("labels") or {}
        for op, key, val in reqs:
            have = key in labels
            cur = labels.get(key)
            if op == "=" and cur != val:
                return False
            if op == "!=" and have and cur == val:
                return False
            if op == "in" and (not have or cur not in val):
                return False
            if op == "notin" and have and cur in val:
                return False
            if op == "exists" and not have:
                return False
            if op == "!" and have:
                return False
            if op in "<>":
                try:
                    a, b = int(cur), int(val)
                except (TypeError, ValueError):
                    return False
                if (op == "<" and not a < b) or (op == ">" and not a > b):
                    return False
        return True
    return match


def field_value(obj, path):
    """The string a field selector compares for a dotted path: "" when
    absent, "true"/"false" for booleans."""
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, (dict, list)):
        return ""
    return str(cur)


def parse_fields(sel):
    if not sel:
        return lambda obj: True
    reqs = []
    for part in _split_top(sel):
        m = re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*(.*)", part)
        if not m:
            raise ApiError(400, "BadRequest",
                           'invalid selector: \'%s\'; can\'t understand \'%s\''
                           % (sel, part))
        reqs.append((m.group(1), m.group(2) == "!=", m.group(3).strip()))

    def match(obj):
        for path, neg, val in reqs:
            if (field_value(obj, path) == val) == neg:
                return False
        return True
    return match
