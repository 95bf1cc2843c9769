/* Spawns and stops the s3rver test server; see s3_harness.h. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "s3_harness.h"

int sl_s3_harness_start(sl_s3_harness_t *h, const char *const *buckets, const char *access_key,
                        const char *secret_key)
{
    memset(h, 0, sizeof *h);
    h->child.pid = -1;
    char script[1024];
    sl_child_repo_path("tests/harness/s3rver.js", script, sizeof script);
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "s3 harness: %s not found (run from the repository root or set "
                        "SLUICE_ROOT)\n", script);
        return -1;
    }
    char *argv[64];
    char keyarg[512];
    int n = 0;
    argv[n++] = "node";
    argv[n++] = script;
    for (size_t i = 0; buckets && buckets[i] && n < 56; i++) {
        argv[n++] = "--bucket";
        argv[n++] = (char *)buckets[i];
    }
    snprintf(keyarg, sizeof keyarg, "%s:%s", access_key, secret_key);
    argv[n++] = "--key";
    argv[n++] = keyarg;
    argv[n] = NULL;
    char ready[64];
    if (sl_child_start(&h->child, argv, 30, ready, sizeof ready,
                       "s3 harness (is tests/node_modules installed? run scripts/npm-deps.sh)") !=
        0) {
        return -1;
    }
    if (sscanf(ready, "%d", &h->port) != 1 || h->port <= 0) {
        fprintf(stderr, "s3 harness: unexpected READY %s\n", ready);
        sl_s3_harness_stop(h);
        return -1;
    }
    snprintf(h->endpoint, sizeof h->endpoint, "http://127.0.0.1:%d", h->port);
    return 0;
}

void sl_s3_harness_stop(sl_s3_harness_t *h)
{
    sl_child_stop(&h->child, 1, 5000);
}
