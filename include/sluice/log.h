/* Logging: text or JSON lines on stderr, with levels.
 *
 * Secret values (resolved ${env:}/${file:} config values) are registered
 * with sl_log_add_secret and replaced by "***" in every line, whatever the
 * level, as a last line of defence. */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdio.h>

#include "sluice/common.h"

typedef enum {
    SL_LOG_DEBUG = 0,
    SL_LOG_INFO,
    SL_LOG_WARN,
    SL_LOG_ERROR,
} sl_log_level_t;

typedef enum {
    SL_LOG_TEXT = 0,
    SL_LOG_JSON,
} sl_log_format_t;

void sl_log_setup(sl_log_level_t level, sl_log_format_t format);
/* Parses "debug|info|warn|error"; returns 0 or SL_EINVAL. */
int sl_log_level_parse(const char *s, sl_log_level_t *out);
bool sl_log_enabled(sl_log_level_t level);
/* Copies s (>= 4 chars; shorter values are not masked to keep logs
 * readable) into the redaction list. */
void sl_log_add_secret(const char *s, size_t n);
/* Masks every registered secret in the NUL-terminated s, in place (for
 * messages that leave through other ways than the log: run summaries, the
 * run history, stderr). */
void sl_log_redact(char *s);
/* The unit of work a thread is running, attached to every line it logs
 * (plugins need not say where they are): JSON lines get "run", "step" and
 * "item" fields; text lines get "[step item] " once an item is set (units
 * running side by side), and nothing for a plain step, whose lines already
 * name it. Strings are borrowed: they must outlive the scope. */
typedef struct {
    const char *run;  /* run id */
    const char *step; /* step path, "per_date/extract" inside a map */
    const char *item; /* item label, e.g. "2026-12-07" or "#17", or NULL */
} sl_log_scope_t;

/* Sets the calling thread's scope (NULL: none) and returns the previous
 * one, for the caller to restore. */
const sl_log_scope_t *sl_log_scope_set(const sl_log_scope_t *scope);
const sl_log_scope_t *sl_log_scope(void);

/* From now on, every line logged (at the enabled levels) is also written
 * to f as a JSON line, redacted, whatever the console's format, until
 * sl_log_capture_stop: a run's log kept with its outputs (export_logs).
 * One capture at a time (SL_EINVAL for a second). */
int sl_log_capture_start(FILE *f);
void sl_log_capture_stop(void);

void sl_log(sl_log_level_t level, const char *fmt, ...) SL_PRINTF(2, 3);
/* With structured fields for JSON output: pairs of key, value strings,
 * terminated by NULL. Text output appends them as key=value. */
void sl_logf(sl_log_level_t level, const char *const *kv, const char *fmt, ...) SL_PRINTF(3, 4);

#define sl_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)
#define sl_info(...) sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_warn(...) sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_error(...) sl_log(SL_LOG_ERROR, __VA_ARGS__)

#endif
