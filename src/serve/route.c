/* Route matching and params (route.h). */
#include <string.h>

#include "route.h"
#include "sluice/buf.h"
#include "sluice/json.h"

/* Segment i of path (1-based), its length in *len; NULL past the end. */
static const char *segment(const char *path, size_t i, size_t *len)
{
    const char *s = path;
    for (size_t k = 0; k < i; k++) {
        if (*s != '/') {
            return NULL;
        }
        s++;
        const char *end = strchr(s, '/');
        *len = end ? (size_t)(end - s) : strlen(s);
        if (k + 1 == i) {
            return s;
        }
        s += *len;
    }
    return NULL;
}

static size_t segments(const char *path)
{
    size_t n = 0;
    for (const char *s = path; *s; s++) {
        n += *s == '/';
    }
    return n;
}

bool sl_route_matches(const sl_route_t *rt, const char *method, const char *path)
{
    if (strcmp(rt->method, method) != 0 || path[0] != '/') {
        return false;
    }
    size_t n = segments(rt->path);
    if (segments(path) != n) {
        return false;
    }
    for (size_t i = 1; i <= n; i++) {
        size_t pl = 0, ql = 0;
        const char *ps = segment(rt->path, i, &pl), *qs = segment(path, i, &ql);
        if (!ps || !qs) {
            return false;
        }
        bool param = pl >= 2 && ps[0] == '{' && ps[pl - 1] == '}';
        if (param ? ql == 0 : (pl != ql || memcmp(ps, qs, pl) != 0)) {
            return false;
        }
    }
    return true;
}

/* The path segment the route's {name} stands at, or NULL. */
static const char *from_path(const sl_route_t *rt, const char *path, const char *name,
                             sl_arena_t *a)
{
    size_t n = segments(rt->path), nl = strlen(name);
    for (size_t i = 1; i <= n; i++) {
        size_t pl = 0, ql = 0;
        const char *ps = segment(rt->path, i, &pl), *qs = segment(path, i, &ql);
        if (ps && qs && pl == nl + 2 && ps[0] == '{' && memcmp(ps + 1, name, nl) == 0) {
            return sl_arena_strndup(a, qs, ql);
        }
    }
    return NULL;
}

int sl_route_params(const sl_route_t *rt, const sl_pipeline_t *p, const sl_route_request_t *req,
                    sl_arena_t *a, const char ***args, size_t *nargs, sl_err_t *err)
{
    *nargs = 0;
    *args = sl_arena_calloc(a, (p->nparams ? p->nparams : 1) * sizeof **args);
    if (!*args) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    sl_value_t body = {0};
    bool wants_body = false;
    for (size_t k = 0; k < rt->nfrom; k++) {
        wants_body = wants_body || rt->from[k] == SL_FROM_BODY;
    }
    size_t i = 0;
    while (req->body && i < req->body_len &&
           (req->body[i] == ' ' || req->body[i] == '\n' || req->body[i] == '\r' ||
            req->body[i] == '\t')) {
        i++;
    }
    if (wants_body && req->body && i < req->body_len) {
        sl_json_error_t je;
        sl_json_opts_t jo = {.max_depth = 64};
        char *text = sl_arena_strndup(a, req->body, req->body_len);
        if (!text) {
            return sl_err_set(err, SL_ENOMEM, "out of memory");
        }
        if (sl_json_parse(a, text, req->body_len, &jo, &body, &je) != 0) {
            return sl_err_set(err, SL_EPARSE, "body: not JSON: %s at byte %zu", je.reason,
                              je.offset);
        }
        if (body.type != SL_T_OBJECT) {
            return sl_err_set(err, SL_EPARSE, "body: expected a JSON object of params, got %s",
                              sl_type_name(body.type));
        }
    }
    for (size_t pi = 0; pi < p->nparams; pi++) {
        const char *name = p->params[pi].name;
        const char *val = NULL;
        for (size_t k = 0; k < rt->nfrom && !val; k++) {
            switch (rt->from[k]) {
            case SL_FROM_PATH:
                val = from_path(rt, req->path, name, a);
                break;
            case SL_FROM_QUERY:
                val = req->query ? req->query(req->ud, name) : NULL;
                break;
            case SL_FROM_HEADERS:
                val = req->header ? req->header(req->ud, name) : NULL;
                break;
            case SL_FROM_BODY: {
                const sl_value_t *v =
                    body.type == SL_T_OBJECT ? sl_object_get_c(&body, name) : NULL;
                if (v && v->type == SL_T_STRING) {
                    val = sl_arena_strndup(a, v->u.s, v->len);
                } else if (v && v->type != SL_T_NULL) {
                    sl_buf_t b = SL_BUF_INIT;
                    sl_json_write(&b, v, 0);
                    val = b.data ? sl_arena_strndup(a, b.data, b.len) : NULL;
                    sl_buf_free(&b);
                }
                break;
            }
            }
        }
        if (val) {
            const char *arg = sl_arena_sprintf(a, "%s=%s", name, val);
            if (!arg) {
                return sl_err_set(err, SL_ENOMEM, "out of memory");
            }
            (*args)[(*nargs)++] = arg;
        }
    }
    return 0;
}
