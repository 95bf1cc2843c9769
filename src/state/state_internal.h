/* Inside the state store: the driver ops table behind include/sluice/state.h.
 *
 * state.c (runs, checkpoints, files), state_items.c (items and leases),
 * state_keys.c (API keys) and state_tx.c (transactions) own the public
 * functions: they check arguments, serialise calls with the handle's lock
 * (the engine's worker threads share one handle) and dispatch through
 * st->ops. A driver allocates its own struct with a struct sl_state as its
 * first member, fills ops and where, and reports errors in sl_state_err(st).
 * Strings a driver hands to callbacks are valid only during the callback,
 * as the public contract says. */
#ifndef SLUICE_STATE_INTERNAL_H
#define SLUICE_STATE_INTERNAL_H

#include <pthread.h>

#include "sluice/state.h"

struct sl_state_ops {
    const char *name; /* "sqlite" */
    /* Frees everything, including the struct the driver allocated. */
    void (*close)(sl_state_t *st);
    int (*run_begin)(sl_state_t *st, const sl_run_t *run);
    /* o->status is final. SL_ENOTFOUND (with a message) for an unknown run. */
    int (*run_finish)(sl_state_t *st, const char *run_id, const sl_outcome_t *o);
    /* SL_ENOTFOUND or SL_EINVAL (not finished), with a message. */
    int (*run_redrive)(sl_state_t *st, const char *run_id);
    int (*step_put)(sl_state_t *st, const sl_step_run_t *s);
    /* f->limit <= 0: all runs. */
    int (*runs_query)(sl_state_t *st, const sl_runs_filter_t *f, sl_run_cb cb, void *ud);
    int (*run_show)(sl_state_t *st, const char *id, sl_run_cb run_cb, sl_step_cb step_cb, void *ud);
    int (*generation)(sl_state_t *st, const char *pipeline, int64_t *gen);
    int (*checkpoint_get)(sl_state_t *st, const char *pipeline, const char *key,
                          sl_checkpoint_t *cp);
    /* fence NULL: unconditional. Otherwise stored only while the item's gen
     * is fence->gen and it is running, in the same statement; SL_ESTALE
     * without a message (state.c writes it) when not. */
    int (*checkpoint_put)(sl_state_t *st, const char *pipeline, const char *key, const char *value,
                          int64_t seq, const sl_fence_t *fence);
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
    /* Transaction control on the driver's one connection; state.c makes
     * sure only the owning thread uses the handle in between. */
    int (*tx_begin)(sl_state_t *st);
    int (*tx_commit)(sl_state_t *st);
    void (*tx_rollback)(sl_state_t *st);

    /* Items (state_items.c has the contracts). Calls that find no row to
     * act on return SL_ENOTFOUND (claim, get) or SL_ESTALE (fenced writes)
     * without a message: state.c writes it, naming the item. Inside an
     * open transaction they join it, else they make their own. */
    int (*items_create)(sl_state_t *st, const char *run_id, const char *step,
                        const char *const *item_json, size_t n, size_t first_idx);
    int (*item_claim)(sl_state_t *st, const char *run_id, const char *step, const char *owner,
                      int64_t lease_us, int64_t now_us, int max_attempts, sl_item_t *out);
    int (*item_heartbeat)(sl_state_t *st, const sl_fence_t *lease, int64_t lease_us,
                          int64_t now_us);
    /* o->status is final. */
    int (*item_finish)(sl_state_t *st, const sl_fence_t *lease, const sl_outcome_t *o);
    int (*item_release)(sl_state_t *st, const sl_fence_t *lease);
    int (*item_get)(sl_state_t *st, const char *run_id, const char *step, int64_t idx,
                    sl_item_t *out);
    /* counts is zeroed by the caller. */
    int (*items_counts)(sl_state_t *st, const char *run_id, const char *step,
                        int64_t counts[SL_STATUS_COUNT]);
    /* f is never NULL. */
    int (*items_list)(sl_state_t *st, const char *run_id, const char *step,
                      const sl_items_filter_t *f, sl_item_cb cb, void *ud);
    /* step NULL: every step of the run. */
    int (*items_reset)(sl_state_t *st, const char *run_id, const char *step, int64_t now_us,
                       int64_t *n);

    /* API keys (state_keys.c has the contracts). create returns SL_EINVAL
     * without a message when the id or name is taken, revoke SL_ENOTFOUND
     * without one when nothing matched: state_keys.c writes them. get and
     * revoke copy the key into out (sl_state_key_copy). */
    int (*key_create)(sl_state_t *st, const sl_api_key_t *key);
    int (*key_get)(sl_state_t *st, const char *id, sl_api_key_t *out);
    int (*keys_list)(sl_state_t *st, sl_api_key_cb cb, void *ud);
    int (*key_revoke)(sl_state_t *st, const char *id_or_name, int64_t now_us, sl_api_key_t *out);
    /* SL_ENOTFOUND without a message for an unknown id. */
    int (*key_touch)(sl_state_t *st, const char *id, int64_t now_us);
};

struct sl_state {
    const struct sl_state_ops *ops;
    char *where;          /* store location for messages (no secrets), owned by the driver */
    pthread_mutex_t lock; /* recursive: callbacks may call back into the store; an open
                           * transaction holds it from begin to commit or rollback */
    sl_state_tx_t *tx;    /* the open transaction (its thread holds lock), or NULL */
};

/* The calling thread's last error on st (sl_state_errmsg reads it): the
 * threads sharing a store, the workers of a map, each see their own. */
sl_err_t *sl_state_err(const sl_state_t *st);
/* Forgets the calling thread's error slot of st (at close). */
void sl_state_err_forget(const sl_state_t *st);

/* Locks st, evaluates the driver call into rc, unlocks. */
#define SL_STATE_LOCKED(st, call)                                                                  \
    do {                                                                                           \
        pthread_mutex_lock(&(st)->lock);                                                           \
        rc = (call);                                                                               \
        pthread_mutex_unlock(&(st)->lock);                                                         \
    } while (0)

/* 0 when p is set, else SL_EINVAL with "missing WHAT" in st->err. */
int sl_state_need(sl_state_t *st, const void *p, const char *what);

/* 0 when s is a status a run or item can end with, else SL_EINVAL. */
int sl_state_need_final(sl_state_t *st, sl_status_t s);

/* The status a stored name stands for; a name this version does not know
 * reads as SL_STATUS_FAILED (see sl_run_t). */
sl_status_t sl_state_status_read(const char *name);

/* A status filter as SQL can test it: ",failed,timed_out," (the names of
 * the statuses in mask, between commas), or NULL for 0 (any status). buf
 * has room for every name. */
#define SL_STATE_STATUS_LIST_MAX 128
const char *sl_state_status_list(unsigned mask, char buf[SL_STATE_STATUS_LIST_MAX]);

/* Copies an item whose strings are borrowed (a row being read) into out,
 * with malloc'd strings (sl_item_free). SL_ENOMEM with a message. */
int sl_state_item_copy(sl_state_t *st, const sl_item_t *src, sl_item_t *out);

/* The error message of a driver's item call whose statement matched no row
 * (rc SL_ENOTFOUND or SL_ESTALE, no message yet): names the item and, for a
 * lost lease, what holds it now. Returns rc. */
int sl_state_item_missed(sl_state_t *st, int rc, const char *run_id, const char *step, int64_t idx,
                         int64_t gen, const char *what);

/* Copies a key whose strings are borrowed (a row being read) into out,
 * with malloc'd strings (sl_api_key_free). SL_ENOMEM with a message. */
int sl_state_key_copy(sl_state_t *st, const sl_api_key_t *src, sl_api_key_t *out);

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
