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
} sl_state_driver_t;

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

#endif
