/* Time zones from the system tz database (/usr/share/zoneinfo, or TZDIR).
 *
 * glibc converts only in the process's own zone, so every conversion sets
 * TZ, calls tzset, converts and puts the previous TZ back, all under one
 * process-wide lock: safe from any thread, as long as nothing else in the
 * process reads local time or changes TZ meanwhile. "UTC" never touches
 * TZ. Zones are IANA names ("America/Chicago"); times are seconds since
 * the Unix epoch, years 1 to 9999. */
#ifndef SLUICE_TZ_H
#define SLUICE_TZ_H

#include <time.h>

#include "sluice/common.h"

/* Whether tz names a zone: "UTC", or a tz database file (TZif) under the
 * zoneinfo directory. Absolute paths and names with ".." are refused. */
bool sl_tz_known(const char *tz);

/* The wall-clock time in tz at utc_s, with tm_gmtoff (seconds east of UTC)
 * and tm_isdst. Returns 0, SL_ENOTFOUND (unknown zone) or SL_EINVAL (out of
 * range). */
int sl_tz_to_local(const char *tz, int64_t utc_s, struct tm *out);

/* The instant of a wall-clock time in tz. Reads tm_year, tm_mon, tm_mday,
 * tm_hour, tm_min and tm_sec (normalised as mktime does; tm_isdst and
 * tm_wday are ignored). A time that happens twice (fall back) gives its
 * first occurrence. A time that does not exist (spring forward) sets
 * *exists to false and *utc_s to the first instant after the gap.
 * Returns 0, SL_ENOTFOUND or SL_EINVAL. */
int sl_tz_from_local(const char *tz, const struct tm *local, int64_t *utc_s, bool *exists);

/* Today's date in tz (days since 1970-01-01), at now_s or at the current
 * time. An unknown zone gives the UTC date (check with sl_tz_known). */
int64_t sl_tz_today_at(const char *tz, int64_t now_s);
int64_t sl_tz_today(const char *tz);

#endif
