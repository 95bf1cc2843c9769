/* Tests for src/core/tz.c: zone names, conversions both ways around the
 * DST changes of 2026 (checked with `TZ=zone date -d @S`), today in a zone
 * at a fixed clock, TZ put back, and conversions from several threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../test.h"
#include "sluice/timeutil.h"
#include "sluice/tz.h"

/* Seconds of an ISO timestamp ("2026-03-08T08:00:00Z"). */
static int64_t iso(const char *s)
{
    int64_t us = 0;
    if (sl_timestamp_parse(s, strlen(s), &us) != 0) {
        sl_test_fail(__FILE__, __LINE__, "bad timestamp '%s'", s);
    }
    return us / 1000000;
}

/* "2026-03-08 03:00:00 -0500" for utc_s in tz. */
static const char *local_str(const char *tz, int64_t utc_s)
{
    static char buf[64];
    struct tm tm;
    int rc = sl_tz_to_local(tz, utc_s, &tm);
    if (rc) {
        snprintf(buf, sizeof buf, "error %d", rc);
        return buf;
    }
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    off = off < 0 ? -off : off;
    snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d %c%02ld%02ld", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 3600,
             off / 60 % 60);
    return buf;
}

/* A wall-clock time as struct tm fields (month 1-12). */
#define WALL(y, mon, d, h, mi, s)                                                                  \
    {                                                                                              \
        .tm_year = (y)-1900, .tm_mon = (mon)-1, .tm_mday = (d), .tm_hour = (h), .tm_min = (mi),    \
        .tm_sec = (s), .tm_isdst = -1                                                              \
    }

SL_TEST(tz_known_names)
{
    CHECK(sl_tz_known("UTC"));
    CHECK(sl_tz_known("America/Chicago"));
    CHECK(sl_tz_known("Europe/Berlin"));
    CHECK(sl_tz_known("Etc/GMT+5"));
    CHECK(!sl_tz_known(""));
    CHECK(!sl_tz_known(NULL));
    CHECK(!sl_tz_known("Mars/Olympus"));
    CHECK(!sl_tz_known("America"));  /* a directory */
    CHECK(!sl_tz_known("zone.tab")); /* a file, not a zone */
    CHECK(!sl_tz_known("/usr/share/zoneinfo/UTC"));
    CHECK(!sl_tz_known("../zoneinfo/UTC"));
    CHECK(!sl_tz_known("America/../America/Chicago"));
    CHECK(!sl_tz_known("CST6CDT,M3.2.0,M11.1.0")); /* a POSIX rule, not a name */
}

SL_TEST(tz_known_honours_tzdir)
{
    /* A zone under TZDIR only: known, and converted with that file. */
    FILE *in = fopen("/usr/share/zoneinfo/Asia/Tokyo", "rb");
    CHECK(in != NULL);
    char data[8192];
    size_t n = fread(data, 1, sizeof data, in);
    fclose(in);
    CHECK(n > 0 && n < sizeof data);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/Test", sl_test_tmpdir());
    CHECK_INT(mkdir(dir, 0755), 0);
    sl_test_write_file("Test/Zone", data, n);
    CHECK(!sl_tz_known("Test/Zone"));
    setenv("TZDIR", sl_test_tmpdir(), 1);
    CHECK(sl_tz_known("Test/Zone"));
    CHECK(!sl_tz_known("America/Chicago"));
    CHECK(sl_tz_known("UTC"));
    CHECK_STR(local_str("Test/Zone", iso("2026-07-01T00:00:00Z")), "2026-07-01 09:00:00 +0900");
    unsetenv("TZDIR");
}

SL_TEST(tz_to_local_around_dst)
{
    static const struct {
        const char *tz, *utc, *local;
    } cases[] = {
        {"UTC", "2026-03-08T08:00:00Z", "2026-03-08 08:00:00 +0000"},
        {"America/Chicago", "2026-01-15T12:00:00Z", "2026-01-15 06:00:00 -0600"},
        {"America/Chicago", "2026-03-08T07:59:59Z", "2026-03-08 01:59:59 -0600"},
        {"America/Chicago", "2026-03-08T08:00:00Z", "2026-03-08 03:00:00 -0500"},
        {"America/Chicago", "2026-11-01T06:30:00Z", "2026-11-01 01:30:00 -0500"},
        {"America/Chicago", "2026-11-01T07:30:00Z", "2026-11-01 01:30:00 -0600"},
        {"Europe/Berlin", "2026-03-29T00:59:59Z", "2026-03-29 01:59:59 +0100"},
        {"Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-29 03:00:00 +0200"},
        {"Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-25 02:30:00 +0200"},
        {"Europe/Berlin", "2026-10-25T01:30:00Z", "2026-10-25 02:30:00 +0100"},
        {"Australia/Lord_Howe", "2026-10-03T15:29:59Z", "2026-10-04 01:59:59 +1030"},
        {"Australia/Lord_Howe", "2026-10-03T15:30:00Z", "2026-10-04 02:30:00 +1100"},
        /* Past the table of transitions: the zone's rule from its footer. */
        {"America/Chicago", "2150-07-01T12:00:00Z", "2150-07-01 07:00:00 -0500"},
        {"Europe/Berlin", "2199-12-31T22:59:59Z", "2199-12-31 23:59:59 +0100"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        const char *got = local_str(cases[i].tz, iso(cases[i].utc));
        if (strcmp(got, cases[i].local) != 0) {
            sl_test_fail(__FILE__, __LINE__, "%s at %s: %s, expected %s", cases[i].tz, cases[i].utc,
                         got, cases[i].local);
        }
    }
    struct tm tm;
    CHECK_INT(sl_tz_to_local("America/Chicago", iso("2026-03-08T08:00:00Z"), &tm), 0);
    CHECK_INT(tm.tm_isdst, 1);
    CHECK_INT(tm.tm_wday, 0);
    CHECK_INT(sl_tz_to_local("Mars/Olympus", 0, &tm), SL_ENOTFOUND);
    CHECK_INT(sl_tz_to_local("UTC", 300000000000LL, &tm), SL_EINVAL);
    CHECK_INT(sl_tz_to_local("Europe/Berlin", -300000000000LL, &tm), SL_EINVAL);
}

SL_TEST(tz_from_local_gaps_and_repeats)
{
    static const struct {
        const char *tz;
        struct tm local;
        const char *utc;
        bool exists;
    } cases[] = {
        {"UTC", WALL(2026, 3, 8, 2, 30, 0), "2026-03-08T02:30:00Z", true},
        {"America/Chicago", WALL(2026, 3, 8, 1, 59, 59), "2026-03-08T07:59:59Z", true},
        /* 02:00-02:59 does not exist: the answer is where the gap ends. */
        {"America/Chicago", WALL(2026, 3, 8, 2, 0, 0), "2026-03-08T08:00:00Z", false},
        {"America/Chicago", WALL(2026, 3, 8, 2, 30, 0), "2026-03-08T08:00:00Z", false},
        {"America/Chicago", WALL(2026, 3, 8, 3, 0, 0), "2026-03-08T08:00:00Z", true},
        /* 01:00-01:59 happens twice: the first time, in CDT. */
        {"America/Chicago", WALL(2026, 11, 1, 0, 59, 0), "2026-11-01T05:59:00Z", true},
        {"America/Chicago", WALL(2026, 11, 1, 1, 0, 0), "2026-11-01T06:00:00Z", true},
        {"America/Chicago", WALL(2026, 11, 1, 1, 30, 0), "2026-11-01T06:30:00Z", true},
        {"America/Chicago", WALL(2026, 11, 1, 1, 59, 59), "2026-11-01T06:59:59Z", true},
        {"America/Chicago", WALL(2026, 11, 1, 2, 0, 0), "2026-11-01T08:00:00Z", true},
        {"Europe/Berlin", WALL(2026, 3, 29, 2, 30, 0), "2026-03-29T01:00:00Z", false},
        {"Europe/Berlin", WALL(2026, 3, 29, 3, 0, 0), "2026-03-29T01:00:00Z", true},
        {"Europe/Berlin", WALL(2026, 10, 25, 2, 30, 0), "2026-10-25T00:30:00Z", true},
        {"Europe/Berlin", WALL(2026, 10, 25, 3, 0, 0), "2026-10-25T02:00:00Z", true},
        /* Half-hour changes; a whole day skipped (Samoa, end of 2011). */
        {"Australia/Lord_Howe", WALL(2026, 10, 4, 2, 15, 0), "2026-10-03T15:30:00Z", false},
        {"Australia/Lord_Howe", WALL(2026, 4, 5, 1, 45, 0), "2026-04-04T14:45:00Z", true},
        {"Pacific/Apia", WALL(2011, 12, 30, 12, 0, 0), "2011-12-30T10:00:00Z", false},
        /* Fields out of range are carried as mktime does. */
        {"America/Chicago", WALL(2026, 1, 32, 0, 0, 0), "2026-02-01T06:00:00Z", true},
        {"America/Chicago", WALL(2026, 0, 1, 24, 0, 0), "2025-12-02T06:00:00Z", true},
        {"America/Chicago", WALL(2026, 13, 1, 0, -1, 0), "2027-01-01T05:59:00Z", true},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        int64_t utc = -1;
        bool exists = !cases[i].exists;
        int rc = sl_tz_from_local(cases[i].tz, &cases[i].local, &utc, &exists);
        char got[32];
        sl_timestamp_format(utc * 1000000, got);
        if (rc != 0 || strcmp(got, cases[i].utc) != 0 || exists != cases[i].exists) {
            sl_test_fail(__FILE__, __LINE__,
                         "case %zu (%s): rc %d, %s exists %d; expected %s "
                         "exists %d",
                         i, cases[i].tz, rc, got, exists, cases[i].utc, cases[i].exists);
        }
    }
    struct tm tm = WALL(2026, 1, 1, 0, 0, 0);
    int64_t utc;
    bool exists;
    CHECK_INT(sl_tz_from_local("Mars/Olympus", &tm, &utc, &exists), SL_ENOTFOUND);
    tm = (struct tm)WALL(12000, 1, 1, 0, 0, 0);
    CHECK_INT(sl_tz_from_local("UTC", &tm, &utc, &exists), SL_EINVAL);
    CHECK_INT(sl_tz_from_local("Europe/Berlin", &tm, &utc, &exists), SL_EINVAL);
}

SL_TEST(tz_round_trip_every_hour_of_2026)
{
    /* Every instant converts to a wall time that converts back to it,
     * except the second pass of a repeated hour, which gives the first. */
    const char *zones[] = {"America/Chicago", "Europe/Berlin", "Australia/Lord_Howe"};
    for (size_t z = 0; z < SL_ARRAY_LEN(zones); z++) {
        int repeats = 0;
        for (int64_t t = iso("2026-01-01T00:17:00Z"); t < iso("2027-01-01T00:00:00Z"); t += 1800) {
            struct tm tm;
            CHECK_INT(sl_tz_to_local(zones[z], t, &tm), 0);
            int64_t back;
            bool exists = false;
            CHECK_INT(sl_tz_from_local(zones[z], &tm, &back, &exists), 0);
            CHECK(exists);
            if (back != t) {
                CHECK(back < t && t - back <= 3600);
                repeats++;
            }
        }
        CHECK(repeats > 0 && repeats <= 2);
    }
}

SL_TEST(tz_puts_tz_back)
{
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    struct tm tm;
    CHECK_STR(local_str("America/Chicago", iso("2026-07-01T00:00:00Z")),
              "2026-06-30 19:00:00 -0500");
    CHECK_STR(getenv("TZ"), "Asia/Tokyo");
    time_t t = (time_t)iso("2026-07-01T00:00:00Z");
    CHECK(localtime_r(&t, &tm) != NULL);
    CHECK_INT(tm.tm_hour, 9);
    /* The process's own zone asked for by name. */
    CHECK_STR(local_str("Asia/Tokyo", iso("2026-07-01T00:00:00Z")), "2026-07-01 09:00:00 +0900");
    CHECK_STR(getenv("TZ"), "Asia/Tokyo");

    unsetenv("TZ");
    CHECK_STR(local_str("Europe/Berlin", iso("2026-07-01T00:00:00Z")), "2026-07-01 02:00:00 +0200");
    CHECK(getenv("TZ") == NULL);
    struct tm l = WALL(2026, 3, 8, 2, 30, 0);
    int64_t utc;
    bool exists;
    CHECK_INT(sl_tz_from_local("America/Chicago", &l, &utc, &exists), 0);
    CHECK(getenv("TZ") == NULL);
}

SL_TEST(tz_today_at_fixed_clock)
{
    CHECK_INT(sl_tz_today_at("UTC", iso("2026-01-01T05:59:59Z")), sl_days_from_civil(2026, 1, 1));
    CHECK_INT(sl_tz_today_at("America/Chicago", iso("2026-01-01T05:59:59Z")),
              sl_days_from_civil(2025, 12, 31));
    CHECK_INT(sl_tz_today_at("America/Chicago", iso("2026-01-01T06:00:00Z")),
              sl_days_from_civil(2026, 1, 1));
    CHECK_INT(sl_tz_today_at("Asia/Tokyo", iso("2025-12-31T14:59:59Z")),
              sl_days_from_civil(2025, 12, 31));
    CHECK_INT(sl_tz_today_at("Asia/Tokyo", iso("2025-12-31T15:00:00Z")),
              sl_days_from_civil(2026, 1, 1));
    /* On a spring-forward night the date still turns at midnight. */
    CHECK_INT(sl_tz_today_at("America/Chicago", iso("2026-03-08T08:00:00Z")),
              sl_days_from_civil(2026, 3, 8));
    CHECK_INT(sl_tz_today_at("Pacific/Apia", iso("2011-12-30T09:59:59Z")),
              sl_days_from_civil(2011, 12, 29));
    CHECK_INT(sl_tz_today_at("Pacific/Apia", iso("2011-12-30T10:00:00Z")),
              sl_days_from_civil(2011, 12, 31));
    CHECK_INT(sl_tz_today_at("Mars/Olympus", iso("2026-01-01T05:59:59Z")),
              sl_days_from_civil(2026, 1, 1));
    CHECK_INT(sl_tz_today_at("UTC", -1), -1);
    int64_t before = (int64_t)time(NULL) / 86400;
    int64_t today = sl_tz_today("UTC");
    int64_t after = (int64_t)time(NULL) / 86400;
    CHECK(today == before || today == after);
}

/* ---- several threads at once ---- */

typedef struct {
    const char *tz;
    const char *local; /* expected for 2026-07-01T12:00:00Z */
    int64_t gap_end;   /* expected from_local of the spring-forward gap */
    struct tm gap;
    int failures;
} tz_worker_t;

static void *tz_worker(void *arg)
{
    tz_worker_t *w = arg;
    int64_t t = 1782907200; /* 2026-07-01T12:00:00Z */
    for (int i = 0; i < 400; i++) {
        struct tm tm;
        char got[64];
        if (sl_tz_to_local(w->tz, t, &tm) != 0) {
            w->failures++;
            continue;
        }
        snprintf(got, sizeof got, "%04d-%02d-%02d %02d:%02d %ld", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_gmtoff);
        if (strcmp(got, w->local) != 0) {
            w->failures++;
        }
        int64_t utc = 0;
        bool exists = true;
        if (sl_tz_from_local(w->tz, &w->gap, &utc, &exists) != 0 || exists || utc != w->gap_end) {
            w->failures++;
        }
        if (!sl_tz_known(w->tz)) {
            w->failures++;
        }
    }
    return NULL;
}

SL_TEST(tz_threads_convert_at_once)
{
    tz_worker_t w[4] = {
        {"America/Chicago", "2026-07-01 07:00 -18000", 1772956800, WALL(2026, 3, 8, 2, 30, 0), 0},
        {"Europe/Berlin", "2026-07-01 14:00 7200", 1774746000, WALL(2026, 3, 29, 2, 30, 0), 0},
        {"Australia/Lord_Howe", "2026-07-01 22:30 37800", 1791041400, WALL(2026, 10, 4, 2, 15, 0),
         0},
        {"America/New_York", "2026-07-01 08:00 -14400", 1772953200, WALL(2026, 3, 8, 2, 30, 0), 0},
    };
    CHECK_INT(w[0].gap_end, iso("2026-03-08T08:00:00Z"));
    CHECK_INT(w[1].gap_end, iso("2026-03-29T01:00:00Z"));
    CHECK_INT(w[2].gap_end, iso("2026-10-03T15:30:00Z"));
    CHECK_INT(w[3].gap_end, iso("2026-03-08T07:00:00Z"));
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        CHECK_INT(pthread_create(&th[i], NULL, tz_worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
    }
    for (int i = 0; i < 4; i++) {
        if (w[i].failures) {
            sl_test_fail(__FILE__, __LINE__, "%s: %d wrong conversions", w[i].tz, w[i].failures);
        }
    }
}
