/* Test bodies shared by the state store's drivers (test_state_sqlite.c,
 * test_state_pg.c): each driver's tests call them with a driver
 * description, so both are held to the same behaviour. */
#ifndef SLUICE_TEST_STATE_SUITE_H
#define SLUICE_TEST_STATE_SUITE_H

#include <stdint.h>

#include "sluice/state.h"

typedef struct {
    /* Opens the store called name (created on first use within a test,
     * the same store on later calls); fails the test on error. */
    sl_state_t *(*open)(const char *name);
    /* How messages name the store called name. */
    const char *(*where)(const char *name);
    /* Rows of a table (named as in the SQLite schema, e.g. "ingested_files")
     * belonging to pipeline, read outside the store's API; -1 on error. */
    int64_t (*rows)(const char *name, const char *table, const char *pipeline);
    /* Part of the message for a step of an unknown run (foreign key). */
    const char *fk_error;
    /* Creates the store called name as the first schema (v1, before items)
     * made it, outside the store's API, holding: run "old-run" of pipeline
     * "shop" (ok, started 100, ended 200, params {"a":1}, error "e1"), its
     * step "load" (ok, 5 in, 4 out, 1 rejected, 10 bytes, 110..190),
     * checkpoint shop/step:load = {"n":1} (gen 3, seq 5) and shop's
     * generation 3. */
    void (*make_v1)(const char *name);
    /* Creates the store called name as the second schema (v2, before run
     * definitions) made it, outside the store's API: make_v1's rows as the
     * v2 migration left them, and run "v2-run" of pipeline "shop" (failed,
     * trigger "schedule", started 300, ended 400, error "e2", error class
     * "data", output {"n":2}, redriven once) with its child "v2-child" of
     * pipeline "crm" (ok, trigger "call", started 310, ended 320). */
    void (*make_v2)(const char *name);
    /* Creates the store called name as the third schema (v3, before API
     * keys) made it, outside the store's API: make_v2's rows as the v3
     * migration left them, with run "v2-run"'s definition set to
     * "/srv/etl/shop.yaml". */
    void (*make_v3)(const char *name);
    /* The API keys of the store called name, read outside the API: every
     * column the store keeps of a key as text ("id|name|scopes|hash" rows
     * joined by ";", by id), to show what it holds. */
    const char *(*key_rows)(const char *name);
    /* The schema version of the store called name, read outside the API. */
    int64_t (*schema_version)(const char *name);
} sl_state_driver_t;

/* The schema version this sluice writes. */
#define SL_STATE_TEST_SCHEMA_VERSION 4

void sl_state_suite_runs_lifecycle(const sl_state_driver_t *d);
void sl_state_suite_runs_list(const sl_state_driver_t *d);
void sl_state_suite_run_show_prefix(const sl_state_driver_t *d);
void sl_state_suite_checkpoints(const sl_state_driver_t *d);
void sl_state_suite_reset(const sl_state_driver_t *d);
void sl_state_suite_files(const sl_state_driver_t *d);
/* Writes through one handle and reads through a new one. */
void sl_state_suite_reopen(const sl_state_driver_t *d, const char *name);
/* Transactions: commit, rollback, and refused misuse (nested begin,
 * commit without begin, reset inside a transaction). */
void sl_state_suite_tx(const sl_state_driver_t *d);
/* The run lock between two handles, and runs left 'running' marked
 * interrupted. */
void sl_state_suite_lock_two_handles(const sl_state_driver_t *d);
/* The run lock of a process killed with SIGKILL is given up. */
void sl_state_suite_lock_killed_holder(const sl_state_driver_t *d);

/* Runs' v2 fields (trigger, parent, error class, output, redrives) round
 * trip; listings filter by status and parent; redrive and finish refuse
 * what they cannot do. */
void sl_state_suite_runs_v2(const sl_state_driver_t *d);
/* Runs' definition (v3): written at begin, read back by show and listings,
 * kept by a resume that gives none and replaced by one that gives one. */
void sl_state_suite_runs_definition(const sl_state_driver_t *d);
void sl_state_suite_runs_pages(const sl_state_driver_t *d);
/* Steps' v2 fields (attempts, output, error class), overwritten by a put. */
void sl_state_suite_steps_v2(const sl_state_driver_t *d);
/* 1000 items claimed by two handles in turn: each idx exactly once. */
void sl_state_suite_items_claim_all(const sl_state_driver_t *d);
/* A lease that expired is claimed again with gen + 1; the old holder's
 * heartbeat, finish and fenced checkpoint are refused as stale. */
void sl_state_suite_items_lease_expiry(const sl_state_driver_t *d);
/* max_attempts: a dead holder's last attempt ends the item as interrupted. */
void sl_state_suite_items_max_attempts(const sl_state_driver_t *d);
/* Finish, counts by status, listing with filters and a cursor. */
void sl_state_suite_items_finish_counts_list(const sl_state_driver_t *d);
/* Release gives an item back without counting the attempt. */
void sl_state_suite_items_release(const sl_state_driver_t *d);
/* reset_unfinished: failed and expired items pending again, succeeded
 * and live ones untouched. */
void sl_state_suite_items_reset_unfinished(const sl_state_driver_t *d);
/* 100,000 items in one create, counted and listed page by page. */
void sl_state_suite_items_many(const sl_state_driver_t *d);
/* Two processes claiming from one store at once never get the same item. */
void sl_state_suite_items_two_processes(const sl_state_driver_t *d);
/* Checkpoint puts with and without a fence. */
void sl_state_suite_checkpoint_fenced(const sl_state_driver_t *d);
/* A put by thread B while thread A's transaction is open waits for it,
 * is not rolled back with it, and is visible after. */
void sl_state_suite_tx_threads(const sl_state_driver_t *d);
/* A store of the first schema opens, keeps its runs and checkpoints and
 * takes v2 writes. */
void sl_state_suite_migrate_v1(const sl_state_driver_t *d);
/* A store of the second schema opens, keeps its runs (definition NULL)
 * and takes definitions. */
void sl_state_suite_migrate_v2(const sl_state_driver_t *d);
/* A store of the third schema opens, keeps its runs and definitions and
 * takes API keys. */
void sl_state_suite_migrate_v3(const sl_state_driver_t *d);
/* API keys (v4): create, get, list, revoke by id or name, touch; a name or
 * id taken is refused with a message; nothing but the hash is stored. */
void sl_state_suite_api_keys(const sl_state_driver_t *d);

#endif
