/* The PostgreSQL driver of the `sql` sink (see sql_internal.h).
 *
 * Rows travel as COPY ... FROM STDIN, never as INSERTs: in binary format
 * when every column of the set has a type sql_pg_binary.c writes (the
 * server then parses no numbers or timestamps), else in text format. Each
 * column set has a buffer of rows, sent in large
 * PQputCopyData chunks while the batch is still being formatted, so the
 * server parses one chunk while the next is built. Only one COPY can be
 * open on a connection, so rows of another set wait in their own buffer
 * until flush (or until that buffer is big enough to be worth switching).
 *
 * Upserts COPY into a temporary table with the set's columns plus the row's
 * ordinal, then merge: INSERT INTO target SELECT DISTINCT ON (keys) ...
 * ORDER BY keys, ordinal DESC ON CONFLICT (keys) DO UPDATE SET the set's
 * other columns, then TRUNCATE the temporary table. Records are merged in
 * runs of consecutive rows of one set, so a key that appears in several
 * sets ends as if the rows had been applied one by one.
 *
 * Errors carry the server's message; a COPY error names its line, which is
 * mapped back to the batch row (failed_row). Deadlocks and
 * serialization failures return SL_RETRY: sql.c rolls back and replays
 * the batch. Identifiers are always quoted; "schema.table" is split on
 * the first dot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/json.h"
#include "sluice/pg.h"
#include "sluice/state.h"
#include "sluice/timeutil.h"
#include "sql_internal.h"
#include "sql_pg_binary.h"

#define CHUNK (256 * 1024)     /* COPY data sent once a buffer holds this much */
#define SWITCH (8 * 1024 * 1024) /* another set's buffer this big ends the open COPY */
#define SEQ_COL "__sluice_seq"

typedef struct {
    bool ready;       /* copy_sql (and tmp / merge_sql) built */
    char *copy_sql;   /* COPY target-or-tmp (cols) FROM STDIN */
    char *merge_sql;  /* upsert: INSERT ... SELECT ... ON CONFLICT; TRUNCATE tmp */
    char *tmp_create; /* upsert: CREATE TEMP TABLE tmp AS ... WITH NO DATA */
    bool tmp_made;    /* tmp exists in this session */
    char *table;      /* the target, for messages */
    bool binary;      /* COPY ... (FORMAT binary): every column's type allows it */
    Oid *oids;        /* binary: the type of each COPY column, in order */
    sl_buf_t buf;     /* rows not sent yet (escaped text, or binary tuples) */
    size_t *rows;     /* batch row of each line of the current COPY command */
    size_t nrows, caprows;
} pgset_t;

struct sl_sql_conn {
    PGconn *pg;
    char where[512];
    pgset_t *sets;
    size_t nsets;
    long copying;   /* set whose COPY is open, or -1 */
    long run;       /* upsert: set of the rows not merged yet, or -1 */
    size_t ordinal; /* rows inserted since begin */
    size_t failed;  /* batch row the last error is about, or SIZE_MAX */
    unsigned tmp_seq;
    bool cp_table;
    bool upsert;
    sl_buf_t sql;
    sl_buf_t json;
};

static int oom(sl_err_t *err)
{
    return sl_err_set(err, SL_ENOMEM, "sql sink: out of memory");
}

/* "sql sink: postgres URL: WHAT: server message"; SL_RETRY for deadlocks
 * and serialization failures. */
static int pg_err(sl_sql_conn_t *c, const PGresult *r, sl_err_t *err, const char *what)
{
    int code = r && sl_pg_retryable(r) ? SL_RETRY : SL_ESINK;
    return sl_err_set(err, code, "sql sink: postgres %s: %s: %s", c->where, what,
                      sl_pg_msg(c->pg, r));
}

/* Appends "schema"."table" (split on the first dot) or "table". */
static int put_table(sl_buf_t *b, const char *table)
{
    const char *dot = strchr(table, '.');
    if (dot && dot != table && dot[1]) {
        int rc = sl_pg_quote_ident(b, table, (size_t)(dot - table));
        rc = rc ? rc : sl_buf_putc(b, '.');
        return rc ? rc : sl_pg_quote_ident(b, dot + 1, strlen(dot + 1));
    }
    return sl_pg_quote_ident(b, table, strlen(table));
}

static int put_ident(sl_buf_t *b, const char *name)
{
    return sl_pg_quote_ident(b, name, strlen(name));
}

/* Runs sql; on failure fills err with what and "table \"t\"". */
static int run(sl_sql_conn_t *c, const char *sql, const char *what, const char *table,
               sl_err_t *err)
{
    PGresult *r = PQexec(c->pg, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char w[400];
        snprintf(w, sizeof w, "%s table \"%.300s\"", what, table);
        rc = pg_err(c, r, err, table ? w : what);
    }
    PQclear(r);
    return rc;
}

/* Runs a query with text parameters; *out gets the result (caller clears). */
static int query(sl_sql_conn_t *c, const char *sql, int n, const char *const *params,
                 PGresult **out, const char *what, sl_err_t *err)
{
    PGresult *r = PQexecParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        int rc = pg_err(c, r, err, what);
        PQclear(r);
        *out = NULL;
        return rc;
    }
    *out = r;
    return 0;
}

/* The quoted name of table, as text for to_regclass(). malloc'd or NULL. */
static char *regclass_text(const char *table)
{
    sl_buf_t b = SL_BUF_INIT;
    if (put_table(&b, table) != 0) {
        sl_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static const char *type_name(sl_sql_type_t t)
{
    switch (t) {
    case SL_SQL_INT:
        return "bigint";
    case SL_SQL_FLOAT:
        return "double precision";
    case SL_SQL_BOOL:
        return "boolean";
    case SL_SQL_TIMESTAMP:
        return "timestamptz";
    case SL_SQL_DATE:
        return "date";
    case SL_SQL_BIGNUM:
        return "numeric";
    case SL_SQL_JSON:
        return "jsonb";
    default:
        return "text";
    }
}

/* The sluice type of a PostgreSQL type (pg_type.typname), so values are
 * written in a form the column accepts (e.g. a bool into bigint as 1). */
static sl_sql_type_t type_of_pg(const char *t)
{
    static const struct {
        const char *name;
        sl_sql_type_t type;
    } map[] = {
        {"int2", SL_SQL_INT},           {"int4", SL_SQL_INT},        {"int8", SL_SQL_INT},
        {"float4", SL_SQL_FLOAT},       {"float8", SL_SQL_FLOAT},    {"numeric", SL_SQL_BIGNUM},
        {"bool", SL_SQL_BOOL},          {"timestamptz", SL_SQL_TIMESTAMP},
        {"timestamp", SL_SQL_TIMESTAMP}, {"date", SL_SQL_DATE},      {"json", SL_SQL_JSON},
        {"jsonb", SL_SQL_JSON},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(map[i].name, t) == 0) {
            return map[i].type;
        }
    }
    return SL_SQL_TEXT;
}

/* ---- connect ---- */

static bool pg_accepts(const char *url)
{
    return sl_pg_is_url(url);
}

static void free_set(pgset_t *s)
{
    free(s->copy_sql);
    free(s->merge_sql);
    free(s->tmp_create);
    free(s->table);
    free(s->rows);
    free(s->oids);
    sl_buf_free(&s->buf);
    memset(s, 0, sizeof *s);
}

static void pg_disconnect(sl_sql_conn_t *c)
{
    if (!c) {
        return;
    }
    for (size_t i = 0; i < c->nsets; i++) {
        free_set(&c->sets[i]);
    }
    free(c->sets);
    sl_buf_free(&c->sql);
    sl_buf_free(&c->json);
    PQfinish(c->pg);
    free(c);
}

static int pg_connect(const char *url, const char *base_dir, sl_sql_conn_t **out, sl_err_t *err)
{
    (void)base_dir;
    *out = NULL;
    sl_sql_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        return oom(err);
    }
    c->copying = c->run = -1;
    sl_pg_where(url, c->where, sizeof c->where);
    int rc = sl_pg_connect(url, &c->pg, err);
    if (rc) {
        sl_err_prefix(err, rc == SL_ENOMEM ? rc : SL_ESINK, "sql sink");
        rc = rc == SL_ENOMEM ? rc : SL_ESINK;
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static const char *pg_where(const sl_sql_conn_t *c)
{
    return c->where;
}

/* ---- schema ---- */

static int pg_describe(sl_sql_conn_t *c, const char *table, bool *exists, sl_sql_column_t **cols,
                       size_t *ncols, sl_err_t *err)
{
    *exists = false;
    *cols = NULL;
    *ncols = 0;
    char *rel = regclass_text(table);
    if (!rel) {
        return oom(err);
    }
    const char *params[] = {rel};
    char what[400];
    snprintf(what, sizeof what, "reading the columns of table \"%.300s\"", table);
    PGresult *r = NULL;
    int rc = query(c,
                   "SELECT to_regclass($1) IS NOT NULL, a.attname, t.typname"
                   " FROM (SELECT 1) one LEFT JOIN pg_attribute a"
                   " ON a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped"
                   " LEFT JOIN pg_type t ON t.oid = a.atttypid ORDER BY a.attnum",
                   1, params, &r, what, err);
    free(rel);
    if (rc) {
        return rc;
    }
    int n = PQntuples(r);
    *exists = n > 0 && PQgetvalue(r, 0, 0)[0] == 't';
    if (*exists && !PQgetisnull(r, 0, 1)) {
        *cols = calloc((size_t)n, sizeof **cols);
        for (int i = 0; *cols && i < n; i++) {
            sl_sql_column_t *col = &(*cols)[i];
            if (!(col->name = strdup(PQgetvalue(r, i, 1)))) {
                break;
            }
            col->len = strlen(col->name);
            col->type = type_of_pg(PQgetvalue(r, i, 2));
            col->in_db = true;
            (*ncols)++;
        }
        if (*ncols != (size_t)n) {
            for (size_t i = 0; i < *ncols; i++) {
                free((*cols)[i].name);
            }
            free(*cols);
            *cols = NULL;
            *ncols = 0;
            rc = oom(err);
        }
    }
    PQclear(r);
    return rc;
}

static int pg_unique_on(sl_sql_conn_t *c, const char *table, char *const *keys, size_t nkeys,
                        bool *ok, sl_err_t *err)
{
    *ok = false;
    char *rel = regclass_text(table);
    if (!rel) {
        return oom(err);
    }
    /* Indexes ON CONFLICT can infer: unique, immediate, valid, no
     * predicate, no expressions; key columns only (not INCLUDE ones). */
    const char *params[] = {rel};
    PGresult *r = NULL;
    int rc = query(c,
                   "SELECT i.indexrelid, a.attname FROM pg_index i JOIN pg_attribute a"
                   " ON a.attrelid = i.indrelid"
                   " AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])"
                   " WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indimmediate"
                   " AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL"
                   " ORDER BY 1",
                   1, params, &r, "reading the table's indexes", err);
    free(rel);
    if (rc) {
        return rc;
    }
    int n = PQntuples(r);
    for (int i = 0; i < n && !*ok;) {
        const char *idx = PQgetvalue(r, i, 0);
        size_t cols = 0, found = 0;
        int j = i;
        for (; j < n && strcmp(PQgetvalue(r, j, 0), idx) == 0; j++) {
            cols++;
            for (size_t k = 0; k < nkeys; k++) {
                if (strcmp(PQgetvalue(r, j, 1), keys[k]) == 0) {
                    found++;
                    break;
                }
            }
        }
        *ok = cols == nkeys && found == nkeys;
        i = j;
    }
    PQclear(r);
    return 0;
}

static int append_keys(sl_buf_t *b, char *const *keys, size_t nkeys)
{
    int rc = sl_buf_append_c(b, "(");
    for (size_t i = 0; i < nkeys && !rc; i++) {
        rc = i ? sl_buf_append_c(b, ", ") : 0;
        rc = rc ? rc : put_ident(b, keys[i]);
    }
    return rc ? rc : sl_buf_append_c(b, ")");
}

/* An advisory lock for the transaction, keyed by the table's name: two
 * sinks writing one table (the items of a map) create it or add a column
 * one after the other, the second seeing what the first did. */
static int pg_ddl_lock(sl_sql_conn_t *c, const char *table, sl_err_t *err)
{
    const char *params[1] = {table};
    PGresult *r = NULL;
    int rc = query(c, "SELECT pg_advisory_xact_lock(hashtext('sluice:' || $1))", 1, params, &r,
                   "locking the table's definition", err);
    PQclear(r);
    return rc;
}

static int pg_create(sl_sql_conn_t *c, const char *table, const sl_sql_column_t *cols,
                     size_t ncols, char *const *keys, size_t nkeys, sl_err_t *err)
{
    sl_buf_t *b = &c->sql;
    sl_buf_clear(b);
    int rc = sl_buf_append_c(b, "CREATE TABLE ");
    rc = rc ? rc : put_table(b, table);
    rc = rc ? rc : sl_buf_append_c(b, " (");
    for (size_t i = 0; i < ncols && !rc; i++) {
        rc = i ? sl_buf_append_c(b, ", ") : 0;
        rc = rc ? rc : put_ident(b, cols[i].name);
        rc = rc ? rc : sl_buf_printf(b, " %s", type_name(cols[i].type));
    }
    if (!rc && nkeys) {
        rc = sl_buf_append_c(b, ", PRIMARY KEY ");
        rc = rc ? rc : append_keys(b, keys, nkeys);
    }
    rc = rc ? rc : sl_buf_append_c(b, ")");
    return rc ? oom(err) : run(c, b->data, "creating", table, err);
}

/* The staging table gets everything LIKE copies (defaults, constraints,
 * indexes, identity, generated columns, storage, comments, statistics);
 * its indexes are renamed to the target's names at the swap. */
static int pg_create_like(sl_sql_conn_t *c, const char *table, const char *like, sl_err_t *err)
{
    sl_buf_t *b = &c->sql;
    sl_buf_clear(b);
    int rc = sl_buf_append_c(b, "CREATE TABLE ");
    rc = rc ? rc : put_table(b, table);
    rc = rc ? rc : sl_buf_append_c(b, " (LIKE ");
    rc = rc ? rc : put_table(b, like);
    rc = rc ? rc : sl_buf_append_c(b, " INCLUDING ALL)");
    return rc ? oom(err) : run(c, b->data, "copying the definition of", like, err);
}

static int pg_add_column(sl_sql_conn_t *c, const char *table, const sl_sql_column_t *col,
                         sl_err_t *err)
{
    sl_buf_t *b = &c->sql;
    sl_buf_clear(b);
    int rc = sl_buf_append_c(b, "ALTER TABLE ");
    rc = rc ? rc : put_table(b, table);
    rc = rc ? rc : sl_buf_append_c(b, " ADD COLUMN ");
    rc = rc ? rc : put_ident(b, col->name);
    rc = rc ? rc : sl_buf_printf(b, " %s", type_name(col->type));
    if (rc) {
        return oom(err);
    }
    char what[300];
    snprintf(what, sizeof what, "adding column \"%.100s\" to", col->name);
    return run(c, b->data, what, table, err);
}

static int pg_drop(sl_sql_conn_t *c, const char *table, bool *existed, sl_err_t *err)
{
    if (existed) {
        bool ex = false;
        sl_sql_column_t *cols = NULL;
        size_t n = 0;
        int rc = pg_describe(c, table, &ex, &cols, &n, err);
        for (size_t i = 0; i < n; i++) {
            free(cols[i].name);
        }
        free(cols);
        if (rc) {
            return rc;
        }
        *existed = ex;
    }
    sl_buf_t *b = &c->sql;
    sl_buf_clear(b);
    int rc = sl_buf_append_c(b, "DROP TABLE IF EXISTS ");
    rc = rc ? rc : put_table(b, table);
    return rc ? oom(err) : run(c, b->data, "dropping", table, err);
}

/* The part of table after the schema. */
static const char *bare_name(const char *table)
{
    const char *dot = strchr(table, '.');
    return dot && dot != table && dot[1] ? dot + 1 : table;
}

static int pg_swap(sl_sql_conn_t *c, const char *staging, const char *table, sl_err_t *err)
{
    char what[400];
    snprintf(what, sizeof what, "replacing table \"%.300s\"", table);
    char *rel = regclass_text(table), *srel = regclass_text(staging);
    if (!rel || !srel) {
        free(rel);
        free(srel);
        return oom(err);
    }
    /* Triggers are not copied by LIKE: keep their definitions to recreate
     * them on the new table (they name the table, which the new one gets).
     * The staging table's indexes (copied by LIKE, named after it) get the
     * names of the old table's matching indexes, so names stay stable
     * across runs (renaming a constraint's index renames the constraint). */
    const char *params[] = {rel, srel};
    PGresult *trig = NULL, *idx = NULL;
    int rc = query(c,
                   "SELECT pg_get_triggerdef(oid) FROM pg_trigger"
                   " WHERE tgrelid = to_regclass($1) AND NOT tgisinternal ORDER BY tgname",
                   1, params, &trig, what, err);
    rc = rc ? rc
            : query(c,
                    "WITH x AS (SELECT i.indrelid = to_regclass($1) AS old, n.nspname, c.relname,"
                    " i.indisunique AS u, i.indisprimary AS p, substr(pg_get_indexdef(c.oid),"
                    " strpos(pg_get_indexdef(c.oid), ' USING ')) AS def"
                    " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE i.indrelid IN (to_regclass($1), to_regclass($2))),"
                    " y AS (SELECT *, row_number() OVER (PARTITION BY old, u, p, def"
                    " ORDER BY relname) AS k FROM x)"
                    " SELECT s.nspname, s.relname, o.relname FROM y s JOIN y o"
                    " ON NOT s.old AND o.old AND s.u = o.u AND s.p = o.p AND s.def = o.def"
                    " AND s.k = o.k AND s.relname <> o.relname",
                    2, params, &idx, what, err);
    free(rel);
    free(srel);
    rc = rc ? rc : pg_drop(c, table, NULL, err);
    sl_buf_t *b = &c->sql;
    if (!rc) {
        sl_buf_clear(b);
        rc = sl_buf_append_c(b, "ALTER TABLE ");
        rc = rc ? rc : put_table(b, staging);
        rc = rc ? rc : sl_buf_append_c(b, " RENAME TO ");
        rc = rc ? rc : put_ident(b, bare_name(table));
        rc = rc ? oom(err) : run(c, b->data, "renaming the staging table to", table, err);
    }
    for (int i = 0; !rc && idx && i < PQntuples(idx); i++) {
        sl_buf_clear(b);
        rc = sl_buf_append_c(b, "ALTER INDEX ");
        rc = rc ? rc : put_ident(b, PQgetvalue(idx, i, 0));
        rc = rc ? rc : sl_buf_putc(b, '.');
        rc = rc ? rc : put_ident(b, PQgetvalue(idx, i, 1));
        rc = rc ? rc : sl_buf_append_c(b, " RENAME TO ");
        rc = rc ? rc : put_ident(b, PQgetvalue(idx, i, 2));
        rc = rc ? oom(err) : run(c, b->data, "renaming an index of", table, err);
    }
    PQclear(idx);
    for (int i = 0; !rc && trig && i < PQntuples(trig); i++) {
        rc = run(c, PQgetvalue(trig, i, 0), "recreating a trigger of", table, err);
    }
    PQclear(trig);
    return rc;
}

/* ---- COPY ---- */

/* Batch row of line `line` (1-based) of set s's current COPY, from the
 * server's CONTEXT "COPY t, line N, column x: ...". */
static size_t bad_row_of(const pgset_t *s, const PGresult *r)
{
    const char *ctx = r ? PQresultErrorField(r, PG_DIAG_CONTEXT) : NULL;
    const char *p = ctx ? strstr(ctx, ", line ") : NULL;
    if (!p) {
        return SIZE_MAX;
    }
    unsigned long line = strtoul(p + 7, NULL, 10);
    return line >= 1 && line <= s->nrows ? s->rows[line - 1] : SIZE_MAX;
}

/* pg_err naming the set's table: "WHAT table \"t\"". */
static int set_err(sl_sql_conn_t *c, const pgset_t *s, const PGresult *r, sl_err_t *err,
                   const char *what)
{
    char w[400];
    snprintf(w, sizeof w, "%s table \"%.300s\"", what, s->table ? s->table : "?");
    return pg_err(c, r, err, w);
}

/* Sends set's buffered rows into the open COPY. */
static int send_buf(sl_sql_conn_t *c, pgset_t *s, sl_err_t *err)
{
    if (s->buf.len == 0) {
        return 0;
    }
    if (PQputCopyData(c->pg, s->buf.data, (int)s->buf.len) != 1) {
        return set_err(c, s, NULL, err, "sending rows of");
    }
    s->buf.len = 0;
    return 0;
}

static int start_copy(sl_sql_conn_t *c, uint32_t set, sl_err_t *err)
{
    pgset_t *s = &c->sets[set];
    if (s->tmp_create && !s->tmp_made) {
        int rc = run(c, s->tmp_create, "creating the upsert table for", s->table, err);
        if (rc) {
            return rc;
        }
        s->tmp_made = true;
    }
    PGresult *r = PQexec(c->pg, s->copy_sql);
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        int rc = set_err(c, s, r, err, "starting COPY into");
        PQclear(r);
        return rc;
    }
    PQclear(r);
    c->copying = set;
    if (s->binary && PQputCopyData(c->pg, sl_pgbin_header, SL_PGBIN_HEADER_LEN) != 1) {
        return set_err(c, s, NULL, err, "sending rows of");
    }
    return 0;
}

/* Ends the open COPY; c->failed gets the batch row the server refused. */
static int end_copy(sl_sql_conn_t *c, sl_err_t *err)
{
    if (c->copying < 0) {
        return 0;
    }
    pgset_t *s = &c->sets[c->copying];
    c->copying = -1;
    int rc = send_buf(c, s, err);
    if (!rc && s->binary && PQputCopyData(c->pg, sl_pgbin_trailer, 2) != 1) {
        rc = set_err(c, s, NULL, err, "sending rows of");
    }
    if (PQputCopyEnd(c->pg, rc ? "sluice: aborted" : NULL) != 1 && !rc) {
        rc = set_err(c, s, NULL, err, "ending COPY into");
    }
    PGresult *r;
    while ((r = PQgetResult(c->pg)) != NULL) {
        if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK) {
            rc = set_err(c, s, r, err, "writing rows into");
            c->failed = bad_row_of(s, r);
        }
        PQclear(r);
    }
    s->nrows = 0;
    return rc;
}

/* Everything buffered for set goes to the server; for upserts it is then
 * merged into the target. */
static int finish_set(sl_sql_conn_t *c, uint32_t set, sl_err_t *err)
{
    pgset_t *s = &c->sets[set];
    int rc = 0;
    if (c->copying != (long)set) {
        if (s->nrows == 0) {
            return 0;
        }
        rc = end_copy(c, err);
        rc = rc ? rc : start_copy(c, set, err);
    }
    rc = rc ? rc : end_copy(c, err);
    if (!rc && s->merge_sql) {
        rc = run(c, s->merge_sql, "merging rows into", s->table, err);
    }
    return rc;
}

static int pg_flush(sl_sql_conn_t *c, sl_err_t *err)
{
    c->failed = SIZE_MAX;
    int rc = 0;
    if (c->run >= 0) {
        rc = finish_set(c, (uint32_t)c->run, err);
        c->run = -1;
    }
    if (!rc && c->copying >= 0) {
        rc = finish_set(c, (uint32_t)c->copying, err);
    }
    for (size_t i = 0; i < c->nsets && !rc; i++) {
        rc = finish_set(c, (uint32_t)i, err);
    }
    return rc;
}

static size_t pg_failed_row(const sl_sql_conn_t *c)
{
    return c->failed;
}

/* Ends any COPY before another statement. */
static int settle(sl_sql_conn_t *c, sl_err_t *err)
{
    return c->copying >= 0 || c->run >= 0 ? pg_flush(c, err) : 0;
}

/* ---- transactions ---- */

static int pg_begin(sl_sql_conn_t *c, sl_err_t *err)
{
    c->ordinal = 0;
    c->failed = SIZE_MAX;
    return run(c, "BEGIN", "starting a transaction", NULL, err);
}

static int pg_commit(sl_sql_conn_t *c, sl_err_t *err)
{
    int rc = settle(c, err);
    if (rc) {
        return rc;
    }
    PGresult *r = PQexec(c->pg, "COMMIT");
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = pg_err(c, r, err, "committing");
    } else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
        /* an aborted transaction "commits" as ROLLBACK */
        rc = sl_err_set(err, SL_ESINK, "sql sink: postgres %s: committing: the transaction was "
                        "rolled back", c->where);
    }
    PQclear(r);
    return rc;
}

static void pg_rollback(sl_sql_conn_t *c)
{
    if (c->copying >= 0) {
        PQputCopyEnd(c->pg, "sluice: rolled back");
        PGresult *r;
        while ((r = PQgetResult(c->pg)) != NULL) {
            PQclear(r);
        }
        c->copying = -1;
    }
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        PQclear(PQexec(c->pg, "ROLLBACK"));
    }
    /* Temporary and checkpoint tables made in that transaction are gone. */
    for (size_t i = 0; i < c->nsets; i++) {
        pgset_t *s = &c->sets[i];
        s->buf.len = 0;
        s->nrows = 0;
        if (s->tmp_made) {
            free_set(s);
        }
    }
    c->run = -1;
    c->cp_table = false;
}

/* ---- rows ---- */

static bool is_key(const sl_sql_insert_t *ins, const char *name)
{
    for (size_t j = 0; j < ins->nkeys; j++) {
        if (strcmp(name, ins->keys[j]) == 0) {
            return true;
        }
    }
    return false;
}

static int put_cols(sl_buf_t *b, const sl_sql_insert_t *ins)
{
    int rc = 0;
    for (size_t k = 0; k < ins->n && !rc; k++) {
        rc = k ? sl_buf_append_c(b, ", ") : 0;
        rc = rc ? rc : put_ident(b, ins->cols[ins->idx[k]].name);
    }
    return rc;
}

static char *take(sl_buf_t *b)
{
    char *s = strdup(b->data ? b->data : "");
    sl_buf_clear(b);
    return s;
}

/* Binary COPY for set s when every one of its columns has a type that
 * sql_pg_binary.c writes (the usual bigint, double, boolean, text,
 * timestamptz, date); the types come from the catalog, since a table made
 * elsewhere may hold int4 or varchar. */
static int choose_binary(sl_sql_conn_t *c, pgset_t *s, const sl_sql_insert_t *ins, sl_err_t *err)
{
    s->binary = false;
    size_t n = ins->n + (ins->mode == SL_SQL_UPSERT ? 1 : 0);
    char *rel = regclass_text(ins->table);
    Oid *oids = calloc(n ? n : 1, sizeof *oids);
    if (!rel || !oids) {
        free(rel);
        free(oids);
        return oom(err);
    }
    const char *params[] = {rel};
    PGresult *r = NULL;
    int rc = query(c,
                   "SELECT a.attname, a.atttypid FROM pg_attribute a"
                   " WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
                   1, params, &r, "reading column types", err);
    free(rel);
    if (rc) {
        free(oids);
        return rc;
    }
    bool all = true;
    for (size_t k = 0; k < ins->n && all; k++) {
        const char *name = ins->cols[ins->idx[k]].name;
        oids[k] = 0;
        for (int i = 0; i < PQntuples(r); i++) {
            if (strcmp(PQgetvalue(r, i, 0), name) == 0) {
                oids[k] = (Oid)strtoul(PQgetvalue(r, i, 1), NULL, 10);
                break;
            }
        }
        all = sl_pgbin_supported(oids[k]);
    }
    PQclear(r);
    if (ins->mode == SL_SQL_UPSERT) {
        oids[ins->n] = SL_PG_INT8; /* SEQ_COL */
    }
    if (!all) {
        free(oids);
        return 0;
    }
    free(s->oids);
    s->oids = oids;
    s->binary = true;
    return 0;
}

/* Builds the statements of a set. */
static int prepare_set(sl_sql_conn_t *c, pgset_t *s, const sl_sql_insert_t *ins, sl_err_t *err)
{
    sl_buf_t *b = &c->sql;
    sl_buf_clear(b);
    int rc = 0;
    char tmp[40];
    if (!(s->table = strdup(ins->table))) {
        return oom(err);
    }
    if (ins->mode == SL_SQL_UPSERT) {
        snprintf(tmp, sizeof tmp, "sluice_upsert_%u", ++c->tmp_seq);
        rc = sl_buf_printf(b, "CREATE TEMP TABLE \"%s\" AS SELECT ", tmp);
        rc = rc ? rc : put_cols(b, ins);
        rc = rc ? rc : sl_buf_append_c(b, ins->n ? ", 0::bigint AS " : "0::bigint AS ");
        rc = rc ? rc : put_ident(b, SEQ_COL);
        rc = rc ? rc : sl_buf_append_c(b, " FROM ");
        rc = rc ? rc : put_table(b, ins->table);
        rc = rc ? rc : sl_buf_append_c(b, " WITH NO DATA");
        if (!rc && !(s->tmp_create = take(b))) {
            rc = SL_ENOMEM;
        }
        rc = rc ? rc : sl_buf_append_c(b, "INSERT INTO ");
        rc = rc ? rc : put_table(b, ins->table);
        rc = rc ? rc : sl_buf_append_c(b, " (");
        rc = rc ? rc : put_cols(b, ins);
        rc = rc ? rc : sl_buf_append_c(b, ") SELECT DISTINCT ON ");
        rc = rc ? rc : append_keys(b, ins->keys, ins->nkeys);
        rc = rc ? rc : sl_buf_append_c(b, " ");
        rc = rc ? rc : put_cols(b, ins);
        rc = rc ? rc : sl_buf_printf(b, " FROM \"%s\" ORDER BY ", tmp);
        for (size_t j = 0; j < ins->nkeys && !rc; j++) {
            rc = put_ident(b, ins->keys[j]);
            rc = rc ? rc : sl_buf_append_c(b, ", ");
        }
        rc = rc ? rc : put_ident(b, SEQ_COL);
        rc = rc ? rc : sl_buf_append_c(b, " DESC ON CONFLICT ");
        rc = rc ? rc : append_keys(b, ins->keys, ins->nkeys);
        bool any = false;
        for (size_t k = 0; k < ins->n && !rc; k++) {
            const char *name = ins->cols[ins->idx[k]].name;
            if (is_key(ins, name)) {
                continue;
            }
            rc = sl_buf_append_c(b, any ? ", " : " DO UPDATE SET ");
            any = true;
            rc = rc ? rc : put_ident(b, name);
            rc = rc ? rc : sl_buf_append_c(b, " = excluded.");
            rc = rc ? rc : put_ident(b, name);
        }
        rc = rc ? rc : any ? 0 : sl_buf_append_c(b, " DO NOTHING");
        rc = rc ? rc : sl_buf_printf(b, "; TRUNCATE \"%s\"", tmp);
        if (!rc && !(s->merge_sql = take(b))) {
            rc = SL_ENOMEM;
        }
        rc = rc ? rc : sl_buf_printf(b, "COPY \"%s\" (", tmp);
        rc = rc ? rc : put_cols(b, ins);
        rc = rc ? rc : sl_buf_append_c(b, ins->n ? ", " : "");
        rc = rc ? rc : put_ident(b, SEQ_COL);
    } else {
        rc = sl_buf_append_c(b, "COPY ");
        rc = rc ? rc : put_table(b, ins->table);
        rc = rc ? rc : sl_buf_append_c(b, " (");
        rc = rc ? rc : put_cols(b, ins);
    }
    rc = rc ? rc : sl_buf_append_c(b, ") FROM STDIN");
    if (rc) {
        free_set(s);
        return oom(err);
    }
    rc = choose_binary(c, s, ins, err);
    if (rc == 0 && s->binary) {
        rc = sl_buf_append_c(b, " WITH (FORMAT binary)") ? oom(err) : 0;
    }
    if (!rc && !(s->copy_sql = take(b))) {
        rc = oom(err);
    }
    if (rc) {
        free_set(s);
        return rc;
    }
    s->ready = true;
    return 0;
}

static pgset_t *get_set(sl_sql_conn_t *c, uint32_t set, const sl_sql_insert_t *ins, sl_err_t *err)
{
    if (set >= c->nsets) {
        size_t n = SL_MAX((size_t)set + 1, c->nsets * 2);
        pgset_t *grown = realloc(c->sets, n * sizeof *grown);
        if (!grown) {
            oom(err);
            return NULL;
        }
        memset(grown + c->nsets, 0, (n - c->nsets) * sizeof *grown);
        c->sets = grown;
        c->nsets = n;
    }
    pgset_t *s = &c->sets[set];
    if (!s->ready && prepare_set(c, s, ins, err) != 0) {
        return NULL;
    }
    return s;
}

/* COPY text escaping: the byte after a backslash, 1 for NUL (refused). */
static const unsigned char esc[256] = {
    [0] = 1, ['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r',
};

/* Appends s escaped; SL_EINVAL when it holds a NUL byte. Room for 2n
 * bytes must be reserved. */
static int put_escaped(sl_buf_t *b, const char *s, size_t n)
{
    char *o = b->data + b->len;
    const unsigned char *p = (const unsigned char *)s;
    size_t run_start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char e = esc[p[i]];
        if (__builtin_expect(e == 0, 1)) {
            continue;
        }
        if (e == 1) {
            return SL_EINVAL;
        }
        memcpy(o, s + run_start, i - run_start);
        o += i - run_start;
        *o++ = '\\';
        *o++ = (char)e;
        run_start = i + 1;
    }
    memcpy(o, s + run_start, n - run_start);
    o += n - run_start;
    b->len = (size_t)(o - b->data);
    return 0;
}

static size_t put_i64(char *o, int64_t v)
{
    char tmp[24];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0) {
        o[len++] = '-';
    }
    while (n) {
        o[len++] = tmp[--n];
    }
    return len;
}

/* Appends one value in COPY text form for a column of type t. */
static int put_value(sl_sql_conn_t *c, sl_buf_t *b, const sl_value_t *v, sl_sql_type_t t)
{
    if (v->type == SL_T_NULL) {
        return sl_buf_append(b, "\\N", 2);
    }
    if (t == SL_SQL_JSON) {
        /* any value into a json column is written as JSON (a string
         * becomes a JSON string) */
        sl_buf_clear(&c->json);
        int rc = sl_json_write(&c->json, v, 0);
        rc = rc ? rc : sl_buf_reserve(b, c->json.len * 2);
        return rc ? rc : put_escaped(b, c->json.data, c->json.len);
    }
    int rc = sl_buf_reserve(b, 48);
    if (rc) {
        return rc;
    }
    char *o = b->data + b->len;
    switch (v->type) {
    case SL_T_BOOL:
        if (t == SL_SQL_INT || t == SL_SQL_FLOAT || t == SL_SQL_BIGNUM) {
            *o = v->u.i ? '1' : '0';
            b->len++;
        } else {
            sl_buf_put_unchecked(b, v->u.i ? "true" : "false", v->u.i ? 4 : 5);
        }
        return 0;
    case SL_T_INT:
        b->len += put_i64(o, v->u.i);
        return 0;
    case SL_T_DOUBLE:
        if (v->flags & SL_VF_RAW) {
            return sl_buf_append(b, v->u.s, v->len);
        }
        return sl_fmt_double(b, v->u.d);
    case SL_T_TIMESTAMP:
        b->len += sl_timestamp_format(v->u.i, o);
        return 0;
    case SL_T_DATE:
        b->len += sl_date_format(v->u.i, o);
        return 0;
    case SL_T_BIGNUM:
    case SL_T_STRING:
        rc = sl_buf_reserve(b, (size_t)v->len * 2);
        return rc ? rc : put_escaped(b, v->u.s, v->len);
    default:
        sl_buf_clear(&c->json);
        rc = sl_json_write(&c->json, v, 0);
        rc = rc ? rc : sl_buf_reserve(b, c->json.len * 2);
        return rc ? rc : put_escaped(b, c->json.data, c->json.len);
    }
}

/* One tuple of a binary COPY; a value the column cannot take fails with
 * the column, the value and why. */
static int put_binary_row(sl_sql_conn_t *c, pgset_t *s, const sl_sql_insert_t *ins,
                          const sl_value_t *const *vals, sl_err_t *err)
{
    sl_buf_t *b = &s->buf;
    bool upsert = ins->mode == SL_SQL_UPSERT;
    int rc = sl_pgbin_put_count(b, (int)ins->n + (upsert ? 1 : 0));
    for (size_t k = 0; k < ins->n && !rc; k++) {
        const char *why = NULL;
        rc = sl_pgbin_put(b, s->oids[k], vals[k], &c->json, &why);
        const char *name = ins->cols[ins->idx[k]].name;
        if (rc == SL_EINVAL) {
            return sl_err_set(err, SL_ESINK,
                              "sql sink: postgres %s: table \"%s\", column \"%s\": a string "
                              "holds a NUL byte, which PostgreSQL text cannot store",
                              c->where, ins->table, name);
        }
        if (rc == SL_ETYPE) {
            sl_buf_clear(&c->json);
            sl_json_write(&c->json, vals[k], 0);
            return sl_err_set(err, SL_ESINK,
                              "sql sink: postgres %s: table \"%s\", column \"%s\": %.200s is %s",
                              c->where, ins->table, name, c->json.data ? c->json.data : "", why);
        }
    }
    if (!rc && upsert) {
        sl_value_t seq = sl_value_int((int64_t)c->ordinal);
        const char *why = NULL;
        rc = sl_pgbin_put(b, s->oids[ins->n], &seq, &c->json, &why);
    }
    return rc ? (rc == SL_ESINK ? rc : oom(err)) : 0;
}

static int pg_insert(sl_sql_conn_t *c, uint32_t set, const sl_sql_insert_t *ins,
                     const sl_value_t *const *vals, sl_err_t *err)
{
    int rc = 0;
    c->failed = SIZE_MAX;
    if (ins->mode == SL_SQL_UPSERT && c->run >= 0 && c->run != (long)set) {
        /* rows of another set come next: merge the run so far first */
        rc = finish_set(c, (uint32_t)c->run, err);
        c->run = -1;
        if (rc) {
            return rc;
        }
    }
    if (ins->n == 0) {
        /* a record without fields: COPY needs a column */
        c->ordinal++;
        sl_buf_clear(&c->sql);
        rc = end_copy(c, err);
        rc = rc ? rc : sl_buf_append_c(&c->sql, "INSERT INTO ");
        rc = rc ? rc : put_table(&c->sql, ins->table);
        rc = rc ? rc : sl_buf_append_c(&c->sql, " DEFAULT VALUES");
        if (rc) {
            return rc == SL_ENOMEM ? oom(err) : rc;
        }
        return run(c, c->sql.data, "writing into", ins->table, err);
    }
    pgset_t *s = get_set(c, set, ins, err);
    if (!s) {
        return SL_ESINK;
    }
    if (ins->mode == SL_SQL_UPSERT) {
        c->run = set;
    }
    if (s->nrows == s->caprows) {
        size_t cap = s->caprows ? s->caprows * 2 : 1024;
        size_t *grown = realloc(s->rows, cap * sizeof *grown);
        if (!grown) {
            return oom(err);
        }
        s->rows = grown;
        s->caprows = cap;
    }
    sl_buf_t *b = &s->buf;
    size_t start = b->len;
    if (s->binary) {
        rc = put_binary_row(c, s, ins, vals, err);
        if (rc) {
            b->len = start;
            return rc;
        }
        goto row_done;
    }
    for (size_t k = 0; k < ins->n && !rc; k++) {
        const sl_sql_column_t *col = &ins->cols[ins->idx[k]];
        if (k) {
            rc = sl_buf_putc(b, '\t');
        }
        rc = rc ? rc : put_value(c, b, vals[k], col->type);
        if (rc == SL_EINVAL) {
            b->len = start;
            return sl_err_set(err, SL_ESINK,
                              "sql sink: postgres %s: table \"%s\", column \"%s\": a string "
                              "holds a NUL byte, which PostgreSQL text cannot store",
                              c->where, ins->table, col->name);
        }
    }
    if (!rc && ins->mode == SL_SQL_UPSERT) {
        rc = ins->n ? sl_buf_putc(b, '\t') : 0;
        rc = rc ? rc : sl_buf_reserve(b, 24);
        if (!rc) {
            b->len += put_i64(b->data + b->len, (int64_t)c->ordinal);
        }
    }
    rc = rc ? rc : sl_buf_putc(b, '\n');
    if (rc) {
        b->len = start;
        return oom(err);
    }
row_done:
    s->rows[s->nrows++] = c->ordinal++;
    if (b->len < CHUNK) {
        return 0;
    }
    if (c->copying != (long)set) {
        if (c->copying >= 0 && b->len < SWITCH) {
            return 0; /* keep the open COPY; this set waits */
        }
        rc = end_copy(c, err);
        rc = rc ? rc : start_copy(c, set, err);
    }
    return rc ? rc : send_buf(c, s, err);
}

static void pg_forget_sets(sl_sql_conn_t *c)
{
    if (c->copying >= 0 || c->run >= 0) {
        pg_rollback(c);
    }
    /* The temporary tables stay until the session ends (they are empty). */
    for (size_t i = 0; i < c->nsets; i++) {
        free_set(&c->sets[i]);
    }
}

/* ---- checkpoints ---- */

static int pg_checkpoint_put(sl_sql_conn_t *c, const char *pipeline, const char *key,
                             const char *value, sl_err_t *err)
{
    int rc = settle(c, err);
    if (!rc && !c->cp_table) {
        rc = run(c, SL_STATE_PG_CHECKPOINTS_DDL, "creating sluice_checkpoints", NULL, err);
        c->cp_table = rc == 0;
    }
    if (rc) {
        return rc;
    }
    char now[40];
    sl_timestamp_format(sl_now_us(), now);
    const char *params[] = {pipeline, key, value, now};
    PGresult *r = NULL;
    rc = query(c,
               "INSERT INTO sluice_checkpoints (pipeline, key, value, updated_at)"
               " VALUES ($1, $2, $3, $4) ON CONFLICT (pipeline, key) DO UPDATE SET"
               " value = excluded.value, updated_at = excluded.updated_at",
               4, params, &r, "storing the checkpoint", err);
    PQclear(r);
    return rc;
}

static int pg_checkpoint_get(sl_sql_conn_t *c, const char *pipeline, const char *key, char **out,
                             sl_err_t *err)
{
    *out = NULL;
    const char *params[] = {pipeline, key};
    PGresult *r = NULL;
    /* no table yet: no checkpoint (and no error that would abort a
     * transaction) */
    int rc = query(c, "SELECT to_regclass('sluice_checkpoints') IS NOT NULL", 0, NULL, &r,
                   "reading the checkpoint", err);
    bool has = !rc && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (rc || !has) {
        return rc;
    }
    rc = query(c, "SELECT value FROM sluice_checkpoints WHERE pipeline = $1 AND key = $2", 2,
               params, &r, "reading the checkpoint", err);
    if (!rc && PQntuples(r) == 1 && !(*out = strdup(PQgetvalue(r, 0, 0)))) {
        rc = oom(err);
    }
    PQclear(r);
    return rc;
}

const sl_sql_driver_t sl_sql_driver_pg = {
    .name = "postgres",
    .ident_nocase = false,
    .accepts = pg_accepts,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .where = pg_where,
    .describe = pg_describe,
    .unique_on = pg_unique_on,
    .ddl_lock = pg_ddl_lock,
    .create = pg_create,
    .create_like = pg_create_like,
    .add_column = pg_add_column,
    .drop = pg_drop,
    .swap = pg_swap,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .insert = pg_insert,
    .flush = pg_flush,
    .failed_row = pg_failed_row,
    .forget_sets = pg_forget_sets,
    .checkpoint_put = pg_checkpoint_put,
    .checkpoint_get = pg_checkpoint_get,
};
