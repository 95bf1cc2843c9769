/* Time zones; see include/sluice/tz.h.
 *
 * Only localtime_r is asked about the zone: wall-clock time to UTC is
 * worked out here from the offsets it reports, not with mktime, whose
 * answer for a time in a gap or in a repeated hour depends on tm_isdst
 * and on glibc's cache of the previous call. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sluice/timeutil.h"
#include "sluice/tz.h"

#define MIN_S (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define MAX_S 253402300799LL   /* 9999-12-31T23:59:59Z */
#define DAY_S 86400LL

/* TZ is the process's: one lock for every reader and writer of it here
 * (getenv included, since setenv may move the environment). */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

static bool is_utc(const char *tz)
{
    return strcmp(tz, "UTC") == 0;
}

bool sl_tz_known(const char *tz)
{
    if (!tz || !tz[0]) {
        return false;
    }
    if (is_utc(tz)) {
        return true;
    }
    if (tz[0] == '/' || strstr(tz, "..")) {
        return false;
    }
    char path[4096];
    pthread_mutex_lock(&tz_lock);
    const char *dir = getenv("TZDIR");
    int n = snprintf(path, sizeof path, "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", tz);
    pthread_mutex_unlock(&tz_lock);
    if (n < 0 || (size_t)n >= sizeof path) {
        return false;
    }
    /* A regular file is not enough: zone.tab or tzdata.zi sit beside the
     * zones, and glibc silently takes a TZ it cannot read as UTC. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return false;
    }
    struct stat sb;
    char magic[4];
    bool ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
              read(fd, magic, sizeof magic) == (ssize_t)sizeof magic &&
              memcmp(magic, "TZif", 4) == 0;
    close(fd);
    return ok;
}

/* Holds the lock with TZ set to a zone; leave() puts the old TZ back. */
typedef struct {
    char *saved;  /* the previous TZ (NULL: it was unset) */
    bool changed; /* TZ was set here */
} tz_scope_t;

static int enter(tz_scope_t *s, const char *tz)
{
    s->saved = NULL;
    s->changed = false;
    if (!sl_tz_known(tz)) {
        return SL_ENOTFOUND;
    }
    pthread_mutex_lock(&tz_lock);
    const char *old = getenv("TZ");
    if (!old || strcmp(old, tz) != 0) {
        if (old && !(s->saved = strdup(old))) {
            pthread_mutex_unlock(&tz_lock);
            return SL_ENOMEM;
        }
        if (setenv("TZ", tz, 1) != 0) {
            free(s->saved);
            pthread_mutex_unlock(&tz_lock);
            return SL_ENOMEM;
        }
        s->changed = true;
    }
    /* Always: localtime_r does not look at TZ again by itself, and this
     * costs nothing when glibc already has this zone loaded. */
    tzset();
    return 0;
}

static void leave(tz_scope_t *s)
{
    if (s->changed) {
        if (s->saved) {
            setenv("TZ", s->saved, 1);
        } else {
            unsetenv("TZ");
        }
        tzset();
        free(s->saved);
    }
    pthread_mutex_unlock(&tz_lock);
}

static bool local_at(bool utc, int64_t t, struct tm *out)
{
    if (t < MIN_S - 2 * DAY_S || t > MAX_S + 2 * DAY_S) {
        return false;
    }
    time_t tt = (time_t)t;
    return (utc ? gmtime_r(&tt, out) : localtime_r(&tt, out)) != NULL;
}

/* Offset from UTC at instant t in the zone in force (seconds east). */
static int64_t offset_at(int64_t t)
{
    struct tm tm;
    return local_at(false, t, &tm) ? tm.tm_gmtoff : 0;
}

int sl_tz_to_local(const char *tz, int64_t utc_s, struct tm *out)
{
    if (utc_s < MIN_S || utc_s > MAX_S) {
        return SL_EINVAL;
    }
    if (is_utc(tz)) {
        return local_at(true, utc_s, out) ? 0 : SL_EINVAL;
    }
    tz_scope_t s;
    int rc = enter(&s, tz);
    if (rc) {
        return rc;
    }
    rc = local_at(false, utc_s, out) ? 0 : SL_EINVAL;
    leave(&s);
    return rc;
}

/* The wall-clock time as seconds, as if it were UTC (fields normalised). */
static int naive_seconds(const struct tm *tm, int64_t *out)
{
    int64_t mon = tm->tm_mon;
    int64_t q = mon >= 0 ? mon / 12 : -((11 - mon) / 12); /* floor(mon / 12) */
    int64_t y = tm->tm_year + 1900LL + q;
    mon -= q * 12;
    int64_t days = sl_days_from_civil(y, (unsigned)mon + 1, 1) + tm->tm_mday - 1;
    int64_t t = days * DAY_S + tm->tm_hour * 3600LL + tm->tm_min * 60LL + tm->tm_sec;
    if (y < 0 || y > 10000 || t < MIN_S || t > MAX_S) {
        return SL_EINVAL;
    }
    *out = t;
    return 0;
}

/* Under the lock: the first instant u with wall(u) == w, or, when w falls
 * in a gap, the first instant after it. */
static bool from_wall(int64_t w, int64_t *utc)
{
    /* Offsets never reach a day, and no zone changes its offset twice in
     * two days: the offsets in force a day either side cover every instant
     * whose wall clock can read w. */
    int64_t offs[3] = {offset_at(w - DAY_S), offset_at(w), offset_at(w + DAY_S)};
    bool found = false;
    for (int i = 0; i < 3; i++) {
        int64_t u = w - offs[i];
        if (offset_at(u) == offs[i] && (!found || u < *utc)) {
            *utc = u;
            found = true;
        }
    }
    if (found) {
        return true;
    }
    /* In a gap, the wall clock jumps over w: find where it passes it. */
    int64_t lo = w - DAY_S, hi = w + DAY_S; /* wall(lo) < w < wall(hi) */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (mid + offset_at(mid) > w) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    *utc = hi;
    return false;
}

int sl_tz_from_local(const char *tz, const struct tm *local, int64_t *utc_s, bool *exists)
{
    int64_t w;
    int rc = naive_seconds(local, &w);
    if (rc) {
        return rc;
    }
    if (is_utc(tz)) {
        *utc_s = w;
        *exists = true;
        return 0;
    }
    tz_scope_t s;
    rc = enter(&s, tz);
    if (rc) {
        return rc;
    }
    *exists = from_wall(w, utc_s);
    leave(&s);
    return 0;
}

int64_t sl_tz_today_at(const char *tz, int64_t now_s)
{
    struct tm tm;
    if (sl_tz_to_local(tz, now_s, &tm) != 0 && sl_tz_to_local("UTC", now_s, &tm) != 0) {
        /* beyond year 9999: no zone matters */
        return now_s / DAY_S - (now_s % DAY_S < 0);
    }
    return sl_days_from_civil(tm.tm_year + 1900LL, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
}

int64_t sl_tz_today(const char *tz)
{
    return sl_tz_today_at(tz, (int64_t)time(NULL));
}
