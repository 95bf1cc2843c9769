/* The shared PostgreSQL connection helpers (src/net/pg.c), against a real
 * server (tests/harness/pg_server.sh). */
#include <stdlib.h>
#include <string.h>

#include "sluice/pg.h"
#include "pg_harness.h"
#include "../test.h"

SL_TEST(pg_where_hides_the_password_and_query)
{
    char w[256];
    sl_pg_where("postgresql://bob:s3cret@db.example:5432/app?sslmode=require&password=x", w,
                sizeof w);
    CHECK_STR(w, "postgresql://bob@db.example:5432/app?...");
    sl_pg_where("postgres://db.example/app", w, sizeof w);
    CHECK_STR(w, "postgres://db.example/app");
    sl_pg_where("postgres://:pw@h/d", w, sizeof w);
    CHECK_STR(w, "postgres://@h/d");
    CHECK(sl_pg_is_url("postgres://h/d"));
    CHECK(sl_pg_is_url("postgresql://h/d"));
    CHECK(!sl_pg_is_url("sqlite:///x.db"));
    CHECK(!sl_pg_is_url(NULL));
}

SL_TEST(pg_quote_ident_doubles_quotes)
{
    sl_buf_t b = SL_BUF_INIT;
    CHECK_INT(sl_pg_quote_ident(&b, "we\"ird name", 11), 0);
    CHECK_INT(sl_pg_quote_ident(&b, "a\0b", 3), SL_EINVAL);
    CHECK_STR(b.data, "\"we\"\"ird name\"");
    sl_buf_free(&b);
}

SL_TEST(pg_connect_exec_and_errors)
{
    const char *url = sl_pg_harness_db("t_pg_connect");
    CHECK(url != NULL);
    sl_err_t err = {0};
    PGconn *c = NULL;
    CHECK_INT(sl_pg_connect(url, &c, &err), 0);
    CHECK_INT(sl_pg_exec(c, "CREATE TABLE t (id int PRIMARY KEY)", "create", &err), 0);
    CHECK_INT(sl_pg_exec(c, "INSERT INTO t VALUES (1), (1)", "insert into t", &err), SL_EIO);
    CHECK(strstr(err.msg, "insert into t: ERROR:  duplicate key value violates unique "
                          "constraint \"t_pkey\"") == err.msg);
    CHECK(strchr(err.msg, '\n') == NULL);
    PGresult *r = PQexec(c, "SELECT 1/0");
    CHECK_STR(sl_pg_sqlstate(r), "22012");
    CHECK(!sl_pg_retryable(r));
    PQclear(r);
    PQfinish(c);

    /* a server that is not there: the message names it, without password */
    const char *port = strrchr(url, ':');
    CHECK(port != NULL);
    CHECK_INT(sl_pg_connect("postgresql://sluice:hunter2@127.0.0.1:1/x", &c, &err), SL_EIO);
    CHECK(c == NULL);
    CHECK(strstr(err.msg, "postgres postgresql://sluice@127.0.0.1:1/x: ") == err.msg);
    CHECK(strstr(err.msg, "hunter2") == NULL);
    /* a database that does not exist */
    char bad[300];
    snprintf(bad, sizeof bad, "%.*s/no_such_db", (int)(strrchr(url, '/') - url), url);
    CHECK_INT(sl_pg_connect(bad, &c, &err), SL_EIO);
    CHECK(strstr(err.msg, "database \"no_such_db\" does not exist") != NULL);
}
