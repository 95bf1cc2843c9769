/* Tests for the log's unit scope (src/core/log.c): the run/step/item a
 * thread works for is on every line it logs. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "sluice/log.h"

/* Runs fn with stderr going to a file and returns what it wrote. */
static const char *capture(void (*fn)(void))
{
    static char out[4096];
    const char *path = sl_test_write_file("log.txt", "", 0);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(path, "rb");
    size_t n = fread(out, 1, sizeof out - 1, f);
    fclose(f);
    out[n] = '\0';
    return out;
}

static void log_in_scopes(void)
{
    sl_log_scope_t step = {.run = "r-1", .step = "load"};
    sl_log_scope_t item = {.run = "r-1", .step = "per_date/extract", .item = "2026-12-07"};
    sl_info("before");
    const sl_log_scope_t *outer = sl_log_scope_set(&step);
    sl_info("in step");
    sl_log_scope_set(&item);
    sl_warn("in item");
    sl_log_scope_set(outer);
    sl_info("after");
}

SL_TEST(log_scope_json_fields)
{
    sl_log_setup(SL_LOG_INFO, SL_LOG_JSON);
    const char *out = capture(log_in_scopes);
    CHECK_CONTAINS(out, "\"msg\":\"before\"}");
    CHECK_CONTAINS(out, "\"msg\":\"in step\",\"run\":\"r-1\",\"step\":\"load\"}");
    CHECK_CONTAINS(out, "\"msg\":\"in item\",\"run\":\"r-1\",\"step\":\"per_date/extract\","
                        "\"item\":\"2026-12-07\"}");
    CHECK_CONTAINS(out, "\"msg\":\"after\"}");
    CHECK(sl_log_scope() == NULL);
}

SL_TEST(log_scope_text_prefix_only_for_items)
{
    sl_log_setup(SL_LOG_INFO, SL_LOG_TEXT);
    const char *out = capture(log_in_scopes);
    CHECK_CONTAINS(out, "] in step\n");
    CHECK_CONTAINS(out, "] warn: [per_date/extract 2026-12-07] in item\n");
    CHECK_CONTAINS(out, "] after\n");
}
