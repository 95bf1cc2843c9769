/* The state store: runs, their steps and map items (typed rows), leases on
 * items with fencing, checkpoints, ingested files, transactions, and the
 * API keys of `sluice serve`.
 *
 * One API, several drivers (SQLite, PostgreSQL) behind an ops table; see
 * docs/internals/state.md. Checkpoints are JSON values per (pipeline, key),
 * tagged with the pipeline's generation (bumped by `state reset`) and a
 * sequence number, so a checkpoint a transactional sink kept in its own
 * database can be compared with the state's own. */
#ifndef SLUICE_STATE_H
#define SLUICE_STATE_H

#include "sluice/common.h"
#include "sluice/status.h"

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

/* A status filter: a set of SL_STATUS_BIT(status) bits, 0 for any status. */
#define SL_STATUS_BIT(s) (1u << (unsigned)(s))

/* A run. Strings a listing hands to a callback are valid only during the
 * call. Statuses are stored as their names (status.h); a name this version
 * does not know (only a newer sluice could write one, and it would have
 * raised the schema version first) reads as SL_STATUS_FAILED. */
typedef struct {
    const char *id;            /* UUID */
    const char *pipeline;
    const char *params_json;   /* secret-free */
    const char *trigger;       /* cli, api, schedule, call...; NULL at begin: "cli" */
    const char *parent_run_id; /* the run that started this one (a call step), or NULL */
    const char *definition;    /* the pipeline file the run was started from (absolute path),
                                * or NULL */
    sl_status_t status;        /* begin stores it as given: SL_STATUS_RUNNING for a run
                                * that starts now, SL_STATUS_PENDING for a queued one */
    int64_t started_us;
    int64_t ended_us;          /* 0 while not ended */
    const char *error_class;   /* NULL or transient, timeout, rate_limited, data, config,
                                * fatal, tolerance_exceeded */
    const char *error;         /* NULL or message */
    int64_t redrive_count;     /* times sl_state_run_redrive restarted it */
    const char *output_json;   /* NULL or the run's output object */
} sl_run_t;

/* A step of a run, keyed by (run_id, step). */
typedef struct {
    const char *run_id;
    const char *step;          /* the step's path: "load", or "per_date/extract" for a
                                * step inside a map (its items' results are items) */
    sl_status_t status;
    int attempts;
    int64_t records_in, records_out, rejected, bytes_in;
    int64_t started_us, ended_us; /* 0: not yet */
    const char *output_json;   /* NULL or the step's output object */
    const char *error_class;   /* as in sl_run_t */
    const char *error;
} sl_step_run_t;

/* How a run or an item ended. */
typedef struct {
    sl_status_t status;        /* final (sl_status_final): not pending or running */
    int64_t ended_us;
    const char *error_class;   /* as in sl_run_t, or NULL */
    const char *error;         /* NULL or message */
    const char *output_json;   /* NULL or JSON */
} sl_outcome_t;

/* Which runs a listing returns; zero fields do not filter. */
typedef struct {
    const char *pipeline;      /* NULL: every pipeline */
    unsigned statuses;         /* SL_STATUS_BIT()s; 0: any status */
    const char *parent_run_id; /* NULL: any run; else only the children of that run */
    int64_t since_us, until_us; /* started in [since, until); 0: no bound */
    /* a cursor: only the runs listed after the run that started at
     * after_started_us with id after_id (newest first, by start then id);
     * after_id NULL: from the newest */
    int64_t after_started_us;
    const char *after_id;
    int limit;                 /* <= 0: all */
} sl_runs_filter_t;

/* An item of a map step: one durable unit of work, keyed by (run_id, step,
 * idx), leased to one claimant at a time. Strings are malloc'd when the
 * item comes from claim or get (sl_item_free), valid only during the call
 * when a listing hands it to a callback. */
typedef struct {
    const char *run_id;
    const char *step;          /* the map step's path */
    int64_t idx;               /* 0-based position in the map */
    const char *value_json;    /* the item, as JSON text */
    sl_status_t status;
    int attempts;              /* claims that were not released (see sl_state_item_claim) */
    int64_t started_us;        /* first claim; 0: never started */
    int64_t ended_us;          /* 0: not ended */
    const char *output_json;
    const char *error_class;
    const char *error;
    /* The lease: set by a claim, extended by heartbeats, cleared when the
     * item is finished, released or reset. */
    const char *owner;         /* e.g. "host:pid:thread", NULL when not leased */
    int64_t lease_expires_us;  /* 0 when not leased */
    int64_t gen;               /* fencing generation: +1 at every claim, release, reset
                                * and end of an expired last attempt */
    int64_t heartbeat_us;      /* last claim or heartbeat; 0 when not leased */
} sl_item_t;

/* A lease on an item, as a claim returned it: writes that carry it are
 * refused with SL_ESTALE once the item's generation moved on (it expired
 * and was claimed again, was released or reset). */
typedef struct sl_fence {
    const char *run_id;
    const char *step;
    int64_t idx;
    int64_t gen;
} sl_fence_t;

/* The fence of a claimed item (borrows its strings). */
static inline sl_fence_t sl_item_fence(const sl_item_t *it)
{
    return (sl_fence_t){.run_id = it->run_id, .step = it->step, .idx = it->idx, .gen = it->gen};
}

/* Which items a listing returns. */
typedef struct {
    unsigned statuses;         /* SL_STATUS_BIT()s; 0: any status */
    int64_t from_idx;          /* items with idx >= from_idx: the cursor (last idx + 1) */
    int64_t limit;             /* <= 0: all */
} sl_items_filter_t;

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

/* Records a run's start: inserts run (status, trigger, parent, definition
 * as given). A run that begins again under its id (a resume) keeps its
 * start time, trigger, parent and redrive count, takes the new params and
 * status, takes the new definition when one is given (non-NULL) and keeps
 * the old one otherwise, and loses its end, error and output; an id of
 * another pipeline is refused. */
int sl_state_run_begin(sl_state_t *st, const sl_run_t *run);
/* Records how a run ended; SL_ENOTFOUND for an unknown run, SL_EINVAL for
 * a status that is not final. */
int sl_state_run_finish(sl_state_t *st, const char *run_id, const sl_outcome_t *o);
/* sl_state_run_finish with a status name ("ok", "failed", ...), no error
 * class and no output. */
int sl_state_run_end(sl_state_t *st, const char *run_id, const char *status, int64_t ended_us,
                     const char *error);
/* Marks a finished run as restarted in place (redrive): redrive_count + 1,
 * status running, end, error and output cleared. SL_ENOTFOUND for an
 * unknown run, SL_EINVAL for one that is pending or running. */
int sl_state_run_redrive(sl_state_t *st, const char *run_id);
/* Writes a step's row, replacing the one of the same (run, step): a step is
 * written when it starts and again when it ends. */
int sl_state_step_put(sl_state_t *st, const sl_step_run_t *s);

/* Lists runs newest first (by start time, then id). cb returns non-zero to stop (a negative value is
 * returned as the listing's error). Strings passed to cb are valid only
 * during the call. */
typedef int (*sl_run_cb)(void *ud, const sl_run_t *run);
int sl_state_runs_query(sl_state_t *st, const sl_runs_filter_t *f, sl_run_cb cb, void *ud);
/* sl_state_runs_query by pipeline only (NULL = all). */
int sl_state_runs_list(sl_state_t *st, const char *pipeline, int limit, sl_run_cb cb, void *ud);
/* One run (id may be a unique prefix) and its steps, in the order they
 * started. */
typedef int (*sl_step_cb)(void *ud, const sl_step_run_t *s);
int sl_state_run_show(sl_state_t *st, const char *id, sl_run_cb run_cb, sl_step_cb step_cb,
                      void *ud);

/* ---- items and leases ---- */

/* Inserts the items first_idx .. first_idx + n - 1 of a map step (values
 * borrowed JSON texts) in one transaction: all or none. Items that already
 * exist are kept as they are, so creating them again after a crash is
 * harmless. The run must exist. */
int sl_state_items_create(sl_state_t *st, const char *run_id, const char *step,
                          const char *const *item_json, size_t n, size_t first_idx);
/* Atomically takes the claimable item of (run_id, step) with the lowest
 * idx: one that is pending, or running under a lease that expired before
 * now_us (its holder died). It becomes running, held by owner until
 * now_us + lease_us, its gen + 1 and attempts + 1 (attempts counts claims;
 * a release gives its claim back); started_us is its first claim. out gets
 * the item (sl_item_free); SL_ENOTFOUND when none is claimable. Two
 * handles, threads or processes never hold the same item under a valid
 * lease. max_attempts > 0 bounds the automatic retries of items whose
 * holder died: an expired item that already had max_attempts claims is
 * marked interrupted instead of being claimed again. Pending items are
 * always claimable. */
int sl_state_item_claim(sl_state_t *st, const char *run_id, const char *step, const char *owner,
                        int64_t lease_us, int64_t now_us, int max_attempts, sl_item_t *out);
/* Extends a held lease to now_us + lease_us. SL_ESTALE when the lease is no
 * longer held (the item's gen moved on or it is not running), SL_ENOTFOUND
 * when there is no such item. A lease that expired but was not claimed by
 * anyone else is still held. */
int sl_state_item_heartbeat(sl_state_t *st, const sl_fence_t *lease, int64_t lease_us,
                            int64_t now_us);
/* Ends a held lease with a final status, output and error, compare-and-set
 * on the lease's gen: SL_ESTALE (nothing written) when it is no longer
 * held. The lease is cleared. */
int sl_state_item_finish(sl_state_t *st, const sl_fence_t *lease, const sl_outcome_t *o);
/* Gives a held item back without counting the claim (e.g. on a graceful
 * shutdown, before any of its work is done): pending again, attempts - 1,
 * lease cleared, gen + 1 so the old lease is fenced off. SL_ESTALE when it
 * is no longer held. */
int sl_state_item_release(sl_state_t *st, const sl_fence_t *lease);
/* One item (sl_item_free), or SL_ENOTFOUND. */
int sl_state_item_get(sl_state_t *st, const char *run_id, const char *step, int64_t idx,
                      sl_item_t *out);
/* Items of (run_id, step) by status: counts[status] for every status. */
int sl_state_items_counts(sl_state_t *st, const char *run_id, const char *step,
                          int64_t counts[SL_STATUS_COUNT]);
/* Items of (run_id, step) in idx order, filtered by f (NULL: all), read a
 * page at a time however many there are. cb returns non-zero to stop. */
typedef int (*sl_item_cb)(void *ud, const sl_item_t *it);
int sl_state_items_list(sl_state_t *st, const char *run_id, const char *step,
                        const sl_items_filter_t *f, sl_item_cb cb, void *ud);
/* For a resume or redrive: makes the unfinished items of the run's step
 * (step NULL: of all its steps) pending again: those failed, timed out,
 * cancelled or interrupted, and those running under a lease that expired
 * before now_us. Attempts, first start and last error stay; gen + 1; items
 * that succeeded (ok, partial) or were skipped are untouched. *n (may be
 * NULL) gets how many were reset. */
int sl_state_items_reset_unfinished(sl_state_t *st, const char *run_id, const char *step,
                                    int64_t now_us, int64_t *n);
void sl_item_free(sl_item_t *it);

/* The pipeline's generation (1 for a new pipeline). */
int sl_state_generation(sl_state_t *st, const char *pipeline, int64_t *gen);

/* Fills cp (strings malloc'd: free with sl_checkpoint_free) or returns
 * SL_ENOTFOUND. */
int sl_state_checkpoint_get(sl_state_t *st, const char *pipeline, const char *key,
                            sl_checkpoint_t *cp);
/* Stores value with the current generation and the given seq. */
int sl_state_checkpoint_put(sl_state_t *st, const char *pipeline, const char *key,
                            const char *value, int64_t seq);
/* sl_state_checkpoint_put only while the item lease fence names is held
 * (same gen, still running), checked in the same statement: SL_ESTALE, and
 * nothing stored, otherwise. So an owner whose lease was taken over cannot
 * overwrite the new owner's checkpoint. fence NULL: an unfenced put. */
int sl_state_checkpoint_put_fenced(sl_state_t *st, const char *pipeline, const char *key,
                                   const char *value, int64_t seq, const sl_fence_t *fence);
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

/* ---- API keys ---- */

/* An API key of `sluice serve` as the store keeps it (apikey.h makes keys
 * and checks scopes): its hash, never the key. Strings are malloc'd when
 * the key comes from get or revoke (sl_api_key_free), valid only during
 * the call when a listing hands it to a callback. */
typedef struct {
    const char *id;           /* the public id inside the key text (slk_<id>_...) */
    const char *name;         /* unique among the store's keys */
    const char *scopes;       /* space-separated (apikey.h) */
    const char *hash;         /* hex SHA-256 of the whole key text */
    int64_t created_us;
    int64_t revoked_us;       /* 0: active */
    int64_t last_used_us;     /* 0: never used */
} sl_api_key_t;

/* Stores a new, active, unused key (id, name, scopes and hash required;
 * created_us 0: now). SL_EINVAL with a message naming the name when a key
 * of that name exists (revoked ones too: names are never reused), or the
 * id when it is taken. */
int sl_state_key_create(sl_state_t *st, const sl_api_key_t *key);
/* The key with that id (sl_api_key_free), revoked or not; SL_ENOTFOUND. */
int sl_state_key_get(sl_state_t *st, const char *id, sl_api_key_t *out);
/* Every key, revoked ones too, oldest first. cb returns non-zero to stop
 * (a negative value is returned as the listing's error). */
typedef int (*sl_api_key_cb)(void *ud, const sl_api_key_t *key);
int sl_state_keys_list(sl_state_t *st, sl_api_key_cb cb, void *ud);
/* Revokes the key whose id is id_or_name, or else the one of that name, at
 * now_us (0: now); a key already revoked keeps its first revocation time.
 * out (may be NULL) gets the key as it is after (sl_api_key_free).
 * SL_ENOTFOUND, with a message, when no key has that id or name. */
int sl_state_key_revoke(sl_state_t *st, const char *id_or_name, int64_t now_us,
                        sl_api_key_t *out);
/* Records a use of the key at now_us: one UPDATE, no read, and never moves
 * last_used_us back. SL_ENOTFOUND for an unknown id. */
int sl_state_key_touch(sl_state_t *st, const char *id, int64_t now_us);
void sl_api_key_free(sl_api_key_t *k);

/* Takes the pipeline's run lock for as long as st stays open, so two runs
 * of one pipeline never overlap (SL_EAGAIN, with a message, when another
 * process runs it), then marks the pipeline's runs left 'running' by a
 * killed process as 'interrupted' (*interrupted gets their count). */
int sl_state_lock_pipeline(sl_state_t *st, const char *pipeline, int64_t now_us,
                           int *interrupted);

/* An open transaction on a store: every call on the store from the thread
 * that began it is part of it; calls from other threads wait until it ends
 * (they never join it). A transaction groups puts into one atomic write,
 * e.g. a step's final checkpoint with every file it ingested. */
typedef struct sl_state_tx sl_state_tx_t;
/* Begins a transaction (*tx, or NULL on error). Refused (SL_ESTATE) when
 * this thread already has one open on st. sl_state_reset, which has its
 * own transaction, is refused inside one. */
int sl_state_tx_begin(sl_state_t *st, sl_state_tx_t **tx);
/* Commits and ends tx, on the thread that began it. On error (the message
 * in sl_state_errmsg) nothing of it was stored, and it has ended too. */
int sl_state_tx_commit(sl_state_tx_t *tx);
/* Rolls back and ends tx; NULL is a no-op. */
void sl_state_tx_rollback(sl_state_tx_t *tx);

#endif
