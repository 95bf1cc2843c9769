/* The built-in JSON API of `sluice serve`:
 *
 *   GET /healthz                the process answers
 *   GET /readyz                 the state store answers too (503 if not)
 *   GET /api/v1/pipelines       the pipelines this server loaded
 *   GET /api/v1/runs            runs, newest first (?pipeline=, ?status=, ?limit=)
 *   GET /api/v1/runs/{id}       one run: its steps, outputs, errors and its
 *                               maps' items by status
 *
 * Times are ISO 8601 UTC; outputs and params are the JSON the run history
 * holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "sluice/json.h"
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
} list_t;

static int list_run(void *ud, const sl_run_t *r)
{
    list_t *l = ud;
    if (l->n++) {
        sl_buf_putc(l->b, ',');
    }
    run_json(l->b, r);
    sl_buf_putc(l->b, '}');
    return 0;
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
    sl_buf_append_c(&resp->body, "{\"runs\":[");
    list_t l = {.b = &resp->body};
    sl_state_t *st = sl_server_state(req->server);
    if (sl_state_runs_query(st, &f, list_run, &l) != 0) {
        sl_response_error(resp, 503, "state_unavailable", "state store: %s",
                          sl_state_errmsg(st));
        return;
    }
    sl_buf_append_c(&resp->body, "]}");
}

typedef struct {
    sl_buf_t *b;
    sl_state_t *st;
    char id[37];
    int nsteps;
    bool found;
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
        sl_response_error(resp, rc == SL_EINVAL ? 400 : 503,
                          rc == SL_EINVAL ? "bad_param" : "state_unavailable", "%s",
                          sl_state_errmsg(st));
        return;
    }
    sl_buf_append_c(&resp->body, "]}");
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

bool sl_api_handle(const sl_request_t *r, sl_response_t *resp)
{
    const char *p = r->path;
    bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    const char *runs = "/api/v1/runs/";
    bool known = strcmp(p, "/healthz") == 0 || strcmp(p, "/readyz") == 0 ||
                 strcmp(p, "/api/v1/pipelines") == 0 || strcmp(p, "/api/v1/runs") == 0 ||
                 (strncmp(p, runs, strlen(runs)) == 0 && p[strlen(runs)] &&
                  !strchr(p + strlen(runs), '/'));
    if (!known) {
        return false;
    }
    if (!get) {
        sl_response_error(resp, 405, "method_not_allowed", "%s %s: only GET", r->method, p);
    } else if (strcmp(p, "/healthz") == 0) {
        sl_buf_append_c(&resp->body, "{\"status\":\"ok\"}");
    } else if (strcmp(p, "/readyz") == 0) {
        readyz(r, resp);
    } else if (strcmp(p, "/api/v1/pipelines") == 0) {
        get_pipelines(r, resp);
    } else if (strcmp(p, "/api/v1/runs") == 0) {
        get_runs(r, resp);
    } else {
        get_run(r, p + strlen(runs), resp);
    }
    return true;
}
