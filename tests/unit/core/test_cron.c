/* Tests for src/core/cron.c: tables of expressions and their next fire
 * times (worked out by hand from a calendar; each checked with
 * `TZ=zone date -d @S '+%F %T %a'`), DST changes in America/Chicago and
 * Europe/Berlin, and parse errors with their exact messages. */
#include <string.h>
#include <time.h>

#include "../test.h"
#include "sluice/cron.h"
#include "sluice/timeutil.h"

static int64_t iso(const char *s)
{
    int64_t us = 0;
    if (sl_timestamp_parse(s, strlen(s), &us) != 0) {
        sl_test_fail(__FILE__, __LINE__, "bad timestamp '%s'", s);
    }
    return us / 1000000;
}

typedef struct {
    const char *expr;
    const char *tz;
    const char *after;
    const char *next[5]; /* the fire times in order; "none": no more (SL_ENOTFOUND) */
    const char *anchor;  /* rate: when the schedule started (NULL: the epoch) */
} next_case_t;

#define NEXT(expr, tz, after, ...)                                                                 \
    {                                                                                              \
        expr, tz, after, {__VA_ARGS__}, NULL                                                       \
    }
#define ANCHORED(anchor, expr, tz, after, ...)                                                     \
    {                                                                                              \
        expr, tz, after, {__VA_ARGS__}, anchor                                                     \
    }

static void check_cases(const next_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const next_case_t *k = &cases[i];
        sl_cron_t c;
        sl_err_t err = {0};
        if (sl_cron_parse(k->expr, &c, &err) != 0) {
            sl_test_fail(__FILE__, __LINE__, "%s: %s", k->expr, err.msg);
        }
        if (k->anchor) {
            c.anchor_s = iso(k->anchor);
        }
        int64_t t = iso(k->after);
        for (size_t j = 0; j < SL_ARRAY_LEN(k->next) && k->next[j]; j++) {
            int64_t next = 0;
            int rc = sl_cron_next(&c, k->tz, t, &next);
            char got[32];
            sl_timestamp_format(next * 1000000, got);
            if (strcmp(k->next[j], "none") == 0) {
                if (rc != SL_ENOTFOUND) {
                    sl_test_fail(__FILE__, __LINE__,
                                 "%s in %s, fire %zu: expected none, got "
                                 "rc %d %s",
                                 k->expr, k->tz, j + 1, rc, got);
                }
                break;
            }
            if (rc != 0 || strcmp(got, k->next[j]) != 0) {
                sl_test_fail(__FILE__, __LINE__,
                             "%s in %s after %s, fire %zu: rc %d %s, "
                             "expected %s",
                             k->expr, k->tz, k->after, j + 1, rc, got, k->next[j]);
            }
            /* The same fire from one second before it. */
            int64_t again = 0;
            CHECK_INT(sl_cron_next(&c, k->tz, next - 1, &again), 0);
            CHECK_INT(again, next);
            t = next;
        }
    }
}

SL_TEST(cron_aws_fields_steps_ranges_names)
{
    static const next_case_t cases[] = {
        NEXT("cron(0 8 * * ? *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T08:00:00Z",
             "2026-01-02T08:00:00Z", "2026-01-03T08:00:00Z"),
        /* The six fields without cron(...) */
        NEXT("  0 8 * * ? *  ", "UTC", "2026-01-01T08:00:00Z", "2026-01-02T08:00:00Z",
             "2026-01-03T08:00:00Z"),
        /* 2026-01-01 is a Thursday */
        NEXT("cron(15 10 ? * MON-FRI *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T10:15:00Z",
             "2026-01-02T10:15:00Z", "2026-01-05T10:15:00Z"),
        NEXT("cron(15 10 ? * 2-6 *)", "UTC", "2026-01-02T10:15:00Z", "2026-01-05T10:15:00Z",
             "2026-01-06T10:15:00Z"),
        NEXT("cron(0/15 * * * ? *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T00:15:00Z",
             "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z", "2026-01-01T01:00:00Z"),
        NEXT("cron(1/10 * * * ? *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z",
             "2026-01-01T00:11:00Z", "2026-01-01T00:21:00Z"),
        NEXT("cron(10-50/20 9 * * ? *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T09:10:00Z",
             "2026-01-01T09:30:00Z", "2026-01-01T09:50:00Z", "2026-01-02T09:10:00Z"),
        NEXT("cron(0 */6 * * ? *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T06:00:00Z",
             "2026-01-01T12:00:00Z", "2026-01-01T18:00:00Z", "2026-01-02T00:00:00Z"),
        NEXT("cron(0 0 1 JAN,jul ? *)", "UTC", "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z",
             "2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z"),
        NEXT("cron(0 0 1,15 */4 ? *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-15T00:00:00Z",
             "2026-05-01T00:00:00Z", "2026-05-15T00:00:00Z", "2026-09-01T00:00:00Z"),
        /* A start in the middle of a minute: that minute is past. */
        NEXT("cron(* * * * ? *)", "UTC", "2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z",
             "2026-01-01T00:02:00Z"),
        NEXT("cron(59 23 31 DEC ? *)", "UTC", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"),
        NEXT("cron(0 10 ? * SUN *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T10:00:00Z",
             "2026-01-11T10:00:00Z"),
        NEXT("cron(0 10 ? * 1,7 *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-03T10:00:00Z",
             "2026-01-04T10:00:00Z", "2026-01-10T10:00:00Z"),
        /* mon/2: MON, WED, FRI */
        NEXT("cron(0 10 ? * mon/2 *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T10:00:00Z",
             "2026-01-05T10:00:00Z", "2026-01-07T10:00:00Z"),
    };
    check_cases(cases, SL_ARRAY_LEN(cases));
}

SL_TEST(cron_aws_specials)
{
    static const next_case_t cases[] = {
        /* L: the last day of the month */
        NEXT("cron(0 12 L * ? *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-31T12:00:00Z",
             "2026-02-28T12:00:00Z", "2026-03-31T12:00:00Z", "2026-04-30T12:00:00Z"),
        NEXT("cron(0 12 L 2 ? *)", "UTC", "2027-06-01T00:00:00Z", "2028-02-29T12:00:00Z",
             "2029-02-28T12:00:00Z"),
        /* 15W: Jan 15 2026 is a Thursday, Feb 15 and Mar 15 are Sundays,
         * Aug 15 a Saturday. */
        NEXT("cron(0 9 15W * ? *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-15T09:00:00Z",
             "2026-02-16T09:00:00Z", "2026-03-16T09:00:00Z"),
        NEXT("cron(0 9 15W * ? *)", "UTC", "2026-08-01T00:00:00Z", "2026-08-14T09:00:00Z",
             "2026-09-15T09:00:00Z"),
        /* Never into another month: Aug 1 2026 is a Saturday (Monday the
         * 3rd, not July 31), Nov 1 a Sunday; May 31 a Sunday (Friday the
         * 29th, not June 1); June has no 31st. */
        NEXT("cron(0 9 1W * ? *)", "UTC", "2026-07-15T00:00:00Z", "2026-08-03T09:00:00Z",
             "2026-09-01T09:00:00Z", "2026-10-01T09:00:00Z", "2026-11-02T09:00:00Z"),
        NEXT("cron(0 9 31W * ? *)", "UTC", "2026-05-01T00:00:00Z", "2026-05-29T09:00:00Z",
             "2026-07-31T09:00:00Z", "2026-08-31T09:00:00Z"),
        /* LW: Jan 31 and Feb 28 2026 are Saturdays, May 31 a Sunday */
        NEXT("cron(0 18 LW * ? *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-30T18:00:00Z",
             "2026-02-27T18:00:00Z", "2026-03-31T18:00:00Z", "2026-04-30T18:00:00Z",
             "2026-05-29T18:00:00Z"),
        /* #: the third Friday; the fifth Friday (months that have one) */
        NEXT("cron(0 10 ? * 6#3 *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-16T10:00:00Z",
             "2026-02-20T10:00:00Z", "2026-03-20T10:00:00Z"),
        NEXT("cron(0 10 ? * FRI#5 *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-30T10:00:00Z",
             "2026-05-29T10:00:00Z", "2026-07-31T10:00:00Z"),
        NEXT("cron(0 10 ? * 2#1,6#3 *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-05T10:00:00Z",
             "2026-01-16T10:00:00Z", "2026-02-02T10:00:00Z"),
        /* nL: the last such day; 5 is Thursday (1 = SUN), 6 Friday */
        NEXT("cron(0 10 ? * 5L *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-29T10:00:00Z",
             "2026-02-26T10:00:00Z", "2026-03-26T10:00:00Z"),
        NEXT("cron(0 10 ? * 6L *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-30T10:00:00Z",
             "2026-02-27T10:00:00Z", "2026-03-27T10:00:00Z"),
        NEXT("cron(0 10 ? * FRIL *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-30T10:00:00Z"),
        /* L alone in day-of-week: its last day, Saturday */
        NEXT("cron(0 10 ? * L *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-03T10:00:00Z",
             "2026-01-10T10:00:00Z"),
        /* L and days in one list */
        NEXT("cron(0 0 1,L * ? *)", "UTC", "2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z",
             "2026-02-01T00:00:00Z", "2026-02-28T00:00:00Z"),
    };
    check_cases(cases, SL_ARRAY_LEN(cases));
}

SL_TEST(cron_years_leap_days_and_limits)
{
    static const next_case_t cases[] = {
        NEXT("cron(0 0 29 2 ? *)", "UTC", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z",
             "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"),
        /* 2100 is not a leap year */
        NEXT("cron(0 0 29 2 ? *)", "UTC", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"),
        NEXT("cron(0 0 29 FEB ? 2100-2103)", "UTC", "2026-01-01T00:00:00Z", "none"),
        NEXT("cron(0 0 30 2 ? *)", "UTC", "1970-01-01T00:00:00Z", "none"),
        NEXT("cron(0 0 31 4,6,9,11 ? *)", "America/Chicago", "2026-01-01T00:00:00Z", "none"),
        NEXT("cron(0 0 1 1 ? 2030-2032)", "UTC", "2026-01-01T00:00:00Z", "2030-01-01T00:00:00Z",
             "2031-01-01T00:00:00Z", "2032-01-01T00:00:00Z", "none"),
        NEXT("cron(0 0 1 1 ? 2026/50)", "UTC", "2026-01-01T00:00:00Z", "2076-01-01T00:00:00Z",
             "2126-01-01T00:00:00Z", "2176-01-01T00:00:00Z", "none"),
        NEXT("cron(0 0 1 1 ? 1970)", "UTC", "1960-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "none"),
        NEXT("cron(59 23 31 12 ? 2199)", "UTC", "2026-01-01T00:00:00Z", "2199-12-31T23:59:00Z",
             "none"),
        /* The year is the wall clock's: 2199-12-31 23:59 in Chicago is in
         * 2200 in UTC, and still fires. */
        NEXT("cron(59 23 31 12 ? *)", "America/Chicago", "2199-06-01T00:00:00Z",
             "2200-01-01T05:59:00Z", "none"),
        NEXT("cron(* * * * ? *)", "UTC", "2199-12-31T23:58:00Z", "2199-12-31T23:59:00Z", "none"),
        NEXT("cron(* * * * ? *)", "UTC", "2300-01-01T00:00:00Z", "none"),
    };
    check_cases(cases, SL_ARRAY_LEN(cases));
}

SL_TEST(cron_classic_five_fields)
{
    static const next_case_t cases[] = {
        NEXT("0 9 * * 1-5", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T09:00:00Z",
             "2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z"),
        /* Both day fields restricted: the 13th or a Friday (Vixie) */
        NEXT("0 0 13 * 5", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z",
             "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z"),
        NEXT("0 0 13 * fri", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"),
        /* A day field starting with * restricts nothing by itself: the 1st,
         * 11th, 21st or 31st that is a Friday (May 1, Jul 31, Aug 21) */
        NEXT("0 0 */10 * 5", "UTC", "2026-01-01T00:00:00Z", "2026-05-01T00:00:00Z",
             "2026-07-31T00:00:00Z", "2026-08-21T00:00:00Z"),
        NEXT("0 0 1 * *", "UTC", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z",
             "2026-03-01T00:00:00Z"),
        /* Sunday is 0 and 7 */
        NEXT("0 0 * * 7", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z",
             "2026-01-11T00:00:00Z"),
        NEXT("0 0 * * 0", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"),
        NEXT("0 0 * * SUN", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"),
        NEXT("0 0 * * 5-7", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z",
             "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z"),
        NEXT("30 6 1 jan-mar *", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T06:30:00Z",
             "2026-02-01T06:30:00Z", "2026-03-01T06:30:00Z", "2027-01-01T06:30:00Z"),
        NEXT("*/20 8-9 * * *", "UTC", "2026-01-01T09:30:00Z", "2026-01-01T09:40:00Z",
             "2026-01-02T08:00:00Z", "2026-01-02T08:20:00Z"),
    };
    check_cases(cases, SL_ARRAY_LEN(cases));
}

SL_TEST(cron_rate)
{
    static const next_case_t cases[] = {
        /* Anchored at the epoch: on whole minutes, hours, days */
        NEXT("rate(1 minute)", "UTC", "2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z",
             "2026-01-01T00:02:00Z"),
        NEXT("rate(5 minutes)", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z",
             "2026-01-01T00:10:00Z"),
        NEXT("rate(1 day)", "UTC", "2199-12-30T12:00:00Z", "2199-12-31T00:00:00Z", "none"),
        /* From the anchor: the anchor itself fires when the start is
         * before it */
        ANCHORED("2026-01-01T00:17:00Z", "rate(2 hours)", "UTC", "2026-01-01T00:00:00Z",
                 "2026-01-01T00:17:00Z", "2026-01-01T02:17:00Z", "2026-01-01T04:17:00Z"),
        ANCHORED("2026-01-01T00:17:00Z", "rate(2 hours)", "UTC", "2026-01-01T00:17:00Z",
                 "2026-01-01T02:17:00Z"),
        ANCHORED("2026-01-01T09:00:00Z", " rate( 7 days ) ", "UTC", "2026-01-20T00:00:00Z",
                 "2026-01-22T09:00:00Z", "2026-01-29T09:00:00Z"),
        /* Elapsed time, not the wall clock: the zone changes nothing */
        ANCHORED("2026-03-01T08:00:00Z", "rate(7 days)", "America/Chicago", "2026-03-02T00:00:00Z",
                 "2026-03-08T08:00:00Z", "2026-03-15T08:00:00Z"),
        NEXT("rate(1 hour)", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"),
    };
    check_cases(cases, SL_ARRAY_LEN(cases));
    sl_cron_t c;
    sl_err_t err;
    CHECK_INT(sl_cron_parse("rate(5 minutes)", &c, &err), 0);
    CHECK_INT(c.kind, SL_CRON_RATE);
    CHECK_INT(c.every_s, 300);
    CHECK_INT(c.anchor_s, 0);
    int64_t next;
    c.anchor_s = INT64_MIN;
    CHECK_INT(sl_cron_next(&c, "UTC", 0, &next), SL_EINVAL);
    c.anchor_s = iso("2300-01-01T00:00:00Z");
    CHECK_INT(sl_cron_next(&c, "UTC", 0, &next), SL_ENOTFOUND);
}

SL_TEST(cron_dst_america_chicago)
{
    /* 2026-03-08: 02:00 CST becomes 03:00 CDT (08:00Z); 2026-11-01: 02:00
     * CDT becomes 01:00 CST (07:00Z), so 01:00-01:59 happens twice. */
    static const next_case_t cases[] = {
        /* Daily 02:30: no such time on March 8, skipped that day */
        NEXT("cron(30 2 * * ? *)", "America/Chicago", "2026-03-06T12:00:00Z",
             "2026-03-07T08:30:00Z", "2026-03-09T07:30:00Z", "2026-03-10T07:30:00Z"),
        NEXT("30 2 * * *", "America/Chicago", "2026-03-07T08:30:00Z", "2026-03-09T07:30:00Z"),
        /* Daily 01:30: fires once on November 1, the first time (CDT) */
        NEXT("cron(30 1 * * ? *)", "America/Chicago", "2026-10-31T12:00:00Z",
             "2026-11-01T06:30:00Z", "2026-11-02T07:30:00Z"),
        /* Started in the second 01:xx: 01:45 already fired in the first */
        NEXT("cron(45 1 * * ? *)", "America/Chicago", "2026-11-01T07:15:00Z",
             "2026-11-02T07:45:00Z"),
        /* Hourly through both changes: each wall-clock hour once */
        NEXT("cron(0 * * * ? *)", "America/Chicago", "2026-03-08T07:30:00Z", "2026-03-08T08:00:00Z",
             "2026-03-08T09:00:00Z"),
        NEXT("cron(0 * * * ? *)", "America/Chicago", "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z",
             "2026-11-01T08:00:00Z", "2026-11-01T09:00:00Z"),
        NEXT("cron(*/30 * * * ? *)", "America/Chicago", "2026-03-08T07:00:00Z",
             "2026-03-08T07:30:00Z", "2026-03-08T08:00:00Z", "2026-03-08T08:30:00Z"),
        NEXT("cron(*/30 * * * ? *)", "America/Chicago", "2026-11-01T06:00:00Z",
             "2026-11-01T06:30:00Z", "2026-11-01T08:00:00Z"),
        /* Its only time never happens */
        NEXT("cron(0 2 8 3 ? 2026)", "America/Chicago", "2026-01-01T00:00:00Z", "none"),
        /* Midnight moves with the offset */
        NEXT("0 0 * * *", "America/Chicago", "2026-03-07T12:00:00Z", "2026-03-08T06:00:00Z",
             "2026-03-09T05:00:00Z"),
        NEXT("cron(0 8 * * ? *)", "America/Chicago", "2026-10-31T00:00:00Z", "2026-10-31T13:00:00Z",
             "2026-11-01T14:00:00Z"),
    };
    check_cases(cases, SL_ARRAY_LEN(cases));
}

SL_TEST(cron_dst_europe_berlin)
{
    /* 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00Z); 2026-10-25: 03:00
     * CEST becomes 02:00 CET (01:00Z), so 02:00-02:59 happens twice. */
    static const next_case_t cases[] = {
        NEXT("cron(30 2 * * ? *)", "Europe/Berlin", "2026-03-28T00:00:00Z", "2026-03-28T01:30:00Z",
             "2026-03-30T00:30:00Z"),
        NEXT("cron(30 2 * * ? *)", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z",
             "2026-10-26T01:30:00Z"),
        NEXT("0 3 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z",
             "2026-03-30T01:00:00Z"),
        NEXT("cron(0 0 ? * SUN *)", "Europe/Berlin", "2026-10-20T00:00:00Z", "2026-10-24T22:00:00Z",
             "2026-10-31T23:00:00Z"),
        NEXT("cron(15 * 25 10 ? 2026)", "Europe/Berlin", "2026-10-25T00:00:00Z",
             "2026-10-25T00:15:00Z", "2026-10-25T02:15:00Z", "2026-10-25T03:15:00Z"),
        NEXT("cron(0 2 ? 3 1L 2026)", "Europe/Berlin", "2026-01-01T00:00:00Z", "none"),
    };
    check_cases(cases, SL_ARRAY_LEN(cases));
}

SL_TEST(cron_parse_errors)
{
    static const struct {
        const char *expr, *msg;
    } cases[] = {
        {"cron(0 0 32 * ? *)",
         "cron: field 3 (day-of-month) at column 10: 32 is out of range 1-31"},
        {"0 12 32 * ? *", "cron: field 3 (day-of-month) at column 6: 32 is out of range 1-31"},
        {"cron(0 12 * * * *)", "cron: exactly one of day-of-month and day-of-week must be ?"},
        {"cron(0 12 ? * ? *)", "cron: exactly one of day-of-month and day-of-week must be ?"},
        {"cron(60 * * * ? *)", "cron: field 1 (minute) at column 6: 60 is out of range 0-59"},
        {"cron(0 24 * * ? *)", "cron: field 2 (hour) at column 8: 24 is out of range 0-23"},
        {"cron(0 0 1 13 ? *)", "cron: field 4 (month) at column 12: 13 is out of range 1-12"},
        {"cron(0 0 ? * 0 *)", "cron: field 5 (day-of-week) at column 14: 0 is out of range 1-7"},
        {"cron(0 0 ? * 8 *)", "cron: field 5 (day-of-week) at column 14: 8 is out of range 1-7"},
        {"cron(0 0 1 1 ? 2200)", "cron: field 6 (year) at column 16: 2200 is out of range "
                                 "1970-2199"},
        {"cron(0 0 1 1 ? 1969)", "cron: field 6 (year) at column 16: 1969 is out of range "
                                 "1970-2199"},
        {"cron(0 0 1 1 ? 99999999999999999999)", "cron: field 6 (year) at column 16: "
                                                 "99999999999999999999 is out of range "
                                                 "1970-2199"},
        {"cron(0 0 1 FOO ? *)", "cron: field 4 (month) at column 12: unknown name 'FOO' "
                                "(JAN-DEC)"},
        {"cron(0 0 ? * FRIDAY *)", "cron: field 5 (day-of-week) at column 14: unknown name "
                                   "'FRIDAY' (SUN-SAT)"},
        {"cron(0 MON * * ? *)", "cron: field 2 (hour) at column 8: unexpected 'M'"},
        {"cron(5-2 * * * ? *)", "cron: field 1 (minute) at column 6: range 5-2 goes backwards"},
        {"cron(*/0 * * * ? *)", "cron: field 1 (minute) at column 8: step 0 is out of range "
                                "1-60"},
        {"cron(0 */25 * * ? *)", "cron: field 2 (hour) at column 10: step 25 is out of range "
                                 "1-24"},
        {"cron(0/ * * * ? *)", "cron: field 1 (minute) at column 8: a step needs a number "
                               "after /"},
        {"cron(*5 * * * ? *)", "cron: field 1 (minute) at column 7: unexpected '5'"},
        {"cron(1.5 * * * ? *)", "cron: field 1 (minute) at column 7: unexpected '.'"},
        {"cron(0,,5 * * * ? *)", "cron: field 1 (minute) at column 8: empty list item"},
        {"cron(0, * * * ? *)", "cron: field 1 (minute) at column 8: empty list item"},
        {"cron(0 0 1,? * ? *)", "cron: field 3 (day-of-month) at column 12: ? stands alone in "
                                "its field"},
        {"cron(? 0 * * ? *)", "cron: field 1 (minute) at column 6: ? is only for day-of-month "
                              "and day-of-week"},
        {"cron(0 L * * ? *)", "cron: field 2 (hour) at column 8: L is only for day-of-month "
                              "and day-of-week"},
        {"cron(0 0 ? * 2W *)", "cron: field 5 (day-of-week) at column 15: W is only for "
                               "day-of-month"},
        {"cron(0 0 1#2 * ? *)", "cron: field 3 (day-of-month) at column 11: # is only for "
                                "day-of-week"},
        {"cron(0 0 ? * 6#6 *)", "cron: field 5 (day-of-week) at column 16: # takes the week "
                                "of the month, 1 to 5 (6#3 is the third Friday)"},
        {"cron(0 0 ? * 6# *)", "cron: field 5 (day-of-week) at column 16: # takes the week "
                               "of the month, 1 to 5 (6#3 is the third Friday)"},
        {"cron(0 0 1-5W * ? *)", "cron: field 3 (day-of-month) at column 13: W follows a "
                                 "single day, not a range (15W)"},
        {"cron(0 0 ? * 2-6L *)", "cron: field 5 (day-of-week) at column 17: L follows a "
                                 "single day, not a range (6L)"},
        {"cron(0 0 LX * ? *)", "cron: field 3 (day-of-month) at column 11: unexpected 'X'"},
        {"cron(0 0 15W/2 * ? *)", "cron: field 3 (day-of-month) at column 13: unexpected '/'"},
        {"cron(0 0 32W * ? *)", "cron: field 3 (day-of-month) at column 10: 32 is out of range "
                                "1-31"},
        {"cron(0 0 1 1 ? x)", "cron: field 6 (year) at column 16: unexpected 'x'"},
        {"cron(0 0 1 * ? *", "cron: missing ) at the end"},
        {"cron(0 0 1 * ? *) x", "cron: at column 19: unexpected 'x' after )"},
        {"cron(0 0 1 * ?)", "cron: expected 6 fields in cron(...) (minute hour day-of-month "
                            "month day-of-week year), got 5"},
        {"0 0 1 *", "cron: expected 5 fields (classic cron) or 6 (AWS cron: minute hour "
                    "day-of-month month day-of-week year), got 4"},
        {"0 0 1 * ? * *", "cron: expected 5 fields (classic cron) or 6 (AWS cron: minute hour "
                          "day-of-month month day-of-week year), got 7"},
        {"", "cron: empty schedule expression"},
        {" \t ", "cron: empty schedule expression"},
        /* classic cron */
        {"0 0 ? * 1", "cron: field 3 (day-of-month) at column 5: '?' is for AWS cron only "
                      "(6 fields)"},
        {"0 0 L * *", "cron: field 3 (day-of-month) at column 5: 'L' is for AWS cron only "
                      "(6 fields)"},
        {"0 0 * * 5#3", "cron: field 5 (day-of-week) at column 10: '#' is for AWS cron only "
                        "(6 fields)"},
        {"0 0 * * 8", "cron: field 5 (day-of-week) at column 9: 8 is out of range 0-7"},
        {"0 0 * * 7-1", "cron: field 5 (day-of-week) at column 9: range 7-1 goes backwards"},
        {"0 0 * * \x01", "cron: field 5 (day-of-week) at column 9: unexpected byte 0x01"},
        /* rate */
        {"rate(0 minutes)", "rate: at column 6: 0 is out of range 1-999999999"},
        {"rate(1000000000 days)", "rate: at column 6: 1000000000 is out of range 1-999999999"},
        {"rate(1 minutes)", "rate: at column 8: 1 takes the singular: rate(1 minute)"},
        {"rate(5 hour)", "rate: at column 8: 5 takes the plural: rate(5 hours)"},
        {"rate(5 weeks)", "rate: at column 8: unknown unit 'weeks' (minute, minutes, hour, "
                          "hours, day, days)"},
        {"rate(5 Minutes)", "rate: at column 8: unknown unit 'Minutes' (minute, minutes, hour, "
                            "hours, day, days)"},
        {"rate(5minutes)", "rate: at column 7: expected a space between the number and the "
                           "unit"},
        {"rate(five minutes)", "rate: at column 6: expected a whole number, got 'five'"},
        {"rate(-5 minutes)", "rate: at column 6: expected a whole number, got '-5'"},
        {"rate(5)", "rate: at column 7: expected a unit (minutes, hours or days)"},
        {"rate(5 minutes", "rate: missing ) at the end"},
        {"rate(5 minutes x)", "rate: at column 16: unexpected 'x'"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        sl_cron_t c;
        sl_err_t err = {0};
        int rc = sl_cron_parse(cases[i].expr, &c, &err);
        if (rc != SL_EPARSE || strcmp(err.msg, cases[i].msg) != 0) {
            sl_test_fail(__FILE__, __LINE__, "'%s': rc %d \"%s\", expected \"%s\"", cases[i].expr,
                         rc, err.msg, cases[i].msg);
        }
    }
}

SL_TEST(cron_parse_kinds_and_sets)
{
    sl_cron_t c;
    sl_err_t err;
    CHECK_INT(sl_cron_parse("cron(0 8 * * ? *)", &c, &err), 0);
    CHECK_INT(c.kind, SL_CRON_AWS);
    CHECK_INT(c.minutes, 1);
    CHECK_INT(c.hours, 1u << 8);
    CHECK_INT(c.months, 0x1ffe);
    CHECK_INT(sl_cron_parse("0 8 * * 1-5", &c, &err), 0);
    CHECK_INT(c.kind, SL_CRON_CLASSIC);
    CHECK_INT(c.wdays, 0x3e);
    CHECK_INT(sl_cron_parse("0 8 * * 0,7", &c, &err), 0);
    CHECK_INT(c.wdays, 1);
    CHECK_INT(sl_cron_parse("cron(0 8 ? * 1,7 *)", &c, &err), 0);
    CHECK_INT(c.wdays, 0x41);
    CHECK_INT(sl_cron_parse("cron(0 8 ? * 6#3,2L *)", &c, &err), 0);
    CHECK_INT(c.wdays, 0);
    CHECK_INT(c.wdays_nth[5], 1 << 3);
    CHECK_INT(c.wdays_last, 1 << 1);
}

SL_TEST(cron_next_unknown_zone_and_is_fast)
{
    sl_cron_t c;
    sl_err_t err;
    int64_t next;
    CHECK_INT(sl_cron_parse("cron(0 8 * * ? *)", &c, &err), 0);
    CHECK_INT(sl_cron_next(&c, "Mars/Olympus", 0, &next), SL_EINVAL);
    CHECK_INT(sl_cron_next(&c, NULL, 0, &next), 0);
    CHECK_INT(next, 8 * 3600);
    /* Schedules that never fire give up within a few thousand steps per
     * call: 200 calls over 230 years each stay well under a second. */
    const char *never[] = {"cron(0 0 30 2 ? *)", "0 0 31 2 *", "cron(0 2 ? 3 1L 2026)",
                           "cron(0 0 31W 2 ? *)"};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 50; i++) {
        for (size_t k = 0; k < SL_ARRAY_LEN(never); k++) {
            CHECK_INT(sl_cron_parse(never[k], &c, &err), 0);
            CHECK_INT(sl_cron_next(&c, "Europe/Berlin", 0, &next), SL_ENOTFOUND);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(secs < 1.0);
}
