/* AWS Signature Version 4 signing; see sigv4.h.
 *
 * Written from the SigV4 specification (canonical request, string to
 * sign, derived key) with S3's rules: the path is encoded once (S3 does
 * not double-encode), query parameters are encoded then sorted by name
 * and value, header names are lowercased and sorted, values trimmed with
 * inner runs of spaces collapsed. Hashes come from OpenSSL. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigv4.h"

static const char hexdig[] = "0123456789abcdef";

static void to_hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[p[i] >> 4];
        out[2 * i + 1] = hexdig[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void sl_sigv4_sha256_hex(const void *data, size_t n, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL);
    to_hex(md, 32, hex);
}

static void hmac(const void *key, size_t klen, const void *data, size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)klen, data, n, out, &len);
}

int sl_sigv4_signing_key(const char *secret, const char *date8, const char *region,
                         const char *service, unsigned char key[32])
{
    size_t slen = strlen(secret);
    char *k0 = malloc(slen + 5);
    if (!k0) {
        return SL_ENOMEM;
    }
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, slen + 1);
    unsigned char a[32], b[32];
    hmac(k0, slen + 4, date8, strlen(date8), a);
    /* The secret must not linger in freed memory. */
    OPENSSL_cleanse(k0, slen + 4);
    free(k0);
    hmac(a, 32, region, strlen(region), b);
    hmac(b, 32, service, strlen(service), a);
    hmac(a, 32, "aws4_request", 12, key);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
    return 0;
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

int sl_sigv4_uri_encode(sl_buf_t *out, const char *s, size_t n, bool keep_slash)
{
    int rc = sl_buf_reserve(out, n * 3 + 1);
    if (rc) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            out->data[out->len++] = (char)c;
        } else {
            out->data[out->len++] = '%';
            out->data[out->len++] = "0123456789ABCDEF"[c >> 4];
            out->data[out->len++] = "0123456789ABCDEF"[c & 15];
        }
    }
    out->data[out->len] = '\0';
    return 0;
}

void sl_sigv4_amz_date(int64_t us, char out[17])
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* ---- canonical query ---- */

typedef struct {
    char *name; /* encoded */
    char *value;
} enc_pair_t;

static int cmp_pair(const void *a, const void *b)
{
    const enc_pair_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s, bool keep_slash)
{
    sl_buf_t b = SL_BUF_INIT;
    if (!s) {
        s = "";
    }
    if (sl_sigv4_uri_encode(&b, s, strlen(s), keep_slash) != 0) {
        sl_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static int canonical_query(const sl_sigv4_input_t *in, sl_buf_t *out)
{
    if (in->nquery == 0) {
        return sl_buf_append(out, "", 0);
    }
    enc_pair_t *p = calloc(in->nquery, sizeof *p);
    if (!p) {
        return SL_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < in->nquery && rc == 0; i++) {
        p[i].name = encode_dup(in->query[i].name, false);
        p[i].value = encode_dup(in->query[i].value, false);
        if (!p[i].name || !p[i].value) {
            rc = SL_ENOMEM;
        }
    }
    if (rc == 0) {
        qsort(p, in->nquery, sizeof *p, cmp_pair);
        for (size_t i = 0; i < in->nquery && rc == 0; i++) {
            rc = sl_buf_printf(out, "%s%s=%s", i ? "&" : "", p[i].name, p[i].value);
        }
    }
    for (size_t i = 0; i < in->nquery; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
    return rc;
}

/* ---- canonical headers ---- */

typedef struct {
    char *name;  /* lowercased */
    char *value; /* trimmed, spaces collapsed */
} hdr_t;

static int cmp_hdr(const void *a, const void *b)
{
    return strcmp(((const hdr_t *)a)->name, ((const hdr_t *)b)->name);
}

static bool token_char(unsigned char c)
{
    return c > 32 && c < 127 && !strchr("()<>@,;:\\\"/[]?={}", c);
}

static char *lower_dup(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (!d) {
        return NULL;
    }
    for (size_t i = 0; i <= n; i++) {
        d[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
    }
    return d;
}

static char *trim_dup(const char *s)
{
    if (!s) {
        s = "";
    }
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (!d) {
        return NULL;
    }
    size_t w = 0;
    bool space = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t') {
            space = w > 0;
            continue;
        }
        if (space) {
            d[w++] = ' ';
            space = false;
        }
        d[w++] = c;
    }
    d[w] = '\0';
    return d;
}

static int add_hdr(hdr_t *h, size_t *n, const char *name, const char *value)
{
    if (!name || !*name) {
        return SL_EINVAL;
    }
    for (const char *p = name; *p; p++) {
        if (!token_char((unsigned char)*p)) {
            return SL_EINVAL;
        }
    }
    h[*n].name = lower_dup(name);
    h[*n].value = trim_dup(value);
    (*n)++;
    return h[*n - 1].name && h[*n - 1].value ? 0 : SL_ENOMEM;
}

static int canonical_headers(const sl_sigv4_input_t *in, sl_buf_t *canon, sl_buf_t *signed_names)
{
    size_t cap = in->nheaders + 4, n = 0;
    hdr_t *h = calloc(cap, sizeof *h);
    if (!h) {
        return SL_ENOMEM;
    }
    int rc = add_hdr(h, &n, "host", in->host);
    if (!rc) {
        rc = add_hdr(h, &n, "x-amz-date", in->amz_date);
    }
    if (!rc && in->sign_content_sha256) {
        rc = add_hdr(h, &n, "x-amz-content-sha256", in->payload_hash);
    }
    if (!rc && in->session_token && *in->session_token) {
        rc = add_hdr(h, &n, "x-amz-security-token", in->session_token);
    }
    size_t fixed = n;
    for (size_t i = 0; i < in->nheaders && !rc; i++) {
        rc = add_hdr(h, &n, in->headers[i].name, in->headers[i].value);
        /* The headers the signer adds itself cannot be given twice. */
        for (size_t j = 0; j < fixed && !rc; j++) {
            if (strcmp(h[n - 1].name, h[j].name) == 0) {
                rc = SL_EINVAL;
            }
        }
    }
    if (!rc) {
        qsort(h, n, sizeof *h, cmp_hdr);
        for (size_t i = 0; i < n && !rc; i++) {
            bool dup_next = i + 1 < n && strcmp(h[i].name, h[i + 1].name) == 0;
            bool dup_prev = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;
            /* Repeated names: one line, values joined by commas. */
            if (!dup_prev) {
                rc = sl_buf_printf(canon, "%s:%s", h[i].name, h[i].value);
                if (!rc) {
                    rc = sl_buf_printf(signed_names, "%s%s", signed_names->len ? ";" : "",
                                       h[i].name);
                }
            } else {
                rc = sl_buf_printf(canon, ",%s", h[i].value);
            }
            if (!rc && !dup_next) {
                rc = sl_buf_putc(canon, '\n');
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
    return rc;
}

void sl_sigv4_output_free(sl_sigv4_output_t *out)
{
    sl_buf_free(&out->canonical_request);
    sl_buf_free(&out->string_to_sign);
    sl_buf_free(&out->signed_headers);
    sl_buf_free(&out->authorization);
    sl_buf_free(&out->encoded_path);
    sl_buf_free(&out->query_string);
    memset(out->signature, 0, sizeof out->signature);
}

int sl_sigv4_sign(const sl_sigv4_input_t *in, sl_sigv4_output_t *out)
{
    if (!in->method || !in->host || !in->path || !in->payload_hash || !in->amz_date ||
        strlen(in->amz_date) != 16 || !in->region || !in->service || !in->access_key ||
        !in->secret_key) {
        return SL_EINVAL;
    }
    sl_buf_t canon_hdrs = SL_BUF_INIT;
    const char *path = *in->path ? in->path : "/";
    int rc = sl_sigv4_uri_encode(&out->encoded_path, path, strlen(path), true);
    if (!rc) {
        rc = canonical_query(in, &out->query_string);
    }
    if (!rc) {
        rc = canonical_headers(in, &canon_hdrs, &out->signed_headers);
    }
    if (!rc) {
        rc = sl_buf_printf(&out->canonical_request, "%s\n%s\n%s\n%s\n%s\n%s", in->method,
                           out->encoded_path.data, out->query_string.data, canon_hdrs.data,
                           out->signed_headers.data, in->payload_hash);
    }
    sl_buf_free(&canon_hdrs);
    if (rc) {
        return rc;
    }
    char date8[9];
    memcpy(date8, in->amz_date, 8);
    date8[8] = '\0';
    char creq_hash[65];
    sl_sigv4_sha256_hex(out->canonical_request.data, out->canonical_request.len, creq_hash);
    rc = sl_buf_printf(&out->string_to_sign, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
                       in->amz_date, date8, in->region, in->service, creq_hash);
    if (rc) {
        return rc;
    }
    unsigned char key[32], sig[32];
    rc = sl_sigv4_signing_key(in->secret_key, date8, in->region, in->service, key);
    if (rc) {
        return rc;
    }
    hmac(key, 32, out->string_to_sign.data, out->string_to_sign.len, sig);
    OPENSSL_cleanse(key, sizeof key);
    to_hex(sig, 32, out->signature);
    return sl_buf_printf(&out->authorization,
                         "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request,"
                         "SignedHeaders=%s,Signature=%s",
                         in->access_key, date8, in->region, in->service,
                         out->signed_headers.data, out->signature);
}
