/* Retry-After (RFC 9110 section 10.2.3): how long a server asks a client
 * to wait, as seconds or an HTTP date. Shared by every HTTP client that
 * retries (the http source, S3), so both read dates as well as seconds. */
#include <ctype.h>
#include <strings.h>

#include "http.h"
#include "sluice/timeutil.h"

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int month_of(const char *s, size_t n)
{
    static const char *const names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};
    if (n < 3) {
        return -1;
    }
    for (int m = 0; m < 12; m++) {
        if (strncasecmp(s, names[m], 3) == 0 && n == 3) {
            return m + 1;
        }
    }
    return -1;
}

/* The value of n (<= 18) decimal digits; the text need not end there. */
static long digits_value(const char *s, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* HTTP-date in any of its three forms, read as tokens: weekday (ignored),
 * day, month name, year, hh:mm:ss, "GMT". */
static int parse_http_date(const char *v, size_t n, int64_t *us)
{
    long day = -1, year = -1, hh = -1, mi = -1, ss = -1;
    int mon = -1;
    size_t i = 0;
    int tokens = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == ',' || v[i] == '-' || v[i] == '\t')) {
            i++;
        }
        size_t s = i;
        while (i < n && v[i] != ' ' && v[i] != ',' && v[i] != '-' && v[i] != '\t') {
            i++;
        }
        size_t len = i - s;
        if (len == 0) {
            break;
        }
        if (++tokens > 8) {
            return SL_EPARSE;
        }
        const char *t = v + s;
        if (len == 8 && t[2] == ':' && t[5] == ':' && sl_all_digits(t, 2) && sl_all_digits(t + 3, 2) &&
            sl_all_digits(t + 6, 2)) {
            hh = (t[0] - '0') * 10 + (t[1] - '0');
            mi = (t[3] - '0') * 10 + (t[4] - '0');
            ss = (t[6] - '0') * 10 + (t[7] - '0');
        } else if (sl_all_digits(t, len)) {
            if (len > 4) {
                return SL_EPARSE;
            }
            long x = digits_value(t, len);
            if (day < 0 && len <= 2 && year < 0) {
                day = x; /* before the month, or after it in asctime's "Nov  6" */
            } else if (year < 0 && day >= 0) {
                year = len == 2 ? (x < 70 ? 2000 + x : 1900 + x) : x;
            } else {
                return SL_EPARSE;
            }
        } else if (month_of(t, len) > 0) {
            mon = month_of(t, len);
        } else if (len == 3 && strncasecmp(t, "GMT", 3) == 0) {
            continue;
        } else if (tokens == 1 && isalpha((unsigned char)t[0])) {
            continue; /* weekday */
        } else {
            return SL_EPARSE;
        }
    }
    if (day < 1 || day > 31 || mon < 1 || year < 1970 || year > 9999 || hh < 0 || hh > 23 ||
        mi > 59 || ss > 60) {
        return SL_EPARSE;
    }
    int64_t days = sl_days_from_civil(year, (unsigned)mon, (unsigned)day);
    *us = ((days * 86400) + hh * 3600 + mi * 60 + ss) * 1000000;
    return 0;
}

int64_t sl_http_retry_after_ms(const char *value, size_t n, int64_t now_us)
{
    while (n > 0 && is_ws(value[0])) {
        value++;
        n--;
    }
    while (n > 0 && is_ws(value[n - 1])) {
        n--;
    }
    if (sl_all_digits(value, n)) {
        /* Beyond a day is a server bug; cap so the arithmetic stays sane. */
        if (n > 6) {
            return 86400 * 1000;
        }
        long s = digits_value(value, n);
        return s > 86400 ? 86400 * 1000 : (int64_t)s * 1000;
    }
    int64_t at;
    if (n == 0 || n > 64 || parse_http_date(value, n, &at) != 0) {
        return -1;
    }
    int64_t ms = (at - now_us) / 1000;
    if (ms < 0) {
        return 0;
    }
    return ms > 86400 * 1000 ? 86400 * 1000 : ms;
}
