/* The `http` source: records from REST JSON APIs, page by page.
 *
 * One request per page (GET, or POST with a JSON body), over the libcurl
 * client in src/net/http.c with TLS verified. The records are the array at
 * a dotted path of the response. Pagination follows a cursor from the
 * body, a next link from the body or the Link header, page numbers, or
 * offsets. Transient failures (429, 5xx, timeouts, resets) are retried
 * by the shared retry module (src/core/retry.c: full-jitter backoff, at
 * least a Retry-After); a token bucket spaces
 * requests; a budget (pages, seconds) ends a run cleanly.
 *
 * Incremental loads: the `since` value sent is the high-water mark of the
 * last *completed* run: the largest cursor_field seen over all of its
 * pages, since APIs return records in any order. While a run is under way
 * each batch's checkpoint keeps the old `since`, the running maximum and
 * the position of the next page (and how many records of a page split
 * into several batches were delivered), so a run stopped by its budget or
 * by a failure resumes where it stopped with the same `since`; the last
 * batch of a run carries {"since": <max>, "done": true}.
 *
 * Each page parses into an arena of the source; its records are copied
 * into the batch arena, so a batch stays valid while the next page loads.
 * URLs in messages, origins and logs have credentials masked. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../../net/http.h"
#include "http_internal.h"
#include "sluice/cancel.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/plugin.h"
#include "sluice/retry.h"
#include "sluice/strset.h"
#include "sluice/timeutil.h"

static const char *const methods[] = {"GET", "POST", NULL};
static const char *const auth_types[] = {"api_key", "bearer", "basic", NULL};

static const sl_field_spec_t auth_spec[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .choices = auth_types,
     .doc = "api_key, bearer or basic"},
    {.name = "header", .type = SL_FIELD_STRING, .min_len = 1, .def = "x-api-key",
     .doc = "api_key: header name"},
    {.name = "query", .type = SL_FIELD_STRING, .min_len = 1,
     .doc = "api_key: send as this query parameter instead"},
    {.name = "value", .type = SL_FIELD_STRING, .doc = "api_key: the key (use ${env:NAME})"},
    {.name = "token", .type = SL_FIELD_STRING, .doc = "bearer: the token"},
    {.name = "username", .type = SL_FIELD_STRING, .doc = "basic: user name"},
    {.name = "password", .type = SL_FIELD_STRING, .doc = "basic: password"},
    {.name = NULL},
};

static const sl_field_spec_t paging_spec[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .choices = sl_http_page_types,
     .doc = "cursor, next_link, link_header, page, offset or none"},
    {.name = "cursor_path", .type = SL_FIELD_STRING, .min_len = 1,
     .doc = "cursor: dotted path of the next cursor in the body"},
    {.name = "param", .type = SL_FIELD_STRING, .min_len = 1,
     .doc = "query parameter of the cursor (cursor), page number (page) or offset (offset)",
     .def = "cursor, page or offset"},
    {.name = "path", .type = SL_FIELD_STRING, .min_len = 1,
     .doc = "next_link: dotted path of the next page's URL"},
    {.name = "start", .type = SL_FIELD_INT, .range = SL_AT_LEAST(0),
     .doc = "page: first page number; offset: first offset", .def = "1 (page), 0 (offset)"},
    {.name = "size_param", .type = SL_FIELD_STRING, .min_len = 1,
     .doc = "page: query parameter of the page size"},
    {.name = "size", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1), .def = "100",
     .doc = "page: records per page, sent as size_param"},
    {.name = "limit_param", .type = SL_FIELD_STRING, .min_len = 1, .def = "limit",
     .doc = "offset: query parameter of the limit"},
    {.name = "limit", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1), .def = "100",
     .doc = "offset: records per page"},
    {.name = NULL},
};

static const sl_field_spec_t incr_spec[] = {
    {.name = "param", .type = SL_FIELD_STRING, .min_len = 1,
     .doc = "query parameter that gets the last high-water mark"},
    {.name = "cursor_field", .type = SL_FIELD_STRING, .required = true, .min_len = 1,
     .doc = "record field whose maximum is the high-water mark"},
    {.name = "initial", .type = SL_FIELD_STRING, .doc = "value sent on the first run"},
    {.name = "key", .type = SL_FIELD_STRING, .min_len = 1,
     .doc = "record field naming a record: records at exactly the last mark that the previous "
            "run delivered are not delivered again"},
    {.name = "filter", .type = SL_FIELD_BOOL, .def = "false",
     .doc = "also drop records whose cursor_field is below the mark (APIs that ignore it)"},
    {.name = NULL},
};

static const sl_field_spec_t retry_spec[] = {
    {.name = "max", .type = SL_FIELD_INT, .range = SL_RANGE(0, 100), .def = "5",
     .doc = "retries after the first attempt"},
    {.name = "backoff_ms", .type = SL_FIELD_INT, .range = SL_AT_LEAST(0), .def = "200",
     .doc = "base of the exponential backoff"},
    {.name = "max_backoff_ms", .type = SL_FIELD_INT, .range = SL_AT_LEAST(0), .def = "10000",
     .doc = "longest wait, Retry-After included"},
    {.name = NULL},
};

static const sl_field_spec_t rate_spec[] = {
    {.name = "per_second", .type = SL_FIELD_FLOAT, .required = true, .range = SL_ABOVE(0),
     .doc = "requests per second on average"},
    {.name = "burst", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1),
     .def = "per_second, rounded down", .doc = "requests allowed back to back"},
    {.name = NULL},
};

static const sl_field_spec_t budget_spec[] = {
    {.name = "max_pages", .type = SL_FIELD_INT, .range = SL_AT_LEAST(0), .def = "0 (no limit)",
     .doc = "pages per run"},
    {.name = "max_seconds", .type = SL_FIELD_INT, .range = SL_AT_LEAST(0),
     .def = "0 (no limit)", .doc = "seconds per run"},
    {.name = NULL},
};

static const sl_field_spec_t http_source_config[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .doc = "http"},
    {.name = "url", .type = SL_FIELD_STRING, .required = true, .min_len = 1,
     .doc = "http(s) URL of the first page; templates over params, run, env"},
    {.name = "method", .type = SL_FIELD_STRING, .choices = methods, .def = "GET",
     .doc = "GET or POST"},
    {.name = "headers", .type = SL_FIELD_STRING_MAP, .def = "Accept: application/json",
     .doc = "extra request headers"},
    {.name = "body", .type = SL_FIELD_ANY, .doc = "POST: JSON body (a map, or JSON text)"},
    {.name = "auth", .type = SL_FIELD_MAP, .children = auth_spec,
     .doc = "api_key, bearer or basic credentials"},
    {.name = "records", .type = SL_FIELD_STRING, .def = "the body is the array",
     .doc = "dotted path of the array of records in the body"},
    {.name = "pagination", .type = SL_FIELD_MAP, .children = paging_spec,
     .def = "none (one request)", .doc = "how to reach the next page"},
    {.name = "incremental", .type = SL_FIELD_MAP, .children = incr_spec,
     .doc = "send the last high-water mark (since=...)"},
    {.name = "retry", .type = SL_FIELD_MAP, .children = retry_spec,
     .doc = "retries of 429, 5xx and timeouts"},
    {.name = "rate_limit", .type = SL_FIELD_MAP, .children = rate_spec,
     .doc = "token bucket spacing the requests"},
    {.name = "timeout_ms", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1), .def = "30000",
     .doc = "longest wait to connect or without any byte moving"},
    {.name = "max_response_bytes", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1),
     .def = "67108864 (64 MiB)", .doc = "largest accepted response body"},
    {.name = "budget", .type = SL_FIELD_MAP, .children = budget_spec,
     .doc = "stop cleanly after so many pages or seconds; the next run resumes"},
    {.name = NULL},
};


/* Where a page is: the first page is cursor NULL, url NULL, n = start. */
typedef struct {
    char *cursor; /* PG_CURSOR */
    char *url;    /* PG_NEXT_LINK, PG_LINK_HEADER: without our auth parameter */
    int64_t n;    /* PG_PAGE: page number; PG_OFFSET: offset */
} pos_t;

/* Record keys (as text) delivered at one cursor value, so that the
 * inclusive `since` of the next run does not deliver them twice. Small in
 * practice (records sharing the newest timestamp); capped, past which the
 * boundary is at-least-once again. */
#define MAX_BOUNDARY_KEYS 10000
typedef struct {
    sl_strset_t set;
    bool overflow;
} keyset_t;

static void keys_clear(keyset_t *ks)
{
    sl_strset_free(&ks->set);
    ks->overflow = false;
}

static bool keys_has(const keyset_t *ks, const char *k, size_t n)
{
    return sl_strset_has(&ks->set, k, n);
}

static int keys_add(keyset_t *ks, const char *k, size_t n)
{
    if (ks->set.n >= MAX_BOUNDARY_KEYS && !sl_strset_has(&ks->set, k, n)) {
        ks->overflow = true;
        return 0;
    }
    return sl_strset_add(&ks->set, k, n);
}

/* Loads a JSON array of strings (a checkpoint's "keys"). */
static int keys_load(keyset_t *ks, const sl_value_t *arr)
{
    keys_clear(ks);
    for (uint32_t i = 0; arr && arr->type == SL_T_ARRAY && i < arr->len; i++) {
        const sl_value_t *it = &arr->u.items[i];
        if (it->type == SL_T_STRING) {
            int rc = keys_add(ks, it->u.s, it->len);
            if (rc) {
                return rc;
            }
        }
    }
    return 0;
}

static void keys_write(sl_buf_t *b, const keyset_t *ks)
{
    sl_buf_putc(b, '[');
    for (size_t i = 0; i < ks->set.n; i++) {
        if (i) {
            sl_buf_putc(b, ',');
        }
        sl_json_write_string(b, ks->set.items[i], ks->set.lens[i]);
    }
    sl_buf_putc(b, ']');
}

/* A scalar kept across pages and batches, its text in memory it owns. */
typedef struct {
    sl_value_t v; /* SL_T_NULL when unset */
    char *mem;
} hold_t;

typedef struct {
    sl_step_ctx_t *ctx;
    /* config */
    const char *url, *method;
    const char **headers;
    size_t nheaders;
    const char *body;
    size_t body_len;
    const char *auth_qname, *auth_qvalue; /* api_key sent as a query parameter */
    const char *records;
    pg_t pg;
    const char *cursor_path, *param, *next_path, *size_param, *limit_param;
    int64_t start, size, limit;
    const char *since_param, *cursor_field, *key_field;
    bool incremental, filter;
    sl_retry_policy_t retry; /* from retry.max, backoff_ms, max_backoff_ms */
    sl_http_bucket_t bucket;
    bool rate_on;
    int64_t timeout_ms, max_bytes;
    int64_t max_pages, max_seconds;
    /* run state */
    sl_http_t *http;
    sl_http_resp_t resp;
    sl_buf_t body_buf;
    sl_arena_t *page_arena;
    hold_t since, hwm;
    keyset_t since_keys; /* keys delivered at exactly `since` (previous runs) */
    keyset_t hwm_keys;   /* keys delivered at exactly `hwm` (this run) */
    pos_t cur, next;
    bool has_next;
    bool have_page;
    uint64_t skip; /* records of the first page already delivered (resume) */
    const sl_value_t *items;
    size_t nitems, item;
    bool page_fresh; /* no batch taken from this page yet */
    char *shown;     /* redacted URL of the current page (malloc'd) */
    int64_t started_us;
    uint64_t run_pages, run_records;
    uint64_t rng; /* jitter of the retry delays */
    sl_http_source_stats_t stats;
} http_src_t;

/* ---- small helpers ---- */

static int fail(http_src_t *s, int code, const char *fmt, ...) SL_PRINTF(3, 4);

static int fail(http_src_t *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->ctx->err.msg, sizeof s->ctx->err.msg, fmt, ap);
    va_end(ap);
    sl_log_redact(s->ctx->err.msg);
    return code;
}

static void hold_clear(hold_t *h)
{
    free(h->mem);
    h->mem = NULL;
    h->v = sl_value_null();
}

/* Copies scalar v (text included) into h. */
static int hold_set(hold_t *h, const sl_value_t *v)
{
    bool text = v->type == SL_T_STRING || v->type == SL_T_BIGNUM ||
                (v->type == SL_T_DOUBLE && (v->flags & SL_VF_RAW));
    if (text) {
        char *m = realloc(h->mem, v->len ? v->len : 1);
        if (!m) {
            return SL_ENOMEM;
        }
        memcpy(m, v->u.s, v->len);
        h->mem = m;
        h->v = *v;
        h->v.u.s = m;
    } else {
        h->v = *v;
    }
    return 0;
}

static bool is_scalar(const sl_value_t *v)
{
    return v->type != SL_T_NULL && v->type != SL_T_ARRAY && v->type != SL_T_OBJECT;
}

static void pos_free(pos_t *p)
{
    free(p->cursor);
    free(p->url);
    p->cursor = p->url = NULL;
}

static int pos_copy(pos_t *dst, const pos_t *src)
{
    pos_free(dst);
    dst->n = src->n;
    dst->cursor = src->cursor ? strdup(src->cursor) : NULL;
    dst->url = src->url ? strdup(src->url) : NULL;
    if ((src->cursor && !dst->cursor) || (src->url && !dst->url)) {
        return SL_ENOMEM;
    }
    return 0;
}

/* The step's token: a cancel or timeout ends the source's waits (rate
 * limit, retry backoff). */
static const sl_cancel_t *cancel_token(const http_src_t *s)
{
    return s->ctx->cancel;
}

/* A URL as messages show it: credentials masked. */
static char *shown_url(http_src_t *s, const char *url)
{
    sl_buf_t b = SL_BUF_INIT;
    if (sl_http_url_redact(&b, url, s->auth_qname) != 0) {
        sl_buf_free(&b);
        return NULL;
    }
    sl_log_redact(b.data);
    return b.data;
}

/* The first bytes of an error body on one line, for messages. */
static void excerpt(const sl_buf_t *body, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; body->data && i < body->len && n + 4 < cap; i++) {
        unsigned char c = (unsigned char)body->data[i];
        if (c < 0x20 || c == 0x7f) {
            if (n > 0 && out[n - 1] != ' ') {
                out[n++] = ' ';
            }
            continue;
        }
        out[n++] = (char)c;
    }
    if (body->data && body->len > 0 && n + 4 >= cap) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    while (n > 0 && out[n - 1] == ' ') {
        n--;
    }
    out[n] = '\0';
}

static const char *b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64(sl_arena_t *a, const char *s, size_t n)
{
    char *out = sl_arena_alloc(a, (n + 2) / 3 * 4 + 1);
    if (!out) {
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)(unsigned char)s[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= (uint32_t)(unsigned char)s[i + 2];
        }
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

/* ---- open ---- */

/* Renders a config string (templates over params, run, env) and names the
 * key in errors. */
static int render(sl_step_ctx_t *ctx, const sl_node_t *node, const char *key, const char **out)
{
    sl_err_t terr;
    int rc = sl_render_once(ctx, node->text, out, &terr);
    if (rc == SL_EINVAL) {
        return sl_node_error(&ctx->err, node, "%s: cannot use record (only params, run, env)", key);
    }
    if (rc == SL_ECONFIG) {
        return sl_node_error(&ctx->err, node, "%s: %s", key, terr.msg);
    }
    return rc;
}

/* Reads an optional string key of map m, rendered. */
static int get_str(http_src_t *s, const sl_node_t *m, const char *key, const char *def,
                   const char **out)
{
    const sl_node_t *n = sl_node_get(m, key);
    if (!n || n->is_null) {
        *out = def;
        return 0;
    }
    int rc = render(s->ctx, n, key, out);
    if (rc == 0 && n->secret) {
        sl_log_add_secret(*out, strlen(*out));
    }
    return rc;
}

static int add_header(http_src_t *s, const char *line)
{
    const char **grown = sl_arena_realloc(s->ctx->arena, s->headers, s->nheaders * sizeof *grown,
                                          (s->nheaders + 1) * sizeof *grown);
    if (!grown) {
        return SL_ENOMEM;
    }
    s->headers = grown;
    s->headers[s->nheaders++] = line;
    return 0;
}

static bool has_header(const http_src_t *s, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < s->nheaders; i++) {
        if (strncasecmp(s->headers[i], name, n) == 0 && s->headers[i][n] == ':') {
            return true;
        }
    }
    return false;
}

static int open_headers(http_src_t *s, const sl_node_t *cfg)
{
    sl_step_ctx_t *ctx = s->ctx;
    const sl_node_t *h = sl_node_get(cfg, "headers");
    for (size_t i = 0; h && h->kind == SL_NODE_MAP && i < h->n; i++) {
        const sl_node_t *k = h->pairs[i].key, *v = h->pairs[i].value;
        const char *val;
        int rc = render(ctx, v, k->text, &val);
        if (rc) {
            return rc;
        }
        if (strpbrk(val, "\r\n")) {
            return sl_node_error(&ctx->err, v,
                                 WHAT ": headers: %s: a value cannot hold a line break", k->text);
        }
        if (v->secret) {
            sl_log_add_secret(val, strlen(val));
        }
        const char *line = sl_arena_sprintf(ctx->arena, "%s: %s", k->text, val);
        if (!line || add_header(s, line)) {
            return SL_ENOMEM;
        }
    }
    return 0;
}

static int open_auth(http_src_t *s, const sl_node_t *cfg)
{
    sl_step_ctx_t *ctx = s->ctx;
    const sl_node_t *a = sl_node_get(cfg, "auth");
    if (!a) {
        return 0;
    }
    const char *type = sl_node_get(a, "type")->text;
    const char *header, *query, *value, *token, *user, *pass;
    int rc = get_str(s, a, "header", NULL, &header);
    if (!rc) {
        rc = get_str(s, a, "query", NULL, &query);
    }
    if (!rc) {
        rc = get_str(s, a, "value", NULL, &value);
    }
    if (!rc) {
        rc = get_str(s, a, "token", NULL, &token);
    }
    if (!rc) {
        rc = get_str(s, a, "username", NULL, &user);
    }
    if (!rc) {
        rc = get_str(s, a, "password", NULL, &pass);
    }
    if (rc) {
        return rc;
    }
    const char *line = NULL;
    /* http_check made sure each type has its keys; values rendered from
     * templates are checked here. */
    if (strcmp(type, "api_key") == 0) {
        sl_log_add_secret(value, strlen(value));
        if (query) {
            s->auth_qname = query;
            s->auth_qvalue = value;
            return 0;
        }
        if (strpbrk(header ? header : "", ": \t\r\n") || strpbrk(value, "\r\n")) {
            return sl_node_error(&ctx->err, a,
                                 WHAT ": auth: header name or value not valid in a header");
        }
        line = sl_arena_sprintf(ctx->arena, "%s: %s", header ? header : "x-api-key", value);
    } else if (strcmp(type, "bearer") == 0) {
        if (strpbrk(token, "\r\n")) {
            return sl_node_error(&ctx->err, a, WHAT ": auth: token cannot hold a line break");
        }
        sl_log_add_secret(token, strlen(token));
        line = sl_arena_sprintf(ctx->arena, "Authorization: Bearer %s", token);
    } else {
        sl_log_add_secret(pass, strlen(pass));
        char *up = sl_arena_sprintf(ctx->arena, "%s:%s", user, pass);
        char *enc = up ? base64(ctx->arena, up, strlen(up)) : NULL;
        if (!enc) {
            return SL_ENOMEM;
        }
        sl_log_add_secret(enc, strlen(enc));
        line = sl_arena_sprintf(ctx->arena, "Authorization: Basic %s", enc);
    }
    if (!line) {
        return SL_ENOMEM;
    }
    return add_header(s, line);
}

/* Writes a YAML node as JSON: unquoted scalars that read as numbers,
 * booleans or null keep that type; strings are rendered templates. */
static int node_json(http_src_t *s, const sl_node_t *n, sl_buf_t *b)
{
    int rc = 0;
    if (n->kind == SL_NODE_MAP) {
        rc = sl_buf_putc(b, '{');
        for (size_t i = 0; rc == 0 && i < n->n; i++) {
            if (i) {
                rc = sl_buf_putc(b, ',');
            }
            if (!rc) {
                rc = sl_json_write_string(b, n->pairs[i].key->text, n->pairs[i].key->len);
            }
            if (!rc) {
                rc = sl_buf_putc(b, ':');
            }
            if (!rc) {
                rc = node_json(s, n->pairs[i].value, b);
            }
        }
        return rc ? rc : sl_buf_putc(b, '}');
    }
    if (n->kind == SL_NODE_SEQ) {
        rc = sl_buf_putc(b, '[');
        for (size_t i = 0; rc == 0 && i < n->n; i++) {
            if (i) {
                rc = sl_buf_putc(b, ',');
            }
            if (!rc) {
                rc = node_json(s, n->items[i], b);
            }
        }
        return rc ? rc : sl_buf_putc(b, ']');
    }
    if (!n->quoted) {
        if (n->is_null) {
            return sl_buf_append_c(b, "null");
        }
        if (strcmp(n->text, "true") == 0 || strcmp(n->text, "false") == 0) {
            return sl_buf_append_c(b, n->text);
        }
        sl_arena_t *tmp = sl_arena_create(256, 0);
        sl_value_t v;
        sl_json_error_t je;
        bool num = tmp && sl_json_parse(tmp, n->text, n->len, NULL, &v, &je) == 0 &&
                   (v.type == SL_T_INT || v.type == SL_T_DOUBLE || v.type == SL_T_BIGNUM);
        sl_arena_destroy(tmp);
        if (num) {
            return sl_buf_append(b, n->text, n->len);
        }
    }
    const char *text;
    rc = render(s->ctx, n, "body", &text);
    if (rc) {
        return rc;
    }
    return sl_json_write_string(b, text, strlen(text));
}

static int open_body(http_src_t *s, const sl_node_t *cfg)
{
    sl_step_ctx_t *ctx = s->ctx;
    const sl_node_t *n = sl_node_get(cfg, "body");
    if (!n || n->is_null) {
        return 0;
    }
    sl_buf_t b = SL_BUF_INIT;
    int rc;
    if (n->kind == SL_NODE_SCALAR) {
        const char *text;
        rc = render(ctx, n, "body", &text);
        if (rc == 0) {
            rc = sl_buf_append_c(&b, text);
        }
        if (rc == 0) {
            sl_arena_t *tmp = sl_arena_create(4096, 0);
            sl_value_t v;
            sl_json_error_t je;
            if (!tmp) {
                rc = SL_ENOMEM;
            } else if (sl_json_parse(tmp, b.data, b.len, NULL, &v, &je) != 0) {
                rc = sl_node_error(&ctx->err, n, WHAT ": body: not valid JSON at byte %zu: %s",
                                   je.offset, je.reason);
            }
            sl_arena_destroy(tmp);
        }
    } else {
        rc = node_json(s, n, &b);
    }
    if (rc == 0) {
        s->body = sl_arena_strndup(ctx->arena, b.data ? b.data : "", b.len);
        s->body_len = b.len;
        rc = s->body ? 0 : SL_ENOMEM;
    }
    if (n->secret && s->body) {
        sl_log_add_secret(s->body, s->body_len);
    }
    sl_buf_free(&b);
    return rc;
}

static int get_int(http_src_t *s, const sl_node_t *m, const char *key, int64_t def, int64_t min,
                   int64_t *out)
{
    int rc = sl_cfg_int(m, key, def, out, &s->ctx->err);
    if (rc == 0 && *out < min) {
        return sl_node_error(&s->ctx->err, sl_node_get(m, key), "%s: must be at least %lld", key,
                             (long long)min);
    }
    return rc;
}

static int open_paging(http_src_t *s, const sl_node_t *cfg)
{
    const sl_node_t *p = sl_node_get(cfg, "pagination");
    s->pg = PG_NONE;
    if (!p) {
        return 0;
    }
    const char *type = sl_node_get(p, "type")->text;
    static const struct {
        const char *name;
        pg_t pg;
    } kinds[] = {{"none", PG_NONE},           {"cursor", PG_CURSOR},
                 {"next_link", PG_NEXT_LINK}, {"link_header", PG_LINK_HEADER},
                 {"page", PG_PAGE},           {"offset", PG_OFFSET}};
    for (size_t i = 0; i < SL_ARRAY_LEN(kinds); i++) {
        if (strcmp(type, kinds[i].name) == 0) {
            s->pg = kinds[i].pg;
        }
    }
    const char *def_param = s->pg == PG_CURSOR ? "cursor" : s->pg == PG_PAGE ? "page" : "offset";
    int rc = get_str(s, p, "cursor_path", NULL, &s->cursor_path);
    if (!rc) {
        rc = get_str(s, p, "param", def_param, &s->param);
    }
    if (!rc) {
        rc = get_str(s, p, "path", NULL, &s->next_path);
    }
    if (!rc) {
        rc = get_str(s, p, "size_param", NULL, &s->size_param);
    }
    if (!rc) {
        rc = get_str(s, p, "limit_param", "limit", &s->limit_param);
    }
    if (!rc) {
        rc = get_int(s, p, "start", s->pg == PG_PAGE ? 1 : 0, 0, &s->start);
    }
    if (!rc) {
        rc = get_int(s, p, "size", 100, 1, &s->size);
    }
    if (!rc) {
        rc = get_int(s, p, "limit", 100, 1, &s->limit);
    }
    return rc;
}

static int open_incremental(http_src_t *s, const sl_node_t *cfg)
{
    const sl_node_t *m = sl_node_get(cfg, "incremental");
    if (!m) {
        return 0;
    }
    s->incremental = true;
    const char *initial;
    int rc = get_str(s, m, "param", NULL, &s->since_param);
    if (!rc) {
        rc = get_str(s, m, "cursor_field", NULL, &s->cursor_field);
    }
    if (!rc) {
        rc = get_str(s, m, "initial", NULL, &initial);
    }
    if (!rc) {
        rc = get_str(s, m, "key", NULL, &s->key_field);
    }
    if (!rc) {
        rc = sl_cfg_bool(m, "filter", false, &s->filter, &s->ctx->err);
    }
    if (rc == 0 && initial) {
        /* Kept for the run: the arena of the step holds it. */
        sl_value_t v = sl_value_str(initial, strlen(initial));
        rc = hold_set(&s->since, &v);
    }
    return rc;
}

/* Reads the resume checkpoint: {"since","max","next","skip","done"}. */
static void parse_resume(http_src_t *s, const char *text)
{
    sl_arena_t *a = sl_arena_create(4096, 0);
    sl_value_t v;
    sl_json_error_t je;
    if (!a || sl_json_parse(a, text, strlen(text), NULL, &v, &je) != 0 || v.type != SL_T_OBJECT) {
        sl_warn("step %s: ignoring an unreadable checkpoint", s->ctx->step->name);
        sl_arena_destroy(a);
        return;
    }
    const sl_value_t *since = sl_object_get_c(&v, "since");
    const sl_value_t *max = sl_object_get_c(&v, "max");
    const sl_value_t *next = sl_object_get_c(&v, "next");
    const sl_value_t *skip = sl_object_get_c(&v, "skip");
    const sl_value_t *done = sl_object_get_c(&v, "done");
    if (s->incremental && since && is_scalar(since)) {
        hold_set(&s->since, since);
        if (s->key_field) {
            keys_load(&s->since_keys, sl_object_get_c(&v, "keys"));
        }
    }
    bool finished = done && done->type == SL_T_BOOL && done->u.i;
    if (!finished) {
        if (s->incremental && max && is_scalar(max)) {
            hold_set(&s->hwm, max);
            if (s->key_field) {
                keys_load(&s->hwm_keys, sl_object_get_c(&v, "max_keys"));
            }
        }
        const sl_value_t *c = next && next->type == SL_T_OBJECT
                                  ? sl_object_get_c(next, s->pg == PG_CURSOR   ? "cursor"
                                                          : s->pg == PG_PAGE   ? "page"
                                                          : s->pg == PG_OFFSET ? "offset"
                                                                               : "url")
                                  : NULL;
        bool ok = false;
        if (s->pg == PG_CURSOR && c && c->type == SL_T_STRING) {
            s->cur.cursor = strndup(c->u.s, c->len);
            ok = true;
        } else if ((s->pg == PG_NEXT_LINK || s->pg == PG_LINK_HEADER) && c &&
                   c->type == SL_T_STRING) {
            s->cur.url = strndup(c->u.s, c->len);
            ok = true;
        } else if ((s->pg == PG_PAGE || s->pg == PG_OFFSET) && c && c->type == SL_T_INT) {
            s->cur.n = c->u.i;
            ok = true;
        } else if (c && c->type == SL_T_NULL) {
            ok = true; /* stopped inside the first page */
        }
        if (ok && skip && skip->type == SL_T_INT && skip->u.i > 0) {
            s->skip = (uint64_t)skip->u.i;
        }
        if (s->pg == PG_NONE && next && next->type == SL_T_OBJECT) {
            ok = true;
            if (skip && skip->type == SL_T_INT && skip->u.i > 0) {
                s->skip = (uint64_t)skip->u.i;
            }
        }
        if (ok) {
            sl_info("step %s: resuming the interrupted run at the page it stopped before",
                    s->ctx->step->name);
        } else if (s->pg != PG_NONE) {
            sl_warn("step %s: the checkpoint holds no %s position (pagination changed?); "
                    "starting from the first page",
                    s->ctx->step->name, sl_http_page_types[s->pg]);
        }
    }
    sl_arena_destroy(a);
}

/* retry: {max, backoff_ms, max_backoff_ms} as a policy: max retries after
 * the first attempt, a ceiling of backoff_ms * 2^(retry - 1) with full
 * jitter, max_backoff_ms capping it and any Retry-After. */
static int open_retry(http_src_t *s, const sl_node_t *cfg)
{
    const sl_node_t *r = sl_node_get(cfg, "retry");
    int64_t max = 0, base_ms = 0, cap_ms = 0;
    int rc = get_int(s, r, "max", 5, 0, &max);
    if (!rc) {
        rc = get_int(s, r, "backoff_ms", 200, 0, &base_ms);
    }
    if (!rc) {
        rc = get_int(s, r, "max_backoff_ms", 10000, 0, &cap_ms);
    }
    if (rc) {
        return rc;
    }
    s->retry = sl_retry_policy_default(); /* on: transient, timeout, rate_limited */
    s->retry.max_attempts = (int)SL_MIN(max, (int64_t)INT32_MAX - 1) + 1;
    s->retry.interval_us = SL_MIN(base_ms, INT64_MAX / 1000) * 1000;
    s->retry.backoff = 2.0;
    s->retry.max_delay_us = SL_MIN(cap_ms, INT64_MAX / 1000) * 1000;
    s->retry.jitter = true;
    return 0;
}

static int http_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    http_src_t *s = calloc(1, sizeof *s);
    if (!s) {
        return SL_ENOMEM;
    }
    *self = s;
    s->ctx = ctx;
    s->rng = sl_retry_seed(s);
    s->stats.last_retry_after_ms = -1;
    int rc = sl_http_source_check(cfg, &ctx->err);
    if (rc) {
        return rc;
    }
    const sl_node_t *url = sl_node_get(cfg, "url");
    rc = render(ctx, url, "url", &s->url);
    if (rc) {
        return rc;
    }
    if (!sl_http_is_http_url(s->url)) {
        /* rendered from a template */
        char *shown = shown_url(s, s->url);
        rc = sl_node_error(&ctx->err, url, WHAT ": url: '%s' is not an http:// or https:// URL",
                           shown ? shown : "?");
        free(shown);
        return rc;
    }
    rc = sl_cfg_str(cfg, "method", "GET", &s->method, &ctx->err);
    if (!rc) {
        rc = get_str(s, cfg, "records", "", &s->records);
    }
    if (!rc) {
        rc = open_headers(s, cfg);
    }
    if (!rc) {
        rc = open_auth(s, cfg);
    }
    if (!rc) {
        rc = open_body(s, cfg);
    }
    if (!rc) {
        rc = open_paging(s, cfg);
    }
    if (!rc) {
        rc = open_incremental(s, cfg);
    }
    if (!rc) {
        rc = open_retry(s, cfg);
    }
    const sl_node_t *rl = sl_node_get(cfg, "rate_limit");
    if (!rc && rl) {
        double per = 0;
        int64_t burst = 0;
        rc = sl_cfg_double(rl, "per_second", 0, &per, &ctx->err);
        if (!rc && !(per > 0)) {
            rc = sl_node_error(&ctx->err, sl_node_get(rl, "per_second"),
                               "per_second: must be above 0");
        }
        if (!rc) {
            rc = get_int(s, rl, "burst", per < 1 ? 1 : (int64_t)per, 1, &burst);
        }
        if (!rc) {
            sl_http_bucket_init(&s->bucket, per, (double)burst);
            s->rate_on = true;
        }
    }
    if (!rc) {
        rc = get_int(s, cfg, "timeout_ms", 30000, 1, &s->timeout_ms);
    }
    if (!rc) {
        rc = get_int(s, cfg, "max_response_bytes", 64 << 20, 1, &s->max_bytes);
    }
    const sl_node_t *bud = sl_node_get(cfg, "budget");
    if (!rc) {
        rc = get_int(s, bud, "max_pages", 0, 0, &s->max_pages);
    }
    if (!rc) {
        rc = get_int(s, bud, "max_seconds", 0, 0, &s->max_seconds);
    }
    if (rc) {
        return rc;
    }
    if (!has_header(s, "Accept") && add_header(s, "Accept: application/json")) {
        return SL_ENOMEM;
    }
    if (s->body && !has_header(s, "Content-Type") &&
        add_header(s, "Content-Type: application/json")) {
        return SL_ENOMEM;
    }
    if (!has_header(s, "User-Agent") && add_header(s, "User-Agent: sluice")) {
        return SL_ENOMEM;
    }
    s->cur.n = s->start;
    if (ctx->resume && !ctx->full_refresh) {
        parse_resume(s, ctx->resume);
    }
    s->page_arena = sl_arena_create(1 << 16, 0);
    if (!s->page_arena) {
        return SL_ENOMEM;
    }
    sl_buf_init(&s->body_buf, (size_t)s->max_bytes);
    rc = sl_http_new(&s->http, &ctx->err);
    s->started_us = sl_mono_us();
    return rc;
}

/* ---- requests ---- */

/* b holds the edited URL: it becomes a, and b is emptied for the next. */
static void swap_buf(sl_buf_t *a, sl_buf_t *b)
{
    sl_buf_t t = *a;
    *a = *b;
    *b = t;
    sl_buf_clear(b);
}

/* The URL of the page at p, with our query parameters (auth included). */
static int page_url(http_src_t *s, const pos_t *p, sl_buf_t *out)
{
    sl_buf_t a = SL_BUF_INIT, b = SL_BUF_INIT;
    int rc = sl_buf_append_c(&a, p->url ? p->url : s->url);
    char num[32];
    /* Links from the server carry their own query; ours go on the first. */
    if (rc == 0 && !p->url && s->since_param && s->since.v.type != SL_T_NULL) {
        sl_buf_t t = SL_BUF_INIT;
        rc = sl_value_to_text(&s->since.v, &t);
        if (rc == 0) {
            rc = sl_http_url_set(&b, a.data, s->since_param, t.data ? t.data : "");
            swap_buf(&a, &b);
        }
        sl_buf_free(&t);
    }
    if (rc == 0 && s->pg == PG_CURSOR && p->cursor) {
        rc = sl_http_url_set(&b, a.data, s->param, p->cursor);
        swap_buf(&a, &b);
    }
    if (rc == 0 && (s->pg == PG_PAGE || s->pg == PG_OFFSET)) {
        snprintf(num, sizeof num, "%lld", (long long)p->n);
        rc = sl_http_url_set(&b, a.data, s->param, num);
        swap_buf(&a, &b);
        const char *sp = s->pg == PG_PAGE ? s->size_param : s->limit_param;
        if (rc == 0 && sp) {
            snprintf(num, sizeof num, "%lld", (long long)(s->pg == PG_PAGE ? s->size : s->limit));
            rc = sl_http_url_set(&b, a.data, sp, num);
            swap_buf(&a, &b);
        }
    }
    if (rc == 0 && s->auth_qname) {
        rc = sl_http_url_set(&b, a.data, s->auth_qname, s->auth_qvalue);
        swap_buf(&a, &b);
    }
    if (rc == 0) {
        rc = sl_buf_append(out, a.data, a.len);
    }
    sl_buf_free(&a);
    sl_buf_free(&b);
    return rc;
}

/* Waits for the rate limiter's token. Returns 0, or the cancel reason. */
static int rate_wait(http_src_t *s)
{
    if (!s->rate_on) {
        return 0;
    }
    int64_t w = sl_http_bucket_take(&s->bucket, sl_mono_us());
    if (w > 0) {
        s->stats.rate_waits++;
        return sl_cancel_sleep(cancel_token(s), w);
    }
    return 0;
}

/* What kind of failure a request that did not get a 2xx was (rc from
 * sl_http_perform, 0 or SL_ERETRY): transport failures and 5xx (but 501
 * and 505, which another try will not change) are transient, timeouts and
 * 408 are timeouts, 429 is rate limiting; other statuses are fatal. */
static sl_error_class_t failure_class(int rc, const sl_http_resp_t *resp)
{
    if (rc == SL_ERETRY) {
        return resp->timed_out ? SL_ECLASS_TIMEOUT : SL_ECLASS_TRANSIENT;
    }
    long st = resp->status;
    if (st == 429) {
        return SL_ECLASS_RATE_LIMITED;
    }
    if (st == 408) {
        return SL_ECLASS_TIMEOUT;
    }
    if (st >= 500 && st <= 599 && st != 501 && st != 505) {
        return SL_ECLASS_TRANSIENT;
    }
    return SL_ECLASS_FATAL;
}

/* Sends the request for url (shown redacted in messages), retrying
 * transient failures. On 0 the 2xx body is in s->body_buf and the
 * headers in s->resp. */
static int fetch(http_src_t *s, const char *url, const char *shown)
{
    for (int attempt = 1;; attempt++) {
        int rc = rate_wait(s);
        if (rc) {
            return fail(s, rc, "%s %s: %s", s->method, shown, sl_strerror(rc));
        }
        s->stats.requests++;
        if (attempt > 1) {
            s->stats.retries++;
        }
        sl_buf_clear(&s->body_buf);
        sl_http_req_t req = {
            .method = s->method,
            .url = url,
            .headers = s->headers,
            .nheaders = s->nheaders,
            .body = s->body,
            .body_len = s->body_len,
            .timeout_ms = (int)SL_MIN(s->timeout_ms, (int64_t)1 << 30),
            .sink = &s->body_buf,
            .cancel = s->ctx->cancel,
        };
        sl_err_t herr;
        herr.msg[0] = '\0';
        rc = sl_http_perform(s->http, &req, &s->resp, &herr);
        char why[400];
        int64_t ra = -1;
        if (rc == SL_ELIMIT) {
            return fail(s, SL_ELIMIT,
                        "%s %s: the response is larger than max_response_bytes (%lld bytes)",
                        s->method, shown, (long long)s->max_bytes);
        }
        if (rc && rc != SL_ERETRY) {
            return fail(s, rc, "%s %s: %s", s->method, shown, herr.msg);
        }
        if (rc == 0 && s->resp.status >= 200 && s->resp.status < 300) {
            return 0;
        }
        bool retry = sl_retry_should(&s->retry, failure_class(rc, &s->resp), attempt);
        if (rc == SL_ERETRY) {
            snprintf(why, sizeof why, "%s", herr.msg);
        } else {
            char ex[204];
            excerpt(&s->resp.body, ex, sizeof ex);
            snprintf(why, sizeof why, "HTTP %ld%s%s", s->resp.status, ex[0] ? ": " : "", ex);
            char loc[300];
            if (s->resp.status >= 300 && s->resp.status < 400 &&
                sl_http_resp_header(&s->resp, "Location", loc, sizeof loc)) {
                /* Redirects are not followed: they could carry credentials
                 * to another host. Say where it pointed. */
                char *shown_loc = shown_url(s, loc);
                snprintf(why, sizeof why,
                         "HTTP %ld, redirected to %s (redirects are not "
                         "followed: use that URL)",
                         s->resp.status, shown_loc ? shown_loc : "?");
                free(shown_loc);
            }
            char hv[128];
            if (retry && sl_http_resp_header(&s->resp, "Retry-After", hv, sizeof hv)) {
                ra = sl_http_retry_after_ms(hv, strlen(hv), sl_now_us());
            }
        }
        if (!retry) {
            if (attempt > 1) {
                return fail(s, SL_EIO, "%s %s: %s (after %d attempts)", s->method, shown, why,
                            attempt);
            }
            return fail(s, SL_EIO, "%s %s: %s", s->method, shown, why);
        }
        int64_t wait = sl_retry_delay_us(&s->retry, attempt, ra >= 0 ? ra * 1000 : -1, &s->rng);
        if (ra >= 0) {
            s->stats.last_retry_after_ms = ra;
        }
        s->stats.waited_ms += wait / 1000;
        char line[SL_ERRMSG_MAX];
        snprintf(line, sizeof line, "step %s: %s %s: %s; retrying in %lld ms (attempt %d of %d)",
                 s->ctx->step->name, s->method, shown, why, (long long)(wait / 1000),
                 attempt + 1, s->retry.max_attempts);
        sl_log_redact(line);
        sl_warn("%s", line);
        rc = sl_cancel_sleep(cancel_token(s), wait);
        if (rc) {
            return fail(s, rc, "%s %s: %s; %s while waiting to retry", s->method, shown, why,
                        sl_strerror(rc));
        }
    }
}

/* Collects every Link header line of the response (a server may send
 * several) into out, comma-joined. */
static int link_headers(const sl_buf_t *headers, sl_buf_t *out)
{
    const char *p = headers->data;
    int rc = 0;
    while (p && *p && rc == 0) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > 5 && strncasecmp(p, "link:", 5) == 0) {
            const char *v = p + 5;
            size_t vn = len - 5;
            while (vn > 0 && (v[vn - 1] == '\r' || v[vn - 1] == ' ')) {
                vn--;
            }
            if (out->len > 0) {
                rc = sl_buf_putc(out, ',');
            }
            if (rc == 0) {
                rc = sl_buf_append(out, v, vn);
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    return rc;
}

/* Text of a cursor value: strings as they are, numbers as JSON. */
static char *cursor_text(const sl_value_t *v)
{
    if (v->type == SL_T_STRING) {
        return v->len ? strndup(v->u.s, v->len) : NULL;
    }
    if (v->type == SL_T_INT || v->type == SL_T_BIGNUM || v->type == SL_T_DOUBLE) {
        sl_buf_t b = SL_BUF_INIT;
        if (sl_value_to_text(v, &b) != 0) {
            sl_buf_free(&b);
            return NULL;
        }
        return b.data;
    }
    return NULL;
}

/* Works out the page after the current one from the body and headers. */
static int find_next(http_src_t *s, const sl_value_t *body, const char *url)
{
    pos_free(&s->next);
    s->has_next = false;
    switch (s->pg) {
    case PG_NONE:
        return 0;
    case PG_CURSOR: {
        const sl_value_t *c = sl_value_path(body, s->cursor_path, strlen(s->cursor_path));
        char *t = c ? cursor_text(c) : NULL;
        if (!t) {
            return 0;
        }
        if (s->cur.cursor && strcmp(t, s->cur.cursor) == 0) {
            free(t);
            return fail(s, SL_EPARSE,
                        "%s: the API returned the same cursor again (%s); "
                        "stopping to avoid a loop",
                        s->shown, s->cursor_path);
        }
        s->next.cursor = t;
        s->has_next = true;
        return 0;
    }
    case PG_NEXT_LINK:
    case PG_LINK_HEADER: {
        sl_buf_t link = SL_BUF_INIT, abs = SL_BUF_INIT, clean = SL_BUF_INIT;
        int rc = 0;
        if (s->pg == PG_NEXT_LINK) {
            const sl_value_t *c = sl_value_path(body, s->next_path, strlen(s->next_path));
            if (c && c->type == SL_T_STRING && c->len > 0) {
                rc = sl_buf_append(&link, c->u.s, c->len);
            }
        } else {
            sl_buf_t all = SL_BUF_INIT;
            rc = link_headers(&s->resp.headers, &all);
            if (rc == 0 && all.len > 0) {
                rc = sl_http_link_find(all.data, all.len, "next", &link);
                if (rc == SL_ENOTFOUND) {
                    rc = 0;
                } else if (rc == SL_EPARSE) {
                    rc =
                        fail(s, SL_EPARSE, "%s: malformed Link header: %.200s", s->shown, all.data);
                }
            }
            sl_buf_free(&all);
        }
        if (rc == 0 && link.len > 0) {
            rc = sl_http_url_resolve(&abs, url, link.data);
            /* The stored link must not keep our key; it is added again. */
            if (rc == 0) {
                rc = s->auth_qname ? sl_http_url_set(&clean, abs.data, s->auth_qname, NULL)
                                   : sl_buf_append(&clean, abs.data, abs.len);
            }
            if (rc == 0) {
                if (s->cur.url && strcmp(s->cur.url, clean.data) == 0) {
                    rc = fail(s, SL_EPARSE,
                              "%s: the next link points to the same page; "
                              "stopping to avoid a loop",
                              s->shown);
                } else {
                    s->next.url = clean.data;
                    clean.data = NULL;
                    s->has_next = true;
                }
            }
        }
        sl_buf_free(&link);
        sl_buf_free(&abs);
        sl_buf_free(&clean);
        return rc;
    }
    case PG_PAGE:
        if (s->nitems > 0 && !(s->size_param && (int64_t)s->nitems < s->size)) {
            s->next.n = s->cur.n + 1;
            s->has_next = true;
        }
        return 0;
    case PG_OFFSET:
        if (s->nitems > 0 && (int64_t)s->nitems >= s->limit) {
            s->next.n = s->cur.n + (int64_t)s->nitems;
            s->has_next = true;
        }
        return 0;
    }
    return 0;
}

/* Fetches and parses the page at s->cur. */
static int load_page(http_src_t *s)
{
    sl_buf_t url = SL_BUF_INIT;
    int rc = page_url(s, &s->cur, &url);
    if (rc) {
        sl_buf_free(&url);
        return rc;
    }
    free(s->shown);
    s->shown = shown_url(s, url.data);
    if (!s->shown) {
        sl_buf_free(&url);
        return SL_ENOMEM;
    }
    rc = fetch(s, url.data, s->shown);
    if (rc) {
        sl_buf_free(&url);
        return rc;
    }
    sl_arena_reset(s->page_arena);
    sl_value_t body;
    sl_json_error_t je;
    rc = sl_json_parse(s->page_arena, s->body_buf.data ? s->body_buf.data : "", s->body_buf.len,
                       NULL, &body, &je);
    if (rc == SL_EPARSE) {
        sl_buf_free(&url);
        return fail(s, SL_EPARSE, "%s: malformed JSON in the response at byte %zu: %s", s->shown,
                    je.offset, je.reason);
    }
    if (rc) {
        sl_buf_free(&url);
        return rc;
    }
    char why[300];
    const sl_value_t *arr;
    rc = sl_http_records(&body, s->records, &arr, why, sizeof why);
    if (rc) {
        sl_buf_free(&url);
        return fail(s, SL_EPARSE, "%s: records%s%s: %s", s->shown, s->records[0] ? " " : "",
                    s->records, why);
    }
    s->items = arr->u.items;
    s->nitems = arr->len;
    s->item = 0;
    s->page_fresh = true;
    s->have_page = true;
    s->stats.pages++;
    s->run_pages++;
    rc = find_next(s, &body, url.data);
    sl_buf_free(&url);
    if (rc) {
        return rc;
    }
    if (s->skip > 0) {
        s->item = (size_t)SL_MIN(s->skip, (uint64_t)s->nitems);
        s->skip = 0;
    }
    sl_debug("step %s: %s %s: HTTP %ld, %zu records, %zu bytes%s", s->ctx->step->name, s->method,
             s->shown, s->resp.status, s->nitems, s->body_buf.len,
             s->has_next ? "" : ", last page");
    return 0;
}

/* ---- batches ---- */

static int write_pos(http_src_t *s, sl_buf_t *b, const pos_t *p)
{
    switch (s->pg) {
    case PG_CURSOR:
        sl_buf_append_c(b, "{\"cursor\":");
        if (p->cursor) {
            sl_json_write_string(b, p->cursor, strlen(p->cursor));
        } else {
            sl_buf_append_c(b, "null");
        }
        return sl_buf_putc(b, '}');
    case PG_NEXT_LINK:
    case PG_LINK_HEADER:
        sl_buf_append_c(b, "{\"url\":");
        if (p->url) {
            sl_json_write_string(b, p->url, strlen(p->url));
        } else {
            sl_buf_append_c(b, "null");
        }
        return sl_buf_putc(b, '}');
    case PG_PAGE:
        return sl_buf_printf(b, "{\"page\":%lld}", (long long)p->n);
    case PG_OFFSET:
        return sl_buf_printf(b, "{\"offset\":%lld}", (long long)p->n);
    case PG_NONE:
        break;
    }
    return sl_buf_append_c(b, "{}");
}

/* The larger of since and the high-water mark: the next run's since. */
static const sl_value_t *best_mark(const http_src_t *s)
{
    if (s->hwm.v.type == SL_T_NULL) {
        return &s->since.v;
    }
    if (s->since.v.type == SL_T_NULL || sl_http_cursor_cmp(&s->hwm.v, &s->since.v) > 0) {
        return &s->hwm.v;
    }
    return &s->since.v;
}

/* The keys delivered at the next run's since: this run's at its mark when
 * the mark moved, else the previous ones plus this run's at the same mark. */
static int final_keys(http_src_t *s, keyset_t *out)
{
    const sl_value_t *mark = best_mark(s);
    int rc = 0;
    if (mark == &s->since.v) {
        for (size_t i = 0; i < s->since_keys.set.n && rc == 0; i++) {
            rc = keys_add(out, s->since_keys.set.items[i], s->since_keys.set.lens[i]);
        }
    }
    if (s->hwm.v.type != SL_T_NULL && sl_http_cursor_cmp(&s->hwm.v, mark) == 0) {
        for (size_t i = 0; i < s->hwm_keys.set.n && rc == 0; i++) {
            rc = keys_add(out, s->hwm_keys.set.items[i], s->hwm_keys.set.lens[i]);
        }
    }
    return rc;
}

static char *make_checkpoint(http_src_t *s, sl_arena_t *a, bool page_done)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_c(&b, "{\"since\":");
    if (page_done && !s->has_next) {
        sl_json_write(&b, best_mark(s), 0);
        if (s->key_field) {
            keyset_t ks = {0};
            if (final_keys(s, &ks) != 0) {
                keys_clear(&ks);
                sl_buf_free(&b);
                return NULL;
            }
            sl_buf_append_c(&b, ",\"keys\":");
            keys_write(&b, &ks);
            keys_clear(&ks);
        }
        sl_buf_append_c(&b, ",\"done\":true}");
    } else {
        sl_json_write(&b, &s->since.v, 0);
        if (s->key_field) {
            sl_buf_append_c(&b, ",\"keys\":");
            keys_write(&b, &s->since_keys);
            sl_buf_append_c(&b, ",\"max_keys\":");
            keys_write(&b, &s->hwm_keys);
        }
        sl_buf_append_c(&b, ",\"max\":");
        sl_json_write(&b, &s->hwm.v, 0);
        sl_buf_append_c(&b, ",\"next\":");
        write_pos(s, &b, page_done ? &s->next : &s->cur);
        sl_buf_printf(&b, ",\"skip\":%llu,\"done\":false}",
                      (unsigned long long)(page_done ? 0 : s->item));
    }
    char *out = b.data ? sl_arena_strndup(a, b.data, b.len) : NULL;
    sl_buf_free(&b);
    return out;
}

/* Moves to the next page, or says why not: SL_EOF at the end of the data
 * or when the budget is spent. */
static int advance(http_src_t *s)
{
    sl_step_ctx_t *ctx = s->ctx;
    if (s->have_page) {
        if (!s->has_next) {
            char *base = shown_url(s, s->url);
            sl_info("step %s: %llu page(s), %llu record(s) from %s", ctx->step->name,
                    (unsigned long long)s->run_pages, (unsigned long long)s->run_records,
                    base ? base : "?");
            free(base);
            return SL_EOF;
        }
        const char *why = NULL;
        char what[64];
        if (s->max_pages > 0 && (int64_t)s->run_pages >= s->max_pages) {
            snprintf(what, sizeof what, "max_pages %lld", (long long)s->max_pages);
            why = what;
        } else if (s->max_seconds > 0 && sl_mono_us() - s->started_us >= s->max_seconds * 1000000) {
            snprintf(what, sizeof what, "max_seconds %lld", (long long)s->max_seconds);
            why = what;
        }
        if (why) {
            sl_info("step %s: budget reached (%s) after %llu page(s), %llu record(s); the "
                    "next run resumes at the next page",
                    ctx->step->name, why, (unsigned long long)s->run_pages,
                    (unsigned long long)s->run_records);
            return SL_EOF;
        }
        int rc = pos_copy(&s->cur, &s->next);
        if (rc) {
            return rc;
        }
    }
    return load_page(s);
}

static int http_next(void *self, sl_batch_t *b, size_t max)
{
    http_src_t *s = self;
    int rc;
    if (!s->have_page || s->item >= s->nitems) {
        /* A page whose records are all out, and whose last batch carried
         * its checkpoint, or no page yet. */
        if (s->have_page && !s->page_fresh) {
            rc = advance(s);
        } else if (!s->have_page) {
            rc = load_page(s);
        } else {
            rc = 0; /* an empty page not yet reported */
        }
        if (rc) {
            return rc;
        }
    }
    b->origin = sl_arena_strdup(b->arena, s->shown);
    if (!b->origin) {
        return SL_ENOMEM;
    }
    if (s->page_fresh) {
        b->bytes_in = s->body_buf.len;
        s->page_fresh = false;
    }
    sl_buf_t raw = SL_BUF_INIT;
    rc = 0;
    while (rc == 0 && b->n < max && s->item < s->nitems) {
        const sl_value_t *it = &s->items[s->item++];
        uint64_t line = s->item; /* 1-based index in the page */
        if (it->type != SL_T_OBJECT) {
            char reason[200];
            snprintf(reason, sizeof reason, "item %llu of the page is %s, expected an object",
                     (unsigned long long)line, sl_type_name((sl_type_t)it->type));
            sl_buf_clear(&raw);
            sl_json_write(&raw, it, 0);
            rc = sl_reject_raw(s->ctx, b->origin, line, raw.data ? raw.data : "", raw.len, reason);
            continue;
        }
        if (s->incremental) {
            const sl_value_t *c = sl_object_get(it, s->cursor_field, strlen(s->cursor_field));
            if (c && is_scalar(c)) {
                if (s->filter && s->since.v.type != SL_T_NULL &&
                    sl_http_cursor_cmp(c, &s->since.v) < 0) {
                    s->stats.filtered++;
                    continue;
                }
                const sl_value_t *k =
                    s->key_field ? sl_object_get(it, s->key_field, strlen(s->key_field)) : NULL;
                sl_buf_clear(&raw);
                if (k && is_scalar(k) && (rc = sl_value_to_text(k, &raw)) != 0) {
                    break;
                }
                const char *kt = raw.data ? raw.data : "";
                bool keyed = k && is_scalar(k);
                if (keyed && s->since.v.type != SL_T_NULL &&
                    sl_http_cursor_cmp(c, &s->since.v) == 0 &&
                    keys_has(&s->since_keys, kt, raw.len)) {
                    s->stats.filtered++; /* delivered by the previous run */
                    continue;
                }
                int cmp = s->hwm.v.type == SL_T_NULL ? 1 : sl_http_cursor_cmp(c, &s->hwm.v);
                if (cmp > 0) {
                    rc = hold_set(&s->hwm, c);
                    keys_clear(&s->hwm_keys);
                }
                if (rc == 0 && keyed && cmp >= 0) {
                    rc = keys_add(&s->hwm_keys, kt, raw.len);
                }
                if (rc) {
                    break;
                }
            }
        }
        sl_value_t rec;
        rc = sl_value_clone(b->arena, it, &rec);
        if (rc == 0) {
            rc = sl_batch_push(b, rec, line);
            s->run_records++;
        }
    }
    sl_buf_free(&raw);
    if (rc) {
        return rc;
    }
    b->checkpoint = make_checkpoint(s, b->arena, s->item >= s->nitems);
    return b->checkpoint ? 0 : SL_ENOMEM;
}

static void http_close(void *self)
{
    http_src_t *s = self;
    if (!s) {
        return;
    }
    sl_http_free(s->http);
    sl_http_resp_free(&s->resp);
    sl_buf_free(&s->body_buf);
    sl_arena_destroy(s->page_arena);
    hold_clear(&s->since);
    hold_clear(&s->hwm);
    keys_clear(&s->since_keys);
    keys_clear(&s->hwm_keys);
    pos_free(&s->cur);
    pos_free(&s->next);
    free(s->shown);
    free(s);
}

void sl_http_source_stats(const void *self, sl_http_source_stats_t *out)
{
    *out = ((const http_src_t *)self)->stats;
}

const sl_source_type_t sl_source_http = {
    .name = "http",
    .doc = "REST JSON APIs: pagination, incremental since=, retries, rate limits",
    .config = http_source_config,
    .open = http_open,
    .next = http_next,
    .ack = NULL,
    .close = http_close,
    .check = sl_http_source_check,
};
