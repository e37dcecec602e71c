/* test_gcp_auth.c - the Google token sources of common/gcp against
 * tests/fakes/http/echo.py playing the token endpoint and the metadata
 * server: the order of the five sources, expiry and refresh, the service
 * account JWT (its signature checked with the fixture's public key), bad
 * keys, Metadata-Flavor, gcloud, and nothing secret at -v=9. */
#include <stdarg.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "gcp.h"
#include "http_echo.h"
#include "obj.h"

/* One scripted reply: status, body (single quotes become double quotes),
 * and an optional header. */
static cJSON *reply(int status, const char *body, const char *hname, const char *hval)
{
	cJSON *r = cJSON_CreateObject();
	char *b = strdup(body);

	for (char *p = b; *p; p++)
		if (*p == '\'')
			*p = '"';
	cJSON_AddNumberToObject(r, "status", status);
	cJSON_AddStringToObject(r, "body", b);
	if (hname) {
		cJSON *h = cJSON_AddArrayToObject(r, "headers"), *pair = cJSON_CreateArray();

		cJSON_AddItemToArray(pair, cJSON_CreateString(hname));
		cJSON_AddItemToArray(pair, cJSON_CreateString(hval));
		cJSON_AddItemToArray(h, pair);
	}
	free(b);
	return r;
}

/* Gives the server the script made of the replies (taken), NULL-ended. */
static struct server *serve(cJSON *first, ...)
{
	cJSON *script = cJSON_CreateArray();
	struct server *s;
	va_list ap;
	char *text;

	va_start(ap, first);
	for (cJSON *r = first; r; r = va_arg(ap, cJSON *))
		cJSON_AddItemToArray(script, r);
	va_end(ap);
	text = cJSON_PrintUnformatted(script);
	s = plain(text);
	free(text);
	cJSON_Delete(script);
	return s;
}

static char bindir[512], cfgdir[512];

/* No source but those the test sets: an empty config dir, a PATH without
 * gcloud (python3 already runs), no credential variables. */
static void clean_env(void)
{
	snprintf(bindir, sizeof(bindir), "%s/bin", unit_tmpdir());
	snprintf(cfgdir, sizeof(cfgdir), "%s/gcloud", unit_tmpdir());
	mkdir(bindir, 0700);
	mkdir(cfgdir, 0700);
	setenv("PATH", bindir, 1);
	unsetenv("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE");
	unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
	unsetenv("GCE_METADATA_HOST");
	remove(unit_write("gcloud/application_default_credentials.json", ""));
	remove(unit_write("bin/gcloud", ""));
}

static bool on_gce(void)
{
	struct buf b = BUF_INIT;
	bool yes = buf_read_file(&b, "/sys/class/dmi/id/product_name") == 0 &&
		   !strncmp(buf_str(&b), "Google", 6);

	buf_release(&b);
	return yes;
}

/* A token from a fresh source; its text, or the error, in *out. */
static int token_from(const char *flag_file, struct buf *out)
{
	struct gcp_auth *a = gcp_auth_new(flag_file, cfgdir);
	struct buf err = BUF_INIT;
	int rc;

	buf_reset(out);
	rc = gcp_auth_token(a, out, &err);
	if (rc < 0)
		buf_adds(out, err.data);
	gcp_auth_free(a);
	buf_release(&err);
	return rc;
}

static const char *authorized_user(const struct server *s)
{
	static char text[512];

	snprintf(text, sizeof(text),
		 "{\"type\":\"authorized_user\",\"client_id\":\"cid.apps\","
		 "\"client_secret\":\"cs-SECRET\",\"refresh_token\":\"rt-SECRET\","
		 "\"token_uri\":\"%s/token\"}", s->url);
	return text;
}

static void write_fake_gcloud(const char *script)
{
	const char *p = unit_write("bin/gcloud", script);

	chmod(p, 0755);
}

TEST(sources_in_order)
{
	struct server *s;
	struct buf tok = BUF_INIT, host = BUF_INIT;
	const char *flag;

	if (!(s = serve(reply(200, "{'access_token':'adc-token','expires_in':3600}", NULL, NULL),
			NULL)))
		return;
	clean_env();
	flag = unit_write("flag-token", "  flag-token\n");
	setenv("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", unit_write("env-token", "env-token\n"), 1);
	unit_write("gcloud/application_default_credentials.json", authorized_user(s));
	buf_printf(&host, "127.0.0.1:%d", s->port);
	setenv("GCE_METADATA_HOST", host.data, 1);
	write_fake_gcloud("#!/bin/sh\necho gcloud-token\n");
	/* 1: the flag's file */
	CHECK_INT(token_from(flag, &tok), 0);
	CHECK_STR(tok.data, "flag-token");
	/* 2: CLOUDSDK_AUTH_ACCESS_TOKEN_FILE */
	CHECK_INT(token_from(NULL, &tok), 0);
	CHECK_STR(tok.data, "env-token");
	CHECK_INT(server_requests(s), 0);
	/* 3: application default credentials */
	unsetenv("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE");
	CHECK_INT(token_from(NULL, &tok), 0);
	CHECK_STR(tok.data, "adc-token");
	CHECK_INT(server_requests(s), 1);
	/* 4: the metadata server */
	serve(reply(200, "{'access_token':'md-token','expires_in':3600}",
		    "Metadata-Flavor", "Google"), NULL);
	remove(unit_write("gcloud/application_default_credentials.json", ""));
	CHECK_INT(token_from(NULL, &tok), 0);
	CHECK_STR(tok.data, "md-token");
	/* 5: gcloud */
	unsetenv("GCE_METADATA_HOST");
	if (!on_gce()) {
		CHECK_INT(token_from(NULL, &tok), 0);
		CHECK_STR(tok.data, "gcloud-token");
		remove(unit_write("bin/gcloud", ""));
		CHECK_INT(token_from(NULL, &tok), -1);
		CHECK_STR(tok.data, "no Google Cloud credentials: pass --access-token-file, "
			  "set GOOGLE_APPLICATION_CREDENTIALS, run 'gcloud auth "
			  "application-default login', or install gcloud");
	}
	buf_release(&host);
	buf_release(&tok);
}

TEST(token_file_errors)
{
	struct buf tok = BUF_INIT, want = BUF_INIT;

	clean_env();
	CHECK_INT(token_from("/nonexistent/token", &tok), -1);
	CHECK_STR(tok.data, "cannot read access token file '/nonexistent/token': "
		  "No such file or directory");
	buf_printf(&want, "access token file '%s' does not hold one token",
		   unit_write("empty-token", " \n"));
	CHECK_INT(token_from(unit_write("empty-token", " \n"), &tok), -1);
	CHECK_STR(tok.data, want.data);
	buf_release(&want);
	buf_release(&tok);
}

TEST(authorized_user_refresh_grant_cached_until_expiry)
{
	struct server *s;
	struct gcp_auth *a;
	struct buf tok = BUF_INIT, err = BUF_INIT;
	cJSON *log;

	if (!(s = serve(reply(200, "{'access_token':'at-1','expires_in':61}", NULL, NULL),
			reply(200, "{'access_token':'at-2','expires_in':3600}", NULL, NULL),
			NULL)))
		return;
	clean_env();
	setenv("GOOGLE_APPLICATION_CREDENTIALS", unit_write("au.json", authorized_user(s)), 1);
	a = gcp_auth_new(NULL, cfgdir);
	CHECK_INT(gcp_auth_token(a, &tok, &err), 0);
	CHECK_STR(tok.data, "at-1");
	buf_reset(&tok);
	CHECK_INT(gcp_auth_token(a, &tok, &err), 0);	/* cached: 1 s left */
	CHECK_STR(tok.data, "at-1");
	CHECK_INT(server_requests(s), 1);
	usleep(1100 * 1000);
	buf_reset(&tok);
	CHECK_INT(gcp_auth_token(a, &tok, &err), 0);	/* 60 s before expiry */
	CHECK_STR(tok.data, "at-2");
	CHECK_INT(server_requests(s), 2);
	CHECK_CONTAINS(gcp_auth_source(a), "(GOOGLE_APPLICATION_CREDENTIALS)");
	log = server_log(s);
	CHECK_STR(field(log, 0, "method"), "POST");
	CHECK_STR(field(log, 0, "path"), "/token");
	CHECK_STR(header(log, 0, "content-type"), "application/x-www-form-urlencoded");
	CHECK_STR(field(log, 0, "body"), "grant_type=refresh_token&client_id=cid.apps&"
		  "client_secret=cs-SECRET&refresh_token=rt-SECRET");
	cJSON_Delete(log);
	gcp_auth_free(a);
	buf_release(&tok);
	buf_release(&err);
}

TEST(token_endpoint_error_is_one_line_and_final)
{
	struct server *s;
	struct buf tok = BUF_INIT, want = BUF_INIT, host = BUF_INIT;
	const char *p;

	if (!(s = serve(reply(400, "{'error':'invalid_grant','error_description':"
			      "'Token has been expired or revoked.'}", NULL, NULL), NULL)))
		return;
	clean_env();
	p = unit_write("au.json", authorized_user(s));
	setenv("GOOGLE_APPLICATION_CREDENTIALS", p, 1);
	/* a working metadata server behind does not hide the broken source */
	buf_printf(&host, "127.0.0.1:%d", s->port);
	setenv("GCE_METADATA_HOST", host.data, 1);
	CHECK_INT(token_from(NULL, &tok), -1);
	buf_printf(&want, "cannot get an access token from '%s/token' with credentials "
		   "file '%s' (GOOGLE_APPLICATION_CREDENTIALS): oauth2: invalid_grant: "
		   "Token has been expired or revoked.", s->url, p);
	CHECK_STR(tok.data, want.data);
	CHECK_INT(server_requests(s), 1);
	buf_release(&host);
	buf_release(&want);
	buf_release(&tok);
}

/* The service account's key pair, made once per run (no key is kept in
 * the tree): 2048-bit RSA, as Google issues. */
static EVP_PKEY *test_key(void)
{
	static EVP_PKEY *k;

	if (!k)
		k = EVP_RSA_gen(2048);
	return k;
}

/* test_key() as PKCS#8 PEM, appended to out. */
static void test_key_pem(struct buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;

	if (b && PEM_write_bio_PrivateKey(b, test_key(), NULL, NULL, 0, NULL, NULL) == 1 &&
	    (n = BIO_get_mem_data(b, &data)) > 0)
		buf_add(out, data, (size_t)n);
	BIO_free(b);
}

/* A service account key file with the fixture's private key. */
static const char *sa_file(const struct server *s, const char *pem)
{
	struct buf key = BUF_INIT, path = BUF_INIT;
	cJSON *o = cJSON_CreateObject();
	const char *p;
	char *text;

	if (!pem)
		test_key_pem(&key);
	cJSON_AddStringToObject(o, "type", "service_account");
	cJSON_AddStringToObject(o, "project_id", "p");
	cJSON_AddStringToObject(o, "private_key_id", "kid-123");
	cJSON_AddStringToObject(o, "private_key", pem ? pem : buf_str(&key));
	cJSON_AddStringToObject(o, "client_email", "sa@p.iam.gserviceaccount.com");
	buf_reset(&path);
	buf_printf(&path, "%s/token", s->url);
	cJSON_AddStringToObject(o, "token_uri", path.data);
	text = cJSON_Print(o);
	p = unit_write("sa.json", text);
	free(text);
	cJSON_Delete(o);
	buf_release(&key);
	buf_release(&path);
	return p;
}

static cJSON *b64url_json(const char *s, size_t n)
{
	struct buf std = BUF_INIT, raw = BUF_INIT;
	cJSON *o = NULL;

	buf_add(&std, s, n);
	for (size_t i = 0; i < std.len; i++)
		std.data[i] = std.data[i] == '-' ? '+' : std.data[i] == '_' ? '/' : std.data[i];
	while (std.len % 4)
		buf_addch(&std, '=');
	if (buf_add_unbase64(&raw, std.data, std.len) == 0)
		o = cJSON_ParseWithLength(raw.data, raw.len);
	buf_release(&std);
	buf_release(&raw);
	return o;
}

TEST(service_account_jwt_signed_and_verified)
{
	struct server *s;
	struct buf tok = BUF_INIT, sig = BUF_INIT, aud = BUF_INIT;
	const char *body, *jwt, *d1, *d2;
	cJSON *log, *hdr = NULL, *claims = NULL;
	EVP_PKEY *pub = test_key();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int64_t now = time(NULL);

	CHECK(pub != NULL);
	if (!(s = serve(reply(200, "{'access_token':'sa-token','expires_in':3600}", NULL, NULL),
			NULL)))
		return;
	clean_env();
	setenv("GOOGLE_APPLICATION_CREDENTIALS", sa_file(s, NULL), 1);
	CHECK_INT(token_from(NULL, &tok), 0);
	CHECK_STR(tok.data, "sa-token");
	log = server_log(s);
	body = field(log, 0, "body");
	CHECK_CONTAINS(body, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=");
	jwt = body ? strstr(body, "assertion=") : NULL;
	if (!jwt || !pub)
		goto out;
	jwt += strlen("assertion=");
	d1 = strchr(jwt, '.');
	d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	CHECK(d2 != NULL);
	if (!d2)
		goto out;
	hdr = b64url_json(jwt, (size_t)(d1 - jwt));
	claims = b64url_json(d1 + 1, (size_t)(d2 - d1 - 1));
	CHECK_STR(obj_str(hdr, "alg"), "RS256");
	CHECK_STR(obj_str(hdr, "typ"), "JWT");
	CHECK_STR(obj_str(hdr, "kid"), "kid-123");
	CHECK_STR(obj_str(claims, "iss"), "sa@p.iam.gserviceaccount.com");
	CHECK_STR(obj_str(claims, "scope"), "https://www.googleapis.com/auth/cloud-platform");
	buf_printf(&aud, "%s/token", s->url);
	CHECK_STR(obj_str(claims, "aud"), aud.data);
	CHECK(llabs(obj_int(claims, "iat", 0) - now) <= 5);
	CHECK_INT(obj_int(claims, "exp", 0) - obj_int(claims, "iat", 0), 3600);
	/* the signature verifies with the public key; a changed claim does not */
	{
		struct buf std = BUF_INIT;

		buf_adds(&std, d2 + 1);
		for (size_t i = 0; i < std.len; i++)
			std.data[i] = std.data[i] == '-' ? '+' : std.data[i] == '_' ? '/' : std.data[i];
		while (std.len % 4)
			buf_addch(&std, '=');
		CHECK_INT(buf_add_unbase64(&sig, std.data, std.len), 0);
		buf_release(&std);
	}
	CHECK_INT(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
	CHECK_INT(EVP_DigestVerify(md, (unsigned char *)sig.data, sig.len,
				   (const unsigned char *)jwt, (size_t)(d2 - jwt)), 1);
	EVP_MD_CTX_reset(md);
	CHECK_INT(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
	CHECK(EVP_DigestVerify(md, (unsigned char *)sig.data, sig.len,
			       (const unsigned char *)jwt, (size_t)(d2 - jwt) - 1) != 1);
out:
	cJSON_Delete(hdr);
	cJSON_Delete(claims);
	cJSON_Delete(log);
	EVP_MD_CTX_free(md);
	buf_release(&aud);
	buf_release(&sig);
	buf_release(&tok);
}

TEST(bad_service_account_key_is_a_clear_error)
{
	struct server *s;
	struct buf tok = BUF_INIT, want = BUF_INIT;
	const char *p;

	if (!(s = serve(reply(200, "{'access_token':'x'}", NULL, NULL), NULL)))
		return;
	clean_env();
	p = sa_file(s, "-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n-----END PRIVATE KEY-----\n");
	setenv("GOOGLE_APPLICATION_CREDENTIALS", p, 1);
	CHECK_INT(token_from(NULL, &tok), -1);
	buf_printf(&want, "invalid service account key file '%s': private_key is not "
		   "an unencrypted RSA private key in PEM", p);
	CHECK_STR(tok.data, want.data);
	CHECK_INT(server_requests(s), 0);
	/* not JSON at all */
	p = unit_write("broken.json", "{\"type\": \"service_account\",");
	setenv("GOOGLE_APPLICATION_CREDENTIALS", p, 1);
	CHECK_INT(token_from(NULL, &tok), -1);
	buf_reset(&want);
	buf_printf(&want, "invalid credentials file '%s': not a JSON object", p);
	CHECK_STR(tok.data, want.data);
	/* a key without client_email */
	p = unit_write("noemail.json", "{\"type\":\"service_account\",\"private_key\":\"x\"}");
	setenv("GOOGLE_APPLICATION_CREDENTIALS", p, 1);
	CHECK_INT(token_from(NULL, &tok), -1);
	CHECK_CONTAINS(tok.data, "it needs client_email and private_key");
	CHECK_INT(server_requests(s), 0);
	buf_release(&want);
	buf_release(&tok);
}

TEST(metadata_server_flavor_checked_and_cached)
{
	struct server *s;
	struct gcp_auth *a;
	struct buf tok = BUF_INIT, err = BUF_INIT, host = BUF_INIT;
	cJSON *log;

	if (!(s = serve(reply(200, "{'access_token':'md-1','expires_in':61}",
			      "Metadata-Flavor", "Google"),
			reply(200, "{'access_token':'md-2','expires_in':3600}",
			      "Metadata-Flavor", "Google"), NULL)))
		return;
	clean_env();
	buf_printf(&host, "127.0.0.1:%d", s->port);
	setenv("GCE_METADATA_HOST", host.data, 1);
	a = gcp_auth_new(NULL, cfgdir);
	CHECK_INT(gcp_auth_token(a, &tok, &err), 0);
	CHECK_INT(gcp_auth_token(a, &tok, &err), 0);
	CHECK_STR(tok.data, "md-1md-1");
	CHECK_INT(server_requests(s), 1);
	usleep(1100 * 1000);
	buf_reset(&tok);
	CHECK_INT(gcp_auth_token(a, &tok, &err), 0);
	CHECK_STR(tok.data, "md-2");
	log = server_log(s);
	CHECK_STR(field(log, 0, "method"), "GET");
	CHECK_STR(field(log, 0, "path"),
		  "/computeMetadata/v1/instance/service-accounts/default/token");
	CHECK_STR(header(log, 0, "metadata-flavor"), "Google");
	cJSON_Delete(log);
	gcp_auth_free(a);
	/* a server that is not the metadata server is refused */
	serve(reply(200, "{'access_token':'evil','expires_in':3600}", NULL, NULL), NULL);
	CHECK_INT(token_from(NULL, &tok), -1);
	CHECK_CONTAINS(tok.data, "/computeMetadata/v1/instance/service-accounts/default/token' "
		       "is not a metadata server: its reply has no 'Metadata-Flavor: Google' header");
	buf_release(&host);
	buf_release(&tok);
	buf_release(&err);
}

TEST(gcloud_print_access_token)
{
	struct gcp_auth *a;
	struct buf tok = BUF_INIT, err = BUF_INIT, runs = BUF_INIT, script = BUF_INIT;
	char runs_path[600];

	if (on_gce())
		return;
	clean_env();
	snprintf(runs_path, sizeof(runs_path), "%s/gcloud-runs", unit_tmpdir());
	buf_printf(&script, "#!/bin/sh\necho \"$*\" >> '%s'\nprintf '  ya29.gcloud\\n\\n'\n",
		   runs_path);
	write_fake_gcloud(script.data);
	a = gcp_auth_new(NULL, cfgdir);
	CHECK_INT(gcp_auth_token(a, &tok, &err), 0);
	CHECK_STR(tok.data, "ya29.gcloud");
	buf_reset(&tok);
	CHECK_INT(gcp_auth_token(a, &tok, &err), 0);
	CHECK_STR(tok.data, "ya29.gcloud");
	buf_read_file(&runs, runs_path);
	CHECK_STR(buf_str(&runs), "auth print-access-token\n");	/* once: cached */
	gcp_auth_free(a);
	write_fake_gcloud("#!/bin/sh\necho 'ERROR: (gcloud.auth) not logged in' >&2\nexit 3\n");
	{
		struct capture c;

		capture_start(&c);
		CHECK_INT(token_from(NULL, &tok), -1);
		buf_reset(&runs);
		capture_end(&c, &runs);
	}
	CHECK_CONTAINS(tok.data, "/bin/gcloud auth print-access-token' failed with exit code 3");
	CHECK_CONTAINS(buf_str(&runs), "not logged in");
	buf_release(&script);
	buf_release(&runs);
	buf_release(&tok);
	buf_release(&err);
}

TEST(no_secret_at_verbosity_9)
{
	struct server *s;
	struct buf tok = BUF_INIT, out = BUF_INIT, host = BUF_INIT;
	struct capture c;

	if (!(s = serve(reply(200, "{'access_token':'ya29.LEAK-A','refresh_token':'rt-LEAK',"
			      "'expires_in':3600}", "Metadata-Flavor", "Google"), NULL)))
		return;
	clean_env();
	log_set_verbosity(9);
	capture_start(&c);
	setenv("GOOGLE_APPLICATION_CREDENTIALS", unit_write("au.json", authorized_user(s)), 1);
	CHECK_INT(token_from(NULL, &tok), 0);
	setenv("GOOGLE_APPLICATION_CREDENTIALS", sa_file(s, NULL), 1);
	CHECK_INT(token_from(NULL, &tok), 0);
	unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
	buf_printf(&host, "127.0.0.1:%d", s->port);
	setenv("GCE_METADATA_HOST", host.data, 1);
	CHECK_INT(token_from(NULL, &tok), 0);
	capture_end(&c, &out);
	log_set_verbosity(0);
	CHECK_STR(tok.data, "ya29.LEAK-A");
	CHECK_CONTAINS(buf_str(&out), "POST ");		/* it did log the requests */
	CHECK_CONTAINS(buf_str(&out), "computeMetadata");
	CHECK(!strstr(buf_str(&out), "LEAK"));
	CHECK(!strstr(buf_str(&out), "SECRET"));
	CHECK(!strstr(buf_str(&out), "PRIVATE KEY"));
	CHECK(!strstr(buf_str(&out), "assertion"));
	CHECK(!strstr(buf_str(&out), "eyJ"));		/* a JWT's header */
	buf_release(&host);
	buf_release(&out);
	buf_release(&tok);
}
