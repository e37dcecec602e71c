/* kube_err.c - Kubernetes errors: Status objects, client-go's generic
 * messages for bodies that are not a Status, and kubectl's wording when
 * printing them. See kube.h. */
#include "kube.h"
#include "kube_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* client-go keeps at most this much of a body that is not a Status. */
#define MAX_SERVER_TEXT 2048

static void err_reset(struct kube_err *err)
{
	err->code = 0;
	err->reason[0] = '\0';
	buf_reset(&err->message);
	cJSON_Delete(err->status);
	err->status = NULL;
}

static void set_reason(struct kube_err *err, const char *reason)
{
	snprintf(err->reason, sizeof(err->reason), "%s", reason ? reason : "");
}

void kube_err_release(struct kube_err *err)
{
	buf_release(&err->message);
	cJSON_Delete(err->status);
	err->status = NULL;
	err->code = 0;
	err->reason[0] = '\0';
}

int kube_err_set(struct kube_err *err, const char *fmt, ...)
{
	va_list ap;

	err_reset(err);
	va_start(ap, fmt);
	buf_vprintf(&err->message, fmt, ap);
	va_end(ap);
	return -1;
}

int kube_err_set_reason(struct kube_err *err, const char *reason,
			const char *fmt, ...)
{
	va_list ap;

	err_reset(err);
	set_reason(err, reason);
	va_start(ap, fmt);
	buf_vprintf(&err->message, fmt, ap);
	va_end(ap);
	return -1;
}

/* The host[:port] of a URL, for kubectl's "connection refused" line. */
static void url_host(const char *url, struct buf *out)
{
	const char *p = strstr(url, "://"), *end;

	p = p ? p + 3 : url;
	end = p + strcspn(p, "/?#");
	buf_add(out, p, (size_t)(end - p));
}

void kube_err_unreachable(struct kube_err *err, const char *server,
			  const char *detail)
{
	err_reset(err);
	set_reason(err, "Unreachable");
	if (detail && strcasestr(detail, "connection refused")) {
		buf_adds(&err->message, "The connection to the server ");
		url_host(server ? server : "", &err->message);
		buf_adds(&err->message,
			 " was refused - did you specify the right host or port?");
		return;
	}
	buf_printf(&err->message, "Unable to connect to the server: %s",
		   detail && *detail ? detail : "no response");
}

void kube_err_from_status(struct kube_err *err, const cJSON *status,
			  long http_status)
{
	const cJSON *v;

	err_reset(err);
	err->code = (int)http_status;
	v = cJSON_GetObjectItemCaseSensitive(status, "code");
	if (cJSON_IsNumber(v) && v->valuedouble >= 100 && v->valuedouble < 600)
		err->code = (int)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(status, "reason");
	if (cJSON_IsString(v))
		set_reason(err, v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(status, "message");
	if (cJSON_IsString(v))
		buf_adds(&err->message, v->valuestring);
	err->status = cJSON_Duplicate(status, 1);
}

/* The body as client-go keeps it for messages: trimmed text, at most
 * MAX_SERVER_TEXT bytes, "unknown" when it is empty or binary. */
static void server_text(const char *body, size_t len, struct buf *out)
{
	size_t i;

	if (len > MAX_SERVER_TEXT)
		len = MAX_SERVER_TEXT;
	while (len && isspace((unsigned char)*body)) {
		body++;
		len--;
	}
	while (len && isspace((unsigned char)body[len - 1]))
		len--;
	for (i = 0; i < len; i++)
		if (body[i] == '\0')
			break;
	if (!len || i < len) {
		buf_adds(out, "unknown");
		return;
	}
	buf_add(out, body, len);
}

/* client-go's NewGenericServerResponse: reason and message by code; a NULL
 * message means the response's own text. */
static const struct {
	long status;
	const char *reason, *message;
} generic_codes[] = {
	{ 400, "BadRequest", "the server rejected our request for an unknown reason" },
	{ 401, "Unauthorized", "the server has asked for the client to provide credentials" },
	{ 403, "Forbidden", NULL },
	{ 404, "NotFound", "the server could not find the requested resource" },
	{ 405, "MethodNotAllowed", "the server does not allow this method on the requested resource" },
	{ 406, "NotAcceptable", NULL },
	{ 409, "Conflict", "the server reported a conflict" },
	{ 415, "UnsupportedMediaType", NULL },
	{ 422, "Invalid", "the server rejected our request due to an error in our request" },
	{ 429, "TooManyRequests", "the server has received too many requests and has asked us to try again later" },
	{ 503, "ServiceUnavailable", "the server is currently unable to handle the request" },
	{ 504, "Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request" },
};

static void generic(struct kube_err *err, long status, const char *text)
{
	struct buf *m = &err->message;

	for (size_t i = 0; i < sizeof(generic_codes) / sizeof(generic_codes[0]); i++)
		if (generic_codes[i].status == status) {
			buf_adds(m, generic_codes[i].message ? generic_codes[i].message : text);
			set_reason(err, generic_codes[i].reason);
			return;
		}
	if (status >= 500) {
		buf_printf(m, "an error on the server (\"%s\") has prevented the request from succeeding",
			   text);
		set_reason(err, "InternalError");
	} else {
		buf_printf(m, "the server responded with the status code %ld but did not return more information",
			   status);
		set_reason(err, "Unknown");
	}
}

void kube_err_from_response(struct kube_err *err, long status, const char *body,
			    size_t len, const char *what)
{
	struct buf text = BUF_INIT;
	cJSON *obj = NULL;
	const cJSON *kind;

	err_reset(err);
	if (body && len)
		obj = cJSON_ParseWithLength(body, len);
	kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	if (cJSON_IsObject(obj) && cJSON_IsString(kind) &&
	    !strcmp(kind->valuestring, "Status")) {
		kube_err_from_status(err, obj, status);
		if (err->message.len)
			goto out;
		/* A Status without a message: word it as for any body. */
		err->reason[0] = '\0';
	}
	err->code = (int)status;
	server_text(body ? body : "", body ? len : 0, &text);
	generic(err, status, buf_str(&text));
	if (what && *what)
		buf_printf(&err->message, " (%s)", what);
out:
	cJSON_Delete(obj);
	buf_release(&text);
}

void kube_what(struct buf *out, const char *verb, const struct kube_resource *r,
	       const char *name)
{
	const char *v;

	for (v = verb; *v; v++)
		buf_addch(out, tolower((unsigned char)*v));
	buf_addch(out, ' ');
	kube_resource_qualified(r, out);
	if (name && *name)
		buf_printf(out, " %s", name);
}

void kube_err_format(const struct kube_err *err, struct buf *out)
{
	const char *msg = buf_str(&err->message);

	if (err->code == 401 || (err->code && !strcmp(err->reason, "Unauthorized")))
		buf_printf(out, "error: You must be logged in to the server (%s)",
			   *msg ? msg : "Unauthorized");
	else if (err->code && err->reason[0])
		buf_printf(out, "Error from server (%s): %s", err->reason, msg);
	else if (err->code)
		buf_printf(out, "Error from server: %s", msg);
	else if (!strcmp(err->reason, "Unreachable"))
		buf_adds(out, msg);
	else
		buf_printf(out, "error: %s", msg);
}

void kube_err_print(const struct kube_err *err)
{
	struct buf line = BUF_INIT;

	kube_err_format(err, &line);
	buf_addch(&line, '\n');
	fputs(buf_str(&line), stderr);
	fflush(stderr);
	buf_release(&line);
}
