/* A map's output: its counts, then its items' outcomes inline (up to
 * INLINE_OUTPUTS_MAX items) and in its `results` file; a parallel step's
 * has its branches by name instead. Read from the item rows, so the items
 * of earlier attempts (a resume) count too, and memory stays flat. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_internal.h"
#include "sluice/fsutil.h"
#include "sluice/json.h"

#define INLINE_OUTPUTS_MAX 1000           /* beyond: item outputs only in `results` */

/* ---- the map's output ---- */

typedef struct {
    sl_buf_t *json;    /* the inline items array, or NULL */
    sl_buf_t *steps;   /* a parallel step's {STEP: {status, output}} of its branches, or NULL */
    FILE *results;     /* the results file, or NULL */
    int rc;
} outputs_t;

/* Appends a parallel step's branch to the {STEP: {...}} object being
 * built in b (opened with '{'): its {status, output} from the item's
 * output, with the item's error and class when it has one (a branch with
 * on_failure: continue fails its step but not the parallel step). */
static int branch_entry(sl_buf_t *b, const sl_item_t *it)
{
    sl_arena_t *a = sl_arena_create(4096, 0);
    sl_value_t v;
    sl_json_error_t je;
    const char *text = it->output_json ? it->output_json : "{}";
    int rc = a ? 0 : SL_ENOMEM;
    if (rc == 0 && (sl_json_parse(a, text, strlen(text), NULL, &v, &je) != 0 ||
                    v.type != SL_T_OBJECT)) {
        rc = SL_EPARSE;
    }
    for (uint32_t i = 0; rc == 0 && i < v.len; i++) {
        sl_member_t *mb = &v.u.members[i];
        if (mb->val.type == SL_T_OBJECT && it->error) {
            const char *cls = it->error_class ? it->error_class : "fatal";
            rc = sl_object_set(a, &mb->val, "error_class", 11, sl_value_str(cls, strlen(cls)));
            if (rc == 0) {
                rc = sl_object_set(a, &mb->val, "error", 5,
                                   sl_value_str(it->error, strlen(it->error)));
            }
        }
        sl_buf_append_c(b, b->len > 1 ? "," : "");
        sl_json_write_string(b, mb->key, mb->klen);
        sl_buf_putc(b, ':');
        sl_json_write(b, &mb->val, 0);
    }
    sl_arena_destroy(a);
    return rc;
}

static int collect_output(void *ud, const sl_item_t *it)
{
    outputs_t *o = ud;
    sl_buf_t line = SL_BUF_INIT;
    sl_buf_printf(&line, "{\"idx\":%lld,\"item\":%s,\"status\":\"%s\",\"attempts\":%d",
                  (long long)it->idx, it->value_json, sl_status_name(it->status), it->attempts);
    if (it->error) {
        sl_buf_printf(&line, ",\"error_class\":\"%s\",\"error\":",
                      it->error_class ? it->error_class : "fatal");
        sl_json_write_string(&line, it->error, strlen(it->error));
    }
    sl_buf_printf(&line, ",\"output\":%s}", it->output_json ? it->output_json : "{}");
    if (!line.data) {
        o->rc = SL_ENOMEM;
        return 1;
    }
    if (o->json) {
        sl_buf_append_c(o->json, o->json->len > 1 ? "," : "");
        sl_buf_append(o->json, line.data, line.len);
    }
    if (o->steps && o->rc == 0) {
        o->rc = branch_entry(o->steps, it);
    }
    if (o->results && (fwrite(line.data, 1, line.len, o->results) != line.len ||
                       fputc('\n', o->results) == EOF)) {
        o->rc = SL_EIO;
    }
    sl_buf_free(&line);
    return o->rc ? 1 : 0;
}

/* The map's output: its counts, then the items' outputs inline (up to
 * INLINE_OUTPUTS_MAX items) and in the results file when there is one. */
int sl_map_output(sl_step_ctx_t *ctx, const sl_map_cfg_t *cfg, const char *items_step,
                  int64_t total, const int64_t *counts)
{
    static const struct {
        const char *key;
        sl_status_t st;
    } names[] = {{"ok", SL_STATUS_OK},           {"partial", SL_STATUS_PARTIAL},
                 {"failed", SL_STATUS_FAILED},   {"timed_out", SL_STATUS_TIMED_OUT},
                 {"cancelled", SL_STATUS_CANCELLED}, {"skipped", SL_STATUS_SKIPPED}};
    int rc = sl_step_output_int(ctx, "total", total);
    for (size_t i = 0; rc == 0 && i < SL_ARRAY_LEN(names); i++) {
        rc = sl_step_output_int(ctx, names[i].key, counts[names[i].st]);
    }
    if (rc == 0) {
        rc = sl_step_output_int(ctx, "not_run", counts[SL_STATUS_PENDING] +
                                                    counts[SL_STATUS_RUNNING] +
                                                    counts[SL_STATUS_INTERRUPTED]);
    }
    const char *results = NULL;
    if (rc == 0 && cfg->results) {
        sl_err_t e;
        int trc = sl_render_once(ctx, cfg->results->text, &results, &e);
        if (trc) {
            return sl_node_error(&ctx->err, cfg->results, "step '%s': results: %s",
                                 ctx->step->name,
                                 trc == SL_EINVAL ? "record is not available here" : e.msg);
        }
        results = sl_resolve_path(ctx->arena, ctx->base_dir, results);
    }
    /* a parallel step's output has its steps' outputs by name instead */
    bool parallel = cfg->parallel;
    bool inline_items = total <= INLINE_OUTPUTS_MAX && !parallel;
    if (rc || (!inline_items && !results && !parallel)) {
        return rc;
    }
    sl_buf_t json = SL_BUF_INIT, steps = SL_BUF_INIT;
    outputs_t o = {.json = inline_items ? &json : NULL, .steps = parallel ? &steps : NULL};
    char *tmp = results ? sl_arena_sprintf(ctx->arena, "%s.tmp", results) : NULL;
    if (results) {
        sl_err_t e;
        if (!tmp || sl_mkdir_parents(tmp, &e) != 0 || !(o.results = fopen(tmp, "w"))) {
            rc = sl_err_set(&ctx->err, SL_EIO, "step '%s': results: cannot write %s",
                            ctx->step->name, results);
            goto done;
        }
    }
    sl_buf_putc(&json, '[');
    sl_buf_putc(&steps, '{');
    rc = sl_state_items_list(ctx->state, ctx->run_id, items_step, NULL, collect_output, &o);
    rc = rc ? rc : o.rc;
    sl_buf_putc(&json, ']');
    sl_buf_putc(&steps, '}');
    if (o.results) {
        if (fclose(o.results) != 0 && rc == 0) {
            rc = SL_EIO;
        }
        if (rc == 0 && rename(tmp, results) != 0) {
            rc = SL_EIO;
        }
        if (rc) {
            unlink(tmp);
            rc = sl_err_set(&ctx->err, rc, "step '%s': results: cannot write %s",
                            ctx->step->name, results);
            goto done;
        }
        sl_value_t v = sl_value_str(results, strlen(results));
        rc = sl_step_output_put(ctx, "results", &v);
    }
    if (rc == 0 && inline_items) {
        sl_value_t arr;
        sl_json_error_t je;
        rc = json.data && sl_json_parse(ctx->arena, json.data, json.len, NULL, &arr, &je) == 0
                 ? sl_step_output_put(ctx, "items", &arr)
                 : SL_ENOMEM;
    }
    if (rc == 0 && parallel) {
        sl_value_t obj;
        sl_json_error_t je;
        rc = steps.data && sl_json_parse(ctx->arena, steps.data, steps.len, NULL, &obj, &je) == 0
                 ? sl_step_output_put(ctx, "steps", &obj)
                 : SL_ENOMEM;
    }
done:
    sl_buf_free(&json);
    sl_buf_free(&steps);
    return rc;
}

