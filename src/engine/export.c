/* export_checkpoints: after a run, a JSON object with one entry per flow
 * step that succeeded, written to a file or an S3 object, for tools that
 * read checkpoints from the lake (the seed's
 * logs/pipeline/ingestion/checkpoints.json):
 *
 *   {"customers": {"last_sync_timestamp": "2026-11-22T10:30:00Z",
 *                  "record_count": 1500, "updated_at": "2026-11-22T10:35:00Z",
 *                  "checkpoint": {...the step's own position...}}, ...}
 *
 * Entries of steps that did not succeed in this run are kept from the
 * previous file, so a failed entity keeps its last good checkpoint. The
 * state store stays the source of truth; this is a copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "sluice/connection.h"
#include "sluice/fsutil.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/objstore.h"
#include "sluice/state.h"
#include "sluice/template.h"
#include "sluice/timeutil.h"

/* The high-water mark in a step's checkpoint JSON (the `pos` inside the
 * engine's wrapper): "cursor" of the sql source, "since" of the http
 * source; other sources have none. */
static const sl_value_t *high_water(const sl_value_t *pos)
{
    static const char *const keys[] = {"cursor", "since", NULL};
    for (size_t i = 0; keys[i]; i++) {
        const sl_value_t *v = sl_object_get_c(pos, keys[i]);
        if (v && v->type != SL_T_NULL && v->type != SL_T_OBJECT && v->type != SL_T_ARRAY) {
            return v;
        }
    }
    return NULL;
}

typedef struct {
    sl_arena_t *a;
    const char *url; /* rendered */
    sl_objstore_t *st;
    char *key;
} target_t;

static int open_target(sl_step_ctx_t *ctx, const sl_node_t *cfg, const char *what, target_t *t,
                       sl_err_t *err)
{
    const sl_node_t *un = sl_node_get(cfg, "url");
    const char *raw = NULL;
    int rc = sl_node_to_str(un, "url", &raw, err);
    if (rc) {
        return rc;
    }
    sl_err_t terr;
    rc = sl_render_once(ctx, raw, &t->url, &terr);
    if (rc) {
        return sl_node_error(err, un, "%s: url: %s", what,
                             rc == SL_EINVAL ? "record is not available here" : terr.msg);
    }
    sl_s3_opts_t s3;
    const char *conn_url = NULL;
    rc = sl_connection_s3(ctx, cfg, what, &s3, &conn_url);
    if (rc) {
        return sl_err_set(err, rc, "%s", ctx->err.msg);
    }
    bool is_s3 = strncmp(t->url, "s3://", 5) == 0;
    const char *loc = is_s3 ? t->url : sl_resolve_path(t->a, ctx->base_dir, t->url);
    const char *slash = loc ? strrchr(loc, '/') : NULL;
    if (!loc || !slash || !slash[1] || (is_s3 && slash < loc + 5)) {
        return sl_node_error(err, un, "%s: url '%s' must name a file, e.g. "
                             "lake/logs/checkpoints.json", what, t->url);
    }
    char *dir = sl_arena_strndup(t->a, loc, (size_t)(slash - loc));
    if (!dir) {
        return SL_ENOMEM;
    }
    if (!is_s3) {
        sl_err_t merr;
        if ((rc = sl_mkdir_parents(loc, &merr)) != 0) {
            return sl_err_set(err, rc, "%s: %s", what, merr.msg);
        }
    }
    char *prefix = NULL;
    rc = sl_objstore_open(dir, is_s3 ? &s3 : NULL, &t->st, &prefix, err);
    if (rc) {
        free(prefix);
        return rc;
    }
    t->key = sl_objstore_key_join(prefix, slash + 1);
    free(prefix);
    return t->key ? 0 : SL_ENOMEM;
}

/* The previous file's object (or an empty one). */
static int read_previous(target_t *t, sl_value_t *out, sl_err_t *err)
{
    sl_buf_t b = SL_BUF_INIT;
    int rc = sl_objstore_get(t->st, t->key, 0, 0, &b, err);
    if (rc == SL_ENOTFOUND) {
        sl_buf_free(&b);
        return sl_object_new(t->a, out, 8);
    }
    if (rc) {
        sl_buf_free(&b);
        return rc;
    }
    sl_json_error_t je;
    char *text = sl_arena_strndup(t->a, b.data ? b.data : "", b.len);
    size_t len = b.len;
    sl_buf_free(&b);
    if (!text) {
        return SL_ENOMEM;
    }
    if (sl_json_parse(t->a, text, len, NULL, out, &je) != 0 || out->type != SL_T_OBJECT) {
        sl_warn("export_checkpoints: %s: not a JSON object; starting it again", t->url);
        return sl_object_new(t->a, out, 8);
    }
    return 0;
}

/* The entry of one step from its stored checkpoint. */
static int step_entry(target_t *t, sl_state_t *st, const sl_pipeline_t *p,
                      const sl_step_result_t *sr, int64_t now, sl_value_t *out)
{
    char key[300];
    snprintf(key, sizeof key, "step:%s", sr->name);
    sl_checkpoint_t cp;
    sl_value_t pos = sl_value_null();
    int rc = sl_state_checkpoint_get(st, p->name, key, &cp);
    if (rc == 0) {
        sl_value_t wrap;
        sl_json_error_t je;
        char *text = sl_arena_strdup(t->a, cp.value);
        sl_checkpoint_free(&cp);
        if (!text) {
            return SL_ENOMEM;
        }
        if (sl_json_parse(t->a, text, strlen(text), NULL, &wrap, &je) == 0) {
            const sl_value_t *v = sl_object_get_c(&wrap, "pos");
            pos = v ? *v : sl_value_null();
        }
    } else if (rc != SL_ENOTFOUND) {
        return rc;
    }
    rc = sl_object_new(t->a, out, 4);
    const sl_value_t *hw = pos.type == SL_T_OBJECT ? high_water(&pos) : NULL;
    sl_value_t started = sl_value_timestamp(sr->started_us);
    if (!rc) {
        rc = sl_object_set(t->a, out, "last_sync_timestamp", 19, hw ? *hw : started);
    }
    if (!rc) {
        rc = sl_object_set(t->a, out, "record_count", 12, sl_value_int(sr->records_out));
    }
    if (!rc) {
        rc = sl_object_set(t->a, out, "updated_at", 10, sl_value_timestamp(now));
    }
    if (!rc) {
        rc = sl_object_set(t->a, out, "checkpoint", 10, pos);
    }
    return rc;
}

/* The entries of a parallel step's flow branches that succeeded: their
 * status and counts from the step's output, their checkpoints under the
 * keys they would have outside it (a parallel step keeps them). */
static int branch_entries(target_t *t, sl_state_t *st, const sl_pipeline_t *p,
                          const sl_step_cfg_t *step, const sl_step_result_t *sr, int64_t now,
                          sl_value_t *obj)
{
    sl_value_t out;
    sl_json_error_t je;
    char *text = sr->output_json ? sl_arena_strdup(t->a, sr->output_json) : NULL;
    if (!text || sl_json_parse(t->a, text, strlen(text), NULL, &out, &je) != 0) {
        return 0;
    }
    const sl_value_t *branches = sl_object_get_c(&out, "steps");
    for (size_t k = 0; branches && k < step->nsubsteps; k++) {
        const sl_step_cfg_t *sub = &step->substeps[k];
        const sl_value_t *e = sl_object_get_c(branches, sub->name);
        const sl_value_t *status = e ? sl_object_get_c(e, "status") : NULL;
        const sl_value_t *o = e ? sl_object_get_c(e, "output") : NULL;
        const sl_value_t *n = o ? sl_object_get_c(o, "records_out") : NULL;
        bool done = status && status->type == SL_T_STRING &&
                    ((status->len == 2 && memcmp(status->u.s, "ok", 2) == 0) ||
                     (status->len == 7 && memcmp(status->u.s, "partial", 7) == 0));
        if (sub->kind != &sl_step_flow || !done) {
            continue;
        }
        sl_step_result_t br = {.name = sub->name,
                               .started_us = sr->started_us,
                               .records_out = n && n->type == SL_T_INT ? n->u.i : 0};
        sl_value_t entry;
        int rc = step_entry(t, st, p, &br, now, &entry);
        if (!rc) {
            rc = sl_object_set(t->a, obj, sub->name, strlen(sub->name), entry);
        }
        if (rc) {
            return rc;
        }
    }
    return 0;
}

int sl_export_checkpoints(const sl_pipeline_t *p, sl_state_t *st, const sl_run_result_t *res,
                          const sl_value_t *params, const sl_value_t *run, sl_err_t *err)
{
    const sl_node_t *cfg = sl_node_get(p->root, "export_checkpoints");
    if (!cfg) {
        return 0;
    }
    sl_step_ctx_t ctx;
    sl_step_ctx_init(&ctx, p, NULL, params, run, res->run_id);
    target_t t = {.a = ctx.arena};
    int rc = ctx.arena ? open_target(&ctx, cfg, "export_checkpoints", &t, err) : SL_ENOMEM;
    sl_value_t obj;
    if (!rc) {
        rc = read_previous(&t, &obj, err);
    }
    int64_t now = sl_now_us();
    for (size_t i = 0; rc == 0 && i < res->nsteps; i++) {
        const sl_step_result_t *sr = &res->steps[i];
        if (p->steps[i].kind == &sl_step_parallel) {
            rc = branch_entries(&t, st, p, &p->steps[i], sr, now, &obj);
            continue;
        }
        if (p->steps[i].kind != &sl_step_flow ||
            (sr->status != SL_STATUS_OK && sr->status != SL_STATUS_PARTIAL)) {
            continue;
        }
        sl_value_t entry;
        rc = step_entry(&t, st, p, sr, now, &entry);
        if (!rc) {
            rc = sl_object_set(t.a, &obj, sr->name, strlen(sr->name), entry);
        }
    }
    sl_buf_t b = SL_BUF_INIT;
    if (!rc) {
        rc = sl_json_write(&b, &obj, 0);
    }
    if (!rc) {
        rc = sl_buf_putc(&b, '\n');
    }
    if (!rc) {
        rc = sl_objstore_put(t.st, t.key, b.data, b.len, err);
    }
    if (rc && !err->msg[0]) {
        sl_err_set(err, rc, "%s", sl_strerror(rc));
    }
    if (!rc) {
        sl_info("export_checkpoints: wrote %s", t.url);
    }
    sl_buf_free(&b);
    free(t.key);
    sl_objstore_close(t.st);
    sl_arena_destroy(ctx.arena);
    return rc;
}

int sl_export_logs(const sl_pipeline_t *p, FILE *f, const sl_value_t *params,
                   const sl_value_t *run, const char *run_id, sl_err_t *err)
{
    const sl_node_t *cfg = sl_node_get(p->root, "export_logs");
    if (!cfg || !f) {
        return 0;
    }
    sl_step_ctx_t ctx;
    sl_step_ctx_init(&ctx, p, NULL, params, run, run_id);
    target_t t = {.a = ctx.arena};
    int rc = ctx.arena ? open_target(&ctx, cfg, "export_logs", &t, err) : SL_ENOMEM;
    sl_buf_t b = SL_BUF_INIT;
    if (rc == 0) {
        char chunk[1 << 14];
        size_t n;
        rewind(f);
        while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
            rc = sl_buf_append(&b, chunk, n);
        }
        if (rc == 0 && ferror(f)) {
            rc = sl_err_set(err, SL_EIO, "export_logs: cannot read the run's log back");
        }
    }
    if (rc == 0) {
        rc = sl_objstore_put(t.st, t.key, b.data ? b.data : "", b.len, err);
    }
    if (rc && !err->msg[0]) {
        sl_err_set(err, rc, "%s", sl_strerror(rc));
    }
    if (rc == 0) {
        sl_info("export_logs: wrote %s", t.url);
    }
    sl_buf_free(&b);
    free(t.key);
    sl_objstore_close(t.st);
    sl_arena_destroy(ctx.arena);
    return rc;
}
