/* crypto.h - the little cryptography wlkit needs, libcrypto loaded on
 * first use.
 *
 * Why: mapping libcrypto costs every exec a few milliseconds, and most
 * starts (--help, --dry-run=client, completion) never hash or sign. The
 * first call here dlopen()s libcrypto.so.3 and resolves the handful of
 * functions used; a missing library is a fatal one-line error naming it.
 * Thread-safe: loading runs once under pthread_once.
 *
 * Nothing here defines an OpenSSL symbol name, so programs that also link
 * libcrypto directly (kubectl-vkcmd) are not interposed.
 */
#ifndef WLKIT_CRYPTO_H
#define WLKIT_CRYPTO_H

#include <stddef.h>

#include "buf.h"

#define CRYPTO_SHA256_LEN 32

/* A streaming SHA-256. Owns its digest context from crypto_sha256_init()
 * until crypto_sha256_final() or crypto_sha256_free() (either may be
 * called on a zeroed or finished struct; both leave it zeroed). */
struct crypto_sha256 {
	void *ctx;
};

/* Return 0, or -1 when libcrypto refuses (out of memory, FIPS policy). */
int crypto_sha256_init(struct crypto_sha256 *s);
int crypto_sha256_update(struct crypto_sha256 *s, const void *data, size_t n);
/* Writes the 32-byte digest to out and frees the context. */
int crypto_sha256_final(struct crypto_sha256 *s,
			unsigned char out[CRYPTO_SHA256_LEN]);
void crypto_sha256_free(struct crypto_sha256 *s);

/* RSASSA-PKCS1-v1_5 with SHA-256 (JWT's RS256) of data[0..n) with the
 * unencrypted RSA private key in pem[0..pem_len), appended to sig.
 * Returns 0; CRYPTO_EKEY when pem is not an unencrypted RSA private key;
 * CRYPTO_ESIGN when signing fails. sig is unchanged on failure. */
#define CRYPTO_EKEY (-1)
#define CRYPTO_ESIGN (-2)
int crypto_rs256_sign(const char *pem, size_t pem_len, const void *data,
		      size_t n, struct buf *sig);

#endif
