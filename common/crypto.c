/* crypto.c - SHA-256 and RS256 over libcrypto loaded on first use (see
 * crypto.h). OpenSSL's headers are included for their types only; every
 * call goes through a pointer named p_<function>. */
#include "crypto.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "log.h"

#define LIBCRYPTO "libcrypto.so.3"

/* One pointer per function used. */
#define CRYPTO_FUNCS(X)							\
	X(BIO_new_mem_buf, BIO *, (const void *, int))			\
	X(BIO_free, int, (BIO *))					\
	X(PEM_read_bio_PrivateKey, EVP_PKEY *,				\
	  (BIO *, EVP_PKEY **, pem_password_cb *, void *))		\
	X(EVP_PKEY_get_base_id, int, (const EVP_PKEY *))		\
	X(EVP_PKEY_free, void, (EVP_PKEY *))				\
	X(EVP_sha256, const EVP_MD *, (void))				\
	X(EVP_MD_CTX_new, EVP_MD_CTX *, (void))				\
	X(EVP_MD_CTX_free, void, (EVP_MD_CTX *))			\
	X(EVP_DigestInit_ex, int, (EVP_MD_CTX *, const EVP_MD *, ENGINE *)) \
	X(EVP_DigestUpdate, int, (EVP_MD_CTX *, const void *, size_t))	\
	X(EVP_DigestFinal_ex, int, (EVP_MD_CTX *, unsigned char *, unsigned int *)) \
	X(EVP_DigestSignInit, int, (EVP_MD_CTX *, EVP_PKEY_CTX **,	\
				    const EVP_MD *, ENGINE *, EVP_PKEY *)) \
	X(EVP_DigestSign, int, (EVP_MD_CTX *, unsigned char *, size_t *, \
				const unsigned char *, size_t))		\
	X(ERR_clear_error, void, (void))

#define FIELD(name, ret, args) ret (*p_##name) args;
static struct {
	CRYPTO_FUNCS(FIELD)
} fn;
#undef FIELD

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
	void *lib = dlopen(LIBCRYPTO, RTLD_NOW | RTLD_LOCAL);
	void *p;

	if (!lib)
		die("cannot load %s (install libssl3): %s", LIBCRYPTO, dlerror());
	/* POSIX makes dlsym's data pointers convertible to function
	 * pointers; copying the bytes is the portable spelling. */
#define RESOLVE(name, ret, args)					\
	if (!(p = dlsym(lib, #name)))					\
		die("cannot load %s: it lacks '%s' (need OpenSSL 3)",	\
		    LIBCRYPTO, #name);					\
	memcpy(&fn.p_##name, &p, sizeof p);
	CRYPTO_FUNCS(RESOLVE)
#undef RESOLVE
}

static void ready(void)
{
	pthread_once(&load_once, load);
}

int crypto_sha256_init(struct crypto_sha256 *s)
{
	EVP_MD_CTX *md;

	ready();
	s->ctx = NULL;
	if (!(md = fn.p_EVP_MD_CTX_new()))
		return -1;
	if (fn.p_EVP_DigestInit_ex(md, fn.p_EVP_sha256(), NULL) != 1) {
		fn.p_EVP_MD_CTX_free(md);
		fn.p_ERR_clear_error();
		return -1;
	}
	s->ctx = md;
	return 0;
}

int crypto_sha256_update(struct crypto_sha256 *s, const void *data, size_t n)
{
	if (!s->ctx)
		return -1;
	return fn.p_EVP_DigestUpdate(s->ctx, data, n) == 1 ? 0 : -1;
}

int crypto_sha256_final(struct crypto_sha256 *s,
			unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	int rc = -1;

	if (!s->ctx)
		return -1;
	if (fn.p_EVP_DigestFinal_ex(s->ctx, md, &len) == 1 &&
	    len == CRYPTO_SHA256_LEN) {
		memcpy(out, md, CRYPTO_SHA256_LEN);
		rc = 0;
	}
	crypto_sha256_free(s);
	return rc;
}

void crypto_sha256_free(struct crypto_sha256 *s)
{
	if (s->ctx) {
		fn.p_EVP_MD_CTX_free(s->ctx);
		s->ctx = NULL;
	}
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return -1;
}

int crypto_rs256_sign(const char *pem, size_t pem_len, const void *data,
		      size_t n, struct buf *sig)
{
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char *out = NULL;
	size_t outlen = 0;
	int rc = CRYPTO_EKEY;

	ready();
	if (pem_len > INT_MAX)
		goto out;
	if (!(bio = fn.p_BIO_new_mem_buf(pem, (int)pem_len)))
		die("out of memory");
	key = fn.p_PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (!key || fn.p_EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
		goto out;
	rc = CRYPTO_ESIGN;
	if (!(md = fn.p_EVP_MD_CTX_new()) ||
	    fn.p_EVP_DigestSignInit(md, NULL, fn.p_EVP_sha256(), NULL, key) != 1 ||
	    fn.p_EVP_DigestSign(md, NULL, &outlen, data, n) != 1 ||
	    !(out = malloc(outlen)) ||
	    fn.p_EVP_DigestSign(md, out, &outlen, data, n) != 1)
		goto out;
	buf_add(sig, out, outlen);
	rc = 0;
out:
	fn.p_ERR_clear_error();
	free(out);
	if (md)
		fn.p_EVP_MD_CTX_free(md);
	if (key)
		fn.p_EVP_PKEY_free(key);
	if (bio)
		fn.p_BIO_free(bio);
	return rc;
}
