/* Fuzz target for schedule expressions (src/core/cron.c, src/core/tz.c).
 *
 * Input: the expression on the first line; an optional second line of
 * digits picks the start time (otherwise a few starts around DST changes
 * and the year limits are used). Every expression the parser accepts gets
 * five successive next times in UTC and in one named zone (picked by a
 * hash of the input), each checked against a matcher written here from
 * the documented rules, not from cron.c:
 *
 *   - the times strictly increase, and asking from one second before a
 *     time gives that time again;
 *   - they lie before 2200 (wall clock for cron, UTC for rate);
 *   - cron: the wall-clock time of each matches the expression and is the
 *     first time the clock shows it (a repeated fall-back time fires once);
 *     no minute in the three hours after the start or before the fire that
 *     matches (and is a first occurrence) was skipped, nor a whole day in
 *     between whose date matches (when the expression has a time after
 *     04:00, which every day of these zones has); SL_ENOTFOUND means no
 *     matching minute in the three hours after the start either;
 *   - rate: each time is anchor + k * interval, and none was skipped.
 *
 * The process's TZ is set to the zone, so the matcher reads wall clocks
 * with plain localtime_r, and sl_tz finds TZ already set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sluice/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EXPR 512
#define RATE_END_S 7258118400LL /* 2200-01-01T00:00:00Z */
#define SCAN_MINUTES 180

static const char *const zones[] = {"America/Chicago", "Europe/Berlin", "Australia/Lord_Howe",
                                    "America/Santiago", "Asia/Kathmandu"};

/* Around the 2026 DST changes of those zones, and the limits. */
static const int64_t fixed_starts[] = {
    1772884800, /* 2026-03-07T12:00Z, before Chicago springs forward */
    1793448000, /* 2026-10-31T12:00Z, before Chicago falls back */
    1774699200, /* 2026-03-28T12:00Z, Berlin */
    1777370400, /* 2026-04-28T10:00Z */
    1775290000, /* 2026-04-04T08:06:40Z, Lord Howe and Santiago fall back */
    1788609600, /* 2026-09-05T12:00Z, Santiago springs forward at midnight */
    1790935200, /* 2026-10-03T10:00Z, Lord Howe springs forward */
    7257945600, /* 2199-12-30T00:00Z */
    -259200,    /* 1969-12-29T00:00Z */
};

static const char *g_expr;
static const char *g_zone;

static void die(const char *what, int64_t t, int64_t n)
{
    fprintf(stderr, "fuzz_cron: '%s' in %s: %s (start %lld, got %lld)\n", g_expr, g_zone, what,
            (long long)t, (long long)n);
    abort();
}

/* ---- the matcher: the documented rules, evaluated on the text ---- */

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Sakamoto's weekday (0 = Sunday). */
static int wday_of(int y, int m, int d)
{
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    y -= m < 3;
    return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

typedef struct {
    int year, mon, mday, hour, min, wday, dim;
} wall_t;

/* A number or a name at *s; names count from 1 (months, AWS days) or 0
 * (classic days). */
static int value_at(const char **s, const char *end, int field, bool aws)
{
    static const char *mon[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    static const char *day[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
    const char *p = *s;
    if (p < end && p[0] >= '0' && p[0] <= '9') {
        int v = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            v = v * 10 + (*p++ - '0');
        }
        *s = p;
        return v;
    }
    if (end - p >= 3) {
        for (int i = 0; field == 3 && i < 12; i++) {
            if (strncasecmp(p, mon[i], 3) == 0) {
                *s = p + 3;
                return i + 1;
            }
        }
        for (int i = 0; field == 4 && i < 7; i++) {
            if (strncasecmp(p, day[i], 3) == 0) {
                *s = p + 3;
                return aws ? i + 1 : i;
            }
        }
    }
    fprintf(stderr, "fuzz_cron: matcher cannot read '%.*s' of '%s'\n", (int)(end - p), p, g_expr);
    abort();
}

static bool upper_is(const char *p, const char *end, char c)
{
    return p < end && (*p == c || *p == c + 32);
}

/* Whether one list item matches value v of field (0-5). */
static bool item_matches(const char *s, const char *end, int field, bool aws, int v,
                         const wall_t *w)
{
    static const int lo_aws[] = {0, 0, 1, 1, 1, 1970}, hi[] = {59, 23, 31, 12, 7, 2199};
    int lo = !aws && field == 4 ? 0 : lo_aws[field];
    if (field == 2 && aws && upper_is(s, end, 'L')) {
        if (end - s == 1) {
            return w->mday == w->dim;
        }
        int last = w->dim;
        while (wday_of(w->year, w->mon, last) == 0 || wday_of(w->year, w->mon, last) == 6) {
            last--;
        }
        return w->mday == last; /* LW */
    }
    if (field == 4 && aws && end - s == 1 && upper_is(s, end, 'L')) {
        return w->wday == 6;
    }
    int a, b, step = 1;
    const char *p = s;
    if (*p == '*') {
        a = lo;
        b = hi[field];
        p++;
    } else {
        a = b = value_at(&p, end, field, aws);
        if (field == 2 && upper_is(p, end, 'W')) {
            if (a > w->dim) {
                return false;
            }
            /* the weekday nearest day a, within the month */
            int wd = wday_of(w->year, w->mon, a), d = a;
            if (wd == 6) {
                d = a == 1 ? 3 : a - 1;
            } else if (wd == 0) {
                d = a == w->dim ? a - 2 : a + 1;
            }
            return w->mday == d;
        }
        if (field == 4 && upper_is(p, end, 'L')) {
            return w->wday == a - 1 && w->mday + 7 > w->dim;
        }
        if (field == 4 && p < end && *p == '#') {
            return w->wday == a - 1 && (w->mday - 1) / 7 + 1 == p[1] - '0';
        }
        if (p < end && *p == '-') {
            p++;
            b = value_at(&p, end, field, aws);
        } else if (p < end && *p == '/') {
            b = hi[field];
        }
    }
    if (p < end && *p == '/') {
        p++;
        step = value_at(&p, end, 0, aws);
    }
    return v >= a && v <= b && (v - a) % step == 0;
}

static bool field_matches(const char *s, const char *end, int field, bool aws, const wall_t *w)
{
    int values[] = {w->min, w->hour, w->mday, w->mon, aws ? w->wday + 1 : w->wday, w->year};
    int v = values[field];
    while (s <= end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *e = comma ? comma : end;
        if (item_matches(s, e, field, aws, v, w)) {
            return true;
        }
        /* classic day-of-week: Sunday is 7 as well */
        if (!aws && field == 4 && v == 0 && item_matches(s, e, field, aws, 7, w)) {
            return true;
        }
        if (!comma) {
            break;
        }
        s = comma + 1;
    }
    return false;
}

typedef struct {
    bool rate, aws;
    const char *fs[6], *fe[6];
} expr_t;

static void split(const char *text, expr_t *x)
{
    memset(x, 0, sizeof *x);
    const char *s = text, *end = text + strlen(text);
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
        s++;
    }
    if (strncmp(s, "rate(", 5) == 0) {
        x->rate = true;
        return;
    }
    if (strncmp(s, "cron(", 5) == 0) {
        s += 5;
        end = strchr(s, ')');
    }
    int n = 0;
    while (s < end && n < 6) {
        while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
            s++;
        }
        if (s == end) {
            break;
        }
        x->fs[n] = s;
        while (s < end && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') {
            s++;
        }
        x->fe[n++] = s;
    }
    x->aws = n == 6;
}

/* The day fields (and month, year) for the day of w. */
static bool day_matches(const expr_t *x, const wall_t *w)
{
    if (w->year > SL_CRON_YEAR_MAX || w->year < SL_CRON_YEAR_MIN) {
        return false;
    }
    if (!field_matches(x->fs[3], x->fe[3], 3, x->aws, w) ||
        (x->aws && !field_matches(x->fs[5], x->fe[5], 5, x->aws, w))) {
        return false;
    }
    bool dom = *x->fs[2] == '?' || field_matches(x->fs[2], x->fe[2], 2, x->aws, w);
    bool dow = *x->fs[4] == '?' || field_matches(x->fs[4], x->fe[4], 4, x->aws, w);
    if (x->aws || *x->fs[2] == '*' || *x->fs[4] == '*') {
        return dom && dow;
    }
    return dom || dow; /* classic, both restricted */
}

static bool time_matches(const expr_t *x, const wall_t *w)
{
    return field_matches(x->fs[0], x->fe[0], 0, x->aws, w) &&
           field_matches(x->fs[1], x->fe[1], 1, x->aws, w);
}

static wall_t wall_of(const struct tm *tm)
{
    wall_t w = {
        tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_wday, 0};
    w.dim = month_days(w.year, w.mon);
    return w;
}

static bool matches(const expr_t *x, const struct tm *tm)
{
    wall_t w = wall_of(tm);
    return time_matches(x, &w) && day_matches(x, &w);
}

static struct tm local(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm)) {
        die("localtime_r failed", t, 0);
    }
    return tm;
}

static bool same_wall(const struct tm *a, const struct tm *b)
{
    return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon && a->tm_mday == b->tm_mday &&
           a->tm_hour == b->tm_hour && a->tm_min == b->tm_min;
}

/* Whether the wall clock showed local(t) before t already (the offset
 * changes of these zones are 30 minutes to 2 hours). */
static bool seen_before(int64_t t)
{
    struct tm now = local(t);
    for (int64_t back = 1800; back <= 7200; back += 1800) {
        struct tm then = local(t - back);
        if (same_wall(&now, &then)) {
            return true;
        }
    }
    return false;
}

/* No minute in (from, to) that should have fired. */
static void check_no_fire_between(const expr_t *x, int64_t from, int64_t to)
{
    int64_t first = (from / 60 + 1) * 60;
    for (int64_t m = first; m < to && m < first + SCAN_MINUTES * 60; m += 60) {
        struct tm tm = local(m);
        if (matches(x, &tm) && !seen_before(m)) {
            die("skipped a matching minute", from, m);
        }
    }
    int64_t last_from = to - SCAN_MINUTES * 60;
    for (int64_t m = (last_from > first ? last_from / 60 * 60 : first); m < to; m += 60) {
        if (m <= from) {
            continue;
        }
        struct tm tm = local(m);
        if (matches(x, &tm) && !seen_before(m)) {
            die("skipped a matching minute before the fire", from, m);
        }
    }
}

/* No whole day strictly between local(from) and local(to) that should have
 * fired (up to 800 days). late: the expression has a time from 04:00 on,
 * which exists every day in these zones (they change their offsets
 * before 03:00). */
static void check_no_day_between(const expr_t *x, bool late, int64_t from, int64_t to)
{
    if (!late) {
        return;
    }
    struct tm a = local(from), b = local(to);
    wall_t w = {a.tm_year + 1900, a.tm_mon + 1, a.tm_mday, 0, 0, 0, 0};
    for (int i = 0; i < 800; i++) {
        w.dim = month_days(w.year, w.mon);
        if (++w.mday > w.dim) {
            w.mday = 1;
            if (++w.mon > 12) {
                w.mon = 1;
                w.year++;
            }
        }
        if (w.year > b.tm_year + 1900 ||
            (w.year == b.tm_year + 1900 &&
             (w.mon > b.tm_mon + 1 || (w.mon == b.tm_mon + 1 && w.mday >= b.tm_mday)))) {
            return;
        }
        w.dim = month_days(w.year, w.mon);
        w.wday = wday_of(w.year, w.mon, w.mday);
        if (day_matches(x, &w)) {
            die("skipped a whole day that matches", from, to);
        }
    }
}

static void run_zone(const sl_cron_t *c, const expr_t *x, bool late, const char *zone,
                     int64_t start)
{
    g_zone = zone;
    setenv("TZ", zone, 1);
    tzset();
    int64_t t = start;
    for (int i = 0; i < 5; i++) {
        int64_t n = 0;
        int rc = sl_cron_next(c, zone, t, &n);
        if (rc == SL_ENOTFOUND) {
            if (!x->rate && t < RATE_END_S) {
                check_no_fire_between(x, t, t + SCAN_MINUTES * 60 + 60);
            }
            if (x->rate && t + c->every_s < RATE_END_S && t >= c->anchor_s) {
                die("rate ended early", t, 0);
            }
            return;
        }
        if (rc != 0) {
            die("sl_cron_next failed", t, rc);
        }
        if (n <= t) {
            die("not after the start", t, n);
        }
        int64_t again = 0;
        if (sl_cron_next(c, zone, n - 1, &again) != 0 || again != n) {
            die("asked from a second before, a different time", n - 1, again);
        }
        if (x->rate) {
            if (n >= RATE_END_S || n < c->anchor_s || (n - c->anchor_s) % c->every_s != 0) {
                die("not anchor + k * interval before 2200", t, n);
            }
            if (n != c->anchor_s && n - c->every_s > t) {
                die("skipped a rate time", t, n);
            }
        } else {
            struct tm tm = local(n);
            if (tm.tm_year + 1900 > SL_CRON_YEAR_MAX) {
                die("after 2199", t, n);
            }
            if (!matches(x, &tm)) {
                die("fires at a time the expression does not match", t, n);
            }
            if (seen_before(n)) {
                die("fires at the second occurrence of a wall-clock time", t, n);
            }
            check_no_fire_between(x, t, n);
            check_no_day_between(x, late, t, n);
        }
        t = n;
    }
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 1099511628211ull;
    }
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char expr[MAX_EXPR + 1];
    size_t n = 0;
    while (n < size && n < MAX_EXPR && data[n] != '\n' && data[n] != 0) {
        expr[n] = (char)data[n];
        n++;
    }
    expr[n] = 0;
    g_expr = expr;
    sl_cron_t c;
    sl_err_t err = {0};
    if (sl_cron_parse(expr, &c, &err) != 0) {
        if (err.code != SL_EPARSE ||
            (strncmp(err.msg, "cron: ", 6) != 0 && strncmp(err.msg, "rate: ", 6) != 0)) {
            fprintf(stderr, "fuzz_cron: '%s': odd error %d '%s'\n", expr, err.code, err.msg);
            abort();
        }
        return 0;
    }
    expr_t x;
    split(expr, &x);
    if (x.rate != (c.kind == SL_CRON_RATE) || (!x.rate && x.aws != (c.kind == SL_CRON_AWS))) {
        die("the matcher reads another kind", 0, c.kind);
    }
    bool late = false;
    for (int hh = 4; !x.rate && hh < 24 && !late; hh++) {
        for (int mm = 0; mm < 60 && !late; mm++) {
            wall_t w = {.hour = hh, .min = mm};
            late = time_matches(&x, &w);
        }
    }
    uint64_t h = fnv(data, size);
    const char *zone = zones[h % (sizeof zones / sizeof zones[0])];
    c.anchor_s = 1767225600 + (int64_t)(h >> 8) % 2000000 - 1000000; /* around 2026 */

    /* A second line of digits is the start, within 1969-2200. */
    int64_t given = -1;
    if (n < size && data[n] == '\n') {
        int64_t v = 0;
        size_t i = n + 1, d = 0;
        while (i < size && data[i] >= '0' && data[i] <= '9' && d < 15) {
            v = v * 10 + (data[i++] - '0');
            d++;
        }
        if (d > 0) {
            given = v % (RATE_END_S + 5 * 86400LL) - 3 * 86400LL;
        }
    }
    if (given != -1) {
        run_zone(&c, &x, late, "UTC", given);
        run_zone(&c, &x, late, zone, given);
    } else {
        for (size_t i = 0; i < sizeof fixed_starts / sizeof fixed_starts[0]; i++) {
            if ((h >> (i * 3)) % 3 == 0 || i == 0) {
                run_zone(&c, &x, late, "UTC", fixed_starts[i]);
                run_zone(&c, &x, late, zone, fixed_starts[i]);
            }
        }
    }
    return 0;
}
