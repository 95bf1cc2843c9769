/* Rejected records: where bad input goes instead of being dropped.
 *
 * Each reject is one JSON line {"step","origin","line","reason", and
 * "record" (the record as it was when rejected) or "raw" (the input text
 * that never became a record)}. The file is appended to across runs and
 * flushed with every batch, so a reject is on disk before the batch that
 * dropped it is acknowledged. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_internal.h"
#include "sluice/buf.h"
#include "sluice/fsutil.h"
#include "sluice/json.h"
#include "sluice/log.h"

struct sl_rejects {
    pthread_mutex_t mu; /* transforms (producer thread) and sinks both reject */
    char *path; /* NULL: log only */
    char *step;
    int fd;
    int64_t count;
    int64_t max;
    sl_buf_t buf;
};

sl_rejects_t *sl_rejects_new(const char *path, int64_t max_rejects, const char *step)
{
    sl_rejects_t *r = calloc(1, sizeof *r);
    if (!r) {
        return NULL;
    }
    r->path = path ? strdup(path) : NULL;
    r->step = strdup(step ? step : "");
    r->fd = -1;
    r->max = max_rejects;
    pthread_mutex_init(&r->mu, NULL);
    sl_buf_init(&r->buf, 0);
    return r;
}


static int flush_locked(sl_rejects_t *r, sl_err_t *err);

int sl_rejects_flush(sl_rejects_t *r, sl_err_t *err)
{
    if (!r) {
        return 0;
    }
    pthread_mutex_lock(&r->mu);
    int rc = flush_locked(r, err);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int flush_locked(sl_rejects_t *r, sl_err_t *err)
{
    if (r->buf.len == 0) {
        return 0;
    }
    if (!r->path) {
        sl_buf_clear(&r->buf);
        return 0;
    }
    if (r->fd < 0) {
        int rc = sl_mkdir_parents(r->path, err);
        if (rc) {
            return sl_err_prefix(err, rc, "rejects file %s", r->path);
        }
        r->fd = open(r->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        if (r->fd < 0) {
            return sl_err_set(err, SL_EIO, "cannot open rejects file %s: %s", r->path,
                              strerror(errno));
        }
    }
    size_t off = 0;
    while (off < r->buf.len) {
        ssize_t w = write(r->fd, r->buf.data + off, r->buf.len - off);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return sl_err_set(err, SL_EIO, "cannot write rejects file %s: %s", r->path,
                              strerror(errno));
        }
        off += (size_t)w;
    }
    sl_buf_clear(&r->buf);
    if (fsync(r->fd) != 0) {
        return sl_err_set(err, SL_EIO, "cannot sync rejects file %s: %s", r->path,
                          strerror(errno));
    }
    return 0;
}

int64_t sl_rejects_count(const sl_rejects_t *r)
{
    return r ? r->count : 0;
}

void sl_rejects_free(sl_rejects_t *r)
{
    if (!r) {
        return;
    }
    if (r->fd >= 0) {
        close(r->fd);
    }
    sl_buf_free(&r->buf);
    pthread_mutex_destroy(&r->mu);
    free(r->path);
    free(r->step);
    free(r);
}

static int add_locked(sl_step_ctx_t *ctx, const char *origin, uint64_t line, const char *reason,
                      const sl_value_t *record, const char *raw, size_t rawlen);

static int add(sl_step_ctx_t *ctx, const char *origin, uint64_t line, const char *reason,
               const sl_value_t *record, const char *raw, size_t rawlen)
{
    pthread_mutex_lock(&ctx->rejects->mu);
    int rc = add_locked(ctx, origin, line, reason, record, raw, rawlen);
    pthread_mutex_unlock(&ctx->rejects->mu);
    return rc;
}

static int add_locked(sl_step_ctx_t *ctx, const char *origin, uint64_t line, const char *reason,
                      const sl_value_t *record, const char *raw, size_t rawlen)
{
    sl_rejects_t *r = ctx->rejects;
    sl_buf_t *b = &r->buf;
    r->count++;
    sl_buf_append_c(b, "{\"step\":");
    sl_json_write_string(b, r->step, strlen(r->step));
    sl_buf_append_c(b, ",\"origin\":");
    sl_json_write_string(b, origin ? origin : "", origin ? strlen(origin) : 0);
    sl_buf_printf(b, ",\"line\":%llu,\"reason\":", (unsigned long long)line);
    sl_json_write_string(b, reason, strlen(reason));
    if (record) {
        sl_buf_append_c(b, ",\"record\":");
        sl_json_write(b, record, 0);
    } else {
        sl_buf_append_c(b, ",\"raw\":");
        sl_json_write_string(b, raw ? raw : "", rawlen);
    }
    sl_buf_append_c(b, "}\n");
    if (r->count <= 10 || !r->path) {
        sl_warn("step %s: rejected %s:%llu: %s", r->step, origin ? origin : "?",
                (unsigned long long)line, reason);
    } else if (r->count == 11) {
        sl_warn("step %s: more rejects, see %s", r->step, r->path);
    }
    if (r->count > r->max) {
        char see[600] = "";
        if (r->path) {
            snprintf(see, sizeof see, " (see %s)", r->path);
        }
        return sl_err_set(&ctx->err, SL_EREJECTS,
                          "step '%s': %lld record(s) rejected, more than max_rejects %lld%s; "
                          "last: %s:%llu: %s",
                          r->step, (long long)r->count, (long long)r->max, see,
                          origin ? origin : "?", (unsigned long long)line, reason);
    }
    return 0;
}

int sl_reject_record(sl_step_ctx_t *ctx, const sl_batch_t *b, size_t i, const char *reason)
{
    return add(ctx, b->origin, b->lines ? b->lines[i] : 0, reason, &b->records[i], NULL, 0);
}

int sl_reject_raw(sl_step_ctx_t *ctx, const char *origin, uint64_t line, const char *raw,
                  size_t rawlen, const char *reason)
{
    return add(ctx, origin, line, reason, NULL, raw, rawlen);
}

int sl_reject_flush(sl_step_ctx_t *ctx)
{
    return sl_rejects_flush(ctx->rejects, &ctx->err);
}
