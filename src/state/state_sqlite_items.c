/* The SQLite driver's map items and leases (the ops contracts are in
 * state_internal.h, the behaviour in state.h).
 *
 * SQLite has one writer at a time, so a statement that checks and writes
 * (claim's UPDATE of the lowest claimable idx, a fenced write's UPDATE
 * ... WHERE gen = ?) is atomic against every other connection and process:
 * two claimants cannot take the same item. A write statement takes the
 * write lock before it reads (waiting up to the busy timeout), so it never
 * acts on a stale snapshot. Groups of statements run in an IMMEDIATE
 * transaction, or in the caller's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_sqlite.h"

#define ITEM_COLS                                                                                  \
    "run_id, step, idx, value_json, status, attempts, started_us, ended_us, output_json,"          \
    " error_class, error, owner, lease_expires_us, gen, heartbeat_us"
#define ITEM_KEY "run_id = ?1 AND step = ?2 AND idx = ?3"
/* A fenced write: the lease (?4 its gen) is still held. */
#define HELD ITEM_KEY " AND gen = ?4 AND status = 'running'"
#define NO_LEASE "owner = NULL, lease_expires_us = NULL, heartbeat_us = NULL"

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
_Static_assert(QI_COUNT <= SL_STATE_SQLITE_ITEM_STMTS, "more statements than cache slots");

static const char *const sql_text[QI_COUNT] = {
    [QI_CREATE] = "INSERT INTO items (run_id, step, idx, value_json) VALUES (?1, ?2, ?3, ?4)"
                  " ON CONFLICT (run_id, step, idx) DO NOTHING",
    /* Items whose holder died during their last allowed attempt (?4) end
     * instead of being claimed again. */
    [QI_EXPIRE_LAST] =
        "UPDATE items SET status = 'interrupted', ended_us = ?3, gen = gen + 1,"
        " error = 'its worker stopped during its last attempt (the lease"
        " expired)', " NO_LEASE " WHERE run_id = ?1 AND step = ?2 AND status = 'running'"
        " AND lease_expires_us < ?3 AND attempts >= ?4",
    /* The lowest claimable idx: two index lookups (pending, expired), not a
     * scan past every finished item. */
    [QI_CLAIM] = "UPDATE items SET status = 'running', owner = ?3, lease_expires_us = ?4 + ?5,"
                 " heartbeat_us = ?4, gen = gen + 1, attempts = attempts + 1,"
                 " started_us = COALESCE(started_us, ?4), ended_us = NULL, output_json = NULL,"
                 " error_class = NULL, error = NULL"
                 " WHERE run_id = ?1 AND step = ?2 AND idx = (SELECT min(i) FROM ("
                 " SELECT min(idx) AS i FROM items WHERE run_id = ?1 AND step = ?2"
                 " AND status = 'pending'"
                 " UNION ALL SELECT min(idx) FROM items WHERE run_id = ?1 AND step = ?2"
                 " AND status = 'running' AND lease_expires_us < ?4"
                 " AND (?6 <= 0 OR attempts < ?6)))"
                 " RETURNING " ITEM_COLS,
    [QI_HEARTBEAT] = "UPDATE items SET lease_expires_us = ?5 + ?6, heartbeat_us = ?5"
                     " WHERE " HELD,
    [QI_FINISH] = "UPDATE items SET status = ?5, ended_us = ?6, output_json = ?7,"
                  " error_class = ?8, error = ?9, " NO_LEASE " WHERE " HELD,
    /* Not an attempt: the count and, for a first claim, the start go back. */
    [QI_RELEASE] = "UPDATE items SET status = 'pending', attempts = max(attempts - 1, 0),"
                   " started_us = CASE WHEN attempts <= 1 THEN NULL ELSE started_us END,"
                   " gen = gen + 1, " NO_LEASE " WHERE " HELD,
    [QI_GET] = "SELECT " ITEM_COLS " FROM items WHERE " ITEM_KEY,
    [QI_COUNTS] = "SELECT status, count(*) FROM items WHERE run_id = ?1 AND step = ?2"
                  " GROUP BY status",
    [QI_LIST] = "SELECT " ITEM_COLS " FROM items WHERE run_id = ?1 AND step = ?2 AND idx >= ?3"
                " AND (?4 IS NULL OR instr(?4, ',' || status || ',') > 0)"
                " ORDER BY idx LIMIT ?5",
    [QI_RESET] = "UPDATE items SET status = 'pending', ended_us = NULL, gen = gen + 1, " NO_LEASE
                 " WHERE run_id = ?1 AND (?2 IS NULL OR step = ?2)"
                 " AND (status IN ('failed', 'timed_out', 'cancelled', 'interrupted')"
                 " OR (status = 'running' AND lease_expires_us < ?3))",
};

#define bind_str sl_state_sqlite_bind_str
#define col_str sl_state_sqlite_col_str

static sl_sqlite_state_t *S(sl_state_t *st)
{
    return (sl_sqlite_state_t *)st;
}

static sqlite3_stmt *stmt(sl_sqlite_state_t *s, int q)
{
    return sl_state_sqlite_stmt(s, &s->item_stmts[q], sql_text[q]);
}

/* Binds ?1 ?2 ?3 ?4: the lease's item and gen. */
static void bind_lease(sqlite3_stmt *q, const sl_fence_t *lease)
{
    bind_str(q, 1, lease->run_id);
    bind_str(q, 2, lease->step);
    sqlite3_bind_int64(q, 3, lease->idx);
    sqlite3_bind_int64(q, 4, lease->gen);
}

/* The item in the current row of q (ITEM_COLS), strings borrowed. */
static void read_item(sqlite3_stmt *q, sl_item_t *it)
{
    it->run_id = col_str(q, 0);
    it->step = col_str(q, 1);
    it->idx = sqlite3_column_int64(q, 2);
    it->value_json = col_str(q, 3);
    it->status = sl_state_status_read(col_str(q, 4));
    it->attempts = sqlite3_column_int(q, 5);
    it->started_us = sqlite3_column_int64(q, 6);
    it->ended_us = sqlite3_column_int64(q, 7);
    it->output_json = col_str(q, 8);
    it->error_class = col_str(q, 9);
    it->error = col_str(q, 10);
    it->owner = col_str(q, 11);
    it->lease_expires_us = sqlite3_column_int64(q, 12);
    it->gen = sqlite3_column_int64(q, 13);
    it->heartbeat_us = sqlite3_column_int64(q, 14);
}

/* Steps q for at most one row, copied into out: SL_ENOTFOUND without one. */
static int one_item(sl_sqlite_state_t *s, sqlite3_stmt *q, sl_item_t *out, const char *what)
{
    int src = sqlite3_step(q);
    int rc = 0;
    if (src == SQLITE_ROW) {
        sl_item_t it;
        read_item(q, &it);
        rc = sl_state_item_copy(&s->base, &it, out);
        src = sqlite3_step(q); /* to the end: a RETURNING statement completes there */
    } else if (src == SQLITE_DONE) {
        rc = SL_ENOTFOUND;
    }
    if (src != SQLITE_DONE && !rc) {
        rc = sl_state_sqlite_fail(s, what);
    }
    sl_state_sqlite_done(q);
    return rc;
}

/* Runs a fenced write: SL_ESTALE when it matched no row. */
static int fenced(sl_sqlite_state_t *s, sqlite3_stmt *q, const char *what)
{
    int rc = sl_state_sqlite_exec_done(s, q, what);
    return rc ? rc : sqlite3_changes(s->db) == 0 ? SL_ESTALE : 0;
}

int sl_state_sqlite_items_create(sl_state_t *st, const char *run_id, const char *step,
                                 const char *const *item_json, size_t n, size_t first_idx)
{
    sl_sqlite_state_t *s = S(st);
    const char *what = "creating map items";
    sqlite3_stmt *q = stmt(s, QI_CREATE);
    if (!q) {
        return SL_ESTATE;
    }
    bool began = false;
    int rc = sl_state_sqlite_begin(s, &began, what);
    for (size_t i = 0; i < n && !rc; i++) {
        bind_str(q, 1, run_id);
        bind_str(q, 2, step);
        sqlite3_bind_int64(q, 3, (int64_t)(first_idx + i));
        bind_str(q, 4, item_json[i]);
        rc = sl_state_sqlite_exec_done(s, q, what);
    }
    return sl_state_sqlite_end(s, began, rc, what);
}

int sl_state_sqlite_item_claim(sl_state_t *st, const char *run_id, const char *step,
                               const char *owner, int64_t lease_us, int64_t now_us,
                               int max_attempts, sl_item_t *out)
{
    sl_sqlite_state_t *s = S(st);
    const char *what = "claiming a map item";
    sqlite3_stmt *q = stmt(s, QI_CLAIM);
    sqlite3_stmt *xq = max_attempts > 0 ? stmt(s, QI_EXPIRE_LAST) : NULL;
    if (!q || (max_attempts > 0 && !xq)) {
        return SL_ESTATE;
    }
    bool began = false;
    int rc = xq ? sl_state_sqlite_begin(s, &began, what) : 0;
    if (!rc && xq) {
        bind_str(xq, 1, run_id);
        bind_str(xq, 2, step);
        sqlite3_bind_int64(xq, 3, now_us);
        sqlite3_bind_int(xq, 4, max_attempts);
        rc = sl_state_sqlite_exec_done(s, xq, what);
    }
    if (!rc) {
        bind_str(q, 1, run_id);
        bind_str(q, 2, step);
        bind_str(q, 3, owner);
        sqlite3_bind_int64(q, 4, now_us);
        sqlite3_bind_int64(q, 5, lease_us);
        sqlite3_bind_int(q, 6, max_attempts);
        rc = one_item(s, q, out, what);
    }
    /* Nothing to claim is not a reason to undo the expiries. */
    int erc = sl_state_sqlite_end(s, began, rc == SL_ENOTFOUND ? 0 : rc, what);
    return erc ? erc : rc;
}

int sl_state_sqlite_item_heartbeat(sl_state_t *st, const sl_fence_t *lease, int64_t lease_us,
                                   int64_t now_us)
{
    sl_sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, QI_HEARTBEAT);
    if (!q) {
        return SL_ESTATE;
    }
    bind_lease(q, lease);
    sqlite3_bind_int64(q, 5, now_us);
    sqlite3_bind_int64(q, 6, lease_us);
    return fenced(s, q, "extending a lease");
}

int sl_state_sqlite_item_finish(sl_state_t *st, const sl_fence_t *lease, const sl_outcome_t *o)
{
    sl_sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, QI_FINISH);
    if (!q) {
        return SL_ESTATE;
    }
    bind_lease(q, lease);
    bind_str(q, 5, sl_status_name(o->status));
    sqlite3_bind_int64(q, 6, o->ended_us);
    bind_str(q, 7, o->output_json);
    bind_str(q, 8, o->error_class);
    bind_str(q, 9, o->error);
    return fenced(s, q, "finishing a map item");
}

int sl_state_sqlite_item_release(sl_state_t *st, const sl_fence_t *lease)
{
    sl_sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, QI_RELEASE);
    if (!q) {
        return SL_ESTATE;
    }
    bind_lease(q, lease);
    return fenced(s, q, "releasing a map item");
}

int sl_state_sqlite_item_get(sl_state_t *st, const char *run_id, const char *step, int64_t idx,
                             sl_item_t *out)
{
    sl_sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, QI_GET);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, run_id);
    bind_str(q, 2, step);
    sqlite3_bind_int64(q, 3, idx);
    return one_item(s, q, out, "reading a map item");
}

int sl_state_sqlite_items_counts(sl_state_t *st, const char *run_id, const char *step,
                                 int64_t counts[SL_STATUS_COUNT])
{
    sl_sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, QI_COUNTS);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, run_id);
    bind_str(q, 2, step);
    int src;
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        counts[sl_state_status_read(col_str(q, 0))] += sqlite3_column_int64(q, 1);
    }
    int rc = src == SQLITE_DONE ? 0 : sl_state_sqlite_fail(s, "counting map items");
    sl_state_sqlite_done(q);
    return rc;
}

int sl_state_sqlite_items_list(sl_state_t *st, const char *run_id, const char *step,
                               const sl_items_filter_t *f, sl_item_cb cb, void *ud)
{
    sl_sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, QI_LIST);
    if (!q) {
        return SL_ESTATE;
    }
    char statuses[SL_STATE_STATUS_LIST_MAX];
    bind_str(q, 1, run_id);
    bind_str(q, 2, step);
    sqlite3_bind_int64(q, 3, f->from_idx);
    bind_str(q, 4, sl_state_status_list(f->statuses, statuses));
    sqlite3_bind_int64(q, 5, f->limit > 0 ? f->limit : -1);
    /* Rows are stepped one at a time: nothing is held but the current one. */
    int src, rc = 0;
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        sl_item_t it;
        read_item(q, &it);
        int c = cb(ud, &it);
        if (c) {
            rc = c < 0 ? c : 0;
            src = SQLITE_DONE;
            break;
        }
    }
    if (src != SQLITE_DONE) {
        rc = sl_state_sqlite_fail(s, "listing map items");
    }
    sl_state_sqlite_done(q);
    return rc;
}

int sl_state_sqlite_items_reset(sl_state_t *st, const char *run_id, const char *step,
                                int64_t now_us, int64_t *n)
{
    sl_sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, QI_RESET);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, run_id);
    bind_str(q, 2, step);
    sqlite3_bind_int64(q, 3, now_us);
    int rc = sl_state_sqlite_exec_done(s, q, "resetting unfinished map items");
    *n = rc ? 0 : sqlite3_changes(s->db);
    return rc;
}
