/* Inside the `sql` sink: the small interface between the dialect-neutral
 * part (sql.c: config, schema inference, column sets, batching,
 * transactions) and one database driver (sql_sqlite.c, sql_pg.c).
 *
 * sql.c decides what happens: which columns exist, which to add, which
 * column set each record uses, when to begin and commit. A driver only
 * speaks its database: type names, identifier quoting, DDL, prepared
 * INSERT/UPSERT statements cached per column set, the checkpoint table.
 * Every driver error fills err with a message naming the database, the
 * table and the database's own message. */
#ifndef SLUICE_SQL_INTERNAL_H
#define SLUICE_SQL_INTERNAL_H

#include "sluice/plugin.h"

/* Column types inferred from record values; each driver maps them to its
 * own SQL types. */
typedef enum {
    SL_SQL_UNKNOWN = 0, /* only nulls seen so far: stored as text */
    SL_SQL_INT,
    SL_SQL_FLOAT,
    SL_SQL_BOOL,
    SL_SQL_TEXT,
    SL_SQL_TIMESTAMP,
    SL_SQL_DATE,
    SL_SQL_BIGNUM,
    SL_SQL_JSON, /* arrays and objects */
} sl_sql_type_t;

typedef enum {
    SL_SQL_APPEND = 0,
    SL_SQL_UPSERT,
    SL_SQL_REPLACE,
} sl_sql_mode_t;

typedef struct {
    char *name; /* NUL-terminated (names with NUL bytes are refused) */
    size_t len;
    sl_sql_type_t type;
    bool in_db; /* exists in the database table */
} sl_sql_column_t;

/* One column set: the columns a group of records carries. A driver
 * prepares one statement per set id and reuses it across records and
 * batches until forget_sets. */
typedef struct {
    const char *table;           /* the table written (staging table for replace) */
    const sl_sql_column_t *cols; /* every known column */
    const uint32_t *idx;         /* this set's columns: ascending indexes into cols */
    size_t n;
    sl_sql_mode_t mode;
    char *const *keys; /* upsert conflict target */
    size_t nkeys;
} sl_sql_insert_t;

typedef struct sl_sql_conn sl_sql_conn_t;

typedef struct sl_sql_driver {
    const char *name;
    /* Identifiers compare case-insensitively (SQLite folds ASCII case;
     * PostgreSQL's quoted identifiers do not). */
    bool ident_nocase;
    /* True when url is for this driver. */
    bool (*accepts)(const char *url);
    /* Connects; relative locations resolve against base_dir (NULL: cwd). */
    int (*connect)(const char *url, const char *base_dir, sl_sql_conn_t **out, sl_err_t *err);
    void (*disconnect)(sl_sql_conn_t *c);
    /* Where the data goes, for messages (a path; never credentials). */
    const char *(*where)(const sl_sql_conn_t *c);

    /* Columns of table in order (malloc'd array of malloc'd names, in_db
     * set), or *exists = false. */
    int (*describe)(sl_sql_conn_t *c, const char *table, bool *exists, sl_sql_column_t **cols,
                    size_t *ncols, sl_err_t *err);
    /* *ok = table has a primary key or a full unique index on exactly keys. */
    int (*unique_on)(sl_sql_conn_t *c, const char *table, char *const *keys, size_t nkeys,
                     bool *ok, sl_err_t *err);
    /* Optional: inside a transaction, keeps other writers from changing
     * table's definition until it ends (SQLite's BEGIN IMMEDIATE already
     * does), so a describe then a create or an ALTER is one step. */
    int (*ddl_lock)(sl_sql_conn_t *c, const char *table, sl_err_t *err);
    /* CREATE TABLE with cols; PRIMARY KEY (keys) when nkeys > 0. */
    int (*create)(sl_sql_conn_t *c, const char *table, const sl_sql_column_t *cols,
                  size_t ncols, char *const *keys, size_t nkeys, sl_err_t *err);
    /* CREATE TABLE `table` with the columns and primary key of `like`. */
    int (*create_like)(sl_sql_conn_t *c, const char *table, const char *like, sl_err_t *err);
    int (*add_column)(sl_sql_conn_t *c, const char *table, const sl_sql_column_t *col,
                      sl_err_t *err);
    /* DROP TABLE IF EXISTS; *existed tells whether it was there (may be NULL). */
    int (*drop)(sl_sql_conn_t *c, const char *table, bool *existed, sl_err_t *err);
    /* Inside a transaction: replaces table by staging (dropping table,
     * renaming staging, recreating table's indexes and triggers). */
    int (*swap)(sl_sql_conn_t *c, const char *staging, const char *table, sl_err_t *err);

    /* A driver error of SL_RETRY (deadlock, serialization failure) means
     * rolling back and running the whole transaction again may succeed. */
    int (*begin)(sl_sql_conn_t *c, sl_err_t *err);
    int (*commit)(sl_sql_conn_t *c, sl_err_t *err);
    void (*rollback)(sl_sql_conn_t *c);

    /* Writes one row of set `set`: vals[k] is the value of column
     * ins->idx[k]. Values are borrowed only for the call; a driver that
     * buffers rows copies them. Rows are numbered from 0 since begin. */
    int (*insert)(sl_sql_conn_t *c, uint32_t set, const sl_sql_insert_t *ins,
                  const sl_value_t *const *vals, sl_err_t *err);
    /* Optional: writes rows still buffered; called after the batch's last
     * insert, before checkpoint_put and commit. */
    int (*flush)(sl_sql_conn_t *c, sl_err_t *err);
    /* Optional: the row (number since begin) the last insert or flush
     * error is about, or SIZE_MAX when it is the row just inserted or none. */
    size_t (*failed_row)(const sl_sql_conn_t *c);
    /* Drops every cached per-set statement (set ids are reassigned). */
    void (*forget_sets)(sl_sql_conn_t *c);

    /* Upserts (pipeline, key) -> value in the database's sluice_checkpoints
     * table (SL_STATE_CHECKPOINTS_DDL), inside the current transaction. */
    int (*checkpoint_put)(sl_sql_conn_t *c, const char *pipeline, const char *key,
                          const char *value, sl_err_t *err);
    /* *out = malloc'd value or NULL when absent (or no table). */
    int (*checkpoint_get)(sl_sql_conn_t *c, const char *pipeline, const char *key, char **out,
                          sl_err_t *err);
} sl_sql_driver_t;

extern const sl_sql_driver_t sl_sql_driver_sqlite;
extern const sl_sql_driver_t sl_sql_driver_pg;

/* Test seam: the function the sink calls to reject a record (default
 * sl_reject_record). NULL restores the default. */
typedef int (*sl_sql_reject_fn)(sl_step_ctx_t *ctx, const sl_batch_t *b, size_t i,
                                const char *reason);
void sl_sql_set_reject_fn(sl_sql_reject_fn fn);

/* Keeps one idle connection to the SQLite database at path open until the
 * process exits, so closing a sink does not checkpoint and delete the WAL
 * (see sql_sqlite_anchor.c). Call once the database is in WAL mode. */
void sl_sqlite_keep_open(const char *path);

#endif
