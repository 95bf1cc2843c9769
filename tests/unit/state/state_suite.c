/* The state store's behaviour, written once for every driver (see
 * state_suite.h): runs, steps, prefixes, checkpoints, generations, resets,
 * ingested files, reopening, transactions and the run lock. */
#include <signal.h>
#include <stdio.h>
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
} seen_t;

static int on_run(void *ud, const sl_run_t *r)
{
    seen_t *s = ud;
    snprintf(s->ids[s->n], 64, "%s", r->id);
    snprintf(s->status[s->n], 16, "%s", r->status);
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
    snprintf(s->status[s->n], 16, "%s", r->status);
    snprintf(s->error[s->n], 64, "%s", r->error ? r->error : "(null)");
    s->started[s->n] = r->started_us;
    s->ended[s->n] = r->ended_us;
    s->in[s->n] = r->records_in;
    s->out[s->n] = r->records_out;
    s->rej[s->n] = r->rejected;
    s->bytes[s->n] = r->bytes_in;
    s->n++;
    return 0;
}

void sl_state_suite_runs_lifecycle(const sl_state_driver_t *d)
{
    sl_state_t *st = d->open("state.db");
    begin_run(st, "11111111-aaaa", "shop", 1000);
    sl_step_run_t s1 = {.run_id = "11111111-aaaa",
                        .step = "extract",
                        .status = "ok",
                        .records_in = 10,
                        .records_out = 9,
                        .rejected = 1,
                        .bytes_in = 512,
                        .started_us = 1100,
                        .ended_us = 1500};
    sl_step_run_t s2 = {
        .run_id = "11111111-aaaa", .step = "load", .status = "running", .started_us = 1600};
    CHECK_INT(sl_state_step_put(st, &s1), 0);
    CHECK_INT(sl_state_step_put(st, &s2), 0);
    /* The same step again overwrites its row. */
    s2.status = "failed";
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
    sl_step_run_t orphan = {.run_id = "nope", .step = "x", .status = "ok"};
    CHECK_INT(sl_state_step_put(st, &orphan), SL_ESTATE);
    CHECK_CONTAINS(sl_state_errmsg(st), d->fk_error);
    CHECK_CONTAINS(sl_state_errmsg(st), d->where("state.db"));

    /* Beginning a run again (resume) keeps its start and clears its end. */
    sl_run_t again = {.id = "11111111-aaaa", .pipeline = "shop", .started_us = 5000};
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

    /* Rolled back: neither the checkpoint nor the file. */
    CHECK_INT(sl_state_tx_begin(st), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "step:load", "{\"n\":1}", 1), 0);
    put_file(st, "shop", "load", "/in/1.csv");
    sl_state_tx_rollback(st);
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "step:load", &cp), SL_ENOTFOUND);
    CHECK_INT(sl_state_file_get(st, "shop", "load", "/in/1.csv", &f), SL_ENOTFOUND);

    /* Committed: both. */
    CHECK_INT(sl_state_tx_begin(st), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "step:load", "{\"n\":2}", 2), 0);
    put_file(st, "shop", "load", "/in/2.csv");
    CHECK_INT(sl_state_tx_commit(st), 0);
    CHECK_INT(sl_state_checkpoint_get(st, "shop", "step:load", &cp), 0);
    CHECK_STR(cp.value, "{\"n\":2}");
    sl_checkpoint_free(&cp);
    CHECK_INT(sl_state_file_get(st, "shop", "load", "/in/2.csv", &f), 0);
    sl_file_record_free(&f);

    /* A begin inside a transaction is refused; the open one goes on. */
    CHECK_INT(sl_state_tx_begin(st), 0);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "a", "1", 1), 0);
    CHECK_INT(sl_state_tx_begin(st), SL_ESTATE);
    CHECK_CONTAINS(sl_state_errmsg(st), "cannot start a transaction within a transaction");
    CHECK_CONTAINS(sl_state_errmsg(st), d->where("state.db"));
    /* So is a reset, which has its own transaction: nothing is reset. */
    CHECK_INT(sl_state_reset(st, "shop", NULL), SL_ESTATE);
    CHECK_CONTAINS(sl_state_errmsg(st), "cannot start a transaction within a transaction");
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "b", "2", 1), 0);
    CHECK_INT(sl_state_tx_commit(st), 0);
    cps_t c = {0};
    CHECK_INT(sl_state_checkpoint_list(st, "shop", on_cp, &c), 0);
    CHECK_INT(c.n, 3);
    CHECK_STR(c.keys[0], "a");
    CHECK_STR(c.keys[1], "b");
    CHECK_STR(c.keys[2], "step:load");
    int64_t gen = 0;
    CHECK_INT(sl_state_generation(st, "shop", &gen), 0);
    CHECK_INT(gen, 1);

    /* A commit without a transaction is an error, a rollback a no-op. */
    CHECK_INT(sl_state_tx_commit(st), SL_ESTATE);
    CHECK_CONTAINS(sl_state_errmsg(st), "no transaction is active");
    sl_state_tx_rollback(st);
    CHECK_INT(sl_state_checkpoint_put(st, "shop", "c", "3", 1), 0);
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
