/* A small HTTP client over one reused libcurl easy handle (keep-alive
 * connections survive between requests). Internal to src/net/. TLS is
 * verified unless a request asks otherwise. */
#ifndef SLUICE_NET_HTTP_H
#define SLUICE_NET_HTTP_H

#include "sluice/buf.h"
#include "sluice/common.h"

typedef struct sl_http sl_http_t;

typedef struct {
    const char *method;         /* GET, HEAD, PUT, POST, DELETE */
    const char *url;
    const char *const *headers; /* "Name: value" lines */
    size_t nheaders;
    const void *body;           /* PUT/POST body (may be NULL: empty) */
    size_t body_len;
    /* Longest wait to connect and longest time without any byte moving
     * in either direction; 0 = 30000. */
    int timeout_ms;
    bool insecure_tls;
    /* When not NULL, a 2xx response's body is appended here instead of to
     * resp->body (saves a copy for large downloads). */
    sl_buf_t *sink;
    /* When not NULL, the request stops within about a second once the
     * token is cancelled or passes its deadline (the step's or the map
     * item's timeout): sl_http_perform then returns the token's reason. */
    const struct sl_cancel *cancel;
} sl_http_req_t;

typedef struct {
    long status;       /* HTTP status; 0 when no response arrived */
    sl_buf_t body;     /* body (non-2xx always land here, capped at 1 MiB) */
    sl_buf_t headers;  /* header lines of the final response */
    bool timed_out;    /* the transport failure was a timeout */
} sl_http_resp_t;

int sl_http_new(sl_http_t **out, sl_err_t *err);
void sl_http_free(sl_http_t *h);

/* Performs one request. resp is reset first (memory reused). Returns 0
 * when a response arrived, whatever its status; SL_ERETRY for transport
 * failures worth retrying (connection refused or reset, timeouts, DNS);
 * SL_EIO for the others (TLS verification, malformed URL), err naming the
 * URL's host and the reason. */
int sl_http_perform(sl_http_t *h, const sl_http_req_t *req, sl_http_resp_t *resp, sl_err_t *err);

/* Copies the value of response header name (case-insensitive, trimmed)
 * into out; false when absent. */
bool sl_http_resp_header(const sl_http_resp_t *r, const char *name, char *out, size_t cap);
void sl_http_resp_free(sl_http_resp_t *r);

/* Parses a Retry-After value: delay-seconds ("120") or an HTTP-date
 * (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", the obsolete RFC 850 and
 * asctime forms too), against now_us (UTC microseconds). Returns the wait
 * in milliseconds (0 for a date in the past), or -1 when the value is
 * neither form. */
int64_t sl_http_retry_after_ms(const char *value, size_t n, int64_t now_us);

#endif
