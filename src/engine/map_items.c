/* Where a map's items come from, computed once when the map starts (a
 * parallel step's items are its sub-steps' names):
 *
 *   items: [a, b, c]                  a literal list
 *   items: "{{ steps.x.output.ids }}" a template yielding a list (or a
 *                                     JSON array text, or "a,b,c")
 *   items: {dates: {start, end | days, step, tz}}
 *   items: {source: {type: sql, ...}} the records of any source
 *   items: {chunks: {url, rows}}      byte ranges of a CSV / JSON Lines file
 *
 * Each item is handed on as JSON text, in order; the map stores them in
 * the state store, so none needs to stay in memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_internal.h"
#include "sluice/chunker.h"
#include "sluice/json.h"
#include "sluice/timeutil.h"
#include "sluice/tz.h"

#define MAX_DATES 1000000

static const sl_field_spec_t dates_spec[] = {
    {.name = "start", .type = SL_FIELD_STRING, .required = true,
     .doc = "first date: YYYY-MM-DD, today, yesterday, today-N, today+N, or a template"},
    {.name = "end", .type = SL_FIELD_STRING, .doc = "last date (included); or give days"},
    {.name = "days", .type = SL_FIELD_INT, .range = SL_RANGE(1, MAX_DATES),
     .doc = "how many dates from start"},
    {.name = "step", .type = SL_FIELD_INT, .def = "1",
     .doc = "days between two items (negative: backwards)"},
    {.name = "tz", .type = SL_FIELD_STRING, .def = "UTC",
     .doc = "time zone of today (IANA name, e.g. America/Chicago)"},
    {.name = NULL},
};

static const char *const chunk_formats[] = {"csv", "jsonl", NULL};

static const sl_field_spec_t chunks_spec[] = {
    {.name = "url", .type = SL_FIELD_STRING, .required = true,
     .doc = "the file to cut (a path relative to the pipeline; templates)"},
    {.name = "rows", .type = SL_FIELD_INT, .def = "1000", .range = SL_RANGE(1, 1e9),
     .doc = "records per chunk"},
    {.name = "format", .type = SL_FIELD_STRING, .choices = chunk_formats,
     .doc = "csv or jsonl (default: by the file's extension)"},
    {.name = "header", .type = SL_FIELD_BOOL, .def = "true for csv",
     .doc = "the first line of a CSV file names the columns (not part of any chunk)"},
    {.name = "delimiter", .type = SL_FIELD_STRING, .def = "','",
     .doc = "CSV field delimiter: one character, \\t or tab (as the file source's)"},
    {.name = NULL},
};

static const sl_field_spec_t items_spec[] = {
    {.name = "dates", .type = SL_FIELD_MAP, .children = dates_spec, .doc = "a range of dates"},
    {.name = "source", .type = SL_FIELD_MAP, .doc = "the records of a source plugin"},
    {.name = "chunks", .type = SL_FIELD_MAP, .children = chunks_spec,
     .doc = "byte ranges of a CSV or JSON Lines file, cut on record boundaries"},
    {.name = NULL},
};

/* Items become log lines and stored rows: none may hold a secret. */
static int no_secrets(const sl_node_t *n, const char *label, sl_err_t *err)
{
    if (n->kind == SL_NODE_SCALAR) {
        return n->secret ? sl_node_error(err, n, "%s: items: an item may not come from a "
                                         "secret (items are logged and stored)", label)
                         : 0;
    }
    for (size_t i = 0; i < n->n; i++) {
        const sl_node_t *c = n->kind == SL_NODE_MAP ? n->pairs[i].value : n->items[i];
        int rc = no_secrets(c, label, err);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

int sl_map_items_load(sl_step_loader_t *l, const sl_node_t *items, const char *label,
                      sl_map_cfg_t *cfg)
{
    sl_err_t *err = sl_step_loader_err(l);
    sl_arena_t *a = sl_step_loader_arena(l);
    cfg->items = items;
    if (items->kind == SL_NODE_SEQ) {
        cfg->items_kind = SL_ITEMS_LIST;
        return no_secrets(items, label, err);
    }
    if (items->kind == SL_NODE_SCALAR) {
        sl_template_t *t = NULL;
        sl_err_t e;
        if (items->is_null || sl_template_compile(a, items->text, items->len, &t, &e) != 0) {
            return sl_node_error(err, items, "%s: items: %s", label,
                                 items->is_null ? "expected a list, a template, or a map with "
                                                  "dates, source or chunks"
                                                : e.msg);
        }
        if (sl_template_uses_record(t)) {
            return sl_node_error(err, items, "%s: items: computed once, before the items "
                                 "run: it cannot use record", label);
        }
        cfg->items_kind = SL_ITEMS_TEMPLATE;
        cfg->items_tmpl = t;
        return no_secrets(items, label, err);
    }
    char what[200];
    snprintf(what, sizeof what, "%s: items", label);
    int rc = sl_config_check(items, items_spec, what, err);
    if (rc) {
        return rc;
    }
    if (items->n != 1) {
        return sl_node_error(err, items, "%s: give one of dates, source or chunks", what);
    }
    const sl_node_t *spec = items->pairs[0].value;
    const char *k = items->pairs[0].key->text;
    cfg->spec = spec;
    if (strcmp(k, "source") == 0) {
        cfg->items_kind = SL_ITEMS_SOURCE;
        return sl_step_load_plugin(l, SL_PLUGIN_SOURCE, spec, &cfg->source);
    }
    if (strcmp(k, "chunks") == 0) {
        cfg->items_kind = SL_ITEMS_CHUNKS;
        return 0;
    }
    cfg->items_kind = SL_ITEMS_DATES;
    if (!sl_node_get(spec, "end") == !sl_node_get(spec, "days")) {
        return sl_node_error(err, spec, "%s: dates: give end or days (one of the two)", what);
    }
    const sl_node_t *step = sl_node_get(spec, "step");
    if (step && !step->unresolved && strcmp(step->text, "0") == 0) {
        return sl_node_error(err, step, "%s: dates: step must not be 0", what);
    }
    return 0;
}

/* ---- literal lists and templates ---- */

/* A YAML scalar as JSON: quoted text is a string; plain text is null, a
 * bool or a number when it reads as one, else a string. */
static int scalar_json(const sl_node_t *n, sl_buf_t *b)
{
    if (!n->quoted) {
        if (n->is_null) {
            return sl_buf_append_c(b, "null");
        }
        if (strcmp(n->text, "true") == 0 || strcmp(n->text, "false") == 0) {
            return sl_buf_append_c(b, n->text);
        }
        char *end = NULL;
        errno = 0;
        (void)strtod(n->text, &end);
        bool numeric = n->len > 0 && end == n->text + n->len && errno == 0 &&
                       (n->text[0] == '-' || (n->text[0] >= '0' && n->text[0] <= '9'));
        if (numeric) {
            sl_arena_t *a = sl_arena_create(256, 0);
            sl_value_t v;
            sl_json_error_t je;
            /* the text is only written as a number when JSON reads it as one */
            bool json_number = a && sl_json_parse(a, n->text, n->len, NULL, &v, &je) == 0;
            sl_arena_destroy(a);
            if (json_number) {
                return sl_buf_append(b, n->text, n->len);
            }
        }
    }
    return sl_json_write_string(b, n->text, n->len);
}

static int node_json(const sl_node_t *n, sl_buf_t *b)
{
    int rc = 0;
    if (n->kind == SL_NODE_SCALAR) {
        return scalar_json(n, b);
    }
    bool map = n->kind == SL_NODE_MAP;
    rc = sl_buf_putc(b, map ? '{' : '[');
    for (size_t i = 0; i < n->n && rc == 0; i++) {
        if (i) {
            rc = sl_buf_putc(b, ',');
        }
        if (map && rc == 0) {
            const sl_node_t *k = n->pairs[i].key;
            rc = sl_json_write_string(b, k->text, k->len);
            if (rc == 0) {
                rc = sl_buf_putc(b, ':');
            }
        }
        if (rc == 0) {
            rc = node_json(map ? n->pairs[i].value : n->items[i], b);
        }
    }
    return rc ? rc : sl_buf_putc(b, map ? '}' : ']');
}

static int emit_value(const sl_value_t *v, sl_item_emit_fn emit, void *ud)
{
    sl_buf_t b = SL_BUF_INIT;
    int rc = sl_json_write(&b, v, 0);
    if (rc == 0) {
        rc = emit(ud, b.data, b.len);
    }
    sl_buf_free(&b);
    return rc;
}

static int list_items(sl_step_ctx_t *ctx, const sl_map_cfg_t *cfg, sl_item_emit_fn emit,
                      void *ud)
{
    (void)ctx;
    int rc = 0;
    for (size_t i = 0; i < cfg->items->n && rc == 0; i++) {
        sl_buf_t b = SL_BUF_INIT;
        rc = node_json(cfg->items->items[i], &b);
        if (rc == 0) {
            rc = emit(ud, b.data, b.len);
        }
        sl_buf_free(&b);
    }
    return rc;
}

/* A template's value: an array; or a string holding a JSON array, or
 * comma-separated texts ("a, b,c": three items, blanks dropped). */
static int template_items(sl_step_ctx_t *ctx, const sl_map_cfg_t *cfg, sl_item_emit_fn emit,
                          void *ud)
{
    const sl_node_t *n = cfg->items;
    sl_tmpl_ctx_t tc = sl_step_tmpl_ctx(ctx);
    sl_value_t v;
    sl_err_t e;
    if (sl_template_eval(cfg->items_tmpl, &tc, ctx->arena, &v, &e) != 0) {
        return sl_node_error(&ctx->err, n, "step '%s': items: %s", ctx->step->name, e.msg);
    }
    if (v.type == SL_T_STRING) {
        const char *s = v.u.s;
        size_t len = v.len, i = 0;
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) {
            i++;
        }
        if (i < len && s[i] == '[') {
            sl_json_error_t je;
            if (sl_json_parse(ctx->arena, s, len, NULL, &v, &je) != 0) {
                return sl_node_error(&ctx->err, n, "step '%s': items: the template gave text "
                                     "that starts like a JSON array but is not one (at byte "
                                     "%zu: %s)", ctx->step->name, je.offset, je.reason);
            }
        } else {
            int rc = 0;
            for (size_t start = 0; start <= len && rc == 0;) {
                const char *comma = memchr(s + start, ',', len - start);
                size_t end = comma ? (size_t)(comma - s) : len;
                size_t a0 = start, a1 = end;
                while (a0 < a1 && (s[a0] == ' ' || s[a0] == '\t')) {
                    a0++;
                }
                while (a1 > a0 && (s[a1 - 1] == ' ' || s[a1 - 1] == '\t')) {
                    a1--;
                }
                if (a1 > a0) {
                    sl_value_t one = sl_value_str(s + a0, a1 - a0);
                    rc = emit_value(&one, emit, ud);
                }
                start = end + 1;
            }
            return rc;
        }
    }
    if (v.type != SL_T_ARRAY) {
        return sl_node_error(&ctx->err, n, "step '%s': items: the template gave %s, not a "
                             "list", ctx->step->name, sl_type_name(v.type));
    }
    int rc = 0;
    for (uint32_t i = 0; i < v.len && rc == 0; i++) {
        rc = emit_value(&v.u.items[i], emit, ud);
    }
    return rc;
}

/* ---- dates ---- */

/* A date key's value: YYYY-MM-DD, today, yesterday, today-N, today+N
 * (after templates). */
static int date_value(sl_step_ctx_t *ctx, const sl_node_t *n, const char *tz, int64_t *days)
{
    const char *text;
    sl_err_t e;
    int rc = sl_render_once(ctx, n->text, &text, &e);
    if (rc) {
        return sl_node_error(&ctx->err, n, "step '%s': items: dates: %s", ctx->step->name,
                             rc == SL_EINVAL ? "record is not available here" : e.msg);
    }
    size_t len = strlen(text);
    if (sl_date_parse(text, len, days) == 0) {
        return 0;
    }
    int64_t shift = 0;
    const char *rest = NULL;
    if (strncmp(text, "today", 5) == 0) {
        rest = text + 5;
    } else if (strcmp(text, "yesterday") == 0) {
        rest = "";
        shift = -1;
    }
    if (rest && *rest) {
        char *end = NULL;
        long long k = (*rest == '+' || *rest == '-') ? strtoll(rest, &end, 10) : 0;
        if (!end || *end || end == rest + 1 || k < -MAX_DATES || k > MAX_DATES) {
            rest = NULL;
        } else {
            shift = k;
        }
    }
    if (!rest) {
        return sl_node_error(&ctx->err, n, "step '%s': items: dates: expected YYYY-MM-DD, "
                             "today, yesterday or today-N, got '%s'", ctx->step->name, text);
    }
    *days = sl_tz_today(tz) + shift;
    return 0;
}

static int dates_items(sl_step_ctx_t *ctx, const sl_map_cfg_t *cfg, sl_item_emit_fn emit,
                       void *ud)
{
    const sl_node_t *spec = cfg->spec;
    const char *tz = "UTC";
    int64_t step = 1, ndays = 0, start, end = 0;
    int rc = sl_cfg_str(spec, "tz", "UTC", &tz, &ctx->err);
    if (rc == 0) {
        rc = sl_cfg_int(spec, "step", 1, &step, &ctx->err);
    }
    if (rc) {
        return rc;
    }
    if (!sl_tz_known(tz)) {
        return sl_node_error(&ctx->err, sl_node_get(spec, "tz"), "step '%s': items: dates: "
                             "unknown time zone '%s' (an IANA name such as America/Chicago)",
                             ctx->step->name, tz);
    }
    rc = date_value(ctx, sl_node_get(spec, "start"), tz, &start);
    if (rc) {
        return rc;
    }
    const sl_node_t *end_node = sl_node_get(spec, "end");
    if (end_node) {
        rc = date_value(ctx, end_node, tz, &end);
        if (rc) {
            return rc;
        }
        if ((end - start) * step < 0) {
            return sl_node_error(&ctx->err, end_node, "step '%s': items: dates: end is %s "
                                 "start; with step %lld no date is reached", ctx->step->name,
                                 end < start ? "before" : "after", (long long)step);
        }
        ndays = (end - start) / step + 1;
    } else {
        rc = sl_cfg_int(spec, "days", 1, &ndays, &ctx->err);
        if (rc) {
            return rc;
        }
    }
    if (ndays > MAX_DATES) {
        return sl_node_error(&ctx->err, spec, "step '%s': items: dates: %lld dates, more than "
                             "%d", ctx->step->name, (long long)ndays, MAX_DATES);
    }
    for (int64_t i = 0; i < ndays && rc == 0; i++) {
        int64_t y;
        unsigned m, d;
        sl_civil_from_days(start + i * step, &y, &m, &d);
        char json[32];
        int n = snprintf(json, sizeof json, "\"%04lld-%02u-%02u\"", (long long)y, m, d);
        rc = emit(ud, json, (size_t)n);
    }
    return rc;
}

/* ---- the records of a source ---- */

static int source_items(sl_step_ctx_t *ctx, const sl_map_cfg_t *cfg, sl_item_emit_fn emit,
                        void *ud)
{
    const sl_source_type_t *src = cfg->source.source;
    void *self = NULL;
    int rc = src->open(ctx, cfg->source.node, &self);
    sl_arena_t *a = rc == 0 ? sl_arena_create(1 << 20, 0) : NULL;
    if (rc == 0 && !a) {
        rc = SL_ENOMEM;
    }
    while (rc == 0) {
        sl_arena_reset(a);
        sl_batch_t b = {.arena = a};
        rc = src->next(self, &b, 1000);
        for (size_t i = 0; rc == 0 && i < b.n; i++) {
            rc = emit_value(&b.records[i], emit, ud);
        }
        if (rc == 0) {
            rc = sl_cancel_check(ctx->cancel);
        }
    }
    if (rc == SL_EOF) {
        rc = 0;
    }
    if (rc && !ctx->err.msg[0]) {
        sl_err_set(&ctx->err, rc, "step '%s': items: %s: %s", ctx->step->name, cfg->source.name,
                   sl_strerror(rc));
    }
    if (self && src->close) {
        src->close(self);
    }
    sl_arena_destroy(a);
    return rc;
}

/* ---- chunks of a file ---- */

static int emit_chunk(void *ud, const sl_chunk_t *c)
{
    void **pair = ud;
    char json[160];
    int n = snprintf(json, sizeof json,
                     "{\"index\":%lld,\"offset\":%lld,\"length\":%lld,\"first_line\":%lld}",
                     (long long)c->index, (long long)c->offset, (long long)c->length,
                     (long long)c->first_line);
    return ((sl_item_emit_fn)pair[0])(pair[1], json, (size_t)n);
}

/* Cuts a local file into chunks of `rows` records (chunker.h). */
static int chunks_items(sl_step_ctx_t *ctx, const sl_map_cfg_t *cfg, sl_item_emit_fn emit,
                        void *ud)
{
    const sl_node_t *spec = cfg->spec;
    const char *url, *format = NULL;
    int64_t rows = 1000;
    sl_err_t e;
    int rc = sl_render_once(ctx, sl_node_get(spec, "url")->text, &url, &e);
    if (rc) {
        return sl_node_error(&ctx->err, sl_node_get(spec, "url"), "step '%s': items: chunks: "
                             "url: %s", ctx->step->name,
                             rc == SL_EINVAL ? "record is not available here" : e.msg);
    }
    rc = sl_cfg_int(spec, "rows", 1000, &rows, &ctx->err);
    if (rc == 0) {
        rc = sl_cfg_str(spec, "format", NULL, &format, &ctx->err);
    }
    if (rc) {
        return rc;
    }
    size_t ulen = strlen(url);
    if (!format) {
        format = ulen > 4 && strcmp(url + ulen - 4, ".csv") == 0 ? "csv" : "jsonl";
    }
    bool csv = strcmp(format, "csv") == 0, header = csv;
    char delim = 0;
    rc = sl_cfg_bool(spec, "header", csv, &header, &ctx->err);
    if (rc == 0) {
        rc = sl_cfg_delimiter(spec, "items: chunks", &delim, &ctx->err);
    }
    if (rc) {
        return rc;
    }
    const char *path = sl_resolve_path(ctx->arena, ctx->base_dir, url);
    if (!path) {
        return SL_ENOMEM;
    }
    if (strstr(path, "://")) {
        return sl_node_error(&ctx->err, sl_node_get(spec, "url"), "step '%s': items: chunks: "
                             "only local files can be cut into chunks, got %s",
                             ctx->step->name, url);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return sl_err_set(&ctx->err, SL_EIO, "step '%s': items: chunks: cannot open %s: %s",
                          ctx->step->name, path, strerror(errno));
    }
    sl_csv_opts_t opts = {.delimiter = delim ? delim : ',', .quote = '"'};
    sl_chunker_t ck;
    char *buf = malloc(1 << 16);
    rc = buf ? sl_chunker_init(&ck, csv, &opts, header, rows) : SL_ENOMEM;
    void *pair[2] = {(void *)emit, ud};
    for (bool eof = false; rc == 0 && !eof;) {
        ssize_t n = read(fd, buf, 1 << 16);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = sl_err_set(&ctx->err, SL_EIO, "step '%s': items: chunks: reading %s: %s",
                            ctx->step->name, path, strerror(errno));
            break;
        }
        eof = n == 0;
        rc = sl_chunker_feed(&ck, buf, (size_t)n, eof, emit_chunk, pair);
    }
    close(fd);
    free(buf);
    if (buf) {
        sl_chunker_free(&ck);
    }
    return rc;
}

int sl_map_items(sl_step_ctx_t *ctx, const sl_map_cfg_t *cfg, sl_item_emit_fn emit, void *ud)
{
    switch (cfg->items_kind) {
    case SL_ITEMS_LIST:
        return list_items(ctx, cfg, emit, ud);
    case SL_ITEMS_TEMPLATE:
        return template_items(ctx, cfg, emit, ud);
    case SL_ITEMS_DATES:
        return dates_items(ctx, cfg, emit, ud);
    case SL_ITEMS_SOURCE:
        return source_items(ctx, cfg, emit, ud);
    case SL_ITEMS_CHUNKS:
        return chunks_items(ctx, cfg, emit, ud);
    case SL_ITEMS_BRANCHES:
        for (size_t i = 0; i < ctx->step->nsubsteps; i++) {
            sl_value_t name = sl_value_str(ctx->step->substeps[i].name,
                                           strlen(ctx->step->substeps[i].name));
            int rc = emit_value(&name, emit, ud);
            if (rc) {
                return rc;
            }
        }
        return 0;
    }
    return sl_err_set(&ctx->err, SL_EINVAL, "step '%s': items: unknown kind", ctx->step->name);
}
