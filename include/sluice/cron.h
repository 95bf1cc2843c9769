/* Schedule expressions, as EventBridge Scheduler takes them, and their
 * next fire times in a time zone.
 *
 *   cron(min hour day-of-month month day-of-week year)   AWS cron; the six
 *       fields may also stand alone. Exactly one of day-of-month and
 *       day-of-week is ?. Lists (,), ranges (-), steps (/ after *, a value
 *       or a range), month names JAN-DEC, day-of-week 1-7 = SUN-SAT or
 *       names, years 1970-2199. Day-of-month: L (last day), LW (last
 *       weekday), 15W (the weekday nearest the 15th, within the month).
 *       Day-of-week: L (Saturday), 6L (the last Friday), 6#3 (the third
 *       Friday).
 *   min hour day-of-month month day-of-week               classic cron:
 *       day-of-week 0-7 (0 and 7 are Sunday) or names; no ? L W #. When
 *       neither day field starts with *, a day matching either fires (as
 *       Vixie cron does).
 *   rate(N minute|minutes|hour|hours|day|days)            every N units
 *       from the anchor; the unit is singular exactly when N is 1.
 *
 * Times are seconds since the Unix epoch. A cron schedule runs on the wall
 * clock of its zone: a time the clock skips (spring forward) does not
 * fire, a time it shows twice (fall back) fires once, the first time. */
#ifndef SLUICE_CRON_H
#define SLUICE_CRON_H

#include "sluice/common.h"

#define SL_CRON_YEAR_MIN 1970
#define SL_CRON_YEAR_MAX 2199

typedef enum {
    SL_CRON_AWS,     /* cron(...) or six fields */
    SL_CRON_CLASSIC, /* five fields */
    SL_CRON_RATE,    /* rate(...) */
} sl_cron_kind_t;

/* A parsed expression; plain data (copy it freely). Bit sets: bit v is
 * value v (weekdays 0-6 from Sunday, years from SL_CRON_YEAR_MIN). */
typedef struct {
    sl_cron_kind_t kind;
    /* rate: fires at anchor_s + k * every_s (k >= 0). The parser sets
     * anchor_s to 0; the scheduler sets it to when the schedule started. */
    int64_t anchor_s;
    int64_t every_s;
    uint64_t minutes;
    uint32_t hours;
    uint32_t mdays;         /* days of the month 1-31 */
    uint32_t mdays_w;       /* dW: the weekday nearest day d */
    bool mday_last;         /* L */
    bool mday_last_weekday; /* LW */
    uint16_t months;        /* 1-12 */
    uint8_t wdays;          /* weekdays */
    uint8_t wdays_last;     /* nL: the last such weekday of the month */
    uint8_t wdays_nth[7];   /* w#n: bit n of [w] */
    uint64_t years[4];
    uint8_t day_rule; /* how the two day fields combine (cron.c) */
} sl_cron_t;

/* Parses text into *out. Errors (SL_EPARSE) name the field and column:
 * "cron: field 3 (day-of-month) at column 9: 32 is out of range 1-31". */
int sl_cron_parse(const char *text, sl_cron_t *out, sl_err_t *err);

/* The first fire time strictly after after_s, in time zone tz (NULL is
 * UTC; rate ignores it). Returns 0, SL_ENOTFOUND when there is none before
 * 2200 (wall clock for cron, UTC for rate), or SL_EINVAL for an unknown
 * zone or an anchor beyond the years 1 to 9999. */
int sl_cron_next(const sl_cron_t *c, const char *tz, int64_t after_s, int64_t *next_s);

#endif
