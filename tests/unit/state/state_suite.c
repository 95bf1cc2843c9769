/* The state store's behaviour, written once for every driver (see
 * state_suite.h): runs, steps, prefixes, checkpoints, generations, resets,
 * ingested files, reopening, transactions and the run lock; then the v2
 * API: typed runs and steps, map items and leases, fenced checkpoints,
 * transactions across threads, migration from the first schema; then v3:
 * runs' definitions and migration from the second schema; then v4: API
 * keys and migration from the third schema. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../test.h"
#include "sluice/timeutil.h"
#include "state_suite.h"

static void begin_run(sl_state_t *st, const char *id, const char *pipeline, int64_t started)
{
    sl_run_t r = {.id = id,
                  .pipeline = pipeline,
                  .params_json = "{\"day\":\"2026-11-21\"}",
                  .status = SL_STATUS_RUNNING,
                  .started_us = started};
    CHECK_INT(sl_state_run_begin(st, &r), 0);
}

/* Collects what callbacks see, copied (strings die after the call). */
typedef struct {
    int n;
    int stop_after; /* 0 = never */
    char ids[16][64];
    char status[16][16];
    char error[16][64];
    char params[16][64];
    int64_t started[16], ended[16];
    int64_t in[16], out[16], rej[16], bytes[16];
    int attempts[16];
    char output[16][64];
    char eclass[16][32];
} seen_t;

static int on_run(void *ud, const sl_run_t *r)
{
    seen_t *s = ud;
    snprintf(s->ids[s->n], 64, "%s", r->id);
    snprintf(s->status[s->n], 16, "%s", sl_status_name(r->status));
    snprintf(s->error[s->n], 64, "%s", r->error ? r->error : "(null)");
    snprintf(s->params[s->n], 64, "%s", r->params_json ? r->params_json : "(null)");
    s->started[s->n] = r->started_us;
    s->ended[s->n] = r->ended_us;
    s->n++;
    return s->stop_after && s->n >= s->stop_after ? 1 : 0;
}

static int on_step(void *ud, const sl_step_run_t *r)
{
    seen_t *s = ud;
    snprintf(s->ids[s->n], 64, "%s", r->step);
    snprintf(s->status[s->n], 16, "%s", sl_status_name(r->status));
    snprintf(s->error[s->n], 64, "%s", r->error ? r->error : "(null)");
    s->started[s->n] = r->started_us;
    s->ended[s->n] = r->ended_us;
    s->in[s->n] = r->records_in;
    s->out[s->n] = r->records_out;
    s->rej[s->n] = r->rejected;
    s->bytes[s->n] = r->bytes_in;
    s->attempts[s->n] = r->attempts;
    snprintf(s->output[s->n], 64, "%s", r->output_json ? r->output_json : "(null)");
    snprintf(s->eclass[s->n], 32, "%s", r->error_class ? r->error_class : "(null)");
    s->n++;
    return 0;
}

void sl_state_suite_runs_lifecycle(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    begin_run(st, "11111111-aaaa", "shop", 1000);
    sl_step_run_t s1 = {.run_id = "11111111-aaaa",
                        .step = "extract",
                        .status = SL_STATUS_OK,
                        .records_in = 10,
                        .records_out = 9,
                        .rejected = 1,
                        .bytes_in = 512,
                        .started_us = 1100,
                        .ended_us = 1500};
    sl_step_run_t s2 = {
        .run_id = "11111111-aaaa", .step = "load", .status = SL_STATUS_RUNNING, .started_us = 1600};
    CHECK_INT(sl_state_step_put(st, &s1), 0);
    CHECK_INT(sl_state_step_put(st, &s2), 0);
    /* The same step again overwrites its row. */
    s2.status = SL_STATUS_FAILED;
    s2.records_in = 9;
    s2.ended_us = 1900;
    s2.error = "sink refused";
    CHECK_INT(sl_state_step_put(st, &s2), 0);
    CHECK_INT(sl_state_run_end(st, "11111111-aaaa", "failed", 2000, "step load failed"), 0);

    seen_t runs = {0}, steps = {0};
    CHECK_INT(sl_state_run_show(st, "11111111-aaaa", on_run, NULL, &runs), 0);
    CHECK_INT(runs.n, 1);
    CHECK_STR(runs.ids[0], "11111111-aaaa");
    CHECK_STR(runs.status[0], "failed");
    CHECK_STR(runs.error[0], "step load failed");
    CHECK_STR(runs.params[0], "{\"day\":\"2026-11-21\"}");
    CHECK_INT(runs.started[0], 1000);
    CHECK_INT(runs.ended[0], 2000);

    CHECK_INT(sl_state_run_show(st, "11111111-aaaa", NULL, on_step, &steps), 0);
    CHECK_INT(steps.n, 2);
    CHECK_STR(steps.ids[0], "extract");
    CHECK_STR(steps.status[0], "ok");
    CHECK_INT(steps.in[0], 10);
    CHECK_INT(steps.out[0], 9);
    CHECK_INT(steps.rej[0], 1);
    CHECK_INT(steps.bytes[0], 512);
    CHECK_INT(steps.started[0], 1100);
    CHECK_INT(steps.ended[0], 1500);
    CHECK_STR(steps.error[0], "(null)");
    CHECK_STR(steps.ids[1], "load");
    CHECK_STR(steps.status[1], "failed");
    CHECK_INT(steps.in[1], 9);
    CHECK_INT(steps.ended[1], 1900);
    CHECK_STR(steps.error[1], "sink refused");

    /* A running run reads back with ended 0 and status running. */
    begin_run(st, "22222222-bbbb", "shop", 3000);
    seen_t r2 = {0};
    CHECK_INT(sl_state_run_show(st, "22222222-bbbb", on_run, NULL, &r2), 0);
    CHECK_STR(r2.status[0], "running");
    CHECK_INT(r2.ended[0], 0);
    CHECK_STR(r2.error[0], "(null)");

    /* Ending an unknown run, or a step of an unknown run, is an error. */
    CHECK_INT(sl_state_run_end(st, "nope", "ok", 1, NULL), SL_ENOTFOUND);
    CHECK_CONTAINS(sl_state_errmsg(st), "no run with id nope");
    sl_step_run_t orphan = {.run_id = "nope", .step = "x", .status = SL_STATUS_OK};
    CHECK_INT(sl_state_step_put(st, &orphan), SL_ESTATE);
    CHECK_CONTAINS(sl_state_errmsg(st), d->fk_error);
    CHECK_CONTAINS(sl_state_errmsg(st), d->where("state.db"));

    /* Beginning a run again (resume) keeps its start and clears its end. */
    sl_run_t again = {
        .id = "11111111-aaaa", .pipeline = "shop", .status = SL_STATUS_RUNNING, .started_us = 5000};
    CHECK_INT(sl_state_run_begin(st, &again), 0);
    seen_t r3 = {0};
    CHECK_INT(sl_state_run_show(st, "11111111-aaaa", on_run, NULL, &r3), 0);
    CHECK_STR(r3.status[0], "running");
    CHECK_INT(r3.started[0], 1000);
    CHECK_INT(r3.ended[0], 0);
    CHECK_STR(r3.error[0], "(null)");
    /* ... but not under another pipeline's name. */
    again.pipeline = "other";
    CHECK_INT(sl_state_run_begin(st, &again), SL_ESTATE);
    CHECK_CONTAINS(sl_state_errmsg(st), "already belongs to another pipeline");
    sl_state_close(st);
}

void sl_state_suite_runs_list(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    begin_run(st, "r1", "shop", 100);
    begin_run(st, "r2", "crm", 300);
    begin_run(st, "r3", "shop", 200);
    begin_run(st, "r4", "shop", 400);
    begin_run(st, "r5", "crm", 400); /* same start as r4: newer insert first */

    seen_t all = {0};
    CHECK_INT(sl_state_runs_list(st, NULL, 0, on_run, &all), 0);
    CHECK_INT(all.n, 5);
    CHECK_STR(all.ids[0], "r5");
    CHECK_STR(all.ids[1], "r4");
    CHECK_STR(all.ids[2], "r2");
    CHECK_STR(all.ids[3], "r3");
    CHECK_STR(all.ids[4], "r1");

    seen_t lim = {0};
    CHECK_INT(sl_state_runs_list(st, NULL, 2, on_run, &lim), 0);
    CHECK_INT(lim.n, 2);
    CHECK_STR(lim.ids[0], "r5");
    CHECK_STR(lim.ids[1], "r4");

    seen_t shop = {0};
    CHECK_INT(sl_state_runs_list(st, "shop", 10, on_run, &shop), 0);
    CHECK_INT(shop.n, 3);
    CHECK_STR(shop.ids[0], "r4");
    CHECK_STR(shop.ids[1], "r3");
    CHECK_STR(shop.ids[2], "r1");

    seen_t none = {0};
    CHECK_INT(sl_state_runs_list(st, "nothing", 10, on_run, &none), 0);
    CHECK_INT(none.n, 0);

    /* A callback stops the listing by returning non-zero. */
    seen_t stop = {.stop_after = 1};
    CHECK_INT(sl_state_runs_list(st, "crm", 0, on_run, &stop), 0);
    CHECK_INT(stop.n, 1);
    CHECK_STR(stop.ids[0], "r5");
    sl_state_close(st);
}

void sl_state_suite_run_show_prefix(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    begin_run(st, "abc11111", "p", 1);
    begin_run(st, "abc22222", "p", 2);
    begin_run(st, "abd33333", "p", 3);
    begin_run(st, "ab", "p", 4);

    seen_t one = {0};
    CHECK_INT(sl_state_run_show(st, "abc1", on_run, NULL, &one), 0);
    CHECK_INT(one.n, 1);
    CHECK_STR(one.ids[0], "abc11111");

    seen_t abd = {0};
    CHECK_INT(sl_state_run_show(st, "abd", on_run, NULL, &abd), 0);
    CHECK_STR(abd.ids[0], "abd33333");

    /* An id that is complete wins even though longer ids start with it. */
    seen_t exact = {0};
    CHECK_INT(sl_state_run_show(st, "ab", on_run, NULL, &exact), 0);
    CHECK_INT(exact.n, 1);
    CHECK_STR(exact.ids[0], "ab");

    seen_t amb = {0};
    CHECK_INT(sl_state_run_show(st, "abc", on_run, NULL, &amb), SL_EINVAL);
    CHECK_INT(amb.n, 0);
    CHECK_CONTAINS(sl_state_errmsg(st), "run id prefix 'abc' is ambiguous: it matches 2 runs");
    CHECK_CONTAINS(sl_state_errmsg(st), "abc11111, abc22222");

    CHECK_INT(sl_state_run_show(st, "zz", on_run, NULL, &amb), SL_ENOTFOUND);
    CHECK_CONTAINS(sl_state_errmsg(st), "no run with id 'zz'");
    CHECK_INT(sl_state_run_show(st, "", on_run, NULL, &amb), SL_EINVAL);
    sl_state_close(st);
}

typedef struct {
    int n;
    char keys[8][32];
    char values[8][64];
    int64_t gen[8], seq[8];
} cps_t;

static int on_cp(void *ud, const char *key, const sl_checkpoint_t *cp)
{
    cps_t *c = ud;
    snprintf(c->keys[c->n], 32, "%s", key);
    snprintf(c->values[c->n], 64, "%s", cp->value);
    c->gen[c->n] = cp->gen;
    c->seq[c->n] = cp->seq;
    c->n++;
    return 0;
}

void sl_state_suite_checkpoints(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    sl_checkpoint_t cp;
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "orders", &cp), SL_ENOTFOUND);
    CHECK(cp.value == NULL);
    CHECK_CONTAINS(sl_state_errmsg(st), "no checkpoint 'orders' for shop");

    int64_t before = sl_now_us();
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "orders", "{\"cursor\":\"c1\"}", 1), 0);
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "orders", &cp), 0);
    CHECK_STR(cp.value, "{\"cursor\":\"c1\"}");
    CHECK_INT(cp.gen, 1);
    CHECK_INT(cp.seq, 1);
    CHECK(cp.updated_us >= before - 1000000 && cp.updated_us <= sl_now_us() + 1000000);
    sl_checkpoint_free(&cp);
    CHECK(cp.value == NULL);

    /* Updating keeps one row and takes the new seq. */
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "orders", "{\"cursor\":\"c2\"}", 2), 0);
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "orders", &cp), 0);
    CHECK_STR(cp.value, "{\"cursor\":\"c2\"}");
    CHECK_INT(cp.seq, 2);
    sl_checkpoint_free(&cp);

    CHECK_INT(sl_state_checkpoint_put(st, "shop", "customers", "42", 7), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "crm", "orders", "\"x\"", 1), 0);
    cps_t c = {0};
    CHECK_INT(sl_state_checkpoint_list(st, "shop", on_cp, &c), 0);
    CHECK_INT(c.n, 2);
    CHECK_STR(c.keys[0], "customers");
    CHECK_STR(c.values[0], "42");
    CHECK_INT(c.seq[0], 7);
    CHECK_STR(c.keys[1], "orders");
    CHECK_STR(c.values[1], "{\"cursor\":\"c2\"}");
    CHECK_INT(c.gen[1], 1);
    sl_state_close(st);
}

static void put_file(sl_state_t *st, const char *pipeline, const char *step, const char *path)
{
    sl_file_record_t f = {.path = path,
                          .size = 10,
                          .mtime_us = 20,
                          .hash = "ab",
                          .records = 3,
                          .run_id = "r1",
                          .ingested_us = 30};
    CHECK_INT(sl_state_file_put(st, pipeline, step, &f), 0);
}

void sl_state_suite_reset(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    int64_t gen = 0;
    CHECK_INT(sl_state_generation(st, "shop", &gen), 0);
    CHECK_INT(gen, 1);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "a", "1", 1), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "b", "2", 1), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "files:load", "{}", 1), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "crm", "a", "9", 1), 0);
    put_file(st, "shop", "load", "/in/1.csv");
    put_file(st, "shop", "load", "/in/2.csv");
    put_file(st, "shop", "other", "/in/3.csv");
    put_file(st, "crm", "load", "/in/1.csv");

    /* One key: that checkpoint only, files untouched, and the generation
     * stays (the other steps' checkpoints remain valid). */
    CHECK_INT(sl_state_reset(st, "shop", "a"), 0);
    sl_checkpoint_t cp;
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "a", &cp), SL_ENOTFOUND);
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "b", &cp), 0);
    CHECK_INT(cp.gen, 1);
    sl_checkpoint_free(&cp);
    CHECK_INT(sl_state_generation(st, "shop", &gen), 0);
    CHECK_INT(gen, 1);
    CHECK_INT(d->rows("state.db", "ingested_files", "shop"), 3);

    /* files:<step>: that checkpoint and that step's files. */
    CHECK_INT(sl_state_reset(st, "shop", "files:load"), 0);
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "files:load", &cp), SL_ENOTFOUND);
    sl_file_record_t f;
    CHECK_INT(sl_state_file_get(st, "shop", "load", "/in/1.csv", &f), SL_ENOTFOUND);
    CHECK_INT(sl_state_file_get(st, "shop", "other", "/in/3.csv", &f), 0);
    sl_file_record_free(&f);
    CHECK_INT(sl_state_generation(st, "shop", &gen), 0);
    CHECK_INT(gen, 1);

    /* Everything of the pipeline, nothing of others. */
    CHECK_INT(sl_state_reset(st, "shop", NULL), 0);
    CHECK_INT(d->rows("state.db", "sluice_checkpoints", "shop"), 0);
    CHECK_INT(d->rows("state.db", "ingested_files", "shop"), 0);
    CHECK_INT(d->rows("state.db", "sluice_checkpoints", "crm"), 1);
    CHECK_INT(d->rows("state.db", "ingested_files", "crm"), 1);
    CHECK_INT(sl_state_generation(st, "shop", &gen), 0);
    CHECK_INT(gen, 2);
    CHECK_INT(sl_state_generation(st, "crm", &gen), 0);
    CHECK_INT(gen, 1);

    /* New checkpoints carry the new generation. */
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "c", "3", 5), 0);
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "c", &cp), 0);
    CHECK_INT(cp.gen, 2);
    sl_checkpoint_free(&cp);
    sl_state_close(st);
}

void sl_state_suite_files(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    sl_file_record_t f;
    CHECK_INT(sl_state_file_get(st, "shop", "load", "/in/a.csv", &f), SL_ENOTFOUND);
    CHECK_CONTAINS(sl_state_errmsg(st), "file /in/a.csv was not ingested by shop/load");
    sl_file_record_t in = {.path = "/in/a.csv",
                           .size = 1234,
                           .mtime_us = 1700000000123456,
                           .hash = "deadbeef",
                           .records = 99,
                           .run_id = "run-1",
                           .ingested_us = 1700000001000000};
    CHECK_INT(sl_state_file_put(st, "shop", "load", &in), 0);
    CHECK_INT(sl_state_file_get(st, "shop", "load", "/in/a.csv", &f), 0);
    CHECK_STR(f.path, "/in/a.csv");
    CHECK_INT(f.size, 1234);
    CHECK_INT(f.mtime_us, 1700000000123456);
    CHECK_STR(f.hash, "deadbeef");
    CHECK_INT(f.records, 99);
    CHECK_STR(f.run_id, "run-1");
    CHECK_INT(f.ingested_us, 1700000001000000);
    sl_file_record_free(&f);
    CHECK(f.path == NULL && f.hash == NULL && f.run_id == NULL);

    /* Another step's record of the same path is separate; a put replaces. */
    CHECK_INT(sl_state_file_get(st, "shop", "other", "/in/a.csv", &f), SL_ENOTFOUND);
    in.size = 2000;
    in.hash = NULL;
    in.run_id = NULL;
    in.ingested_us = 0; /* now */
    int64_t before = sl_now_us();
    CHECK_INT(sl_state_file_put(st, "shop", "load", &in), 0);
    CHECK_INT(sl_state_file_get(st, "shop", "load", "/in/a.csv", &f), 0);
    CHECK_INT(f.size, 2000);
    CHECK(f.hash == NULL);
    CHECK(f.run_id == NULL);
    CHECK(f.ingested_us >= before);
    sl_file_record_free(&f);
    sl_state_close(st);
}

void sl_state_suite_reopen(const sl_state_driver_t *d, const char *name)
{
    sl_state_t *st = d->open(name);
    begin_run(st, "run-x", "shop", 77);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "k", "\"v\"", 3), 0);
    CHECK_INT(sl_state_reset(st, "shop", NULL), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "k", "\"v\"", 3), 0);
    sl_state_close(st);

    st = d->open(name);
    seen_t r = {0};
    CHECK_INT(sl_state_run_show(st, "run-x", on_run, NULL, &r), 0);
    CHECK_INT(r.started[0], 77);
    sl_checkpoint_t cp;
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "k", &cp), 0);
    CHECK_STR(cp.value, "\"v\"");
    CHECK_INT(cp.seq, 3);
    CHECK_INT(cp.gen, 2);
    sl_checkpoint_free(&cp);
    int64_t gen = 0;
    CHECK_INT(sl_state_generation(st, "shop", &gen), 0);
    CHECK_INT(gen, 2);
    sl_state_close(st);
}

void sl_state_suite_tx(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    sl_checkpoint_t cp;
    sl_file_record_t f;
    sl_state_tx_t *tx = NULL;

    /* Rolled back: neither the checkpoint nor the file. */
    CHECK_INT(sl_state_tx_begin(st, &tx), 0);
    CHECK(tx != NULL);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "step:load", "{\"n\":1}", 1), 0);
    put_file(st, "shop", "load", "/in/1.csv");
    sl_state_tx_rollback(tx);
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "step:load", &cp), SL_ENOTFOUND);
    CHECK_INT(sl_state_file_get(st, "shop", "load", "/in/1.csv", &f), SL_ENOTFOUND);

    /* Committed: both. */
    CHECK_INT(sl_state_tx_begin(st, &tx), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "step:load", "{\"n\":2}", 2), 0);
    put_file(st, "shop", "load", "/in/2.csv");
    CHECK_INT(sl_state_tx_commit(tx), 0);
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "step:load", &cp), 0);
    CHECK_STR(cp.value, "{\"n\":2}");
    sl_checkpoint_free(&cp);
    CHECK_INT(sl_state_file_get(st, "shop", "load", "/in/2.csv", &f), 0);
    sl_file_record_free(&f);

    /* A begin inside a transaction is refused; the open one goes on. */
    CHECK_INT(sl_state_tx_begin(st, &tx), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "a", "1", 1), 0);
    sl_state_tx_t *tx2 = (sl_state_tx_t *)&tx; /* anything: it must come back NULL */
    CHECK_INT(sl_state_tx_begin(st, &tx2), SL_ESTATE);
    CHECK(tx2 == NULL);
    CHECK_CONTAINS(sl_state_errmsg(st), "cannot start a transaction within a transaction");
    CHECK_CONTAINS(sl_state_errmsg(st), d->where("state.db"));
    /* So is a reset, which has its own transaction: nothing is reset. */
    CHECK_INT(sl_state_reset(st, "shop", NULL), SL_ESTATE);
    CHECK_CONTAINS(sl_state_errmsg(st), "cannot start a transaction within a transaction");
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "b", "2", 1), 0);
    CHECK_INT(sl_state_tx_commit(tx), 0);
    cps_t c = {0};
    CHECK_INT(sl_state_checkpoint_list(st, "shop", on_cp, &c), 0);
    CHECK_INT(c.n, 3);
    CHECK_STR(c.keys[0], "a");
    CHECK_STR(c.keys[1], "b");
    CHECK_STR(c.keys[2], "step:load");
    int64_t gen = 0;
    CHECK_INT(sl_state_generation(st, "shop", &gen), 0);
    CHECK_INT(gen, 1);

    /* No transaction: a commit is an error, a rollback a no-op. */
    CHECK_INT(sl_state_tx_commit(NULL), SL_EINVAL);
    sl_state_tx_rollback(NULL);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "c", "3", 1), 0);
    CHECK_INT(d->rows("state.db", "sluice_checkpoints", "shop"), 4);

    /* Closing the store with a transaction open rolls it back. */
    CHECK_INT(sl_state_tx_begin(st, &tx), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "d", "4", 1), 0);
    sl_state_close(st);
    st = d->open("state.db");
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "d", &cp), SL_ENOTFOUND);
    CHECK_INT(d->rows("state.db", "sluice_checkpoints", "shop"), 4);
    sl_state_close(st);
}

static int lock(sl_state_t *st, const char *pipeline, int *interrupted)
{
    return sl_state_lock_pipeline(st, pipeline, sl_now_us(), interrupted);
}

void sl_state_suite_lock_two_handles(const sl_state_driver_t *d)
{
    sl_state_t *a = d->open("state.db");
    sl_state_t *b = d->open("state.db");
    int n = -1;
    CHECK_INT(lock(a, "shop", &n), 0);
    CHECK_INT(n, 0);
    begin_run(a, "run-1", "shop", 100);
    n = -1;
    CHECK_INT(lock(b, "shop", &n), SL_EAGAIN);
    CHECK_INT(n, 0);
    char want[600];
    snprintf(want, sizeof want, "pipeline 'shop' is already running with the state store %s",
             d->where("state.db"));
    CHECK_CONTAINS(sl_state_errmsg(b), want);
    /* Another pipeline is free; its lock moves b off any earlier one. */
    CHECK_INT(lock(b, "crm", &n), 0);
    CHECK_INT(n, 0);
    /* The same pipeline twice on one handle is refused too. */
    CHECK_INT(lock(a, "shop", &n), SL_EAGAIN);

    /* A new run, then the holder goes away: the next lock marks that run
     * interrupted (the one that ended stays as it is). */
    begin_run(a, "run-2", "shop", 200);
    begin_run(a, "run-3", "crm", 300);
    CHECK_INT(sl_state_run_end(a, "run-1", "ok", 150, NULL), 0);
    sl_state_close(a);
    int64_t before = sl_now_us();
    CHECK_INT(lock(b, "shop", &n), 0);
    CHECK_INT(n, 1);
    seen_t r = {0};
    CHECK_INT(sl_state_runs_list(b, NULL, 0, on_run, &r), 0);
    CHECK_INT(r.n, 3);
    CHECK_STR(r.ids[0], "run-3");
    CHECK_STR(r.status[0], "running"); /* another pipeline's run */
    CHECK_STR(r.ids[1], "run-2");
    CHECK_STR(r.status[1], "interrupted");
    CHECK_STR(r.error[1], "the process stopped before the run ended (killed or crashed)");
    CHECK(r.ended[1] >= before && r.ended[1] <= sl_now_us());
    CHECK_STR(r.ids[2], "run-1");
    CHECK_STR(r.status[2], "ok");
    CHECK_INT(r.ended[2], 150);
    /* b gave up "crm" when it took "shop". */
    a = d->open("state.db");
    CHECK_INT(lock(a, "crm", &n), 0);
    CHECK_INT(n, 1);
    CHECK_INT(lock(b, "crm", &n), SL_EAGAIN);
    sl_state_close(a);
    sl_state_close(b);
}

void sl_state_suite_lock_killed_holder(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db"); /* creates the store before the fork */
    int ready[2];
    CHECK_INT(pipe(ready), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        sl_state_t *h = d->open("state.db");
        int n = 0;
        if (lock(h, "shop", &n) != 0) {
            fprintf(stderr, "child: %s\n", sl_state_errmsg(h));
            _exit(1);
        }
        begin_run(h, "killed-run", "shop", 100);
        if (write(ready[1], "x", 1) != 1) {
            _exit(1);
        }
        for (;;) {
            pause();
        }
    }
    close(ready[1]);
    char c = 0;
    CHECK_INT(read(ready[0], &c, 1), 1);
    close(ready[0]);
    int n = -1;
    CHECK_INT(lock(st, "shop", &n), SL_EAGAIN);
    CHECK_CONTAINS(sl_state_errmsg(st), "pipeline 'shop' is already running");
    CHECK_INT(kill(pid, SIGKILL), 0);
    int status = 0;
    CHECK_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* The lock goes with the process (for a server, once it sees the
     * connection close: allow it a moment). */
    int rc = SL_EAGAIN;
    for (int i = 0; i < 200 && rc == SL_EAGAIN; i++) {
        rc = lock(st, "shop", &n);
        if (rc == SL_EAGAIN) {
            struct timespec ts = {0, 25 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    CHECK_INT(rc, 0);
    CHECK_INT(n, 1);
    seen_t r = {0};
    CHECK_INT(sl_state_run_show(st, "killed-run", on_run, NULL, &r), 0);
    CHECK_STR(r.status[0], "interrupted");
    sl_state_close(st);
}

/* ---- v2: typed runs and steps ---- */

static const char *or_null(const char *s)
{
    return s ? s : "(null)";
}

/* What run callbacks see of the v2 and v3 fields, copied. */
typedef struct {
    int n;
    char id[8][32], trigger[8][16], parent[8][32], eclass[8][32], error[8][32], output[8][32];
    char status[8][16];
    char definition[8][128];
    int64_t started[8], ended[8], redrives[8];
} runs2_t;

static int on_run2(void *ud, const sl_run_t *r)
{
    runs2_t *s = ud;
    if (s->n == 8) {
        return 1;
    }
    snprintf(s->id[s->n], 32, "%s", r->id);
    snprintf(s->trigger[s->n], 16, "%s", or_null(r->trigger));
    snprintf(s->parent[s->n], 32, "%s", or_null(r->parent_run_id));
    snprintf(s->eclass[s->n], 32, "%s", or_null(r->error_class));
    snprintf(s->error[s->n], 32, "%s", or_null(r->error));
    snprintf(s->output[s->n], 32, "%s", or_null(r->output_json));
    snprintf(s->status[s->n], 16, "%s", sl_status_name(r->status));
    snprintf(s->definition[s->n], 128, "%s", or_null(r->definition));
    s->started[s->n] = r->started_us;
    s->ended[s->n] = r->ended_us;
    s->redrives[s->n] = r->redrive_count;
    s->n++;
    return 0;
}

static runs2_t show2(sl_state_t *st, const char *id)
{
    runs2_t r = {0};
    CHECK_INT(sl_state_run_show(st, id, on_run2, NULL, &r), 0);
    CHECK_INT(r.n, 1);
    return r;
}

/* The ids a filter lists, comma-separated. */
static const char *query_ids(sl_state_t *st, const sl_runs_filter_t *f)
{
    static char ids[256];
    runs2_t r = {0};
    CHECK_INT(sl_state_runs_query(st, f, on_run2, &r), 0);
    ids[0] = '\0';
    for (int i = 0; i < r.n; i++) {
        size_t l = strlen(ids);
        snprintf(ids + l, sizeof ids - l, "%s%s", i ? "," : "", r.id[i]);
    }
    return ids;
}

void sl_state_suite_runs_v2(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    sl_run_t parent = {.id = "p-1",
                       .pipeline = "shop",
                       .params_json = "{}",
                       .trigger = "schedule",
                       .status = SL_STATUS_RUNNING,
                       .started_us = 100};
    CHECK_INT(sl_state_run_begin(st, &parent), 0);
    sl_run_t child = {.id = "c-1",
                      .pipeline = "crm",
                      .trigger = "call",
                      .parent_run_id = "p-1",
                      .status = SL_STATUS_PENDING,
                      .started_us = 200};
    CHECK_INT(sl_state_run_begin(st, &child), 0);
    child.id = "c-2";
    child.status = SL_STATUS_RUNNING;
    child.started_us = 300;
    CHECK_INT(sl_state_run_begin(st, &child), 0);
    sl_run_t cli = {
        .id = "x-1", .pipeline = "shop", .status = SL_STATUS_RUNNING, .started_us = 400};
    CHECK_INT(sl_state_run_begin(st, &cli), 0);

    runs2_t r = show2(st, "p-1");
    CHECK_STR(r.status[0], "running");
    CHECK_STR(r.trigger[0], "schedule");
    CHECK_STR(r.parent[0], "(null)");
    CHECK_STR(r.eclass[0], "(null)");
    CHECK_STR(r.output[0], "(null)");
    CHECK_INT(r.redrives[0], 0);
    r = show2(st, "x-1");
    CHECK_STR(r.trigger[0], "cli"); /* the default */
    r = show2(st, "c-1");
    CHECK_STR(r.status[0], "pending");
    CHECK_STR(r.parent[0], "p-1");
    CHECK_STR(r.trigger[0], "call");
    CHECK_INT(r.started[0], 200);

    /* The end carries an error class and an output. */
    sl_outcome_t o = {.status = SL_STATUS_FAILED,
                      .ended_us = 500,
                      .error_class = "rate_limited",
                      .error = "429 from the API",
                      .output_json = "{\"rows\":3}"};
    CHECK_INT(sl_state_run_finish(st, "c-2", &o), 0);
    r = show2(st, "c-2");
    CHECK_STR(r.status[0], "failed");
    CHECK_INT(r.ended[0], 500);
    CHECK_STR(r.eclass[0], "rate_limited");
    CHECK_STR(r.error[0], "429 from the API");
    CHECK_STR(r.output[0], "{\"rows\":3}");
    /* Not a final status; not a run. */
    o.status = SL_STATUS_RUNNING;
    CHECK_INT(sl_state_run_finish(st, "c-2", &o), SL_EINVAL);
    CHECK_CONTAINS(sl_state_errmsg(st), "'running' is not a final status");
    o.status = (sl_status_t)42;
    CHECK_INT(sl_state_run_finish(st, "c-2", &o), SL_EINVAL);
    o.status = SL_STATUS_OK;
    CHECK_INT(sl_state_run_finish(st, "nope", &o), SL_ENOTFOUND);
    CHECK_CONTAINS(sl_state_errmsg(st), "no run with id nope");
    /* The v1 call takes a status name. */
    CHECK_INT(sl_state_run_end(st, "x-1", "partial", 600, NULL), 0);
    r = show2(st, "x-1");
    CHECK_STR(r.status[0], "partial");
    CHECK_STR(r.eclass[0], "(null)");
    CHECK_INT(sl_state_run_end(st, "x-1", "bogus", 600, NULL), SL_EINVAL);
    CHECK_CONTAINS(sl_state_errmsg(st), "unknown run status 'bogus'");
    sl_run_t bad = {.id = "b", .pipeline = "p", .status = (sl_status_t)-1};
    CHECK_INT(sl_state_run_begin(st, &bad), SL_EINVAL);

    /* Filters: children of a run, statuses, pipeline, all at once. */
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.parent_run_id = "p-1"}), "c-2,c-1");
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.statuses = SL_STATUS_BIT(SL_STATUS_FAILED) |
                                                            SL_STATUS_BIT(SL_STATUS_PENDING)}),
              "c-2,c-1");
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.pipeline = "shop",
                                                .statuses = SL_STATUS_BIT(SL_STATUS_RUNNING)}),
              "p-1");
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.pipeline = "shop"}), "x-1,p-1");
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.pipeline = "crm",
                                                .statuses = SL_STATUS_BIT(SL_STATUS_PENDING),
                                                .parent_run_id = "p-1"}),
              "c-1");
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.statuses = SL_STATUS_BIT(SL_STATUS_OK)}), "");
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.parent_run_id = "x-1"}), "");
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.limit = 2}), "x-1,c-2");
    CHECK_STR(query_ids(st, NULL), "x-1,c-2,c-1,p-1");

    /* Redrive: a run that ended restarts in place, and counts. */
    CHECK_INT(sl_state_run_redrive(st, "c-2"), 0);
    r = show2(st, "c-2");
    CHECK_STR(r.status[0], "running");
    CHECK_INT(r.ended[0], 0);
    CHECK_STR(r.error[0], "(null)");
    CHECK_STR(r.eclass[0], "(null)");
    CHECK_STR(r.output[0], "(null)");
    CHECK_INT(r.redrives[0], 1);
    CHECK_INT(r.started[0], 300);
    CHECK_STR(r.parent[0], "p-1");
    CHECK_INT(sl_state_run_redrive(st, "c-2"), SL_EINVAL);
    CHECK_CONTAINS(sl_state_errmsg(st),
                   "run c-2 is running: only a run that ended can be redriven");
    CHECK_INT(sl_state_run_redrive(st, "c-1"), SL_EINVAL); /* pending */
    CHECK_INT(sl_state_run_end(st, "c-2", "ok", 700, NULL), 0);
    CHECK_INT(sl_state_run_redrive(st, "c-2"), 0);
    CHECK_INT(show2(st, "c-2").redrives[0], 2);
    CHECK_INT(sl_state_run_redrive(st, "nope"), SL_ENOTFOUND);
    CHECK_CONTAINS(sl_state_errmsg(st), "no run with id nope");
    /* Beginning it again (a resume) keeps its redrives, trigger, parent. */
    sl_run_t again = {.id = "c-2",
                      .pipeline = "crm",
                      .trigger = "api",
                      .status = SL_STATUS_RUNNING,
                      .started_us = 900};
    CHECK_INT(sl_state_run_begin(st, &again), 0);
    r = show2(st, "c-2");
    CHECK_INT(r.redrives[0], 2);
    CHECK_STR(r.trigger[0], "call");
    CHECK_STR(r.parent[0], "p-1");
    CHECK_INT(r.started[0], 300);
    sl_state_close(st);
}

/* The definitions a filter lists, comma-separated, in the listing's order. */
static const char *query_definitions(sl_state_t *st, const sl_runs_filter_t *f)
{
    static char defs[512];
    runs2_t r = {0};
    CHECK_INT(sl_state_runs_query(st, f, on_run2, &r), 0);
    defs[0] = '\0';
    for (int i = 0; i < r.n; i++) {
        size_t l = strlen(defs);
        snprintf(defs + l, sizeof defs - l, "%s%s", i ? "," : "", r.definition[i]);
    }
    return defs;
}

#define DEF_A "/srv/etl/pipelines/shop.yaml"
#define DEF_B "/srv/etl/pipelines v2/shop \xc3\xa9t\xc3\xa9.yaml" /* a space, UTF-8 */

/* since/until and the cursor: pages of runs newest first (by start, then
 * id), each once. */
void sl_state_suite_runs_pages(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    static const char *const ids[] = {"r-a", "r-b", "r-c", "r-d", "r-e"};
    static const int64_t starts[] = {100, 200, 200, 300, 400};
    for (int i = 0; i < 5; i++) {
        sl_run_t run = {.id = ids[i], .pipeline = "shop", .status = SL_STATUS_RUNNING,
                        .started_us = starts[i]};
        CHECK_INT(sl_state_run_begin(st, &run), 0);
    }
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.limit = 2}), "r-e,r-d");
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.limit = 2, .after_started_us = 300,
                                                 .after_id = "r-d"}),
              "r-c,r-b");
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.limit = 2, .after_started_us = 200,
                                                 .after_id = "r-b"}),
              "r-a");
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.since_us = 200, .until_us = 400}),
              "r-d,r-c,r-b");
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.pipeline = "shop", .since_us = 350}), "r-e");
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.pipeline = "crm", .since_us = 1}), "");
    sl_state_close(st);
}

void sl_state_suite_runs_definition(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    sl_run_t run = {.id = "d-1",
                    .pipeline = "shop",
                    .definition = DEF_A,
                    .status = SL_STATUS_RUNNING,
                    .started_us = 100};
    CHECK_INT(sl_state_run_begin(st, &run), 0);
    sl_run_t plain = {
        .id = "d-2", .pipeline = "shop", .status = SL_STATUS_RUNNING, .started_us = 200};
    CHECK_INT(sl_state_run_begin(st, &plain), 0);

    /* Show, and both listings (every pipeline, one pipeline). */
    CHECK_STR(show2(st, "d-1").definition[0], DEF_A);
    CHECK_STR(show2(st, "d-2").definition[0], "(null)");
    CHECK_STR(query_definitions(st, NULL), "(null)," DEF_A);
    CHECK_STR(query_definitions(st, &(sl_runs_filter_t){.pipeline = "shop"}), "(null)," DEF_A);
    CHECK_STR(query_definitions(st, &(sl_runs_filter_t){.pipeline = "crm"}), "");
    seen_t list = {0};
    CHECK_INT(sl_state_runs_list(st, "shop", 0, on_run, &list), 0);
    CHECK_INT(list.n, 2);

    /* Ending and redriving the run keep it. */
    CHECK_INT(sl_state_run_end(st, "d-1", "failed", 300, "boom"), 0);
    CHECK_STR(show2(st, "d-1").definition[0], DEF_A);
    CHECK_INT(sl_state_run_redrive(st, "d-1"), 0);
    CHECK_STR(show2(st, "d-1").definition[0], DEF_A);

    /* A resume that gives no definition keeps the old one... */
    CHECK_INT(sl_state_run_end(st, "d-1", "failed", 400, "boom"), 0);
    sl_run_t again = {
        .id = "d-1", .pipeline = "shop", .status = SL_STATUS_RUNNING, .started_us = 500};
    CHECK_INT(sl_state_run_begin(st, &again), 0);
    runs2_t r = show2(st, "d-1");
    CHECK_STR(r.definition[0], DEF_A);
    CHECK_STR(r.status[0], "running");
    CHECK_INT(r.started[0], 100);
    /* ... one that gives one replaces it. */
    again.definition = DEF_B;
    again.started_us = 600;
    CHECK_INT(sl_state_run_begin(st, &again), 0);
    CHECK_STR(show2(st, "d-1").definition[0], DEF_B);
    CHECK_STR(query_definitions(st, &(sl_runs_filter_t){.pipeline = "shop"}), "(null)," DEF_B);
    /* A run begun without one takes one when resumed with one. */
    plain.definition = DEF_A;
    CHECK_INT(sl_state_run_begin(st, &plain), 0);
    CHECK_STR(show2(st, "d-2").definition[0], DEF_A);
    /* A resume refused (another pipeline's id) changes nothing. */
    again.pipeline = "crm";
    again.definition = "/elsewhere.yaml";
    CHECK_INT(sl_state_run_begin(st, &again), SL_ESTATE);
    CHECK_CONTAINS(sl_state_errmsg(st), "already belongs to another pipeline");
    sl_state_close(st);

    /* A new handle reads what the old one wrote. */
    st = d->open("state.db");
    CHECK_STR(show2(st, "d-1").definition[0], DEF_B);
    CHECK_STR(query_definitions(st, NULL), DEF_A "," DEF_B);
    sl_state_close(st);
}

void sl_state_suite_steps_v2(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    begin_run(st, "r1", "shop", 10);
    sl_step_run_t s = {.run_id = "r1",
                       .step = "per_date/extract",
                       .status = SL_STATUS_RUNNING,
                       .attempts = 1,
                       .started_us = 20};
    CHECK_INT(sl_state_step_put(st, &s), 0);
    seen_t steps = {0};
    CHECK_INT(sl_state_run_show(st, "r1", NULL, on_step, &steps), 0);
    CHECK_INT(steps.n, 1);
    CHECK_STR(steps.ids[0], "per_date/extract");
    CHECK_STR(steps.status[0], "running");
    CHECK_INT(steps.attempts[0], 1);
    CHECK_INT(steps.ended[0], 0);
    CHECK_STR(steps.output[0], "(null)");
    CHECK_STR(steps.eclass[0], "(null)");

    /* Its end (third attempt) overwrites the row. */
    s.status = SL_STATUS_TIMED_OUT;
    s.attempts = 3;
    s.records_in = 7;
    s.ended_us = 40;
    s.error = "no answer in 30 s";
    s.error_class = "timeout";
    s.output_json = "{\"files\":[]}";
    CHECK_INT(sl_state_step_put(st, &s), 0);
    memset(&steps, 0, sizeof steps);
    CHECK_INT(sl_state_run_show(st, "r1", NULL, on_step, &steps), 0);
    CHECK_INT(steps.n, 1);
    CHECK_STR(steps.status[0], "timed_out");
    CHECK_INT(steps.attempts[0], 3);
    CHECK_INT(steps.in[0], 7);
    CHECK_INT(steps.started[0], 20);
    CHECK_INT(steps.ended[0], 40);
    CHECK_STR(steps.error[0], "no answer in 30 s");
    CHECK_STR(steps.eclass[0], "timeout");
    CHECK_STR(steps.output[0], "{\"files\":[]}");

    s.status = (sl_status_t)SL_STATUS_COUNT;
    CHECK_INT(sl_state_step_put(st, &s), SL_EINVAL);
    CHECK_CONTAINS(sl_state_errmsg(st), "invalid status");
    sl_state_close(st);
}

/* ---- items and leases ---- */

#define LEASE 30000000 /* 30 s */
#define T0 1000000000  /* a "now" */

/* Creates n items {"i":k} of (run, step), idx first .. first + n - 1. */
static void create_items(sl_state_t *st, const char *run, const char *step, size_t n, size_t first)
{
    char(*vals)[32] = calloc(n, sizeof *vals);
    const char **ptrs = calloc(n, sizeof *ptrs);
    CHECK(vals && ptrs);
    for (size_t i = 0; i < n; i++) {
        snprintf(vals[i], sizeof vals[i], "{\"i\":%zu}", first + i);
        ptrs[i] = vals[i];
    }
    CHECK_INT(sl_state_items_create(st, run, step, ptrs, n, first), 0);
    free(vals);
    free(ptrs);
}

/* Claims from (r1, step) at now, expecting item idx (or nothing: -1). */
static sl_item_t claim_at(sl_state_t *st, const char *step, const char *owner, int64_t now,
                          int max_attempts, int64_t want_idx)
{
    sl_item_t it;
    int rc = sl_state_item_claim(st, "r1", step, owner, LEASE, now, max_attempts, &it);
    if (want_idx < 0) {
        CHECK_INT(rc, SL_ENOTFOUND);
    } else {
        CHECK_INT(rc, 0);
        CHECK_INT(it.idx, want_idx);
    }
    return it;
}

static sl_item_t get_item(sl_state_t *st, const char *step, int64_t idx)
{
    sl_item_t it;
    CHECK_INT(sl_state_item_get(st, "r1", step, idx, &it), 0);
    return it;
}

static void finish_item(sl_state_t *st, const sl_item_t *it, sl_status_t status, int64_t ended,
                        const char *error_class, const char *error, const char *output)
{
    sl_fence_t f = sl_item_fence(it);
    sl_outcome_t o = {.status = status,
                      .ended_us = ended,
                      .error_class = error_class,
                      .error = error,
                      .output_json = output};
    CHECK_INT(sl_state_item_finish(st, &f, &o), 0);
}

void sl_state_suite_items_claim_all(const sl_state_driver_t *d)
{
    sl_state_t *a = d->open("state.db");
    sl_state_t *b = d->open("state.db");
    begin_run(a, "r1", "shop", 1);
    enum { N = 1000 };
    create_items(a, "r1", "per_day", 600, 0);
    create_items(a, "r1", "per_day", N - 600, 600);
    /* Created again (a crash between batches): the existing rows stay. */
    const char *other[2] = {"\"changed\"", "\"changed\""};
    CHECK_INT(sl_state_items_create(b, "r1", "per_day", other, 2, 599), 0);
    create_items(a, "r1", "other", 1, 0);
    int64_t counts[SL_STATUS_COUNT];
    CHECK_INT(sl_state_items_counts(a, "r1", "per_day", counts), 0);
    CHECK_INT(counts[SL_STATUS_PENDING], N);
    /* Items need their run. */
    const char *one[1] = {"1"};
    CHECK(sl_state_items_create(a, "nope", "per_day", one, 1, 0) != 0);

    static int got[N];
    int i = 0;
    for (;; i++) {
        sl_state_t *h = i % 2 ? b : a;
        char owner[16];
        snprintf(owner, sizeof owner, "%s:%d", i % 2 ? "b" : "a", i);
        sl_item_t it;
        int rc = sl_state_item_claim(h, "r1", "per_day", owner, LEASE, T0 + i, 0, &it);
        if (rc == SL_ENOTFOUND) {
            break;
        }
        CHECK_INT(rc, 0);
        CHECK_INT(it.idx, i); /* lowest idx first */
        CHECK_INT(got[it.idx]++, 0);
        CHECK_STR(it.run_id, "r1");
        CHECK_STR(it.step, "per_day");
        char want[32];
        snprintf(want, sizeof want, "{\"i\":%d}", i);
        CHECK_STR(it.value_json, want);
        CHECK_INT(it.status, SL_STATUS_RUNNING);
        CHECK_STR(it.owner, owner);
        CHECK_INT(it.gen, 1);
        CHECK_INT(it.attempts, 1);
        CHECK_INT(it.started_us, T0 + i);
        CHECK_INT(it.heartbeat_us, T0 + i);
        CHECK_INT(it.lease_expires_us, T0 + i + LEASE);
        CHECK_INT(it.ended_us, 0);
        CHECK(it.error == NULL && it.error_class == NULL && it.output_json == NULL);
        sl_item_free(&it);
        CHECK(it.value_json == NULL);
    }
    CHECK_INT(i, N);
    CHECK_CONTAINS(sl_state_errmsg(i % 2 ? b : a), "no claimable item in per_day of run r1");
    CHECK_INT(sl_state_items_counts(b, "r1", "per_day", counts), 0);
    CHECK_INT(counts[SL_STATUS_RUNNING], N);
    CHECK_INT(counts[SL_STATUS_PENDING], 0);
    CHECK_INT(sl_state_items_counts(b, "r1", "other", counts), 0);
    CHECK_INT(counts[SL_STATUS_PENDING], 1);
    sl_item_t it = claim_at(a, "nothing", "a", T0, 0, -1);
    (void)it;
    sl_state_close(a);
    sl_state_close(b);
}

void sl_state_suite_items_lease_expiry(const sl_state_driver_t *d)
{
    sl_state_t *a = d->open("state.db");
    sl_state_t *b = d->open("state.db");
    begin_run(a, "r1", "shop", 1);
    create_items(a, "r1", "m", 3, 0);

    sl_item_t x = claim_at(a, "m", "host-a:1:1", T0, 0, 0);
    sl_fence_t fa = sl_item_fence(&x);
    CHECK_INT(fa.gen, 1);
    /* Until its lease is over (expiry strictly before now), b gets another. */
    sl_item_t y = claim_at(b, "m", "host-b:2:1", T0 + LEASE, 0, 1);
    sl_item_t z = claim_at(b, "m", "host-b:2:1", T0 + LEASE + 1, 0, 0);
    CHECK_INT(z.gen, 2);
    CHECK_INT(z.attempts, 2);
    CHECK_STR(z.owner, "host-b:2:1");
    CHECK_INT(z.started_us, T0); /* the first claim */
    CHECK_INT(z.lease_expires_us, T0 + 2 * LEASE + 1);
    sl_fence_t fb = sl_item_fence(&z);

    /* The first holder is fenced off: heartbeat, finish, release, checkpoint. */
    CHECK_INT(sl_state_item_heartbeat(a, &fa, LEASE, T0 + LEASE + 2), SL_ESTALE);
    CHECK_CONTAINS(sl_state_errmsg(a),
                   "extending a lease: the lease on item m#0 of run r1 (generation 1) is no "
                   "longer held: the item is running at generation 2, held by host-b:2:1");
    CHECK_CONTAINS(sl_state_errmsg(a), d->where("state.db"));
    sl_outcome_t ok = {.status = SL_STATUS_OK, .ended_us = T0 + LEASE + 3};
    CHECK_INT(sl_state_item_finish(a, &fa, &ok), SL_ESTALE);
    CHECK_CONTAINS(sl_state_errmsg(a), "finishing an item: the lease on item m#0");
    CHECK_INT(sl_state_checkpoint_put_fenced(a, "shop", "item:m:0", "{\"by\":\"a\"}", 1, &fa),
              SL_ESTALE);
    CHECK_CONTAINS(sl_state_errmsg(a), "storing a checkpoint: the lease on item m#0");
    sl_checkpoint_t cp;
    CHECK_INT(sl_state_checkpoint_get(a, "shop", "item:m:0", &cp), SL_ENOTFOUND);
    CHECK_INT(sl_state_item_release(a, &fa), SL_ESTALE);
    sl_item_t now = get_item(a, "m", 0);
    CHECK_INT(now.status, SL_STATUS_RUNNING);
    CHECK_INT(now.gen, 2);
    CHECK_STR(now.owner, "host-b:2:1");
    sl_item_free(&now);

    /* The new holder's writes go through. */
    CHECK_INT(sl_state_checkpoint_put_fenced(b, "shop", "item:m:0", "{\"by\":\"b\"}", 1, &fb), 0);
    CHECK_INT(sl_state_checkpoint_get(a, "shop", "item:m:0", &cp), 0);
    CHECK_STR(cp.value, "{\"by\":\"b\"}");
    sl_checkpoint_free(&cp);
    CHECK_INT(sl_state_item_heartbeat(b, &fb, LEASE, T0 + LEASE + 5), 0);
    now = get_item(a, "m", 0);
    CHECK_INT(now.lease_expires_us, T0 + 2 * LEASE + 5);
    CHECK_INT(now.heartbeat_us, T0 + LEASE + 5);
    CHECK_INT(now.gen, 2);
    sl_item_free(&now);
    finish_item(b, &z, SL_STATUS_OK, T0 + LEASE + 9, NULL, NULL, "{\"n\":7}");
    now = get_item(a, "m", 0);
    CHECK_INT(now.status, SL_STATUS_OK);
    CHECK_INT(now.ended_us, T0 + LEASE + 9);
    CHECK_STR(now.output_json, "{\"n\":7}");
    CHECK(now.owner == NULL);
    CHECK_INT(now.lease_expires_us, 0);
    CHECK_INT(now.heartbeat_us, 0);
    CHECK_INT(now.gen, 2);
    CHECK_INT(now.attempts, 2);
    sl_item_free(&now);
    /* A finished item is held by nobody: finishing it again is stale. */
    CHECK_INT(sl_state_item_finish(b, &fb, &ok), SL_ESTALE);
    CHECK_CONTAINS(sl_state_errmsg(b), "the item is ok at generation 2");
    CHECK(strstr(sl_state_errmsg(b), "held by") == NULL);
    CHECK_INT(sl_state_checkpoint_put_fenced(b, "shop", "item:m:0", "{}", 2, &fb), SL_ESTALE);

    /* A lease that expired but was not taken over is still held. */
    sl_fence_t fy = sl_item_fence(&y);
    CHECK_INT(sl_state_item_heartbeat(b, &fy, LEASE, T0 + 10 * LEASE), 0);
    /* An item that does not exist. */
    sl_fence_t nf = {.run_id = "r1", .step = "m", .idx = 99, .gen = 1};
    CHECK_INT(sl_state_item_heartbeat(b, &nf, LEASE, T0), SL_ENOTFOUND);
    CHECK_CONTAINS(sl_state_errmsg(b), "no item m#99 in run r1");
    CHECK_INT(sl_state_item_get(b, "r1", "m", 99, &now), SL_ENOTFOUND);
    CHECK_CONTAINS(sl_state_errmsg(b), "no item m#99 in run r1");
    CHECK_INT(sl_state_item_claim(b, "r1", "m", "x", 0, T0, 0, &now), SL_EINVAL);
    sl_item_free(&x);
    sl_item_free(&y);
    sl_item_free(&z);
    sl_state_close(a);
    sl_state_close(b);
}

void sl_state_suite_items_max_attempts(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    begin_run(st, "r1", "shop", 1);
    create_items(st, "r1", "m", 2, 0);
    sl_item_t a = claim_at(st, "m", "a", T0, 2, 0);
    /* Its holder died: claimed again (1 attempt < 2). */
    sl_item_t b = claim_at(st, "m", "b", T0 + LEASE + 1, 2, 0);
    CHECK_INT(b.attempts, 2);
    CHECK_INT(b.gen, 2);
    /* That holder died too: its last attempt is over, the next item comes. */
    sl_item_t c = claim_at(st, "m", "c", T0 + 3 * LEASE, 2, 1);
    sl_item_t it = get_item(st, "m", 0);
    CHECK_INT(it.status, SL_STATUS_INTERRUPTED);
    CHECK_INT(it.attempts, 2);
    CHECK_INT(it.gen, 3);
    CHECK_INT(it.ended_us, T0 + 3 * LEASE);
    CHECK(it.owner == NULL && it.lease_expires_us == 0);
    CHECK_CONTAINS(it.error, "its worker stopped during its last attempt");
    sl_item_free(&it);
    sl_fence_t fb = sl_item_fence(&b);
    CHECK_INT(sl_state_item_heartbeat(st, &fb, LEASE, T0 + 3 * LEASE), SL_ESTALE);
    /* Without a bound, an expired item is claimed again however often. */
    sl_item_t e = claim_at(st, "m", "e", T0 + 5 * LEASE, 0, 1);
    CHECK_INT(e.attempts, 2);
    /* A reset makes it pending, and pending items are always claimable. */
    int64_t n = 0;
    CHECK_INT(sl_state_items_reset_unfinished(st, "r1", "m", T0 + 5 * LEASE, &n), 0);
    CHECK_INT(n, 1);
    sl_item_t f = claim_at(st, "m", "f", T0 + 5 * LEASE, 2, 0);
    CHECK_INT(f.attempts, 3);
    CHECK_INT(f.gen, 5);
    sl_item_free(&a);
    sl_item_free(&b);
    sl_item_free(&c);
    sl_item_free(&e);
    sl_item_free(&f);
    sl_state_close(st);
}

/* What item callbacks see, copied. */
typedef struct {
    int n;
    int stop_after; /* 0 = never; < 0: return that error at the first */
    int64_t idx[16];
    char status[16][16];
    char value[16][32];
    char eclass[16][16];
} items_seen_t;

static int on_item(void *ud, const sl_item_t *it)
{
    items_seen_t *s = ud;
    if (s->stop_after < 0) {
        return s->stop_after;
    }
    if (s->n < 16) {
        s->idx[s->n] = it->idx;
        snprintf(s->status[s->n], 16, "%s", sl_status_name(it->status));
        snprintf(s->value[s->n], 32, "%s", it->value_json);
        snprintf(s->eclass[s->n], 16, "%s", or_null(it->error_class));
    }
    s->n++;
    return s->stop_after && s->n >= s->stop_after ? 1 : 0;
}

/* The idx listed under filter f, comma-separated. */
static const char *list_idx(sl_state_t *st, const char *step, const sl_items_filter_t *f)
{
    static char out[256];
    items_seen_t s = {0};
    CHECK_INT(sl_state_items_list(st, "r1", step, f, on_item, &s), 0);
    out[0] = '\0';
    for (int i = 0; i < s.n && i < 16; i++) {
        size_t l = strlen(out);
        snprintf(out + l, sizeof out - l, "%s%lld", i ? "," : "", (long long)s.idx[i]);
    }
    return out;
}

void sl_state_suite_items_finish_counts_list(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    begin_run(st, "r1", "shop", 1);
    create_items(st, "r1", "m", 10, 0);
    sl_item_t it[8];
    for (int i = 0; i < 8; i++) {
        it[i] = claim_at(st, "m", "w", T0 + i, 0, i);
    }
    finish_item(st, &it[0], SL_STATUS_OK, T0 + 10, NULL, NULL, "{\"rows\":1}");
    finish_item(st, &it[1], SL_STATUS_OK, T0 + 11, NULL, NULL, NULL);
    finish_item(st, &it[2], SL_STATUS_FAILED, T0 + 12, "data", "bad row 3", NULL);
    finish_item(st, &it[3], SL_STATUS_PARTIAL, T0 + 13, NULL, NULL, NULL);
    finish_item(st, &it[4], SL_STATUS_TIMED_OUT, T0 + 14, "timeout", "30 s", NULL);
    finish_item(st, &it[5], SL_STATUS_CANCELLED, T0 + 15, NULL, NULL, NULL);
    finish_item(st, &it[6], SL_STATUS_SKIPPED, T0 + 16, NULL, NULL, NULL);
    /* 7 stays running, 8 and 9 pending. A status that is not final is
     * refused, and nothing changes. */
    sl_fence_t f7 = sl_item_fence(&it[7]);
    sl_outcome_t bad = {.status = SL_STATUS_PENDING};
    CHECK_INT(sl_state_item_finish(st, &f7, &bad), SL_EINVAL);
    CHECK_CONTAINS(sl_state_errmsg(st), "'pending' is not a final status");

    int64_t c[SL_STATUS_COUNT];
    CHECK_INT(sl_state_items_counts(st, "r1", "m", c), 0);
    CHECK_INT(c[SL_STATUS_OK], 2);
    CHECK_INT(c[SL_STATUS_FAILED], 1);
    CHECK_INT(c[SL_STATUS_PARTIAL], 1);
    CHECK_INT(c[SL_STATUS_TIMED_OUT], 1);
    CHECK_INT(c[SL_STATUS_CANCELLED], 1);
    CHECK_INT(c[SL_STATUS_SKIPPED], 1);
    CHECK_INT(c[SL_STATUS_RUNNING], 1);
    CHECK_INT(c[SL_STATUS_PENDING], 2);
    CHECK_INT(c[SL_STATUS_INTERRUPTED], 0);
    CHECK_INT(sl_state_items_counts(st, "r1", "nothing", c), 0);
    for (int i = 0; i < SL_STATUS_COUNT; i++) {
        CHECK_INT(c[i], 0);
    }
    sl_item_t got = get_item(st, "m", 2);
    CHECK_INT(got.status, SL_STATUS_FAILED);
    CHECK_STR(got.error_class, "data");
    CHECK_STR(got.error, "bad row 3");
    CHECK_INT(got.ended_us, T0 + 12);
    CHECK_INT(got.started_us, T0 + 2);
    sl_item_free(&got);

    /* Everything, in idx order. */
    items_seen_t s = {0};
    CHECK_INT(sl_state_items_list(st, "r1", "m", NULL, on_item, &s), 0);
    CHECK_INT(s.n, 10);
    const char *want[10] = {"ok",        "ok",      "failed",  "partial", "timed_out",
                            "cancelled", "skipped", "running", "pending", "pending"};
    for (int i = 0; i < 10; i++) {
        CHECK_INT(s.idx[i], i);
        CHECK_STR(s.status[i], want[i]);
    }
    CHECK_STR(s.value[9], "{\"i\":9}");
    CHECK_STR(s.eclass[4], "timeout");
    /* By status, with a cursor, with a limit. */
    CHECK_STR(list_idx(st, "m",
                       &(sl_items_filter_t){.statuses = SL_STATUS_BIT(SL_STATUS_OK) |
                                                        SL_STATUS_BIT(SL_STATUS_PARTIAL)}),
              "0,1,3");
    sl_items_filter_t page = {.statuses = SL_STATUS_BIT(SL_STATUS_PENDING), .limit = 1};
    CHECK_STR(list_idx(st, "m", &page), "8");
    page.from_idx = 9;
    CHECK_STR(list_idx(st, "m", &page), "9");
    page.from_idx = 10;
    CHECK_STR(list_idx(st, "m", &page), "");
    CHECK_STR(list_idx(st, "m", &(sl_items_filter_t){.from_idx = 4, .limit = 3}), "4,5,6");
    CHECK_STR(list_idx(st, "other", NULL), "");
    /* A callback stops the listing (a negative value is its error). */
    items_seen_t stop = {.stop_after = 2};
    CHECK_INT(sl_state_items_list(st, "r1", "m", NULL, on_item, &stop), 0);
    CHECK_INT(stop.n, 2);
    items_seen_t err = {.stop_after = SL_ECANCELLED};
    CHECK_INT(sl_state_items_list(st, "r1", "m", NULL, on_item, &err), SL_ECANCELLED);
    for (int i = 0; i < 8; i++) {
        sl_item_free(&it[i]);
    }
    sl_state_close(st);
}

void sl_state_suite_items_release(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    begin_run(st, "r1", "shop", 1);
    create_items(st, "r1", "m", 2, 0);
    sl_item_t a = claim_at(st, "m", "a", T0, 0, 0);
    sl_fence_t fa = sl_item_fence(&a);
    CHECK_INT(sl_state_item_release(st, &fa), 0);
    sl_item_t it = get_item(st, "m", 0);
    CHECK_INT(it.status, SL_STATUS_PENDING);
    CHECK_INT(it.attempts, 0);
    CHECK_INT(it.gen, 2);
    CHECK_INT(it.started_us, 0); /* it never really started */
    CHECK(it.owner == NULL && it.lease_expires_us == 0 && it.heartbeat_us == 0);
    sl_item_free(&it);
    /* The released lease is fenced off. */
    CHECK_INT(sl_state_item_release(st, &fa), SL_ESTALE);
    CHECK_CONTAINS(sl_state_errmsg(st), "the item is pending at generation 2");
    CHECK_INT(sl_state_item_heartbeat(st, &fa, LEASE, T0 + 1), SL_ESTALE);
    CHECK_INT(sl_state_checkpoint_put_fenced(st, "shop", "k", "1", 1, &fa), SL_ESTALE);
    /* Claimed again as a first attempt; a later attempt released keeps
     * the first start. */
    sl_item_t b = claim_at(st, "m", "b", T0 + 5, 0, 0);
    CHECK_INT(b.attempts, 1);
    CHECK_INT(b.gen, 3);
    CHECK_INT(b.started_us, T0 + 5);
    finish_item(st, &b, SL_STATUS_FAILED, T0 + 6, "transient", "503", NULL);
    CHECK_INT(sl_state_items_reset_unfinished(st, "r1", "m", T0 + 6, NULL), 0);
    sl_item_t c = claim_at(st, "m", "c", T0 + 7, 0, 0);
    CHECK_INT(c.attempts, 2);
    sl_fence_t fc = sl_item_fence(&c);
    CHECK_INT(sl_state_item_release(st, &fc), 0);
    it = get_item(st, "m", 0);
    CHECK_INT(it.attempts, 1);
    CHECK_INT(it.started_us, T0 + 5);
    sl_item_free(&it);
    sl_item_free(&a);
    sl_item_free(&b);
    sl_item_free(&c);
    sl_state_close(st);
}

void sl_state_suite_items_reset_unfinished(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    begin_run(st, "r1", "shop", 1);
    create_items(st, "r1", "m", 9, 0);
    create_items(st, "r1", "n", 2, 0);
    sl_item_t it[8];
    for (int i = 0; i < 8; i++) {
        it[i] = claim_at(st, "m", "w", T0, 0, i);
    }
    finish_item(st, &it[0], SL_STATUS_OK, T0 + 1, NULL, NULL, "{}");
    finish_item(st, &it[1], SL_STATUS_PARTIAL, T0 + 1, NULL, NULL, NULL);
    finish_item(st, &it[2], SL_STATUS_FAILED, T0 + 1, "transient", "boom", NULL);
    finish_item(st, &it[3], SL_STATUS_TIMED_OUT, T0 + 1, "timeout", NULL, NULL);
    finish_item(st, &it[4], SL_STATUS_CANCELLED, T0 + 1, NULL, NULL, NULL);
    finish_item(st, &it[5], SL_STATUS_INTERRUPTED, T0 + 1, NULL, NULL, NULL);
    finish_item(st, &it[6], SL_STATUS_SKIPPED, T0 + 1, NULL, NULL, NULL);
    /* 7 runs under a live lease; 8 is pending. */
    int64_t n = -1;
    CHECK_INT(sl_state_items_reset_unfinished(st, "r1", "m", T0 + 1, &n), 0);
    CHECK_INT(n, 4);
    sl_item_t x = get_item(st, "m", 2);
    CHECK_INT(x.status, SL_STATUS_PENDING);
    CHECK_INT(x.attempts, 1);   /* history stays */
    CHECK_STR(x.error, "boom"); /* the last error, until the next claim */
    CHECK_STR(x.error_class, "transient");
    CHECK_INT(x.started_us, T0);
    CHECK_INT(x.ended_us, 0);
    CHECK_INT(x.gen, 2);
    sl_item_free(&x);
    x = get_item(st, "m", 0);
    CHECK_INT(x.status, SL_STATUS_OK);
    CHECK_STR(x.output_json, "{}");
    CHECK_INT(x.gen, 1);
    sl_item_free(&x);
    x = get_item(st, "m", 6);
    CHECK_INT(x.status, SL_STATUS_SKIPPED);
    sl_item_free(&x);
    x = get_item(st, "m", 7);
    CHECK_INT(x.status, SL_STATUS_RUNNING);
    CHECK_STR(x.owner, "w");
    CHECK_INT(x.gen, 1);
    sl_item_free(&x);
    /* Once 7's lease is over it is reset too, and its holder fenced off. */
    CHECK_INT(sl_state_items_reset_unfinished(st, "r1", "m", T0 + LEASE + 1, &n), 0);
    CHECK_INT(n, 1);
    x = get_item(st, "m", 7);
    CHECK_INT(x.status, SL_STATUS_PENDING);
    CHECK_INT(x.gen, 2);
    CHECK(x.owner == NULL);
    sl_item_free(&x);
    sl_fence_t f7 = sl_item_fence(&it[7]);
    CHECK_INT(sl_state_item_heartbeat(st, &f7, LEASE, T0 + LEASE + 2), SL_ESTALE);
    int64_t c[SL_STATUS_COUNT];
    CHECK_INT(sl_state_items_counts(st, "r1", "m", c), 0);
    CHECK_INT(c[SL_STATUS_OK], 1);
    CHECK_INT(c[SL_STATUS_PARTIAL], 1);
    CHECK_INT(c[SL_STATUS_SKIPPED], 1);
    CHECK_INT(c[SL_STATUS_PENDING], 6);
    /* The next claim takes the lowest reset item, and clears its error. */
    sl_item_t y = claim_at(st, "m", "v", T0 + LEASE + 3, 0, 2);
    CHECK_INT(y.attempts, 2);
    CHECK(y.error == NULL && y.error_class == NULL);
    sl_item_free(&y);

    /* step NULL: every step of the run. */
    sl_item_t n0 = claim_at(st, "n", "w", T0, 0, 0);
    finish_item(st, &n0, SL_STATUS_FAILED, T0 + 1, NULL, "x", NULL);
    CHECK_INT(sl_state_items_reset_unfinished(st, "r1", NULL, T0 + LEASE + 3, &n), 0);
    CHECK_INT(n, 1);
    CHECK_INT(sl_state_items_counts(st, "r1", "n", c), 0);
    CHECK_INT(c[SL_STATUS_PENDING], 2);
    CHECK_INT(sl_state_items_reset_unfinished(st, "nope", NULL, T0, &n), 0);
    CHECK_INT(n, 0);
    sl_item_free(&n0);
    for (int i = 0; i < 8; i++) {
        sl_item_free(&it[i]);
    }
    sl_state_close(st);
}

typedef struct {
    int64_t n, next;
    bool ordered;
} count_t;

static int on_count(void *ud, const sl_item_t *it)
{
    count_t *c = ud;
    char want[32];
    snprintf(want, sizeof want, "{\"i\":%lld}", (long long)it->idx);
    c->ordered = c->ordered && it->idx == c->next && strcmp(it->value_json, want) == 0 &&
                 it->status == SL_STATUS_PENDING;
    c->next = it->idx + 1;
    c->n++;
    return 0;
}

void sl_state_suite_items_many(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    begin_run(st, "r1", "shop", 1);
    enum { N = 100000 };
    create_items(st, "r1", "m", N, 0);
    int64_t c[SL_STATUS_COUNT];
    CHECK_INT(sl_state_items_counts(st, "r1", "m", c), 0);
    CHECK_INT(c[SL_STATUS_PENDING], N);
    count_t all = {.ordered = true};
    CHECK_INT(sl_state_items_list(st, "r1", "m", NULL, on_count, &all), 0);
    CHECK_INT(all.n, N);
    CHECK(all.ordered);
    count_t tail = {.next = N - 1500, .ordered = true};
    sl_items_filter_t f = {
        .statuses = SL_STATUS_BIT(SL_STATUS_PENDING), .from_idx = N - 1500, .limit = 2500};
    CHECK_INT(sl_state_items_list(st, "r1", "m", &f, on_count, &tail), 0);
    CHECK_INT(tail.n, 1500);
    CHECK(tail.ordered);
    count_t mid = {.next = 5000, .ordered = true};
    f = (sl_items_filter_t){.from_idx = 5000, .limit = 2345};
    CHECK_INT(sl_state_items_list(st, "r1", "m", &f, on_count, &mid), 0);
    CHECK_INT(mid.n, 2345);
    CHECK(mid.ordered);
    sl_item_t it = claim_at(st, "m", "w", T0, 0, 0);
    sl_item_free(&it);
    sl_state_close(st);
}

void sl_state_suite_items_two_processes(const sl_state_driver_t *d)
{
    enum { N = 400, KIDS = 2 };
    sl_state_t *st = d->open("state.db");
    begin_run(st, "r1", "shop", 1);
    create_items(st, "r1", "m", N, 0);
    sl_state_close(st); /* no handle crosses the fork */
    int go[2], out[KIDS][2];
    CHECK_INT(pipe(go), 0);
    pid_t pids[KIDS];
    for (int k = 0; k < KIDS; k++) {
        CHECK_INT(pipe(out[k]), 0);
        pids[k] = fork();
        CHECK(pids[k] >= 0);
        if (pids[k] == 0) {
            close(go[1]);
            close(out[k][0]);
            char c;
            if (read(go[0], &c, 1) != 0) { /* EOF: all go */
                _exit(2);
            }
            sl_state_t *h = d->open("state.db");
            char owner[32];
            snprintf(owner, sizeof owner, "child-%d", k);
            int rc;
            for (;;) {
                sl_item_t it;
                rc = sl_state_item_claim(h, "r1", "m", owner, LEASE, T0, 0, &it);
                if (rc) {
                    break;
                }
                int64_t idx = it.idx;
                sl_fence_t f = sl_item_fence(&it);
                sl_outcome_t o = {.status = SL_STATUS_OK, .ended_us = T0 + 1};
                rc = sl_state_item_finish(h, &f, &o);
                sl_item_free(&it);
                if (rc || write(out[k][1], &idx, sizeof idx) != sizeof idx) {
                    rc = rc ? rc : SL_EIO;
                    break;
                }
            }
            if (rc != SL_ENOTFOUND) {
                fprintf(stderr, "    child %d: %s\n", k, sl_state_errmsg(h));
            }
            sl_state_close(h);
            _exit(rc == SL_ENOTFOUND ? 0 : 1);
        }
        close(out[k][1]);
    }
    close(go[0]);
    close(go[1]);
    static int seen[N];
    int64_t total = 0;
    for (int k = 0; k < KIDS; k++) { /* N * 8 bytes fit in a pipe: no deadlock */
        int64_t idx;
        ssize_t r;
        while ((r = read(out[k][0], &idx, sizeof idx)) == sizeof idx) {
            CHECK(idx >= 0 && idx < N);
            CHECK_INT(seen[idx]++, 0);
            total++;
        }
        CHECK_INT(r, 0);
        close(out[k][0]);
    }
    for (int k = 0; k < KIDS; k++) {
        int status = 0;
        CHECK_INT(waitpid(pids[k], &status, 0), pids[k]);
        CHECK(WIFEXITED(status));
        CHECK_INT(WEXITSTATUS(status), 0);
    }
    CHECK_INT(total, N);
    st = d->open("state.db");
    int64_t c[SL_STATUS_COUNT];
    CHECK_INT(sl_state_items_counts(st, "r1", "m", c), 0);
    CHECK_INT(c[SL_STATUS_OK], N);
    sl_state_close(st);
}

void sl_state_suite_checkpoint_fenced(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    begin_run(st, "r1", "shop", 1);
    create_items(st, "r1", "m", 1, 0);
    sl_item_t it = claim_at(st, "m", "w", T0, 0, 0);
    sl_fence_t f = sl_item_fence(&it);
    CHECK_INT(sl_state_checkpoint_put_fenced(st, "shop", "k", "\"v1\"", 4, &f), 0);
    sl_checkpoint_t cp;
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "k", &cp), 0);
    CHECK_STR(cp.value, "\"v1\"");
    CHECK_INT(cp.seq, 4);
    CHECK_INT(cp.gen, 1);
    sl_checkpoint_free(&cp);
    /* It carries the pipeline's generation like any put. */
    CHECK_INT(sl_state_reset(st, "shop", NULL), 0);
    CHECK_INT(sl_state_checkpoint_put_fenced(st, "shop", "k", "\"v2\"", 5, &f), 0);
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "k", &cp), 0);
    CHECK_STR(cp.value, "\"v2\"");
    CHECK_INT(cp.gen, 2);
    sl_checkpoint_free(&cp);
    /* Without a fence it is a plain put. */
    CHECK_INT(sl_state_checkpoint_put_fenced(st, "shop", "k2", "1", 1, NULL), 0);
    /* Inside a transaction that rolls back, nothing stays. */
    sl_state_tx_t *tx = NULL;
    CHECK_INT(sl_state_tx_begin(st, &tx), 0);
    CHECK_INT(sl_state_checkpoint_put_fenced(st, "shop", "k", "\"v3\"", 6, &f), 0);
    sl_state_tx_rollback(tx);
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "k", &cp), 0);
    CHECK_STR(cp.value, "\"v2\"");
    sl_checkpoint_free(&cp);
    /* A fence must name its item. */
    sl_fence_t bad = {.step = "m", .gen = 1};
    CHECK_INT(sl_state_checkpoint_put_fenced(st, "shop", "k", "1", 1, &bad), SL_EINVAL);
    CHECK_CONTAINS(sl_state_errmsg(st), "missing fence run id");
    sl_item_free(&it);
    sl_state_close(st);
}

/* ---- transactions across threads ---- */

typedef struct {
    sl_state_t *st;
    const char *key;
    atomic_int started, done;
    int rc;
} putter_t;

static void *put_from_thread(void *ud)
{
    putter_t *p = ud;
    atomic_store(&p->started, 1);
    p->rc = sl_state_checkpoint_put(p->st, "shop", p->key, "\"from B\"", 1);
    atomic_store(&p->done, 1);
    return NULL;
}

/* Starts a thread putting key, and returns once it is about to call. */
static void start_putter(pthread_t *t, putter_t *p)
{
    CHECK_INT(pthread_create(t, NULL, put_from_thread, p), 0);
    while (!atomic_load(&p->started)) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* Give it time to reach the store's lock (a put that joined the
     * transaction would be done by then: checked below). */
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

typedef struct {
    sl_state_tx_t *tx;
    int rc;
} ender_t;

static void *commit_from_thread(void *ud)
{
    ender_t *e = ud;
    e->rc = sl_state_tx_commit(e->tx);
    return NULL;
}

void sl_state_suite_tx_threads(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    sl_checkpoint_t cp;

    /* A rolls back; B's put, made while A's transaction was open, waited
     * for it and stays. */
    sl_state_tx_t *tx = NULL;
    CHECK_INT(sl_state_tx_begin(st, &tx), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "a", "\"from A\"", 1), 0);
    pthread_t t;
    putter_t b = {.st = st, .key = "b"};
    start_putter(&t, &b);
    CHECK_INT(atomic_load(&b.done), 0); /* waiting, not joined */
    /* Another thread cannot end A's transaction. */
    ender_t e = {.tx = tx};
    pthread_t te;
    CHECK_INT(pthread_create(&te, NULL, commit_from_thread, &e), 0);
    CHECK_INT(pthread_join(te, NULL), 0);
    CHECK_INT(e.rc, SL_EINVAL);
    CHECK_INT(atomic_load(&b.done), 0);
    sl_state_tx_rollback(tx);
    CHECK_INT(pthread_join(t, NULL), 0);
    CHECK_INT(b.rc, 0);
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "a", &cp), SL_ENOTFOUND);
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "b", &cp), 0);
    CHECK_STR(cp.value, "\"from B\"");
    sl_checkpoint_free(&cp);

    /* A commits: both, A's atomically, B's after. */
    CHECK_INT(sl_state_tx_begin(st, &tx), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "c", "\"from A\"", 1), 0);
    putter_t b2 = {.st = st, .key = "d"};
    start_putter(&t, &b2);
    CHECK_INT(atomic_load(&b2.done), 0);
    CHECK_INT(sl_state_tx_commit(tx), 0);
    CHECK_INT(pthread_join(t, NULL), 0);
    CHECK_INT(b2.rc, 0);
    CHECK_INT(d->rows("state.db", "sluice_checkpoints", "shop"), 3);
    sl_state_close(st);
}

/* ---- migration ---- */

static void create_items_for(sl_state_t *st, const char *run)
{
    const char *days[2] = {"\"2026-01-01\"", "\"2026-01-02\""};
    CHECK_INT(sl_state_items_create(st, run, "per_day", days, 2, 0), 0);
}

void sl_state_suite_migrate_v1(const sl_state_driver_t *d)
{
    d->make_v1("old.db");
    CHECK_INT(d->schema_version("old.db"), 1);
    sl_state_t *st = d->open("old.db");
    CHECK_INT(d->schema_version("old.db"), SL_STATE_TEST_SCHEMA_VERSION);

    /* The old run, its step, checkpoint and generation read back, with
     * the new fields at their defaults. */
    runs2_t r = show2(st, "old-run");
    CHECK_STR(r.status[0], "ok");
    CHECK_INT(r.started[0], 100);
    CHECK_INT(r.ended[0], 200);
    CHECK_STR(r.error[0], "e1");
    CHECK_STR(r.trigger[0], "cli");
    CHECK_STR(r.parent[0], "(null)");
    CHECK_STR(r.eclass[0], "(null)");
    CHECK_STR(r.output[0], "(null)");
    CHECK_INT(r.redrives[0], 0);
    CHECK_STR(r.definition[0], "(null)");
    seen_t v1 = {0};
    CHECK_INT(sl_state_run_show(st, "old-run", on_run, NULL, &v1), 0);
    CHECK_STR(v1.params[0], "{\"a\":1}");
    seen_t steps = {0};
    CHECK_INT(sl_state_run_show(st, "old-run", NULL, on_step, &steps), 0);
    CHECK_INT(steps.n, 1);
    CHECK_STR(steps.ids[0], "load");
    CHECK_STR(steps.status[0], "ok");
    CHECK_INT(steps.in[0], 5);
    CHECK_INT(steps.out[0], 4);
    CHECK_INT(steps.rej[0], 1);
    CHECK_INT(steps.bytes[0], 10);
    CHECK_INT(steps.started[0], 110);
    CHECK_INT(steps.ended[0], 190);
    CHECK_INT(steps.attempts[0], 1); /* a recorded step had one */
    CHECK_STR(steps.eclass[0], "(null)");
    sl_checkpoint_t cp;
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "step:load", &cp), 0);
    CHECK_STR(cp.value, "{\"n\":1}");
    CHECK_INT(cp.gen, 3);
    CHECK_INT(cp.seq, 5);
    sl_checkpoint_free(&cp);
    int64_t gen = 0;
    CHECK_INT(sl_state_generation(st, "shop", &gen), 0);
    CHECK_INT(gen, 3);
    seen_t list = {0};
    CHECK_INT(sl_state_runs_list(st, "shop", 0, on_run, &list), 0);
    CHECK_INT(list.n, 1);

    /* v2 writes on the old rows. */
    CHECK_INT(sl_state_run_redrive(st, "old-run"), 0);
    sl_outcome_t o = {.status = SL_STATUS_PARTIAL,
                      .ended_us = 300,
                      .error_class = "tolerance_exceeded",
                      .error = "2 of 10 items failed",
                      .output_json = "{\"ok\":8}"};
    CHECK_INT(sl_state_run_finish(st, "old-run", &o), 0);
    sl_step_run_t s = {.run_id = "old-run",
                       .step = "load",
                       .status = SL_STATUS_OK,
                       .attempts = 2,
                       .started_us = 210,
                       .ended_us = 290,
                       .output_json = "{}"};
    CHECK_INT(sl_state_step_put(st, &s), 0);
    create_items_for(st, "old-run");
    sl_state_close(st);

    st = d->open("old.db");
    r = show2(st, "old-run");
    CHECK_STR(r.status[0], "partial");
    CHECK_INT(r.redrives[0], 1);
    CHECK_STR(r.eclass[0], "tolerance_exceeded");
    CHECK_STR(r.output[0], "{\"ok\":8}");
    CHECK_INT(r.started[0], 100);
    memset(&steps, 0, sizeof steps);
    CHECK_INT(sl_state_run_show(st, "old-run", NULL, on_step, &steps), 0);
    CHECK_INT(steps.attempts[0], 2);
    CHECK_STR(steps.output[0], "{}");
    sl_item_t it;
    CHECK_INT(sl_state_item_claim(st, "old-run", "per_day", "w", LEASE, T0, 0, &it), 0);
    CHECK_INT(it.idx, 0);
    CHECK_STR(it.value_json, "\"2026-01-01\"");
    sl_item_free(&it);
    sl_state_close(st);
}

void sl_state_suite_migrate_v2(const sl_state_driver_t *d)
{
    d->make_v2("v2.db");
    CHECK_INT(d->schema_version("v2.db"), 2);
    sl_state_t *st = d->open("v2.db");
    CHECK_INT(d->schema_version("v2.db"), SL_STATE_TEST_SCHEMA_VERSION);

    /* The v2 runs read back as they were, with no definition. */
    runs2_t r = show2(st, "v2-run");
    CHECK_STR(r.status[0], "failed");
    CHECK_STR(r.trigger[0], "schedule");
    CHECK_STR(r.parent[0], "(null)");
    CHECK_INT(r.started[0], 300);
    CHECK_INT(r.ended[0], 400);
    CHECK_STR(r.error[0], "e2");
    CHECK_STR(r.eclass[0], "data");
    CHECK_STR(r.output[0], "{\"n\":2}");
    CHECK_INT(r.redrives[0], 1);
    CHECK_STR(r.definition[0], "(null)");
    r = show2(st, "v2-child");
    CHECK_STR(r.status[0], "ok");
    CHECK_STR(r.trigger[0], "call");
    CHECK_STR(r.parent[0], "v2-run");
    CHECK_STR(r.definition[0], "(null)");
    r = show2(st, "old-run");
    CHECK_STR(r.status[0], "ok");
    CHECK_STR(r.definition[0], "(null)");
    seen_t steps = {0};
    CHECK_INT(sl_state_run_show(st, "old-run", NULL, on_step, &steps), 0);
    CHECK_INT(steps.n, 1);
    CHECK_INT(steps.attempts[0], 1);
    CHECK_STR(query_ids(st, &(sl_runs_filter_t){.parent_run_id = "v2-run"}), "v2-child");
    CHECK_STR(query_definitions(st, NULL), "(null),(null),(null)");

    /* A resume of an old run records the definition it is given; one that
     * gives none leaves it NULL. */
    sl_run_t again = {.id = "v2-run",
                      .pipeline = "shop",
                      .definition = DEF_A,
                      .status = SL_STATUS_RUNNING,
                      .started_us = 500};
    CHECK_INT(sl_state_run_begin(st, &again), 0);
    sl_run_t child = {
        .id = "v2-child", .pipeline = "crm", .status = SL_STATUS_RUNNING, .started_us = 510};
    CHECK_INT(sl_state_run_begin(st, &child), 0);
    sl_state_close(st);

    st = d->open("v2.db");
    CHECK_INT(d->schema_version("v2.db"), SL_STATE_TEST_SCHEMA_VERSION);
    r = show2(st, "v2-run");
    CHECK_STR(r.definition[0], DEF_A);
    CHECK_STR(r.status[0], "running");
    CHECK_INT(r.started[0], 300);
    CHECK_INT(r.redrives[0], 1);
    CHECK_STR(show2(st, "v2-child").definition[0], "(null)");
    sl_state_close(st);
}

/* What key callbacks see, copied. */
typedef struct {
    int n;
    int stop_after; /* 0 = never; < 0: stop with that value */
    char id[8][32], name[8][64], scopes[8][64], hash[8][72];
    int64_t created[8], revoked[8], used[8];
} keys_seen_t;

static int on_key(void *ud, const sl_api_key_t *k)
{
    keys_seen_t *s = ud;
    snprintf(s->id[s->n], 32, "%s", k->id);
    snprintf(s->name[s->n], 64, "%s", k->name);
    snprintf(s->scopes[s->n], 64, "%s", k->scopes);
    snprintf(s->hash[s->n], 72, "%s", k->hash);
    s->created[s->n] = k->created_us;
    s->revoked[s->n] = k->revoked_us;
    s->used[s->n] = k->last_used_us;
    s->n++;
    if (s->stop_after < 0) {
        return s->stop_after;
    }
    return s->stop_after && s->n >= s->stop_after ? 1 : 0;
}

/* The names a listing gives, comma-separated, in its order. */
static const char *key_names(sl_state_t *st)
{
    static char names[256];
    keys_seen_t k = {0};
    CHECK_INT(sl_state_keys_list(st, on_key, &k), 0);
    names[0] = '\0';
    for (int i = 0; i < k.n; i++) {
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", i ? "," : "", k.name[i]);
    }
    return names;
}

/* Hashes of three made-up keys (hex SHA-256 is 64 chars). */
#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HASH_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

void sl_state_suite_api_keys(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    CHECK_STR(key_names(st), "");
    sl_api_key_t a = {.id = "aaaaaaaaaaaa",
                      .name = "ingest",
                      .scopes = "route:* read",
                      .hash = HASH_A,
                      .created_us = 2000};
    sl_api_key_t b = {
        .id = "bbbbbbbbbbbb", .name = "ops", .scopes = "admin", .hash = HASH_B, .created_us = 1000};
    CHECK_INT(sl_state_key_create(st, &a), 0);
    CHECK_INT(sl_state_key_create(st, &b), 0);

    /* Get reads every field back; a new key is active and unused. */
    sl_api_key_t got;
    CHECK_INT(sl_state_key_get(st, "aaaaaaaaaaaa", &got), 0);
    CHECK_STR(got.id, "aaaaaaaaaaaa");
    CHECK_STR(got.name, "ingest");
    CHECK_STR(got.scopes, "route:* read");
    CHECK_STR(got.hash, HASH_A);
    CHECK_INT(got.created_us, 2000);
    CHECK_INT(got.revoked_us, 0);
    CHECK_INT(got.last_used_us, 0);
    sl_api_key_free(&got);
    CHECK(got.id == NULL);
    CHECK_INT(sl_state_key_get(st, "nope", &got), SL_ENOTFOUND);
    CHECK_CONTAINS(sl_state_errmsg(st), "no API key with id 'nope'");
    CHECK(got.id == NULL);

    /* A listing is oldest first, names break ties; a callback can stop it,
     * with a negative value as its error. */
    CHECK_STR(key_names(st), "ops,ingest");
    keys_seen_t one = {.stop_after = 1};
    CHECK_INT(sl_state_keys_list(st, on_key, &one), 0);
    CHECK_INT(one.n, 1);
    keys_seen_t err = {.stop_after = -7};
    CHECK_INT(sl_state_keys_list(st, on_key, &err), -7);
    CHECK_INT(err.n, 1);

    /* A taken name is refused, revoked or not, and so is a taken id;
     * nothing is stored. A key without created_us is created now. */
    sl_api_key_t dup = {.id = "cccccccccccc", .name = "ingest", .scopes = "read", .hash = HASH_C};
    CHECK_INT(sl_state_key_create(st, &dup), SL_EINVAL);
    CHECK_CONTAINS(sl_state_errmsg(st), "an API key named 'ingest' already exists");
    dup.name = "other";
    dup.id = "bbbbbbbbbbbb";
    CHECK_INT(sl_state_key_create(st, &dup), SL_EINVAL);
    CHECK_CONTAINS(sl_state_errmsg(st), "an API key with id 'bbbbbbbbbbbb' already exists");
    CHECK_STR(key_names(st), "ops,ingest");
    /* Every field is required; no message holds a hash. */
    sl_api_key_t bad = {.id = "dddddddddddd", .name = "", .scopes = "read", .hash = HASH_C};
    CHECK_INT(sl_state_key_create(st, &bad), SL_EINVAL);
    CHECK_CONTAINS(sl_state_errmsg(st), "missing API key name");
    bad.name = "x";
    bad.hash = NULL;
    CHECK_INT(sl_state_key_create(st, &bad), SL_EINVAL);
    CHECK_CONTAINS(sl_state_errmsg(st), "missing API key hash");
    bad.hash = HASH_C;
    bad.scopes = NULL;
    CHECK_INT(sl_state_key_create(st, &bad), SL_EINVAL);
    CHECK_CONTAINS(sl_state_errmsg(st), "missing API key scopes");
    CHECK_INT(sl_state_key_create(st, NULL), SL_EINVAL);
    int64_t before = sl_now_us();
    dup.id = "cccccccccccc";
    CHECK_INT(sl_state_key_create(st, &dup), 0);
    CHECK_INT(sl_state_key_get(st, "cccccccccccc", &got), 0);
    CHECK(got.created_us >= before && got.created_us <= sl_now_us());
    sl_api_key_free(&got);

    /* Touch records the latest use and never moves it back. */
    CHECK_INT(sl_state_key_touch(st, "aaaaaaaaaaaa", 5000), 0);
    CHECK_INT(sl_state_key_touch(st, "aaaaaaaaaaaa", 4000), 0);
    CHECK_INT(sl_state_key_get(st, "aaaaaaaaaaaa", &got), 0);
    CHECK_INT(got.last_used_us, 5000);
    sl_api_key_free(&got);
    CHECK_INT(sl_state_key_touch(st, "nope", 5000), SL_ENOTFOUND);
    CHECK_CONTAINS(sl_state_errmsg(st), "no API key with id 'nope'");

    /* Revoke by id, then by name; out gets the key as it is after. */
    sl_api_key_t rev;
    CHECK_INT(sl_state_key_revoke(st, "aaaaaaaaaaaa", 6000, &rev), 0);
    CHECK_STR(rev.name, "ingest");
    CHECK_INT(rev.revoked_us, 6000);
    CHECK_INT(rev.last_used_us, 5000);
    sl_api_key_free(&rev);
    CHECK_INT(sl_state_key_revoke(st, "ops", 7000, NULL), 0);
    CHECK_INT(sl_state_key_get(st, "bbbbbbbbbbbb", &got), 0);
    CHECK_INT(got.revoked_us, 7000);
    sl_api_key_free(&got);
    /* Revoked again: the first time stays. */
    CHECK_INT(sl_state_key_revoke(st, "ingest", 9000, &rev), 0);
    CHECK_STR(rev.id, "aaaaaaaaaaaa");
    CHECK_INT(rev.revoked_us, 6000);
    sl_api_key_free(&rev);
    CHECK_INT(sl_state_key_revoke(st, "nobody", 9000, &rev), SL_ENOTFOUND);
    CHECK_CONTAINS(sl_state_errmsg(st), "no API key with id or name 'nobody'");
    CHECK(rev.id == NULL);
    CHECK_INT(sl_state_key_revoke(st, "", 9000, NULL), SL_EINVAL);

    /* An id wins over a name that spells it. */
    sl_api_key_t look = {.id = "eeeeeeeeeeee",
                         .name = "cccccccccccc",
                         .scopes = "read",
                         .hash = HASH_C,
                         .created_us = 3000};
    CHECK_INT(sl_state_key_create(st, &look), 0);
    CHECK_INT(sl_state_key_revoke(st, "cccccccccccc", 8000, &rev), 0);
    CHECK_STR(rev.id, "cccccccccccc");
    CHECK_STR(rev.name, "other");
    sl_api_key_free(&rev);
    CHECK_INT(sl_state_key_get(st, "eeeeeeeeeeee", &got), 0);
    CHECK_INT(got.revoked_us, 0);
    sl_api_key_free(&got);
    sl_state_close(st);

    /* A new handle reads what the old one wrote; the store holds the
     * columns given, and the hash, nothing else. */
    st = d->open("state.db");
    keys_seen_t all = {0};
    CHECK_INT(sl_state_keys_list(st, on_key, &all), 0);
    CHECK_INT(all.n, 4);
    CHECK_STR(all.name[0], "ops");
    CHECK_INT(all.revoked[0], 7000);
    CHECK_STR(all.name[1], "ingest");
    CHECK_STR(all.scopes[1], "route:* read");
    CHECK_STR(all.hash[1], HASH_A);
    CHECK_INT(all.revoked[1], 6000);
    CHECK_INT(all.used[1], 5000);
    CHECK_STR(all.name[2], "cccccccccccc");
    CHECK_INT(all.revoked[2], 0);
    CHECK_STR(all.name[3], "other");
    CHECK_INT(all.revoked[3], 8000);
    CHECK_STR(d->key_rows("state.db"), "aaaaaaaaaaaa|ingest|route:* read|" HASH_A
                                       ";bbbbbbbbbbbb|ops|admin|" HASH_B
                                       ";cccccccccccc|other|read|" HASH_C
                                       ";eeeeeeeeeeee|cccccccccccc|read|" HASH_C);
    sl_state_close(st);
}

void sl_state_suite_migrate_v3(const sl_state_driver_t *d)
{
    d->make_v3("v3.db");
    CHECK_INT(d->schema_version("v3.db"), 3);
    sl_state_t *st = d->open("v3.db");
    CHECK_INT(d->schema_version("v3.db"), SL_STATE_TEST_SCHEMA_VERSION);

    /* The v3 runs read back as they were. */
    runs2_t r = show2(st, "v2-run");
    CHECK_STR(r.definition[0], "/srv/etl/shop.yaml");
    CHECK_STR(r.status[0], "failed");
    CHECK_STR(r.trigger[0], "schedule");
    CHECK_INT(r.redrives[0], 1);
    CHECK_STR(show2(st, "v2-child").definition[0], "(null)");
    CHECK_STR(query_definitions(st, NULL), "(null),/srv/etl/shop.yaml,(null)");
    seen_t steps = {0};
    CHECK_INT(sl_state_run_show(st, "old-run", NULL, on_step, &steps), 0);
    CHECK_INT(steps.n, 1);
    sl_checkpoint_t cp;
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "step:load", &cp), 0);
    CHECK_STR(cp.value, "{\"n\":1}");
    CHECK_INT(cp.gen, 3);
    sl_checkpoint_free(&cp);

    /* No keys yet; the new table takes them. */
    CHECK_STR(key_names(st), "");
    CHECK_STR(d->key_rows("v3.db"), "");
    sl_api_key_t k = {
        .id = "aaaaaaaaaaaa", .name = "ingest", .scopes = "read", .hash = HASH_A, .created_us = 1};
    CHECK_INT(sl_state_key_create(st, &k), 0);
    CHECK_INT(sl_state_key_touch(st, "aaaaaaaaaaaa", 2), 0);
    sl_state_close(st);

    st = d->open("v3.db");
    CHECK_INT(d->schema_version("v3.db"), SL_STATE_TEST_SCHEMA_VERSION);
    sl_api_key_t got;
    CHECK_INT(sl_state_key_get(st, "aaaaaaaaaaaa", &got), 0);
    CHECK_STR(got.name, "ingest");
    CHECK_INT(got.last_used_us, 2);
    sl_api_key_free(&got);
    CHECK_STR(show2(st, "v2-run").definition[0], "/srv/etl/shop.yaml");
    sl_state_close(st);
}
