/* Inside the SQLite driver of the state store: the handle and the helpers
 * its files share (state_sqlite.c: the schema, runs, steps, checkpoints,
 * files, the run lock, transactions; state_sqlite_items.c: map items and
 * their leases; state_sqlite_keys.c: API keys). */
#ifndef SLUICE_STATE_SQLITE_H
#define SLUICE_STATE_SQLITE_H

#include <sqlite3.h>

#include "state_internal.h"

/* Statement cache slots of each file (each checks its count fits). */
#define SL_STATE_SQLITE_CORE_STMTS 32
#define SL_STATE_SQLITE_ITEM_STMTS 16
#define SL_STATE_SQLITE_KEY_STMTS 8

typedef struct {
    sl_state_t base; /* first: the public handle */
    sqlite3 *db;
    sqlite3_stmt *stmts[SL_STATE_SQLITE_CORE_STMTS];
    sqlite3_stmt *item_stmts[SL_STATE_SQLITE_ITEM_STMTS];
    sqlite3_stmt *key_stmts[SL_STATE_SQLITE_KEY_STMTS];
    int lock_fd; /* the run lock taken by lock(), or -1 */
} sl_sqlite_state_t;

/* Records "state store PATH: WHAT: sqlite message" and returns SL_ESTATE. */
int sl_state_sqlite_fail(sl_sqlite_state_t *s, const char *what);
/* The statement cached in *slot, prepared from sql on first use; NULL
 * with the error recorded. */
sqlite3_stmt *sl_state_sqlite_stmt(sl_sqlite_state_t *s, sqlite3_stmt **slot, const char *sql);
/* Steps a statement that returns no rows; resets it. */
int sl_state_sqlite_exec_done(sl_sqlite_state_t *s, sqlite3_stmt *q, const char *what);
/* Runs SQL text without parameters. */
int sl_state_sqlite_exec(sl_sqlite_state_t *s, const char *sql, const char *what);
/* Begins an IMMEDIATE transaction unless the caller's is open (*began says
 * whether one was begun), so a group of statements is atomic either way. */
int sl_state_sqlite_begin(sl_sqlite_state_t *s, bool *began, const char *what);
/* Ends what sl_state_sqlite_begin began: commits when rc is 0, else rolls
 * back (keeping the first error's message). Returns rc, or the commit's
 * error. */
int sl_state_sqlite_end(sl_sqlite_state_t *s, bool began, int rc, const char *what);

static inline void sl_state_sqlite_done(sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

/* Binds a string borrowed for the duration of the statement (NULL binds
 * NULL). */
static inline void sl_state_sqlite_bind_str(sqlite3_stmt *q, int i, const char *v)
{
    if (v) {
        sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(q, i);
    }
}

/* Binds 0 as NULL (times not set yet). */
static inline void sl_state_sqlite_bind_time(sqlite3_stmt *q, int i, int64_t us)
{
    if (us) {
        sqlite3_bind_int64(q, i, us);
    } else {
        sqlite3_bind_null(q, i);
    }
}

static inline const char *sl_state_sqlite_col_str(sqlite3_stmt *q, int i)
{
    return (const char *)sqlite3_column_text(q, i);
}

/* The items ops (state_sqlite_items.c; contracts in state_internal.h). */
int sl_state_sqlite_items_create(sl_state_t *st, const char *run_id, const char *step,
                                 const char *const *item_json, size_t n, size_t first_idx);
int sl_state_sqlite_item_claim(sl_state_t *st, const char *run_id, const char *step,
                               const char *owner, int64_t lease_us, int64_t now_us,
                               int max_attempts, sl_item_t *out);
int sl_state_sqlite_item_heartbeat(sl_state_t *st, const sl_fence_t *lease, int64_t lease_us,
                                   int64_t now_us);
int sl_state_sqlite_item_finish(sl_state_t *st, const sl_fence_t *lease, const sl_outcome_t *o);
int sl_state_sqlite_item_release(sl_state_t *st, const sl_fence_t *lease);
int sl_state_sqlite_item_get(sl_state_t *st, const char *run_id, const char *step, int64_t idx,
                             sl_item_t *out);
int sl_state_sqlite_items_counts(sl_state_t *st, const char *run_id, const char *step,
                                 int64_t counts[SL_STATUS_COUNT]);
int sl_state_sqlite_items_list(sl_state_t *st, const char *run_id, const char *step,
                               const sl_items_filter_t *f, sl_item_cb cb, void *ud);
int sl_state_sqlite_items_reset(sl_state_t *st, const char *run_id, const char *step,
                                int64_t now_us, int64_t *n);

/* The API key ops (state_sqlite_keys.c; contracts in state_internal.h). */
int sl_state_sqlite_key_create(sl_state_t *st, const sl_api_key_t *key);
int sl_state_sqlite_key_get(sl_state_t *st, const char *id, sl_api_key_t *out);
int sl_state_sqlite_keys_list(sl_state_t *st, sl_api_key_cb cb, void *ud);
int sl_state_sqlite_key_revoke(sl_state_t *st, const char *id_or_name, int64_t now_us,
                               sl_api_key_t *out);
int sl_state_sqlite_key_touch(sl_state_t *st, const char *id, int64_t now_us);

#endif
