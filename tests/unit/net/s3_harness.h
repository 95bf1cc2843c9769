/* Starts tests/harness/s3rver.js (an S3 server that checks SigV4) as a
 * child process for a test, on a free 127.0.0.1 port, and stops it. If the
 * test dies first, the server sees its stdin close and exits by itself. */
#ifndef SLUICE_TEST_S3_HARNESS_H
#define SLUICE_TEST_S3_HARNESS_H

#include "child_harness.h"

typedef struct {
    sl_child_t child;
    int port;
    char endpoint[64]; /* "http://127.0.0.1:PORT" */
} sl_s3_harness_t;

/* Starts a server with the NULL-terminated bucket names and one key pair.
 * Returns 0, or -1 with a message on stderr. */
int sl_s3_harness_start(sl_s3_harness_t *h, const char *const *buckets, const char *access_key,
                        const char *secret_key);
/* Stops the server and waits for it. */
void sl_s3_harness_stop(sl_s3_harness_t *h);

#endif
