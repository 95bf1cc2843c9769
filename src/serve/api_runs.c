/* The run endpoints of the built-in API: listing, one run with its steps
 * and items, a map's items, cancel and resume. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_internal.h"
#include "metrics.h"
#include "worker.h"
#include "sluice/engine.h"
#include "sluice/hash.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/status.h"
#include "sluice/template.h"
#include "sluice/timeutil.h"

void sl_api_put_str(sl_buf_t *b, const char *key, const char *v)
{
    sl_buf_printf(b, "\"%s\":", key);
    if (v) {
        sl_json_write_string(b, v, strlen(v));
    } else {
        sl_buf_append_c(b, "null");
    }
}

void sl_api_put_time(sl_buf_t *b, const char *key, int64_t us)
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
void sl_api_put_raw(sl_buf_t *b, const char *key, const char *json)
{
    sl_buf_printf(b, "\"%s\":%s", key, json && *json ? json : "null");
}

int sl_api_peek_run(void *ud, const sl_run_t *r)
{
    sl_api_peek_t *p = ud;
    p->status = r->status;
    p->found = true;
    snprintf(p->id, sizeof p->id, "%s", r->id);
    snprintf(p->pipeline, sizeof p->pipeline, "%s", r->pipeline);
    return 0;
}


int sl_api_peek_step(void *ud, const sl_step_run_t *s)
{
    (void)ud;
    (void)s;
    return 0;
}

static void run_json(sl_buf_t *b, const sl_run_t *r)
{
    sl_buf_putc(b, '{');
    sl_api_put_str(b, "id", r->id);
    sl_buf_putc(b, ',');
    sl_api_put_str(b, "pipeline", r->pipeline);
    sl_buf_printf(b, ",\"status\":\"%s\",", sl_status_name(r->status));
    sl_api_put_str(b, "trigger", r->trigger ? r->trigger : "cli");
    sl_buf_putc(b, ',');
    sl_api_put_str(b, "parent_run_id", r->parent_run_id);
    sl_buf_putc(b, ',');
    sl_api_put_time(b, "started_at", r->started_us);
    sl_buf_putc(b, ',');
    sl_api_put_time(b, "ended_at", r->ended_us);
    sl_buf_printf(b, ",\"redrive_count\":%lld,", (long long)r->redrive_count);
    sl_api_put_str(b, "error_class", r->error_class);
    sl_buf_putc(b, ',');
    sl_api_put_str(b, "error", r->error);
    sl_buf_putc(b, ',');
    sl_api_put_raw(b, "params", r->params_json);
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

void sl_api_get_runs(const sl_request_t *req, sl_response_t *resp)
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

/* The members a step and a map item share, and the closing brace:
 * started_at, ended_at, error_class, error, output. */
static void put_outcome(sl_buf_t *b, int64_t started_us, int64_t ended_us,
                        const char *error_class, const char *error, const char *output_json)
{
    sl_api_put_time(b, "started_at", started_us);
    sl_buf_putc(b, ',');
    sl_api_put_time(b, "ended_at", ended_us);
    sl_buf_putc(b, ',');
    sl_api_put_str(b, "error_class", error_class);
    sl_buf_putc(b, ',');
    sl_api_put_str(b, "error", error);
    sl_buf_putc(b, ',');
    sl_api_put_raw(b, "output", output_json);
    sl_buf_putc(b, '}');
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
    sl_api_put_str(b, "step", st->step);
    sl_buf_printf(b, ",\"status\":\"%s\",\"attempts\":%d,\"records_in\":%lld,"
                     "\"records_out\":%lld,\"rejected\":%lld,",
                  sl_status_name(st->status), st->attempts, (long long)st->records_in,
                  (long long)st->records_out, (long long)st->rejected);
    put_outcome(b, st->started_us, st->ended_us, st->error_class, st->error, st->output_json);
    return 0;
}

void sl_api_get_run(const sl_request_t *req, const char *id, sl_response_t *resp)
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
    put_outcome(b, it->started_us, it->ended_us, it->error_class, it->error, it->output_json);
    return 0;
}

/* GET /api/v1/runs/{id}/items?step=NAME&status=failed&after=IDX&limit=N */
void sl_api_get_items(const sl_request_t *r, const char *id, sl_response_t *resp)
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
    sl_api_peek_t pk = {.status = SL_STATUS_PENDING};
    if (sl_state_run_show(st, id, sl_api_peek_run, sl_api_peek_step, &pk) != 0 || !pk.found) {
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
void sl_api_resume_run(const sl_request_t *r, const char *id, sl_response_t *resp)
{
    sl_state_t *st = sl_server_state(r->server);
    sl_api_peek_t pk = {.status = SL_STATUS_PENDING};
    if (sl_state_run_show(st, id, sl_api_peek_run, sl_api_peek_step, &pk) != 0 || !pk.found) {
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

/* POST /api/v1/runs/{id}/cancel */
void sl_api_cancel_run(const sl_request_t *r, const char *id, sl_response_t *resp)
{
    sl_state_t *st = sl_server_state(r->server);
    sl_api_peek_t pk = {.status = SL_STATUS_PENDING};
    if (sl_state_run_show(st, id, sl_api_peek_run, sl_api_peek_step, &pk) != 0 || !pk.found) {
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

