/* Text encodings shared by the file and stdout sinks; see sink_text.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink_text.h"
#include "sluice/csv.h"
#include "sluice/json.h"

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static sl_text_kind_t kind_from_path(const char *path, char *delim)
{
    size_t n = strlen(path);
    if (ends_with(path, n, ".gz")) {
        n -= 3;
    }
    if (ends_with(path, n, ".csv")) {
        return SL_TEXT_CSV;
    }
    if (ends_with(path, n, ".tsv")) {
        *delim = '\t';
        return SL_TEXT_CSV;
    }
    if (ends_with(path, n, ".json")) {
        return SL_TEXT_JSON;
    }
    return SL_TEXT_JSONL;
}

int sl_text_check(const sl_node_t *cfg, const char *what, const char *path, sl_err_t *err)
{
    char delim;
    int rc = sl_cfg_delimiter(cfg, what, &delim, err);
    if (!rc) {
        rc = sl_cfg_distinct(cfg, "columns", what, err);
    }
    const sl_node_t *fmt = sl_node_get(cfg, "format");
    if (rc || (fmt && !sl_cfg_literal(fmt)) || (!fmt && !path)) {
        return rc;
    }
    char ignored;
    bool csv = fmt ? strcmp(fmt->text, "csv") == 0 || strcmp(fmt->text, "tsv") == 0
                   : kind_from_path(path, &ignored) == SL_TEXT_CSV;
    static const char *const csv_keys[] = {"delimiter", "header", "columns"};
    for (size_t i = 0; !csv && i < SL_ARRAY_LEN(csv_keys); i++) {
        const sl_node_t *k = sl_node_get(cfg, csv_keys[i]);
        if (k && fmt) {
            return sl_node_error(err, k, "%s: %s applies to CSV, not format %s", what,
                                 csv_keys[i], fmt->text);
        }
        if (k) {
            return sl_node_error(err, k, "%s: %s applies to CSV, and '%s' is not a .csv or "
                                 ".tsv name (set format: csv)", what, csv_keys[i], path);
        }
    }
    return 0;
}

int sl_text_enc_init(sl_text_enc_t *e, const char *what, sl_step_ctx_t *ctx,
                     const sl_node_t *cfg, const char *path, bool allow_json)
{
    memset(e, 0, sizeof *e);
    e->what = what;
    e->kind = SL_TEXT_JSONL;
    e->delim = ',';
    const char *fmt = NULL;
    char delim = 0;
    int rc = sl_text_check(cfg, what, path, &ctx->err);
    if (!rc) {
        rc = sl_cfg_str(cfg, "format", NULL, &fmt, &ctx->err);
    }
    if (!rc) {
        rc = sl_cfg_delimiter(cfg, what, &delim, &ctx->err);
    }
    if (!rc) {
        rc = sl_cfg_bool(cfg, "header", true, &e->header, &ctx->err);
    }
    if (rc) {
        return rc;
    }
    if (fmt) {
        if (strcmp(fmt, "jsonl") == 0 || strcmp(fmt, "ndjson") == 0) {
            e->kind = SL_TEXT_JSONL;
        } else if (strcmp(fmt, "csv") == 0) {
            e->kind = SL_TEXT_CSV;
        } else if (strcmp(fmt, "tsv") == 0) {
            e->kind = SL_TEXT_CSV;
            e->delim = '\t';
        } else if (strcmp(fmt, "json") == 0 && allow_json) {
            e->kind = SL_TEXT_JSON;
        } else {
            return sl_node_error(&ctx->err, sl_node_get(cfg, "format"),
                                 "%s: unknown format '%s' (expected %s)", what, fmt,
                                 allow_json ? "jsonl, csv or json" : "jsonl or csv");
        }
    } else if (path) {
        e->kind = kind_from_path(path, &e->delim);
        if (e->kind == SL_TEXT_JSON && !allow_json) {
            e->kind = SL_TEXT_JSONL;
        }
    }
    if (delim) {
        e->delim = delim;
    }
    const sl_node_t *cols = sl_node_get(cfg, "columns");
    if (cols && !cols->is_null) {
        size_t n = cols->kind == SL_NODE_SEQ ? cols->n : 1;
        e->cols = calloc(n ? n : 1, sizeof *e->cols);
        if (!e->cols) {
            return SL_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            const sl_node_t *c = cols->kind == SL_NODE_SEQ ? cols->items[i] : cols;
            if (c->kind != SL_NODE_SCALAR) {
                return sl_node_error(&ctx->err, c, "%s: columns: expected column names",
                                     what);
            }
            char *copy = malloc(c->len + 1);
            if (!copy) {
                return SL_ENOMEM;
            }
            memcpy(copy, c->text, c->len + 1);
            e->cols[i] = (sl_str_t){copy, c->len};
            e->ncols = i + 1;
        }
        e->fixed_columns = true;
    }
    return 0;
}

void sl_text_enc_free(sl_text_enc_t *e)
{
    for (size_t i = 0; i < e->ncols; i++) {
        free((char *)e->cols[i].ptr);
    }
    free(e->cols);
    e->cols = NULL;
    e->ncols = 0;
}

/* Appends one byte; the buffer usually has room (no call into buf.c). */
static inline int put_byte(sl_buf_t *b, char c)
{
    if (SL_LIKELY(b->len + 2 <= b->cap && (!b->max || b->len < b->max))) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return 0;
    }
    return sl_buf_putc(b, c);
}

/* "record at line 12 of in/a.jsonl" */
static void describe_record(char *out, size_t cap, const sl_batch_t *b, size_t i)
{
    if (b->lines) {
        snprintf(out, cap, "record at line %llu%s%s", (unsigned long long)b->lines[i],
                 b->origin ? " of " : "", b->origin ? b->origin : "");
    } else {
        snprintf(out, cap, "record %zu of the batch%s%s", i + 1, b->origin ? " from " : "",
                 b->origin ? b->origin : "");
    }
}

static int take_columns(sl_text_enc_t *e, const sl_value_t *rec)
{
    e->cols = calloc(rec->len ? rec->len : 1, sizeof *e->cols);
    if (!e->cols) {
        return SL_ENOMEM;
    }
    for (uint32_t i = 0; i < rec->len; i++) {
        const sl_member_t *m = &rec->u.members[i];
        char *copy = malloc(m->klen + 1);
        if (!copy) {
            return SL_ENOMEM;
        }
        memcpy(copy, m->key, m->klen);
        copy[m->klen] = '\0';
        e->cols[i] = (sl_str_t){copy, m->klen};
        e->ncols = i + 1;
    }
    return 0;
}

static int write_header(sl_text_enc_t *e, sl_buf_t *out)
{
    int rc = 0;
    for (size_t j = 0; j < e->ncols && !rc; j++) {
        if (j) {
            rc = put_byte(out, e->delim);
        }
        if (!rc) {
            rc = sl_csv_write_field(out, e->cols[j].ptr, e->cols[j].len, e->delim);
        }
    }
    if (!rc) {
        rc = put_byte(out, '\n');
    }
    e->header_done = true;
    return rc;
}

static bool is_column(const sl_text_enc_t *e, const char *k, size_t kn)
{
    for (size_t j = 0; j < e->ncols; j++) {
        if (e->cols[j].len == kn && memcmp(e->cols[j].ptr, k, kn) == 0) {
            return true;
        }
    }
    return false;
}

static int new_key_error(const sl_text_enc_t *e, const sl_batch_t *b, size_t i,
                         const sl_member_t *m, sl_err_t *err)
{
    char rec[600], list[200];
    describe_record(rec, sizeof rec, b, i);
    size_t n = 0;
    list[0] = '\0';
    for (size_t j = 0; j < e->ncols && n + 1 < sizeof list; j++) {
        int w = snprintf(list + n, sizeof list - n, "%s%.*s", j ? ", " : "",
                         (int)SL_MIN(e->cols[j].len, 60), e->cols[j].ptr);
        if (w < 0 || (size_t)w >= sizeof list - n) {
            snprintf(list + (sizeof list - 5), 5, "...");
            break;
        }
        n += (size_t)w;
    }
    return sl_err_set(err, SL_ESINK,
                      "%s: %s has the field '%.*s', which is not among the CSV columns taken "
                      "from the first record (%s); a CSV file cannot add columns after its "
                      "header: list every column in the sink's `columns`",
                      e->what, rec, (int)SL_MIN(m->klen, 100), m->key, list);
}

static int csv_record(sl_text_enc_t *e, sl_buf_t *out, const sl_batch_t *b, size_t i,
                      sl_err_t *err)
{
    const sl_value_t *rec = &b->records[i];
    if (rec->type != SL_T_OBJECT) {
        char what[600];
        describe_record(what, sizeof what, b, i);
        return sl_err_set(err, SL_ESINK, "%s: %s is %s %s, not an object; CSV needs objects",
                          e->what, what, rec->type == SL_T_ARRAY ? "an" : "a",
                          sl_type_name((sl_type_t)rec->type));
    }
    int rc;
    if (!e->fixed_columns && e->nrecords == 0 && e->ncols == 0 &&
        (rc = take_columns(e, rec)) != 0) {
        return rc;
    }
    if (e->header && !e->header_done && (rc = write_header(e, out)) != 0) {
        return rc;
    }
    size_t start = out->len;
    const sl_member_t *m = rec->u.members;
    uint32_t matched = 0;
    const sl_value_t *only = NULL;
    for (size_t j = 0; j < e->ncols; j++) {
        if (j && (rc = put_byte(out, e->delim)) != 0) {
            return rc;
        }
        const sl_str_t *c = &e->cols[j];
        const sl_value_t *v;
        /* Records usually carry their keys in column order. */
        if (j < rec->len && m[j].klen == c->len && sl_mem_eq(m[j].key, c->ptr, c->len)) {
            v = &m[j].val;
        } else {
            v = sl_object_get(rec, c->ptr, c->len);
        }
        if (v) {
            matched++;
            only = v;
            if ((rc = sl_csv_write_value(out, v, e->delim)) != 0) {
                return rc;
            }
        }
    }
    if (e->ncols == 1 && (!only || only->type == SL_T_NULL)) {
        /* An empty line would be read back as no record at all. */
        if ((rc = sl_buf_append(out, "\"\"", 2)) != 0) {
            return rc;
        }
    }
    if ((rc = put_byte(out, '\n')) != 0) {
        return rc;
    }
    if (!e->fixed_columns && matched < rec->len) {
        for (uint32_t k = 0; k < rec->len; k++) {
            if (!is_column(e, m[k].key, m[k].klen)) {
                out->len = start;
                out->data[start] = '\0';
                return new_key_error(e, b, i, &m[k], err);
            }
        }
        /* Only duplicate keys: every field has its column. */
    }
    return 0;
}

int sl_text_enc_record(sl_text_enc_t *e, sl_buf_t *out, const sl_batch_t *b, size_t i,
                       sl_err_t *err)
{
    int rc;
    switch (e->kind) {
    case SL_TEXT_CSV:
        rc = csv_record(e, out, b, i, err);
        break;
    case SL_TEXT_JSON:
        rc = e->nrecords ? sl_buf_append(out, ",\n", 2) : put_byte(out, '[');
        if (!rc) {
            rc = sl_json_write(out, &b->records[i], 0);
        }
        break;
    default:
        rc = sl_json_write(out, &b->records[i], 0);
        if (!rc) {
            rc = put_byte(out, '\n');
        }
        break;
    }
    if (!rc) {
        e->nrecords++;
    }
    return rc;
}

int sl_text_enc_finish(sl_text_enc_t *e, sl_buf_t *out)
{
    if (e->kind == SL_TEXT_JSON) {
        return e->nrecords ? sl_buf_append(out, "]\n", 2) : sl_buf_append(out, "[]\n", 3);
    }
    if (e->kind == SL_TEXT_CSV && e->header && !e->header_done && e->ncols > 0) {
        return write_header(e, out);
    }
    return 0;
}
