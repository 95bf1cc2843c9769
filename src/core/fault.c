/* Fault points (fault.h): SLUICE_FAULT=NAME:N kills the process at the Nth
 * pass through NAME. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sluice/fault.h"

int sl_fault_armed;
static char armed_name[128];
static long armed_at;
static atomic_long passes;

int sl_fault_init(void)
{
    const char *spec = getenv("SLUICE_FAULT");
    if (!spec || !*spec) {
        return 0;
    }
    const char *colon = strrchr(spec, ':');
    char *end = NULL;
    long n = colon ? strtol(colon + 1, &end, 10) : 0;
    size_t len = colon ? (size_t)(colon - spec) : 0;
    if (!colon || len == 0 || len >= sizeof armed_name || n < 1 || !end || *end) {
        fprintf(stderr, "sluice: SLUICE_FAULT='%s': expected NAME:N (N >= 1)\n", spec);
        return SL_EINVAL;
    }
    memcpy(armed_name, spec, len);
    armed_name[len] = '\0';
    armed_at = n;
    sl_fault_armed = 1;
    return 0;
}

void sl_fault_hit(const char *name)
{
    if (strcmp(name, armed_name) != 0) {
        return;
    }
    long k = atomic_fetch_add(&passes, 1) + 1;
    if (k == armed_at) {
        /* one write, no stdio buffer: the line must survive the kill */
        char line[200];
        int n = snprintf(line, sizeof line, "sluice: fault point %s (pass %ld): killed\n", name,
                         k);
        if (n > 0 && write(2, line, (size_t)SL_MIN(n, (int)sizeof line - 1)) < 0) {
            /* nothing to do: the process dies either way */
        }
        kill(getpid(), SIGKILL);
    }
}
