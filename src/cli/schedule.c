/* `sluice schedule next PIPELINE.yaml [-n N]`: the next times the
 * pipeline's schedule fires, in UTC and on its zone's wall clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "sluice/log.h"
#include "sluice/timeutil.h"
#include "sluice/tz.h"

static void ignore_warning(void *ud, const char *msg)
{
    (void)ud;
    (void)msg;
}

int sl_cli_schedule(const sl_cli_t *c)
{
    if (c->nargs < 2 || strcmp(c->args[0], "next") != 0) {
        return sl_cli_usage_error("%s", "usage: sluice schedule next PIPELINE.yaml [-n N]");
    }
    sl_arena_t *a = sl_arena_create(64 * 1024, 0);
    sl_pipeline_t *p = NULL;
    sl_err_t err = {0};
    /* the schedule needs no secret: the file loads where they are absent */
    sl_config_opts_t opts = {.missing_ok = true, .warn = ignore_warning};
    if (!a || sl_pipeline_load_opts(a, c->args[1], &opts, &p, &err) != 0) {
        sl_log_redact(err.msg);
        fprintf(stderr, "%s\n", a ? err.msg : "sluice: out of memory");
        sl_arena_destroy(a);
        return SL_EXIT_USAGE;
    }
    if (!p->schedule) {
        fprintf(stderr, "sluice: %s has no schedule\n", c->args[1]);
        sl_arena_destroy(a);
        return SL_EXIT_USAGE;
    }
    const sl_schedule_t *s = p->schedule;
    sl_cron_t expr = s->expr;
    int64_t now = sl_now_us() / 1000000;
    const char *clock = getenv("SLUICE_CLOCK"); /* as the server's scheduler, for tests */
    int64_t fake_us;
    if (clock && *clock && sl_timestamp_parse(clock, strlen(clock), &fake_us) == 0) {
        now = fake_us / 1000000;
    }
    if (expr.kind == SL_CRON_RATE) {
        expr.anchor_s = now; /* a server started now */
    }
    printf("%s: %s (%s)\n", p->name, s->text, s->timezone);
    int64_t t = now;
    int n = c->count > 0 ? c->count : 5;
    for (int i = 0; i < n; i++) {
        int rc = sl_cron_next(&expr, s->timezone, t, &t);
        if (rc) {
            printf("  no more fire times before 2200\n");
            break;
        }
        char utc[40], local[64] = "";
        sl_timestamp_format(t * 1000000, utc);
        struct tm tm;
        if (sl_tz_to_local(s->timezone, t, &tm) == 0) {
            strftime(local, sizeof local, "%Y-%m-%d %H:%M:%S %Z", &tm);
        }
        printf("  %s  %s\n", utc, local);
    }
    sl_arena_destroy(a);
    return 0;
}
