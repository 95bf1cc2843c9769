/* Logging to stderr as text or JSON lines, with secret redaction. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/buf.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/timeutil.h"

static sl_log_level_t min_level = SL_LOG_INFO;
static sl_log_format_t fmt_kind = SL_LOG_TEXT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
    char *s;
    size_t n;
} secret_t;
static secret_t *secrets;
static size_t nsecrets;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static _Thread_local const sl_log_scope_t *thread_scope;

const sl_log_scope_t *sl_log_scope_set(const sl_log_scope_t *scope)
{
    const sl_log_scope_t *old = thread_scope;
    thread_scope = scope;
    return old;
}

const sl_log_scope_t *sl_log_scope(void)
{
    return thread_scope;
}

static void json_field(sl_buf_t *line, const char *k, const char *v)
{
    sl_buf_putc(line, ',');
    sl_json_write_string(line, k, strlen(k));
    sl_buf_putc(line, ':');
    sl_json_write_string(line, v, strlen(v));
}

void sl_log_setup(sl_log_level_t level, sl_log_format_t format)
{
    min_level = level;
    fmt_kind = format;
}

int sl_log_level_parse(const char *s, sl_log_level_t *out)
{
    for (unsigned i = 0; i < SL_ARRAY_LEN(level_names); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (sl_log_level_t)i;
            return 0;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = SL_LOG_WARN;
        return 0;
    }
    return SL_EINVAL;
}

bool sl_log_enabled(sl_log_level_t level)
{
    return level >= min_level;
}

void sl_log_add_secret(const char *s, size_t n)
{
    if (n < 4) {
        return;
    }
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nsecrets; i++) {
        if (secrets[i].n == n && memcmp(secrets[i].s, s, n) == 0) {
            pthread_mutex_unlock(&lock);
            return;
        }
    }
    secret_t *grown = realloc(secrets, (nsecrets + 1) * sizeof *secrets);
    if (grown) {
        secrets = grown;
        secrets[nsecrets].s = malloc(n);
        if (secrets[nsecrets].s) {
            memcpy(secrets[nsecrets].s, s, n);
            secrets[nsecrets].n = n;
            nsecrets++;
        }
    }
    pthread_mutex_unlock(&lock);
}

/* Replaces every registered secret in b with "***". Called with lock held. */
static void redact(sl_buf_t *b)
{
    for (size_t k = 0; k < nsecrets; k++) {
        const secret_t *sec = &secrets[k];
        char *p;
        size_t from = 0;
        while (from < b->len &&
               (p = memmem(b->data + from, b->len - from, sec->s, sec->n)) != NULL) {
            size_t at = (size_t)(p - b->data);
            size_t tail = b->len - at - sec->n;
            memcpy(p, "***", 3);
            memmove(p + 3, p + sec->n, tail);
            b->len = at + 3 + tail;
            b->data[b->len] = '\0';
            from = at + 3;
        }
    }
}

void sl_log_redact(char *s)
{
    if (!s || nsecrets == 0) {
        return;
    }
    sl_buf_t b = SL_BUF_INIT;
    if (sl_buf_append_c(&b, s) != 0) {
        return;
    }
    pthread_mutex_lock(&lock);
    redact(&b);
    pthread_mutex_unlock(&lock);
    memcpy(s, b.data, b.len + 1); /* never longer: secrets are >= 4 bytes, "***" is 3 */
    sl_buf_free(&b);
}

/* A log line as JSON: ts, level, msg, the thread's scope, kv. */
static void json_line(sl_buf_t *line, const char *ts, sl_log_level_t level, const sl_buf_t *msg,
                      const char *const *kv)
{
    sl_buf_append_c(line, "{\"ts\":\"");
    sl_buf_append_c(line, ts);
    sl_buf_append_c(line, "\",\"level\":\"");
    sl_buf_append_c(line, level_names[level]);
    sl_buf_append_c(line, "\",\"msg\":");
    sl_json_write_string(line, msg->data ? msg->data : "", msg->len);
    const sl_log_scope_t *sc = thread_scope;
    if (sc && sc->run) {
        json_field(line, "run", sc->run);
    }
    if (sc && sc->step) {
        json_field(line, "step", sc->step);
    }
    if (sc && sc->item) {
        json_field(line, "item", sc->item);
    }
    for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
        json_field(line, kv[i], kv[i + 1]);
    }
    sl_buf_append_c(line, "}\n");
}

/* "[2026-11-22 10:30:45] message" as the seed pipelines print. */
static void text_line(sl_buf_t *line, char *ts, sl_log_level_t level, const sl_buf_t *msg,
                      const char *const *kv)
{
    ts[10] = ' ';
    ts[19] = '\0';
    sl_buf_printf(line, "[%s] ", ts);
    if (level != SL_LOG_INFO) {
        sl_buf_printf(line, "%s: ", level_names[level]);
    }
    const sl_log_scope_t *sc = thread_scope;
    if (sc && sc->item) {
        sl_buf_printf(line, "[%s %s] ", sc->step ? sc->step : "", sc->item);
    }
    sl_buf_append(line, msg->data ? msg->data : "", msg->len);
    for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
        sl_buf_printf(line, " %s=%s", kv[i], kv[i + 1]);
    }
    sl_buf_putc(line, '\n');
}

static FILE *capture; /* sl_log_capture_start's file, under lock */

int sl_log_capture_start(FILE *f)
{
    pthread_mutex_lock(&lock);
    int rc = capture ? SL_EINVAL : 0;
    if (!capture) {
        capture = f;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void sl_log_capture_stop(void)
{
    pthread_mutex_lock(&lock);
    capture = NULL;
    pthread_mutex_unlock(&lock);
}

static void emit(sl_log_level_t level, const char *const *kv, const char *fmt, va_list ap)
{
    if (!sl_log_enabled(level)) {
        return;
    }
    sl_buf_t msg = SL_BUF_INIT, line = SL_BUF_INIT, json = SL_BUF_INIT;
    sl_buf_vprintf(&msg, fmt, ap);
    char ts[40];
    sl_timestamp_format(sl_now_us(), ts);
    if (fmt_kind == SL_LOG_JSON) {
        json_line(&line, ts, level, &msg, kv);
    } else {
        /* a capture is JSON whatever the console shows */
        if (capture) {
            json_line(&json, ts, level, &msg, kv);
        }
        text_line(&line, ts, level, &msg, kv);
    }
    pthread_mutex_lock(&lock);
    if (line.data) {
        redact(&line);
        fwrite(line.data, 1, line.len, stderr);
        fflush(stderr);
    }
    sl_buf_t *copy = fmt_kind == SL_LOG_JSON ? &line : &json;
    if (capture && copy->data) {
        if (copy == &json) {
            redact(&json);
        }
        fwrite(copy->data, 1, copy->len, capture);
    }
    pthread_mutex_unlock(&lock);
    sl_buf_free(&msg);
    sl_buf_free(&line);
    sl_buf_free(&json);
}

void sl_log(sl_log_level_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(level, NULL, fmt, ap);
    va_end(ap);
}

void sl_logf(sl_log_level_t level, const char *const *kv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(level, kv, fmt, ap);
    va_end(ap);
}
