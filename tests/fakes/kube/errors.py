"""errors.py - API errors as the Kubernetes API server reports them.

ApiError carries an HTTP code, a Status reason and a message; status()
renders the Status object a client receives. The helpers below build the
messages with the real server's wording, because programs and kubectl print
them to people and tests compare them.
"""


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = {}

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": {},
             "status": "Failure", "message": self.message,
             "reason": self.reason, "code": self.code}
        if self.details is not None:
            s["details"] = self.details
        return s


def _details(res, name):
    d = {}
    if name:
        d["name"] = name
    if res is not None:
        if res.group:
            d["group"] = res.group
        d["kind"] = res.plural
    return d


def not_found(res, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (res.qname, name),
                    _details(res, name))


def no_route():
    return ApiError(404, "NotFound",
                    "the server could not find the requested resource", {})


def already_exists(res, name):
    return ApiError(409, "AlreadyExists",
                    '%s "%s" already exists' % (res.qname, name),
                    _details(res, name))


def conflict(res, name, why):
    return ApiError(409, "Conflict",
                    'Operation cannot be fulfilled on %s "%s": %s'
                    % (res.qname, name, why), _details(res, name))


STALE = ("the object has been modified; please apply your changes to the "
         "latest version and try again")


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def forbidden(res, name, why):
    if res is None:
        msg = "forbidden: %s" % why
    elif name:
        msg = '%s "%s" is forbidden: %s' % (res.qname, name, why)
    else:
        msg = "%s is forbidden: %s" % (res.qname, why)
    return ApiError(403, "Forbidden", msg, _details(res, name))


def expired(message):
    return ApiError(410, "Expired", message)


class FieldError:
    """One entry of a field.ErrorList: kind is Required, Invalid,
    NotSupported, Forbidden, Duplicate or TooLong."""

    CAUSES = {"Required": "FieldValueRequired", "Invalid": "FieldValueInvalid",
              "NotSupported": "FieldValueNotSupported",
              "Forbidden": "FieldValueForbidden",
              "Duplicate": "FieldValueDuplicate", "TooLong": "FieldValueTooLong"}

    def __init__(self, kind, field, value=None, detail="", supported=None):
        self.kind = kind
        self.field = field
        self.value = value
        self.detail = detail
        self.supported = supported or []

    def body(self):
        if self.kind == "Required":
            s = "Required value"
        elif self.kind == "Forbidden":
            s = "Forbidden"
        elif self.kind == "Duplicate":
            return "Duplicate value: %s" % _go_value(self.value)
        elif self.kind == "NotSupported":
            s = "Unsupported value: %s" % _go_value(self.value)
            if self.supported:
                s += ": supported values: " + ", ".join(
                    '"%s"' % v for v in self.supported)
            return s
        elif self.kind == "TooLong":
            s = "Too long"
        else:
            s = "Invalid value: %s" % _go_value(self.value)
        if self.detail:
            s += ": " + self.detail
        return s

    def __str__(self):
        return "%s: %s" % (self.field, self.body())


def _go_value(v):
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return str(v)
    return '"%s"' % str(v)


def invalid(res, kind, name, errs):
    """422 Invalid: 'Job.batch "x" is invalid: spec.foo: Required value'."""
    gk = kind + ("." + res.group if res is not None and res.group else "")
    if len(errs) == 1:
        agg = str(errs[0])
    else:
        agg = "[" + ", ".join(str(e) for e in errs) + "]"
    details = {"name": name, "kind": kind,
               "causes": [{"reason": FieldError.CAUSES.get(e.kind, "FieldValueInvalid"),
                           "message": e.body(), "field": e.field} for e in errs]}
    if res is not None and res.group:
        details["group"] = res.group
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (gk, name, agg),
                    details)
