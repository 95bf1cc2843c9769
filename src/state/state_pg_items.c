/* The PostgreSQL driver's map items and leases (the ops contracts are in
 * state_internal.h, the behaviour in state.h).
 *
 * Any number of processes on any number of hosts may claim from one map at
 * once. A claim is one statement: it locks the lowest claimable row with
 * FOR UPDATE SKIP LOCKED (rows another claimant is taking are skipped, not
 * waited for; a row changed since the statement's snapshot is checked
 * again before it is taken) and updates it. Fenced writes are one UPDATE
 * ... WHERE gen = $n: a concurrent claim holds the row lock, so the
 * write waits for it and then sees the new gen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/buf.h"
#include "state_pg.h"

#define ITEM_COLS                                                                                  \
    "run_id, step, idx, value_json, status, attempts, started_us, ended_us, output_json,"          \
    " error_class, error, owner, lease_expires_us, gen, heartbeat_us"
#define ITEM_KEY "run_id = $1 AND step = $2 AND idx = $3::bigint"
/* A fenced write: the lease ($4 its gen) is still held. */
#define HELD ITEM_KEY " AND gen = $4::bigint AND status = 'running'"
#define NO_LEASE "owner = NULL, lease_expires_us = NULL, heartbeat_us = NULL"

/* Items per INSERT of a create, and bytes of values (one array parameter
 * each), so a map of any size is sent in bounded statements. */
#define CREATE_BATCH 10000
#define CREATE_BATCH_BYTES (8u << 20)
/* Rows per query of a listing, so a listing of any size holds one page. */
#define LIST_PAGE 1000

enum {
    QI_CREATE,
    QI_EXPIRE_LAST,
    QI_CLAIM,
    QI_HEARTBEAT,
    QI_FINISH,
    QI_RELEASE,
    QI_GET,
    QI_COUNTS,
    QI_LIST,
    QI_RESET,
    QI_COUNT
};
_Static_assert(QI_COUNT <= SL_STATE_PG_ITEM_STMTS, "more statements than prepared slots");

static const char *const sql_text[QI_COUNT] = {
    /* $4 is a text[] of values; item i of it gets idx $3 + i - 1. */
    [QI_CREATE] = "INSERT INTO sluice_items (run_id, step, idx, value_json)"
                  " SELECT $1, $2, $3::bigint + t.o - 1, t.v"
                  " FROM unnest($4::text[]) WITH ORDINALITY AS t(v, o)"
                  " ON CONFLICT (run_id, step, idx) DO NOTHING",
    /* Items whose holder died during their last allowed attempt ($4) end
     * instead of being claimed again. */
    [QI_EXPIRE_LAST] =
        "UPDATE sluice_items SET status = 'interrupted', ended_us = $3::bigint,"
        " gen = gen + 1, error = 'its worker stopped during its last attempt"
        " (the lease expired)', " NO_LEASE " WHERE run_id = $1 AND step = $2 AND status = 'running'"
        " AND lease_expires_us < $3::bigint AND attempts >= $4::integer",
    /* The lowest claimable idx: an expired lease or a pending item, each
     * found by the (run_id, step, status, idx) index. The condition is
     * repeated in the UPDATE so that a row is only ever taken while it is
     * claimable. */
    [QI_CLAIM] = "WITH e AS (SELECT idx FROM sluice_items WHERE run_id = $1 AND step = $2"
                 " AND status = 'running' AND lease_expires_us < $4::bigint"
                 " AND ($6::integer <= 0 OR attempts < $6::integer)"
                 " ORDER BY idx LIMIT 1 FOR UPDATE SKIP LOCKED),"
                 " p AS (SELECT idx FROM sluice_items WHERE run_id = $1 AND step = $2"
                 " AND status = 'pending' ORDER BY idx LIMIT 1 FOR UPDATE SKIP LOCKED)"
                 " UPDATE sluice_items SET status = 'running', owner = $3,"
                 " lease_expires_us = $4::bigint + $5::bigint, heartbeat_us = $4::bigint,"
                 " gen = gen + 1, attempts = attempts + 1,"
                 " started_us = COALESCE(started_us, $4::bigint), ended_us = NULL,"
                 " output_json = NULL, error_class = NULL, error = NULL"
                 " WHERE run_id = $1 AND step = $2"
                 " AND idx = (SELECT min(idx) FROM (SELECT idx FROM e UNION ALL"
                 " SELECT idx FROM p) u)"
                 " AND (status = 'pending' OR (status = 'running'"
                 " AND lease_expires_us < $4::bigint))"
                 " RETURNING " ITEM_COLS,
    [QI_HEARTBEAT] = "UPDATE sluice_items SET lease_expires_us = $5::bigint + $6::bigint,"
                     " heartbeat_us = $5::bigint WHERE " HELD,
    [QI_FINISH] = "UPDATE sluice_items SET status = $5, ended_us = $6::bigint, output_json = $7,"
                  " error_class = $8, error = $9, " NO_LEASE " WHERE " HELD,
    /* Not an attempt: the count and, for a first claim, the start go back. */
    [QI_RELEASE] = "UPDATE sluice_items SET status = 'pending',"
                   " attempts = greatest(attempts - 1, 0),"
                   " started_us = CASE WHEN attempts <= 1 THEN NULL ELSE started_us END,"
                   " gen = gen + 1, " NO_LEASE " WHERE " HELD,
    [QI_GET] = "SELECT " ITEM_COLS " FROM sluice_items WHERE " ITEM_KEY,
    [QI_COUNTS] = "SELECT status, count(*) FROM sluice_items WHERE run_id = $1 AND step = $2"
                  " GROUP BY status",
    [QI_LIST] = "SELECT " ITEM_COLS " FROM sluice_items WHERE run_id = $1 AND step = $2"
                " AND idx >= $3::bigint"
                " AND ($4::text IS NULL OR position(',' || status || ',' in $4::text) > 0)"
                " ORDER BY idx LIMIT $5::bigint",
    [QI_RESET] =
        "UPDATE sluice_items SET status = 'pending', ended_us = NULL, gen = gen + 1, " NO_LEASE
        " WHERE run_id = $1 AND ($2::text IS NULL OR step = $2::text)"
        " AND (status IN ('failed', 'timed_out', 'cancelled', 'interrupted')"
        " OR (status = 'running' AND lease_expires_us < $3::bigint))",
};

#define col_str sl_state_pg_col_str
#define col_int sl_state_pg_col_int

static sl_pg_state_t *S(sl_state_t *st)
{
    return (sl_pg_state_t *)st;
}

static PGresult *exec_q(sl_pg_state_t *s, int qi, const sl_pg_params_t *p, const char *what)
{
    char name[24];
    snprintf(name, sizeof name, "sl_state_item_%d", qi);
    return sl_state_pg_exec(s, name, &s->item_prepared[qi], sql_text[qi], p, what);
}

/* Runs a statement without rows; *n gets how many rows it changed. */
static int exec_n(sl_pg_state_t *s, int qi, const sl_pg_params_t *p, const char *what, int64_t *n)
{
    PGresult *r = exec_q(s, qi, p, what);
    if (!r) {
        return SL_ESTATE;
    }
    *n = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

/* Runs a fenced write: SL_ESTALE when it matched no row. */
static int fenced(sl_pg_state_t *s, int qi, const sl_pg_params_t *p, const char *what)
{
    int64_t n = 0;
    int rc = exec_n(s, qi, p, what, &n);
    return rc ? rc : n == 0 ? SL_ESTALE : 0;
}

/* $1 $2 $3 $4: the lease's item and gen. */
static void lease_params(sl_pg_params_t *p, const sl_fence_t *lease)
{
    sl_pg_p_str(p, lease->run_id);
    sl_pg_p_str(p, lease->step);
    sl_pg_p_int(p, lease->idx);
    sl_pg_p_int(p, lease->gen);
}

/* Row i of r (ITEM_COLS), strings borrowed from r. */
static void read_item(const PGresult *r, int i, sl_item_t *it)
{
    it->run_id = col_str(r, i, 0);
    it->step = col_str(r, i, 1);
    it->idx = col_int(r, i, 2);
    it->value_json = col_str(r, i, 3);
    it->status = sl_state_status_read(col_str(r, i, 4));
    it->attempts = (int)col_int(r, i, 5);
    it->started_us = col_int(r, i, 6);
    it->ended_us = col_int(r, i, 7);
    it->output_json = col_str(r, i, 8);
    it->error_class = col_str(r, i, 9);
    it->error = col_str(r, i, 10);
    it->owner = col_str(r, i, 11);
    it->lease_expires_us = col_int(r, i, 12);
    it->gen = col_int(r, i, 13);
    it->heartbeat_us = col_int(r, i, 14);
}

/* The one row of r copied into out (SL_ENOTFOUND without one); clears r. */
static int one_item(sl_pg_state_t *s, PGresult *r, sl_item_t *out)
{
    int rc = SL_ENOTFOUND;
    if (PQntuples(r) > 0) {
        sl_item_t it;
        read_item(r, 0, &it);
        rc = sl_state_item_copy(&s->base, &it, out);
    }
    PQclear(r);
    return rc;
}

/* Appends v to a PostgreSQL array literal as a quoted element. */
static int array_elem(sl_buf_t *b, const char *v)
{
    int rc = sl_buf_append(b, b->len > 1 ? ",\"" : "\"", b->len > 1 ? 2 : 1);
    for (const char *c = v; !rc && *c; c++) {
        if (*c == '"' || *c == '\\') {
            rc = sl_buf_putc(b, '\\');
        }
        if (!rc) {
            rc = sl_buf_putc(b, *c);
        }
    }
    return rc ? rc : sl_buf_putc(b, '"');
}

int sl_state_pg_items_create(sl_state_t *st, const char *run_id, const char *step,
                             const char *const *item_json, size_t n, size_t first_idx)
{
    sl_pg_state_t *s = S(st);
    const char *what = "creating map items";
    bool began = !sl_state_pg_in_tx(s);
    int rc = began ? sl_state_pg_exec_sql(s, "BEGIN", what) : 0;
    sl_buf_t arr = SL_BUF_INIT;
    for (size_t i = 0; i < n && !rc;) {
        /* One statement per batch, its values in one text[] parameter. */
        size_t first = i;
        sl_buf_clear(&arr);
        rc = sl_buf_putc(&arr, '{');
        for (; i < n && !rc && i - first < CREATE_BATCH && arr.len < CREATE_BATCH_BYTES; i++) {
            rc = array_elem(&arr, item_json[i]);
        }
        if (!rc) {
            rc = sl_buf_putc(&arr, '}');
        }
        if (rc) {
            rc = sl_err_set(sl_state_err(st), SL_ENOMEM, "state store %s: out of memory", st->where);
            break;
        }
        sl_pg_params_t p = {.n = 0};
        sl_pg_p_str(&p, run_id);
        sl_pg_p_str(&p, step);
        sl_pg_p_int(&p, (int64_t)(first_idx + first));
        sl_pg_p_str(&p, arr.data);
        int64_t done = 0;
        rc = exec_n(s, QI_CREATE, &p, what, &done);
    }
    sl_buf_free(&arr);
    if (began && !rc) {
        rc = sl_state_pg_exec_sql(s, "COMMIT", what);
    }
    if (began && rc && sl_state_pg_in_tx(s)) {
        PQclear(PQexec(s->conn, "ROLLBACK")); /* keeps the first error's message */
    }
    return rc;
}

int sl_state_pg_item_claim(sl_state_t *st, const char *run_id, const char *step, const char *owner,
                           int64_t lease_us, int64_t now_us, int max_attempts, sl_item_t *out)
{
    sl_pg_state_t *s = S(st);
    const char *what = "claiming a map item";
    int rc = 0;
    if (max_attempts > 0) {
        /* Its own statement: the claim below skips these items either way
         * (attempts < $6), so the two need not be atomic together. */
        sl_pg_params_t xp = {.n = 0};
        sl_pg_p_str(&xp, run_id);
        sl_pg_p_str(&xp, step);
        sl_pg_p_int(&xp, now_us);
        sl_pg_p_int(&xp, max_attempts);
        int64_t n = 0;
        rc = exec_n(s, QI_EXPIRE_LAST, &xp, what, &n);
    }
    if (rc) {
        return rc;
    }
    sl_pg_params_t p = {.n = 0};
    sl_pg_p_str(&p, run_id);
    sl_pg_p_str(&p, step);
    sl_pg_p_str(&p, owner);
    sl_pg_p_int(&p, now_us);
    sl_pg_p_int(&p, lease_us);
    sl_pg_p_int(&p, max_attempts);
    PGresult *r = exec_q(s, QI_CLAIM, &p, what);
    return r ? one_item(s, r, out) : SL_ESTATE;
}

int sl_state_pg_item_heartbeat(sl_state_t *st, const sl_fence_t *lease, int64_t lease_us,
                               int64_t now_us)
{
    sl_pg_params_t p = {.n = 0};
    lease_params(&p, lease);
    sl_pg_p_int(&p, now_us);
    sl_pg_p_int(&p, lease_us);
    return fenced(S(st), QI_HEARTBEAT, &p, "extending a lease");
}

int sl_state_pg_item_finish(sl_state_t *st, const sl_fence_t *lease, const sl_outcome_t *o)
{
    sl_pg_params_t p = {.n = 0};
    lease_params(&p, lease);
    sl_pg_p_str(&p, sl_status_name(o->status));
    sl_pg_p_int(&p, o->ended_us);
    sl_pg_p_str(&p, o->output_json);
    sl_pg_p_str(&p, o->error_class);
    sl_pg_p_str(&p, o->error);
    return fenced(S(st), QI_FINISH, &p, "finishing a map item");
}

int sl_state_pg_item_release(sl_state_t *st, const sl_fence_t *lease)
{
    sl_pg_params_t p = {.n = 0};
    lease_params(&p, lease);
    return fenced(S(st), QI_RELEASE, &p, "releasing a map item");
}

int sl_state_pg_item_get(sl_state_t *st, const char *run_id, const char *step, int64_t idx,
                         sl_item_t *out)
{
    sl_pg_state_t *s = S(st);
    sl_pg_params_t p = {.n = 0};
    sl_pg_p_str(&p, run_id);
    sl_pg_p_str(&p, step);
    sl_pg_p_int(&p, idx);
    PGresult *r = exec_q(s, QI_GET, &p, "reading a map item");
    return r ? one_item(s, r, out) : SL_ESTATE;
}

int sl_state_pg_items_counts(sl_state_t *st, const char *run_id, const char *step,
                             int64_t counts[SL_STATUS_COUNT])
{
    sl_pg_params_t p = {.n = 0};
    sl_pg_p_str(&p, run_id);
    sl_pg_p_str(&p, step);
    PGresult *r = exec_q(S(st), QI_COUNTS, &p, "counting map items");
    if (!r) {
        return SL_ESTATE;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        counts[sl_state_status_read(col_str(r, i, 0))] += col_int(r, i, 1);
    }
    PQclear(r);
    return 0;
}

int sl_state_pg_items_list(sl_state_t *st, const char *run_id, const char *step,
                           const sl_items_filter_t *f, sl_item_cb cb, void *ud)
{
    sl_pg_state_t *s = S(st);
    char statuses[SL_STATE_STATUS_LIST_MAX];
    const char *list = sl_state_status_list(f->statuses, statuses);
    int64_t from = f->from_idx, left = f->limit > 0 ? f->limit : INT64_MAX;
    /* Page by idx (keyset): each query starts after the last row seen. */
    for (;;) {
        int64_t page = left < LIST_PAGE ? left : LIST_PAGE;
        sl_pg_params_t p = {.n = 0};
        sl_pg_p_str(&p, run_id);
        sl_pg_p_str(&p, step);
        sl_pg_p_int(&p, from);
        sl_pg_p_str(&p, list);
        sl_pg_p_int(&p, page);
        PGresult *r = exec_q(s, QI_LIST, &p, "listing map items");
        if (!r) {
            return SL_ESTATE;
        }
        int rows = PQntuples(r);
        for (int i = 0; i < rows; i++) {
            sl_item_t it;
            read_item(r, i, &it);
            from = it.idx + 1;
            int c = cb(ud, &it);
            if (c) {
                PQclear(r);
                return c < 0 ? c : 0;
            }
        }
        PQclear(r);
        left -= rows;
        if (rows < page || left <= 0) {
            return 0;
        }
    }
}

int sl_state_pg_items_reset(sl_state_t *st, const char *run_id, const char *step, int64_t now_us,
                            int64_t *n)
{
    sl_pg_params_t p = {.n = 0};
    sl_pg_p_str(&p, run_id);
    sl_pg_p_str(&p, step);
    sl_pg_p_int(&p, now_us);
    return exec_n(S(st), QI_RESET, &p, "resetting unfinished map items", n);
}
