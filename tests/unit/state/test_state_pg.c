/* Tests of the state store on its PostgreSQL driver, against a real server
 * (tests/unit/net/pg_harness.h): the shared behaviour (state_suite.c), then
 * what only this driver has: URL forms and redaction, the schema and its
 * creation by concurrent processes, an aborted transaction, connection
 * errors. */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../net/pg_harness.h"
#include "../test.h"
#include "sluice/pg.h"
#include "sluice/state.h"
#include "state_suite.h"

/* One database per store name and test (the harness drops and recreates a
 * database each time it is asked for one, so the URL is kept). */
static const char *db_url(const char *name)
{
    static struct {
        char name[64];
        const char *url;
    } dbs[8];
    static int n;
    for (int i = 0; i < n; i++) {
        if (strcmp(dbs[i].name, name) == 0) {
            return dbs[i].url;
        }
    }
    if (n == (int)(sizeof dbs / sizeof dbs[0])) {
        sl_test_fail(__FILE__, __LINE__, "too many stores");
    }
    char db[64];
    int len = snprintf(db, sizeof db, "t_statepg_%s", name);
    for (int i = 0; i < len; i++) {
        if (!((db[i] >= 'a' && db[i] <= 'z') || (db[i] >= '0' && db[i] <= '9'))) {
            db[i] = '_';
        }
    }
    const char *url = sl_pg_harness_db(db);
    if (!url) {
        sl_test_fail(__FILE__, __LINE__, "no PostgreSQL server for the test");
    }
    snprintf(dbs[n].name, sizeof dbs[n].name, "%s", name);
    dbs[n].url = url;
    return dbs[n++].url;
}

static sl_state_t *open_store(const char *name)
{
    sl_err_t err = {0};
    sl_state_t *st = NULL;
    if (sl_state_open(db_url(name), &st, &err) != 0) {
        sl_test_fail(__FILE__, __LINE__, "open: %s", err.msg);
    }
    return st;
}

/* The harness's URLs have no password: the redacted form is the URL. */
static const char *where(const char *name)
{
    return db_url(name);
}

/* The first column of the first row of sql (one text parameter, may be
 * NULL), or NULL; malloc'd. */
static char *query1(const char *url, const char *sql, const char *param)
{
    PGconn *c = PQconnectdb(url);
    char *v = NULL;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexecParams(c, sql, param ? 1 : 0, NULL, &param, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
            v = strdup(PQgetvalue(r, 0, 0));
        } else {
            fprintf(stderr, "    query1: %s", PQerrorMessage(c));
        }
        PQclear(r);
    }
    PQfinish(c);
    return v;
}

static int64_t query_int(const char *url, const char *sql, const char *param)
{
    char *v = query1(url, sql, param);
    int64_t n = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

/* Tables are named as in SQLite, with the sluice_ prefix the PostgreSQL
 * schema gives every table. */
static int64_t table_rows(const char *name, const char *table, const char *pipeline)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s%s WHERE pipeline = $1",
             strncmp(table, "sluice_", 7) == 0 ? "" : "sluice_", table);
    return query_int(db_url(name), sql, pipeline);
}

static const sl_state_driver_t pg_driver = {
    .open = open_store,
    .where = where,
    .rows = table_rows,
    .fk_error = "violates foreign key constraint \"sluice_step_runs_run_id_fkey\"",
};

SL_TEST(statepg_runs_lifecycle)
{
    sl_state_suite_runs_lifecycle(&pg_driver);
}

SL_TEST(statepg_runs_list_order_limit_filter)
{
    sl_state_suite_runs_list(&pg_driver);
}

SL_TEST(statepg_run_show_prefix)
{
    sl_state_suite_run_show_prefix(&pg_driver);
}

SL_TEST(statepg_checkpoints_put_get_list)
{
    sl_state_suite_checkpoints(&pg_driver);
}

SL_TEST(statepg_reset_deletes_and_full_reset_bumps_generation)
{
    sl_state_suite_reset(&pg_driver);
}

SL_TEST(statepg_files_put_get)
{
    sl_state_suite_files(&pg_driver);
}

SL_TEST(statepg_tx_commit_rollback_misuse)
{
    sl_state_suite_tx(&pg_driver);
}

SL_TEST(statepg_lock_two_handles)
{
    sl_state_suite_lock_two_handles(&pg_driver);
}

SL_TEST(statepg_lock_killed_holder)
{
    sl_state_suite_lock_killed_holder(&pg_driver);
}

SL_TEST(statepg_reopen_persists)
{
    sl_state_suite_reopen(&pg_driver, "reopen");
    const char *url = db_url("reopen");
    CHECK_INT(query_int(url, "SELECT count(*) FROM sluice_state_schema", NULL), 1);
    CHECK_INT(query_int(url, "SELECT version FROM sluice_state_schema", NULL), 1);
    CHECK_INT(query_int(url,
                        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND"
                        " tablename IN ('sluice_runs', 'sluice_step_runs', 'sluice_checkpoints',"
                        " 'sluice_pipelines', 'sluice_ingested_files')",
                        NULL),
              5);
    /* The checkpoints table is the one sinks create (SL_STATE_PG_CHECKPOINTS_DDL). */
    char *t = query1(url,
                     "SELECT string_agg(column_name || ' ' || data_type, ', '"
                     " ORDER BY ordinal_position) FROM information_schema.columns"
                     " WHERE table_name = 'sluice_checkpoints'",
                     NULL);
    CHECK_STR(t, "pipeline text, key text, value text, gen bigint, seq bigint, updated_at text");
    free(t);
    /* updated_at is ISO 8601 text, as in SQLite. */
    t = query1(url, "SELECT updated_at FROM sluice_checkpoints WHERE key = 'k'", NULL);
    CHECK(t != NULL && strlen(t) >= 20 && t[4] == '-' && t[10] == 'T');
    CHECK(t[strlen(t) - 1] == 'Z');
    free(t);
}

/* Both schemes; a password in the URL never shows in messages. */
SL_TEST(statepg_open_urls_and_redaction)
{
    const char *url = db_url("urls"); /* postgresql://sluice@127.0.0.1:PORT/db */
    const char *rest = strstr(url, "://") + 3;
    char u[400];
    sl_err_t err = {0};
    sl_state_t *st = NULL;
    snprintf(u, sizeof u, "postgres://%s", rest);
    CHECK_INT(sl_state_open(u, &st, &err), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "p", "k", "1", 1), 0);
    sl_state_close(st);
    /* The trust-auth server ignores the password. */
    const char *at = strchr(rest, '@');
    snprintf(u, sizeof u, "postgresql://sluice:hunter2@%s?application_name=x", at + 1);
    CHECK_INT(sl_state_open(u, &st, &err), 0);
    sl_checkpoint_t cp;
    CHECK_INT(sl_state_checkpoint_get(st, "p", "k", &cp), 0);
    CHECK_STR(cp.value, "1");
    sl_checkpoint_free(&cp);
    CHECK_INT(sl_state_run_end(st, "nope", "ok", 1, NULL), SL_ENOTFOUND);
    char want[500];
    snprintf(want, sizeof want, "state store postgresql://sluice@%s?...: no run with id nope",
             at + 1);
    CHECK_STR(sl_state_errmsg(st), want);
    sl_state_close(st);
}

/* Nothing else holds the port. */
SL_TEST(statepg_open_wrong_port)
{
    sl_err_t err = {0};
    sl_state_t *st = NULL;
    CHECK_INT(sl_state_open("postgresql://sluice:hunter2@127.0.0.1:1/state", &st, &err), SL_ESTATE);
    CHECK(st == NULL);
    CHECK(strstr(err.msg, "state store postgresql://sluice@127.0.0.1:1/state: connection to "
                          "server at \"127.0.0.1\", port 1 failed: Connection refused") == err.msg);
    CHECK(strstr(err.msg, "hunter2") == NULL);
    CHECK(strchr(err.msg, '\n') == NULL);

    const char *url = db_url("port");
    char bad[300];
    snprintf(bad, sizeof bad, "%.*s/no_such_db", (int)(strrchr(url, '/') - url), url);
    CHECK_INT(sl_state_open(bad, &st, &err), SL_ESTATE);
    char want[400];
    snprintf(want, sizeof want, "state store %s: ", bad);
    CHECK(strstr(err.msg, want) == err.msg);
    CHECK_CONTAINS(err.msg, "database \"no_such_db\" does not exist");
}

/* The test server trusts every loopback user; here it is told to ask one
 * role for its password (pg_hba.conf rewritten through the server, which
 * only this test's process uses). */
SL_TEST(statepg_open_wrong_password)
{
    const char *url = db_url("auth");
    PGconn *c = PQconnectdb(url);
    CHECK(PQstatus(c) == CONNECTION_OK);
    char *hba = query1(url, "SHOW hba_file", NULL);
    CHECK(hba != NULL);
    char sql[1200];
    snprintf(sql, sizeof sql,
             "CREATE ROLE etl LOGIN PASSWORD 'right-one';"
             "COPY (VALUES ('host all etl 127.0.0.1/32 scram-sha-256'),"
             " ('host all all 127.0.0.1/32 trust'), ('local all all trust')) TO '%s';"
             "SELECT pg_reload_conf()",
             hba);
    free(hba);
    sl_err_t err = {0};
    CHECK_INT(sl_pg_exec(c, sql, "setting up password auth", &err), 0);
    PQfinish(c);
    const char *hostdb = strchr(url, '@') + 1;
    char u[400];
    snprintf(u, sizeof u, "postgres://etl:wrong-one@%s", hostdb);
    sl_state_t *st = NULL;
    /* The server reloads its configuration a moment later. */
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++) {
        rc = sl_state_open(u, &st, &err);
        if (rc == 0) {
            sl_state_close(st);
            st = NULL;
            usleep(50 * 1000);
        }
    }
    CHECK_INT(rc, SL_ESTATE);
    CHECK(st == NULL);
    char want[400];
    snprintf(want, sizeof want, "state store postgres://etl@%s: ", hostdb);
    CHECK(strstr(err.msg, want) == err.msg);
    CHECK_CONTAINS(err.msg, "password authentication failed for user \"etl\"");
    CHECK(strstr(err.msg, "wrong-one") == NULL);

    /* The right password gets in; a role without CREATE on the schema
     * cannot make the tables, and is told so... */
    snprintf(u, sizeof u, "postgres://etl:right-one@%s", hostdb);
    CHECK_INT(sl_state_open(u, &st, &err), SL_ESTATE);
    CHECK_CONTAINS(err.msg, "creating the schema: ERROR:  permission denied for schema public");
    CHECK_CONTAINS(err.msg, "the first open creates the tables");
    /* ... but once an owner opened the store, reading and writing rows is
     * all it needs. */
    st = open_store("auth");
    sl_state_close(st);
    c = PQconnectdb(url);
    CHECK_INT(sl_pg_exec(c,
                         "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public"
                         " TO etl; GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO etl",
                         "granting", &err),
              0);
    PQfinish(c);
    CHECK_INT(sl_state_open(u, &st, &err), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "p", "k", "1", 1), 0);
    sl_run_t r = {.id = "r1", .pipeline = "p", .started_us = 1};
    CHECK_INT(sl_state_run_begin(st, &r), 0);
    int n = -1;
    CHECK_INT(sl_state_lock_pipeline(st, "p", 5, &n), 0);
    CHECK_INT(n, 1);
    sl_state_close(st);
}

/* Several processes open a fresh database at the same moment: the schema
 * is made once, and every process can use it. */
SL_TEST(statepg_concurrent_open_of_a_fresh_database)
{
    const char *url = db_url("race");
    enum { N = 6 };
    int go[2];
    CHECK_INT(pipe(go), 0);
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        CHECK(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            char c;
            if (read(go[0], &c, 1) != 0) { /* EOF: the parent closed it */
                _exit(2);
            }
            sl_err_t err = {0};
            sl_state_t *st = NULL;
            if (sl_state_open(url, &st, &err) != 0) {
                fprintf(stderr, "    child %d: %s\n", i, err.msg);
                _exit(1);
            }
            char key[16];
            snprintf(key, sizeof key, "k%d", i);
            int rc = sl_state_checkpoint_put(st, "p", key, "1", 1);
            if (rc) {
                fprintf(stderr, "    child %d: %s\n", i, sl_state_errmsg(st));
            }
            sl_state_close(st);
            _exit(rc ? 1 : 0);
        }
    }
    close(go[0]);
    close(go[1]); /* all go */
    for (int i = 0; i < N; i++) {
        int status = 0;
        CHECK_INT(waitpid(pids[i], &status, 0), pids[i]);
        CHECK(WIFEXITED(status));
        CHECK_INT(WEXITSTATUS(status), 0);
    }
    CHECK_INT(query_int(url, "SELECT count(*) FROM sluice_state_schema", NULL), 1);
    CHECK_INT(query_int(url, "SELECT count(*) FROM sluice_checkpoints", NULL), N);
}

/* PostgreSQL aborts a transaction at its first failed statement, and its
 * COMMIT then rolls back: that is reported, not taken for a commit. */
SL_TEST(statepg_tx_failed_statement_fails_commit)
{
    sl_state_t *st = open_store("abort");
    CHECK_INT(sl_state_tx_begin(st), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "p", "k", "1", 1), 0);
    sl_step_run_t orphan = {.run_id = "nope", .step = "x", .status = "ok"};
    CHECK_INT(sl_state_step_put(st, &orphan), SL_ESTATE);
    CHECK_INT(sl_state_checkpoint_put(st, "p", "k2", "1", 1), SL_ESTATE);
    CHECK_CONTAINS(sl_state_errmsg(st), "current transaction is aborted");
    CHECK_INT(sl_state_tx_commit(st), SL_ESTATE);
    CHECK_CONTAINS(sl_state_errmsg(st), "the server rolled it back");
    sl_checkpoint_t cp;
    CHECK_INT(sl_state_checkpoint_get(st, "p", "k", &cp), SL_ENOTFOUND);
    /* The handle works on. */
    CHECK_INT(sl_state_checkpoint_put(st, "p", "k", "2", 2), 0);
    CHECK_INT(sl_state_checkpoint_get(st, "p", "k", &cp), 0);
    CHECK_STR(cp.value, "2");
    sl_checkpoint_free(&cp);
    sl_state_close(st);
}

static int on_key(void *ud, const char *key, const sl_checkpoint_t *cp)
{
    (void)cp;
    char *keys = ud;
    size_t n = strlen(keys);
    snprintf(keys + n, 64 - n, "%s,", key);
    return 0;
}

/* Run ids and checkpoint keys order by bytes, as in SQLite, whatever the
 * database's collation; prefixes with non-ASCII and LIKE characters match
 * literally. */
SL_TEST(statepg_byte_order_and_literal_prefixes)
{
    sl_state_t *st = open_store("order");
    sl_run_t r = {.id = "a_%\xc3\xa9-1", .pipeline = "p", .started_us = 1};
    CHECK_INT(sl_state_run_begin(st, &r), 0);
    r.id = "aX%\xc3\xa9-2";
    CHECK_INT(sl_state_run_begin(st, &r), 0);
    int dummy = 0;
    CHECK_INT(sl_state_run_show(st, "a_%", NULL, NULL, &dummy), 0);
    CHECK_INT(sl_state_run_show(st, "a_", NULL, NULL, &dummy), 0);
    CHECK_INT(sl_state_run_show(st, "a", NULL, NULL, &dummy), SL_EINVAL);
    CHECK_CONTAINS(sl_state_errmsg(st), "(aX%\xc3\xa9-2, a_%\xc3\xa9-1)"); /* 'X' < '_' */
    CHECK_INT(sl_state_checkpoint_put(st, "p", "b", "1", 1), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "p", "B", "1", 1), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "p", "\xc3\xa9", "1", 1), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "p", "a", "1", 1), 0);
    char keys[64] = "";
    CHECK_INT(sl_state_checkpoint_list(st, "p", on_key, keys), 0);
    CHECK_STR(keys, "B,a,b,\xc3\xa9,");
    sl_state_close(st);
}
