/* What the `http` source reads from text a server controls, and the small
 * pure helpers around it: the Link header, the records path,
 * URL editing and redaction, the token bucket and cursor ordering. Kept
 * apart from the I/O in http.c so that tests and the fuzz target call them
 * directly. See http_internal.h for the contracts. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"
#include "sluice/fsutil.h"
#include "sluice/timeutil.h"

/* ---- Link header (RFC 8288) ---- */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Does the space-separated relation list [v, v+n) contain rel? */
static bool rel_has(const char *v, size_t n, const char *rel)
{
    size_t rl = strlen(rel);
    size_t i = 0;
    while (i < n) {
        while (i < n && is_ws(v[i])) {
            i++;
        }
        size_t s = i;
        while (i < n && !is_ws(v[i])) {
            i++;
        }
        if (i - s == rl && strncasecmp(v + s, rel, rl) == 0) {
            return true;
        }
    }
    return false;
}

int sl_http_link_find(const char *value, size_t n, const char *rel, sl_buf_t *out)
{
    size_t i = 0;
    for (;;) {
        while (i < n && (is_ws(value[i]) || value[i] == ',')) {
            i++;
        }
        if (i >= n) {
            return SL_ENOTFOUND;
        }
        if (value[i] != '<') {
            return SL_EPARSE;
        }
        size_t us = ++i;
        while (i < n && value[i] != '>') {
            i++;
        }
        if (i >= n) {
            return SL_EPARSE;
        }
        size_t ue = i++;
        bool match = false;
        /* link-params: *( OWS ";" OWS link-param ) */
        for (;;) {
            while (i < n && is_ws(value[i])) {
                i++;
            }
            if (i >= n || value[i] != ';') {
                break;
            }
            i++;
            while (i < n && is_ws(value[i])) {
                i++;
            }
            size_t ns = i;
            while (i < n && value[i] != '=' && value[i] != ';' && value[i] != ',' &&
                   !is_ws(value[i])) {
                i++;
            }
            size_t ne = i;
            while (i < n && is_ws(value[i])) {
                i++;
            }
            const char *pv = NULL;
            size_t pn = 0;
            char unq[512];
            if (i < n && value[i] == '=') {
                i++;
                while (i < n && is_ws(value[i])) {
                    i++;
                }
                if (i < n && value[i] == '"') {
                    /* quoted-string with backslash escapes */
                    i++;
                    while (i < n && value[i] != '"') {
                        if (value[i] == '\\' && i + 1 < n) {
                            i++;
                        }
                        if (pn < sizeof unq) {
                            unq[pn++] = value[i];
                        }
                        i++;
                    }
                    if (i >= n) {
                        return SL_EPARSE;
                    }
                    i++;
                    pv = unq;
                } else {
                    size_t vs = i;
                    while (i < n && value[i] != ';' && value[i] != ',' && !is_ws(value[i])) {
                        i++;
                    }
                    pv = value + vs;
                    pn = i - vs;
                }
            }
            if (ne - ns == 3 && strncasecmp(value + ns, "rel", 3) == 0 && pv &&
                rel_has(pv, pn, rel)) {
                match = true;
            }
        }
        if (i < n && value[i] != ',') {
            return SL_EPARSE;
        }
        if (match) {
            /* Trim spaces inside <...> (some servers pad them). */
            while (us < ue && is_ws(value[us])) {
                us++;
            }
            while (ue > us && is_ws(value[ue - 1])) {
                ue--;
            }
            return sl_buf_append(out, value + us, ue - us);
        }
    }
}

/* ---- records path ---- */

static void list_keys(const sl_value_t *obj, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < obj->len && used + 4 < cap; i++) {
        const sl_member_t *m = &obj->u.members[i];
        if (i == 5) {
            snprintf(out + used, cap - used, ", ...");
            return;
        }
        int w = snprintf(out + used, cap - used, "%s%.*s", i ? ", " : "", (int)SL_MIN(m->klen, 40u),
                         m->key);
        if (w < 0) {
            return;
        }
        used += (size_t)w;
        if (used >= cap) {
            out[cap - 1] = '\0';
            return;
        }
    }
}

int sl_http_records(const sl_value_t *body, const char *path, const sl_value_t **out, char *why,
                    size_t whycap)
{
    const sl_value_t *cur = body;
    size_t plen = path ? strlen(path) : 0;
    size_t i = 0;
    while (i < plen) {
        size_t s = i;
        while (i < plen && path[i] != '.') {
            i++;
        }
        const char *seg = path + s;
        size_t sn = i - s;
        if (i < plen) {
            i++; /* the dot */
        }
        const sl_value_t *next = NULL;
        if (cur->type == SL_T_OBJECT) {
            next = sl_object_get(cur, seg, sn);
            if (!next) {
                char keys[120];
                list_keys(cur, keys, sizeof keys);
                snprintf(why, whycap, "no member '%.*s' at '%.*s' (its keys: %s)",
                         (int)SL_MIN(sn, 60u), seg, (int)SL_MIN(s ? s - 1 : 0, 60u), path,
                         keys[0] ? keys : "none");
                if (s == 0) {
                    snprintf(why, whycap, "no member '%.*s' in the response (its keys: %s)",
                             (int)SL_MIN(sn, 60u), seg, keys[0] ? keys : "none");
                }
                return SL_ENOTFOUND;
            }
        } else if (cur->type == SL_T_ARRAY && sl_all_digits(seg, sn) && sn < 10) {
            unsigned long k = strtoul(seg, NULL, 10);
            if (k >= cur->len) {
                snprintf(why, whycap, "index %lu is past the end of an array of %u", k,
                         (unsigned)cur->len);
                return SL_ENOTFOUND;
            }
            next = &cur->u.items[k];
        } else {
            snprintf(why, whycap, "'%.*s' is %s, not an object", (int)SL_MIN(s ? s - 1 : 0, 60u),
                     path, sl_type_name((sl_type_t)cur->type));
            if (s == 0) {
                snprintf(why, whycap, "the response is %s, not an object",
                         sl_type_name((sl_type_t)cur->type));
            }
            return SL_ENOTFOUND;
        }
        cur = next;
    }
    if (cur->type != SL_T_ARRAY) {
        if (plen == 0 && cur->type == SL_T_OBJECT) {
            char keys[120];
            list_keys(cur, keys, sizeof keys);
            snprintf(why, whycap,
                     "the response is an object, not an array; set records: to the path of "
                     "its array of records (its keys: %s)",
                     keys[0] ? keys : "none");
        } else if (plen == 0) {
            snprintf(why, whycap, "the response is %s, not an array",
                     sl_type_name((sl_type_t)cur->type));
        } else {
            snprintf(why, whycap, "'%.*s' is %s, not an array", (int)SL_MIN(plen, 80u), path,
                     sl_type_name((sl_type_t)cur->type));
        }
        return SL_ETYPE;
    }
    *out = cur;
    return 0;
}

/* ---- URLs ---- */

int sl_http_url_encode(sl_buf_t *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int rc;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            rc = sl_buf_putc(out, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = sl_buf_append(out, e, 3);
        }
        if (rc) {
            return rc;
        }
    }
    return 0;
}

/* Splits url into [0,q) before the query, the query [q+1, f) when url[q]
 * is '?', and the fragment from f. */
static void url_split(const char *url, size_t *q, size_t *f)
{
    size_t n = strlen(url);
    const char *hash = strchr(url, '#');
    *f = hash ? (size_t)(hash - url) : n;
    const char *qm = memchr(url, '?', *f);
    *q = qm ? (size_t)(qm - url) : *f;
}

int sl_http_url_set(sl_buf_t *out, const char *url, const char *name, const char *value)
{
    size_t q, f;
    url_split(url, &q, &f);
    size_t nl = strlen(name);
    int rc = sl_buf_append(out, url, q);
    bool first = true, done = value == NULL;
    size_t i = q < f ? q + 1 : f;
    while (rc == 0 && i < f) {
        size_t s = i;
        while (i < f && url[i] != '&') {
            i++;
        }
        const char *part = url + s;
        size_t pn = i - s;
        if (i < f) {
            i++;
        }
        if (pn == 0) {
            continue;
        }
        bool same = pn >= nl && strncmp(part, name, nl) == 0 && (pn == nl || part[nl] == '=');
        if (same && done) {
            continue; /* removed, or a repeat of one already replaced */
        }
        rc = sl_buf_putc(out, first ? '?' : '&');
        first = false;
        if (rc == 0 && same) {
            rc = sl_buf_append(out, name, nl);
            if (rc == 0) {
                rc = sl_buf_putc(out, '=');
            }
            if (rc == 0) {
                rc = sl_http_url_encode(out, value, strlen(value));
            }
            done = true;
        } else if (rc == 0) {
            rc = sl_buf_append(out, part, pn);
        }
    }
    if (rc == 0 && !done) {
        rc = sl_buf_putc(out, first ? '?' : '&');
        if (rc == 0) {
            rc = sl_buf_append(out, name, nl);
        }
        if (rc == 0) {
            rc = sl_buf_putc(out, '=');
        }
        if (rc == 0) {
            rc = sl_http_url_encode(out, value, strlen(value));
        }
    }
    if (rc == 0 && f < strlen(url)) {
        rc = sl_buf_append_c(out, url + f);
    }
    if (rc == 0 && !out->data) {
        rc = sl_buf_append(out, "", 0);
    }
    return rc;
}

/* Length of "scheme://authority" at the start of url, or 0 when url has no
 * scheme. */
static size_t origin_len(const char *url)
{
    const char *p = url;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.') {
        p++;
    }
    if (p == url || strncmp(p, "://", 3) != 0) {
        return 0;
    }
    p += 3;
    return (size_t)(p - url) + strcspn(p, "/?#");
}

int sl_http_url_resolve(sl_buf_t *out, const char *base, const char *ref)
{
    if (origin_len(ref) > 0) {
        return sl_buf_append_c(out, ref);
    }
    size_t ol = origin_len(base);
    if (ref[0] == '/' && ref[1] == '/') {
        const char *colon = strchr(base, ':');
        size_t sl = colon && (size_t)(colon - base) < ol ? (size_t)(colon - base) + 1 : 0;
        int rc = sl_buf_append(out, base, sl);
        return rc ? rc : sl_buf_append_c(out, ref);
    }
    if (ref[0] == '/') {
        int rc = sl_buf_append(out, base, ol);
        return rc ? rc : sl_buf_append_c(out, ref);
    }
    size_t q, f;
    url_split(base, &q, &f);
    if (ref[0] == '?') {
        int rc = sl_buf_append(out, base, q);
        return rc ? rc : sl_buf_append_c(out, ref);
    }
    if (ref[0] == '#' || ref[0] == '\0') {
        int rc = sl_buf_append(out, base, f);
        return rc ? rc : sl_buf_append_c(out, ref);
    }
    /* A relative path: replace the base path's last segment. */
    size_t dir = q;
    while (dir > ol && base[dir - 1] != '/') {
        dir--;
    }
    int rc = sl_buf_append(out, base, dir);
    if (rc == 0 && dir == ol) {
        rc = sl_buf_putc(out, '/');
    }
    return rc ? rc : sl_buf_append_c(out, ref);
}

static bool sensitive_name(const char *name, size_t n, const char *extra)
{
    static const char *const names[] = {"api_key",
                                        "apikey",
                                        "api-key",
                                        "key",
                                        "token",
                                        "access_token",
                                        "refresh_token",
                                        "id_token",
                                        "auth",
                                        "authorization",
                                        "secret",
                                        "client_secret",
                                        "password",
                                        "passwd",
                                        "pwd",
                                        "signature",
                                        "sig",
                                        "x-api-key",
                                        "x-amz-signature",
                                        "x-amz-security-token",
                                        "session_token",
                                        "code"};
    if (extra && strlen(extra) == n && strncasecmp(name, extra, n) == 0) {
        return true;
    }
    for (size_t i = 0; i < SL_ARRAY_LEN(names); i++) {
        if (strlen(names[i]) == n && strncasecmp(name, names[i], n) == 0) {
            return true;
        }
    }
    return false;
}

int sl_http_url_redact(sl_buf_t *out, const char *url, const char *extra)
{
    size_t ol = origin_len(url);
    int rc = 0;
    size_t start = 0;
    if (ol > 0) {
        /* user:password@host: keep the user, mask the password */
        sl_url_parts_t u;
        sl_url_split(url, &u);
        const char *colon = u.userinfo ? memchr(u.userinfo, ':', u.userinfo_len) : NULL;
        if (colon) {
            rc = sl_buf_append(out, url, (size_t)(colon - url));
            if (rc == 0) {
                rc = sl_buf_append_c(out, ":***");
            }
            start = (size_t)(u.userinfo + u.userinfo_len - url);
        }
    }
    size_t q, f;
    url_split(url, &q, &f);
    if (rc == 0) {
        rc = sl_buf_append(out, url + start, q - start);
    }
    size_t i = q < f ? q + 1 : f;
    bool first = true;
    while (rc == 0 && i < f) {
        size_t s = i;
        while (i < f && url[i] != '&') {
            i++;
        }
        const char *part = url + s;
        size_t pn = i - s;
        if (i < f) {
            i++;
        }
        const char *eq = memchr(part, '=', pn);
        rc = sl_buf_putc(out, first ? '?' : '&');
        first = false;
        if (rc == 0 && eq && sensitive_name(part, (size_t)(eq - part), extra)) {
            rc = sl_buf_append(out, part, (size_t)(eq - part) + 1);
            if (rc == 0) {
                rc = sl_buf_append_c(out, "***");
            }
        } else if (rc == 0) {
            rc = sl_buf_append(out, part, pn);
        }
    }
    if (rc == 0 && q < f && first) {
        rc = sl_buf_putc(out, '?');
    }
    if (rc == 0 && url[f]) {
        rc = sl_buf_append_c(out, url + f);
    }
    if (rc == 0 && !out->data) {
        rc = sl_buf_append(out, "", 0);
    }
    return rc;
}

/* ---- token bucket ---- */

void sl_http_bucket_init(sl_http_bucket_t *b, double rate, double burst)
{
    memset(b, 0, sizeof *b);
    b->rate = rate;
    b->burst = burst >= 1 ? burst : 1;
    b->tokens = b->burst;
}

int64_t sl_http_bucket_take(sl_http_bucket_t *b, int64_t now_us)
{
    if (b->rate <= 0) {
        return 0;
    }
    if (b->started && now_us > b->last_us) {
        b->tokens += (double)(now_us - b->last_us) * b->rate / 1e6;
        if (b->tokens > b->burst) {
            b->tokens = b->burst;
        }
    }
    if (!b->started || now_us > b->last_us) {
        b->last_us = now_us;
    }
    b->started = true;
    b->tokens -= 1;
    if (b->tokens >= 0) {
        return 0;
    }
    /* Round up so the caller never wakes a hair too early. */
    double wait = -b->tokens / b->rate * 1e6;
    int64_t w = (int64_t)wait;
    return (double)w < wait ? w + 1 : w;
}

/* ---- cursor ordering ---- */

typedef enum { K_NULL, K_NUM, K_TS, K_TEXT } key_kind_t;

typedef struct {
    key_kind_t kind;
    bool is_int;
    int64_t i;
    double d;
    const char *s;
    size_t n;
} ckey_t;

static bool number_text(const char *s, size_t n, ckey_t *k)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp) {
        return false;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    long long ll = strtoll(tmp, &end, 10);
    if (*end == '\0' && isdigit((unsigned char)tmp[n - 1])) {
        k->is_int = true;
        k->i = ll;
        k->d = (double)ll;
        return true;
    }
    double d = strtod(tmp, &end);
    if (*end == '\0' && isdigit((unsigned char)tmp[n - 1])) {
        k->is_int = false;
        k->d = d;
        return true;
    }
    return false;
}

static ckey_t key_of(const sl_value_t *v)
{
    ckey_t k = {0};
    switch (v ? v->type : SL_T_NULL) {
    case SL_T_INT:
        k.kind = K_NUM;
        k.is_int = true;
        k.i = v->u.i;
        k.d = (double)v->u.i;
        break;
    case SL_T_DOUBLE:
    case SL_T_BIGNUM:
        k.kind = K_NUM;
        sl_value_get_double(v, &k.d);
        break;
    case SL_T_TIMESTAMP:
        k.kind = K_TS;
        k.i = v->u.i;
        break;
    case SL_T_DATE:
        k.kind = K_TS;
        k.i = v->u.i * 86400 * 1000000;
        break;
    case SL_T_STRING: {
        int64_t us;
        k.s = v->u.s;
        k.n = v->len;
        if (sl_timestamp_parse(v->u.s, v->len, &us) == 0) {
            k.kind = K_TS;
            k.i = us;
        } else {
            k.kind = K_TEXT;
        }
        break;
    }
    case SL_T_BOOL:
        k.kind = K_NUM;
        k.is_int = true;
        k.i = v->u.i;
        k.d = (double)v->u.i;
        break;
    default:
        k.kind = K_NULL;
        break;
    }
    return k;
}

static int cmp_num(const ckey_t *a, const ckey_t *b)
{
    if (a->is_int && b->is_int) {
        return a->i < b->i ? -1 : a->i > b->i;
    }
    return a->d < b->d ? -1 : a->d > b->d;
}

static int cmp_text(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, SL_MIN(an, bn));
    if (c) {
        return c < 0 ? -1 : 1;
    }
    return an < bn ? -1 : an > bn;
}

int sl_http_cursor_cmp(const sl_value_t *a, const sl_value_t *b)
{
    ckey_t ka = key_of(a), kb = key_of(b);
    if (ka.kind == K_NULL || kb.kind == K_NULL) {
        return (ka.kind != K_NULL) - (kb.kind != K_NULL);
    }
    if (ka.kind == K_TS && kb.kind == K_TS) {
        return ka.i < kb.i ? -1 : ka.i > kb.i;
    }
    if (ka.kind == K_NUM && kb.kind == K_NUM) {
        return cmp_num(&ka, &kb);
    }
    if (ka.kind == K_NUM || kb.kind == K_NUM) {
        /* A number against a string: numerically when the string is one. */
        ckey_t *str = ka.kind == K_NUM ? &kb : &ka;
        ckey_t num = {0};
        if (str->s && number_text(str->s, str->n, &num)) {
            return ka.kind == K_NUM ? cmp_num(&ka, &num) : cmp_num(&num, &kb);
        }
        return ka.kind == K_NUM ? -1 : 1;
    }
    /* Strings, at most one of them a timestamp: byte order. */
    if (ka.s && kb.s) {
        return cmp_text(ka.s, ka.n, kb.s, kb.n);
    }
    return ka.kind == K_TS ? -1 : 1;
}
