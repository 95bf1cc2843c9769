/* Schedule expressions; see include/sluice/cron.h.
 *
 * A cron expression becomes bit sets per field. The next fire time is
 * searched on the wall clock of the zone, a field at a time (a year not in
 * the set is skipped whole, then a month, a day, an hour), so even a
 * schedule that never fires costs a few thousand steps, not a scan of
 * every minute until 2200. Each wall-clock candidate is then converted to
 * UTC: one that does not exist, or whose first occurrence is not after the
 * start, is passed over. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sluice/cron.h"
#include "sluice/timeutil.h"
#include "sluice/tz.h"

#define DAY_S 86400LL
#define YEAR_BITS (SL_CRON_YEAR_MAX - SL_CRON_YEAR_MIN + 1)
/* 2200-01-01T00:00:00Z: rate times stop before it. */
#define RATE_END_S 7258118400LL
/* Two days into 2200 in UTC, every wall clock reads 2200 too. */
#define CRON_END_S (RATE_END_S + 2 * DAY_S)
/* Anchors within the years 1 to 9999 keep the arithmetic inside int64. */
#define ANCHOR_MIN_S (-62135596800LL)
#define ANCHOR_MAX_S 253402300799LL

enum {
    DAY_BY_MDAY, /* AWS, day-of-week is ? */
    DAY_BY_WDAY, /* AWS, day-of-month is ? */
    DAY_BOTH,    /* classic, a day field starts with *: both must match */
    DAY_EITHER,  /* classic, both restricted: either matches */
};

enum { F_MIN, F_HOUR, F_MDAY, F_MON, F_WDAY, F_YEAR, F_COUNT };

static const char *const field_names[F_COUNT] = {"minute", "hour",        "day-of-month",
                                                 "month",  "day-of-week", "year"};
static const char *const month_names[12] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                            "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const day_names[7] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

/* ---- parsing ---- */

typedef struct {
    const char *text; /* the whole expression: columns count from it */
    sl_err_t *err;
    bool aws;
    int field;  /* F_* */
    int lo, hi; /* the field's values */
} parser_t;

/* One field's values and specials. */
typedef struct {
    uint64_t bits[4]; /* value - lo */
    bool any;         /* ? */
    bool star;        /* starts with * */
    bool last, last_weekday;
    uint32_t near_weekday;
    uint8_t wlast;
    uint8_t nth[7];
} fset_t;

static size_t column(const parser_t *p, const char *at)
{
    return (size_t)(at - p->text) + 1;
}

/* A character for a message: printable as is, anything else as a byte. */
static const char *show_char(char c, char *buf)
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x21 && u < 0x7f) {
        snprintf(buf, 16, "'%c'", c);
    } else {
        snprintf(buf, 16, "byte 0x%02x", u);
    }
    return buf;
}

SL_PRINTF(3, 4)
static int field_error(parser_t *p, const char *at, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sl_err_set(p->err, SL_EPARSE, "cron: field %d (%s) at column %zu: %s", p->field + 1,
                      field_names[p->field], column(p, at), msg);
}

static int unexpected(parser_t *p, const char *at, const char *end)
{
    char b[16];
    if (at >= end) {
        return field_error(p, at, "the field ends too early");
    }
    char c = *at >= 'a' && *at <= 'z' ? (char)(*at - 32) : *at;
    if (c == '?' || c == 'L' || c == 'W' || c == '#') {
        if (!p->aws) {
            return field_error(p, at, "%s is for AWS cron only (6 fields)", show_char(*at, b));
        }
        if (c == '?' && p->field != F_MDAY && p->field != F_WDAY) {
            return field_error(p, at, "? is only for day-of-month and day-of-week");
        }
        if (c == 'L' && p->field != F_MDAY && p->field != F_WDAY) {
            return field_error(p, at, "L is only for day-of-month and day-of-week");
        }
        if (c == 'W' && p->field != F_MDAY) {
            return field_error(p, at, "W is only for day-of-month");
        }
        if (c == '#' && p->field != F_WDAY) {
            return field_error(p, at, "# is only for day-of-week");
        }
    }
    return field_error(p, at, "unexpected %s", show_char(*at, b));
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int name_index(const char *s, size_t n, const char *const *names, int count)
{
    if (n != 3) {
        return -1;
    }
    for (int i = 0; i < count; i++) {
        if (strncasecmp(s, names[i], 3) == 0) {
            return i;
        }
    }
    return -1;
}

/* Reads a value (number or name) at *s and moves *s past it. */
static int read_value(parser_t *p, const char **s, const char *end, int *out)
{
    const char *at = *s;
    if (at < end && is_digit(*at)) {
        long v = 0;
        const char *q = at;
        while (q < end && is_digit(*q)) {
            v = v < 100000 ? v * 10 + (*q - '0') : v; /* past any range already */
            q++;
        }
        if (v < p->lo || v > p->hi) {
            return field_error(p, at, "%.*s is out of range %d-%d", (int)SL_MIN(q - at, 24), at,
                               p->lo, p->hi);
        }
        *out = (int)v;
        *s = q;
        return 0;
    }
    if (at < end && is_alpha(*at) && (p->field == F_MON || p->field == F_WDAY)) {
        const char *q = at;
        while (q < end && is_alpha(*q)) {
            q++;
        }
        size_t n = (size_t)(q - at);
        /* FRIL: a name then L (the last Friday) */
        if (p->field == F_WDAY && p->aws && n == 4 && (at[3] == 'L' || at[3] == 'l')) {
            n = 3;
        }
        int i = p->field == F_MON ? name_index(at, n, month_names, 12)
                                  : name_index(at, n, day_names, 7);
        if (i < 0) {
            if (n <= 2 && (*at == 'L' || *at == 'l' || *at == 'W' || *at == 'w')) {
                return unexpected(p, at, end);
            }
            return field_error(p, at, "unknown name '%.*s' (%s)", (int)SL_MIN(q - at, 24), at,
                               p->field == F_MON ? "JAN-DEC" : "SUN-SAT");
        }
        /* Names count as numbers would: months 1-12, days 1-7 (AWS) or
         * 0-6 (classic). */
        *out = p->field == F_MON ? i + 1 : (p->aws ? i + 1 : i);
        *s = at + n;
        return 0;
    }
    return unexpected(p, at, end);
}

static void set_bit(fset_t *f, int i)
{
    f->bits[i / 64] |= 1ull << (i % 64);
}

/* The weekday (0 = Sunday) of a day-of-week value. */
static int weekday_of(const parser_t *p, int v)
{
    return p->aws ? v - 1 : v % 7;
}

/* One list item, [s, end). */
static int parse_item(parser_t *p, const char *s, const char *end, fset_t *f)
{
    if (s == end) {
        return field_error(p, s, "empty list item");
    }
    bool aws_day = p->aws && (p->field == F_MDAY || p->field == F_WDAY);
    size_t n = (size_t)(end - s);
    if (aws_day && (*s == 'L' || *s == 'l')) {
        if (n == 1) {
            if (p->field == F_MDAY) {
                f->last = true;
            } else {
                set_bit(f, 7 - p->lo); /* the last day of the week: Saturday */
            }
            return 0;
        }
        if (n == 2 && p->field == F_MDAY && (s[1] == 'W' || s[1] == 'w')) {
            f->last_weekday = true;
            return 0;
        }
        return unexpected(p, s + 1, end);
    }
    int a, b, step = 1;
    const char *q = s;
    if (*q == '*') {
        a = p->lo;
        b = p->hi;
        q++;
        if (q < end && *q != '/') {
            return unexpected(p, q, end);
        }
    } else {
        int rc = read_value(p, &q, end, &a);
        if (rc) {
            return rc;
        }
        b = a;
        char c = q < end ? *q : 0;
        c = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
        if (aws_day && p->field == F_MDAY && c == 'W') {
            if (q + 1 < end) {
                return unexpected(p, q + 1, end);
            }
            f->near_weekday |= 1u << a;
            return 0;
        }
        if (aws_day && p->field == F_WDAY && c == 'L') {
            if (q + 1 < end) {
                return unexpected(p, q + 1, end);
            }
            f->wlast |= (uint8_t)(1u << weekday_of(p, a));
            return 0;
        }
        if (aws_day && p->field == F_WDAY && c == '#') {
            const char *k = q + 1;
            if (k + 1 != end || *k < '1' || *k > '5') {
                return field_error(p, k,
                                   "# takes the week of the month, 1 to 5 (6#3 is the "
                                   "third Friday)");
            }
            f->nth[weekday_of(p, a)] |= (uint8_t)(1u << (*k - '0'));
            return 0;
        }
        if (c == '-') {
            q++;
            rc = read_value(p, &q, end, &b);
            if (rc) {
                return rc;
            }
            if (b < a) {
                return field_error(p, s, "range %.*s goes backwards", (int)SL_MIN(q - s, 48), s);
            }
            char t = q < end ? *q : 0;
            t = t >= 'a' && t <= 'z' ? (char)(t - 32) : t;
            if (aws_day && (t == 'W' || t == 'L' || t == '#')) {
                return field_error(p, q, "%c follows a single day, not a range (%s)", t,
                                   t == 'W'   ? "15W"
                                   : t == 'L' ? "6L"
                                              : "6#3");
            }
        } else if (c == '/') {
            b = p->hi; /* 5/15: from 5 to the end of the range */
        }
    }
    if (q < end && *q == '/') {
        const char *k = ++q;
        long v = 0;
        while (q < end && is_digit(*q)) {
            v = v < 100000 ? v * 10 + (*q - '0') : v;
            q++;
        }
        if (q == k) {
            return q < end ? unexpected(p, q, end)
                           : field_error(p, q, "a step needs a number after /");
        }
        if (v < 1 || v > p->hi - p->lo + 1) {
            return field_error(p, k, "step %.*s is out of range 1-%d", (int)SL_MIN(q - k, 24), k,
                               p->hi - p->lo + 1);
        }
        step = (int)v;
    }
    if (q < end) {
        return unexpected(p, q, end);
    }
    for (int v = a; v <= b; v += step) {
        set_bit(f, v - p->lo);
    }
    return 0;
}

static int parse_field(parser_t *p, const char *s, const char *end, fset_t *f)
{
    memset(f, 0, sizeof *f);
    f->star = *s == '*';
    if (end - s == 1 && *s == '?') {
        if (!p->aws || (p->field != F_MDAY && p->field != F_WDAY)) {
            return unexpected(p, s, end);
        }
        f->any = true;
        return 0;
    }
    while (s <= end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *item_end = comma ? comma : end;
        if (item_end - s == 1 && *s == '?' && p->aws &&
            (p->field == F_MDAY || p->field == F_WDAY)) {
            return field_error(p, s, "? stands alone in its field");
        }
        int rc = parse_item(p, s, item_end, f);
        if (rc) {
            return rc;
        }
        if (!comma) {
            break;
        }
        s = comma + 1;
    }
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int parse_rate(const char *text, const char *s, const char *end, sl_cron_t *out,
                      sl_err_t *err)
{
    /* s is past "rate(", end at the closing ')' */
    while (s < end && is_space(*s)) {
        s++;
    }
    const char *num = s;
    long long n = 0;
    while (s < end && is_digit(*s)) {
        n = n < 10000000000LL ? n * 10 + (*s - '0') : n;
        s++;
    }
    size_t col = (size_t)(num - text) + 1;
    if (s == num) {
        const char *w = s;
        while (w < end && !is_space(*w)) {
            w++;
        }
        return sl_err_set(err, SL_EPARSE,
                          "rate: at column %zu: expected a whole number, got "
                          "'%.*s'",
                          col, (int)SL_MIN(w - num, 24), num);
    }
    if (n < 1 || n > 999999999) {
        return sl_err_set(err, SL_EPARSE,
                          "rate: at column %zu: %.*s is out of range "
                          "1-999999999",
                          col, (int)SL_MIN(s - num, 24), num);
    }
    const char *sp = s;
    while (s < end && is_space(*s)) {
        s++;
    }
    const char *unit = s;
    while (s < end && !is_space(*s)) {
        s++;
    }
    size_t ulen = (size_t)(s - unit);
    const char *tail = s;
    while (tail < end && is_space(*tail)) {
        tail++;
    }
    col = (size_t)(unit - text) + 1;
    if (ulen == 0) {
        return sl_err_set(err, SL_EPARSE,
                          "rate: at column %zu: expected a unit (minutes, "
                          "hours or days)",
                          col);
    }
    if (sp == unit) {
        return sl_err_set(err, SL_EPARSE,
                          "rate: at column %zu: expected a space between the "
                          "number and the unit",
                          col);
    }
    static const struct {
        const char *name;
        int64_t secs;
    } units[] = {{"minute", 60}, {"hour", 3600}, {"day", DAY_S}};
    int u = -1;
    bool plural = false;
    for (int i = 0; i < 3; i++) {
        size_t k = strlen(units[i].name);
        if (strncmp(unit, units[i].name, k) == 0 &&
            (ulen == k || (ulen == k + 1 && unit[k] == 's'))) {
            u = i;
            plural = ulen == k + 1;
        }
    }
    if (u < 0) {
        return sl_err_set(err, SL_EPARSE,
                          "rate: at column %zu: unknown unit '%.*s' (minute, "
                          "minutes, hour, hours, day, days)",
                          col, (int)SL_MIN(ulen, 24), unit);
    }
    if (plural != (n != 1)) {
        return sl_err_set(err, SL_EPARSE,
                          "rate: at column %zu: %lld takes the %s: rate(%lld "
                          "%s%s)",
                          col, n, n == 1 ? "singular" : "plural", n, units[u].name,
                          n == 1 ? "" : "s");
    }
    if (tail < end) {
        char b[16];
        return sl_err_set(err, SL_EPARSE, "rate: at column %zu: unexpected %s",
                          (size_t)(tail - text) + 1, show_char(*tail, b));
    }
    out->kind = SL_CRON_RATE;
    out->every_s = n * units[u].secs;
    return 0;
}

int sl_cron_parse(const char *text, sl_cron_t *out, sl_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *s = text, *end = text + strlen(text);
    while (s < end && is_space(*s)) {
        s++;
    }
    while (end > s && is_space(end[-1])) {
        end--;
    }
    if (s == end) {
        return sl_err_set(err, SL_EPARSE, "cron: empty schedule expression");
    }
    bool wrapped = false;
    if ((size_t)(end - s) >= 5 && memcmp(s, "rate(", 5) == 0) {
        if (end[-1] != ')') {
            return sl_err_set(err, SL_EPARSE, "rate: missing ) at the end");
        }
        return parse_rate(text, s + 5, end - 1, out, err);
    }
    if ((size_t)(end - s) >= 5 && memcmp(s, "cron(", 5) == 0) {
        const char *close = memchr(s, ')', (size_t)(end - s));
        if (!close) {
            return sl_err_set(err, SL_EPARSE, "cron: missing ) at the end");
        }
        if (close + 1 != end) {
            const char *x = close + 1;
            while (is_space(*x)) {
                x++;
            }
            char b[16];
            return sl_err_set(err, SL_EPARSE, "cron: at column %zu: unexpected %s after )",
                              (size_t)(x - text) + 1, show_char(*x, b));
        }
        s += 5;
        end = close;
        wrapped = true;
    }
    const char *fs[F_COUNT + 1], *fe[F_COUNT + 1];
    int nf = 0;
    while (s < end) {
        while (s < end && is_space(*s)) {
            s++;
        }
        if (s == end) {
            break;
        }
        const char *b = s;
        while (s < end && !is_space(*s)) {
            s++;
        }
        if (nf < F_COUNT + 1) {
            fs[nf] = b;
            fe[nf] = s;
        }
        nf++;
    }
    if (wrapped && nf != F_COUNT) {
        return sl_err_set(err, SL_EPARSE,
                          "cron: expected 6 fields in cron(...) (minute hour "
                          "day-of-month month day-of-week year), got %d",
                          nf);
    }
    if (nf != F_COUNT && nf != F_COUNT - 1) {
        return sl_err_set(err, SL_EPARSE,
                          "cron: expected 5 fields (classic cron) or 6 (AWS "
                          "cron: minute hour day-of-month month day-of-week year), got %d",
                          nf);
    }
    parser_t p = {.text = text, .err = err, .aws = nf == F_COUNT};
    static const int lo[F_COUNT] = {0, 0, 1, 1, 1, SL_CRON_YEAR_MIN};
    static const int hi[F_COUNT] = {59, 23, 31, 12, 7, SL_CRON_YEAR_MAX};
    fset_t f[F_COUNT];
    for (int i = 0; i < nf; i++) {
        p.field = i;
        p.lo = i == F_WDAY && !p.aws ? 0 : lo[i];
        p.hi = hi[i];
        int rc = parse_field(&p, fs[i], fe[i], &f[i]);
        if (rc) {
            return rc;
        }
    }
    out->kind = p.aws ? SL_CRON_AWS : SL_CRON_CLASSIC;
    out->minutes = f[F_MIN].bits[0];
    out->hours = (uint32_t)f[F_HOUR].bits[0];
    out->mdays = (uint32_t)(f[F_MDAY].bits[0] << 1);
    out->mdays_w = f[F_MDAY].near_weekday;
    out->mday_last = f[F_MDAY].last;
    out->mday_last_weekday = f[F_MDAY].last_weekday;
    out->months = (uint16_t)(f[F_MON].bits[0] << 1);
    if (p.aws) {
        out->wdays = (uint8_t)(f[F_WDAY].bits[0] & 0x7f);
        out->wdays_last = f[F_WDAY].wlast;
        memcpy(out->wdays_nth, f[F_WDAY].nth, sizeof out->wdays_nth);
        memcpy(out->years, f[F_YEAR].bits, sizeof out->years);
        if (f[F_MDAY].any == f[F_WDAY].any) {
            return sl_err_set(err, SL_EPARSE,
                              "cron: exactly one of day-of-month and day-of-week must be ?");
        }
        out->day_rule = f[F_WDAY].any ? DAY_BY_MDAY : DAY_BY_WDAY;
    } else {
        uint64_t w = f[F_WDAY].bits[0];
        out->wdays = (uint8_t)((w | (w >> 7)) & 0x7f); /* 7 is Sunday too */
        for (int i = 0; i < YEAR_BITS; i++) {
            out->years[i / 64] |= 1ull << (i % 64);
        }
        out->day_rule = f[F_MDAY].star || f[F_WDAY].star ? DAY_BOTH : DAY_EITHER;
    }
    return 0;
}

/* ---- next fire time ---- */

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

static bool year_in(const sl_cron_t *c, int64_t y)
{
    if (y < SL_CRON_YEAR_MIN || y > SL_CRON_YEAR_MAX) {
        return false;
    }
    int64_t i = y - SL_CRON_YEAR_MIN;
    return (c->years[i / 64] >> (i % 64)) & 1;
}

static int weekday(int64_t y, int m, int d)
{
    int64_t days = sl_days_from_civil(y, (unsigned)m, (unsigned)d);
    return (int)(((days + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
}

/* The day a dW names in this month (0: none, the month is too short). */
static int nearest_weekday(int64_t y, int m, int k, int dim)
{
    if (k > dim) {
        return 0;
    }
    int wd = weekday(y, m, k);
    if (wd == 6) {
        return k == 1 ? 3 : k - 1; /* never into the month before */
    }
    if (wd == 0) {
        return k == dim ? k - 2 : k + 1; /* nor into the next */
    }
    return k;
}

static bool mday_ok(const sl_cron_t *c, int64_t y, int m, int d, int dim)
{
    if ((c->mdays >> d) & 1) {
        return true;
    }
    if (c->mday_last && d == dim) {
        return true;
    }
    if (c->mday_last_weekday) {
        int wl = weekday(y, m, dim);
        if (d == dim - (wl == 6 ? 1 : wl == 0 ? 2 : 0)) {
            return true;
        }
    }
    /* A dW lands at most two days away from d. */
    for (int k = d - 2; k <= d + 2 && c->mdays_w; k++) {
        if (k >= 1 && k <= 31 && ((c->mdays_w >> k) & 1) && nearest_weekday(y, m, k, dim) == d) {
            return true;
        }
    }
    return false;
}

static bool wday_ok(const sl_cron_t *c, int wd, int d, int dim)
{
    return ((c->wdays >> wd) & 1) || (((c->wdays_last >> wd) & 1) && d + 7 > dim) ||
           ((c->wdays_nth[wd] >> ((d - 1) / 7 + 1)) & 1);
}

static bool day_ok(const sl_cron_t *c, int64_t y, int m, int d, int dim)
{
    switch (c->day_rule) {
    case DAY_BY_MDAY:
        return mday_ok(c, y, m, d, dim);
    case DAY_BY_WDAY:
        return wday_ok(c, weekday(y, m, d), d, dim);
    case DAY_BOTH:
        return mday_ok(c, y, m, d, dim) && wday_ok(c, weekday(y, m, d), d, dim);
    default:
        return mday_ok(c, y, m, d, dim) || wday_ok(c, weekday(y, m, d), d, dim);
    }
}

typedef struct {
    int64_t y;
    int mon, d, h, min; /* month 1-12 */
} wall_t;

/* The lowest set bit at or above i, or -1. */
static int next_bit(uint64_t set, int i)
{
    if (i > 63) {
        return -1;
    }
    uint64_t rest = set >> i << i;
    return rest ? __builtin_ctzll(rest) : -1;
}

static void next_day(wall_t *w)
{
    w->d++;
    w->h = 0;
    w->min = 0;
}

/* Moves *w to the first wall-clock time at or after it that the
 * expression matches; false past SL_CRON_YEAR_MAX. */
static bool find_wall(const sl_cron_t *c, wall_t *w)
{
    for (;;) {
        if (w->y > SL_CRON_YEAR_MAX) {
            return false;
        }
        if (w->y < SL_CRON_YEAR_MIN) {
            *w = (wall_t){SL_CRON_YEAR_MIN, 1, 1, 0, 0};
        }
        if (!year_in(c, w->y)) {
            int64_t y = w->y + 1;
            while (y <= SL_CRON_YEAR_MAX && !year_in(c, y)) {
                y++;
            }
            *w = (wall_t){y, 1, 1, 0, 0};
            continue;
        }
        if (w->mon > 12) {
            *w = (wall_t){w->y + 1, 1, 1, 0, 0};
            continue;
        }
        int m = next_bit(c->months, w->mon);
        if (m < 0) {
            *w = (wall_t){w->y + 1, 1, 1, 0, 0};
            continue;
        }
        if (m != w->mon) {
            *w = (wall_t){w->y, m, 1, 0, 0};
        }
        int dim = days_in_month(w->y, w->mon);
        if (w->d > dim) {
            *w = (wall_t){w->y, w->mon + 1, 1, 0, 0};
            continue;
        }
        if (!day_ok(c, w->y, w->mon, w->d, dim)) {
            next_day(w);
            continue;
        }
        int h = next_bit(c->hours, w->h);
        if (h < 0) {
            next_day(w);
            continue;
        }
        if (h != w->h) {
            w->h = h;
            w->min = 0;
        }
        int mi = next_bit(c->minutes, w->min);
        if (mi < 0) {
            w->h++;
            w->min = 0;
            if (w->h > 23) {
                next_day(w);
            }
            continue;
        }
        w->min = mi;
        return true;
    }
}

static void wall_from_tm(const struct tm *tm, wall_t *w)
{
    *w = (wall_t){tm->tm_year + 1900LL, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min};
}

static void add_minute(wall_t *w)
{
    if (++w->min > 59) {
        w->min = 0;
        if (++w->h > 23) {
            next_day(w); /* find_wall carries the day into the month */
        }
    }
}

static int wall_cmp(const wall_t *a, const wall_t *b)
{
    int64_t x[5] = {a->y, a->mon, a->d, a->h, a->min};
    int64_t y[5] = {b->y, b->mon, b->d, b->h, b->min};
    for (int i = 0; i < 5; i++) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

static int rate_next(const sl_cron_t *c, int64_t after_s, int64_t *next_s)
{
    int64_t a = c->anchor_s, n = c->every_s;
    if (n < 1 || a < ANCHOR_MIN_S || a > ANCHOR_MAX_S) {
        return SL_EINVAL;
    }
    if (after_s >= RATE_END_S) {
        return SL_ENOTFOUND;
    }
    int64_t t = a;
    if (after_s >= a) {
        t = a + ((after_s - a) / n + 1) * n; /* both below 10^13: no overflow */
    }
    if (t >= RATE_END_S) {
        return SL_ENOTFOUND;
    }
    *next_s = t;
    return 0;
}

int sl_cron_next(const sl_cron_t *c, const char *tz, int64_t after_s, int64_t *next_s)
{
    if (c->kind == SL_CRON_RATE) {
        return rate_next(c, after_s, next_s);
    }
    if (!tz) {
        tz = "UTC";
    }
    if (!sl_tz_known(tz)) {
        return SL_EINVAL;
    }
    if (after_s >= CRON_END_S) {
        return SL_ENOTFOUND;
    }
    /* Before 1970 nothing fires: start two days earlier at most, so no
     * wall clock reads 1970 yet. */
    int64_t from = after_s < -2 * DAY_S ? -2 * DAY_S : after_s;
    struct tm tm;
    int rc = sl_tz_to_local(tz, from, &tm);
    if (rc) {
        return rc == SL_ENOTFOUND ? SL_EINVAL : rc;
    }
    wall_t w;
    wall_from_tm(&tm, &w);
    add_minute(&w); /* the minute after; its second 0 is after after_s */
    for (;;) {
        if (!find_wall(c, &w)) {
            return SL_ENOTFOUND;
        }
        struct tm want = {.tm_year = (int)(w.y - 1900),
                          .tm_mon = w.mon - 1,
                          .tm_mday = w.d,
                          .tm_hour = w.h,
                          .tm_min = w.min};
        int64_t utc;
        bool exists;
        rc = sl_tz_from_local(tz, &want, &utc, &exists);
        if (rc) {
            return rc == SL_ENOTFOUND ? SL_EINVAL : rc;
        }
        if (exists && utc > after_s) {
            *next_s = utc;
            return 0;
        }
        if (!exists) {
            /* Go on from where the skipped wall-clock time ends. */
            rc = sl_tz_to_local(tz, utc, &tm);
            if (rc) {
                return rc == SL_ENOTFOUND ? SL_EINVAL : rc;
            }
            wall_t after_gap;
            wall_from_tm(&tm, &after_gap);
            if (tm.tm_sec != 0) {
                add_minute(&after_gap);
            }
            add_minute(&w);
            if (wall_cmp(&after_gap, &w) > 0) {
                w = after_gap;
            }
        } else {
            add_minute(&w);
        }
    }
}
