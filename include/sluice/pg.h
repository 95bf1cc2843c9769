/* PostgreSQL connections (libpq), shared by everything that talks to
 * PostgreSQL: the sql source, the sql sink's PostgreSQL driver, the sql
 * step and the PostgreSQL state store.
 *
 * URLs are libpq's: postgres://user[:password]@host[:port]/db?param=value
 * (postgresql:// too); what a URL leaves out comes from libpq's PG*
 * environment variables (PGPASSWORD, PGHOST, ...). TLS is verified by
 * default: unless the URL or PGSSLMODE says otherwise, a server that is
 * not on this machine is reached with sslmode=verify-full, and loopback
 * or Unix-socket servers with libpq's own default (prefer). Messages name
 * the server by its URL without the password. */
#ifndef SLUICE_PG_H
#define SLUICE_PG_H

#include <libpq-fe.h>

#include "sluice/buf.h"
#include "sluice/common.h"

/* pg_type OIDs of the built-in types sluice reads and writes (fixed across
 * PostgreSQL versions: src/include/catalog/pg_type.dat). */
enum {
    SL_PG_BOOL = 16,
    SL_PG_INT8 = 20,
    SL_PG_INT2 = 21,
    SL_PG_INT4 = 23,
    SL_PG_TEXT = 25,
    SL_PG_OID = 26,
    SL_PG_JSON = 114,
    SL_PG_FLOAT4 = 700,
    SL_PG_FLOAT8 = 701,
    SL_PG_VARCHAR = 1043,
    SL_PG_DATE = 1082,
    SL_PG_TIMESTAMP = 1114,
    SL_PG_TIMESTAMPTZ = 1184,
    SL_PG_NUMERIC = 1700,
    SL_PG_JSONB = 3802,
};

/* True for postgres:// and postgresql:// URLs. */
bool sl_pg_is_url(const char *url);

/* Connects (connect_timeout 10 s unless the URL sets one; client_encoding
 * UTF8; application_name "sluice"). On failure returns SL_EIO with err
 * "postgres <redacted url>: <libpq's message>". */
int sl_pg_connect(const char *url, PGconn **out, sl_err_t *err);

/* The URL without its password (and without password= parameters), for
 * messages; cap >= 16. */
void sl_pg_where(const char *url, char *out, size_t cap);

/* libpq's last message for c (or for r when not NULL), without the
 * trailing newline, in a buffer valid until the next call on this thread. */
const char *sl_pg_msg(const PGconn *c, const PGresult *r);

/* The SQLSTATE of r ("" when none). */
const char *sl_pg_sqlstate(const PGresult *r);

/* True for errors worth running the transaction again: deadlock_detected
 * (40P01), serialization_failure (40001). */
bool sl_pg_retryable(const PGresult *r);

/* Runs sql (no parameters) and expects PGRES_COMMAND_OK or TUPLES_OK.
 * Returns 0, or SL_EIO with err "<what>: <server message>". */
int sl_pg_exec(PGconn *c, const char *sql, const char *what, sl_err_t *err);

/* Appends "ident" (double-quoted, quotes doubled) to b; identifiers with a
 * NUL byte cannot exist in PostgreSQL and are refused (SL_EINVAL). A dotted
 * name is not split: callers quote schema and table separately. */
int sl_pg_quote_ident(sl_buf_t *b, const char *ident, size_t n);

#endif
