/* Named connections for plugins; see include/sluice/connection.h. */
#include <string.h>

#include "sluice/config.h"
#include "sluice/connection.h"
#include "sluice/fsutil.h"
#include "sluice/pg.h"

/* Object-store keys apply to s3:// urls; a database connection uses url
 * only. Unknown keys are errors, so a misspelled secret key does not fall
 * back silently to the AWS_* variables. */
const sl_field_spec_t sl_connection_spec[] = {
    {.name = "url", .type = SL_FIELD_STRING, .required = true, .min_len = 1,
     .doc = "s3://bucket/prefix, postgres://user@host:5432/db or sqlite:///path.db"},
    {.name = "description", .type = SL_FIELD_STRING, .doc = "free text"},
    {.name = "endpoint", .type = SL_FIELD_STRING,
     .doc = "S3: URL of an S3-compatible server (http://127.0.0.1:9000)",
     .def = "AWS_ENDPOINT_URL, else AWS"},
    {.name = "region", .type = SL_FIELD_STRING, .doc = "S3: region", .def = "AWS_REGION, else "
                                                                             "us-east-1"},
    {.name = "access_key", .type = SL_FIELD_STRING, .doc = "S3: access key id (${env:...})",
     .def = "AWS_ACCESS_KEY_ID"},
    {.name = "secret_key", .type = SL_FIELD_STRING, .doc = "S3: secret access key (${env:...})",
     .def = "AWS_SECRET_ACCESS_KEY"},
    {.name = "session_token", .type = SL_FIELD_STRING, .doc = "S3: session token",
     .def = "AWS_SESSION_TOKEN"},
    {.name = "path_style", .type = SL_FIELD_BOOL,
     .doc = "S3: bucket in the path, not the host name", .def = "true with an endpoint"},
    {.name = "max_retries", .type = SL_FIELD_INT, .range = SL_RANGE(0, 100), .def = "5",
     .doc = "S3: retries of a failed request (0: none)"},
    {.name = "timeout_ms", .type = SL_FIELD_INT, .range = SL_RANGE(1, 3600000), .def = "30000",
     .doc = "S3: longest wait of one request"},
    {.name = NULL},
};

int sl_connection_s3(sl_step_ctx_t *ctx, const sl_node_t *cfg, const char *what,
                     sl_s3_opts_t *o, const char **url)
{
    memset(o, 0, sizeof *o);
    o->path_style = -1;
    o->cancel = ctx->cancel; /* a step's timeout stops its S3 requests too */
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
    /* sl_s3_opts_t: 0 is the default (5), below 0 none; `max_retries: 0`
     * means none. The spec's range was checked at load. */
    o->max_retries = !sl_node_get(conn, "max_retries") ? 0
                     : retries <= 0                     ? -1
                                                        : (int)SL_MIN(retries, 100);
    o->timeout_ms = (int)SL_MIN(SL_MAX(timeout, 0), 3600000);
    return 0;
}

int sl_connection_db_check(const sl_node_t *cfg, const char *what, sl_err_t *err)
{
    const sl_node_t *u = sl_node_get(cfg, "url");
    const sl_node_t *conn = sl_node_get(cfg, "connection");
    if (u && conn) {
        return sl_node_error(err, conn, "%s: give either url or connection, not both", what);
    }
    if (!u && !conn) {
        return sl_node_error(err, cfg, "%s: missing url (or connection)", what);
    }
    if (!u || !sl_cfg_literal(u)) {
        return 0; /* known when the step opens */
    }
    char shown[512];
    sl_url_redact(u->text, shown, sizeof shown);
    const char *show = u->secret ? "<secret>" : shown;
    if (sl_pg_is_url(u->text)) {
        return 0;
    }
    if (!sl_sqlite_is_url(u->text)) {
        return sl_node_error(err, u,
                             "%s: database '%s' not supported (SQLite: sqlite:///path.db or a "
                             "path; PostgreSQL: postgres://user@host:port/db)",
                             what, show);
    }
    if (strncmp(u->text, "sqlite:", 7) == 0 &&
        (strncmp(u->text + 7, "///", 3) != 0 || u->text[10] == '\0')) {
        return sl_node_error(err, u,
                             "%s: url '%s': expected sqlite:///relative/path.db or "
                             "sqlite:////absolute/path.db",
                             what, show);
    }
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
