/* The HTTP server of `sluice serve` (see server.h). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "metrics.h"
#include "scheduler.h"
#include "worker.h"
#include "sluice/hash.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/timeutil.h"

struct sl_server {
    struct MHD_Daemon *d;
    sl_server_opts_t o;
    sl_state_t *st;
    const sl_pipeline_t *const *pipelines;
    size_t npipelines;
    sl_worker_t *worker;
    sl_scheduler_t *scheduler;
};

struct sl_worker *sl_server_worker(sl_server_t *s)
{
    return s->worker;
}

/* One request while it arrives. */
typedef struct {
    sl_buf_t body;
    bool too_large;
    int64_t started_us;
    char id[17];
} pending_t;

sl_state_t *sl_server_state(sl_server_t *s)
{
    return s->st;
}

const sl_pipeline_t *const *sl_server_pipelines(sl_server_t *s, size_t *n)
{
    *n = s->npipelines;
    return s->pipelines;
}

const char *sl_request_query(const sl_request_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *sl_request_header(const sl_request_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void sl_response_error(sl_response_t *resp, int status, const char *code, const char *fmt, ...)
{
    char msg[SL_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sl_log_redact(msg); /* a message never carries a secret out */
    resp->status = status;
    sl_buf_clear(&resp->body);
    sl_buf_printf(&resp->body, "{\"error\":{\"code\":\"%s\",\"message\":", code);
    sl_json_write_string(&resp->body, msg, strlen(msg));
    sl_buf_append_c(&resp->body, "}}");
}

static void request_id(char out[17])
{
    char uuid[37];
    sl_uuid4(uuid);
    size_t k = 0;
    for (size_t i = 0; uuid[i] && k < 16; i++) {
        if (uuid[i] != '-') {
            out[k++] = uuid[i];
        }
    }
    out[k] = '\0';
}

static enum MHD_Result respond(struct MHD_Connection *c, const pending_t *p, sl_response_t *resp,
                            const char *method, const char *url)
{
    const char *body = resp->body.data ? resp->body.data : "{}";
    size_t len = resp->body.data ? resp->body.len : 2;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type",
                            resp->content_type ? resp->content_type : "application/json");
    MHD_add_response_header(r, "X-Request-Id", p->id);
    if (resp->location) {
        MHD_add_response_header(r, "Location", resp->location);
    }
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    /* the access log: one line per request, the path without its query */
    char path[300];
    snprintf(path, sizeof path, "%s", url);
    char status[8], ms[32], bytes[24];
    snprintf(status, sizeof status, "%d", resp->status);
    double secs = (double)(sl_now_us() - p->started_us) / 1e6;
    snprintf(ms, sizeof ms, "%.1f", secs * 1000.0);
    sl_metrics_http(resp->route ? resp->route : "other", resp->status, secs);
    snprintf(bytes, sizeof bytes, "%zu", len);
    const char *kv[] = {"request_id", p->id, "method", method, "path", path, "status", status,
                        "ms", ms, "bytes", bytes, NULL};
    sl_logf(resp->status >= 500 ? SL_LOG_WARN : SL_LOG_INFO, kv, "request");
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    sl_server_t *s = cls;
    pending_t *p = *con_cls;
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p) {
            return MHD_NO;
        }
        p->started_us = sl_now_us();
        request_id(p->id);
        *con_cls = p;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        /* the body arrives in pieces: keep up to the limit, then only
         * count, so the answer can be 413 instead of a dropped connection */
        if (!p->too_large && p->body.len + *upload_data_size <= s->o.max_body) {
            if (sl_buf_append(&p->body, upload_data, *upload_data_size) != 0) {
                p->too_large = true;
            }
        } else {
            p->too_large = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    sl_response_t resp = {.status = 200};
    sl_request_t req = {.method = method,
                        .path = url,
                        .body = p->body.data ? p->body.data : "",
                        .body_len = p->body.len,
                        .request_id = p->id,
                        .conn = c,
                        .server = s};
    if (p->too_large) {
        sl_response_error(&resp, 413, "body_too_large", "the request body is larger than %zu "
                          "bytes", s->o.max_body);
    } else if (strlen(url) > s->o.max_url) {
        sl_response_error(&resp, 414, "url_too_long", "the URL is longer than %zu bytes",
                          s->o.max_url);
    } else if (!sl_api_handle(&req, &resp) && !sl_routes_handle(&req, &resp)) {
        sl_response_error(&resp, 404, "not_found", "no route for %s %s", method, url);
    }
    enum MHD_Result ok = respond(c, p, &resp, method, url);
    sl_buf_free(&resp.body);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    pending_t *p = *con_cls;
    if (p) {
        sl_buf_free(&p->body);
        free(p);
        *con_cls = NULL;
    }
}

/* "HOST:PORT" into addr; only numeric IPv4 addresses (a name would need a
 * resolver, and which interface it means would be less clear). */
static int parse_listen(const char *listen, struct sockaddr_in *addr, sl_err_t *err)
{
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    const char *colon = strrchr(listen, ':');
    char host[64];
    size_t hl = colon ? (size_t)(colon - listen) : 0;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || hl == 0 || hl >= sizeof host || !end || *end || end == colon + 1 || port < 0 ||
        port > 65535) {
        return sl_err_set(err, SL_ECONFIG, "--listen: expected HOST:PORT (e.g. "
                          "127.0.0.1:8080), got '%s'", listen);
    }
    memcpy(host, listen, hl);
    host[hl] = '\0';
    if (inet_pton(AF_INET, host, &addr->sin_addr) != 1) {
        return sl_err_set(err, SL_ECONFIG, "--listen: '%s' is not an IPv4 address", host);
    }
    addr->sin_port = htons((uint16_t)port);
    return 0;
}

int sl_server_start(const sl_server_opts_t *o, const sl_pipeline_t *const *pipelines, size_t n,
                    sl_server_t **out, unsigned *port, sl_err_t *err)
{
    *out = NULL;
    sl_server_t *s = calloc(1, sizeof *s);
    if (!s) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    s->o = *o;
    s->o.listen = o->listen ? o->listen : "127.0.0.1:8080";
    s->o.max_body = o->max_body ? o->max_body : 1 << 20;
    s->o.max_url = o->max_url ? o->max_url : 8 << 10;
    s->o.max_connections = o->max_connections ? o->max_connections : 256;
    s->o.conn_timeout_s = o->conn_timeout_s ? o->conn_timeout_s : 30;
    s->o.threads = o->threads ? o->threads : 2;
    s->pipelines = pipelines;
    s->npipelines = n;
    struct sockaddr_in addr;
    int rc = parse_listen(s->o.listen, &addr, err);
    const char *url = o->state_url ? o->state_url : ".sluice/state.db";
    if (rc == 0) {
        rc = sl_state_open(url, &s->st, err);
    }
    if (rc == 0) {
        rc = sl_worker_start(url, o->max_runs, o->grace_s, !o->no_resume, &s->worker, err);
        if (rc) {
            sl_state_close(s->st);
        }
    }
    if (rc == 0) {
        rc = sl_scheduler_start(url, pipelines, n, s->worker, &s->scheduler, err);
        if (rc) {
            sl_worker_stop(s->worker);
            sl_state_close(s->st);
        }
    }
    if (rc) {
        free(s);
        return rc;
    }
    s->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_request, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)s->o.threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->o.max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->o.conn_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 << 10), MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_END);
    if (!s->d) {
        sl_scheduler_stop(s->scheduler);
        sl_worker_stop(s->worker);
        sl_state_close(s->st);
        free(s);
        return sl_err_set(err, SL_EIO, "cannot listen on %s (in use, or not an address of "
                          "this machine)", o->listen ? o->listen : "127.0.0.1:8080");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : ntohs(addr.sin_port);
    *out = s;
    return 0;
}

void sl_server_stop(sl_server_t *s)
{
    if (!s) {
        return;
    }
    MHD_stop_daemon(s->d);
    sl_scheduler_stop(s->scheduler);
    sl_worker_stop(s->worker); /* running runs get SIGTERM, then SIGKILL after the grace */
    sl_state_close(s->st);
    free(s);
}
