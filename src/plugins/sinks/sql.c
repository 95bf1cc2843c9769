/* The `sql` sink: records into a database table, in append, upsert or
 * replace mode. This file is the dialect-neutral part (config, schema
 * inference, column sets, batching, transactions); the database itself is
 * behind a driver (sql_internal.h; SQLite in sql_sqlite.c, PostgreSQL in
 * sql_pg.c).
 *
 * Schema: a missing table is created from the first batch (columns in
 * the order fields first appear, types from the first non-null values);
 * fields that appear later are added with ALTER TABLE. Each record is
 * written with the columns it actually has (its "column set"), so an
 * upsert never nulls a column the record does not carry and a column's
 * default applies when a field is absent. One statement per column set is
 * prepared once and reused.
 *
 * Delivery: append and upsert write each batch in one transaction that
 * also stores the batch's checkpoint in the database's sluice_checkpoints
 * table, so data and checkpoint commit together. Replace writes into
 * "<table>__sluice_staging" and swaps it in at commit, in one
 * transaction, with the last checkpoint. A transaction the driver reports
 * as worth retrying (SL_RETRY: deadlock, serialization failure) is rolled
 * back and run again from the batch, which is still at hand, after a wait
 * from the shared retry module (src/core/retry.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sluice/cancel.h"
#include "sluice/connection.h"
#include "sluice/fsutil.h"
#include "sluice/log.h"
#include "sluice/retry.h"
#include "sluice/template.h"
#include "sluice/timeutil.h"
#include "sql_internal.h"

#define MAX_COLUMNS 2000 /* SQLite's default column limit */
#define STAGING_SUFFIX "__sluice_staging"

static const char *const mode_names[] = {"append", "upsert", "replace", NULL};

/* The first driver that accepts the URL writes. */
static const sl_sql_driver_t *const drivers[] = {&sl_sql_driver_pg, &sl_sql_driver_sqlite, NULL};

static const sl_field_spec_t sql_config[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .doc = "sql"},
    {.name = "url",
     .type = SL_FIELD_STRING,
     .min_len = 1,
     .doc = "database: sqlite:///rel/to/pipeline.db, sqlite:////abs/path.db, a path, or "
            "postgres://user@host:port/db"},
    {.name = "connection",
     .type = SL_FIELD_STRING,
     .min_len = 1,
     .doc = "name of an entry in the pipeline's connections (instead of url)"},
    {.name = "table",
     .type = SL_FIELD_STRING,
     .required = true,
     .min_len = 1,
     .doc = "target table (PostgreSQL: schema.table names a schema)"},
    {.name = "mode",
     .type = SL_FIELD_STRING,
     .doc = "append, upsert (needs key) or replace (swap at the end)",
     .choices = mode_names,
     .def = "append"},
    {.name = "key",
     .type = SL_FIELD_STRING_LIST,
     .min_len = 1,
     .doc = "key field(s): the conflict target of upsert, the primary key of new tables"},
    {.name = "create",
     .type = SL_FIELD_BOOL,
     .doc = "create the table and add new columns as needed",
     .def = "true"},
    {.name = NULL},
};

typedef struct {
    uint64_t *bits; /* which columns */
    size_t nwords;
    uint32_t *idx; /* the same, as ascending indexes */
    size_t n;
} colset_t;

typedef struct {
    uint32_t set;
    size_t off; /* into cells */
} row_t;

typedef struct {
    sl_step_ctx_t *ctx;
    const sl_sql_driver_t *drv;
    sl_sql_conn_t *conn;
    char *table;   /* target */
    char *staging; /* replace mode */
    const char *dest; /* table written: table, or staging in replace mode */
    sl_sql_mode_t mode;
    char **keys;
    size_t nkeys;
    bool create;
    bool exists;    /* dest exists in the database */
    bool committed; /* replace: swapped */

    sl_sql_column_t *cols; /* known columns of dest, in table order */
    size_t ncols, capcols;
    uint32_t *hash; /* open addressing: column index + 1, 0 = empty */
    size_t hcap;

    colset_t *sets;
    size_t nsets, capsets;
    uint32_t last_set;

    /* Scratch of the mapping pass, reused across batches. */
    uint64_t *bits; /* current record's columns */
    size_t nwords;
    const sl_value_t **slot; /* capcols: value of column c in the current record */
    uint32_t *pos;           /* column of member j in the previous record */
    size_t npos;
    row_t *rows;
    size_t caprows;
    const sl_value_t **cells;
    size_t ncells, capcells;

    char *pending_key, *pending_cp; /* replace: checkpoint stored at the swap */
    uint64_t rng;                   /* jitter of the transaction retries */
} sql_sink_t;

static sl_sql_reject_fn reject_fn = sl_reject_record;

void sl_sql_set_reject_fn(sl_sql_reject_fn fn)
{
    reject_fn = fn ? fn : sl_reject_record;
}

static const char *pipeline_name(const sql_sink_t *s)
{
    return s->ctx->pipeline && s->ctx->pipeline->name ? s->ctx->pipeline->name : "";
}

static const char *step_name(const sql_sink_t *s)
{
    return s->ctx->step && s->ctx->step->name ? s->ctx->step->name : "?";
}

static int oom(sql_sink_t *s)
{
    return sl_err_set(&s->ctx->err, SL_ENOMEM, "sql sink: out of memory");
}

/* ---- columns ---- */

static inline unsigned char fold(unsigned char c, bool nocase)
{
    return nocase && c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static uint32_t name_hash(const char *k, size_t n, bool nocase)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ fold((unsigned char)k[i], nocase)) * 16777619u;
    }
    return h;
}

static bool name_eq(const char *a, size_t an, const char *b, size_t bn, bool nocase)
{
    if (an != bn) {
        return false;
    }
    if (memcmp(a, b, an) == 0) {
        return true;
    }
    for (size_t i = 0; nocase && i < an; i++) {
        if (fold((unsigned char)a[i], true) != fold((unsigned char)b[i], true)) {
            return false;
        }
    }
    return nocase;
}

static int rehash(sql_sink_t *s)
{
    size_t cap = 64;
    while (cap < s->ncols * 2 + 2) {
        cap *= 2;
    }
    if (cap != s->hcap) {
        uint32_t *h = realloc(s->hash, cap * sizeof *h);
        if (!h) {
            return oom(s);
        }
        s->hash = h;
        s->hcap = cap;
    }
    memset(s->hash, 0, s->hcap * sizeof *s->hash);
    for (size_t c = 0; c < s->ncols; c++) {
        const sl_sql_column_t *col = &s->cols[c];
        size_t i = name_hash(col->name, col->len, s->drv->ident_nocase) & (s->hcap - 1);
        while (s->hash[i]) {
            i = (i + 1) & (s->hcap - 1);
        }
        s->hash[i] = (uint32_t)c + 1;
    }
    return 0;
}

/* Index of the column named key, or -1. */
static long lookup_col(const sql_sink_t *s, const char *key, size_t klen)
{
    bool nocase = s->drv->ident_nocase;
    size_t i = name_hash(key, klen, nocase) & (s->hcap - 1);
    while (s->hash[i]) {
        const sl_sql_column_t *c = &s->cols[s->hash[i] - 1];
        if (name_eq(c->name, c->len, key, klen, nocase)) {
            return (long)s->hash[i] - 1;
        }
        i = (i + 1) & (s->hcap - 1);
    }
    return -1;
}

/* Appends a column (not yet in the database unless in_db). */
static int add_col(sql_sink_t *s, const char *name, size_t len, bool in_db, uint32_t *out)
{
    if (s->ncols >= MAX_COLUMNS) {
        return sl_err_set(&s->ctx->err, SL_ESINK,
                          "sql sink: table \"%s\": more than %d distinct fields", s->table,
                          MAX_COLUMNS);
    }
    if (memchr(name, '\0', len)) {
        return sl_err_set(&s->ctx->err, SL_ESINK,
                          "sql sink: table \"%s\": a field name holds a NUL byte and cannot be "
                          "a column",
                          s->table);
    }
    if (s->ncols == s->capcols) {
        size_t cap = s->capcols ? s->capcols * 2 : 32;
        sl_sql_column_t *cols = realloc(s->cols, cap * sizeof *cols);
        if (!cols) {
            return oom(s);
        }
        s->cols = cols;
        const sl_value_t **slot = realloc(s->slot, cap * sizeof *slot);
        if (!slot) {
            return oom(s);
        }
        s->slot = slot;
        s->capcols = cap;
    }
    size_t words = (s->ncols + 1 + 63) / 64;
    if (words > s->nwords) {
        uint64_t *bits = realloc(s->bits, words * sizeof *bits);
        if (!bits) {
            return oom(s);
        }
        memset(bits + s->nwords, 0, (words - s->nwords) * sizeof *bits);
        s->bits = bits;
        s->nwords = words;
    }
    sl_sql_column_t *c = &s->cols[s->ncols];
    c->name = malloc(len + 1);
    if (!c->name) {
        return oom(s);
    }
    memcpy(c->name, name, len);
    c->name[len] = '\0';
    c->len = len;
    c->type = SL_SQL_UNKNOWN;
    c->in_db = in_db;
    *out = (uint32_t)s->ncols++;
    if (s->ncols * 2 + 2 > s->hcap) {
        return rehash(s);
    }
    size_t i = name_hash(name, len, s->drv->ident_nocase) & (s->hcap - 1);
    while (s->hash[i]) {
        i = (i + 1) & (s->hcap - 1);
    }
    s->hash[i] = *out + 1;
    return 0;
}

/* Replaces the known columns with those of the database table. */
static int load_cols(sql_sink_t *s, sl_sql_column_t *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t c;
        long dup = lookup_col(s, cols[i].name, cols[i].len);
        int rc = dup >= 0 ? 0 : add_col(s, cols[i].name, cols[i].len, true, &c);
        if (rc) {
            return rc;
        }
        if (dup < 0) {
            s->cols[c].type = cols[i].type; /* what the driver knows of it */
        }
    }
    return 0;
}

static sl_sql_type_t type_of(const sl_value_t *v)
{
    switch (v->type) {
    case SL_T_BOOL:
        return SL_SQL_BOOL;
    case SL_T_INT:
        return SL_SQL_INT;
    case SL_T_DOUBLE:
        return SL_SQL_FLOAT;
    case SL_T_BIGNUM:
        return SL_SQL_BIGNUM;
    case SL_T_STRING:
        return SL_SQL_TEXT;
    case SL_T_TIMESTAMP:
        return SL_SQL_TIMESTAMP;
    case SL_T_DATE:
        return SL_SQL_DATE;
    case SL_T_ARRAY:
    case SL_T_OBJECT:
        return SL_SQL_JSON;
    default:
        return SL_SQL_UNKNOWN;
    }
}

/* The type of a new column that has seen values of types a and b. */
static sl_sql_type_t widen(sl_sql_type_t a, sl_sql_type_t b)
{
    if (a == b || b == SL_SQL_UNKNOWN) {
        return a;
    }
    if (a == SL_SQL_UNKNOWN) {
        return b;
    }
    bool an = a == SL_SQL_INT || a == SL_SQL_BOOL || a == SL_SQL_FLOAT;
    bool bn = b == SL_SQL_INT || b == SL_SQL_BOOL || b == SL_SQL_FLOAT;
    if (an && bn) {
        return a == SL_SQL_FLOAT || b == SL_SQL_FLOAT ? SL_SQL_FLOAT : SL_SQL_INT;
    }
    return SL_SQL_TEXT;
}

static const char *sql_type_label(sl_sql_type_t t)
{
    static const char *const names[] = {
        [SL_SQL_UNKNOWN] = "null", [SL_SQL_INT] = "int",         [SL_SQL_FLOAT] = "float",
        [SL_SQL_BOOL] = "bool",    [SL_SQL_TEXT] = "string",     [SL_SQL_TIMESTAMP] = "timestamp",
        [SL_SQL_DATE] = "date",    [SL_SQL_BIGNUM] = "bignum",   [SL_SQL_JSON] = "json",
    };
    return names[t];
}

/* ---- column sets ---- */

static bool bits_eq(const uint64_t *a, size_t an, const uint64_t *b, size_t bn)
{
    size_t n = SL_MIN(an, bn);
    if (memcmp(a, b, n * sizeof *a) != 0) {
        return false;
    }
    for (size_t i = n; i < an; i++) {
        if (a[i]) {
            return false;
        }
    }
    for (size_t i = n; i < bn; i++) {
        if (b[i]) {
            return false;
        }
    }
    return true;
}

static void clear_sets(sql_sink_t *s)
{
    for (size_t i = 0; i < s->nsets; i++) {
        free(s->sets[i].bits);
        free(s->sets[i].idx);
    }
    s->nsets = 0;
    s->last_set = 0;
    s->drv->forget_sets(s->conn);
}

/* The id of the set of columns in s->bits, created when new. */
static int find_set(sql_sink_t *s, uint32_t *out)
{
    if (s->last_set < s->nsets) {
        colset_t *cs = &s->sets[s->last_set];
        if (bits_eq(cs->bits, cs->nwords, s->bits, s->nwords)) {
            *out = s->last_set;
            return 0;
        }
    }
    for (size_t i = 0; i < s->nsets; i++) {
        if (bits_eq(s->sets[i].bits, s->sets[i].nwords, s->bits, s->nwords)) {
            *out = s->last_set = (uint32_t)i;
            return 0;
        }
    }
    if (s->nsets == s->capsets) {
        size_t cap = s->capsets ? s->capsets * 2 : 8;
        colset_t *sets = realloc(s->sets, cap * sizeof *sets);
        if (!sets) {
            return oom(s);
        }
        s->sets = sets;
        s->capsets = cap;
    }
    colset_t *cs = &s->sets[s->nsets];
    size_t n = 0;
    for (size_t w = 0; w < s->nwords; w++) {
        n += (size_t)__builtin_popcountll(s->bits[w]);
    }
    cs->bits = malloc(s->nwords * sizeof *cs->bits + 1);
    cs->idx = malloc(n * sizeof *cs->idx + 1);
    if (!cs->bits || !cs->idx) {
        free(cs->bits);
        free(cs->idx);
        return oom(s);
    }
    memcpy(cs->bits, s->bits, s->nwords * sizeof *cs->bits);
    cs->nwords = s->nwords;
    cs->n = 0;
    for (size_t w = 0; w < s->nwords; w++) {
        for (uint64_t m = s->bits[w]; m; m &= m - 1) {
            cs->idx[cs->n++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(m));
        }
    }
    *out = s->last_set = (uint32_t)s->nsets++;
    return 0;
}

/* ---- the mapping pass ---- */

/* Drops records that cannot be written (not objects, null keys), sending
 * them to the rejects, and compacts the batch. */
static int reject_pass(sql_sink_t *s, sl_batch_t *b)
{
    bool check_keys = s->mode != SL_SQL_APPEND && s->nkeys > 0;
    size_t w = 0;
    for (size_t i = 0; i < b->n; i++) {
        const sl_value_t *rec = &b->records[i];
        char reason[300];
        reason[0] = '\0';
        if (rec->type != SL_T_OBJECT) {
            snprintf(reason, sizeof reason, "sql: record is not an object (got %s)",
                     sl_type_name((sl_type_t)rec->type));
        }
        for (size_t k = 0; check_keys && !reason[0] && k < s->nkeys; k++) {
            const sl_value_t *v = sl_object_get_c(rec, s->keys[k]);
            if (!v || v->type == SL_T_NULL) {
                snprintf(reason, sizeof reason, "sql: key field '%s' is null", s->keys[k]);
            }
        }
        if (reason[0]) {
            int rc = reject_fn(s->ctx, b, i, reason);
            if (rc) {
                return rc;
            }
            continue;
        }
        w = sl_batch_keep(b, w, i);
    }
    b->n = w;
    return 0;
}

/* Maps every record's members to columns (adding new ones), assigns each
 * record its column set and gathers its values in set order into cells. */
static int map_pass(sql_sink_t *s, const sl_batch_t *b)
{
    if (b->n > s->caprows) {
        row_t *rows = realloc(s->rows, b->n * sizeof *rows);
        if (!rows) {
            return oom(s);
        }
        s->rows = rows;
        s->caprows = b->n;
    }
    s->ncells = 0;
    for (size_t r = 0; r < b->n; r++) {
        const sl_value_t *rec = &b->records[r];
        const sl_member_t *m = rec->u.members;
        size_t nm = rec->len;
        if (nm > s->npos) {
            uint32_t *pos = realloc(s->pos, nm * sizeof *pos);
            if (!pos) {
                return oom(s);
            }
            for (size_t j = s->npos; j < nm; j++) {
                pos[j] = UINT32_MAX;
            }
            s->pos = pos;
            s->npos = nm;
        }
        for (size_t j = 0; j < nm; j++) {
            /* Records of a batch usually share their field order: try the
             * column member j had in the previous record first. */
            uint32_t c = s->pos[j];
            if (c >= s->ncols || s->cols[c].len != m[j].klen ||
                memcmp(s->cols[c].name, m[j].key, m[j].klen) != 0) {
                long found = lookup_col(s, m[j].key, m[j].klen);
                if (found >= 0) {
                    c = (uint32_t)found;
                } else {
                    int rc = add_col(s, m[j].key, m[j].klen, false, &c);
                    if (rc) {
                        return rc;
                    }
                }
                s->pos[j] = c;
            }
            sl_sql_column_t *col = &s->cols[c];
            if (!col->in_db) {
                col->type = widen(col->type, type_of(&m[j].val));
            }
            s->slot[c] = &m[j].val;
            s->bits[c >> 6] |= (uint64_t)1 << (c & 63);
        }
        uint32_t set = 0;
        int rc = find_set(s, &set);
        if (rc) {
            return rc;
        }
        const colset_t *cs = &s->sets[set];
        if (s->ncells + cs->n > s->capcells) {
            size_t cap = SL_MAX(s->capcells * 2, s->ncells + cs->n + 1024);
            const sl_value_t **cells = realloc(s->cells, cap * sizeof *cells);
            if (!cells) {
                return oom(s);
            }
            s->cells = cells;
            s->capcells = cap;
        }
        s->rows[r].set = set;
        s->rows[r].off = s->ncells;
        for (size_t k = 0; k < cs->n; k++) {
            uint32_t c = cs->idx[k];
            s->cells[s->ncells++] = s->slot[c];
            s->bits[c >> 6] = 0;
        }
    }
    return 0;
}

static bool same_ident(const sql_sink_t *s, const char *a, const char *b)
{
    return s->drv->ident_nocase ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

/* Another writer of the table (the items of a map run side by side) may
 * have created it or added columns since this sink looked: look again,
 * inside the transaction and under the driver's DDL lock, before
 * changing it. */
static int refresh_table(sql_sink_t *s)
{
    sl_err_t *err = &s->ctx->err;
    int rc = s->drv->ddl_lock ? s->drv->ddl_lock(s->conn, s->dest, err) : 0;
    bool exists = false;
    sl_sql_column_t *cols = NULL;
    size_t ncols = 0;
    if (rc == 0) {
        rc = s->drv->describe(s->conn, s->dest, &exists, &cols, &ncols, err);
    }
    if (rc == 0 && exists) {
        s->exists = true;
        for (size_t c = 0; c < s->ncols; c++) {
            for (size_t k = 0; k < ncols && !s->cols[c].in_db; k++) {
                s->cols[c].in_db = same_ident(s, s->cols[c].name, cols[k].name);
            }
        }
    }
    for (size_t k = 0; k < ncols; k++) {
        free(cols[k].name);
    }
    free(cols);
    return rc;
}

/* Creates dest or adds the columns it lacks, inside the transaction. */
static int evolve(sql_sink_t *s)
{
    sl_err_t *err = &s->ctx->err;
    bool change = !s->exists && s->ncols > 0;
    for (size_t c = 0; c < s->ncols && !change; c++) {
        change = !s->cols[c].in_db;
    }
    if (change) {
        int rc = refresh_table(s);
        if (rc) {
            return rc;
        }
    }
    if (!s->exists) {
        if (s->ncols == 0) {
            return 0;
        }
        int rc = s->drv->create(s->conn, s->dest, s->cols, s->ncols,
                                s->mode != SL_SQL_APPEND ? s->keys : NULL,
                                s->mode != SL_SQL_APPEND ? s->nkeys : 0, err);
        if (rc) {
            return rc;
        }
        for (size_t c = 0; c < s->ncols; c++) {
            s->cols[c].in_db = true;
        }
        s->exists = true;
        sl_info("step %s: sql sink: created table \"%s\" (%zu columns) in %s", step_name(s),
                s->dest, s->ncols, s->drv->where(s->conn));
        return 0;
    }
    for (size_t c = 0; c < s->ncols; c++) {
        if (s->cols[c].in_db) {
            continue;
        }
        int rc = s->drv->add_column(s->conn, s->dest, &s->cols[c], err);
        if (rc) {
            return rc;
        }
        s->cols[c].in_db = true;
        sl_info("step %s: sql sink: new field: added column \"%s\" (%s) to table \"%s\"",
                step_name(s), s->cols[c].name, sql_type_label(s->cols[c].type), s->dest);
    }
    return 0;
}

/* Forgets columns learnt by a batch whose transaction rolled back. */
static void restore_cols(sql_sink_t *s, size_t ncols, bool existed)
{
    for (size_t c = ncols; c < s->ncols; c++) {
        free(s->cols[c].name);
    }
    s->ncols = ncols;
    if (!existed) {
        for (size_t c = 0; c < ncols; c++) {
            s->cols[c].in_db = false;
        }
    }
    s->exists = existed;
    memset(s->bits, 0, s->nwords * sizeof *s->bits);
    rehash(s);
    clear_sets(s);
}

/* Appends the table to a driver message that does not name it. */
static void name_table(const sql_sink_t *s, sl_err_t *err)
{
    size_t n = strlen(err->msg);
    snprintf(err->msg + n, sizeof err->msg - n, " (writing table \"%s\")", s->table);
}

/* A transaction that fails with SL_RETRY (deadlock, serialization
 * failure) runs again: 5 attempts in all, waiting up to 50, 100, 200 and
 * 400 ms before them (full jitter, so colliding writers drift apart). */
static const sl_retry_policy_t tx_retry = {
    .max_attempts = 5,
    .interval_us = 50000,
    .backoff = 2.0,
    .max_delay_us = 1000000,
    .jitter = true,
    .on = SL_RETRY_ON(SL_ECLASS_TRANSIENT),
};

/* Whether a transaction that failed with rc after attempt attempts runs
 * again. Only SL_RETRY is transient here: a driver's SL_EIO is a broken
 * connection, which another transaction on it will not mend. */
static bool tx_again(int rc, int attempt)
{
    return sl_retry_should(&tx_retry, rc == SL_RETRY ? SL_ECLASS_TRANSIENT : SL_ECLASS_FATAL,
                           attempt);
}

/* Waits before the transaction's attempt + 1. Returns 0, or the cancel
 * reason with err saying so. */
static int tx_wait(sql_sink_t *s, int attempt, sl_err_t *err)
{
    int rc = sl_cancel_sleep(s->ctx->cancel, sl_retry_delay_us(&tx_retry, attempt, -1, &s->rng));
    if (rc) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, " (%s while waiting to retry)",
                 sl_strerror(rc));
    }
    return rc;
}

/* Prefixes err with the place of batch row r. */
static int name_row(const sl_batch_t *b, size_t r, int rc, sl_err_t *err)
{
    unsigned long long line = b->lines ? (unsigned long long)b->lines[r] : r + 1;
    return sl_err_prefix(err, rc, "%s:%llu", b->origin ? b->origin : "record", line);
}

/* One transaction holding the batch (rows already mapped) and its
 * checkpoint. *in_tx tells whether it was begun. */
static int write_tx(sql_sink_t *s, const sl_batch_t *b, const char *key, const char *checkpoint,
                    bool *in_tx)
{
    sl_err_t *err = &s->ctx->err;
    int rc = s->drv->begin(s->conn, err);
    *in_tx = rc == 0;
    if (rc) {
        name_table(s, err);
        return rc;
    }
    rc = evolve(s);
    for (size_t r = 0; r < b->n && !rc; r++) {
        const colset_t *cs = &s->sets[s->rows[r].set];
        sl_sql_insert_t ins = {
            .table = s->dest,
            .cols = s->cols,
            .idx = cs->idx,
            .n = cs->n,
            .mode = s->mode,
            .keys = s->keys,
            .nkeys = s->nkeys,
        };
        rc = s->drv->insert(s->conn, s->rows[r].set, &ins, s->cells + s->rows[r].off, err);
        if (rc) {
            size_t bad = s->drv->failed_row ? s->drv->failed_row(s->conn) : SIZE_MAX;
            name_row(b, bad < b->n ? bad : r, rc, err);
        }
    }
    if (!rc && s->drv->flush) {
        rc = s->drv->flush(s->conn, err);
        size_t bad = rc && s->drv->failed_row ? s->drv->failed_row(s->conn) : SIZE_MAX;
        if (bad < b->n) {
            name_row(b, bad, rc, err);
        }
    }
    if (!rc && checkpoint && key) {
        if (s->mode == SL_SQL_REPLACE) {
            char *k = strdup(key), *v = strdup(checkpoint);
            if (!k || !v) {
                free(k);
                free(v);
                return oom(s);
            }
            free(s->pending_key);
            free(s->pending_cp);
            s->pending_key = k;
            s->pending_cp = v;
        } else {
            rc = s->drv->checkpoint_put(s->conn, pipeline_name(s), key, checkpoint, err);
        }
    }
    if (!rc) {
        rc = s->drv->commit(s->conn, err);
        if (rc) {
            name_table(s, err);
        }
    }
    return rc;
}

/* Before running a rolled-back transaction again: what it created in the
 * database is gone, the columns and column sets it learnt stay. */
static void replay_reset(sql_sink_t *s, size_t ncols, bool existed)
{
    for (size_t c = existed ? ncols : 0; c < s->ncols; c++) {
        s->cols[c].in_db = false;
    }
    s->exists = existed;
    s->drv->forget_sets(s->conn);
}

static int sql_write(void *self, sl_batch_t *b, const char *key, const char *checkpoint)
{
    sql_sink_t *s = self;
    sl_err_t *err = &s->ctx->err;
    if (s->committed) {
        return sl_err_set(err, SL_EINVAL, "sql sink: table \"%s\": write after commit",
                          s->table);
    }
    size_t before = b->n;
    int rc = reject_pass(s, b);
    if (!rc && b->n != before) {
        rc = sl_reject_flush(s->ctx); /* rejects on disk before the batch commits */
    }
    if (rc) {
        return rc;
    }
    size_t ncols_before = s->ncols;
    bool existed = s->exists;
    bool in_tx = false;
    rc = map_pass(s, b);
    if (!rc && !s->create) {
        for (size_t c = ncols_before; c < s->ncols && !rc; c++) {
            rc = sl_err_set(err, SL_ESINK,
                            "sql sink: table \"%s\" in %s has no column \"%s\" for field '%s' "
                            "(create: false, so the table is not altered)",
                            s->table, s->drv->where(s->conn), s->cols[c].name, s->cols[c].name);
        }
    }
    if (!rc && !s->exists && b->n > 0 && s->ncols == 0) {
        rc = sl_err_set(err, SL_ESINK,
                        "sql sink: cannot create table \"%s\" from records without fields",
                        s->table);
    }
    for (int attempt = 1; !rc; attempt++) {
        rc = write_tx(s, b, key, checkpoint, &in_tx);
        if (!rc || !tx_again(rc, attempt)) {
            break;
        }
        sl_warn("step %s: %s; running the batch's transaction again (attempt %d of %d)",
                step_name(s), err->msg, attempt + 1, tx_retry.max_attempts);
        s->drv->rollback(s->conn);
        in_tx = false;
        replay_reset(s, ncols_before, existed);
        rc = tx_wait(s, attempt, err);
    }
    if (rc == SL_RETRY) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, " (gave up after %d attempts)",
                 tx_retry.max_attempts);
        rc = SL_ESINK;
    }
    if (rc) {
        if (in_tx) {
            s->drv->rollback(s->conn);
        }
        restore_cols(s, ncols_before, existed);
    }
    return rc;
}

/* ---- open ---- */


/* Renders "{{ params.x }}" / "{{ run.id }}" in a config string. */
static int render(sl_step_ctx_t *ctx, const sl_node_t *node, const char *what, const char *text,
                  const char **out)
{
    int rc = sl_render_once(ctx, text, out, &ctx->err);
    if (rc == SL_EINVAL) {
        return sl_node_error(&ctx->err, node,
                             "sink 'sql': %s: only params and run can be used here, not record",
                             what);
    }
    if (rc == SL_ECONFIG) {
        return sl_err_prefix(&ctx->err, SL_ECONFIG, "%s:%u:%u: sink 'sql': %s",
                             node->file ? node->file : "?", node->line, node->col, what);
    }
    return rc;
}

static int read_keys(sql_sink_t *s, const sl_node_t *cfg)
{
    const sl_node_t *k = sl_node_get(cfg, "key");
    if (!k || k->is_null) {
        return 0;
    }
    size_t n = k->kind == SL_NODE_SEQ ? k->n : 1;
    s->keys = calloc(n + 1, sizeof *s->keys);
    if (!s->keys) {
        return oom(s);
    }
    for (size_t i = 0; i < n; i++) {
        const sl_node_t *item = k->kind == SL_NODE_SEQ ? k->items[i] : k;
        const char *text = NULL;
        int rc = sl_node_to_str(item, "key", &text, &s->ctx->err);
        if (rc) {
            return rc;
        }
        if (!*text) {
            return sl_node_error(&s->ctx->err, item, "sink 'sql': key: empty field name");
        }
        if (!(s->keys[s->nkeys++] = strdup(text))) {
            return oom(s);
        }
    }
    return 0;
}

static void sql_close(void *self);

/* Prepares dest: reads the existing table's columns, checks upsert keys,
 * sets up the staging table for replace. */
static int prepare_table(sql_sink_t *s, const sl_node_t *cfg)
{
    sl_err_t *err = &s->ctx->err;
    const char *where = s->drv->where(s->conn);
    bool exists = false;
    sl_sql_column_t *cols = NULL;
    size_t ncols = 0;
    int rc = s->drv->describe(s->conn, s->table, &exists, &cols, &ncols, err);
    if (rc) {
        return rc;
    }
    if (!exists && !s->create) {
        return sl_node_error(err, cfg,
                             "sink 'sql': table \"%s\" does not exist in %s (create: false)",
                             s->table, where);
    }
    if (exists && s->mode == SL_SQL_UPSERT) {
        bool ok = false;
        rc = s->drv->unique_on(s->conn, s->table, s->keys, s->nkeys, &ok, err);
        if (!rc && !ok) {
            char keys[300] = "";
            for (size_t i = 0; i < s->nkeys; i++) {
                size_t l = strlen(keys);
                snprintf(keys + l, sizeof keys - l, "%s%s", i ? ", " : "", s->keys[i]);
            }
            rc = sl_node_error(err, cfg,
                               "sink 'sql': table \"%s\" in %s has no primary key or unique "
                               "index on (%s), which upsert needs; create one, e.g. CREATE "
                               "UNIQUE INDEX \"%s_key\" ON \"%s\" (%s)",
                               s->table, where, keys, s->table, s->table, keys);
        }
    }
    if (!rc && s->mode == SL_SQL_REPLACE) {
        bool leftover = false;
        rc = s->drv->drop(s->conn, s->staging, &leftover, err);
        if (!rc && leftover) {
            sl_warn("step %s: sql sink: dropped table \"%s\" left by an interrupted run",
                    step_name(s), s->staging);
        }
        if (!rc && exists) {
            rc = s->drv->create_like(s->conn, s->staging, s->table, err);
        }
        for (size_t i = 0; i < ncols; i++) {
            free(cols[i].name);
        }
        free(cols);
        cols = NULL;
        ncols = 0;
        if (!rc && exists) {
            rc = s->drv->describe(s->conn, s->staging, &exists, &cols, &ncols, err);
        }
    }
    if (!rc) {
        s->exists = exists;
        rc = load_cols(s, cols, ncols);
    }
    for (size_t i = 0; i < ncols; i++) {
        free(cols[i].name);
    }
    free(cols);
    return rc;
}

/* Rules between keys, without connecting: checked by `sluice validate`,
 * and first by open(). */
static int sql_check(const sl_node_t *cfg, sl_err_t *err)
{
    const char *mode = NULL;
    int rc = sl_cfg_str(cfg, "mode", "append", &mode, err);
    const sl_node_t *key = sl_node_get(cfg, "key");
    if (!rc && strcmp(mode, "upsert") == 0 && (!key || key->is_null)) {
        rc = sl_node_error(err, cfg, "sink 'sql': mode upsert needs key (the field(s) "
                                     "identifying a record)");
    }
    rc = rc ? rc : sl_connection_db_check(cfg, "sink 'sql'", err);
    return rc ? rc : sl_cfg_distinct(cfg, "key", "sink 'sql'", err);
}

static int sql_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    *self = NULL;
    sql_sink_t *s = calloc(1, sizeof *s);
    if (!s) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "sql sink: out of memory");
    }
    s->ctx = ctx;
    s->rng = sl_retry_seed(s);
    const char *url = NULL, *table = NULL, *mode = NULL;
    const sl_node_t *url_node = cfg;
    int rc = sql_check(cfg, &ctx->err);
    rc = rc ? rc : sl_connection_db_url(ctx, cfg, "sink 'sql'", &url, &url_node);
    rc = rc ? rc : render(ctx, url_node, "url", url, &url);
    rc = rc ? rc : sl_cfg_str(cfg, "table", NULL, &table, &ctx->err);
    if (!rc && (!table || !*table)) {
        rc = sl_node_error(&ctx->err, cfg, "sink 'sql': missing table");
    }
    rc = rc ? rc : render(ctx, sl_node_get(cfg, "table"), "table", table, &table);
    rc = rc ? rc : sl_cfg_str(cfg, "mode", "append", &mode, &ctx->err);
    rc = rc ? rc : sl_cfg_bool(cfg, "create", true, &s->create, &ctx->err);
    if (!rc) {
        size_t m = 0;
        while (mode_names[m] && strcmp(mode_names[m], mode) != 0) {
            m++;
        }
        if (!mode_names[m]) {
            rc = sl_node_error(&ctx->err, sl_node_get(cfg, "mode"),
                               "sink 'sql': mode: expected append, upsert or replace, got '%s'",
                               mode);
        }
        s->mode = (sl_sql_mode_t)m;
    }
    rc = rc ? rc : read_keys(s, cfg);
    if (!rc && s->mode == SL_SQL_UPSERT && s->nkeys == 0) {
        rc = sl_node_error(&ctx->err, cfg, "sink 'sql': mode upsert needs key (the field(s) "
                                           "identifying a record)");
    }
    if (!rc && !(s->table = strdup(table))) {
        rc = oom(s);
    }
    if (!rc && s->mode == SL_SQL_REPLACE &&
        asprintf(&s->staging, "%s%s", table, STAGING_SUFFIX) < 0) {
        s->staging = NULL;
        rc = oom(s);
    }
    s->dest = s->mode == SL_SQL_REPLACE ? s->staging : s->table;
    for (size_t i = 0; !rc && !s->drv && drivers[i]; i++) {
        s->drv = drivers[i]->accepts(url) ? drivers[i] : NULL;
    }
    if (!rc && !s->drv) {
        char shown[512];
        sl_url_redact(url, shown, sizeof shown);
        rc = sl_node_error(&ctx->err, url_node,
                           "sink 'sql': database '%s' not supported (SQLite: sqlite:///path.db "
                           "or a path; PostgreSQL: postgres://user@host:port/db)",
                           shown);
        rc = SL_EUNSUPPORTED;
    }
    rc = rc ? rc : rehash(s);
    rc = rc ? rc : s->drv->connect(url, ctx->base_dir, &s->conn, &ctx->err);
    rc = rc ? rc : prepare_table(s, cfg);
    if (rc) {
        sql_close(s);
        return rc;
    }
    *self = s;
    return 0;
}

/* ---- the rest of the vtable ---- */

static unsigned sql_instance_flags(void *self)
{
    const sql_sink_t *s = self;
    return s->mode == SL_SQL_REPLACE ? SL_SINK_FULL_INPUT
                                     : SL_SINK_DURABLE_PER_BATCH | SL_SINK_TRANSACTIONAL;
}

static int sql_commit(void *self)
{
    sql_sink_t *s = self;
    sl_err_t *err = &s->ctx->err;
    if (s->mode != SL_SQL_REPLACE || s->committed) {
        return 0;
    }
    if (!s->exists) {
        /* No old table and no records: nothing to publish. */
        s->committed = true;
        return 0;
    }
    int rc = 0;
    for (int attempt = 1;; attempt++) {
        rc = s->drv->begin(s->conn, err);
        if (rc) {
            name_table(s, err);
            return rc == SL_RETRY ? SL_ESINK : rc;
        }
        rc = s->drv->swap(s->conn, s->staging, s->table, err);
        if (!rc && s->pending_cp) {
            rc = s->drv->checkpoint_put(s->conn, pipeline_name(s), s->pending_key,
                                        s->pending_cp, err);
        }
        rc = rc ? rc : s->drv->commit(s->conn, err);
        if (!rc) {
            break;
        }
        s->drv->rollback(s->conn);
        if (!tx_again(rc, attempt)) {
            return rc == SL_RETRY ? SL_ESINK : rc;
        }
        sl_warn("step %s: %s; swapping again (attempt %d of %d)", step_name(s), err->msg,
                attempt + 1, tx_retry.max_attempts);
        rc = tx_wait(s, attempt, err);
        if (rc) {
            return rc;
        }
    }
    s->committed = true;
    sl_info("step %s: sql sink: replaced table \"%s\" in %s", step_name(s), s->table,
            s->drv->where(s->conn));
    return 0;
}

static int sql_checkpoint_get(void *self, const char *key, char **out)
{
    sql_sink_t *s = self;
    return s->drv->checkpoint_get(s->conn, pipeline_name(s), key, out, &s->ctx->err);
}

static void sql_close(void *self)
{
    sql_sink_t *s = self;
    if (!s) {
        return;
    }
    if (s->conn) {
        s->drv->rollback(s->conn);
        if (s->mode == SL_SQL_REPLACE && !s->committed && s->exists) {
            /* Uncommitted output is discarded; the old table never changed. */
            sl_err_t ignored;
            s->drv->drop(s->conn, s->staging, NULL, &ignored);
        }
        clear_sets(s);
        s->drv->disconnect(s->conn);
    }
    for (size_t c = 0; c < s->ncols; c++) {
        free(s->cols[c].name);
    }
    for (size_t i = 0; i < s->nsets; i++) {
        free(s->sets[i].bits);
        free(s->sets[i].idx);
    }
    for (size_t i = 0; i < s->nkeys; i++) {
        free(s->keys[i]);
    }
    free(s->keys);
    free(s->cols);
    free(s->hash);
    free(s->sets);
    free(s->bits);
    free(s->slot);
    free(s->pos);
    free(s->rows);
    free(s->cells);
    free(s->table);
    free(s->staging);
    free(s->pending_key);
    free(s->pending_cp);
    free(s);
}


const sl_sink_type_t sl_sink_sql = {
    .name = "sql",
    .check = sql_check,
    .doc = "write records into a SQL table (SQLite, PostgreSQL): append, upsert or replace, "
           "with the table created and extended from the records",
    .config = sql_config,
    .flags = SL_SINK_DURABLE_PER_BATCH | SL_SINK_TRANSACTIONAL,
    .open = sql_open,
    .instance_flags = sql_instance_flags,
    .write = sql_write,
    .commit = sql_commit,
    .checkpoint_get = sql_checkpoint_get,
    .close = sql_close,
};
