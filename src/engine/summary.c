/* The end-of-run summary: a table on stderr, or one JSON line with
 * --log-format json. A parallel step's branches get rows of their own
 * ("entities/customers"), from the step's output. */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "sluice/json.h"
#include "sluice/timeutil.h"

/* The branches of a parallel step, from its output's "steps" object:
 * each {status, output: {records_in, ...}, error}. NULL when none. */
static const sl_value_t *branches(sl_arena_t *a, const sl_step_result_t *st)
{
    sl_value_t v;
    sl_json_error_t je;
    if (!st->output_json || !strstr(st->output_json, "\"steps\"") ||
        sl_json_parse(a, st->output_json, strlen(st->output_json), NULL, &v, &je) != 0) {
        return NULL;
    }
    const sl_value_t *b = sl_object_get_c(&v, "steps");
    if (!b || b->type != SL_T_OBJECT) {
        return NULL;
    }
    sl_value_t *copy = sl_arena_alloc(a, sizeof *copy);
    if (copy) {
        *copy = *b;
    }
    return copy;
}

static int64_t count_of(const sl_value_t *entry, const char *key)
{
    const sl_value_t *out = sl_object_get_c(entry, "output");
    const sl_value_t *n = out ? sl_object_get_c(out, key) : NULL;
    return n && n->type == SL_T_INT ? n->u.i : 0;
}

static const char *text_of(const sl_value_t *entry, const char *key, char *buf, size_t cap)
{
    const sl_value_t *v = sl_object_get_c(entry, key);
    if (!v || v->type != SL_T_STRING) {
        return NULL;
    }
    snprintf(buf, cap, "%.*s", (int)v->len, v->u.s);
    return buf;
}

void sl_run_result_json(const sl_run_result_t *res, const sl_pipeline_t *p, void *fp)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_arena_t *a = sl_arena_create(16 * 1024, 0);
    char ts[40];
    sl_timestamp_format(res->ended_us, ts);
    sl_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"run summary\",\"run\":\"%s\","
                      "\"pipeline\":",
                  ts, res->run_id);
    sl_json_write_string(&b, p->name, strlen(p->name));
    sl_buf_printf(&b, ",\"status\":\"%s\",\"exit_code\":%d,\"seconds\":%.3f,\"steps\":[",
                  sl_status_name(res->status), res->exit_code,
                  (double)(res->ended_us - res->started_us) / 1e6);
    for (size_t i = 0; i < res->nsteps; i++) {
        const sl_step_result_t *st = &res->steps[i];
        sl_buf_append_c(&b, i ? ",{\"step\":" : "{\"step\":");
        sl_json_write_string(&b, st->name, strlen(st->name));
        sl_buf_printf(&b,
                      ",\"status\":\"%s\",\"records_in\":%lld,\"records_out\":%lld,"
                      "\"rejected\":%lld,\"bytes_in\":%lld,\"seconds\":%.3f",
                      sl_status_name(st->status), (long long)st->records_in,
                      (long long)st->records_out,
                      (long long)st->rejected, (long long)st->bytes_in,
                      st->ended_us > st->started_us
                          ? (double)(st->ended_us - st->started_us) / 1e6
                          : 0.0);
        if (st->attempts > 1) {
            sl_buf_printf(&b, ",\"attempts\":%d", st->attempts);
        }
        if (st->error[0]) {
            sl_buf_printf(&b, ",\"error_class\":\"%s\",\"error\":",
                          sl_error_class_name(st->error_class));
            sl_json_write_string(&b, st->error, strlen(st->error));
        }
        if (st->output_json) {
            sl_buf_append_c(&b, ",\"output\":");
            sl_buf_append_c(&b, st->output_json);
        }
        sl_buf_putc(&b, '}');
        const sl_value_t *br = a ? branches(a, st) : NULL;
        for (uint32_t k = 0; br && k < br->len; k++) {
            const sl_member_t *m = &br->u.members[k];
            char status[32] = "?", error[SL_ERRMSG_MAX], cls[32];
            text_of(&m->val, "status", status, sizeof status);
            sl_buf_append_c(&b, ",{\"step\":");
            sl_buf_printf(&b, "\"%s/%.*s\"", st->name, (int)m->klen, m->key);
            sl_buf_printf(&b, ",\"status\":\"%s\",\"records_in\":%lld,\"records_out\":%lld,"
                              "\"rejected\":%lld,\"bytes_in\":%lld",
                          status, (long long)count_of(&m->val, "records_in"),
                          (long long)count_of(&m->val, "records_out"),
                          (long long)count_of(&m->val, "rejected"),
                          (long long)count_of(&m->val, "bytes_in"));
            if (text_of(&m->val, "error", error, sizeof error)) {
                sl_buf_printf(&b, ",\"error_class\":\"%s\",\"error\":",
                              text_of(&m->val, "error_class", cls, sizeof cls) ? cls : "fatal");
                sl_json_write_string(&b, error, strlen(error));
            }
            sl_buf_putc(&b, '}');
        }
        if (a) {
            sl_arena_reset(a);
        }
    }
    sl_buf_append_c(&b, "]}\n");
    if (b.data) {
        fputs(b.data, (FILE *)fp);
    }
    sl_buf_free(&b);
    sl_arena_destroy(a);
}

static void human_bytes(int64_t n, char *out, size_t cap)
{
    const char *units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)n;
    unsigned u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void sl_run_result_print(const sl_run_result_t *res, const sl_pipeline_t *p, void *fp)
{
    FILE *f = fp;
    sl_arena_t *a = sl_arena_create(16 * 1024, 0);
    double secs = (double)(res->ended_us - res->started_us) / 1e6;
    fprintf(f, "run %s (%s): %s in %.2fs\n", res->run_id, p->name, sl_status_name(res->status),
            secs);
    fprintf(f, "  %-20s %-8s %12s %12s %10s %10s %9s\n", "step", "status", "in", "out",
            "rejected", "bytes", "seconds");
    for (size_t i = 0; i < res->nsteps; i++) {
        const sl_step_result_t *s = &res->steps[i];
        char bytes[32];
        human_bytes(s->bytes_in, bytes, sizeof bytes);
        double ss = s->ended_us > s->started_us ? (double)(s->ended_us - s->started_us) / 1e6 : 0;
        fprintf(f, "  %-20s %-8s %12lld %12lld %10lld %10s %9.2f\n", s->name,
                sl_status_name(s->status),
                (long long)s->records_in, (long long)s->records_out, (long long)s->rejected,
                bytes, ss);
        if (s->error[0]) {
            fprintf(f, "    error: %s\n", s->error);
        }
        const sl_value_t *br = a ? branches(a, s) : NULL;
        for (uint32_t k = 0; br && k < br->len; k++) {
            const sl_member_t *m = &br->u.members[k];
            char name[200], status[32] = "?", error[SL_ERRMSG_MAX];
            snprintf(name, sizeof name, "%s/%.*s", s->name, (int)m->klen, m->key);
            text_of(&m->val, "status", status, sizeof status);
            human_bytes(count_of(&m->val, "bytes_in"), bytes, sizeof bytes);
            fprintf(f, "  %-20s %-8s %12lld %12lld %10lld %10s %9s\n", name, status,
                    (long long)count_of(&m->val, "records_in"),
                    (long long)count_of(&m->val, "records_out"),
                    (long long)count_of(&m->val, "rejected"), bytes, "");
            if (text_of(&m->val, "error", error, sizeof error)) {
                fprintf(f, "    error: %s\n", error);
            }
        }
        if (a) {
            sl_arena_reset(a);
        }
    }
    sl_arena_destroy(a);
}
