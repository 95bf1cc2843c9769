/* PostgreSQL connections shared by the sql plugins and the state store;
 * see include/sluice/pg.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/fsutil.h"
#include "sluice/log.h"
#include "sluice/pg.h"

bool sl_pg_is_url(const char *url)
{
    return url && (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0);
}

void sl_pg_where(const char *url, char *out, size_t cap)
{
    /* scheme://user[:password]@host... -> scheme://user@host..., and no
     * query string (it may carry password=...) */
    sl_url_parts_t u;
    sl_url_split(url, &u);
    size_t ulen = 0;
    if (u.userinfo) {
        const char *colon = memchr(u.userinfo, ':', u.userinfo_len);
        ulen = colon ? (size_t)(colon - u.userinfo) : u.userinfo_len;
    }
    size_t hlen = strcspn(u.host, "?#");
    snprintf(out, cap, "%.*s%.*s%s%.*s%s", (int)u.scheme_len, url, (int)ulen,
             u.userinfo ? u.userinfo : "", u.userinfo ? "@" : "", (int)hlen, u.host,
             u.host[hlen] == '?' ? "?..." : "");
}

/* Whether the URL's host is this machine (or a socket path, or missing:
 * libpq then uses the local socket). */
static bool local_host(const char *url)
{
    sl_url_parts_t u;
    sl_url_split(url, &u);
    const char *host = u.host;
    size_t hlen = u.host_len;
    if (hlen && host[0] == '[') {
        return hlen >= 5 && strncmp(host, "[::1]", 5) == 0;
    }
    size_t n = strcspn(host, ":/?#,");
    if (n > hlen) {
        n = hlen;
    }
    if (n == 0 || host[0] == '%') {
        return true; /* no host, or a percent-encoded socket path */
    }
    return (n == 9 && strncmp(host, "localhost", 9) == 0) || (n >= 4 && strncmp(host, "127.", 4) == 0);
}

/* Server notices (e.g. "table does not exist, skipping") go to the debug
 * log, not straight to stderr. */
static void on_notice(void *ud, const char *msg)
{
    (void)ud;
    int n = (int)strlen(msg);
    while (n > 0 && msg[n - 1] == '\n') {
        n--;
    }
    sl_debug("postgres: %.*s", n, msg);
}

int sl_pg_connect(const char *url, PGconn **out, sl_err_t *err)
{
    *out = NULL;
    char where[512];
    sl_pg_where(url, where, sizeof where);
    /* Later entries win over earlier ones, and the URL (dbname, expanded)
     * over the defaults placed before it. */
    const char *sslmode = getenv("PGSSLMODE") || local_host(url) ? NULL : "verify-full";
    const char *keys[] = {"connect_timeout", "application_name", "sslmode", "dbname",
                          "client_encoding", NULL};
    const char *vals[] = {"10", "sluice", sslmode ? sslmode : "", url, "UTF8", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c) {
        return sl_err_set(err, SL_ENOMEM, "postgres %s: out of memory", where);
    }
    if (PQstatus(c) != CONNECTION_OK) {
        sl_err_set(err, SL_EIO, "postgres %s: %s", where, sl_pg_msg(c, NULL));
        PQfinish(c);
        return SL_EIO;
    }
    PQsetNoticeProcessor(c, on_notice, NULL);
    *out = c;
    return 0;
}

const char *sl_pg_msg(const PGconn *c, const PGresult *r)
{
    static _Thread_local char buf[1024];
    const char *m = r ? PQresultErrorMessage(r) : NULL;
    if (!m || !*m) {
        m = c ? PQerrorMessage(c) : "";
    }
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' ')) {
        n--;
    }
    if (n >= sizeof buf) {
        n = sizeof buf - 1;
    }
    memcpy(buf, m, n);
    buf[n] = '\0';
    /* multi-line messages (DETAIL, HINT) on one line */
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            buf[i] = ' ';
        }
    }
    return buf;
}

const char *sl_pg_sqlstate(const PGresult *r)
{
    const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

bool sl_pg_retryable(const PGresult *r)
{
    const char *s = sl_pg_sqlstate(r);
    return strcmp(s, "40P01") == 0 || strcmp(s, "40001") == 0;
}

int sl_pg_exec(PGconn *c, const char *sql, const char *what, sl_err_t *err)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(r);
        return 0;
    }
    sl_err_set(err, SL_EIO, "%s: %s", what, sl_pg_msg(c, r));
    PQclear(r);
    return SL_EIO;
}

int sl_pg_quote_ident(sl_buf_t *b, const char *ident, size_t n)
{
    if (memchr(ident, '\0', n)) {
        return SL_EINVAL;
    }
    int rc = sl_buf_putc(b, '"');
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = ident[i] == '"' ? sl_buf_append(b, "\"\"", 2) : sl_buf_putc(b, ident[i]);
    }
    return rc ? rc : sl_buf_putc(b, '"');
}
