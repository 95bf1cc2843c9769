/* Starting runs from requests: POST /api/v1/pipelines/{name}/runs and the
 * pipelines' routes (queueing, Idempotency-Key, waiting, a route's
 * response template). */
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
    sl_api_peek_t pk = {.status = SL_STATUS_PENDING};
    if (again && sl_state_run_show(st, id, sl_api_peek_run, sl_api_peek_step, &pk) == 0 && pk.found &&
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
        if (sl_state_run_show(st, id, sl_api_peek_run, sl_api_peek_step, &pk) == 0 && pk.found &&
            sl_status_final(pk.status)) {
            if (rt && rt->response_body) {
                route_answer(r, rt, id, resp);
            } else {
                sl_api_get_run(r, id, resp); /* the run, as GET /api/v1/runs/{id} gives it */
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
void sl_api_post_run(const sl_request_t *r, const char *name, sl_response_t *resp)
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

