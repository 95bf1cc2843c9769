/* Inside the state store: the driver ops table behind include/sluice/state.h.
 *
 * state.c owns the public functions: it checks arguments, serialises calls
 * with the handle's lock (the engine's worker threads share one handle) and
 * dispatches through st->ops. A driver allocates its own struct with a
 * struct sl_state as its first member, fills ops and where, and reports
 * errors in st->err. Strings a driver hands to callbacks are valid only
 * during the callback, as the public contract says. */
#ifndef SLUICE_STATE_INTERNAL_H
#define SLUICE_STATE_INTERNAL_H

#include <pthread.h>

#include "sluice/state.h"

struct sl_state_ops {
    const char *name; /* "sqlite" */
    /* Frees everything, including the struct the driver allocated. */
    void (*close)(sl_state_t *st);
    int (*run_begin)(sl_state_t *st, const sl_run_t *run);
    int (*run_end)(sl_state_t *st, const char *run_id, const char *status, int64_t ended_us,
                   const char *error);
    int (*step_put)(sl_state_t *st, const sl_step_run_t *s);
    /* limit <= 0: all runs. */
    int (*runs_list)(sl_state_t *st, const char *pipeline, int limit, sl_run_cb cb, void *ud);
    int (*run_show)(sl_state_t *st, const char *id, sl_run_cb run_cb, sl_step_cb step_cb,
                    void *ud);
    int (*generation)(sl_state_t *st, const char *pipeline, int64_t *gen);
    int (*checkpoint_get)(sl_state_t *st, const char *pipeline, const char *key,
                          sl_checkpoint_t *cp);
    int (*checkpoint_put)(sl_state_t *st, const char *pipeline, const char *key,
                          const char *value, int64_t seq);
    int (*checkpoint_list)(sl_state_t *st, const char *pipeline, sl_checkpoint_cb cb, void *ud);
    int (*reset)(sl_state_t *st, const char *pipeline, const char *key);
    int (*file_get)(sl_state_t *st, const char *pipeline, const char *step, const char *path,
                    sl_file_record_t *out);
    int (*file_put)(sl_state_t *st, const char *pipeline, const char *step,
                    const sl_file_record_t *f);
    /* Takes the pipeline's run lock (held until close): SL_EAGAIN when
     * another process holds it. */
    int (*lock)(sl_state_t *st, const char *pipeline);
    /* Marks the pipeline's runs still 'running' as 'interrupted' (their
     * process is gone: the caller holds the run lock). Returns the count
     * through *n. */
    int (*interrupted)(sl_state_t *st, const char *pipeline, int64_t ended_us, int *n);
    /* Groups the following puts into one transaction (not around reset). */
    int (*tx_begin)(sl_state_t *st);
    int (*tx_commit)(sl_state_t *st);
    void (*tx_rollback)(sl_state_t *st);
};

struct sl_state {
    const struct sl_state_ops *ops;
    char *where;          /* store location for messages (no secrets), owned by the driver */
    pthread_mutex_t lock; /* recursive: callbacks may call back into the store */
    sl_err_t err;         /* last error, for sl_state_errmsg */
};

/* Key prefix of the per-step ingested-files checkpoint: resetting the key
 * "files:<step>" also forgets that step's ingested files. */
#define SL_STATE_FILES_KEY_PREFIX "files:"

/* Opens the SQLite store at a filesystem path (already extracted from the
 * URL), creating parent folders and the schema. Errors name the path. */
int sl_state_sqlite_open(const char *path, sl_state_t **out, sl_err_t *err);

/* Opens the PostgreSQL store at a postgres:// or postgresql:// URL
 * (sl_pg_connect: TLS verified off-machine by default), creating the
 * schema. Errors name the URL without its password. */
int sl_state_pg_open(const char *url, sl_state_t **out, sl_err_t *err);

#endif
