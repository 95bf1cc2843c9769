/* Dates and timestamps; see include/sluice/timeutil.h.
 *
 * Civil-date conversions follow Howard Hinnant's days_from_civil /
 * civil_from_days (eras of 400 years, March-based years), which are exact
 * for the whole proleptic Gregorian calendar without tables or loops.
 * Parsing is strict and hand-written (no sscanf: it accepts signs, spaces
 * and overlong fields). Formatting writes digits directly because CSV and
 * JSON writers format one timestamp per field on their hot path. */
#include <string.h>
#include <time.h>

#include "sluice/timeutil.h"

#define US_PER_SEC 1000000LL
#define SEC_PER_DAY 86400LL
#define US_PER_DAY (SEC_PER_DAY * US_PER_SEC)

/* Inlined into the parsers (one call per timestamp otherwise). */
static inline int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t mm = m, dd = d; /* signed: d == 0 must not wrap */
    y -= mm <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                        /* [0, 399] */
    int64_t doy = (153 * (mm > 2 ? mm - 3 : mm + 9) + 2) / 5 + dd - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

int64_t sl_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    return days_from_civil(y, m, d);
}

/* Keeps z + 719468 and the era arithmetic inside int64 for any input; the
 * bound is far beyond year 9999 (and beyond any timestamp's day). */
#define DAYS_LIMIT 4000000000000LL

void sl_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    if (days > DAYS_LIMIT) {
        days = DAYS_LIMIT;
    } else if (days < -DAYS_LIMIT) {
        days = -DAYS_LIMIT;
    }
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly n digits at s; -1 if any is not a digit. */
static int digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i] - '0';
        if (c > 9) {
            return -1;
        }
        v = v * 10 + (int)c;
    }
    return v;
}

/* Parses "YYYY-MM-DD" at s (at least 10 bytes available). */
static int parse_ymd(const char *s, int64_t *days)
{
    if (s[4] != '-' || s[7] != '-') {
        return SL_EPARSE;
    }
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 1 || m < 1 || m > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)m)) {
        return SL_EPARSE;
    }
    *days = days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

int sl_date_parse(const char *s, size_t n, int64_t *days)
{
    if (n != 10) {
        return SL_EPARSE;
    }
    return parse_ymd(s, days);
}

/* Parses a zone designator s[0..n): Z, +HH:MM, +HHMM or +HH. */
static int parse_zone(const char *s, size_t n, int64_t *offset_s)
{
    if (n == 1 && (s[0] == 'Z' || s[0] == 'z')) {
        *offset_s = 0;
        return 0;
    }
    if (n < 3 || (s[0] != '+' && s[0] != '-')) {
        return SL_EPARSE;
    }
    int hh = digits(s + 1, 2), mm = 0;
    if (n == 6 && s[3] == ':') {
        mm = digits(s + 4, 2);
    } else if (n == 5) {
        mm = digits(s + 3, 2);
    } else if (n != 3) {
        return SL_EPARSE;
    }
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59) {
        return SL_EPARSE;
    }
    int64_t off = (int64_t)hh * 3600 + mm * 60;
    *offset_s = s[0] == '-' ? -off : off;
    return 0;
}

int sl_timestamp_parse(const char *s, size_t n, int64_t *us)
{
    int64_t days;
    if (n < 10 || parse_ymd(s, &days) != 0) {
        return SL_EPARSE;
    }
    if (n == 10) {
        *us = days * US_PER_DAY;
        return 0;
    }
    /* "T10:00" is the shortest time part. */
    if (n < 16 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':') {
        return SL_EPARSE;
    }
    int hh = digits(s + 11, 2), mi = digits(s + 14, 2), ss = 0;
    if (hh < 0 || hh > 23 || mi < 0 || mi > 59) {
        return SL_EPARSE;
    }
    size_t i = 16;
    int64_t frac_us = 0;
    if (i < n && s[i] == ':') {
        if (n < i + 3) {
            return SL_EPARSE;
        }
        ss = digits(s + i + 1, 2);
        if (ss < 0 || ss > 59) {
            return SL_EPARSE;
        }
        i += 3;
        if (i < n && s[i] == '.') {
            i++;
            size_t start = i;
            int64_t scale = 100000;
            while (i < n && (unsigned)((unsigned char)s[i] - '0') <= 9) {
                if (i - start >= 9) {
                    return SL_EPARSE;
                }
                frac_us += (s[i] - '0') * scale; /* digits beyond 6 add 0: truncation */
                scale /= 10;
                i++;
            }
            if (i == start) {
                return SL_EPARSE;
            }
        }
    }
    int64_t offset_s = 0;
    if (i < n && parse_zone(s + i, n - i, &offset_s) != 0) {
        return SL_EPARSE;
    }
    int64_t secs = days * SEC_PER_DAY + hh * 3600 + mi * 60 + ss - offset_s;
    *us = secs * US_PER_SEC + frac_us;
    return 0;
}

static inline char *put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* Years 0..9999 as 4 digits; others (only reachable from out-of-range
 * values, clamped by the callers to 6 digits) with a sign. */
static char *put_year(char *p, int64_t y)
{
    if (y >= 0 && y <= 9999) {
        p = put2(p, (unsigned)(y / 100));
        return put2(p, (unsigned)(y % 100));
    }
    *p++ = y < 0 ? '-' : '+';
    uint64_t u = y < 0 ? (uint64_t)0 - (uint64_t)y : (uint64_t)y;
    char tmp[24];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (k < 4) {
        tmp[k++] = '0';
    }
    while (k) {
        *p++ = tmp[--k];
    }
    return p;
}

static char *put_date(char *p, int64_t days)
{
    int64_t y;
    unsigned m, d;
    sl_civil_from_days(days, &y, &m, &d);
    p = put_year(p, y);
    *p++ = '-';
    p = put2(p, m);
    *p++ = '-';
    return put2(p, d);
}

/* Dates beyond this many days would not fit the 16-byte buffer; they are
 * clamped (they cannot come from parsing, only from arithmetic). */
#define DATE_FMT_LIMIT 300000000LL

size_t sl_date_format(int64_t days, char *buf)
{
    if (days > DATE_FMT_LIMIT) {
        days = DATE_FMT_LIMIT;
    } else if (days < -DATE_FMT_LIMIT) {
        days = -DATE_FMT_LIMIT;
    }
    char *p = put_date(buf, days);
    *p = '\0';
    return (size_t)(p - buf);
}

size_t sl_timestamp_format(int64_t us, char *buf)
{
    /* Floor division so times before 1970 get a positive fraction. */
    int64_t secs = us / US_PER_SEC;
    int64_t frac = us % US_PER_SEC;
    if (frac < 0) {
        frac += US_PER_SEC;
        secs--;
    }
    int64_t days = secs / SEC_PER_DAY;
    int64_t sod = secs % SEC_PER_DAY;
    if (sod < 0) {
        sod += SEC_PER_DAY;
        days--;
    }
    /* Writers format runs of timestamps from the same day: reuse the last
     * day's "YYYY-MM-DD" (per thread) instead of redoing the calendar. */
    static _Thread_local int64_t cached_days = INT64_MIN;
    static _Thread_local char cached_date[10];
    char *p;
    if (days == cached_days) {
        memcpy(buf, cached_date, 10);
        p = buf + 10;
    } else {
        p = put_date(buf, days);
        if (p == buf + 10) {
            memcpy(cached_date, buf, 10);
            cached_days = days;
        }
    }
    *p++ = 'T';
    p = put2(p, (unsigned)(sod / 3600));
    *p++ = ':';
    p = put2(p, (unsigned)(sod / 60 % 60));
    *p++ = ':';
    p = put2(p, (unsigned)(sod % 60));
    if (frac) {
        *p++ = '.';
        unsigned f = (unsigned)frac;
        p = put2(p, f / 10000);
        p = put2(p, f / 100 % 100);
        p = put2(p, f % 100);
    }
    *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - buf);
}

int64_t sl_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

int64_t sl_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

/* ---- durations ---- */

/* The unit at s[0..n) and its length, or 0 when none matches. */
static size_t duration_unit(const char *s, size_t n, int64_t *unit_us)
{
    static const struct {
        const char *name;
        size_t len;
        int64_t us;
    } units[] = {
        /* "ms" before "m": the first match wins */
        {"us", 2, 1},
        {"ms", 2, 1000},
        {"s", 1, US_PER_SEC},
        {"m", 1, 60 * US_PER_SEC},
        {"h", 1, 3600 * US_PER_SEC},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(units); i++) {
        if (n >= units[i].len && memcmp(s, units[i].name, units[i].len) == 0) {
            *unit_us = units[i].us;
            return units[i].len;
        }
    }
    return 0;
}

int sl_duration_parse(const char *s, size_t n, int64_t *us)
{
    /* 128-bit sums: a whole part near INT64_MAX times an hour still fits,
     * so overflow is one comparison at the end of each part. */
    unsigned __int128 total = 0;
    size_t i = 0;
    int parts = 0;
    while (i < n) {
        uint64_t whole = 0, frac = 0, scale = 1;
        size_t digits = 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            if (whole > (UINT64_MAX - 9) / 10) {
                return SL_ELIMIT;
            }
            whole = whole * 10 + (uint64_t)(s[i] - '0');
        }
        if (i < n && s[i] == '.') {
            for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
                if (scale < 1000000000000000000ull) { /* 18 digits; the rest is noise */
                    frac = frac * 10 + (uint64_t)(s[i] - '0');
                    scale *= 10;
                }
            }
        }
        if (digits == 0) {
            return SL_EPARSE;
        }
        int64_t unit = 0;
        size_t ulen = duration_unit(s + i, n - i, &unit);
        if (ulen == 0) {
            if (i == n && parts == 0) {
                unit = US_PER_SEC; /* a plain number: seconds */
            } else {
                return SL_EPARSE;
            }
        }
        i += ulen;
        parts++;
        total += (unsigned __int128)whole * (uint64_t)unit +
                 (unsigned __int128)frac * (uint64_t)unit / scale;
        if (total > INT64_MAX) {
            return SL_ELIMIT;
        }
    }
    if (parts == 0) {
        return SL_EPARSE;
    }
    *us = (int64_t)total;
    return 0;
}
