/* Internals of the `http` source shared by http.c, http_paging.c, its unit
 * tests and its fuzz target: what parses text that a server sends (the Link
 * header, the records path), URL editing and redaction,
 * the rate limiter and the ordering of incremental cursor values. Nothing
 * here does I/O. */
#ifndef SLUICE_PLUGINS_HTTP_INTERNAL_H
#define SLUICE_PLUGINS_HTTP_INTERNAL_H

#include "../../net/http.h" /* sl_http_retry_after_ms, shared with S3 */
#include "sluice/buf.h"
#include "sluice/config.h"
#include "sluice/value.h"

/* Finds the target of the link with relation rel (e.g. "next") in a Link
 * header value (RFC 8288: `<url>; rel="next", <url>; rel="last"`; rel may
 * be unquoted or hold several space-separated relations; commas inside
 * <...> or quoted parameters do not split links). Appends the URL to out.
 * Returns 0, SL_ENOTFOUND when no such link, SL_EPARSE for a value that is
 * not a list of links, SL_ENOMEM. */
int sl_http_link_find(const char *value, size_t n, const char *rel, sl_buf_t *out);

/* Finds the array of records in a response body: path "" (or NULL) means
 * the body itself, else a dotted path ("data.items"; digits index arrays).
 * Returns 0 with *out set, SL_ENOTFOUND when the path leads nowhere,
 * SL_ETYPE when it leads to something other than an array; why (>= 160
 * bytes) says which part is missing or what was found. */
int sl_http_records(const sl_value_t *body, const char *path, const sl_value_t **out, char *why,
                    size_t whycap);

/* Appends url to out with query parameter name set to value (percent-
 * encoded): an existing name=... is replaced (the first one; later ones
 * removed), otherwise name=value is appended before any #fragment. value
 * NULL removes the parameter. Returns 0 or SL_ENOMEM. */
int sl_http_url_set(sl_buf_t *out, const char *url, const char *name, const char *value);

/* Resolves ref (absolute, scheme-relative "//host/p", absolute path "/p",
 * query "?q", or a relative path) against base (an absolute http(s) URL),
 * as a browser would for links in an API response (RFC 3986 section 5.2,
 * without dot-segment removal). Appends to out. Returns 0 or SL_ENOMEM. */
int sl_http_url_resolve(sl_buf_t *out, const char *base, const char *ref);

/* Appends url to out with secrets masked for messages and origins: the
 * password of user:password@, and the values of query parameters that
 * commonly carry credentials (api_key, apikey, key, token, access_token,
 * secret, client_secret, password, signature, sig, auth...) or that are
 * named extra (the configured api_key query parameter; may be NULL). */
int sl_http_url_redact(sl_buf_t *out, const char *url, const char *extra);

/* Percent-encodes s for a query parameter value (RFC 3986 unreserved kept). */
int sl_http_url_encode(sl_buf_t *out, const char *s, size_t n);

/* A token bucket: rate tokens per second, at most burst stored. */
typedef struct {
    double rate;
    double burst;
    double tokens;
    int64_t last_us;
    bool started;
} sl_http_bucket_t;

void sl_http_bucket_init(sl_http_bucket_t *b, double rate, double burst);
/* Takes one token at now_us (monotonic). Returns 0 when one was there, else
 * the microseconds to wait before the request may go; the token is taken
 * all the same (the caller sleeps that long and then sends). */
int64_t sl_http_bucket_take(sl_http_bucket_t *b, int64_t now_us);

/* Orders two incremental cursor values (from records, the checkpoint or
 * config): both numbers compare as numbers; strings that both read as
 * ISO 8601 timestamps compare as instants (so "...Z" and "+00:00" agree);
 * other strings byte-wise; a number against a string that reads as a
 * number compares numerically, else numbers sort before strings. Returns
 * <0, 0, >0. Only scalars are expected; null sorts first. */
int sl_http_cursor_cmp(const sl_value_t *a, const sl_value_t *b);

/* Counters of one open http source, for tests and the run's debug log. */
typedef struct {
    uint64_t requests;           /* HTTP requests sent (retries included) */
    uint64_t retries;            /* requests that were retries */
    uint64_t pages;              /* pages fetched successfully */
    uint64_t rate_waits;         /* requests the rate limiter delayed */
    uint64_t filtered;           /* records dropped by incremental.filter */
    int64_t waited_ms;           /* total backoff slept before retries */
    int64_t last_retry_after_ms; /* the last Retry-After honoured, or -1 */
} sl_http_source_stats_t;

/* Copies the counters of an http source instance (the self its open
 * returned). */
void sl_http_source_stats(const void *self, sl_http_source_stats_t *out);

/* Names the plugin in messages. */
#define WHAT "source 'http'"

/* Pagination types, in the order of sl_http_page_types (http_check.c). */
typedef enum { PG_NONE, PG_CURSOR, PG_NEXT_LINK, PG_LINK_HEADER, PG_PAGE, PG_OFFSET } pg_t;
extern const char *const sl_http_page_types[];

/* http_check.c: the source's check() (rules between keys, no I/O), and
 * whether a URL is http:// or https:// (any case). */
int sl_http_source_check(const sl_node_t *cfg, sl_err_t *err);
bool sl_http_is_http_url(const char *u);

#endif
