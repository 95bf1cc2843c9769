/* Tests for src/core/retry.c and src/config/retry_policy.c: error classes,
 * backoff delays (exact without jitter, bounded and reproducible with it,
 * Retry-After, overflow) and policies read from YAML. */
#include <string.h>

#include "../test.h"
#include "sluice/retry.h"
#include "sluice/timeutil.h"

SL_TEST(retry_class_names_round_trip)
{
    for (int i = SL_ECLASS_TRANSIENT; i < SL_ECLASS_COUNT; i++) {
        sl_error_class_t back = SL_ECLASS_NONE;
        CHECK_INT(sl_error_class_parse(sl_error_class_name((sl_error_class_t)i), &back), 0);
        CHECK_INT(back, i);
    }
    CHECK_STR(sl_error_class_name(SL_ECLASS_TRANSIENT), "transient");
    CHECK_STR(sl_error_class_name(SL_ECLASS_TIMEOUT), "timeout");
    CHECK_STR(sl_error_class_name(SL_ECLASS_RATE_LIMITED), "rate_limited");
    CHECK_STR(sl_error_class_name(SL_ECLASS_DATA), "data");
    CHECK_STR(sl_error_class_name(SL_ECLASS_CONFIG), "config");
    CHECK_STR(sl_error_class_name(SL_ECLASS_FATAL), "fatal");
    CHECK_STR(sl_error_class_name((sl_error_class_t)99), "?");
    sl_error_class_t c = SL_ECLASS_DATA;
    CHECK_INT(sl_error_class_parse("none", &c), SL_ENOTFOUND);
    CHECK_INT(sl_error_class_parse("Transient", &c), SL_ENOTFOUND);
    CHECK_INT(sl_error_class_parse("", &c), SL_ENOTFOUND);
    CHECK_INT(c, SL_ECLASS_DATA);
}

SL_TEST(retry_class_of_codes)
{
    CHECK_INT(sl_error_class_of(0), SL_ECLASS_NONE);
    CHECK_INT(sl_error_class_of(SL_ERETRY), SL_ECLASS_TRANSIENT);
    CHECK_INT(sl_error_class_of(SL_EIO), SL_ECLASS_TRANSIENT);
    CHECK_INT(sl_error_class_of(SL_ETIMEOUT), SL_ECLASS_TIMEOUT);
    CHECK_INT(sl_error_class_of(SL_ERATELIMITED), SL_ECLASS_RATE_LIMITED);
    CHECK_INT(sl_error_class_of(SL_EPARSE), SL_ECLASS_DATA);
    CHECK_INT(sl_error_class_of(SL_ETYPE), SL_ECLASS_DATA);
    CHECK_INT(sl_error_class_of(SL_EREJECTS), SL_ECLASS_DATA);
    CHECK_INT(sl_error_class_of(SL_ESINK), SL_ECLASS_DATA);
    CHECK_INT(sl_error_class_of(SL_ECONFIG), SL_ECLASS_CONFIG);
    CHECK_INT(sl_error_class_of(SL_EINVAL), SL_ECLASS_CONFIG);
    CHECK_INT(sl_error_class_of(SL_EUNSUPPORTED), SL_ECLASS_CONFIG);
    CHECK_INT(sl_error_class_of(SL_ENOMEM), SL_ECLASS_FATAL);
    CHECK_INT(sl_error_class_of(SL_ESTATE), SL_ECLASS_FATAL);
    CHECK_INT(sl_error_class_of(SL_ECANCELLED), SL_ECLASS_FATAL);
    CHECK_INT(sl_error_class_of(SL_ENOTFOUND), SL_ECLASS_FATAL);
    CHECK_INT(sl_error_class_of(SL_ELIMIT), SL_ECLASS_FATAL);
    CHECK_INT(sl_error_class_of(-999), SL_ECLASS_FATAL);
    CHECK_STR(sl_strerror(SL_ETIMEOUT), "timed out");
    CHECK_STR(sl_strerror(SL_ERATELIMITED), "rate limited");
    CHECK_INT(SL_ETIMEOUT, -23);
    CHECK_INT(SL_ERATELIMITED, -24);
}

SL_TEST(retry_default_policy_and_should)
{
    sl_retry_policy_t p = sl_retry_policy_default();
    CHECK_INT(p.max_attempts, 3);
    CHECK_INT(p.interval_us, 1000000);
    CHECK_DBL(p.backoff, 2.0);
    CHECK_INT(p.max_delay_us, 60000000);
    CHECK(p.jitter);
    CHECK(sl_retry_should(&p, SL_ECLASS_TRANSIENT, 1));
    CHECK(sl_retry_should(&p, SL_ECLASS_TIMEOUT, 2));
    CHECK(sl_retry_should(&p, SL_ECLASS_RATE_LIMITED, 1));
    CHECK(!sl_retry_should(&p, SL_ECLASS_TRANSIENT, 3)); /* 3 attempts made: done */
    CHECK(!sl_retry_should(&p, SL_ECLASS_DATA, 1));
    CHECK(!sl_retry_should(&p, SL_ECLASS_CONFIG, 1));
    CHECK(!sl_retry_should(&p, SL_ECLASS_FATAL, 1));
    CHECK(!sl_retry_should(&p, SL_ECLASS_NONE, 1));
    p.on = SL_RETRY_ON(SL_ECLASS_DATA);
    CHECK(sl_retry_should(&p, SL_ECLASS_DATA, 1));
    CHECK(!sl_retry_should(&p, SL_ECLASS_TRANSIENT, 1));
    p.max_attempts = 1;
    CHECK(!sl_retry_should(&p, SL_ECLASS_DATA, 1));
}

SL_TEST(retry_delay_without_jitter_is_exact)
{
    sl_retry_policy_t p = {.max_attempts = 10,
                           .interval_us = 1000,
                           .backoff = 2.0,
                           .max_delay_us = 50000,
                           .jitter = false};
    static const int64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 50000, 50000};
    for (int a = 1; a <= 8; a++) {
        CHECK_INT(sl_retry_delay_us(&p, a, -1, NULL), want[a - 1]);
    }
    p.backoff = 1.5;
    p.interval_us = 800;
    CHECK_INT(sl_retry_delay_us(&p, 1, -1, NULL), 800);
    CHECK_INT(sl_retry_delay_us(&p, 2, -1, NULL), 1200);
    CHECK_INT(sl_retry_delay_us(&p, 3, -1, NULL), 1800);
    CHECK_INT(sl_retry_delay_us(&p, 4, -1, NULL), 2700);
    p.backoff = 1.0;
    CHECK_INT(sl_retry_delay_us(&p, 7, -1, NULL), 800);
    /* attempt 0 or below reads as the first retry */
    CHECK_INT(sl_retry_delay_us(&p, 0, -1, NULL), 800);
    p.max_delay_us = 0;
    CHECK_INT(sl_retry_delay_us(&p, 1, -1, NULL), 0);
}

SL_TEST(retry_delay_jitter_bounded_and_seeded)
{
    sl_retry_policy_t p = {.max_attempts = 10,
                           .interval_us = 1000,
                           .backoff = 2.0,
                           .max_delay_us = 20000,
                           .jitter = true};
    uint64_t s1 = 42, s2 = 42, s3 = 43;
    int64_t first[64];
    bool differs = false, below = false;
    for (int i = 0; i < 64; i++) {
        int attempt = 1 + i % 8;
        int64_t ceiling = SL_MIN(1000LL << (attempt - 1), 20000);
        int64_t a = sl_retry_delay_us(&p, attempt, -1, &s1);
        int64_t b = sl_retry_delay_us(&p, attempt, -1, &s2);
        int64_t c = sl_retry_delay_us(&p, attempt, -1, &s3);
        CHECK(a >= 0 && a <= ceiling);
        CHECK(c >= 0 && c <= ceiling);
        CHECK_INT(a, b); /* same seed, same sequence */
        differs = differs || a != c;
        below = below || a < ceiling;
        first[i] = a;
    }
    CHECK(differs); /* another seed, another sequence */
    CHECK(below);   /* jitter really spreads the waits */
    /* replaying the seed gives the first sequence again */
    uint64_t again = 42;
    for (int i = 0; i < 64; i++) {
        CHECK_INT(sl_retry_delay_us(&p, 1 + i % 8, -1, &again), first[i]);
    }
    /* seeds differ between instances */
    int x, y;
    CHECK(sl_retry_seed(&x) != sl_retry_seed(&y));
}

SL_TEST(retry_delay_retry_after_raises_but_capped)
{
    sl_retry_policy_t p = {.max_attempts = 5,
                           .interval_us = 1000,
                           .backoff = 2.0,
                           .max_delay_us = 300000,
                           .jitter = false};
    CHECK_INT(sl_retry_delay_us(&p, 1, 0, NULL), 1000);         /* a shorter ask changes nothing */
    CHECK_INT(sl_retry_delay_us(&p, 1, 200000, NULL), 200000);  /* raised */
    CHECK_INT(sl_retry_delay_us(&p, 1, 5000000, NULL), 300000); /* capped at max_delay */
    p.jitter = true;
    uint64_t s = 7;
    for (int i = 0; i < 20; i++) {
        CHECK_INT(sl_retry_delay_us(&p, 1, 100000, &s), 100000); /* above any jittered wait */
        CHECK_INT(sl_retry_delay_us(&p, 3, 9000000, &s), 300000);
    }
}

SL_TEST(retry_delay_no_overflow)
{
    sl_retry_policy_t p = {.max_attempts = 1000,
                           .interval_us = 1000000,
                           .backoff = 10.0,
                           .max_delay_us = 60000000,
                           .jitter = false};
    CHECK_INT(sl_retry_delay_us(&p, 200, -1, NULL), 60000000);
    CHECK_INT(sl_retry_delay_us(&p, 2147483647, -1, NULL), 60000000);
    p.max_delay_us = INT64_MAX;
    CHECK_INT(sl_retry_delay_us(&p, 200, -1, NULL), INT64_MAX);
    CHECK_INT(sl_retry_delay_us(&p, 200, INT64_MAX, NULL), INT64_MAX);
    p.jitter = true;
    uint64_t s = 1;
    for (int i = 0; i < 10; i++) {
        CHECK(sl_retry_delay_us(&p, 200, -1, &s) >= 0);
    }
    p.interval_us = INT64_MAX;
    p.backoff = 1e308;
    CHECK(sl_retry_delay_us(&p, 3, -1, &s) >= 0);
}

/* ---- policies from YAML ---- */

static int policy(const char *yaml, sl_retry_policy_t *p, sl_err_t *err)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_node_t *root = NULL;
    if (sl_config_parse(a, "pipeline.yaml", yaml, strlen(yaml), NULL, &root, err) != 0) {
        sl_test_fail(__FILE__, __LINE__, "parse failed: %s", err->msg);
    }
    err->msg[0] = '\0';
    *p = sl_retry_policy_default();
    int rc = sl_retry_policy_from_node(sl_node_get(root, "retry"), p, err);
    sl_arena_destroy(a);
    return rc;
}

static void expect_error(const char *yaml, const char *msg)
{
    sl_retry_policy_t p;
    sl_err_t err;
    CHECK_INT(policy(yaml, &p, &err), SL_ECONFIG);
    CHECK_STR(err.msg, msg);
}

SL_TEST(retry_policy_from_yaml)
{
    sl_retry_policy_t p;
    sl_err_t err;
    CHECK_INT(policy("retry:\n"
                     "  max_attempts: 5\n"
                     "  interval: 500ms\n"
                     "  backoff: 1.5\n"
                     "  max_delay: 2m\n"
                     "  jitter: none\n"
                     "  on: [transient, data]\n",
                     &p, &err),
              0);
    CHECK_INT(p.max_attempts, 5);
    CHECK_INT(p.interval_us, 500000);
    CHECK_DBL(p.backoff, 1.5);
    CHECK_INT(p.max_delay_us, 120000000);
    CHECK(!p.jitter);
    CHECK_INT(p.on, SL_RETRY_ON(SL_ECLASS_TRANSIENT) | SL_RETRY_ON(SL_ECLASS_DATA));
    /* absent keys keep the defaults; a single class; plain numbers are seconds */
    CHECK_INT(policy("retry: {interval: 2, on: timeout, jitter: full}\n", &p, &err), 0);
    CHECK_INT(p.max_attempts, 3);
    CHECK_INT(p.interval_us, 2000000);
    CHECK_INT(p.max_delay_us, 60000000);
    CHECK(p.jitter);
    CHECK_INT(p.on, SL_RETRY_ON(SL_ECLASS_TIMEOUT));
    CHECK_INT(policy("retry: {on: [], interval: 0.25, max_delay: 1h}\n", &p, &err), 0);
    CHECK_INT(p.on, 0);
    CHECK_INT(p.interval_us, 250000);
    CHECK_INT(p.max_delay_us, 3600000000LL);
    /* no retry map: the defaults */
    CHECK_INT(policy("name: x\n", &p, &err), 0);
    CHECK_INT(p.max_attempts, 3);
}

SL_TEST(retry_policy_errors)
{
    expect_error("retry:\n  on: [transient, timout]\n",
                 "pipeline.yaml:2:19: on: unknown error class 'timout' (did you mean "
                 "'timeout'?); known classes: transient, timeout, rate_limited, data, config, "
                 "fatal, tolerance_exceeded");
    expect_error("retry: {on: whatever}\n",
                 "pipeline.yaml:1:13: on: unknown error class 'whatever'; known classes: "
                 "transient, timeout, rate_limited, data, config, fatal, tolerance_exceeded");
    expect_error("retry:\n  interval: 5 minutes\n",
                 "pipeline.yaml:2:13: interval: expected a duration such as 500ms, 2s, 5m or 1h "
                 "(or a number of seconds), got '5 minutes'");
    expect_error("retry: {max_delay: -1s}\n",
                 "pipeline.yaml:1:20: max_delay: expected a duration such as 500ms, 2s, 5m or "
                 "1h (or a number of seconds), got '-1s'");
    expect_error("retry: {max_attempts: 0}\n",
                 "pipeline.yaml:1:23: retry: key 'max_attempts' must be at least 1, got 0");
    expect_error("retry: {backoff: 0.5}\n",
                 "pipeline.yaml:1:18: retry: key 'backoff' must be at least 1, got 0.5");
    expect_error("retry: {jitter: half}\n",
                 "pipeline.yaml:1:17: retry: key 'jitter' must be one of full, none; got 'half'");
    expect_error("retry: {max_attempt: 3}\n",
                 "pipeline.yaml:1:9: retry: unknown key 'max_attempt' (did you mean "
                 "'max_attempts'?)");
}

/* ---- durations (src/core/timeutil.c) ---- */

static int64_t dur(const char *s)
{
    int64_t us = -1;
    int rc = sl_duration_parse(s, strlen(s), &us);
    if (rc != 0) {
        sl_test_fail(__FILE__, __LINE__, "sl_duration_parse(\"%s\") failed: %d", s, rc);
    }
    return us;
}

static int dur_rc(const char *s)
{
    int64_t us = 12345;
    int rc = sl_duration_parse(s, strlen(s), &us);
    if (rc != 0 && us != 12345) {
        sl_test_fail(__FILE__, __LINE__, "\"%s\" failed but wrote %lld", s, (long long)us);
    }
    return rc;
}

SL_TEST(retry_duration_parse)
{
    CHECK_INT(dur("500ms"), 500000);
    CHECK_INT(dur("2s"), 2000000);
    CHECK_INT(dur("5m"), 300000000);
    CHECK_INT(dur("1h"), 3600000000LL);
    CHECK_INT(dur("250us"), 250);
    CHECK_INT(dur("1h30m"), 5400000000LL);
    CHECK_INT(dur("1m0.5s"), 60500000);
    CHECK_INT(dur("1.5s"), 1500000);
    CHECK_INT(dur(".5ms"), 500);
    CHECK_INT(dur("0.0000001s"), 0); /* below a microsecond */
    CHECK_INT(dur("0.333333333333333333333h"), 1199999999);
    CHECK_INT(dur("2"), 2000000);
    CHECK_INT(dur("0.25"), 250000);
    CHECK_INT(dur("0"), 0);
    CHECK_INT(dur("0s"), 0);
    CHECK_INT(dur("9223372036854775807us"), INT64_MAX);
    CHECK_INT(dur("2562047788h"), 2562047788LL * 3600000000LL);
    CHECK_INT(dur_rc(""), SL_EPARSE);
    CHECK_INT(dur_rc("s"), SL_EPARSE);
    CHECK_INT(dur_rc("-1s"), SL_EPARSE);
    CHECK_INT(dur_rc("+1s"), SL_EPARSE);
    CHECK_INT(dur_rc("1h30"), SL_EPARSE); /* a plain number only on its own */
    CHECK_INT(dur_rc("1 s"), SL_EPARSE);
    CHECK_INT(dur_rc("1d"), SL_EPARSE);
    CHECK_INT(dur_rc("1sec"), SL_EPARSE);
    CHECK_INT(dur_rc("1e3"), SL_EPARSE);
    CHECK_INT(dur_rc("."), SL_EPARSE);
    CHECK_INT(dur_rc("9223372036854775808us"), SL_ELIMIT);
    CHECK_INT(dur_rc("2562047789h"), SL_ELIMIT);
    CHECK_INT(dur_rc("99999999999999999999999h"), SL_ELIMIT);
}
