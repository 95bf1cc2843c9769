/* The `sql` source: rows of a table or query from PostgreSQL or SQLite,
 * streamed batch by batch (the driver never holds the whole result). This
 * file is the dialect-neutral part: config, the SELECT it builds,
 * incremental cursors and checkpoints; the databases are behind drivers
 * (sql_src_internal.h; sql_src_pg.c, sql_src_sqlite.c).
 *
 * Incremental reads run
 *   SELECT * FROM <table | (query) AS q> WHERE cursor >= :last
 *   ORDER BY cursor, pk...
 * with :last always bound, never spliced. Each batch's checkpoint is
 * {"field", "cursor": the last cursor value delivered, "keys": the primary
 * keys already delivered at exactly that value}, cursor and keys in the
 * database's native form (PostgreSQL: text; SQLite: storage class). The
 * next run reads from that value again (>=) and drops the listed keys, so
 * rows sharing a cursor value are neither lost (a row committed later with
 * the boundary's value) nor delivered twice, whether the run ended or was
 * killed after a batch. Rows whose cursor is null are an error (they would
 * never be read). Without `incremental`, every run reads everything and
 * batches carry no checkpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/connection.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/pg.h"
#include "sluice/strset.h"
#include "sql_src_internal.h"

static const sl_field_spec_t incremental_config[] = {
    {.name = "cursor_field", .type = SL_FIELD_STRING, .required = true, .min_len = 1,
     .doc = "column that grows with every insert/update (updated_at, a sequence id)"},
    {.name = "initial", .type = SL_FIELD_STRING, .def = "read everything",
     .doc = "lower bound when there is no checkpoint yet"},
    {.name = NULL},
};

static const sl_field_spec_t sql_source_config[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .doc = "sql"},
    {.name = "url", .type = SL_FIELD_STRING, .min_len = 1,
     .doc = "postgres://user@host:5432/db, sqlite:///rel/to/pipeline.db, sqlite:////abs.db or "
            "a path"},
    {.name = "connection", .type = SL_FIELD_STRING, .min_len = 1,
     .doc = "name of an entry in the pipeline's connections (instead of url)"},
    {.name = "table", .type = SL_FIELD_STRING, .min_len = 1,
     .doc = "table to read (schema.table allowed); or query"},
    {.name = "query", .type = SL_FIELD_STRING, .min_len = 1, .doc = "SELECT to read; or table"},
    {.name = "incremental", .type = SL_FIELD_MAP, .children = incremental_config,
     .doc = "read only new and changed rows: {cursor_field, initial}"},
    {.name = "primary_key", .type = SL_FIELD_STRING_LIST, .min_len = 1,
     .def = "the table's primary key",
     .doc = "column(s) identifying a row; incremental reads of a query need it"},
    {.name = NULL},
};

typedef struct {
    sl_step_ctx_t *ctx;
    const sl_sqlsrc_driver_t *drv;
    sl_sqlsrc_conn_t *conn;
    const char *what;   /* table "x" / query "SELECT ..." (messages) */
    const char *origin; /* where#table, for batches */
    const char *schema, *table, *query;
    const char *cursor; /* incremental cursor_field, or NULL */
    const char *initial;
    char **pk;
    size_t npk;

    size_t ncols;
    sl_str_t *names;    /* column names (step arena) */
    sl_value_t *vals;   /* one row's values */
    uint32_t *want;     /* cursor, then pk columns */
    size_t nwant;
    sl_value_t *native; /* their native values */

    /* incremental state */
    sl_value_t bound;     /* lower bound (native), when has_bound */
    bool has_bound;
    sl_strset_t resume_keys; /* keys delivered at the bound by earlier runs */
    bool at_resume;       /* still reading rows at the bound */
    sl_buf_t cur;         /* JSON of the last delivered cursor value */
    sl_buf_t keys;        /* JSON keys delivered at cur: "[..],[..]" */
    size_t nkeys;
    sl_buf_t rowcur, rowkey; /* scratch */

    uint64_t rows;
    bool eof;
} sql_src_t;

static int oom(sql_src_t *s)
{
    return sl_err_set(&s->ctx->err, SL_ENOMEM, "source 'sql': out of memory");
}

/* "source 'sql': WHERE: table "t": message" from a driver message. */
static int db_error(sql_src_t *s, int rc, const char *msg)
{
    char copy[SL_ERRMSG_MAX];
    snprintf(copy, sizeof copy, "%s", msg);
    return sl_err_set(&s->ctx->err, rc ? rc : SL_EIO, "source 'sql': %s: %s: %s",
                      s->conn ? s->drv->where(s->conn) : "?", s->what, copy);
}

static int render(sl_step_ctx_t *ctx, const sl_node_t *node, const char *key, const char *text,
                  const char **out)
{
    sl_err_t terr;
    int rc = sl_render_once(ctx, text, out, &terr);
    if (rc == SL_EINVAL) {
        return sl_node_error(&ctx->err, node,
                             "source 'sql': %s: only params, run and env can be used here, not "
                             "record",
                             key);
    }
    if (rc == SL_ECONFIG) {
        return sl_node_error(&ctx->err, node, "source 'sql': %s: %s", key, terr.msg);
    }
    return rc;
}

/* Appends the quoted name; "schema.table" when schema is set. */
static int quote_name(sl_buf_t *b, const char *schema, const char *name)
{
    int rc = 0;
    if (schema) {
        rc = sl_pg_quote_ident(b, schema, strlen(schema));
        rc = rc ? rc : sl_buf_putc(b, '.');
    }
    return rc ? rc : sl_pg_quote_ident(b, name, strlen(name));
}

/* FROM target: "schema"."table" or (query) AS q. */
static int append_from(sql_src_t *s, sl_buf_t *b)
{
    if (s->table) {
        return quote_name(b, s->schema, s->table);
    }
    int rc = sl_buf_putc(b, '(');
    rc = rc ? rc : sl_buf_append_c(b, s->query);
    return rc ? rc : sl_buf_append_c(b, ") AS q");
}

static int read_pk(sql_src_t *s, const sl_node_t *cfg)
{
    const sl_node_t *k = sl_node_get(cfg, "primary_key");
    if (!k || k->is_null) {
        return 0;
    }
    size_t n = k->kind == SL_NODE_SEQ ? k->n : 1;
    s->pk = calloc(n ? n : 1, sizeof *s->pk);
    if (!s->pk) {
        return oom(s);
    }
    for (size_t i = 0; i < n; i++) {
        const sl_node_t *item = k->kind == SL_NODE_SEQ ? k->items[i] : k;
        const char *text = NULL;
        int rc = sl_node_to_str(item, "primary_key", &text, &s->ctx->err);
        if (rc) {
            return rc;
        }
        if (!*text) {
            return sl_node_error(&s->ctx->err, item, "source 'sql': primary_key: empty name");
        }
        if (!(s->pk[s->npk++] = strdup(text))) {
            return oom(s);
        }
    }
    return 0;
}

/* The initial bound from config: numbers bind as numbers (SQLite compares
 * storage classes), anything else as text. */
static sl_value_t initial_value(sl_arena_t *a, const char *text)
{
    sl_value_t v;
    sl_json_error_t jerr;
    size_t n = strlen(text);
    if (n && ((text[0] >= '0' && text[0] <= '9') || text[0] == '-') &&
        sl_json_parse(a, text, n, NULL, &v, &jerr) == 0 &&
        (v.type == SL_T_INT || v.type == SL_T_DOUBLE)) {
        return v;
    }
    return sl_value_str(text, n);
}

/* Reads the checkpoint of an earlier run: the bound and its keys. */
static int parse_resume(sql_src_t *s, const char *text)
{
    sl_step_ctx_t *ctx = s->ctx;
    sl_value_t v;
    sl_json_error_t jerr;
    int rc = sl_json_parse(ctx->arena, text, strlen(text), NULL, &v, &jerr);
    if (rc == SL_ENOMEM) {
        return oom(s);
    }
    sl_value_t *f = rc ? NULL : sl_object_get_c(&v, "field");
    sl_value_t *c = rc ? NULL : sl_object_get_c(&v, "cursor");
    sl_value_t *k = rc ? NULL : sl_object_get_c(&v, "keys");
    if (!f || f->type != SL_T_STRING || !c || !k || k->type != SL_T_ARRAY) {
        sl_warn("step %s: source 'sql': ignoring an unreadable checkpoint", ctx->step->name);
        return 0;
    }
    if (!sl_str_eq_c((sl_str_t){f->u.s, f->len}, s->cursor)) {
        sl_warn("step %s: source 'sql': the checkpoint is for cursor_field '%.*s', not '%s': "
                "starting from initial",
                ctx->step->name, (int)f->len, f->u.s, s->cursor);
        return 0;
    }
    s->bound = *c;
    s->has_bound = true;
    s->at_resume = true;
    rc = sl_json_write(&s->cur, c, 0);
    for (size_t i = 0; i < k->len && !rc; i++) {
        sl_buf_clear(&s->rowkey);
        rc = sl_json_write(&s->rowkey, &k->u.items[i], 0);
        rc = rc ? rc : sl_strset_add(&s->resume_keys, s->rowkey.data, s->rowkey.len);
        if (!rc && i) {
            rc = sl_buf_putc(&s->keys, ',');
        }
        rc = rc ? rc : sl_buf_append(&s->keys, s->rowkey.data, s->rowkey.len);
        s->nkeys++;
    }
    return rc ? oom(s) : 0;
}

/* Key values of the current row as "(id=7, region=eu)" for messages. */
static void describe_key(sql_src_t *s, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t k = 1; k < s->nwant && len + 1 < cap; k++) {
        sl_buf_t b = SL_BUF_INIT;
        sl_value_to_text(&s->native[k], &b);
        len += (size_t)snprintf(out + len, cap - len, "%s%s=%.60s", k == 1 ? " (" : ", ",
                                s->pk[k - 1], b.data ? b.data : "");
        sl_buf_free(&b);
    }
    if (len && len + 1 < cap) {
        snprintf(out + len, cap - len, ")");
    }
}

/* Runs the query that finds a null cursor: such rows would be skipped by
 * every cursor >= :last, so they are an error, named by their key. */
static int check_null_cursor(sql_src_t *s)
{
    sl_buf_t q = SL_BUF_INIT;
    int rc = sl_buf_append_c(&q, "SELECT ");
    for (size_t i = 0; i < s->npk && !rc; i++) {
        rc = i ? sl_buf_append_c(&q, ", ") : 0;
        rc = rc ? rc : sl_pg_quote_ident(&q, s->pk[i], strlen(s->pk[i]));
    }
    rc = rc ? rc : sl_buf_append_c(&q, " FROM ");
    rc = rc ? rc : append_from(s, &q);
    rc = rc ? rc : sl_buf_append_c(&q, " WHERE ");
    rc = rc ? rc : sl_pg_quote_ident(&q, s->cursor, strlen(s->cursor));
    rc = rc ? rc : sl_buf_append_c(&q, " IS NULL LIMIT 1");
    if (rc) {
        sl_buf_free(&q);
        return oom(s);
    }
    sl_err_t derr;
    rc = s->drv->start(s->conn, q.data, NULL, NULL, &derr);
    sl_buf_free(&q);
    if (rc) {
        return db_error(s, rc, derr.msg);
    }
    sl_arena_t *a = sl_arena_create(4096, 0);
    sl_value_t *vals = a ? sl_arena_calloc(a, (s->npk + 1) * sizeof *vals) : NULL;
    if (!vals) {
        sl_arena_destroy(a);
        s->drv->finish(s->conn);
        return oom(s);
    }
    uint64_t bytes = 0;
    rc = s->drv->row(s->conn, a, vals, NULL, 0, NULL, &bytes, &derr);
    if (rc == 0) {
        char key[300] = "";
        size_t len = 0;
        for (size_t k = 0; k < s->npk && len + 1 < sizeof key; k++) {
            sl_buf_t b = SL_BUF_INIT;
            sl_value_to_text(&vals[k], &b);
            len += (size_t)snprintf(key + len, sizeof key - len, "%s%s=%.60s", k ? ", " : "",
                                    s->pk[k], b.data ? b.data : "");
            sl_buf_free(&b);
        }
        rc = sl_err_set(&s->ctx->err, SL_EPARSE,
                        "source 'sql': %s: %s: the row with %s has a null %s (the incremental "
                        "cursor_field); such rows would never be read: fill it, or read a "
                        "query with COALESCE",
                        s->drv->where(s->conn), s->what, key, s->cursor);
    } else if (rc == SL_EOF) {
        rc = 0;
    } else {
        rc = db_error(s, rc, derr.msg);
    }
    sl_arena_destroy(a);
    s->drv->finish(s->conn);
    return rc;
}

static int map_columns(sql_src_t *s);

/* Starts the main SELECT and maps the columns. */
static int start_read(sql_src_t *s)
{
    sl_step_ctx_t *ctx = s->ctx;
    sl_buf_t before = SL_BUF_INIT, after = SL_BUF_INIT;
    int rc = sl_buf_append_c(&before, "SELECT * FROM ");
    rc = rc ? rc : append_from(s, &before);
    if (s->cursor) {
        sl_buf_t *tail = s->has_bound ? &after : &before;
        if (s->has_bound) {
            rc = rc ? rc : sl_buf_append_c(&before, " WHERE ");
            rc = rc ? rc : sl_pg_quote_ident(&before, s->cursor, strlen(s->cursor));
            rc = rc ? rc : sl_buf_append_c(&before, " >= ");
        }
        rc = rc ? rc : sl_buf_append_c(tail, " ORDER BY ");
        rc = rc ? rc : sl_pg_quote_ident(tail, s->cursor, strlen(s->cursor));
        for (size_t i = 0; i < s->npk && !rc; i++) {
            rc = sl_buf_append_c(tail, ", ");
            rc = rc ? rc : sl_pg_quote_ident(tail, s->pk[i], strlen(s->pk[i]));
        }
    }
    if (rc) {
        sl_buf_free(&before);
        sl_buf_free(&after);
        return oom(s);
    }
    sl_err_t derr;
    sl_debug("step %s: source 'sql': %s%s%s", ctx->step->name, before.data,
             s->has_bound ? ":last" : "", after.data ? after.data : "");
    rc = s->drv->start(s->conn, before.data, after.data ? after.data : "",
                       s->has_bound ? &s->bound : NULL, &derr);
    sl_buf_free(&before);
    sl_buf_free(&after);
    if (rc) {
        /* "column does not exist" from ORDER BY: say which key and list
         * the columns there are, if a plain read of the target works */
        sl_err_t perr;
        sl_buf_t probe = SL_BUF_INIT;
        int prc = sl_buf_append_c(&probe, "SELECT * FROM ");
        prc = prc ? prc : append_from(s, &probe);
        prc = prc ? prc : sl_buf_append_c(&probe, " LIMIT 0");
        prc = prc || !s->cursor ? SL_EINVAL
                                : s->drv->start(s->conn, probe.data, NULL, NULL, &perr);
        sl_buf_free(&probe);
        if (prc == 0) {
            prc = map_columns(s);
            s->drv->finish(s->conn);
            if (prc == SL_ECONFIG) {
                return prc;
            }
        }
        return db_error(s, rc, derr.msg);
    }
    return map_columns(s);
}

/* Copies the result's column names and finds the cursor and key columns;
 * SL_ECONFIG when one is missing. */
static int map_columns(sql_src_t *s)
{
    sl_step_ctx_t *ctx = s->ctx;
    int rc;
    s->ncols = s->drv->ncols(s->conn);
    s->names = sl_arena_alloc(ctx->arena, (s->ncols ? s->ncols : 1) * sizeof *s->names);
    free(s->vals);
    s->vals = calloc(s->ncols ? s->ncols : 1, sizeof *s->vals);
    if (!s->names || !s->vals) {
        return oom(s);
    }
    for (size_t i = 0; i < s->ncols; i++) {
        const char *n = sl_arena_strdup(ctx->arena, s->drv->colname(s->conn, i));
        if (!n) {
            return oom(s);
        }
        s->names[i] = sl_str_c(n);
    }
    if (!s->cursor) {
        return 0;
    }
    s->nwant = 1 + s->npk;
    free(s->want);
    free(s->native);
    s->want = calloc(s->nwant, sizeof *s->want);
    s->native = calloc(s->nwant, sizeof *s->native);
    if (!s->want || !s->native) {
        return oom(s);
    }
    for (size_t k = 0; k < s->nwant; k++) {
        const char *name = k == 0 ? s->cursor : s->pk[k - 1];
        size_t i = 0;
        while (i < s->ncols && !sl_str_eq_c(s->names[i], name)) {
            i++;
        }
        if (i == s->ncols) {
            sl_buf_t cols = SL_BUF_INIT;
            for (size_t j = 0; j < s->ncols && j < 40; j++) {
                sl_buf_printf(&cols, "%s%s", j ? ", " : "", s->names[j].ptr);
            }
            rc = sl_err_set(&ctx->err, SL_ECONFIG,
                            "source 'sql': %s: %s: %s '%s' is not a column of the result "
                            "(columns: %s)",
                            s->drv->where(s->conn), s->what,
                            k == 0 ? "incremental cursor_field" : "primary_key", name,
                            cols.data ? cols.data : "none");
            sl_buf_free(&cols);
            return rc;
        }
        s->want[k] = (uint32_t)i;
    }
    return 0;
}

static void sql_close(void *self);

/* Rules between keys, without connecting: for `sluice validate`, and run
 * first by open(). */
static int sql_check(const sl_node_t *cfg, sl_err_t *err)
{
    const sl_node_t *tnode = sl_node_get(cfg, "table");
    const sl_node_t *qnode = sl_node_get(cfg, "query");
    int rc = sl_connection_db_check(cfg, "source 'sql'", err);
    if (!rc && !tnode == !qnode) {
        rc = sl_node_error(err, tnode ? tnode : cfg, "source 'sql': give either table or query%s",
                           tnode ? ", not both" : "");
    }
    if (!rc && qnode && sl_cfg_literal(qnode) && strspn(qnode->text, " \t\r\n;") == qnode->len) {
        rc = sl_node_error(err, qnode, "source 'sql': query: empty");
    }
    if (!rc && qnode && sl_node_get(cfg, "incremental") && !sl_node_get(cfg, "primary_key")) {
        rc = sl_node_error(err, sl_node_get(cfg, "incremental"),
                           "source 'sql': incremental reads of a query need primary_key: "
                           "[columns] (rows sharing a cursor value are told apart by it)");
    }
    return rc ? rc : sl_cfg_distinct(cfg, "primary_key", "source 'sql'", err);
}

static int sql_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    *self = NULL;
    sql_src_t *s = calloc(1, sizeof *s);
    if (!s) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "source 'sql': out of memory");
    }
    s->ctx = ctx;
    const char *url = NULL;
    const sl_node_t *url_node = cfg;
    const sl_node_t *tnode = sl_node_get(cfg, "table");
    const sl_node_t *qnode = sl_node_get(cfg, "query");
    const sl_node_t *inc = sl_node_get(cfg, "incremental");
    int rc = sql_check(cfg, &ctx->err);
    rc = rc ? rc : sl_connection_db_url(ctx, cfg, "source 'sql'", &url, &url_node);
    rc = rc ? rc : render(ctx, url_node, "url", url, &url);
    if (!rc && tnode) {
        rc = sl_node_to_str(tnode, "table", &s->table, &ctx->err);
        rc = rc ? rc : render(ctx, tnode, "table", s->table, &s->table);
        if (!rc && !*s->table) {
            rc = sl_node_error(&ctx->err, tnode, "source 'sql': table: empty name");
        }
        const char *dot = rc ? NULL : strchr(s->table, '.');
        if (dot) {
            s->schema = sl_arena_strndup(ctx->arena, s->table, (size_t)(dot - s->table));
            s->table = dot + 1;
        }
        if (!rc) {
            s->what = sl_arena_sprintf(ctx->arena, "table \"%s%s%s\"", s->schema ? s->schema : "",
                                       s->schema ? "." : "", s->table);
        }
    } else if (!rc) {
        rc = sl_node_to_str(qnode, "query", &s->query, &ctx->err);
        rc = rc ? rc : render(ctx, qnode, "query", s->query, &s->query);
        if (!rc) {
            /* a trailing ';' cannot stay inside (query) AS q */
            size_t n = strlen(s->query);
            while (n && strchr(" \t\r\n;", s->query[n - 1])) {
                n--;
            }
            s->query = sl_arena_strndup(ctx->arena, s->query, n);
            if (s->query && !n) {
                rc = sl_node_error(&ctx->err, qnode, "source 'sql': query: empty");
            }
            s->what = s->query ? sl_arena_sprintf(ctx->arena, "query \"%.80s%s\"", s->query,
                                                  n > 80 ? "..." : "")
                               : NULL;
        }
    }
    if (!rc && inc) {
        rc = sl_cfg_str(inc, "cursor_field", NULL, &s->cursor, &ctx->err);
        rc = rc ? rc : sl_cfg_str(inc, "initial", NULL, &s->initial, &ctx->err);
        if (!rc && (!s->cursor || !*s->cursor)) {
            rc = sl_node_error(&ctx->err, inc, "source 'sql': incremental: missing cursor_field");
        }
    }
    rc = rc ? rc : read_pk(s, cfg);
    if (!rc && (!s->what)) {
        rc = oom(s);
    }
    if (!rc) {
        if (sl_pg_is_url(url)) {
            s->drv = &sl_sqlsrc_driver_pg;
        } else if (sl_sqlsrc_driver_sqlite.accepts(url)) {
            s->drv = &sl_sqlsrc_driver_sqlite;
        } else {
            char shown[512];
            sl_pg_where(url, shown, sizeof shown);
            rc = sl_node_error(&ctx->err, url_node,
                               "source 'sql': database '%s' not supported (postgres://..., "
                               "sqlite:///path.db or a path)",
                               shown);
        }
    }
    if (!rc) {
        sl_err_t derr;
        rc = s->drv->connect(url, ctx->base_dir, &s->conn, &derr);
        if (rc) {
            rc = sl_err_set(&ctx->err, rc, "source 'sql': %s", derr.msg);
        }
    }
    if (!rc) {
        s->origin = sl_arena_sprintf(ctx->arena, "%s %s", s->drv->where(s->conn), s->what);
        rc = s->origin ? 0 : oom(s);
    }
    if (!rc && s->cursor && s->npk == 0) {
        if (s->table) {
            sl_err_t derr;
            rc = s->drv->primary_key(s->conn, s->schema, s->table, &s->pk, &s->npk, &derr);
            if (rc) {
                rc = db_error(s, rc, derr.msg);
            }
        }
        if (!rc && s->npk == 0) {
            rc = sl_node_error(&ctx->err, inc,
                               "source 'sql': %s: %s: incremental reads need a primary key "
                               "(rows sharing a cursor value are told apart by it): %s",
                               s->drv->where(s->conn), s->what,
                               s->table ? "the table has none; set primary_key: [columns]"
                                        : "set primary_key: [columns] for a query");
        }
    }
    if (!rc && s->cursor) {
        if (ctx->resume && !ctx->full_refresh) {
            rc = parse_resume(s, ctx->resume);
        }
        if (!rc && !s->has_bound && s->initial) {
            s->bound = initial_value(ctx->arena, s->initial);
            s->has_bound = true;
        }
        if (!rc && s->has_bound) {
            rc = check_null_cursor(s);
        }
    }
    rc = rc ? rc : start_read(s);
    if (rc) {
        sql_close(s);
        return rc;
    }
    *self = s;
    return 0;
}

/* Tracks the incremental position for the row in s->native; *skip when an
 * earlier run already delivered it. */
static int track(sql_src_t *s, bool *skip)
{
    *skip = false;
    if (s->native[0].type == SL_T_NULL) {
        char key[320];
        describe_key(s, key, sizeof key);
        return sl_err_set(&s->ctx->err, SL_EPARSE,
                          "source 'sql': %s: %s: row %llu%s has a null %s (the incremental "
                          "cursor_field); such rows would never be read again: fill it, or "
                          "read a query with COALESCE",
                          s->drv->where(s->conn), s->what, (unsigned long long)s->rows, key,
                          s->cursor);
    }
    sl_buf_clear(&s->rowcur);
    sl_buf_clear(&s->rowkey);
    int rc = sl_json_write(&s->rowcur, &s->native[0], 0);
    rc = rc ? rc : sl_buf_putc(&s->rowkey, '[');
    for (size_t k = 1; k < s->nwant && !rc; k++) {
        rc = k > 1 ? sl_buf_putc(&s->rowkey, ',') : 0;
        rc = rc ? rc : sl_json_write(&s->rowkey, &s->native[k], 0);
    }
    rc = rc ? rc : sl_buf_putc(&s->rowkey, ']');
    if (rc) {
        return oom(s);
    }
    bool same = s->cur.len == s->rowcur.len && memcmp(s->cur.data, s->rowcur.data, s->cur.len) == 0;
    if (same) {
        if (s->at_resume && sl_strset_has(&s->resume_keys, s->rowkey.data, s->rowkey.len)) {
            *skip = true;
            return 0;
        }
        rc = s->nkeys ? sl_buf_putc(&s->keys, ',') : 0;
    } else {
        if (s->at_resume) {
            s->at_resume = false;
            sl_strset_free(&s->resume_keys);
        }
        sl_buf_clear(&s->cur);
        sl_buf_clear(&s->keys);
        s->nkeys = 0;
        rc = sl_buf_append(&s->cur, s->rowcur.data, s->rowcur.len);
    }
    rc = rc ? rc : sl_buf_append(&s->keys, s->rowkey.data, s->rowkey.len);
    s->nkeys++;
    return rc ? oom(s) : 0;
}

static int make_checkpoint(sql_src_t *s, sl_batch_t *b)
{
    sl_buf_t cp = SL_BUF_INIT;
    int rc = sl_buf_append_c(&cp, "{\"field\":");
    rc = rc ? rc : sl_json_write_string(&cp, s->cursor, strlen(s->cursor));
    rc = rc ? rc : sl_buf_append_c(&cp, ",\"cursor\":");
    rc = rc ? rc : sl_buf_append(&cp, s->cur.data, s->cur.len);
    rc = rc ? rc : sl_buf_append_c(&cp, ",\"keys\":[");
    rc = rc ? rc : sl_buf_append(&cp, s->keys.data ? s->keys.data : "", s->keys.len);
    rc = rc ? rc : sl_buf_append_c(&cp, "]}");
    b->checkpoint = rc ? NULL : sl_arena_strndup(b->arena, cp.data, cp.len);
    sl_buf_free(&cp);
    return b->checkpoint ? 0 : oom(s);
}

static int sql_next(void *self, sl_batch_t *b, size_t max)
{
    sql_src_t *s = self;
    b->origin = s->origin;
    if (s->eof) {
        return SL_EOF;
    }
    size_t ncols = s->ncols;
    uint64_t bytes = 0;
    while (b->n < max) {
        sl_err_t derr;
        int rc = s->drv->row(s->conn, b->arena, s->vals, s->want, s->nwant, s->native, &bytes,
                             &derr);
        if (rc == SL_EOF) {
            s->eof = true;
            break;
        }
        if (rc) {
            return db_error(s, rc, derr.msg);
        }
        s->rows++;
        if (s->cursor) {
            bool skip;
            rc = track(s, &skip);
            if (rc) {
                return rc;
            }
            if (skip) {
                continue;
            }
        }
        sl_member_t *m = sl_arena_alloc(b->arena, (ncols ? ncols : 1) * sizeof *m);
        if (!m) {
            return oom(s);
        }
        for (size_t i = 0; i < ncols; i++) {
            m[i].key = s->names[i].ptr;
            m[i].klen = (uint32_t)s->names[i].len;
            m[i].reserved = 0;
            m[i].val = s->vals[i];
        }
        sl_value_t rec = {0};
        rec.type = SL_T_OBJECT;
        rec.len = (uint32_t)ncols;
        rec.u.members = m;
        rc = sl_batch_push(b, rec, s->rows);
        if (rc) {
            return oom(s);
        }
    }
    b->bytes_in = bytes;
    if (b->n == 0) {
        return SL_EOF;
    }
    return s->cursor ? make_checkpoint(s, b) : 0;
}

static void sql_close(void *self)
{
    sql_src_t *s = self;
    if (!s) {
        return;
    }
    if (s->conn) {
        s->drv->disconnect(s->conn);
    }
    for (size_t i = 0; i < s->npk; i++) {
        free(s->pk[i]);
    }
    free(s->pk);
    free(s->vals);
    free(s->want);
    free(s->native);
    sl_strset_free(&s->resume_keys);
    sl_buf_free(&s->cur);
    sl_buf_free(&s->keys);
    sl_buf_free(&s->rowcur);
    sl_buf_free(&s->rowkey);
    free(s);
}

const sl_source_type_t sl_source_sql = {
    .name = "sql",
    .doc = "rows of a table or query from PostgreSQL or SQLite, optionally incremental",
    .config = sql_source_config,
    .open = sql_open,
    .next = sql_next,
    .close = sql_close,
    .check = sql_check,
};
