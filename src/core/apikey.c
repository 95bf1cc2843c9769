/* API keys: generation, hashing, parsing and constant-time verification,
 * names and scopes (see include/sluice/apikey.h). */
#include <fnmatch.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/apikey.h"
#include "sluice/buf.h"

static const char B32[] = "abcdefghijklmnopqrstuvwxyz234567";

/* Where the '_' between id and secret is. */
#define SEP_AT (4 + SL_APIKEY_ID_LEN)

/* Longest route glob, and most scopes a key may hold. */
#define GLOB_MAX 200
#define SCOPES_MAX 64

int sl_apikey_generate(sl_apikey_new_t *out, sl_err_t *err)
{
    /* One byte per character: 256 is a multiple of 32, so the low five
     * bits are uniform. */
    unsigned char r[SL_APIKEY_ID_LEN + SL_APIKEY_SECRET_LEN];
    if (RAND_bytes(r, (int)sizeof r) != 1) {
        OPENSSL_cleanse(r, sizeof r);
        sl_apikey_wipe(out);
        return sl_err_set(err, SL_EIO, "cannot make an API key: the system's random source failed");
    }
    char *p = out->key;
    memcpy(p, SL_APIKEY_PREFIX, 4);
    p += 4;
    for (size_t i = 0; i < SL_APIKEY_ID_LEN; i++) {
        *p++ = B32[r[i] & 31];
    }
    *p++ = '_';
    for (size_t i = 0; i < SL_APIKEY_SECRET_LEN; i++) {
        *p++ = B32[r[SL_APIKEY_ID_LEN + i] & 31];
    }
    *p = '\0';
    OPENSSL_cleanse(r, sizeof r);
    memcpy(out->id, out->key + 4, SL_APIKEY_ID_LEN);
    out->id[SL_APIKEY_ID_LEN] = '\0';
    sl_apikey_hash(out->key, SL_APIKEY_LEN, out->hash);
    return 0;
}

void sl_apikey_wipe(sl_apikey_new_t *k)
{
    OPENSSL_cleanse(k, sizeof *k);
}

void sl_apikey_hash(const char *text, size_t n, char hex[SL_APIKEY_HASH_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(text, n, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[SL_APIKEY_HASH_LEN] = '\0';
}

/* 1 when c is a base32 character, else 0, without a branch on c. */
static unsigned is_b32(unsigned char c)
{
    unsigned lower = (unsigned)(c - 'a') <= 'z' - 'a';
    unsigned digit = (unsigned)(c - '2') <= '7' - '2';
    return lower | digit;
}

int sl_apikey_parse(const char *text, size_t n, char id[SL_APIKEY_ID_LEN + 1], sl_err_t *err)
{
    id[0] = '\0';
    /* The length is public (every key has the same), so it may end the
     * check early; past it, every character is looked at. */
    unsigned bad = !text || n != SL_APIKEY_LEN;
    if (!bad) {
        for (size_t i = 0; i < SL_APIKEY_LEN; i++) {
            unsigned char c = (unsigned char)text[i];
            if (i < 4) {
                bad |= c != (unsigned char)SL_APIKEY_PREFIX[i];
            } else if (i == SEP_AT) {
                bad |= c != '_';
            } else {
                bad |= !is_b32(c);
            }
        }
    }
    if (bad) {
        return sl_err_set(err, SL_EINVAL,
                          "not a sluice API key (slk_, 12 characters, _, 32 characters; "
                          "lowercase a-z and 2-7)");
    }
    memcpy(id, text + 4, SL_APIKEY_ID_LEN);
    id[SL_APIKEY_ID_LEN] = '\0';
    return 0;
}

bool sl_apikey_verify(const char *text, size_t n, const char *stored_hash)
{
    /* A hash no SHA-256 hex string equals (it is not hex), for unknown ids. */
    static const char dummy[SL_APIKEY_HASH_LEN + 1] =
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz";
    bool known = stored_hash && strnlen(stored_hash, SL_APIKEY_HASH_LEN + 1) == SL_APIKEY_HASH_LEN;
    const char *want = known ? stored_hash : dummy;
    char got[SL_APIKEY_HASH_LEN + 1];
    sl_apikey_hash(text ? text : "", text ? n : 0, got);
    bool same = CRYPTO_memcmp(got, want, SL_APIKEY_HASH_LEN) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return same && known;
}

int sl_apikey_check_name(const char *name, sl_err_t *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0) {
        return sl_err_set(err, SL_EINVAL, "an API key needs a name");
    }
    bool ok = n <= SL_APIKEY_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        ok = alnum || (i > 0 && (c == '.' || c == '_' || c == '-'));
    }
    if (!ok) {
        return sl_err_set(err, SL_EINVAL,
                          "API key name '%.80s%s' is not valid: 1 to %d letters, digits, '.', '_' "
                          "or '-', starting with a letter or digit",
                          name, n > 80 ? "..." : "", SL_APIKEY_NAME_MAX);
    }
    return 0;
}

/* The level a scope word stands for (read 1, write 2, admin 3), or 0. */
static int level_of(const char *s, size_t n)
{
    if (n == 4 && memcmp(s, "read", 4) == 0) {
        return 1;
    }
    if (n == 5 && memcmp(s, "write", 5) == 0) {
        return 2;
    }
    if (n == 5 && memcmp(s, "admin", 5) == 0) {
        return 3;
    }
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The next scope of *p (skipping spaces): its start and length, or false
 * at the end. */
static bool next_scope(const char **p, const char **s, size_t *n)
{
    const char *c = *p;
    while (*c && is_space(*c)) {
        c++;
    }
    if (!*c) {
        return false;
    }
    *s = c;
    while (*c && !is_space(*c)) {
        c++;
    }
    *n = (size_t)(c - *s);
    *p = c;
    return true;
}

/* 0 when s[0..n) is a scope this version knows, else SL_EINVAL with a
 * message. */
static int check_scope(const char *s, size_t n, sl_err_t *err)
{
    if (level_of(s, n)) {
        return 0;
    }
    int shown = n > 80 ? 80 : (int)n;
    const char *more = n > 80 ? "..." : "";
    if (n >= 6 && memcmp(s, "route:", 6) == 0) {
        const char *g = s + 6;
        size_t gn = n - 6;
        bool printable = true;
        for (size_t i = 0; i < gn; i++) {
            printable = printable && g[i] > ' ' && g[i] < 0x7f;
        }
        if (gn == 0 || gn > GLOB_MAX || !printable || (g[0] != '/' && g[0] != '*')) {
            return sl_err_set(err, SL_EINVAL,
                              "scope '%.*s%s': a route scope is route: and a path glob starting "
                              "with / or * (at most %d printable characters), e.g. route:* or "
                              "route:/fetch*",
                              shown, s, more, GLOB_MAX);
        }
        return 0;
    }
    return sl_err_set(err, SL_EINVAL,
                      "unknown scope '%.*s%s' (scopes: read, write, admin, route:GLOB such as "
                      "route:* or route:/fetch*)",
                      shown, s, more);
}

int sl_apikey_scopes(const char *const *scopes, size_t n, char **out, sl_err_t *err)
{
    *out = NULL;
    sl_buf_t b = SL_BUF_INIT;
    size_t count = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const char *p = scopes[i] ? scopes[i] : "";
        const char *s;
        size_t len;
        while (!rc && next_scope(&p, &s, &len)) {
            rc = check_scope(s, len, err);
            if (rc) {
                break;
            }
            /* Skip a repeat: b holds whole scopes between single spaces. */
            bool seen = false;
            const char *q = b.data ? b.data : "";
            const char *t;
            size_t tn;
            while (!seen && next_scope(&q, &t, &tn)) {
                seen = tn == len && memcmp(t, s, len) == 0;
            }
            if (seen) {
                continue;
            }
            if (++count > SCOPES_MAX) {
                rc = sl_err_set(err, SL_EINVAL, "an API key holds at most %d scopes", SCOPES_MAX);
            } else if ((b.len && sl_buf_putc(&b, ' ') != 0) || sl_buf_append(&b, s, len) != 0) {
                rc = sl_err_set(err, SL_ENOMEM, "out of memory");
            }
        }
    }
    if (!rc && b.len == 0) {
        rc = sl_err_set(err, SL_EINVAL,
                        "an API key needs at least one scope (read, write, admin, route:GLOB)");
    }
    if (rc) {
        sl_buf_free(&b);
        return rc;
    }
    *out = b.data;
    return 0;
}

bool sl_apikey_allows(const char *scopes, const char *need)
{
    if (!scopes || !need) {
        return false;
    }
    int want = level_of(need, strlen(need));
    const char *path = strncmp(need, "route:", 6) == 0 ? need + 6 : NULL;
    if (!want && !path) {
        return false;
    }
    const char *p = scopes;
    const char *s;
    size_t n;
    while (next_scope(&p, &s, &n)) {
        if (want) {
            if (level_of(s, n) >= want) {
                return true;
            }
        } else if (n > 6 && n - 6 <= GLOB_MAX && memcmp(s, "route:", 6) == 0) {
            char glob[GLOB_MAX + 1];
            memcpy(glob, s + 6, n - 6);
            glob[n - 6] = '\0';
            if (fnmatch(glob, path, 0) == 0) {
                return true;
            }
        }
    }
    return false;
}
