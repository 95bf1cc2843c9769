/* HTTP over libcurl; see http.h.
 *
 * One easy handle per sl_http_t, reset between requests so that its
 * connection cache is kept. Timeouts are "no progress for timeout_ms"
 * rather than a total, so that a large part upload on a slow link is not
 * cut while it moves, yet a server that stops answering is. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "sluice/cancel.h"
#include "sluice/timeutil.h"

#define ERROR_BODY_MAX (1u << 20)

struct sl_http {
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE];
};

/* Per-request transfer state shared with the callbacks. */
typedef struct {
    sl_http_t *h;
    const sl_http_req_t *req;
    sl_http_resp_t *resp;
    size_t sent;
    int64_t last_move_us;
    curl_off_t last_dl, last_ul;
    int64_t stall_us;
    bool stalled;
    int stopped; /* the request's cancel token's reason, once it stopped it */
    int buf_rc;
} xfer_t;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int sl_http_new(sl_http_t **out, sl_err_t *err)
{
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        return sl_err_set(err, SL_EIO, "cannot initialise libcurl: %s",
                          curl_easy_strerror(global_rc));
    }
    sl_http_t *h = calloc(1, sizeof *h);
    if (!h) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return sl_err_set(err, SL_ENOMEM, "cannot create a libcurl handle");
    }
    *out = h;
    return 0;
}

void sl_http_free(sl_http_t *h)
{
    if (!h) {
        return;
    }
    curl_easy_cleanup(h->curl);
    free(h);
}

void sl_http_resp_free(sl_http_resp_t *r)
{
    sl_buf_free(&r->body);
    sl_buf_free(&r->headers);
    r->status = 0;
}

static size_t on_read(char *dst, size_t size, size_t nitems, void *ud)
{
    xfer_t *x = ud;
    size_t room = size * nitems;
    size_t left = x->req->body_len - x->sent;
    size_t n = left < room ? left : room;
    if (n) {
        memcpy(dst, (const char *)x->req->body + x->sent, n);
        x->sent += n;
    }
    return n;
}

static size_t on_write(char *src, size_t size, size_t nmemb, void *ud)
{
    xfer_t *x = ud;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(x->h->curl, CURLINFO_RESPONSE_CODE, &status);
    sl_buf_t *dst = &x->resp->body;
    if (x->req->sink && status >= 200 && status < 300) {
        dst = x->req->sink;
    } else if (x->resp->body.len + n > ERROR_BODY_MAX && (status < 200 || status >= 300)) {
        return n; /* an error page this long says nothing more: drop the rest */
    }
    int rc = sl_buf_append(dst, src, n);
    if (rc) {
        x->buf_rc = rc;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    return n;
}

static size_t on_header(char *src, size_t size, size_t nitems, void *ud)
{
    xfer_t *x = ud;
    size_t n = size * nitems;
    /* A new status line (100 Continue, redirects): keep only the last block. */
    if (n >= 5 && memcmp(src, "HTTP/", 5) == 0) {
        sl_buf_clear(&x->resp->headers);
    }
    if (sl_buf_append(&x->resp->headers, src, n) != 0) {
        return 0;
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    xfer_t *x = ud;
    int stop = sl_cancel_check(x->req->cancel);
    if (stop) {
        x->stopped = stop;
        return 1;
    }
    int64_t now = sl_mono_us();
    if (dlnow != x->last_dl || ulnow != x->last_ul) {
        x->last_dl = dlnow;
        x->last_ul = ulnow;
        x->last_move_us = now;
        return 0;
    }
    if (now - x->last_move_us > x->stall_us) {
        x->stalled = true;
        return 1;
    }
    return 0;
}

static bool retryable(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

/* "scheme://host[:port]" of url for messages: never the path or query,
 * which may carry signatures. */
static void url_origin(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    snprintf(out, cap, "%.*s", (int)((size_t)(p - url) + n), url);
}

int sl_http_perform(sl_http_t *h, const sl_http_req_t *req, sl_http_resp_t *resp, sl_err_t *err)
{
    CURL *c = h->curl;
    curl_easy_reset(c);
    sl_buf_clear(&resp->body);
    sl_buf_clear(&resp->headers);
    resp->status = 0;
    resp->timed_out = false;
    int timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 30000;
    xfer_t x = {.h = h, .req = req, .resp = resp};
    x.stall_us = (int64_t)timeout_ms * 1000;
    x.last_move_us = sl_mono_us();
    h->errbuf[0] = '\0';

    struct curl_slist *hl = NULL;
    for (size_t i = 0; i < req->nheaders; i++) {
        struct curl_slist *n = curl_slist_append(hl, req->headers[i]);
        if (!n) {
            curl_slist_free_all(hl);
            return sl_err_set(err, SL_ENOMEM, "out of memory");
        }
        hl = n;
    }
    /* No 100-continue round trip, and no default content type. */
    static const char *const extra[] = {"Expect:", "Accept:"};
    for (size_t i = 0; i < SL_ARRAY_LEN(extra); i++) {
        struct curl_slist *n = curl_slist_append(hl, extra[i]);
        if (!n) {
            curl_slist_free_all(hl);
            return sl_err_set(err, SL_ENOMEM, "out of memory");
        }
        hl = n;
    }

    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    /* Object keys may hold "." and ".." segments: send the path as signed. */
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, req->insecure_tls ? 0L : 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, req->insecure_tls ? 0L : 2L);
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &x);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
        if (strcmp(req->method, "POST") == 0) {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "POST");
        }
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    }

    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(hl);
    char origin[256];
    url_origin(req->url, origin, sizeof origin);
    if (x.buf_rc) {
        return sl_err_set(err, x.buf_rc, "%s %s: response too large for memory", req->method,
                          origin);
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK && x.stopped) {
        return sl_err_set(err, x.stopped, "%s %s: %s while waiting for the answer", req->method,
                          origin, x.stopped == SL_ETIMEOUT ? "timed out" : "cancelled");
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK && x.stalled) {
        resp->timed_out = true;
        return sl_err_set(err, SL_ERETRY, "%s: no answer within %d ms", origin, timeout_ms);
    }
    if (cc != CURLE_OK) {
        resp->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
        return sl_err_set(err, retryable(cc) ? SL_ERETRY : SL_EIO, "%s: %s", origin,
                          h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    return 0;
}

bool sl_http_resp_header(const sl_http_resp_t *r, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    const char *p = r->headers.data;
    if (!p || cap == 0) {
        return false;
    }
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            const char *v = p + nlen + 1;
            const char *end = p + len;
            while (v < end && (*v == ' ' || *v == '\t')) {
                v++;
            }
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) {
                end--;
            }
            size_t vn = (size_t)(end - v);
            if (vn >= cap) {
                vn = cap - 1;
            }
            memcpy(out, v, vn);
            out[vn] = '\0';
            return true;
        }
        if (!eol) {
            break;
        }
        p = eol + 1;
    }
    return false;
}
