/* The state store: run history, checkpoints and ingested files.
 *
 * One API, several drivers (SQLite, PostgreSQL) behind an ops
 * table. Checkpoints are JSON values per (pipeline, key), tagged with the
 * pipeline's generation (bumped by `state reset`) and a sequence number, so
 * a checkpoint a transactional sink kept in its own database can be
 * compared with the state's own. */
#ifndef SLUICE_STATE_H
#define SLUICE_STATE_H

#include "sluice/common.h"

typedef struct sl_state sl_state_t;

/* Schema shared by the SQLite state store and SQLite sinks that keep their
 * checkpoint next to their data. */
#define SL_STATE_CHECKPOINTS_DDL                                                       \
    "CREATE TABLE IF NOT EXISTS sluice_checkpoints ("                                  \
    " pipeline TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"                 \
    " gen INTEGER NOT NULL DEFAULT 1, seq INTEGER NOT NULL DEFAULT 0,"                 \
    " updated_at TEXT NOT NULL, PRIMARY KEY (pipeline, key))"

/* The same table in PostgreSQL (the PostgreSQL state store, and PostgreSQL
 * sql sinks keeping their checkpoint in their own transaction): when sink
 * and state share a database they share this table. */
#define SL_STATE_PG_CHECKPOINTS_DDL                                                    \
    "CREATE TABLE IF NOT EXISTS sluice_checkpoints ("                                  \
    " pipeline text NOT NULL, key text NOT NULL, value text NOT NULL,"                 \
    " gen bigint NOT NULL DEFAULT 1, seq bigint NOT NULL DEFAULT 0,"                   \
    " updated_at text NOT NULL, PRIMARY KEY (pipeline, key))"

typedef struct {
    const char *id;          /* UUID */
    const char *pipeline;
    const char *params_json; /* secret-free */
    int64_t started_us;
    int64_t ended_us;        /* 0 while running */
    const char *status;      /* running, ok, failed, partial */
    const char *error;       /* NULL or message */
} sl_run_t;

typedef struct {
    const char *run_id;
    const char *step;
    const char *status;
    int64_t records_in, records_out, rejected, bytes_in;
    int64_t started_us, ended_us;
    const char *error;
} sl_step_run_t;

typedef struct {
    const char *value;  /* JSON */
    int64_t gen;
    int64_t seq;
    int64_t updated_us;
} sl_checkpoint_t;

typedef struct {
    const char *path;
    int64_t size;
    int64_t mtime_us;
    const char *hash;   /* hex content hash */
    int64_t records;
    const char *run_id;
    int64_t ingested_us;
} sl_file_record_t;

/* Opens the store at url: a plain path or sqlite:///rel, sqlite:////abs
 * (relative to cwd), creating folders and schema as needed; or a
 * postgres:// / postgresql:// URL (the PostgreSQL driver: URL forms and
 * TLS defaults as in pg.h, tables prefixed sluice_). */
int sl_state_open(const char *url, sl_state_t **out, sl_err_t *err);
void sl_state_close(sl_state_t *st);
const char *sl_state_errmsg(const sl_state_t *st);

int sl_state_run_begin(sl_state_t *st, const sl_run_t *run);
int sl_state_run_end(sl_state_t *st, const char *run_id, const char *status, int64_t ended_us,
                     const char *error);
int sl_state_step_put(sl_state_t *st, const sl_step_run_t *s);

/* Lists runs newest first (pipeline NULL = all). cb returns non-zero to stop.
 * Strings passed to cb are valid only during the call. */
typedef int (*sl_run_cb)(void *ud, const sl_run_t *run);
int sl_state_runs_list(sl_state_t *st, const char *pipeline, int limit, sl_run_cb cb, void *ud);
/* One run (id may be a unique prefix) and its steps. */
typedef int (*sl_step_cb)(void *ud, const sl_step_run_t *s);
int sl_state_run_show(sl_state_t *st, const char *id, sl_run_cb run_cb, sl_step_cb step_cb,
                      void *ud);

/* The pipeline's generation (1 for a new pipeline). */
int sl_state_generation(sl_state_t *st, const char *pipeline, int64_t *gen);

/* Fills cp (strings malloc'd: free with sl_checkpoint_free) or returns
 * SL_ENOTFOUND. */
int sl_state_checkpoint_get(sl_state_t *st, const char *pipeline, const char *key,
                            sl_checkpoint_t *cp);
/* Stores value with the current generation and the given seq. */
int sl_state_checkpoint_put(sl_state_t *st, const char *pipeline, const char *key,
                            const char *value, int64_t seq);
typedef int (*sl_checkpoint_cb)(void *ud, const char *key, const sl_checkpoint_t *cp);
int sl_state_checkpoint_list(sl_state_t *st, const char *pipeline, sl_checkpoint_cb cb,
                             void *ud);
/* Deletes checkpoints and file records in one transaction. key NULL: all
 * the pipeline's checkpoints and ingested files, and its generation is
 * bumped; key "files:<step>": that checkpoint and the files ingested by
 * <step> only; any other key: that checkpoint. */
int sl_state_reset(sl_state_t *st, const char *pipeline, const char *key);
void sl_checkpoint_free(sl_checkpoint_t *cp);

/* Ingested files of a (pipeline, step). get returns SL_ENOTFOUND when the
 * path was never completed; strings malloc'd (sl_file_record_free). */
int sl_state_file_get(sl_state_t *st, const char *pipeline, const char *step, const char *path,
                      sl_file_record_t *out);
int sl_state_file_put(sl_state_t *st, const char *pipeline, const char *step,
                      const sl_file_record_t *f);
void sl_file_record_free(sl_file_record_t *f);

/* Takes the pipeline's run lock for as long as st stays open, so two runs
 * of one pipeline never overlap (SL_EAGAIN, with a message, when another
 * process runs it), then marks the pipeline's runs left 'running' by a
 * killed process as 'interrupted' (*interrupted gets their count). */
int sl_state_lock_pipeline(sl_state_t *st, const char *pipeline, int64_t now_us,
                           int *interrupted);

/* Groups puts (checkpoints, files, runs) into one atomic transaction, e.g.
 * a step's final checkpoint with every file it ingested. Not around
 * sl_state_reset, which has its own. */
int sl_state_tx_begin(sl_state_t *st);
int sl_state_tx_commit(sl_state_t *st);
void sl_state_tx_rollback(sl_state_t *st);

#endif
