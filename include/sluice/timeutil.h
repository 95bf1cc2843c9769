/* Dates and timestamps: parsing ISO 8601 / RFC 3339 and formatting UTC.
 *
 * Timestamps are int64 microseconds since the Unix epoch, UTC; dates are
 * int64 days since 1970-01-01. Proleptic Gregorian, years 0001-9999. */
#ifndef SLUICE_TIMEUTIL_H
#define SLUICE_TIMEUTIL_H

#include "sluice/common.h"

/* Days since epoch for a civil date (no range check). */
int64_t sl_days_from_civil(int64_t y, unsigned m, unsigned d);
void sl_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Parses "YYYY-MM-DD" exactly. Returns 0 or SL_EPARSE. */
int sl_date_parse(const char *s, size_t n, int64_t *days);
/* Parses timestamps: "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.ffffff]]" with
 * 'T', 't' or ' ' between, then optional 'Z', '+HH:MM', '+HHMM' or '+HH'.
 * Without a zone the time is taken as UTC. Up to 9 fraction digits
 * (truncated to microseconds). Validates ranges (Feb 29 only in leap
 * years, leap second 60 rejected). */
int sl_timestamp_parse(const char *s, size_t n, int64_t *us);

/* Formats as "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (fraction only if non-zero,
 * always 6 digits then). Writes a NUL; returns the length. buf >= 32. */
size_t sl_timestamp_format(int64_t us, char *buf);
/* Formats "YYYY-MM-DD"; buf >= 16. */
size_t sl_date_format(int64_t days, char *buf);

/* Parses a duration into microseconds: one or more <number><unit> ("500ms",
 * "2s", "1.5m", "1h30m"; units us, ms, s, m, h), or a plain number of
 * seconds ("2", "0.25"). Fractions below a microsecond are dropped.
 * Returns 0, SL_EPARSE (not a duration: empty, negative, unknown unit) or
 * SL_ELIMIT (beyond int64 microseconds). */
int sl_duration_parse(const char *s, size_t n, int64_t *us);

/* Current UTC time in microseconds. */
int64_t sl_now_us(void);
/* Monotonic clock in microseconds (for durations). */
int64_t sl_mono_us(void);

#endif
