/* The `stdout` sink: JSON Lines or CSV on standard output.
 *
 * Records are encoded into a buffer written to fd 1 at the end of every
 * batch (and whenever it passes 1 MiB), so a batch is out of the process
 * when write() returns: the sink is durable per batch as far as sluice can
 * tell, and the engine acknowledges each batch right away. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink_text.h"
#include "sluice/plugin.h"

#define FLUSH_AT (1u << 20)

static const char *const formats[] = {"jsonl", "ndjson", "csv", "tsv", NULL};

static const sl_field_spec_t stdout_sink_config[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .doc = "stdout"},
    {.name = "format", .type = SL_FIELD_STRING, .choices = formats,
     .doc = "jsonl (ndjson), csv or tsv", .def = "jsonl"},
    {.name = "delimiter", .type = SL_FIELD_STRING,
     .doc = "CSV field delimiter: one character, \\t or tab", .def = "',' (tab for tsv)"},
    {.name = "header", .type = SL_FIELD_BOOL, .doc = "CSV: write a header line", .def = "true"},
    {.name = "columns", .type = SL_FIELD_STRING_LIST, .min_len = 1, .doc = "CSV: column order",
     .def = "the first record's keys"},
    {.name = NULL},
};

typedef struct {
    sl_step_ctx_t *ctx;
    sl_text_enc_t enc;
    sl_buf_t buf;
    int fd;
} stdout_sink_t;

static int flush_out(stdout_sink_t *s)
{
    const char *p = s->buf.data;
    size_t n = s->buf.len;
    while (n > 0) {
        ssize_t w = write(s->fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return sl_err_set(&s->ctx->err, SL_EIO, "stdout sink: cannot write: %s",
                              strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    sl_buf_clear(&s->buf);
    return 0;
}

static void stdout_sink_close(void *self);

/* The options alone, for `sluice validate`; open() runs the same. */
static int stdout_sink_check(const sl_node_t *cfg, sl_err_t *err)
{
    return sl_text_check(cfg, "stdout sink", NULL, err);
}

static int stdout_sink_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    *self = NULL;
    stdout_sink_t *s = calloc(1, sizeof *s);
    if (!s) {
        return SL_ENOMEM;
    }
    s->ctx = ctx;
    s->fd = STDOUT_FILENO;
    sl_buf_init(&s->buf, 0);
    int rc = sl_text_enc_init(&s->enc, "stdout sink", ctx, cfg, NULL, false);
    if (!rc && sl_buf_reserve(&s->buf, FLUSH_AT + (64u << 10)) != 0) {
        rc = SL_ENOMEM;
    }
    if (rc) {
        /* The engine closes only sinks that opened. */
        stdout_sink_close(s);
        return rc;
    }
    *self = s;
    return 0;
}

static int stdout_sink_write(void *self, sl_batch_t *b, const char *key,
                             const char *checkpoint)
{
    (void)key;
    (void)checkpoint;
    stdout_sink_t *s = self;
    for (size_t i = 0; i < b->n; i++) {
        int rc = sl_text_enc_record(&s->enc, &s->buf, b, i, &s->ctx->err);
        if (rc) {
            if (rc == SL_ENOMEM || rc == SL_ELIMIT) {
                return sl_err_set(&s->ctx->err, rc, "stdout sink: out of memory");
            }
            return rc;
        }
        if (s->buf.len >= FLUSH_AT && (rc = flush_out(s)) != 0) {
            return rc;
        }
    }
    return flush_out(s);
}

static int stdout_sink_commit(void *self)
{
    stdout_sink_t *s = self;
    int rc = sl_text_enc_finish(&s->enc, &s->buf);
    return rc ? rc : flush_out(s);
}

static void stdout_sink_close(void *self)
{
    stdout_sink_t *s = self;
    if (!s) {
        return;
    }
    sl_text_enc_free(&s->enc);
    sl_buf_free(&s->buf);
    free(s);
}

const sl_sink_type_t sl_sink_stdout = {
    .name = "stdout",
    .doc = "JSON Lines or CSV on standard output, written at the end of every batch",
    .config = stdout_sink_config,
    .check = stdout_sink_check,
    .flags = SL_SINK_DURABLE_PER_BATCH,
    .open = stdout_sink_open,
    .instance_flags = NULL,
    .write = stdout_sink_write,
    .commit = stdout_sink_commit,
    .checkpoint_get = NULL,
    .close = stdout_sink_close,
};
