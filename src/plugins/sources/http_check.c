/* The `http` source's check(): rules between its keys (URL, auth,
 * pagination, request settings), without I/O, for `sluice validate`; open()
 * runs the same check first, so a run fails with the same message. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"
#include "sluice/config.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/plugin.h"

const char *const sl_http_page_types[] = {"none",        "cursor", "next_link",
                                          "link_header", "page",   "offset", NULL};

/* A URL for messages: credentials masked, secrets not shown. */
static void url_for_message(const sl_node_t *n, const char *url, char *out, size_t cap)
{
    sl_buf_t b = SL_BUF_INIT;
    if (n->secret || sl_http_url_redact(&b, url, NULL) != 0) {
        snprintf(out, cap, "<secret>");
    } else {
        sl_log_redact(b.data);
        snprintf(out, cap, "%s", b.data ? b.data : "");
    }
    sl_buf_free(&b);
}

bool sl_http_is_http_url(const char *u)
{
    return strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0;
}

static const sl_node_t *present(const sl_node_t *m, const char *key)
{
    const sl_node_t *n = sl_node_get(m, key);
    return n && !n->is_null ? n : NULL;
}

/* Keys of map m other than "type" must be in keys (NULL-terminated):
 * another one would be silently ignored for this type. */
static int only_keys(const sl_node_t *m, const char *section, const char *type,
                     const char *const *keys, sl_err_t *err)
{
    for (size_t i = 0; i < m->n; i++) {
        const sl_node_t *k = m->pairs[i].key;
        bool ok = strcmp(k->text, "type") == 0;
        for (size_t j = 0; !ok && keys[j]; j++) {
            ok = strcmp(k->text, keys[j]) == 0;
        }
        if (ok) {
            continue;
        }
        char list[200] = "";
        size_t used = 0;
        for (size_t j = 0; keys[j] && used < sizeof list; j++) {
            int w = snprintf(list + used, sizeof list - used, "%s%s", j ? ", " : "", keys[j]);
            used += w > 0 ? (size_t)w : 0;
        }
        if (!keys[0]) {
            return sl_node_error(err, k, WHAT ": %s: %s does not apply to type %s (it takes no "
                                 "other keys)", section, k->text, type);
        }
        return sl_node_error(err, k, WHAT ": %s: %s does not apply to type %s (its keys: %s)",
                             section, k->text, type, list);
    }
    return 0;
}

static int check_auth(const sl_node_t *cfg, sl_err_t *err)
{
    const sl_node_t *a = sl_node_get(cfg, "auth");
    const sl_node_t *tn = a ? sl_node_get(a, "type") : NULL;
    if (!tn || tn->unresolved) {
        return 0;
    }
    static const char *const api_key[] = {"header", "query", "value", NULL};
    static const char *const bearer[] = {"token", NULL};
    static const char *const basic[] = {"username", "password", NULL};
    const char *type = tn->text;
    if (strcmp(type, "api_key") == 0) {
        int rc = only_keys(a, "auth", type, api_key, err);
        if (rc) {
            return rc;
        }
        const sl_node_t *header = present(a, "header"), *value = present(a, "value");
        if (!value) {
            return sl_node_error(err, a,
                                 WHAT ": auth: api_key needs value (e.g. \"${env:API_KEY}\")");
        }
        if (header && present(a, "query")) {
            return sl_node_error(err, a, WHAT ": auth: give header or query, not both");
        }
        if ((header && sl_cfg_literal(header) && strpbrk(header->text, ": \t\r\n")) ||
            (sl_cfg_literal(value) && strpbrk(value->text, "\r\n"))) {
            return sl_node_error(err, a, WHAT ": auth: header name or value not valid in a "
                                 "header");
        }
        return 0;
    }
    if (strcmp(type, "bearer") == 0) {
        int rc = only_keys(a, "auth", type, bearer, err);
        if (!rc && !present(a, "token")) {
            rc = sl_node_error(err, a, WHAT ": auth: bearer needs token");
        }
        return rc;
    }
    int rc = only_keys(a, "auth", type, basic, err);
    if (!rc && (!present(a, "username") || !present(a, "password"))) {
        rc = sl_node_error(err, a, WHAT ": auth: basic needs username and password");
    }
    return rc;
}

static int check_paging(const sl_node_t *cfg, sl_err_t *err)
{
    const sl_node_t *p = sl_node_get(cfg, "pagination");
    const sl_node_t *tn = p ? sl_node_get(p, "type") : NULL;
    if (!tn || tn->unresolved) {
        return 0;
    }
    static const char *const keys[][5] = {
        [PG_NONE] = {NULL},
        [PG_CURSOR] = {"cursor_path", "param", NULL},
        [PG_NEXT_LINK] = {"path", NULL},
        [PG_LINK_HEADER] = {NULL},
        [PG_PAGE] = {"param", "start", "size_param", "size", NULL},
        [PG_OFFSET] = {"param", "start", "limit_param", "limit", NULL},
    };
    pg_t pg = PG_NONE;
    for (size_t i = 0; sl_http_page_types[i]; i++) {
        if (strcmp(tn->text, sl_http_page_types[i]) == 0) {
            pg = (pg_t)i;
        }
    }
    int rc = only_keys(p, "pagination", tn->text, keys[pg], err);
    if (rc) {
        return rc;
    }
    if (pg == PG_CURSOR && !present(p, "cursor_path")) {
        return sl_node_error(err, p, WHAT ": pagination: cursor needs cursor_path (e.g. "
                             "meta.next_cursor)");
    }
    if (pg == PG_NEXT_LINK && !present(p, "path")) {
        return sl_node_error(err, p, WHAT ": pagination: next_link needs path (e.g. links.next)");
    }
    const sl_node_t *size = sl_node_get(p, "size");
    if (pg == PG_PAGE && size && !present(p, "size_param")) {
        /* Without it the size is neither sent nor used to see the last page. */
        return sl_node_error(err, size, WHAT ": pagination: size is sent as size_param: give "
                             "size_param too (e.g. per_page)");
    }
    return 0;
}

static int check_request(const sl_node_t *cfg, sl_err_t *err)
{
    const sl_node_t *url = sl_node_get(cfg, "url");
    if (sl_cfg_literal(url) && !sl_http_is_http_url(url->text)) {
        char shown[512];
        url_for_message(url, url->text, shown, sizeof shown);
        return sl_node_error(err, url, WHAT ": url: '%s' is not an http:// or https:// URL",
                             shown);
    }
    const sl_node_t *h = sl_node_get(cfg, "headers");
    for (size_t i = 0; h && h->kind == SL_NODE_MAP && i < h->n; i++) {
        const sl_node_t *k = h->pairs[i].key, *v = h->pairs[i].value;
        if (!k->text[0] || strpbrk(k->text, ": \t\r\n")) {
            return sl_node_error(err, k, WHAT ": headers: '%s' is not a header name", k->text);
        }
        if (sl_cfg_literal(v) && strpbrk(v->text, "\r\n")) {
            return sl_node_error(err, v, WHAT ": headers: %s: a value cannot hold a line break",
                                 k->text);
        }
    }
    const sl_node_t *body = present(cfg, "body");
    const sl_node_t *method = present(cfg, "method");
    if (body && !(method && strcmp(method->text, "POST") == 0)) {
        return sl_node_error(err, body, WHAT ": body: only with method: POST");
    }
    if (body && body->kind == SL_NODE_SCALAR && sl_cfg_literal(body)) {
        sl_arena_t *tmp = sl_arena_create(4096, 0);
        sl_value_t v;
        sl_json_error_t je;
        int rc = 0;
        if (!tmp) {
            rc = sl_err_set(err, SL_ENOMEM, "out of memory");
        } else if (sl_json_parse(tmp, body->text, body->len, NULL, &v, &je) != 0) {
            rc = sl_node_error(err, body, WHAT ": body: not valid JSON at byte %zu: %s",
                               je.offset, je.reason);
        }
        sl_arena_destroy(tmp);
        return rc;
    }
    return 0;
}

int sl_http_source_check(const sl_node_t *cfg, sl_err_t *err)
{
    int rc = check_request(cfg, err);
    if (!rc) {
        rc = check_auth(cfg, err);
    }
    if (!rc) {
        rc = check_paging(cfg, err);
    }
    return rc;
}

