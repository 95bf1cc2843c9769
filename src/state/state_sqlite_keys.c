/* The SQLite driver's API keys (the ops contracts are in state_internal.h,
 * the behaviour in state.h): the api_keys table, one statement per call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_sqlite.h"

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
_Static_assert(QK_COUNT <= SL_STATE_SQLITE_KEY_STMTS, "more statements than cache slots");

static const char *const sql_text[QK_COUNT] = {
    /* A clash on id or name inserts nothing: state_keys.c says which. */
    [QK_CREATE] = "INSERT INTO api_keys (" KEY_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, NULL, NULL)"
                  " ON CONFLICT DO NOTHING",
    [QK_GET] = "SELECT " KEY_COLS " FROM api_keys WHERE id = ?1",
    [QK_LIST] = "SELECT " KEY_COLS " FROM api_keys ORDER BY created_us, name",
    /* A key revoked twice keeps its first revocation time. */
    [QK_REVOKE_ID] = "UPDATE api_keys SET revoked_us = COALESCE(revoked_us, ?2) WHERE id = ?1"
                     " RETURNING " KEY_COLS,
    [QK_REVOKE_NAME] = "UPDATE api_keys SET revoked_us = COALESCE(revoked_us, ?2)"
                       " WHERE name = ?1 RETURNING " KEY_COLS,
    [QK_TOUCH] = "UPDATE api_keys SET last_used_us = max(COALESCE(last_used_us, 0), ?2)"
                 " WHERE id = ?1",
};

#define bind_str sl_state_sqlite_bind_str
#define col_str sl_state_sqlite_col_str

static sl_sqlite_state_t *S(sl_state_t *st)
{
    return (sl_sqlite_state_t *)st;
}

static sqlite3_stmt *stmt(sl_sqlite_state_t *s, int q)
{
    return sl_state_sqlite_stmt(s, &s->key_stmts[q], sql_text[q]);
}

/* The key in the current row of q (KEY_COLS), strings borrowed. */
static void read_key(sqlite3_stmt *q, sl_api_key_t *k)
{
    k->id = col_str(q, 0);
    k->name = col_str(q, 1);
    k->scopes = col_str(q, 2);
    k->hash = col_str(q, 3);
    k->created_us = sqlite3_column_int64(q, 4);
    k->revoked_us = sqlite3_column_int64(q, 5); /* NULL reads as 0: active */
    k->last_used_us = sqlite3_column_int64(q, 6);
}

/* Steps q for at most one row, copied into out: SL_ENOTFOUND without one. */
static int one_key(sl_sqlite_state_t *s, sqlite3_stmt *q, sl_api_key_t *out, const char *what)
{
    int src = sqlite3_step(q);
    int rc = 0;
    if (src == SQLITE_ROW) {
        sl_api_key_t k;
        read_key(q, &k);
        rc = sl_state_key_copy(&s->base, &k, out);
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

int sl_state_sqlite_key_create(sl_state_t *st, const sl_api_key_t *key)
{
    sl_sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, QK_CREATE);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, key->id);
    bind_str(q, 2, key->name);
    bind_str(q, 3, key->scopes);
    bind_str(q, 4, key->hash);
    sqlite3_bind_int64(q, 5, key->created_us);
    int rc = sl_state_sqlite_exec_done(s, q, "storing an API key");
    if (!rc && sqlite3_changes(s->db) == 0) {
        rc = SL_EINVAL;
    }
    return rc;
}

int sl_state_sqlite_key_get(sl_state_t *st, const char *id, sl_api_key_t *out)
{
    sl_sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, QK_GET);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, id);
    return one_key(s, q, out, "reading an API key");
}

int sl_state_sqlite_keys_list(sl_state_t *st, sl_api_key_cb cb, void *ud)
{
    sl_sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, QK_LIST);
    if (!q) {
        return SL_ESTATE;
    }
    int src, rc = 0;
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        sl_api_key_t k;
        read_key(q, &k);
        int c = cb(ud, &k);
        if (c) {
            rc = c < 0 ? c : 0;
            src = SQLITE_DONE;
            break;
        }
    }
    if (src != SQLITE_DONE) {
        rc = sl_state_sqlite_fail(s, "listing API keys");
    }
    sl_state_sqlite_done(q);
    return rc;
}

int sl_state_sqlite_key_revoke(sl_state_t *st, const char *id_or_name, int64_t now_us,
                               sl_api_key_t *out)
{
    sl_sqlite_state_t *s = S(st);
    /* By id first: an id is exact, and a name could look like another
     * key's id. */
    int rc = SL_ENOTFOUND;
    for (int qi = QK_REVOKE_ID; qi <= QK_REVOKE_NAME && rc == SL_ENOTFOUND; qi++) {
        sqlite3_stmt *q = stmt(s, qi);
        if (!q) {
            return SL_ESTATE;
        }
        bind_str(q, 1, id_or_name);
        sqlite3_bind_int64(q, 2, now_us);
        rc = one_key(s, q, out, "revoking an API key");
    }
    return rc;
}

int sl_state_sqlite_key_touch(sl_state_t *st, const char *id, int64_t now_us)
{
    sl_sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, QK_TOUCH);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, id);
    sqlite3_bind_int64(q, 2, now_us);
    int rc = sl_state_sqlite_exec_done(s, q, "recording the use of an API key");
    if (!rc && sqlite3_changes(s->db) == 0) {
        rc = SL_ENOTFOUND;
    }
    return rc;
}
