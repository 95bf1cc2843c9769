/* The built-in JSON API of `sluice serve`:
 *
 *   GET /healthz                the process answers
 *   GET /readyz                 the state store answers too (503 if not)
 *   GET /api/v1/pipelines       the pipelines this server loaded
 *   GET /api/v1/runs            runs, newest first (?pipeline=, ?status=, ?limit=)
 *   GET /api/v1/runs/{id}       one run: its steps, outputs and errors
 *   POST /api/v1/pipelines/{name}/runs   queue a run: {"params": {...}}
 *   POST /api/v1/runs/{id}/cancel        stop a run (or take it off the queue)
 *
 * Times are ISO 8601 UTC; outputs and params are the JSON the run history
 * holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "server.h"
#include "sluice/hash.h"
#include "sluice/log.h"
#include "metrics.h"
#include "worker.h"
#include "sluice/engine.h"
#include "sluice/json.h"
#include "sluice/template.h"
#include "sluice/status.h"
#include "sluice/timeutil.h"

static void put_str(sl_buf_t *b, const char *key, const char *v)
{
    sl_buf_printf(b, "\"%s\":", key);
    if (v) {
        sl_json_write_string(b, v, strlen(v));
    } else {
        sl_buf_append_c(b, "null");
    }
}

static void put_time(sl_buf_t *b, const char *key, int64_t us)
{
    char ts[40];
    if (us > 0) {
        sl_timestamp_format(us, ts);
        sl_buf_printf(b, "\"%s\":\"%s\"", key, ts);
    } else {
        sl_buf_printf(b, "\"%s\":null", key);
    }
}

/* A JSON text from the history, or null when it is missing. */
static void put_raw(sl_buf_t *b, const char *key, const char *json)
{
    sl_buf_printf(b, "\"%s\":%s", key, json && *json ? json : "null");
}

typedef struct {
    sl_status_t status;
    bool found;
    char id[37];
    char pipeline[128];
} peek_t;

static int peek_run(void *ud, const sl_run_t *r)
{
    peek_t *p = ud;
    p->status = r->status;
    p->found = true;
    snprintf(p->id, sizeof p->id, "%s", r->id);
    snprintf(p->pipeline, sizeof p->pipeline, "%s", r->pipeline);
    return 0;
}

static int peek_step(void *ud, const sl_step_run_t *s);

static void run_json(sl_buf_t *b, const sl_run_t *r)
{
    sl_buf_putc(b, '{');
    put_str(b, "id", r->id);
    sl_buf_putc(b, ',');
    put_str(b, "pipeline", r->pipeline);
    sl_buf_printf(b, ",\"status\":\"%s\",", sl_status_name(r->status));
    put_str(b, "trigger", r->trigger ? r->trigger : "cli");
    sl_buf_putc(b, ',');
    put_str(b, "parent_run_id", r->parent_run_id);
    sl_buf_putc(b, ',');
    put_time(b, "started_at", r->started_us);
    sl_buf_putc(b, ',');
    put_time(b, "ended_at", r->ended_us);
    sl_buf_printf(b, ",\"redrive_count\":%lld,", (long long)r->redrive_count);
    put_str(b, "error_class", r->error_class);
    sl_buf_putc(b, ',');
    put_str(b, "error", r->error);
    sl_buf_putc(b, ',');
    put_raw(b, "params", r->params_json);
}

typedef struct {
    sl_buf_t *b;
    int n;
    int64_t last_started;
    char last_id[37];
} list_t;

static int list_run(void *ud, const sl_run_t *r)
{
    list_t *l = ud;
    if (l->n++) {
        sl_buf_putc(l->b, ',');
    }
    run_json(l->b, r);
    sl_buf_putc(l->b, '}');
    l->last_started = r->started_us;
    snprintf(l->last_id, sizeof l->last_id, "%s", r->id);
    return 0;
}

/* A time query parameter (ISO 8601) into *us; false (and a 400) if bad. */
static bool time_param(const sl_request_t *req, const char *name, int64_t *us,
                       sl_response_t *resp)
{
    const char *v = sl_request_query(req, name);
    *us = 0;
    if (v && sl_timestamp_parse(v, strlen(v), us) != 0) {
        sl_response_error(resp, 400, "bad_param", "%s: expected an ISO 8601 time, got '%.40s'",
                          name, v);
        return false;
    }
    return true;
}

static void get_runs(const sl_request_t *req, sl_response_t *resp)
{
    sl_runs_filter_t f = {.pipeline = sl_request_query(req, "pipeline"), .limit = 50};
    const char *limit = sl_request_query(req, "limit");
    const char *status = sl_request_query(req, "status");
    if (limit) {
        char *end = NULL;
        long n = strtol(limit, &end, 10);
        if (!*limit || *end || n < 1 || n > 1000) {
            sl_response_error(resp, 400, "bad_param", "limit: expected 1 to 1000, got '%.40s'",
                              limit);
            return;
        }
        f.limit = (int)n;
    }
    if (status) {
        sl_status_t st;
        if (sl_status_parse(status, &st) != 0) {
            sl_response_error(resp, 400, "bad_param", "status: unknown status '%.40s'", status);
            return;
        }
        f.statuses = SL_STATUS_BIT(st);
    }
    if (!time_param(req, "since", &f.since_us, resp) ||
        !time_param(req, "until", &f.until_us, resp)) {
        return;
    }
    /* cursor: "STARTED_US_ID" of the last run of the page before */
    const char *cursor = sl_request_query(req, "cursor");
    char cid[37] = "";
    if (cursor) {
        char *end = NULL;
        long long t = strtoll(cursor, &end, 10);
        if (!end || *end != '_' || strlen(end + 1) != 36) {
            sl_response_error(resp, 400, "bad_param", "cursor: not a cursor this API gave");
            return;
        }
        f.after_started_us = t;
        snprintf(cid, sizeof cid, "%s", end + 1);
        f.after_id = cid;
    }
    sl_buf_append_c(&resp->body, "{\"runs\":[");
    list_t l = {.b = &resp->body};
    sl_state_t *st = sl_server_state(req->server);
    if (sl_state_runs_query(st, &f, list_run, &l) != 0) {
        sl_response_error(resp, 503, "state_unavailable", "state store: %s",
                          sl_state_errmsg(st));
        return;
    }
    sl_buf_append_c(&resp->body, "]");
    if (l.n == f.limit) {
        sl_buf_printf(&resp->body, ",\"next_cursor\":\"%lld_%s\"", (long long)l.last_started,
                      l.last_id);
    }
    sl_buf_putc(&resp->body, '}');
}

typedef struct {
    sl_buf_t *b;
    sl_state_t *st;
    char id[37];
    int nsteps;
    bool found;
    char *names[64]; /* the steps, for their items */
    size_t nnames;
} show_t;

static int show_run(void *ud, const sl_run_t *r)
{
    show_t *s = ud;
    s->found = true;
    snprintf(s->id, sizeof s->id, "%s", r->id);
    run_json(s->b, r);
    sl_buf_append_c(s->b, ",\"steps\":[");
    return 0;
}

static int show_step(void *ud, const sl_step_run_t *st)
{
    show_t *s = ud;
    sl_buf_t *b = s->b;
    if (s->nsteps++) {
        sl_buf_putc(b, ',');
    }
    if (s->nnames < SL_ARRAY_LEN(s->names)) {
        s->names[s->nnames++] = strdup(st->step);
    }
    sl_buf_putc(b, '{');
    put_str(b, "step", st->step);
    sl_buf_printf(b, ",\"status\":\"%s\",\"attempts\":%d,\"records_in\":%lld,"
                     "\"records_out\":%lld,\"rejected\":%lld,",
                  sl_status_name(st->status), st->attempts, (long long)st->records_in,
                  (long long)st->records_out, (long long)st->rejected);
    put_time(b, "started_at", st->started_us);
    sl_buf_putc(b, ',');
    put_time(b, "ended_at", st->ended_us);
    sl_buf_putc(b, ',');
    put_str(b, "error_class", st->error_class);
    sl_buf_putc(b, ',');
    put_str(b, "error", st->error);
    sl_buf_putc(b, ',');
    put_raw(b, "output", st->output_json);
    sl_buf_putc(b, '}');
    return 0;
}

static void get_run(const sl_request_t *req, const char *id, sl_response_t *resp)
{
    sl_state_t *st = sl_server_state(req->server);
    show_t s = {.b = &resp->body, .st = st};
    int rc = sl_state_run_show(st, id, show_run, show_step, &s);
    if (rc == SL_ENOTFOUND || (rc == 0 && !s.found)) {
        sl_response_error(resp, 404, "not_found", "no run %.40s", id);
        return;
    }
    if (rc) {
        for (size_t i = 0; i < s.nnames; i++) {
            free(s.names[i]);
        }
        sl_response_error(resp, rc == SL_EINVAL ? 400 : 503,
                          rc == SL_EINVAL ? "bad_param" : "state_unavailable", "%s",
                          sl_state_errmsg(st));
        return;
    }
    /* the maps' progress: their items by status */
    sl_buf_append_c(&resp->body, "],\"items\":{");
    bool first = true;
    for (size_t i = 0; i < s.nnames; i++) {
        int64_t counts[SL_STATUS_COUNT];
        int64_t total = 0;
        if (s.names[i] && sl_state_items_counts(st, s.id, s.names[i], counts) == 0) {
            for (int k = 0; k < SL_STATUS_COUNT; k++) {
                total += counts[k];
            }
        }
        if (total > 0) {
            sl_buf_append_c(&resp->body, first ? "" : ",");
            sl_json_write_string(&resp->body, s.names[i], strlen(s.names[i]));
            sl_buf_printf(&resp->body, ":{\"total\":%lld", (long long)total);
            for (int k = 0; k < SL_STATUS_COUNT; k++) {
                if (counts[k]) {
                    sl_buf_printf(&resp->body, ",\"%s\":%lld", sl_status_name((sl_status_t)k),
                                  (long long)counts[k]);
                }
            }
            sl_buf_putc(&resp->body, '}');
            first = false;
        }
        free(s.names[i]);
    }
    sl_buf_append_c(&resp->body, "}}");
}

typedef struct {
    sl_buf_t *b;
    int n;
} items_out_t;

static int item_json(void *ud, const sl_item_t *it)
{
    items_out_t *o = ud;
    sl_buf_t *b = o->b;
    sl_buf_append_c(b, o->n++ ? "," : "");
    sl_buf_printf(b, "{\"idx\":%lld,\"item\":%s,\"status\":\"%s\",\"attempts\":%d,",
                  (long long)it->idx, it->value_json, sl_status_name(it->status), it->attempts);
    put_time(b, "started_at", it->started_us);
    sl_buf_putc(b, ',');
    put_time(b, "ended_at", it->ended_us);
    sl_buf_putc(b, ',');
    put_str(b, "error_class", it->error_class);
    sl_buf_putc(b, ',');
    put_str(b, "error", it->error);
    sl_buf_putc(b, ',');
    put_raw(b, "output", it->output_json);
    sl_buf_putc(b, '}');
    return 0;
}

/* GET /api/v1/runs/{id}/items?step=NAME&status=failed&after=IDX&limit=N */
static void get_items(const sl_request_t *r, const char *id, sl_response_t *resp)
{
    sl_state_t *st = sl_server_state(r->server);
    const char *step = sl_request_query(r, "step");
    const char *status = sl_request_query(r, "status");
    const char *after = sl_request_query(r, "after");
    const char *limit = sl_request_query(r, "limit");
    sl_items_filter_t f = {.limit = 100};
    sl_status_t sst;
    if (!step || !*step) {
        sl_response_error(resp, 400, "bad_param", "step: the map step whose items to list");
        return;
    }
    if (status && sl_status_parse(status, &sst) != 0) {
        sl_response_error(resp, 400, "bad_param", "status: unknown status '%.40s'", status);
        return;
    }
    if (status) {
        f.statuses = SL_STATUS_BIT(sst);
    }
    if (limit) {
        f.limit = strtol(limit, NULL, 10);
        if (f.limit < 1 || f.limit > 1000) {
            sl_response_error(resp, 400, "bad_param", "limit: expected 1 to 1000");
            return;
        }
    }
    f.from_idx = after ? strtoll(after, NULL, 10) + 1 : 0;
    peek_t pk = {.status = SL_STATUS_PENDING};
    if (sl_state_run_show(st, id, peek_run, peek_step, &pk) != 0 || !pk.found) {
        sl_response_error(resp, 404, "not_found", "no run %.40s", id);
        return;
    }
    sl_buf_append_c(&resp->body, "{\"items\":[");
    items_out_t o = {.b = &resp->body};
    if (sl_state_items_list(st, pk.id, step, &f, item_json, &o) != 0) {
        sl_response_error(resp, 503, "state_unavailable", "%s", sl_state_errmsg(st));
        return;
    }
    sl_buf_append_c(&resp->body, "]}");
}

/* POST /api/v1/runs/{id}/resume */
static void resume_run(const sl_request_t *r, const char *id, sl_response_t *resp)
{
    sl_state_t *st = sl_server_state(r->server);
    peek_t pk = {.status = SL_STATUS_PENDING};
    if (sl_state_run_show(st, id, peek_run, peek_step, &pk) != 0 || !pk.found) {
        sl_response_error(resp, 404, "not_found", "no run %.40s", id);
        return;
    }
    if (!sl_status_final(pk.status) || pk.status == SL_STATUS_OK) {
        sl_response_error(resp, 409, pk.status == SL_STATUS_OK ? "succeeded" : "not_ended",
                          "run %s %s", pk.id,
                          pk.status == SL_STATUS_OK ? "succeeded: there is nothing to resume"
                                                    : "has not ended");
        return;
    }
    if (sl_worker_resume(sl_server_worker(r->server), pk.id, pk.pipeline) != 0) {
        sl_response_error(resp, 409, "busy", "run %s, or another run of its pipeline, is "
                          "running", pk.id);
        return;
    }
    resp->status = 202;
    sl_buf_printf(&resp->body, "{\"run_id\":\"%s\",\"status\":\"resuming\","
                               "\"status_url\":\"/api/v1/runs/%s\"}", pk.id, pk.id);
}

static void get_pipelines(const sl_request_t *req, sl_response_t *resp)
{
    size_t n;
    const sl_pipeline_t *const *ps = sl_server_pipelines(req->server, &n);
    sl_buf_t *b = &resp->body;
    sl_buf_append_c(b, "{\"pipelines\":[");
    for (size_t i = 0; i < n; i++) {
        const sl_node_t *d = sl_node_get(ps[i]->root, "description");
        sl_buf_append_c(b, i ? ",{" : "{");
        put_str(b, "name", ps[i]->name);
        sl_buf_putc(b, ',');
        put_str(b, "description", d && !d->secret ? d->text : NULL);
        sl_buf_printf(b, ",\"steps\":%zu}", ps[i]->nsteps);
    }
    sl_buf_append_c(b, "]}");
}

static int count_run(void *ud, const sl_run_t *r)
{
    (void)r;
    (*(int64_t *)ud)++;
    return 0;
}

static void metrics(const sl_request_t *req, sl_response_t *resp)
{
    int64_t queued = 0;
    sl_runs_filter_t f = {.statuses = SL_STATUS_BIT(SL_STATUS_PENDING)};
    sl_state_runs_query(sl_server_state(req->server), &f, count_run, &queued);
    sl_metrics_write(&resp->body, queued, sl_worker_running(sl_server_worker(req->server)));
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static void readyz(const sl_request_t *req, sl_response_t *resp)
{
    sl_state_t *st = sl_server_state(req->server);
    int64_t gen;
    if (sl_state_generation(st, "sluice-readyz", &gen) != 0) {
        sl_response_error(resp, 503, "state_unavailable", "state store: %s",
                          sl_state_errmsg(st));
        return;
    }
    sl_buf_append_c(&resp->body, "{\"status\":\"ready\"}");
}



static int peek_step(void *ud, const sl_step_run_t *s)
{
    (void)ud;
    (void)s;
    return 0;
}

/* Idempotency-Key: a request sent again with the same key (and
 * pipeline) gets the run the first one started, for a day. The keys live
 * in the state store beside the pipeline's checkpoints; the lock makes the
 * look-up and the queueing one step within the server. */
#define IDEMPOTENCY_US (24 * 3600 * 1000000LL)
static pthread_mutex_t idem_lock = PTHREAD_MUTEX_INITIALIZER;

static bool idem_key(const sl_request_t *r, char *key, size_t cap, sl_response_t *resp)
{
    const char *k = sl_request_header(r, "Idempotency-Key");
    key[0] = '\0';
    if (!k) {
        return true;
    }
    size_t n = strlen(k);
    bool ok = n > 0 && n <= 255;
    for (size_t i = 0; ok && i < n; i++) {
        ok = k[i] > ' ' && k[i] < 127;
    }
    if (!ok) {
        sl_response_error(resp, 400, "bad_header", "Idempotency-Key: 1 to 255 printable "
                          "characters without spaces");
        return false;
    }
    char hex[33];
    sl_md5_hex(k, n, hex);
    snprintf(key, cap, "idempotency:%s", hex);
    return true;
}

/* A route's response: its body template over the ended run. */
typedef struct {
    sl_arena_t *a;
    sl_value_t run, params, steps;
    int rc;
} answer_t;

static int answer_run(void *ud, const sl_run_t *r)
{
    answer_t *x = ud;
    const char *st = sl_status_name(r->status);
    char *text = sl_arena_strdup(x->a, r->params_json ? r->params_json : "{}");
    sl_json_error_t je;
    /* the listing's strings live only during the call */
    char *rid = sl_arena_strdup(x->a, r->id), *pl = sl_arena_strdup(x->a, r->pipeline);
    x->rc = rid && pl ? sl_run_value(x->a, rid, r->started_us, pl, &x->run) : SL_ENOMEM;
    if (!x->rc) {
        x->rc = sl_object_set(x->a, &x->run, "status", 6, sl_value_str(st, strlen(st)));
    }
    if (!x->rc && (!text || sl_json_parse(x->a, text, strlen(text), NULL, &x->params, &je))) {
        x->params = (sl_value_t){0};
    }
    if (!x->rc) {
        x->rc = sl_object_new(x->a, &x->steps, 8);
    }
    return x->rc;
}

static int answer_step(void *ud, const sl_step_run_t *s)
{
    answer_t *x = ud;
    sl_value_t out = {0};
    sl_json_error_t je;
    char *text = s->output_json ? sl_arena_strdup(x->a, s->output_json) : NULL;
    if (text && sl_json_parse(x->a, text, strlen(text), NULL, &out, &je) != 0) {
        out = (sl_value_t){0};
    }
    char *name = sl_arena_strdup(x->a, s->step);
    x->rc = name ? sl_steps_record(x->a, &x->steps, name, s->status, &out) : SL_ENOMEM;
    return x->rc;
}

static void route_answer(const sl_request_t *r, const sl_route_t *rt, const char *id,
                         sl_response_t *resp)
{
    answer_t x = {.a = sl_arena_create(16 * 1024, 0)};
    sl_buf_t body = SL_BUF_INIT;
    sl_err_t err = {0};
    int rc = x.a ? sl_state_run_show(sl_server_state(r->server), id, answer_run, answer_step, &x)
                 : SL_ENOMEM;
    if (rc == 0 && x.rc == 0) {
        sl_tmpl_ctx_t tc = {.params = &x.params, .run = &x.run, .steps = &x.steps};
        rc = sl_template_render(rt->response_body, &tc, &body, &err);
    }
    if (rc || x.rc) {
        sl_response_error(resp, 500, "response_template", "the route's response: %s",
                          err.msg[0] ? err.msg : "cannot read the run");
    } else {
        resp->status = rt->response_status;
        sl_buf_clear(&resp->body);
        sl_buf_append(&resp->body, body.data ? body.data : "", body.len);
        sl_value_t v;
        sl_json_error_t je;
        sl_arena_reset(x.a);
        char *copy = body.data ? sl_arena_strndup(x.a, body.data, body.len) : NULL;
        if (!copy || sl_json_parse(x.a, copy, body.len, NULL, &v, &je) != 0) {
            resp->content_type = "text/plain; charset=utf-8";
        }
    }
    sl_buf_free(&body);
    sl_arena_destroy(x.a);
}

void sl_api_start_run(const sl_request_t *r, const sl_pipeline_t *p, const sl_route_t *rt,
                      const char *const *args, size_t nargs, int64_t wait_us,
                      sl_response_t *resp)
{
    sl_state_t *st = sl_server_state(r->server);
    char id[37];
    char ikey[64];
    sl_err_t err = {0};
    if (!idem_key(r, ikey, sizeof ikey, resp)) {
        return;
    }
    int rc = 0;
    bool again = false;
    pthread_mutex_lock(&idem_lock);
    sl_checkpoint_t cp;
    if (ikey[0] && sl_state_checkpoint_get(st, p->name, ikey, &cp) == 0) {
        again = sl_now_us() - cp.updated_us < IDEMPOTENCY_US && strlen(cp.value) == 36;
        if (again) {
            memcpy(id, cp.value, 37);
        }
        sl_checkpoint_free(&cp);
    }
    if (!again) {
        rc = sl_run_enqueue(st, p, args, nargs, "api", NULL, id, &err);
        if (rc == 0 && ikey[0] && sl_state_checkpoint_put(st, p->name, ikey, id, 0) != 0) {
            sl_warn("Idempotency-Key of run %s not kept: %s", id, sl_state_errmsg(st));
        }
    }
    pthread_mutex_unlock(&idem_lock);
    if (rc) {
        sl_response_error(resp, rc == SL_ECONFIG ? 400 : 503,
                          rc == SL_ECONFIG ? "bad_param" : "state_unavailable", "%s", err.msg);
        return;
    }
    if (!again) {
        sl_worker_wake(sl_server_worker(r->server));
    }
    peek_t pk = {.status = SL_STATUS_PENDING};
    if (again && sl_state_run_show(st, id, peek_run, peek_step, &pk) == 0 && pk.found &&
        wait_us == 0) {
        /* the same answer as the first time, with the run's status now */
        resp->status = 202;
        sl_buf_printf(&resp->body, "{\"run_id\":\"%s\",\"status\":\"%s\","
                                   "\"status_url\":\"/api/v1/runs/%s\",\"replayed\":true}",
                      id, sl_status_final(pk.status) || pk.status == SL_STATUS_RUNNING
                              ? sl_status_name(pk.status)
                              : "queued",
                      id);
        return;
    }
    for (int64_t until = sl_mono_us() + wait_us; wait_us > 0 && sl_mono_us() < until;) {
        pk.found = false;
        if (sl_state_run_show(st, id, peek_run, peek_step, &pk) == 0 && pk.found &&
            sl_status_final(pk.status)) {
            if (rt && rt->response_body) {
                route_answer(r, rt, id, resp);
            } else {
                get_run(r, id, resp); /* the run, as GET /api/v1/runs/{id} gives it */
            }
            return;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    resp->status = 202;
    sl_buf_printf(&resp->body, "{\"run_id\":\"%s\",\"status\":\"%s\","
                               "\"status_url\":\"/api/v1/runs/%s\"}",
                  id, wait_us > 0 ? sl_status_name(pk.status) : "queued", id);
}

/* POST /api/v1/pipelines/{name}/runs {"params": {...}} */
static void post_run(const sl_request_t *r, const char *name, sl_response_t *resp)
{
    size_t n;
    const sl_pipeline_t *const *ps = sl_server_pipelines(r->server, &n);
    const sl_pipeline_t *p = NULL;
    for (size_t i = 0; i < n && !p; i++) {
        p = strcmp(ps[i]->name, name) == 0 ? ps[i] : NULL;
    }
    if (!p) {
        sl_response_error(resp, 404, "not_found", "no pipeline %.100s on this server", name);
        return;
    }
    sl_arena_t *a = sl_arena_create(4096, 0);
    sl_value_t body = {0};
    sl_json_error_t je;
    sl_json_opts_t jo = {.max_depth = 64};
    char *text = a ? sl_arena_strndup(a, r->body, r->body_len) : NULL;
    const sl_value_t *params = NULL;
    if (!text) {
        sl_response_error(resp, 500, "internal", "out of memory");
    } else if (r->body_len && (sl_json_parse(a, text, r->body_len, &jo, &body, &je) != 0 ||
                               body.type != SL_T_OBJECT)) {
        sl_response_error(resp, 400, "bad_body", "the body must be a JSON object "
                          "{\"params\": {...}}");
    } else if (r->body_len && (params = sl_object_get_c(&body, "params")) != NULL &&
               params->type != SL_T_OBJECT) {
        sl_response_error(resp, 400, "bad_body", "params must be a JSON object");
    } else {
        const char **args = sl_arena_calloc(a, ((params ? params->len : 0) + 1) * sizeof *args);
        size_t na = 0;
        for (uint32_t i = 0; args && params && i < params->len; i++) {
            const sl_member_t *m = &params->u.members[i];
            sl_buf_t b = SL_BUF_INIT;
            sl_buf_printf(&b, "%.*s=", (int)m->klen, m->key);
            if (m->val.type == SL_T_STRING) {
                sl_buf_append(&b, m->val.u.s, m->val.len);
            } else {
                sl_json_write(&b, &m->val, 0);
            }
            args[na++] = b.data ? sl_arena_strndup(a, b.data, b.len) : "";
            sl_buf_free(&b);
        }
        sl_api_start_run(r, p, NULL, args, na, 0, resp);
    }
    sl_arena_destroy(a);
}

/* POST /api/v1/runs/{id}/cancel */
static void cancel_run(const sl_request_t *r, const char *id, sl_response_t *resp)
{
    sl_state_t *st = sl_server_state(r->server);
    peek_t pk = {.status = SL_STATUS_PENDING};
    if (sl_state_run_show(st, id, peek_run, peek_step, &pk) != 0 || !pk.found) {
        sl_response_error(resp, 404, "not_found", "no run %.40s", id);
        return;
    }
    const char *full = pk.id; /* id may be a prefix */
    if (sl_status_final(pk.status)) {
        sl_response_error(resp, 409, "already_ended", "run %.40s already ended (%s)", id,
                          sl_status_name(pk.status));
        return;
    }
    if (sl_worker_cancel(sl_server_worker(r->server), full) == 0) {
        resp->status = 202;
        sl_buf_printf(&resp->body, "{\"run_id\":\"%s\",\"status\":\"cancelling\"}", full);
        return;
    }
    sl_outcome_t o = {.status = SL_STATUS_CANCELLED, .ended_us = sl_now_us(),
                      .error = "cancelled before it started"};
    if (sl_state_run_finish(st, full, &o) != 0) {
        sl_response_error(resp, 503, "state_unavailable", "%s", sl_state_errmsg(st));
        return;
    }
    sl_buf_printf(&resp->body, "{\"run_id\":\"%s\",\"status\":\"cancelled\"}", full);
}

/* "/api/v1/runs/ID" and "/api/v1/runs/ID/ACTION": the id (in buf) and the
 * action (or NULL); false for other paths. */
static bool run_path(const char *p, char *id, size_t cap, const char **action)
{
    const char *runs = "/api/v1/runs/";
    size_t n = strlen(runs);
    if (strncmp(p, runs, n) != 0 || !p[n]) {
        return false;
    }
    const char *slash = strchr(p + n, '/');
    size_t len = slash ? (size_t)(slash - (p + n)) : strlen(p + n);
    if (len == 0 || len >= cap || (slash && (!slash[1] || strchr(slash + 1, '/')))) {
        return false;
    }
    memcpy(id, p + n, len);
    id[len] = '\0';
    *action = slash ? slash + 1 : NULL;
    return true;
}

bool sl_api_handle(const sl_request_t *r, sl_response_t *resp)
{
    const char *p = r->path;
    bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    bool post = strcmp(r->method, "POST") == 0;
    char id[64];
    const char *action = NULL;
    const char *pl = "/api/v1/pipelines/";
    size_t pln = strlen(pl);
    if (strcmp(p, "/healthz") == 0 || strcmp(p, "/readyz") == 0 || strcmp(p, "/metrics") == 0 ||
        strcmp(p, "/api/v1/pipelines") == 0 || strcmp(p, "/api/v1/runs") == 0) {
        resp->route = p;
        bool open = strcmp(p, "/healthz") == 0 || strcmp(p, "/readyz") == 0;
        if (!get) {
            sl_response_error(resp, 405, "method_not_allowed", "%s %s: only GET", r->method, p);
        } else if (!open && !sl_auth_check(r, "read", NULL, resp)) {
            /* 401 or 403 set */
        } else if (strcmp(p, "/healthz") == 0) {
            sl_buf_append_c(&resp->body, "{\"status\":\"ok\"}");
        } else if (strcmp(p, "/readyz") == 0) {
            readyz(r, resp);
        } else if (strcmp(p, "/metrics") == 0) {
            metrics(r, resp);
        } else if (strcmp(p, "/api/v1/pipelines") == 0) {
            get_pipelines(r, resp);
        } else {
            get_runs(r, resp);
        }
        return true;
    }
    if (run_path(p, id, sizeof id, &action)) {
        bool cancel = action && strcmp(action, "cancel") == 0;
        bool resume = action && strcmp(action, "resume") == 0;
        bool items = action && strcmp(action, "items") == 0;
        resp->route = cancel   ? "/api/v1/runs/{id}/cancel"
                      : resume ? "/api/v1/runs/{id}/resume"
                      : items  ? "/api/v1/runs/{id}/items"
                               : "/api/v1/runs/{id}";
        if (!action && get) {
            if (sl_auth_check(r, "read", NULL, resp)) {
                get_run(r, id, resp);
            }
        } else if (items && get) {
            if (sl_auth_check(r, "read", NULL, resp)) {
                get_items(r, id, resp);
            }
        } else if (cancel && post) {
            if (sl_auth_check(r, "write", NULL, resp)) {
                cancel_run(r, id, resp);
            }
        } else if (resume && post) {
            if (sl_auth_check(r, "write", NULL, resp)) {
                resume_run(r, id, resp);
            }
        } else if (!action || cancel || resume || items) {
            sl_response_error(resp, 405, "method_not_allowed", "%s %s", r->method, p);
        } else {
            return false;
        }
        return true;
    }
    if (strncmp(p, pl, pln) == 0) {
        const char *name = p + pln, *slash = strchr(name, '/');
        if (!slash || strcmp(slash, "/runs") != 0 || slash == name) {
            return false;
        }
        resp->route = "/api/v1/pipelines/{name}/runs";
        char nm[128];
        snprintf(nm, sizeof nm, "%.*s", (int)SL_MIN((size_t)(slash - name), sizeof nm - 1),
                 name);
        if (!post) {
            sl_response_error(resp, 405, "method_not_allowed", "%s %s: only POST", r->method,
                              p);
        } else if (sl_auth_check(r, "write", NULL, resp)) {
            post_run(r, nm, resp);
        }
        return true;
    }
    return false;
}
