/* The built-in JSON API of `sluice serve`:
 *
 *   GET /healthz                the process answers
 *   GET /readyz                 the state store answers too (503 if not)
 *   GET /api/v1/pipelines       the pipelines this server loaded
 *   GET /api/v1/runs            runs, newest first (?pipeline=, ?status=, ?limit=)
 *   GET /api/v1/runs/{id}       one run: its steps, outputs, errors, items
 *   GET /api/v1/runs/{id}/items a map's items (api_runs.c)
 *   POST /api/v1/pipelines/{name}/runs   queue a run (api_start.c)
 *   POST /api/v1/runs/{id}/cancel, /resume
 *   GET /metrics                Prometheus text (metrics.c)
 *
 * This file dispatches and answers the small ones.
 * Times are ISO 8601 UTC; outputs and params are the JSON the run history
 * holds. */
#include <stdio.h>
#include <string.h>

#include "api_internal.h"
#include "metrics.h"
#include "worker.h"
#include "sluice/status.h"

static void get_pipelines(const sl_request_t *req, sl_response_t *resp)
{
    size_t n;
    const sl_pipeline_t *const *ps = sl_server_pipelines(req->server, &n);
    sl_buf_t *b = &resp->body;
    sl_buf_append_c(b, "{\"pipelines\":[");
    for (size_t i = 0; i < n; i++) {
        const sl_node_t *d = sl_node_get(ps[i]->root, "description");
        sl_buf_append_c(b, i ? ",{" : "{");
        sl_api_put_str(b, "name", ps[i]->name);
        sl_buf_putc(b, ',');
        sl_api_put_str(b, "description", d && !d->secret ? d->text : NULL);
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
            sl_api_get_runs(r, resp);
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
                sl_api_get_run(r, id, resp);
            }
        } else if (items && get) {
            if (sl_auth_check(r, "read", NULL, resp)) {
                sl_api_get_items(r, id, resp);
            }
        } else if (cancel && post) {
            if (sl_auth_check(r, "write", NULL, resp)) {
                sl_api_cancel_run(r, id, resp);
            }
        } else if (resume && post) {
            if (sl_auth_check(r, "write", NULL, resp)) {
                sl_api_resume_run(r, id, resp);
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
            sl_api_post_run(r, nm, resp);
        }
        return true;
    }
    return false;
}
