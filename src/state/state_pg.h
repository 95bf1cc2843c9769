/* Inside the PostgreSQL driver of the state store: the handle and the
 * helpers its files share (state_pg.c: the schema, runs, steps,
 * checkpoints, files, the run lock, transactions; state_pg_items.c: map
 * items and their leases; state_pg_keys.c: API keys). */
#ifndef SLUICE_STATE_PG_H
#define SLUICE_STATE_PG_H

#include <libpq-fe.h>

#include "state_internal.h"

/* Prepared statement slots of each file (each checks its count fits). */
#define SL_STATE_PG_CORE_STMTS 32
#define SL_STATE_PG_ITEM_STMTS 16
#define SL_STATE_PG_KEY_STMTS 8

typedef struct {
    sl_state_t base; /* first: the public handle */
    PGconn *conn;
    bool prepared[SL_STATE_PG_CORE_STMTS];
    bool item_prepared[SL_STATE_PG_ITEM_STMTS];
    bool key_prepared[SL_STATE_PG_KEY_STMTS];
    bool locked;      /* the run lock is held (on this connection) */
    int64_t lock_key; /* its advisory lock key */
} sl_pg_state_t;

/* Up to 16 text parameters of one statement; NULL is SQL NULL. */
typedef struct {
    const char *v[16];
    char num[16][24];
    int n;
} sl_pg_params_t;

static inline void sl_pg_p_str(sl_pg_params_t *p, const char *s)
{
    p->v[p->n++] = s;
}

void sl_pg_p_int(sl_pg_params_t *p, int64_t x);

/* Records "state store URL: WHAT: server message" and returns SL_ESTATE. */
int sl_state_pg_fail(sl_pg_state_t *s, const char *what, const PGresult *r);
/* Runs sql with p's parameters as the prepared statement name, preparing
 * it on first use (*prepared). Returns its result (the caller clears it) or
 * NULL with the error recorded. */
PGresult *sl_state_pg_exec(sl_pg_state_t *s, const char *name, bool *prepared, const char *sql,
                           const sl_pg_params_t *p, const char *what);
/* Runs SQL without parameters (transaction control, DDL). */
int sl_state_pg_exec_sql(sl_pg_state_t *s, const char *sql, const char *what);
/* Whether the connection is inside a transaction. */
bool sl_state_pg_in_tx(const sl_pg_state_t *s);

static inline const char *sl_state_pg_col_str(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* NULL reads as 0, as sqlite3_column_int64 does. */
int64_t sl_state_pg_col_int(const PGresult *r, int row, int col);

/* The items ops (state_pg_items.c; contracts in state_internal.h). */
int sl_state_pg_items_create(sl_state_t *st, const char *run_id, const char *step,
                             const char *const *item_json, size_t n, size_t first_idx);
int sl_state_pg_item_claim(sl_state_t *st, const char *run_id, const char *step, const char *owner,
                           int64_t lease_us, int64_t now_us, int max_attempts, sl_item_t *out);
int sl_state_pg_item_heartbeat(sl_state_t *st, const sl_fence_t *lease, int64_t lease_us,
                               int64_t now_us);
int sl_state_pg_item_finish(sl_state_t *st, const sl_fence_t *lease, const sl_outcome_t *o);
int sl_state_pg_item_release(sl_state_t *st, const sl_fence_t *lease);
int sl_state_pg_item_get(sl_state_t *st, const char *run_id, const char *step, int64_t idx,
                         sl_item_t *out);
int sl_state_pg_items_counts(sl_state_t *st, const char *run_id, const char *step,
                             int64_t counts[SL_STATUS_COUNT]);
int sl_state_pg_items_list(sl_state_t *st, const char *run_id, const char *step,
                           const sl_items_filter_t *f, sl_item_cb cb, void *ud);
int sl_state_pg_items_reset(sl_state_t *st, const char *run_id, const char *step, int64_t now_us,
                            int64_t *n);

/* The API key ops (state_pg_keys.c; contracts in state_internal.h). */
int sl_state_pg_key_create(sl_state_t *st, const sl_api_key_t *key);
int sl_state_pg_key_get(sl_state_t *st, const char *id, sl_api_key_t *out);
int sl_state_pg_keys_list(sl_state_t *st, sl_api_key_cb cb, void *ud);
int sl_state_pg_key_revoke(sl_state_t *st, const char *id_or_name, int64_t now_us,
                           sl_api_key_t *out);
int sl_state_pg_key_touch(sl_state_t *st, const char *id, int64_t now_us);

#endif
