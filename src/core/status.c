/* Status names (status.h). */
#include <string.h>

#include "sluice/common.h"
#include "sluice/status.h"

static const char *const names[SL_STATUS_COUNT] = {
    [SL_STATUS_PENDING] = "pending",     [SL_STATUS_RUNNING] = "running",
    [SL_STATUS_OK] = "ok",               [SL_STATUS_PARTIAL] = "partial",
    [SL_STATUS_FAILED] = "failed",       [SL_STATUS_SKIPPED] = "skipped",
    [SL_STATUS_CANCELLED] = "cancelled", [SL_STATUS_TIMED_OUT] = "timed_out",
    [SL_STATUS_INTERRUPTED] = "interrupted",
};

const char *sl_status_name(sl_status_t s)
{
    return (unsigned)s < SL_STATUS_COUNT ? names[s] : "unknown";
}

int sl_status_parse(const char *s, sl_status_t *out)
{
    for (int i = 0; i < SL_STATUS_COUNT; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (sl_status_t)i;
            return 0;
        }
    }
    return SL_EINVAL;
}
