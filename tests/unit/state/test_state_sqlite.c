/* Tests of the state store on its SQLite driver: the shared behaviour
 * (state_suite.c) on a database file, then what only this driver has: file
 * paths and URLs, the schema version and WAL mode, file errors. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "sluice/state.h"
#include "state_suite.h"

static const char *db_path(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 512, "%s/%s", sl_test_tmpdir(), name);
    return p;
}

static sl_state_t *open_store(const char *name)
{
    sl_err_t err = {0};
    sl_state_t *st = NULL;
    int rc = sl_state_open(db_path(name), &st, &err);
    if (rc) {
        sl_test_fail(__FILE__, __LINE__, "open: %s", err.msg);
    }
    return st;
}

static int64_t count_rows(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int64_t n = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
        n = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

static int64_t table_rows(const char *name, const char *table, const char *pipeline)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE pipeline = '%s'", table, pipeline);
    return count_rows(db_path(name), sql);
}

/* The first schema (user_version 1), as sluice 0.1 created it. */
static const char *const v1_schema =
    "CREATE TABLE runs ("
    " id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, params_json TEXT,"
    " status TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER, error TEXT);"
    "CREATE INDEX runs_by_start ON runs (started_at);"
    "CREATE INDEX runs_by_pipeline ON runs (pipeline, started_at);"
    "CREATE TABLE step_runs ("
    " run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, step TEXT NOT NULL,"
    " status TEXT NOT NULL, records_in INTEGER NOT NULL DEFAULT 0,"
    " records_out INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,"
    " bytes_in INTEGER NOT NULL DEFAULT 0, started INTEGER, ended INTEGER, error TEXT,"
    " PRIMARY KEY (run_id, step));"
    "CREATE TABLE sluice_checkpoints ("
    " pipeline TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " gen INTEGER NOT NULL DEFAULT 1, seq INTEGER NOT NULL DEFAULT 0,"
    " updated_at TEXT NOT NULL, PRIMARY KEY (pipeline, key));"
    "CREATE TABLE sluice_pipelines ("
    " pipeline TEXT PRIMARY KEY, generation INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE ingested_files ("
    " pipeline TEXT NOT NULL, step TEXT NOT NULL, path TEXT NOT NULL, size INTEGER,"
    " mtime_us INTEGER, hash TEXT, records INTEGER, run_id TEXT, ingested_at INTEGER,"
    " PRIMARY KEY (pipeline, step, path));"
    "PRAGMA user_version = 1;";

/* The rows state_suite.h describes for make_v1. */
#define V1_ROWS                                                                                    \
    "INSERT INTO runs VALUES ('old-run', 'shop', '{\"a\":1}', 'ok', 100, 200, 'e1');"              \
    "INSERT INTO step_runs VALUES ('old-run', 'load', 'ok', 5, 4, 1, 10, 110, 190, NULL);"         \
    "INSERT INTO sluice_checkpoints VALUES ('shop', 'step:load', '{\"n\":1}', 3, 5,"               \
    " '2026-01-01T00:00:00Z');"                                                                    \
    "INSERT INTO sluice_pipelines VALUES ('shop', 3);"

static void make_v1(const char *name)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    CHECK_INT(sqlite3_open(db_path(name), &db), SQLITE_OK);
    if (sqlite3_exec(db, v1_schema, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db, V1_ROWS, NULL, NULL, &msg) != SQLITE_OK) {
        sl_test_fail(__FILE__, __LINE__, "v1 store: %s", msg);
    }
    sqlite3_close(db);
}

/* The second schema's changes (user_version 2), as sluice 0.2 made them. */
static const char *const v2_changes =
    "ALTER TABLE runs ADD COLUMN trigger TEXT NOT NULL DEFAULT 'cli';"
    "ALTER TABLE runs ADD COLUMN parent_run_id TEXT;"
    "ALTER TABLE runs ADD COLUMN error_class TEXT;"
    "ALTER TABLE runs ADD COLUMN redrive_count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN output_json TEXT;"
    "CREATE INDEX runs_by_parent ON runs (parent_run_id);"
    "ALTER TABLE step_runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
    "UPDATE step_runs SET attempts = 1;"
    "ALTER TABLE step_runs ADD COLUMN output_json TEXT;"
    "ALTER TABLE step_runs ADD COLUMN error_class TEXT;"
    "CREATE TABLE items ("
    " run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, step TEXT NOT NULL,"
    " idx INTEGER NOT NULL, value_json TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,"
    " started_us INTEGER, ended_us INTEGER, output_json TEXT, error_class TEXT, error TEXT,"
    " owner TEXT, lease_expires_us INTEGER, gen INTEGER NOT NULL DEFAULT 0,"
    " heartbeat_us INTEGER, PRIMARY KEY (run_id, step, idx));"
    "CREATE INDEX items_by_status ON items (run_id, step, status, idx);"
    "PRAGMA user_version = 2;";

/* The rows state_suite.h describes for make_v2, after V1_ROWS. */
#define V2_ROWS                                                                                    \
    "INSERT INTO runs (id, pipeline, params_json, status, started_at, ended_at, error, trigger,"   \
    " parent_run_id, error_class, redrive_count, output_json) VALUES"                              \
    " ('v2-run', 'shop', '{}', 'failed', 300, 400, 'e2', 'schedule', NULL, 'data', 1,"             \
    " '{\"n\":2}'),"                                                                               \
    " ('v2-child', 'crm', NULL, 'ok', 310, 320, NULL, 'call', 'v2-run', NULL, 0, NULL);"

static void make_v2(const char *name)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    CHECK_INT(sqlite3_open(db_path(name), &db), SQLITE_OK);
    if (sqlite3_exec(db, v1_schema, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db, V1_ROWS, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db, v2_changes, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db, V2_ROWS, NULL, NULL, &msg) != SQLITE_OK) {
        sl_test_fail(__FILE__, __LINE__, "v2 store: %s", msg);
    }
    sqlite3_close(db);
}

/* The third schema's changes (user_version 3) and the row state_suite.h
 * describes for make_v3. */
static const char *const v3_changes = "ALTER TABLE runs ADD COLUMN definition TEXT;"
                                      "PRAGMA user_version = 3;"
                                      "UPDATE runs SET definition = '/srv/etl/shop.yaml'"
                                      " WHERE id = 'v2-run';";

static void make_v3(const char *name)
{
    make_v2(name);
    sqlite3 *db = NULL;
    char *msg = NULL;
    CHECK_INT(sqlite3_open(db_path(name), &db), SQLITE_OK);
    if (sqlite3_exec(db, v3_changes, NULL, NULL, &msg) != SQLITE_OK) {
        sl_test_fail(__FILE__, __LINE__, "v3 store: %s", msg);
    }
    sqlite3_close(db);
}

/* The API keys table, read outside the API: "id|name|scopes|hash" rows
 * joined by ";" (the whole table, as `sqlite3` would dump it). */
static const char *key_rows(const char *name)
{
    static char out[2048];
    out[0] = '\0';
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    if (sqlite3_open(db_path(name), &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           "SELECT group_concat(id || '|' || name || '|' || scopes || '|' || hash,"
                           " ';') FROM (SELECT * FROM api_keys ORDER BY id)",
                           -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0)) {
        snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return out;
}

static int64_t schema_version(const char *name)
{
    return count_rows(db_path(name), "PRAGMA user_version");
}

static const sl_state_driver_t sqlite_driver = {
    .open = open_store,
    .where = db_path,
    .rows = table_rows,
    .fk_error = "FOREIGN KEY constraint failed",
    .make_v1 = make_v1,
    .make_v2 = make_v2,
    .make_v3 = make_v3,
    .key_rows = key_rows,
    .schema_version = schema_version,
};

SL_TEST(state_runs_lifecycle)
{
    sl_state_suite_runs_lifecycle(&sqlite_driver);
}

SL_TEST(state_runs_list_order_limit_filter)
{
    sl_state_suite_runs_list(&sqlite_driver);
}

SL_TEST(state_run_show_prefix)
{
    sl_state_suite_run_show_prefix(&sqlite_driver);
}

SL_TEST(state_checkpoints_put_get_list)
{
    sl_state_suite_checkpoints(&sqlite_driver);
}

SL_TEST(state_reset_deletes_and_full_reset_bumps_generation)
{
    sl_state_suite_reset(&sqlite_driver);
}

SL_TEST(state_files_put_get)
{
    sl_state_suite_files(&sqlite_driver);
}

SL_TEST(state_tx_commit_rollback_misuse)
{
    sl_state_suite_tx(&sqlite_driver);
}

SL_TEST(state_lock_two_handles)
{
    sl_state_suite_lock_two_handles(&sqlite_driver);
}

SL_TEST(state_lock_killed_holder)
{
    sl_state_suite_lock_killed_holder(&sqlite_driver);
}

SL_TEST(state_runs_v2_fields_filters_redrive)
{
    sl_state_suite_runs_v2(&sqlite_driver);
}

SL_TEST(state_runs_pages)
{
    sl_state_suite_runs_pages(&sqlite_driver);
}

SL_TEST(state_runs_definition)
{
    sl_state_suite_runs_definition(&sqlite_driver);
}

SL_TEST(state_steps_v2_fields)
{
    sl_state_suite_steps_v2(&sqlite_driver);
}

SL_TEST(state_items_claim_all_two_handles)
{
    sl_state_suite_items_claim_all(&sqlite_driver);
}

SL_TEST(state_items_lease_expiry_and_fencing)
{
    sl_state_suite_items_lease_expiry(&sqlite_driver);
}

SL_TEST(state_items_max_attempts)
{
    sl_state_suite_items_max_attempts(&sqlite_driver);
}

SL_TEST(state_items_finish_counts_list)
{
    sl_state_suite_items_finish_counts_list(&sqlite_driver);
}

SL_TEST(state_items_release)
{
    sl_state_suite_items_release(&sqlite_driver);
}

SL_TEST(state_items_reset_unfinished)
{
    sl_state_suite_items_reset_unfinished(&sqlite_driver);
}

SL_TEST(state_items_100k)
{
    sl_state_suite_items_many(&sqlite_driver);
}

SL_TEST(state_items_two_processes)
{
    sl_state_suite_items_two_processes(&sqlite_driver);
}

SL_TEST(state_checkpoint_fenced)
{
    sl_state_suite_checkpoint_fenced(&sqlite_driver);
}

SL_TEST(state_tx_threads)
{
    sl_state_suite_tx_threads(&sqlite_driver);
}

SL_TEST(state_migrate_from_v1)
{
    sl_state_suite_migrate_v1(&sqlite_driver);
}

SL_TEST(state_migrate_from_v2)
{
    sl_state_suite_migrate_v2(&sqlite_driver);
}

SL_TEST(state_migrate_from_v3)
{
    sl_state_suite_migrate_v3(&sqlite_driver);
}

SL_TEST(state_api_keys)
{
    sl_state_suite_api_keys(&sqlite_driver);
}

SL_TEST(state_reopen_persists)
{
    sl_state_suite_reopen(&sqlite_driver, "deep/er/state.db");
    const char *p = db_path("deep/er/state.db");
    CHECK_INT(count_rows(p, "PRAGMA user_version"), SL_STATE_TEST_SCHEMA_VERSION);
    CHECK_INT(count_rows(p, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN"
                            " ('runs','step_runs','sluice_checkpoints','sluice_pipelines',"
                            "'ingested_files','items','api_keys')"),
              7);
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    CHECK_INT(sqlite3_open(p, &db), SQLITE_OK);
    CHECK_INT(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(q), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

SL_TEST(state_open_urls)
{
    char old[512];
    CHECK(getcwd(old, sizeof old) != NULL);
    CHECK_INT(chdir(sl_test_tmpdir()), 0);
    sl_err_t err = {0};
    sl_state_t *st = NULL;
    /* Three slashes: relative to the current folder. */
    CHECK_INT(sl_state_open("sqlite:///rel/dir/s.db", &st, &err), 0);
    sl_state_close(st);
    CHECK(access("rel/dir/s.db", F_OK) == 0);
    /* Four: absolute. */
    char url[600];
    snprintf(url, sizeof url, "sqlite:///%s/abs/s.db", sl_test_tmpdir());
    CHECK_INT(sl_state_open(url, &st, &err), 0);
    sl_state_close(st);
    CHECK(access(db_path("abs/s.db"), F_OK) == 0);
    /* A plain relative path. */
    CHECK_INT(sl_state_open(".sluice/state.db", &st, &err), 0);
    sl_state_close(st);
    CHECK(access(".sluice/state.db", F_OK) == 0);
    CHECK_INT(chdir(old), 0);

    CHECK_INT(sl_state_open("mysql://etl:s3cr3t@db.local:3306/state?ssl-mode=REQUIRED", &st, &err),
              SL_EUNSUPPORTED);
    CHECK(st == NULL);
    CHECK_STR(err.msg, "state store 'mysql://***@db.local:3306/state?***' not supported yet");
    CHECK(strstr(err.msg, "s3cr3t") == NULL);
    CHECK_INT(sl_state_open("sqlite://host/x.db", &st, &err), SL_EINVAL);
    CHECK_CONTAINS(err.msg, "expected sqlite:///relative/path.db");
    CHECK_INT(sl_state_open("", &st, &err), SL_EINVAL);
}

SL_TEST(state_unwritable_path_error)
{
    /* A regular file where a folder should be: fails even for root. */
    sl_test_write_file("blocker", "x", 1);
    sl_err_t err = {0};
    sl_state_t *st = NULL;
    const char *p = db_path("blocker/sub/state.db");
    CHECK_INT(sl_state_open(p, &st, &err), SL_ESTATE);
    CHECK(st == NULL);
    char want[600];
    snprintf(want, sizeof want, "state store %s: %s exists and is not a folder", p,
             db_path("blocker"));
    CHECK_STR(err.msg, want);

    /* Not a database: the message names the file and SQLite's reason. */
    const char *junk = sl_test_write_file("junk.db", "this is not sqlite, just text......", 35);
    CHECK_INT(sl_state_open(junk, &st, &err), SL_ESTATE);
    CHECK_CONTAINS(err.msg, junk);
    CHECK_CONTAINS(err.msg, "file is not a database");
}
