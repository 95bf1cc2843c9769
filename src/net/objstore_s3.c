/* The s3:// object store: any S3-compatible server over HTTP(S).
 *
 * Requests are signed with Signature V4 (sigv4.c) with the payload's
 * SHA-256 always sent as x-amz-content-sha256, and retried by the shared
 * retry module (full jitter, base 100 ms, cap 10 s, at least a Retry-After
 * within the cap) on transport failures, timeouts, 5xx and 429; other 4xx
 * fail at once with S3's own error code and message
 * naming the bucket and key. Writers upload parts of part_size as they
 * fill (multipart upload, completed on commit, aborted otherwise) and use
 * one PUT when the object fits in one part. Readers fetch 8 MiB ranges,
 * pinned to the first response's ETag so that an object replaced midway
 * is an error rather than a mix of two versions.
 *
 * S3 answers in XML; the few elements read here (Key, Size, LastModified,
 * ETag, IsTruncated, NextContinuationToken, UploadId, Code, Message) are
 * picked out by a small extractor with entity decoding. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "xml.h"
#include "objstore_internal.h"
#include "sigv4.h"
#include "sluice/cancel.h"
#include "sluice/log.h"
#include "sluice/retry.h"
#include "sluice/timeutil.h"

#define READ_CHUNK (8u << 20)
#define MIN_PART (5u << 20)
#define DEFAULT_PART (8u << 20)
#define BACKOFF_BASE_US 100000LL
#define BACKOFF_CAP_US 10000000LL

typedef struct {
    sl_objstore_t base;
    char *bucket;
    char *origin;      /* "https://bucket.s3.eu-west-1.amazonaws.com" */
    char *host;        /* Host header, signed */
    char *path_prefix; /* "/bucket" for path-style, "" for virtual-hosted */
    char *region;
    char *access_key;
    char *secret_key;
    char *session_token;
    sl_retry_policy_t retry; /* max_retries + 1 attempts, base 100 ms, cap 10 s */
    uint64_t rng;            /* jitter of the retry delays */
    int timeout_ms;
    bool insecure_tls;
    const sl_cancel_t *cancel; /* the opener's: stops requests and retry waits */
    bool path_style;
    int page_size;
    int retries;
    sl_http_t *http;
    sl_http_resp_t resp;
    char *info_key;
    char *info_etag;
    char *addressing;
} s3_t;

typedef struct {
    sl_objwriter_t base;
    s3_t *s;
    char *key;
    size_t part_size;
    sl_buf_t buf;
    char *upload_id;
    char **etags;
    size_t nparts, cap;
    bool failed;
} s3_writer_t;

typedef struct {
    sl_objreader_t base;
    s3_t *s;
    char *key;
    uint64_t next;  /* first byte of the next range to fetch */
    int64_t total;  /* object size */
    char *etag;     /* quoted, as the server sent it */
    sl_buf_t chunk;
    size_t chunk_off;
} s3_reader_t;

/* ---- helpers ---- */

static char *dupstr(const char *s)
{
    return s ? strdup(s) : NULL;
}

static const char *nonempty(const char *a, const char *b)
{
    if (a && *a) {
        return a;
    }
    return b && *b ? b : NULL;
}

static void strip_quotes(char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        memmove(s, s + 1, n - 2);
        s[n - 2] = '\0';
    }
}

static int64_t parse_http_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm);
    if (!end) {
        return 0;
    }
    return (int64_t)timegm(&tm) * 1000000;
}

static int64_t parse_iso_date(const char *s)
{
    int64_t us = 0;
    if (sl_timestamp_parse(s, strlen(s), &us) != 0) {
        return 0;
    }
    return us;
}

/* Appends " (...)" context to err's message, which keeps starting with
 * the bucket and key. */
static void err_suffix(sl_err_t *err, const char *fmt, ...) SL_PRINTF(2, 3);
static void err_suffix(sl_err_t *err, const char *fmt, ...)
{
    size_t n = strnlen(err->msg, sizeof err->msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - n, fmt, ap);
    va_end(ap);
}

/* What kind of failure a request was (hrc from sl_http_perform, 0 or
 * SL_ERETRY, when no 2xx came): transport failures and every 5xx are
 * transient, 429 is rate limiting, other statuses are fatal. */
static sl_error_class_t failure_class(int hrc, const sl_http_resp_t *resp)
{
    if (hrc == SL_ERETRY) {
        return resp->timed_out ? SL_ECLASS_TIMEOUT : SL_ECLASS_TRANSIENT;
    }
    if (resp->status == 429) {
        return SL_ECLASS_RATE_LIMITED;
    }
    return resp->status >= 500 ? SL_ECLASS_TRANSIENT : SL_ECLASS_FATAL;
}

static const char *reason_phrase(long status)
{
    switch (status) {
    case 400:
        return "BadRequest";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "NotFound";
    case 405:
        return "MethodNotAllowed";
    case 409:
        return "Conflict";
    case 412:
        return "PreconditionFailed";
    case 416:
        return "InvalidRange";
    case 429:
        return "TooManyRequests";
    case 500:
        return "InternalError";
    case 502:
        return "BadGateway";
    case 503:
        return "ServiceUnavailable";
    case 504:
        return "GatewayTimeout";
    default:
        return "Error";
    }
}

/* ---- requests ---- */

typedef struct {
    const char *method;
    const char *key; /* NULL: the bucket */
    const sl_sigv4_pair_t *query;
    size_t nquery;
    const sl_sigv4_pair_t *headers; /* extra headers, signed */
    size_t nheaders;
    const void *body;
    size_t body_len;
    sl_buf_t *sink; /* 2xx body destination (GET) */
} s3_req_t;

/* "s3://bucket/key: 403 SignatureDoesNotMatch: message" from the last
 * response. HEAD responses have no body: the code then comes from the
 * status (404 on a key: NoSuchKey). */
static int s3_status_error(s3_t *s, const s3_req_t *r, sl_err_t *err)
{
    long status = s->resp.status;
    sl_buf_t code = SL_BUF_INIT, msg = SL_BUF_INIT;
    const char *b = s->resp.body.data;
    const char *end = b ? b + s->resp.body.len : NULL;
    if (b) {
        sl_xml_get(b, end, "Code", &code);
        sl_xml_get(b, end, "Message", &msg);
    }
    const char *c = code.len ? code.data : NULL;
    if (!c) {
        c = status == 404 ? (r->key ? "NoSuchKey" : "NoSuchBucket") : reason_phrase(status);
    }
    bool bucket_only = !r->key || strcmp(c, "NoSuchBucket") == 0;
    int rc = status == 404 ? SL_ENOTFOUND : SL_EIO;
    sl_err_set(err, rc, "%s%s%s: %ld %s%s%s", s->base.where, bucket_only ? "" : "/",
               bucket_only ? "" : r->key, status, c, msg.len ? ": " : "",
               msg.len ? msg.data : "");
    sl_buf_free(&code);
    sl_buf_free(&msg);
    return rc;
}

static int add_header(char ***lines, size_t *n, const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 3;
    char *l = malloc(len);
    if (!l) {
        return SL_ENOMEM;
    }
    snprintf(l, len, "%s: %s", name, value);
    (*lines)[(*n)++] = l;
    return 0;
}

/* Sends r (signing each attempt anew), retrying transient failures.
 * Returns 0 on a 2xx answer (in s->resp), else an error with the S3
 * message; s->resp.status tells callers which status ended it. */
static int s3_request(s3_t *s, const s3_req_t *r, sl_err_t *err)
{
    sl_err_t own;
    if (!err) {
        err = &own;
    }
    char payload_hash[65];
    if (r->body_len) {
        sl_sigv4_sha256_hex(r->body, r->body_len, payload_hash);
    } else {
        memcpy(payload_hash, SL_SIGV4_EMPTY_SHA256, 65);
    }
    sl_buf_t path = SL_BUF_INIT;
    int rc = sl_buf_printf(&path, "%s%s%s", s->path_prefix, r->key ? "/" : "",
                           r->key ? r->key : "");
    if (!rc && path.len == 0) {
        rc = sl_buf_putc(&path, '/');
    }
    if (rc) {
        sl_buf_free(&path);
        return sl_err_set(err, rc, "out of memory");
    }
    size_t sink_len0 = r->sink ? r->sink->len : 0;
    char **lines = calloc(r->nheaders + 6, sizeof *lines);
    if (!lines) {
        sl_buf_free(&path);
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    for (int attempt = 1;; attempt++) {
        char date[17];
        sl_sigv4_amz_date(sl_now_us(), date);
        sl_sigv4_input_t in = {
            .method = r->method,
            .host = s->host,
            .path = path.data,
            .query = r->query,
            .nquery = r->nquery,
            .headers = r->headers,
            .nheaders = r->nheaders,
            .payload_hash = payload_hash,
            .sign_content_sha256 = true,
            .amz_date = date,
            .region = s->region,
            .service = "s3",
            .access_key = s->access_key,
            .secret_key = s->secret_key,
            .session_token = s->session_token,
        };
        sl_sigv4_output_t sig = {0};
        sl_buf_t url = SL_BUF_INIT;
        size_t nl = 0;
        rc = sl_sigv4_sign(&in, &sig);
        if (rc == 0) {
            rc = sl_buf_printf(&url, "%s%s%s%s", s->origin, sig.encoded_path.data,
                               sig.query_string.len ? "?" : "", sig.query_string.data);
        }
        if (rc == 0) {
            rc = add_header(&lines, &nl, "Host", s->host);
        }
        if (rc == 0) {
            rc = add_header(&lines, &nl, "x-amz-date", date);
        }
        if (rc == 0) {
            rc = add_header(&lines, &nl, "x-amz-content-sha256", payload_hash);
        }
        if (rc == 0 && s->session_token) {
            rc = add_header(&lines, &nl, "x-amz-security-token", s->session_token);
        }
        if (rc == 0) {
            rc = add_header(&lines, &nl, "Authorization", sig.authorization.data);
        }
        for (size_t i = 0; i < r->nheaders && rc == 0; i++) {
            rc = add_header(&lines, &nl, r->headers[i].name,
                            r->headers[i].value ? r->headers[i].value : "");
        }
        sl_sigv4_output_free(&sig);
        if (rc) {
            for (size_t i = 0; i < nl; i++) {
                free(lines[i]);
            }
            sl_buf_free(&url);
            rc = rc == SL_EINVAL ? sl_err_set(err, rc, "%s: cannot sign the request",
                                              s->base.where)
                                 : sl_err_set(err, rc, "out of memory");
            break;
        }
        sl_http_req_t hr = {
            .method = r->method,
            .url = url.data,
            .headers = (const char *const *)lines,
            .nheaders = nl,
            .body = r->body,
            .body_len = r->body_len,
            .timeout_ms = s->timeout_ms,
            .cancel = s->cancel,
            .insecure_tls = s->insecure_tls,
            .sink = r->sink,
        };
        int64_t t0 = sl_mono_us();
        sl_err_t herr;
        int hrc = sl_http_perform(s->http, &hr, &s->resp, &herr);
        for (size_t i = 0; i < nl; i++) {
            free(lines[i]);
        }
        sl_buf_free(&url);
        const char *k = r->key ? r->key : "";
        sl_debug("s3: %s %s%s%s -> %ld (%lld ms)", r->method, s->base.where, r->key ? "/" : "",
                 k, s->resp.status, (long long)((sl_mono_us() - t0) / 1000));
        bool retry = false;
        int64_t retry_after_ms = -1;
        if (hrc == SL_ERETRY) {
            retry = sl_retry_should(&s->retry, failure_class(hrc, &s->resp), attempt);
            rc = sl_err_set(err, SL_EIO, "%s%s%s: %s", s->base.where, r->key ? "/" : "", k,
                            herr.msg);
        } else if (hrc) {
            rc = sl_err_set(err, hrc, "%s%s%s: %s", s->base.where, r->key ? "/" : "", k,
                            herr.msg);
            break;
        } else if (s->resp.status >= 200 && s->resp.status < 300) {
            rc = 0;
            break;
        } else {
            retry = sl_retry_should(&s->retry, failure_class(hrc, &s->resp), attempt);
            rc = s3_status_error(s, r, err);
            char ra[64];
            if (retry && sl_http_resp_header(&s->resp, "Retry-After", ra, sizeof ra)) {
                retry_after_ms = sl_http_retry_after_ms(ra, strlen(ra), sl_now_us());
            }
        }
        if (!retry) {
            if (attempt > 1) {
                err_suffix(err, " (after %d attempts)", attempt);
            }
            break;
        }
        if (r->sink) {
            r->sink->len = sink_len0; /* drop a partial body */
            if (r->sink->data) {
                r->sink->data[sink_len0] = '\0';
            }
        }
        int64_t wait = sl_retry_delay_us(
            &s->retry, attempt, retry_after_ms >= 0 ? retry_after_ms * 1000 : -1, &s->rng);
        sl_warn("%s; retrying in %lld ms (attempt %d of %d)", err->msg, (long long)(wait / 1000),
                attempt + 1, s->retry.max_attempts);
        int crc = sl_cancel_sleep(s->cancel, wait);
        if (crc) {
            err_suffix(err, " (%s while waiting to retry)", sl_strerror(crc));
            rc = crc;
            break;
        }
        s->retries++;
    }
    if (rc && r->sink && r->sink->len > sink_len0) {
        r->sink->len = sink_len0; /* a failed read appends nothing */
        r->sink->data[sink_len0] = '\0';
    }
    free(lines);
    sl_buf_free(&path);
    return rc;
}

/* ---- object operations ---- */

static int s3_put(sl_objstore_t *st, const char *key, const void *data, size_t n, sl_err_t *err)
{
    s3_t *s = (s3_t *)st;
    s3_req_t r = {.method = "PUT", .key = key, .body = data, .body_len = n};
    return s3_request(s, &r, err);
}

/* Appends [off, off+len) (len 0: to the end) of key to out. */
static int get_range(s3_t *s, const char *key, uint64_t off, uint64_t len, sl_buf_t *out,
                     const char *if_match, sl_err_t *err)
{
    char range[64];
    sl_sigv4_pair_t h[2];
    size_t nh = 0;
    if (off > 0 || len > 0) {
        if (len > 0) {
            snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)off,
                     (unsigned long long)(off + len - 1));
        } else {
            snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)off);
        }
        h[nh++] = (sl_sigv4_pair_t){"Range", range};
    }
    if (if_match) {
        h[nh++] = (sl_sigv4_pair_t){"If-Match", if_match};
    }
    size_t len0 = out->len;
    s3_req_t r = {.method = "GET", .key = key, .headers = h, .nheaders = nh, .sink = out};
    int rc = s3_request(s, &r, err);
    if (rc && s->resp.status == 416) {
        return 0; /* the range starts at or after the end: nothing to add */
    }
    if (rc == 0 && s->resp.status == 200 && (off > 0 || len > 0)) {
        /* A server that ignored Range sent the whole object: cut it. */
        size_t got = out->len - len0;
        size_t from = (size_t)SL_MIN(off, (uint64_t)got);
        size_t take = len ? (size_t)SL_MIN(len, (uint64_t)(got - from)) : got - from;
        memmove(out->data + len0, out->data + len0 + from, take);
        out->len = len0 + take;
        out->data[out->len] = '\0';
    }
    return rc;
}

static int s3_get(sl_objstore_t *st, const char *key, uint64_t off, uint64_t len, sl_buf_t *out,
                  sl_err_t *err)
{
    return get_range((s3_t *)st, key, off, len, out, NULL, err);
}

static int s3_head(sl_objstore_t *st, const char *key, sl_obj_info_t *info, sl_err_t *err)
{
    s3_t *s = (s3_t *)st;
    s3_req_t r = {.method = "HEAD", .key = key};
    int rc = s3_request(s, &r, err);
    if (rc) {
        return rc;
    }
    char v[256];
    free(s->info_key);
    free(s->info_etag);
    s->info_key = strdup(key);
    s->info_etag = NULL;
    if (sl_http_resp_header(&s->resp, "ETag", v, sizeof v)) {
        strip_quotes(v);
        s->info_etag = strdup(v);
    }
    if (!s->info_key) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    info->key = s->info_key;
    info->etag = s->info_etag;
    info->size = sl_http_resp_header(&s->resp, "Content-Length", v, sizeof v)
                     ? strtoll(v, NULL, 10)
                     : 0;
    info->mtime_us =
        sl_http_resp_header(&s->resp, "Last-Modified", v, sizeof v) ? parse_http_date(v) : 0;
    return 0;
}

static int s3_delete(sl_objstore_t *st, const char *key, sl_err_t *err)
{
    s3_t *s = (s3_t *)st;
    s3_req_t r = {.method = "DELETE", .key = key};
    int rc = s3_request(s, &r, err);
    if (rc == SL_ENOTFOUND && !strstr(err->msg, "NoSuchBucket")) {
        return 0;
    }
    return rc;
}

static int s3_list(sl_objstore_t *st, const char *prefix, sl_obj_cb cb, void *ud, sl_err_t *err)
{
    s3_t *s = (s3_t *)st;
    sl_buf_t token = SL_BUF_INIT, key = SL_BUF_INIT, val = SL_BUF_INIT, etag = SL_BUF_INIT;
    char maxkeys[16];
    snprintf(maxkeys, sizeof maxkeys, "%d", s->page_size);
    int rc = 0;
    bool stop = false;
    while (!stop) {
        sl_sigv4_pair_t q[4];
        size_t nq = 0;
        q[nq++] = (sl_sigv4_pair_t){"list-type", "2"};
        q[nq++] = (sl_sigv4_pair_t){"prefix", prefix};
        if (token.len) {
            q[nq++] = (sl_sigv4_pair_t){"continuation-token", token.data};
        }
        if (s->page_size > 0) {
            q[nq++] = (sl_sigv4_pair_t){"max-keys", maxkeys};
        }
        s3_req_t r = {.method = "GET", .query = q, .nquery = nq};
        rc = s3_request(s, &r, err);
        if (rc) {
            break;
        }
        const char *p = s->resp.body.data ? s->resp.body.data : "";
        const char *end = p + s->resp.body.len;
        if (!sl_xml_find(p, end, "ListBucketResult", &(const char *){NULL}, &(size_t){0})) {
            rc = sl_err_set(err, SL_EPARSE, "%s: unexpected answer to a list request: %.200s",
                            s->base.where, p);
            break;
        }
        const char *c;
        size_t cn;
        const char *at = p;
        while (!stop && (at = sl_xml_find(at, end, "Contents", &c, &cn)) != NULL) {
            const char *ce = c + cn;
            if (!sl_xml_get(c, ce, "Key", &key)) {
                rc = sl_err_set(err, SL_EPARSE, "%s: list entry without a Key", s->base.where);
                stop = true;
                break;
            }
            sl_obj_info_t info = {.key = key.data};
            if (sl_xml_get(c, ce, "Size", &val)) {
                info.size = strtoll(val.data, NULL, 10);
            }
            if (sl_xml_get(c, ce, "LastModified", &val)) {
                info.mtime_us = parse_iso_date(val.data);
            }
            if (sl_xml_get(c, ce, "ETag", &etag)) {
                strip_quotes(etag.data);
                etag.len = strlen(etag.data);
                info.etag = etag.data;
            }
            if (cb(ud, &info) != 0) {
                stop = true;
            }
        }
        if (stop) {
            break;
        }
        if (!sl_xml_get(p, end, "IsTruncated", &val) || strcmp(val.data, "true") != 0) {
            break;
        }
        if (!sl_xml_get(p, end, "NextContinuationToken", &token) || token.len == 0) {
            rc = sl_err_set(err, SL_EPARSE,
                            "%s: a truncated list came without NextContinuationToken",
                            s->base.where);
            break;
        }
    }
    sl_buf_free(&token);
    sl_buf_free(&key);
    sl_buf_free(&val);
    sl_buf_free(&etag);
    return rc;
}

/* ---- writer: one PUT, or a multipart upload ---- */

static int mpu_create(s3_writer_t *w, sl_err_t *err)
{
    sl_sigv4_pair_t q[] = {{"uploads", ""}};
    s3_req_t r = {.method = "POST", .key = w->key, .query = q, .nquery = 1};
    int rc = s3_request(w->s, &r, err);
    if (rc) {
        return rc;
    }
    sl_buf_t id = SL_BUF_INIT;
    const char *p = w->s->resp.body.data ? w->s->resp.body.data : "";
    if (!sl_xml_get(p, p + w->s->resp.body.len, "UploadId", &id) || id.len == 0) {
        sl_buf_free(&id);
        return sl_err_set(err, SL_EPARSE, "%s/%s: no UploadId in the answer to "
                          "CreateMultipartUpload", w->s->base.where, w->key);
    }
    w->upload_id = id.data;
    sl_debug("%s/%s: multipart upload started", w->s->base.where, w->key);
    return 0;
}

static int mpu_part(s3_writer_t *w, sl_err_t *err)
{
    if (!w->upload_id) {
        int rc = mpu_create(w, err);
        if (rc) {
            return rc;
        }
    }
    if (w->nparts == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        char **g = realloc(w->etags, cap * sizeof *g);
        if (!g) {
            return sl_err_set(err, SL_ENOMEM, "out of memory");
        }
        w->etags = g;
        w->cap = cap;
    }
    char num[16];
    snprintf(num, sizeof num, "%zu", w->nparts + 1);
    sl_sigv4_pair_t q[] = {{"partNumber", num}, {"uploadId", w->upload_id}};
    s3_req_t r = {.method = "PUT",
                  .key = w->key,
                  .query = q,
                  .nquery = 2,
                  .body = w->buf.data,
                  .body_len = w->buf.len};
    int rc = s3_request(w->s, &r, err);
    if (rc) {
        err_suffix(err, " (uploading part %zu)", w->nparts + 1);
        return rc;
    }
    char etag[256];
    if (!sl_http_resp_header(&w->s->resp, "ETag", etag, sizeof etag)) {
        return sl_err_set(err, SL_EPARSE, "%s/%s: no ETag for part %zu", w->s->base.where,
                          w->key, w->nparts + 1);
    }
    w->etags[w->nparts] = strdup(etag);
    if (!w->etags[w->nparts]) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    w->nparts++;
    sl_buf_clear(&w->buf);
    return 0;
}

static int mpu_complete(s3_writer_t *w, sl_err_t *err)
{
    sl_buf_t body = SL_BUF_INIT;
    int rc = sl_buf_append_c(&body, "<CompleteMultipartUpload>");
    for (size_t i = 0; i < w->nparts && rc == 0; i++) {
        rc = sl_buf_printf(&body, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
        /* ETags are quoted hex; escape anyway so the body stays XML. */
        for (const char *p = w->etags[i]; *p && rc == 0; p++) {
            rc = *p == '&' ? sl_buf_append_c(&body, "&amp;")
                 : *p == '<' ? sl_buf_append_c(&body, "&lt;")
                 : *p == '>' ? sl_buf_append_c(&body, "&gt;")
                             : sl_buf_putc(&body, *p);
        }
        if (rc == 0) {
            rc = sl_buf_append_c(&body, "</ETag></Part>");
        }
    }
    if (rc == 0) {
        rc = sl_buf_append_c(&body, "</CompleteMultipartUpload>");
    }
    if (rc) {
        sl_buf_free(&body);
        return sl_err_set(err, rc, "out of memory");
    }
    sl_sigv4_pair_t q[] = {{"uploadId", w->upload_id}};
    s3_req_t r = {.method = "POST",
                  .key = w->key,
                  .query = q,
                  .nquery = 1,
                  .body = body.data,
                  .body_len = body.len};
    rc = s3_request(w->s, &r, err);
    sl_buf_free(&body);
    if (rc) {
        return rc;
    }
    /* S3 may answer 200 and still report an error in the body. */
    const char *p = w->s->resp.body.data;
    const char *c;
    size_t cn;
    if (p && sl_xml_find(p, p + w->s->resp.body.len, "Error", &c, &cn)) {
        sl_buf_t code = SL_BUF_INIT, msg = SL_BUF_INIT;
        sl_xml_get(c, c + cn, "Code", &code);
        sl_xml_get(c, c + cn, "Message", &msg);
        rc = sl_err_set(err, SL_EIO, "%s/%s: CompleteMultipartUpload failed: %s%s%s",
                        w->s->base.where, w->key, code.len ? code.data : "error",
                        msg.len ? ": " : "", msg.len ? msg.data : "");
        sl_buf_free(&code);
        sl_buf_free(&msg);
    }
    return rc;
}

static void mpu_abort(s3_writer_t *w)
{
    sl_sigv4_pair_t q[] = {{"uploadId", w->upload_id}};
    s3_req_t r = {.method = "DELETE", .key = w->key, .query = q, .nquery = 1};
    sl_err_t err;
    int rc = s3_request(w->s, &r, &err);
    if (rc && w->s->resp.status != 404) {
        sl_warn("%s; the incomplete multipart upload %s remains until the bucket's "
                "lifecycle rules remove it",
                err.msg, w->upload_id);
    }
}

static int s3w_open(sl_objstore_t *st, const char *key, size_t part_size, sl_objwriter_t **out,
                    sl_err_t *err)
{
    s3_writer_t *w = calloc(1, sizeof *w);
    if (!w) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    w->s = (s3_t *)st;
    w->key = strdup(key);
    if (!w->key) {
        free(w);
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    w->part_size = part_size ? part_size : DEFAULT_PART;
    if (w->part_size < MIN_PART) {
        w->part_size = MIN_PART; /* S3's minimum for all parts but the last */
    }
    *out = &w->base;
    return 0;
}

static int s3w_write(sl_objwriter_t *base, const void *data, size_t n, sl_err_t *err)
{
    s3_writer_t *w = (s3_writer_t *)base;
    if (w->failed) {
        return sl_err_set(err, SL_EIO, "%s/%s: an earlier part failed", w->s->base.where,
                          w->key);
    }
    const char *p = data;
    while (n > 0) {
        /* A full buffer goes out only once more data shows it is not the
         * last part, so commit can choose a single PUT. */
        if (w->buf.len == w->part_size) {
            int rc = mpu_part(w, err);
            if (rc) {
                w->failed = true;
                return rc;
            }
        }
        size_t take = SL_MIN(n, w->part_size - w->buf.len);
        if (w->buf.cap < w->part_size + 1) {
            int rc = sl_buf_reserve(&w->buf, w->part_size - w->buf.len);
            if (rc) {
                w->failed = true;
                return sl_err_set(err, rc, "out of memory for a %zu-byte part", w->part_size);
            }
        }
        sl_buf_put_unchecked(&w->buf, p, take);
        w->buf.data[w->buf.len] = '\0';
        p += take;
        n -= take;
    }
    return 0;
}

static int s3w_commit(sl_objwriter_t *base, sl_err_t *err)
{
    s3_writer_t *w = (s3_writer_t *)base;
    if (w->failed) {
        return sl_err_set(err, SL_EIO, "%s/%s: an earlier part failed", w->s->base.where,
                          w->key);
    }
    int rc;
    if (w->nparts == 0) {
        s3_req_t r = {.method = "PUT", .key = w->key, .body = w->buf.data,
                      .body_len = w->buf.len};
        rc = s3_request(w->s, &r, err);
    } else {
        rc = w->buf.len ? mpu_part(w, err) : 0;
        if (rc == 0) {
            rc = mpu_complete(w, err);
        }
        if (rc == 0) {
            free(w->upload_id);
            w->upload_id = NULL; /* completed: nothing to abort */
        }
    }
    if (rc) {
        w->failed = true;
    }
    sl_buf_free(&w->buf);
    return rc;
}

static void s3w_free(sl_objwriter_t *base)
{
    s3_writer_t *w = (s3_writer_t *)base;
    if (w->upload_id) {
        mpu_abort(w);
    }
    for (size_t i = 0; i < w->nparts; i++) {
        free(w->etags[i]);
    }
    free(w->etags);
    free(w->upload_id);
    free(w->key);
    sl_buf_free(&w->buf);
    free(w);
}

/* ---- reader: 8 MiB ranges ---- */

/* Fetches the next range. The size and ETag come from the HEAD done at
 * open, so an empty object needs no GET and a replaced one is noticed
 * (If-Match on S3; the Content-Range total on servers that ignore it). */
static int fetch_chunk(s3_reader_t *r, sl_err_t *err)
{
    sl_buf_clear(&r->chunk);
    r->chunk_off = 0;
    uint64_t want = SL_MIN((uint64_t)READ_CHUNK, (uint64_t)r->total - r->next);
    int rc = get_range(r->s, r->key, r->next, want, &r->chunk, r->etag, err);
    if (rc) {
        if (r->s->resp.status == 412) {
            return sl_err_set(err, SL_EIO, "%s/%s: the object changed while it was read",
                              r->s->base.where, r->key);
        }
        return rc;
    }
    char v[256];
    if (r->s->resp.status == 206 &&
        sl_http_resp_header(&r->s->resp, "Content-Range", v, sizeof v)) {
        const char *slash = strchr(v, '/');
        if (slash && slash[1] != '*' && strtoll(slash + 1, NULL, 10) != r->total) {
            return sl_err_set(err, SL_EIO, "%s/%s: the object changed while it was read",
                              r->s->base.where, r->key);
        }
    }
    if (r->chunk.len == 0) {
        return sl_err_set(err, SL_EIO, "%s/%s: the object ended at byte %llu of %lld",
                          r->s->base.where, r->key, (unsigned long long)r->next,
                          (long long)r->total);
    }
    r->next += r->chunk.len;
    return 0;
}

static int s3r_open(sl_objstore_t *st, const char *key, sl_objreader_t **out, sl_err_t *err)
{
    s3_reader_t *r = calloc(1, sizeof *r);
    if (!r) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    r->s = (s3_t *)st;
    r->key = strdup(key);
    sl_obj_info_t info;
    int rc = r->key ? s3_head(st, key, &info, err) : sl_err_set(err, SL_ENOMEM, "out of memory");
    if (rc == 0) {
        r->total = info.size;
        if (info.etag) {
            size_t n = strlen(info.etag) + 3;
            r->etag = malloc(n);
            if (!r->etag) {
                rc = sl_err_set(err, SL_ENOMEM, "out of memory");
            } else {
                snprintf(r->etag, n, "\"%s\"", info.etag);
            }
        }
    }
    if (rc) {
        free(r->key);
        free(r->etag);
        free(r);
        return rc;
    }
    *out = &r->base;
    return 0;
}

static ssize_t s3r_read(sl_objreader_t *base, void *buf, size_t n, sl_err_t *err)
{
    s3_reader_t *r = (s3_reader_t *)base;
    if (r->chunk_off == r->chunk.len) {
        if (r->next >= (uint64_t)r->total) {
            return 0;
        }
        int rc = fetch_chunk(r, err);
        if (rc) {
            return rc;
        }
    }
    size_t take = SL_MIN(n, r->chunk.len - r->chunk_off);
    memcpy(buf, r->chunk.data + r->chunk_off, take);
    r->chunk_off += take;
    return (ssize_t)take;
}

static void s3r_free(sl_objreader_t *base)
{
    s3_reader_t *r = (s3_reader_t *)base;
    free(r->key);
    free(r->etag);
    sl_buf_free(&r->chunk);
    free(r);
}

/* ---- store ---- */

static void s3_close(sl_objstore_t *st)
{
    s3_t *s = (s3_t *)st;
    sl_http_free(s->http);
    sl_http_resp_free(&s->resp);
    free(s->base.where);
    free(s->bucket);
    free(s->origin);
    free(s->host);
    free(s->path_prefix);
    free(s->region);
    free(s->access_key);
    if (s->secret_key) {
        memset(s->secret_key, 0, strlen(s->secret_key));
    }
    free(s->secret_key);
    free(s->session_token);
    free(s->info_key);
    free(s->info_etag);
    free(s->addressing);
    free(s);
}

static const sl_objstore_ops_t s3_ops = {
    .close = s3_close,
    .put = s3_put,
    .get = s3_get,
    .head = s3_head,
    .del = s3_delete,
    .list = s3_list,
    .writer_open = s3w_open,
    .writer_write = s3w_write,
    .writer_commit = s3w_commit,
    .writer_free = s3w_free,
    .reader_open = s3r_open,
    .reader_read = s3r_read,
    .reader_free = s3r_free,
};

/* Sets origin, host and path prefix from the endpoint (or AWS's regional
 * endpoint) and the addressing style. */
static int set_addressing(s3_t *s, const char *endpoint, int path_style, sl_err_t *err)
{
    char scheme[8] = "https";
    const char *authority;
    size_t alen;
    const char *base = "";
    size_t blen = 0;
    char aws[128];
    if (endpoint) {
        const char *sep = strstr(endpoint, "://");
        if (!sep || ((size_t)(sep - endpoint) != 4 && (size_t)(sep - endpoint) != 5) ||
            (strncmp(endpoint, "http", 4) != 0)) {
            return sl_err_set(err, SL_ECONFIG,
                              "%s: endpoint '%s' must start with http:// or https://",
                              s->base.where, endpoint);
        }
        snprintf(scheme, sizeof scheme, "%.*s", (int)(sep - endpoint), endpoint);
        if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
            return sl_err_set(err, SL_ECONFIG,
                              "%s: endpoint '%s' must start with http:// or https://",
                              s->base.where, endpoint);
        }
        authority = sep + 3;
        alen = strcspn(authority, "/?#");
        if (alen == 0) {
            return sl_err_set(err, SL_ECONFIG, "%s: endpoint '%s' has no host", s->base.where,
                              endpoint);
        }
        base = authority + alen;
        blen = strcspn(base, "?#");
        while (blen > 0 && base[blen - 1] == '/') {
            blen--;
        }
        if (path_style < 0) {
            path_style = 1;
        }
    } else {
        snprintf(aws, sizeof aws, "s3.%s.amazonaws.com", s->region);
        authority = aws;
        alen = strlen(aws);
        if (path_style < 0) {
            /* Dotted names break the TLS wildcard of virtual-hosted names. */
            path_style = strchr(s->bucket, '.') ? 1 : 0;
        }
    }
    sl_buf_t host = SL_BUF_INIT, origin = SL_BUF_INIT, prefix = SL_BUF_INIT;
    int rc = path_style ? sl_buf_printf(&host, "%.*s", (int)alen, authority)
                        : sl_buf_printf(&host, "%s.%.*s", s->bucket, (int)alen, authority);
    if (!rc) {
        rc = sl_buf_printf(&origin, "%s://%s", scheme, host.data);
    }
    if (!rc) {
        rc = path_style ? sl_buf_printf(&prefix, "%.*s/%s", (int)blen, base, s->bucket)
                        : sl_buf_printf(&prefix, "%.*s", (int)blen, base);
    }
    if (rc) {
        sl_buf_free(&host);
        sl_buf_free(&origin);
        sl_buf_free(&prefix);
        return sl_err_set(err, rc, "out of memory");
    }
    s->host = host.data;
    s->origin = origin.data;
    s->path_prefix = prefix.data;
    s->path_style = path_style != 0;
    return 0;
}

int sl_objstore_s3_open(const char *bucket, const sl_s3_opts_t *opts, sl_objstore_t **out,
                        sl_err_t *err)
{
    *out = NULL;
    sl_s3_opts_t none = {.path_style = -1};
    if (!opts) {
        opts = &none;
    }
    s3_t *s = calloc(1, sizeof *s);
    if (!s) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    s->base.ops = &s3_ops;
    s->base.s3 = true;
    size_t wlen = strlen(bucket) + 6;
    s->base.where = malloc(wlen);
    s->bucket = strdup(bucket);
    if (s->base.where) {
        snprintf(s->base.where, wlen, "s3://%s", bucket);
    }
    const char *region =
        nonempty(opts->region, nonempty(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")));
    const char *endpoint = nonempty(
        opts->endpoint, nonempty(getenv("AWS_ENDPOINT_URL_S3"), getenv("AWS_ENDPOINT_URL")));
    const char *ak = nonempty(opts->access_key, getenv("AWS_ACCESS_KEY_ID"));
    const char *sk = nonempty(opts->secret_key, getenv("AWS_SECRET_ACCESS_KEY"));
    /* A token only goes with the keys it was issued with. */
    const char *token = nonempty(opts->session_token,
                                 opts->access_key && *opts->access_key
                                     ? NULL
                                     : getenv("AWS_SESSION_TOKEN"));
    s->region = strdup(region ? region : "us-east-1");
    s->access_key = dupstr(ak);
    s->secret_key = dupstr(sk);
    s->session_token = dupstr(token);
    int rc = 0;
    if (!s->base.where || !s->bucket || !s->region || (ak && !s->access_key) ||
        (sk && !s->secret_key) || (token && !s->session_token)) {
        rc = sl_err_set(err, SL_ENOMEM, "out of memory");
    } else if (!ak || !sk) {
        rc = sl_err_set(err, SL_ECONFIG,
                        "%s: no credentials: set access_key and secret_key in the connection, "
                        "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                        s->base.where);
    }
    if (s->secret_key) {
        sl_log_add_secret(s->secret_key, strlen(s->secret_key));
    }
    if (s->session_token) {
        sl_log_add_secret(s->session_token, strlen(s->session_token));
    }
    if (!rc) {
        rc = set_addressing(s, endpoint, opts->path_style, err);
    }
    if (!rc) {
        rc = sl_http_new(&s->http, err);
    }
    if (rc) {
        s3_close(&s->base);
        return rc;
    }
    int max_retries = opts->max_retries > 0 ? opts->max_retries
                      : opts->max_retries < 0 ? 0
                                              : 5;
    s->retry = sl_retry_policy_default(); /* on: transient, timeout, rate_limited */
    s->retry.max_attempts = SL_MIN(max_retries, INT32_MAX - 1) + 1;
    s->retry.interval_us = BACKOFF_BASE_US;
    s->retry.backoff = 2.0;
    s->retry.max_delay_us = BACKOFF_CAP_US;
    s->retry.jitter = true;
    s->rng = sl_retry_seed(s);
    s->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
    s->insecure_tls = opts->insecure_tls;
    s->cancel = opts->cancel;
    sl_debug("%s: endpoint %s, region %s, %s-style", s->base.where, s->origin, s->region,
             s->path_style ? "path" : "virtual-hosted");
    *out = &s->base;
    return 0;
}

void sl_objstore_s3_set_page_size(sl_objstore_t *st, int max_keys)
{
    if (st->s3) {
        ((s3_t *)st)->page_size = max_keys;
    }
}

int sl_objstore_s3_retries(const sl_objstore_t *st)
{
    return st->s3 ? ((const s3_t *)st)->retries : 0;
}

const char *sl_objstore_s3_addressing(const sl_objstore_t *st)
{
    s3_t *s = (s3_t *)st;
    if (!st->s3) {
        return NULL;
    }
    if (!s->addressing) {
        size_t n = strlen(s->origin) + strlen(s->path_prefix) + 2;
        s->addressing = malloc(n);
        if (s->addressing) {
            snprintf(s->addressing, n, "%s %s", s->origin, s->path_prefix);
        }
    }
    return s->addressing;
}
