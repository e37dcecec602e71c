"""yamlmini.py - a small YAML reader for application/apply-patch+yaml bodies.

Reads one document of the YAML that Kubernetes clients send: block
mappings and sequences, plain, single- and double-quoted scalars (with all
of YAML's escapes), YAML 1.2 core-schema typing of plain scalars (null,
booleans, integers, floats), flow collections (also over several lines),
and literal/folded block scalars with chomping and indentation indicators.
Anchors, aliases, tags, explicit "? " keys and multi-document streams are
not used by any client and raise ValueError, as does anything else it
cannot read. JSON, a subset of YAML, is read with the json module.
"""
import json
import re

_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_ESC = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n",
        "v": "\v", "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"',
        "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028",
        "P": "\u2029"}
_HEX = {"x": 2, "u": 4, "U": 8}


def loads(text):
    s = text.strip()
    if s.startswith("{") or s.startswith("["):
        try:
            return json.loads(s)
        except ValueError:
            pass
    lines = []
    started = False
    for raw in text.split("\n"):
        raw = raw.rstrip("\r")
        if raw.strip() in ("---", "...") or raw.startswith("--- "):
            if started and raw.strip() == "---":
                raise ValueError("a stream of several documents")
            if raw.startswith("--- "):
                raw = raw[4:]
            else:
                continue
        if raw.startswith("%"):
            raise ValueError("YAML directives are not supported")
        if _strip_comment(raw).strip():
            started = True
        lines.append((len(raw) - len(raw.lstrip(" ")), raw))
    body = " ".join(_strip_comment(l).strip() for _, l in lines).strip()
    if body[:1] in ("{", "["):
        v, end = _flow(body, 0)
        if body[end:].strip():
            raise ValueError("text after the document")
        return v
    return _Parser(lines).block(-1)


def _quoted_end(s, i):
    """Index after the quoted scalar starting at s[i]."""
    q = s[i]
    j = i + 1
    while j < len(s):
        if q == '"' and s[j] == "\\":
            j += 2
            continue
        if s[j] == q:
            if q == "'" and j + 1 < len(s) and s[j + 1] == "'":
                j += 2
                continue
            return j + 1
        j += 1
    raise ValueError("unterminated quoted scalar")


def _unquote(s):
    if s[0] == "'":
        return s[1:-1].replace("''", "'")
    out = []
    i = 1
    while i < len(s) - 1:
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = s[i + 1]
        if e in _ESC:
            out.append(_ESC[e])
            i += 2
        elif e in _HEX:
            n = _HEX[e]
            out.append(chr(int(s[i + 2:i + 2 + n], 16)))
            i += 2 + n
        else:
            raise ValueError("unknown escape \\%s" % e)
    return "".join(out)


def _strip_comment(s):
    i = 0
    while i < len(s):
        c = s[i]
        if c in "'\"" and (i == 0 or s[i - 1] in " \t[{,:-"):
            try:
                i = _quoted_end(s, i)
            except ValueError:
                return s.rstrip()
            continue
        if c == "#" and (i == 0 or s[i - 1] in " \t"):
            return s[:i].rstrip()
        i += 1
    return s.rstrip()


def scalar(s):
    s = s.strip()
    if s[:1] in ("'", '"'):
        end = _quoted_end(s, 0)
        if s[end:].strip():
            raise ValueError("text after a quoted scalar: %s" % s)
        return _unquote(s[:end])
    if s in ("", "~", "null", "Null", "NULL"):
        return None
    if s in ("true", "True", "TRUE"):
        return True
    if s in ("false", "False", "FALSE"):
        return False
    if _INT.match(s):
        return int(s)
    if _FLOAT.match(s):
        return float(s)
    if s[0] in "[{":
        v, end = _flow(s, 0)
        if s[end:].strip():
            raise ValueError("text after a flow collection: %s" % s)
        return v
    if s[0] in "&*!|>%@`?":
        raise ValueError("unsupported YAML: %s" % s)
    return s


def _ws(s, i):
    while i < len(s) and s[i] in " \t":
        i += 1
    if i >= len(s):
        raise ValueError("unterminated flow collection")
    return i


def _flow(s, i):
    i = _ws(s, i)
    if s[i] in "[{":
        close = "]" if s[i] == "[" else "}"
        out = [] if close == "]" else {}
        i += 1
        while True:
            i = _ws(s, i)
            if s[i] == close:
                return out, i + 1
            if s[i] == ",":
                i += 1
                continue
            k, i = _flow(s, i)
            i = _ws(s, i)
            if close == "}" or s[i] == ":":
                if s[i] != ":":
                    v = None
                else:
                    v, i = (None, i + 1) if s[_ws(s, i + 1)] in ",}]" \
                        else _flow(s, i + 1)
                if close == "]":
                    out.append({k: v})
                else:
                    out[k] = v
            else:
                out.append(k)
    if s[i] in "'\"":
        end = _quoted_end(s, i)
        return _unquote(s[i:end]), end
    j = i
    while j < len(s) and s[j] not in ",]}" and \
            not (s[j] == ":" and (j + 1 == len(s) or s[j + 1] in " ,]}")):
        j += 1
    return scalar(s[i:j]), j


def _split_key(s):
    """'key: rest' -> (key, rest), or None when s is not a mapping entry."""
    if s[:1] in ("'", '"'):
        try:
            end = _quoted_end(s, 0)
        except ValueError:
            return None
        rest = s[end:].lstrip(" ")
        if rest != ":" and not rest.startswith(": "):
            return None
        return _unquote(s[:end]), rest[1:]
    if s[:1] in "[{?&*!|>":
        return None
    m = re.match(r"^([^:]*?[^ ]):(?: +(.*)|$)", s)
    if not m or m.group(1).startswith("- ") or m.group(1) == "-":
        return None
    return scalar(m.group(1)) if m.group(1) in ("true", "false") else m.group(1), \
        m.group(2) or ""


def _balanced(s):
    depth = 0
    i = 0
    while i < len(s):
        c = s[i]
        if c in "'\"":
            try:
                i = _quoted_end(s, i)
            except ValueError:
                return False
            continue
        depth += c in "[{"
        depth -= c in "]}"
        i += 1
    return depth <= 0


class _Parser:
    def __init__(self, lines):
        self.lines = lines
        self.i = 0

    def _text(self):
        return _strip_comment(self.lines[self.i][1]).strip()

    def _skip(self):
        while self.i < len(self.lines):
            if self._text():
                return self.lines[self.i][0]
            self.i += 1
        return -1

    def block(self, parent):
        ind = self._skip()
        if ind <= parent:
            return None
        text = self._text()
        if text == "-" or text.startswith("- "):
            return self.seq(ind)
        if _split_key(text) is not None:
            return self.map(ind)
        self.i += 1
        return self._value(text, parent)

    def seq(self, ind):
        out = []
        while self._skip() == ind:
            text = self._text()
            if not (text == "-" or text.startswith("- ")):
                break
            rest = text[1:].strip()
            if not rest:
                self.i += 1
                out.append(self.block(ind))
                continue
            raw = self.lines[self.i][1]
            col = raw.index("-") + 1
            col += len(raw[col:]) - len(raw[col:].lstrip(" "))
            if rest == "-" or rest.startswith("- ") or _split_key(rest) is not None:
                self.lines[self.i] = (col, " " * col + raw[col:])
                out.append(self.block(ind))
            else:
                self.i += 1
                out.append(self._value(rest, ind))
        return out

    def map(self, ind):
        out = {}
        while self._skip() == ind:
            kv = _split_key(self._text())
            if kv is None:
                raise ValueError("line %d: expected a mapping key" % (self.i + 1))
            key, rest = kv
            if key in out:
                raise ValueError("line %d: duplicate key %s" % (self.i + 1, key))
            self.i += 1
            rest = rest.strip()
            if rest == "":
                nxt = self._skip()
                if nxt == ind and self._text().startswith("-"):
                    out[key] = self.seq(ind)
                else:
                    out[key] = self.block(ind)
            else:
                out[key] = self._value(rest, ind)
        return out

    def _value(self, rest, ind):
        if rest[0] in "|>":
            return self._block_scalar(rest, ind)
        if rest[0] in "'\"":
            while self.i < len(self.lines):
                try:
                    _quoted_end(rest, 0)
                    break
                except ValueError:
                    line = self.lines[self.i][1].strip()
                    tail = len(rest) - len(rest.rstrip("\\"))
                    if rest[0] == '"' and tail % 2:
                        rest = rest[:-1] + line     # an escaped line break
                    else:
                        rest += (" " + line) if line else "\n"
                    self.i += 1
            rest = re.sub(r" ?\n ?", "\n", rest)
        elif rest[0] in "[{":
            while not _balanced(rest) and self.i < len(self.lines):
                rest += " " + _strip_comment(self.lines[self.i][1]).strip()
                self.i += 1
        else:
            rest = self._plain_continuation(rest, ind)
        return scalar(rest)

    def _plain_continuation(self, rest, ind):
        """A plain scalar goes on over the following more-indented lines;
        line breaks fold to spaces, empty lines stay line breaks."""
        j = self.i
        parts = []
        breaks = 0
        while j < len(self.lines):
            lind, raw = self.lines[j]
            text = raw.strip()
            if not text:
                breaks += 1
                j += 1
                continue
            if lind <= ind or text.startswith("#"):
                break
            parts.append(("\n" * breaks if breaks else " ") + _strip_comment(text))
            breaks = 0
            j += 1
            self.i = j
        return rest + "".join(parts)

    def _block_scalar(self, head, ind):
        m = re.fullmatch(r"([|>])([-+]?)([1-9]?)([-+]?)", head.strip())
        if not m:
            raise ValueError("bad block scalar header %s" % head)
        style, chomp, digit = m.group(1), m.group(2) or m.group(4), m.group(3)
        block_ind = ind + int(digit) if digit else None
        body = []
        while self.i < len(self.lines):
            lind, raw = self.lines[self.i]
            if raw.strip() == "":
                body.append("")
                self.i += 1
                continue
            if lind <= max(ind, -1) or (block_ind is not None and lind < block_ind):
                break
            if block_ind is None:
                block_ind = lind
            body.append(raw[block_ind:])
            self.i += 1
        trailing = 0
        while body and body[-1] == "":
            body.pop()
            trailing += 1
        if style == "|":
            s = "\n".join(body)
        else:
            s = _fold(body)
        if body and chomp != "-":
            s += "\n"
        if chomp == "+":
            s += "\n" * trailing
        return s


def _fold(lines):
    out = ""
    prev = None         # the last non-empty line
    empties = 0
    for line in lines:
        if line == "":
            empties += 1
            continue
        if prev is None:
            out += "\n" * empties
        else:
            plain = prev[:1] not in (" ", "\t") and line[:1] not in (" ", "\t")
            if empties:
                out += "\n" * (empties if plain else empties + 1)
            else:
                out += " " if plain else "\n"
        out += line
        prev = line
        empties = 0
    return out
