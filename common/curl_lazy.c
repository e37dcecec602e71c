/* curl_lazy.c - libcurl, loaded on first use.
 *
 * Why: libcurl and the thirty libraries it needs (TLS, HTTP/2, IDN, LDAP,
 * SSH, Kerberos...) cost the dynamic loader about 13 ms on every start on
 * a small machine, three times what the rest of a program costs. Commands
 * that never touch the network (--help, --dry-run=client, completion,
 * local snapshots) should not pay it. So the programs are not linked with
 * -lcurl; this file defines the libcurl functions wlkit calls, and the first
 * call dlopen()s libcurl.so.4 and resolves them all. A missing or too old
 * libcurl is a fatal one-line error naming the library.
 *
 * The call sites stay ordinary libcurl calls (curl.h's declarations and
 * types), so http.c reads as libcurl code. The variadic setters forward
 * their one argument by the option's type range, as libcurl itself reads
 * it (long, pointer, function pointer, curl_off_t, blob pointer).
 *
 * The symbols are not exported from the executables (nothing linked at
 * build time refers to them), so libcurl's own internal calls never land
 * here. Thread-safe: loading runs once under pthread_once.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <curl/curl.h>

#include "log.h"

#define LIBCURL "libcurl.so.4"

/* One pointer per function, in the order of the names below. */
#define CURL_FUNCS(X)							\
	X(curl_global_init, CURLcode, (long))				\
	X(curl_easy_init, CURL *, (void))				\
	X(curl_easy_cleanup, void, (CURL *))				\
	X(curl_easy_reset, void, (CURL *))				\
	X(curl_easy_perform, CURLcode, (CURL *))			\
	X(curl_easy_setopt, CURLcode, (CURL *, CURLoption, ...))	\
	X(curl_easy_getinfo, CURLcode, (CURL *, CURLINFO, ...))		\
	X(curl_easy_strerror, const char *, (CURLcode))			\
	X(curl_share_init, CURLSH *, (void))				\
	X(curl_share_cleanup, CURLSHcode, (CURLSH *))			\
	X(curl_share_setopt, CURLSHcode, (CURLSH *, CURLSHoption, ...))	\
	X(curl_slist_append, struct curl_slist *, (struct curl_slist *, const char *)) \
	X(curl_slist_free_all, void, (struct curl_slist *))		\
	X(curl_free, void, (void *))					\
	X(curl_url, CURLU *, (void))					\
	X(curl_url_cleanup, void, (CURLU *))				\
	X(curl_url_get, CURLUcode, (CURLU *, CURLUPart, char **, unsigned int)) \
	X(curl_url_set, CURLUcode, (CURLU *, CURLUPart, const char *, unsigned int)) \
	X(curl_multi_init, CURLM *, (void))				\
	X(curl_multi_cleanup, CURLMcode, (CURLM *))			\
	X(curl_multi_add_handle, CURLMcode, (CURLM *, CURL *))		\
	X(curl_multi_remove_handle, CURLMcode, (CURLM *, CURL *))	\
	X(curl_multi_perform, CURLMcode, (CURLM *, int *))		\
	X(curl_multi_poll, CURLMcode, (CURLM *, struct curl_waitfd *, unsigned int, int, int *)) \
	X(curl_multi_info_read, CURLMsg *, (CURLM *, int *))

#define FIELD(name, ret, args) ret (*p_##name) args;
static struct {
	CURL_FUNCS(FIELD)
} fn;
#undef FIELD

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
	void *lib = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
	void *p;

	if (!lib)
		die("cannot load %s (install libcurl4): %s", LIBCURL, dlerror());
	/* dlsym returns data pointers; POSIX makes them convertible to
	 * function pointers, and copying the bytes is the portable spelling. */
#define RESOLVE(name, ret, args)					\
	if (!(p = dlsym(lib, #name)))					\
		die("cannot load %s: it lacks '%s' (need libcurl 7.85 or later)", \
		    LIBCURL, #name);					\
	memcpy(&fn.p_##name, &p, sizeof p);
	CURL_FUNCS(RESOLVE)
#undef RESOLVE
}

static void ready(void)
{
	pthread_once(&load_once, load);
}

/* The parentheses keep curl.h's type-checking macros out of the names. */

CURLcode (curl_global_init)(long flags)
{
	ready();
	return fn.p_curl_global_init(flags);
}

CURL *(curl_easy_init)(void)
{
	ready();
	return fn.p_curl_easy_init();
}

void (curl_easy_cleanup)(CURL *c)
{
	ready();
	fn.p_curl_easy_cleanup(c);
}

void (curl_easy_reset)(CURL *c)
{
	ready();
	fn.p_curl_easy_reset(c);
}

CURLcode (curl_easy_perform)(CURL *c)
{
	ready();
	return fn.p_curl_easy_perform(c);
}

CURLcode (curl_easy_setopt)(CURL *c, CURLoption opt, ...)
{
	va_list ap;
	CURLcode rc;

	ready();
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = fn.p_curl_easy_setopt(c, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_OFF_T)	/* object and function pointers */
		rc = fn.p_curl_easy_setopt(c, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = fn.p_curl_easy_setopt(c, opt, va_arg(ap, curl_off_t));
	else
		rc = fn.p_curl_easy_setopt(c, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode (curl_easy_getinfo)(CURL *c, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;

	ready();
	va_start(ap, info);
	rc = fn.p_curl_easy_getinfo(c, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

const char *(curl_easy_strerror)(CURLcode cc)
{
	ready();
	return fn.p_curl_easy_strerror(cc);
}

CURLSH *(curl_share_init)(void)
{
	ready();
	return fn.p_curl_share_init();
}

CURLSHcode (curl_share_cleanup)(CURLSH *s)
{
	ready();
	return fn.p_curl_share_cleanup(s);
}

CURLSHcode (curl_share_setopt)(CURLSH *s, CURLSHoption opt, ...)
{
	va_list ap;
	CURLSHcode rc;

	ready();
	va_start(ap, opt);
	if (opt == CURLSHOPT_SHARE || opt == CURLSHOPT_UNSHARE)
		rc = fn.p_curl_share_setopt(s, opt, va_arg(ap, int));
	else
		rc = fn.p_curl_share_setopt(s, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

struct curl_slist *(curl_slist_append)(struct curl_slist *l, const char *s)
{
	ready();
	return fn.p_curl_slist_append(l, s);
}

void (curl_slist_free_all)(struct curl_slist *l)
{
	ready();
	fn.p_curl_slist_free_all(l);
}

void (curl_free)(void *p)
{
	ready();
	fn.p_curl_free(p);
}

CURLU *(curl_url)(void)
{
	ready();
	return fn.p_curl_url();
}

void (curl_url_cleanup)(CURLU *u)
{
	ready();
	fn.p_curl_url_cleanup(u);
}

CURLUcode (curl_url_get)(CURLU *u, CURLUPart what, char **part,
			 unsigned int flags)
{
	ready();
	return fn.p_curl_url_get(u, what, part, flags);
}

CURLUcode (curl_url_set)(CURLU *u, CURLUPart what, const char *part,
			 unsigned int flags)
{
	ready();
	return fn.p_curl_url_set(u, what, part, flags);
}

CURLM *(curl_multi_init)(void)
{
	ready();
	return fn.p_curl_multi_init();
}

CURLMcode (curl_multi_cleanup)(CURLM *m)
{
	ready();
	return fn.p_curl_multi_cleanup(m);
}

CURLMcode (curl_multi_add_handle)(CURLM *m, CURL *c)
{
	ready();
	return fn.p_curl_multi_add_handle(m, c);
}

CURLMcode (curl_multi_remove_handle)(CURLM *m, CURL *c)
{
	ready();
	return fn.p_curl_multi_remove_handle(m, c);
}

CURLMcode (curl_multi_perform)(CURLM *m, int *running)
{
	ready();
	return fn.p_curl_multi_perform(m, running);
}

CURLMcode (curl_multi_poll)(CURLM *m, struct curl_waitfd *extra,
			    unsigned int nextra, int timeout_ms, int *numfds)
{
	ready();
	return fn.p_curl_multi_poll(m, extra, nextra, timeout_ms, numfds);
}

CURLMsg *(curl_multi_info_read)(CURLM *m, int *left)
{
	ready();
	return fn.p_curl_multi_info_read(m, left);
}
