/* Tests for src/core/timeutil.c: civil conversions, parsing, formatting.
 * Expected values were computed independently (Python's datetime). */
#include "sluice/timeutil.h"
#include "../test.h"

static int64_t ts(const char *s)
{
    int64_t us = 0;
    int rc = sl_timestamp_parse(s, strlen(s), &us);
    if (rc != 0) {
        sl_test_fail(__FILE__, __LINE__, "sl_timestamp_parse(\"%s\") failed: %d", s, rc);
    }
    return us;
}

static bool ts_rejected(const char *s)
{
    int64_t us = 12345;
    return sl_timestamp_parse(s, strlen(s), &us) == SL_EPARSE && us == 12345;
}

static const char *fmt_ts(int64_t us)
{
    static char buf[32];
    size_t n = sl_timestamp_format(us, buf);
    if (n != strlen(buf)) {
        sl_test_fail(__FILE__, __LINE__, "length %zu != strlen %zu", n, strlen(buf));
    }
    return buf;
}

static const char *fmt_date(int64_t days)
{
    static char buf[16];
    size_t n = sl_date_format(days, buf);
    if (n != strlen(buf)) {
        sl_test_fail(__FILE__, __LINE__, "length %zu != strlen %zu", n, strlen(buf));
    }
    return buf;
}

SL_TEST(timeutil_civil_known_days)
{
    CHECK_INT(sl_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(sl_days_from_civil(1969, 12, 31), -1);
    CHECK_INT(sl_days_from_civil(2000, 2, 29), 11016);
    CHECK_INT(sl_days_from_civil(2024, 2, 29), 19782);
    CHECK_INT(sl_days_from_civil(1900, 2, 28), -25509);
    CHECK_INT(sl_days_from_civil(1900, 3, 1), -25508);
    CHECK_INT(sl_days_from_civil(1, 1, 1), -719162);
    CHECK_INT(sl_days_from_civil(9999, 12, 31), 2932896);
}

SL_TEST(timeutil_civil_round_trip)
{
    /* Every day from year 1 to 9999 maps back to itself, and consecutive
     * days are consecutive dates. */
    int64_t py = 0;
    unsigned pm = 12, pd = 31;
    for (int64_t day = -719162; day <= 2932896; day++) {
        int64_t y;
        unsigned m, d;
        sl_civil_from_days(day, &y, &m, &d);
        CHECK_INT(sl_days_from_civil(y, m, d), day);
        bool next_day = y == py && m == pm && d == pd + 1;
        bool next_month = y == py && m == pm + 1 && d == 1;
        bool next_year = y == py + 1 && m == 1 && d == 1 && pm == 12 && pd == 31;
        CHECK(next_day || next_month || next_year);
        py = y;
        pm = m;
        pd = d;
    }
}

SL_TEST(timeutil_date_parse)
{
    int64_t d = 0;
    CHECK_INT(sl_date_parse("1970-01-01", 10, &d), 0);
    CHECK_INT(d, 0);
    CHECK_INT(sl_date_parse("2000-02-29", 10, &d), 0);
    CHECK_INT(d, 11016);
    CHECK_INT(sl_date_parse("2024-02-29", 10, &d), 0);
    CHECK_INT(d, 19782);
    CHECK_INT(sl_date_parse("1900-02-29", 10, &d), SL_EPARSE); /* 1900 not leap */
    CHECK_INT(sl_date_parse("2026-02-29", 10, &d), SL_EPARSE);
    CHECK_INT(sl_date_parse("2026-02-30", 10, &d), SL_EPARSE);
    CHECK_INT(sl_date_parse("2026-13-01", 10, &d), SL_EPARSE);
    CHECK_INT(sl_date_parse("2026-00-10", 10, &d), SL_EPARSE);
    CHECK_INT(sl_date_parse("2026-04-31", 10, &d), SL_EPARSE);
    CHECK_INT(sl_date_parse("2026-04-00", 10, &d), SL_EPARSE);
    CHECK_INT(sl_date_parse("0000-01-01", 10, &d), SL_EPARSE);
    CHECK_INT(sl_date_parse("2026-1-01", 9, &d), SL_EPARSE);
    CHECK_INT(sl_date_parse("2026/01/01", 10, &d), SL_EPARSE);
    CHECK_INT(sl_date_parse("+026-01-01", 10, &d), SL_EPARSE);
    CHECK_INT(sl_date_parse("2026-01-01T00:00:00", 19, &d), SL_EPARSE);
    CHECK_INT(sl_date_parse("2026-01-01 ", 11, &d), SL_EPARSE);
    CHECK_INT(sl_date_parse("2026-01-0", 9, &d), SL_EPARSE);
}

SL_TEST(timeutil_timestamp_parse_basic)
{
    CHECK_INT(ts("1970-01-01T00:00:00Z"), 0);
    CHECK_INT(ts("1970-01-01"), 0);
    CHECK_INT(ts("2026-11-22T10:00:00.123456Z"), 1795341600123456LL);
    CHECK_INT(ts("2026-11-22t10:00:00.123456z"), 1795341600123456LL);
    CHECK_INT(ts("2026-11-22 10:00:00.123456"), 1795341600123456LL);
    CHECK_INT(ts("2026-11-22T10:00"), 1795341600000000LL);
    CHECK_INT(ts("2026-11-22T10:00Z"), 1795341600000000LL);
    CHECK_INT(ts("2026-11-22"), 1795305600000000LL);
    CHECK_INT(ts("2000-02-29T00:00:00Z"), 11016LL * 86400000000LL);
    CHECK_INT(ts("2024-02-29T23:59:59Z"), 19782LL * 86400000000LL + 86399000000LL);
    CHECK_INT(ts("1969-07-20T20:17:40Z"), -14182940000000LL);
    CHECK_INT(ts("1969-12-31T23:59:59.5Z"), -500000);
    CHECK_INT(ts("0001-01-01T00:00:00Z"), -719162LL * 86400000000LL);
    CHECK_INT(ts("9999-12-31T23:59:59.999999Z"), 2932897LL * 86400000000LL - 1);
}

SL_TEST(timeutil_timestamp_parse_offsets)
{
    /* 12:00 at +05:30 is 06:30 UTC; 12:00 at -08:00 is 20:00 UTC. */
    CHECK_INT(ts("2026-03-15T12:00:00+05:30"), 1773556200000000LL);
    CHECK_INT(ts("2026-03-15T12:00:00+0530"), 1773556200000000LL);
    CHECK_INT(ts("2026-03-15T06:30:00Z"), 1773556200000000LL);
    CHECK_INT(ts("2026-03-15T12:00:00-0800"), 1773604800000000LL);
    CHECK_INT(ts("2026-03-15T12:00:00-08:00"), 1773604800000000LL);
    CHECK_INT(ts("2026-03-15T12:00:00-08"), 1773604800000000LL);
    CHECK_INT(ts("2026-03-15T12:00-08"), 1773604800000000LL);
    CHECK_INT(ts("2026-03-15T12:00:00+00:00"), ts("2026-03-15T12:00:00Z"));
    CHECK_INT(ts("2026-03-15T12:00:00-00:00"), ts("2026-03-15T12:00:00Z"));
    /* An offset can move the instant across a day and year boundary. */
    CHECK_INT(ts("2026-01-01T01:00:00+02:00"), ts("2025-12-31T23:00:00Z"));
    CHECK_INT(ts("1970-01-01T00:00:00+01:00"), -3600000000LL);
}

SL_TEST(timeutil_timestamp_parse_fractions)
{
    const int64_t base = 1795341600000000LL; /* 2026-11-22T10:00:00Z */
    CHECK_INT(ts("2026-11-22T10:00:00.1Z"), base + 100000);
    CHECK_INT(ts("2026-11-22T10:00:00.12Z"), base + 120000);
    CHECK_INT(ts("2026-11-22T10:00:00.123Z"), base + 123000);
    CHECK_INT(ts("2026-11-22T10:00:00.1234Z"), base + 123400);
    CHECK_INT(ts("2026-11-22T10:00:00.12345Z"), base + 123450);
    CHECK_INT(ts("2026-11-22T10:00:00.123456Z"), base + 123456);
    CHECK_INT(ts("2026-11-22T10:00:00.1234567Z"), base + 123456);  /* truncated */
    CHECK_INT(ts("2026-11-22T10:00:00.12345678Z"), base + 123456);
    CHECK_INT(ts("2026-11-22T10:00:00.123456789Z"), base + 123456);
    CHECK_INT(ts("2026-11-22T10:00:00.999999999"), base + 999999);
    CHECK_INT(ts("2026-11-22T10:00:00.000001+01:00"), base - 3600000000LL + 1);
    CHECK(ts_rejected("2026-11-22T10:00:00.1234567890Z")); /* 10 digits */
}

SL_TEST(timeutil_timestamp_parse_rejects)
{
    CHECK(ts_rejected("2026-02-30"));
    CHECK(ts_rejected("2026-02-30T00:00:00Z"));
    CHECK(ts_rejected("2026-13-01"));
    CHECK(ts_rejected("2026-13-01T00:00:00Z"));
    CHECK(ts_rejected("1900-02-29T00:00:00Z"));
    CHECK(ts_rejected("2026-01-01T24:00:00Z"));
    CHECK(ts_rejected("2026-01-01T24:00:00"));
    CHECK(ts_rejected("2026-01-01T23:60:00Z"));
    CHECK(ts_rejected("2026-01-01T23:59:60Z")); /* leap second */
    CHECK(ts_rejected("2026-01-01T10:00:00Zjunk"));
    CHECK(ts_rejected("2026-01-01T10:00:00 "));
    CHECK(ts_rejected("2026-01-01 "));
    CHECK(ts_rejected("2026-01-01x"));
    CHECK(ts_rejected("2026-01-01T"));
    CHECK(ts_rejected("2026-01-01T10"));
    CHECK(ts_rejected("2026-01-01T10:0"));
    CHECK(ts_rejected("2026-01-01T10:00:"));
    CHECK(ts_rejected("2026-01-01T10:00:0"));
    CHECK(ts_rejected("2026-01-01T10:00:00."));
    CHECK(ts_rejected("2026-01-01T10:00:00.Z"));
    CHECK(ts_rejected("2026-01-01T10:00.5Z"));
    CHECK(ts_rejected("2026-01-01X10:00:00Z"));
    CHECK(ts_rejected("2026-01-01T10:00:00+5:30"));
    CHECK(ts_rejected("2026-01-01T10:00:00+05:3"));
    CHECK(ts_rejected("2026-01-01T10:00:00+05:60"));
    CHECK(ts_rejected("2026-01-01T10:00:00+24:00"));
    CHECK(ts_rejected("2026-01-01T10:00:00+05:300"));
    CHECK(ts_rejected("2026-01-01T10:00:00+"));
    CHECK(ts_rejected("2026-01-01T10:00:00UTC"));
    CHECK(ts_rejected("2026-01-01T1a:00:00Z"));
    CHECK(ts_rejected("2026-01-01T-1:00:00Z"));
    CHECK(ts_rejected(""));
    CHECK(ts_rejected("2026"));
    CHECK(ts_rejected("1700000000"));
    /* Length is honoured: a valid prefix followed by bytes outside n. */
    int64_t us = 0;
    CHECK_INT(sl_timestamp_parse("2026-01-01T10:00:00Zjunk", 20, &us), 0);
    CHECK_INT(us, ts("2026-01-01T10:00:00Z"));
}

SL_TEST(timeutil_timestamp_format)
{
    CHECK_STR(fmt_ts(0), "1970-01-01T00:00:00Z");
    CHECK_STR(fmt_ts(1795341600123456LL), "2026-11-22T10:00:00.123456Z");
    CHECK_STR(fmt_ts(1795341600000000LL), "2026-11-22T10:00:00Z");
    CHECK_STR(fmt_ts(1795341600000001LL), "2026-11-22T10:00:00.000001Z");
    CHECK_STR(fmt_ts(1795341600100000LL), "2026-11-22T10:00:00.100000Z");
    CHECK_STR(fmt_ts(-1), "1969-12-31T23:59:59.999999Z");
    CHECK_STR(fmt_ts(-500000), "1969-12-31T23:59:59.500000Z");
    CHECK_STR(fmt_ts(-1000000), "1969-12-31T23:59:59Z");
    CHECK_STR(fmt_ts(-14182940000000LL), "1969-07-20T20:17:40Z");
    CHECK_STR(fmt_ts(11016LL * 86400000000LL), "2000-02-29T00:00:00Z");
    CHECK_STR(fmt_ts(19782LL * 86400000000LL + 86399000000LL), "2024-02-29T23:59:59Z");
    CHECK_STR(fmt_ts(-25509LL * 86400000000LL), "1900-02-28T00:00:00Z");
    CHECK_STR(fmt_ts(-719162LL * 86400000000LL), "0001-01-01T00:00:00Z");
    CHECK_STR(fmt_ts(2932897LL * 86400000000LL - 1), "9999-12-31T23:59:59.999999Z");
    /* Out-of-range values still produce bounded, well-formed text. */
    CHECK_STR(fmt_ts(INT64_MAX), "+294247-01-10T04:00:54.775807Z");
    CHECK_STR(fmt_ts(INT64_MIN), "-290308-12-21T19:59:05.224192Z");
    CHECK_STR(fmt_ts(-719163LL * 86400000000LL), "0000-12-31T00:00:00Z");
}

SL_TEST(timeutil_timestamp_format_same_day_runs)
{
    /* Consecutive timestamps of one day reuse the formatted date. */
    CHECK_STR(fmt_ts(1795341600000000LL), "2026-11-22T10:00:00Z");
    CHECK_STR(fmt_ts(1795341600000000LL + 3600000000LL), "2026-11-22T11:00:00Z");
    CHECK_STR(fmt_ts(1795341600000000LL + 86400000000LL), "2026-11-23T10:00:00Z");
    CHECK_STR(fmt_ts(1795341600000000LL - 1), "2026-11-22T09:59:59.999999Z");
    CHECK_STR(fmt_ts(INT64_MAX), "+294247-01-10T04:00:54.775807Z");
    CHECK_STR(fmt_ts(1795341600000000LL + 1), "2026-11-22T10:00:00.000001Z");
    CHECK_STR(fmt_ts(-1), "1969-12-31T23:59:59.999999Z");
    CHECK_STR(fmt_ts(-2), "1969-12-31T23:59:59.999998Z");
}

SL_TEST(timeutil_format_parse_round_trip)
{
    char buf[32];
    int64_t samples[] = {0, 1, -1, 999999, -999999, 1795341600123456LL, -14182940000000LL,
                         951782400000000LL, 253402300799999999LL, -62135596800000000LL};
    for (size_t i = 0; i < SL_ARRAY_LEN(samples); i++) {
        size_t n = sl_timestamp_format(samples[i], buf);
        int64_t back = 0;
        CHECK_INT(sl_timestamp_parse(buf, n, &back), 0);
        CHECK_INT(back, samples[i]);
    }
}

SL_TEST(timeutil_date_format)
{
    CHECK_STR(fmt_date(0), "1970-01-01");
    CHECK_STR(fmt_date(-1), "1969-12-31");
    CHECK_STR(fmt_date(11016), "2000-02-29");
    CHECK_STR(fmt_date(19782), "2024-02-29");
    CHECK_STR(fmt_date(-25508), "1900-03-01");
    CHECK_STR(fmt_date(-719162), "0001-01-01");
    CHECK_STR(fmt_date(2932896), "9999-12-31");
    CHECK_STR(fmt_date(2932897), "+10000-01-01");
    CHECK(strlen(fmt_date(INT64_MAX)) < 16);
    CHECK(strlen(fmt_date(INT64_MIN)) < 16);
}

SL_TEST(timeutil_clocks)
{
    int64_t now = sl_now_us();
    CHECK(now > 1700000000LL * 1000000LL); /* after 2023-11 */
    int64_t a = sl_mono_us(), b = sl_mono_us();
    CHECK(b >= a);
}
