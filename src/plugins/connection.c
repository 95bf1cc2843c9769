/* Named connections for plugins; see include/sluice/connection.h. */
#include <string.h>

#include "sluice/config.h"
#include "sluice/connection.h"

int sl_connection_s3(sl_step_ctx_t *ctx, const sl_node_t *cfg, const char *what,
                     sl_s3_opts_t *o, const char **url)
{
    memset(o, 0, sizeof *o);
    o->path_style = -1;
    *url = NULL;
    const sl_node_t *cn = sl_node_get(cfg, "connection");
    if (!cn) {
        return 0;
    }
    const char *name;
    int rc = sl_node_to_str(cn, "connection", &name, &ctx->err);
    if (rc) {
        return rc;
    }
    const sl_pipeline_t *p = ctx->pipeline;
    const sl_node_t *conn = NULL;
    for (size_t i = 0; p && i < p->nconnections; i++) {
        if (strcmp(p->connections[i].name, name) == 0) {
            conn = p->connections[i].node;
        }
    }
    if (!conn) {
        return sl_node_error(&ctx->err, cn, "%s: no connection named '%s' in the pipeline",
                             what, name);
    }
    bool path_style = false;
    int64_t retries = 0, timeout = 0;
    rc = sl_cfg_str(conn, "url", NULL, url, &ctx->err);
    rc = rc ? rc : sl_cfg_str(conn, "endpoint", NULL, &o->endpoint, &ctx->err);
    rc = rc ? rc : sl_cfg_str(conn, "region", NULL, &o->region, &ctx->err);
    rc = rc ? rc : sl_cfg_str(conn, "access_key", NULL, &o->access_key, &ctx->err);
    rc = rc ? rc : sl_cfg_str(conn, "secret_key", NULL, &o->secret_key, &ctx->err);
    rc = rc ? rc : sl_cfg_str(conn, "session_token", NULL, &o->session_token, &ctx->err);
    rc = rc ? rc : sl_cfg_bool(conn, "path_style", false, &path_style, &ctx->err);
    rc = rc ? rc : sl_cfg_int(conn, "max_retries", 0, &retries, &ctx->err);
    rc = rc ? rc : sl_cfg_int(conn, "timeout_ms", 0, &timeout, &ctx->err);
    if (rc) {
        return rc;
    }
    o->path_style = sl_node_get(conn, "path_style") ? (path_style ? 1 : 0) : -1;
    o->max_retries = (int)SL_MIN(SL_MAX(retries, -1), 100);
    o->timeout_ms = (int)SL_MIN(SL_MAX(timeout, 0), 3600000);
    return 0;
}

int sl_connection_db_url(sl_step_ctx_t *ctx, const sl_node_t *cfg, const char *what,
                         const char **url, const sl_node_t **where)
{
    const sl_node_t *u = sl_node_get(cfg, "url");
    const sl_node_t *conn = sl_node_get(cfg, "connection");
    if (u && conn) {
        return sl_node_error(&ctx->err, conn, "%s: give either url or connection, not both",
                             what);
    }
    if (!u && !conn) {
        return sl_node_error(&ctx->err, cfg, "%s: missing url (or connection)", what);
    }
    if (u) {
        *where = u;
        return sl_node_to_str(u, "url", url, &ctx->err);
    }
    const char *name = NULL;
    int rc = sl_node_to_str(conn, "connection", &name, &ctx->err);
    if (rc) {
        return rc;
    }
    const sl_pipeline_t *p = ctx->pipeline;
    for (size_t i = 0; p && i < p->nconnections; i++) {
        if (strcmp(p->connections[i].name, name) == 0) {
            const sl_node_t *cu = sl_node_get(p->connections[i].node, "url");
            if (!cu) {
                return sl_node_error(&ctx->err, p->connections[i].node,
                                     "connection '%s' has no url", name);
            }
            *where = cu;
            return sl_node_to_str(cu, "url", url, &ctx->err);
        }
    }
    return sl_node_error(&ctx->err, conn, "%s: no connection named '%s' in the pipeline", what,
                         name);
}
