/* Error classes, retry policies and backoff delays (see
 * include/sluice/retry.h). Reading a policy from config lives in
 * src/config/retry_policy.c, so that core does not depend on config. */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "sluice/retry.h"
#include "sluice/timeutil.h"

static const char *const class_names[SL_ECLASS_COUNT] = {
    "none", "transient", "timeout", "rate_limited", "data", "config", "fatal",
    "tolerance_exceeded",
};

const char *sl_error_class_name(sl_error_class_t cls)
{
    return (unsigned)cls < SL_ECLASS_COUNT ? class_names[cls] : "?";
}

int sl_error_class_parse(const char *name, sl_error_class_t *out)
{
    for (unsigned i = SL_ECLASS_TRANSIENT; i < SL_ECLASS_COUNT; i++) {
        if (strcmp(name, class_names[i]) == 0) {
            *out = (sl_error_class_t)i;
            return 0;
        }
    }
    return SL_ENOTFOUND;
}

sl_error_class_t sl_error_class_of(int code)
{
    switch (code) {
    case 0:
        return SL_ECLASS_NONE;
    case SL_ERETRY:
    case SL_EIO:
        return SL_ECLASS_TRANSIENT;
    case SL_ETIMEOUT:
        return SL_ECLASS_TIMEOUT;
    case SL_ERATELIMITED:
        return SL_ECLASS_RATE_LIMITED;
    case SL_ETOLERANCE:
        return SL_ECLASS_TOLERANCE_EXCEEDED;
    case SL_EPARSE:
    case SL_ETYPE:
    case SL_EREJECTS:
    case SL_ESINK:
        return SL_ECLASS_DATA;
    case SL_ECONFIG:
    case SL_EINVAL:
    case SL_EUNSUPPORTED:
        return SL_ECLASS_CONFIG;
    default:
        return SL_ECLASS_FATAL;
    }
}

sl_retry_policy_t sl_retry_policy_default(void)
{
    return (sl_retry_policy_t){
        .max_attempts = 3,
        .interval_us = 1000000,
        .backoff = 2.0,
        .max_delay_us = 60 * 1000000LL,
        .jitter = true,
        .on = SL_RETRY_ON(SL_ECLASS_TRANSIENT) | SL_RETRY_ON(SL_ECLASS_TIMEOUT) |
              SL_RETRY_ON(SL_ECLASS_RATE_LIMITED),
    };
}

bool sl_retry_should(const sl_retry_policy_t *p, sl_error_class_t cls, int attempts_made)
{
    if (cls == SL_ECLASS_NONE || (unsigned)cls >= SL_ECLASS_COUNT) {
        return false;
    }
    return (p->on & SL_RETRY_ON(cls)) != 0 && attempts_made < p->max_attempts;
}

/* splitmix64: tiny, any state (0 included) is fine, and good enough to
 * spread clients apart; not for secrets. */
static uint64_t next_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t sl_retry_seed(const void *instance)
{
    static _Atomic uint64_t counter;
    uint64_t s = (uint64_t)sl_now_us() ^ ((uint64_t)sl_mono_us() << 20) ^
                 ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)instance ^
                 (atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ull);
    return next_rand(&s);
}

int64_t sl_retry_delay_us(const sl_retry_policy_t *p, int attempt, int64_t retry_after_us,
                          uint64_t *rng_state)
{
    int64_t cap = p->max_delay_us > 0 ? p->max_delay_us : 0;
    int64_t base = p->interval_us > 0 ? p->interval_us : 0;
    /* In doubles, where a huge power is +inf rather than undefined
     * behaviour; !(x < cap) also catches NaN from a nonsense backoff. */
    double x = (double)base * pow(p->backoff, attempt > 1 ? attempt - 1 : 0);
    int64_t ceiling;
    if (!(x < (double)cap)) {
        ceiling = cap;
    } else {
        ceiling = x > 0 ? (int64_t)x : 0;
    }
    int64_t delay = ceiling;
    if (p->jitter && ceiling > 0) {
        static _Thread_local uint64_t own;
        if (!rng_state) {
            if (!own) {
                own = sl_retry_seed(&own);
            }
            rng_state = &own;
        }
        delay = (int64_t)(next_rand(rng_state) % ((uint64_t)ceiling + 1));
    }
    if (retry_after_us >= 0) {
        int64_t ra = SL_MIN(retry_after_us, cap);
        delay = SL_MAX(delay, ra);
    }
    return delay;
}
