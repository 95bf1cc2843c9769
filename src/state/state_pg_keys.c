/* The PostgreSQL driver's API keys (the ops contracts are in
 * state_internal.h, the behaviour in state.h): the sluice_api_keys table,
 * shared by every server on the database, one statement per call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_pg.h"

#define KEY_COLS "id, name, scopes, hash, created_us, revoked_us, last_used_us"

enum {
    QK_CREATE,
    QK_GET,
    QK_LIST,
    QK_REVOKE_ID,
    QK_REVOKE_NAME,
    QK_TOUCH,
    QK_COUNT
};
_Static_assert(QK_COUNT <= SL_STATE_PG_KEY_STMTS, "more statements than prepared slots");

static const char *const sql_text[QK_COUNT] = {
    /* A clash on id or name inserts nothing: state_keys.c says which. */
    [QK_CREATE] = "INSERT INTO sluice_api_keys (" KEY_COLS ")"
                  " VALUES ($1, $2, $3, $4, $5::bigint, NULL, NULL) ON CONFLICT DO NOTHING",
    [QK_GET] = "SELECT " KEY_COLS " FROM sluice_api_keys WHERE id = $1",
    /* Byte order, as SQLite's, whatever the database's collation. */
    [QK_LIST] = "SELECT " KEY_COLS " FROM sluice_api_keys ORDER BY created_us, name COLLATE \"C\"",
    /* A key revoked twice keeps its first revocation time. */
    [QK_REVOKE_ID] = "UPDATE sluice_api_keys SET revoked_us = COALESCE(revoked_us, $2::bigint)"
                     " WHERE id = $1 RETURNING " KEY_COLS,
    [QK_REVOKE_NAME] = "UPDATE sluice_api_keys SET revoked_us = COALESCE(revoked_us, $2::bigint)"
                       " WHERE name = $1 RETURNING " KEY_COLS,
    [QK_TOUCH] = "UPDATE sluice_api_keys"
                 " SET last_used_us = greatest(COALESCE(last_used_us, 0), $2::bigint)"
                 " WHERE id = $1",
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
    snprintf(name, sizeof name, "sl_state_key_%d", qi);
    return sl_state_pg_exec(s, name, &s->key_prepared[qi], sql_text[qi], p, what);
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

/* Row i of r (KEY_COLS), strings borrowed from r. */
static void read_key(const PGresult *r, int i, sl_api_key_t *k)
{
    k->id = col_str(r, i, 0);
    k->name = col_str(r, i, 1);
    k->scopes = col_str(r, i, 2);
    k->hash = col_str(r, i, 3);
    k->created_us = col_int(r, i, 4);
    k->revoked_us = col_int(r, i, 5); /* NULL reads as 0: active */
    k->last_used_us = col_int(r, i, 6);
}

/* The one row of r copied into out (SL_ENOTFOUND without one); clears r. */
static int one_key(sl_pg_state_t *s, PGresult *r, sl_api_key_t *out)
{
    int rc = SL_ENOTFOUND;
    if (PQntuples(r) > 0) {
        sl_api_key_t k;
        read_key(r, 0, &k);
        rc = sl_state_key_copy(&s->base, &k, out);
    }
    PQclear(r);
    return rc;
}

int sl_state_pg_key_create(sl_state_t *st, const sl_api_key_t *key)
{
    sl_pg_params_t p = {.n = 0};
    sl_pg_p_str(&p, key->id);
    sl_pg_p_str(&p, key->name);
    sl_pg_p_str(&p, key->scopes);
    sl_pg_p_str(&p, key->hash);
    sl_pg_p_int(&p, key->created_us);
    int64_t n = 0;
    int rc = exec_n(S(st), QK_CREATE, &p, "storing an API key", &n);
    return rc ? rc : n == 0 ? SL_EINVAL : 0;
}

int sl_state_pg_key_get(sl_state_t *st, const char *id, sl_api_key_t *out)
{
    sl_pg_params_t p = {.n = 0};
    sl_pg_p_str(&p, id);
    PGresult *r = exec_q(S(st), QK_GET, &p, "reading an API key");
    return r ? one_key(S(st), r, out) : SL_ESTATE;
}

int sl_state_pg_keys_list(sl_state_t *st, sl_api_key_cb cb, void *ud)
{
    PGresult *r = exec_q(S(st), QK_LIST, NULL, "listing API keys");
    if (!r) {
        return SL_ESTATE;
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        sl_api_key_t k;
        read_key(r, i, &k);
        int c = cb(ud, &k);
        if (c) {
            rc = c < 0 ? c : 0;
            break;
        }
    }
    PQclear(r);
    return rc;
}

int sl_state_pg_key_revoke(sl_state_t *st, const char *id_or_name, int64_t now_us,
                           sl_api_key_t *out)
{
    /* By id first: an id is exact, and a name could look like another
     * key's id. */
    int rc = SL_ENOTFOUND;
    for (int qi = QK_REVOKE_ID; qi <= QK_REVOKE_NAME && rc == SL_ENOTFOUND; qi++) {
        sl_pg_params_t p = {.n = 0};
        sl_pg_p_str(&p, id_or_name);
        sl_pg_p_int(&p, now_us);
        PGresult *r = exec_q(S(st), qi, &p, "revoking an API key");
        rc = r ? one_key(S(st), r, out) : SL_ESTATE;
    }
    return rc;
}

int sl_state_pg_key_touch(sl_state_t *st, const char *id, int64_t now_us)
{
    sl_pg_params_t p = {.n = 0};
    sl_pg_p_str(&p, id);
    sl_pg_p_int(&p, now_us);
    int64_t n = 0;
    int rc = exec_n(S(st), QK_TOUCH, &p, "recording the use of an API key", &n);
    return rc ? rc : n == 0 ? SL_ENOTFOUND : 0;
}
