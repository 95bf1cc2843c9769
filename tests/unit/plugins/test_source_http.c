/* Unit tests for the `http` source (src/plugins/sources/http.c and
 * http_paging.c): the header, path and URL helpers on exact inputs, and
 * the source driven through its vtable, as the engine does, against the
 * fake payments/shipments API (tests/fakes/api_server.js, one per test on
 * a free loopback port). Request counts come from the fake's /_stats,
 * never from timing. */

#include "../../../src/engine/engine_internal.h"
#include "../../../src/net/http.h"
#include "../../../src/plugins/sources/http_internal.h"
#include "../net/child_harness.h"
#include "../test.h"
#include "sluice/config.h"
#include "sluice/json.h"
#include "sluice/plugin.h"
#include "sluice/timeutil.h"

extern const sl_source_type_t sl_source_http;

#define KEY "k-test-0123456789"

/* ---- the fake API as a child process ---- */

typedef struct {
    sl_child_t child;
    char base[64]; /* http://127.0.0.1:PORT */
} fake_t;

static void fake_stop(fake_t *f)
{
    sl_child_stop(&f->child, 0, 3000);
}

/* Starts the fake with extra arguments (NULL-terminated) after the key. */
static void fake_start(fake_t *f, const char *const *extra)
{
    memset(f, 0, sizeof *f);
    static char script[1024];
    sl_child_repo_path("tests/fakes/api_server.js", script, sizeof script);
    char *argv[40];
    int n = 0;
    argv[n++] = "node";
    argv[n++] = script;
    argv[n++] = "--key";
    argv[n++] = KEY;
    for (size_t i = 0; extra && extra[i] && n < 38; i++) {
        argv[n++] = (char *)extra[i];
    }
    argv[n] = NULL;
    char ready[64];
    int port = 0;
    if (sl_child_start(&f->child, argv, 20, ready, sizeof ready, "the fake API") != 0) {
        sl_test_fail(__FILE__, __LINE__, "the fake API did not start");
    }
    if (sscanf(ready, "%d", &port) != 1) {
        fake_stop(f);
        sl_test_fail(__FILE__, __LINE__, "unexpected output from the fake: %s", ready);
    }
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", port);
}

/* One control request to the fake; returns the body (static buffer). */
static const char *fake_call(fake_t *f, const char *method, const char *path, const char *body)
{
    static char out[1 << 20];
    sl_http_t *h;
    sl_err_t err;
    if (sl_http_new(&h, &err) != 0) {
        sl_test_fail(__FILE__, __LINE__, "http: %s", err.msg);
    }
    char url[256];
    snprintf(url, sizeof url, "%s%s", f->base, path);
    sl_http_req_t req = {
        .method = method, .url = url, .body = body, .body_len = body ? strlen(body) : 0};
    sl_http_resp_t resp = {0};
    if (sl_http_perform(h, &req, &resp, &err) != 0 || resp.status != 200) {
        sl_test_fail(__FILE__, __LINE__, "control %s %s: %s (%ld)", method, path, err.msg,
                     resp.status);
    }
    snprintf(out, sizeof out, "%s", resp.body.data ? resp.body.data : "");
    sl_http_resp_free(&resp);
    sl_http_free(h);
    return out;
}

static void fake_faults(fake_t *f, const char *json)
{
    fake_call(f, "POST", "/_faults", json);
}

/* A number from /_stats: a dotted path such as "requests" or
 * "by_status.429" (0 when absent). */
static long long fake_stat(fake_t *f, const char *path)
{
    const char *text = fake_call(f, "GET", "/_stats", NULL);
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_value_t v;
    sl_json_error_t je;
    if (sl_json_parse(a, text, strlen(text), NULL, &v, &je) != 0) {
        sl_test_fail(__FILE__, __LINE__, "stats: %s", je.reason);
    }
    const sl_value_t *x = sl_value_path(&v, path, strlen(path));
    long long n = x && x->type == SL_T_INT ? x->u.i : 0;
    sl_arena_destroy(a);
    return n;
}

/* Field of the i-th logged request ("query.since", "auth", "method"). */
static const char *fake_log(fake_t *f, int i, const char *field)
{
    static char out[512];
    const char *text = fake_call(f, "GET", "/_stats", NULL);
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_value_t v;
    sl_json_error_t je;
    if (sl_json_parse(a, text, strlen(text), NULL, &v, &je) != 0) {
        sl_test_fail(__FILE__, __LINE__, "stats: %s", je.reason);
    }
    char path[128];
    snprintf(path, sizeof path, "log.%d.%s", i, field);
    const sl_value_t *x = sl_value_path(&v, path, strlen(path));
    if (!x || x->type != SL_T_STRING) {
        snprintf(out, sizeof out, "(none)");
    } else {
        snprintf(out, sizeof out, "%.*s", (int)x->len, x->u.s);
    }
    sl_arena_destroy(a);
    return out;
}

/* ---- driving the source ---- */

typedef struct {
    sl_step_ctx_t ctx;
    sl_step_cfg_t step;
    sl_arena_t *arena;
    sl_value_t params, run;
    sl_rejects_t *rejects;
    char rejects_path[512];
    /* results of the last run */
    int rc;
    char err[SL_ERRMSG_MAX];
    sl_buf_t out; /* one record per line, compact JSON */
    size_t nrec, nbatches;
    char checkpoint[2048]; /* the last batch's */
    char origin[512];      /* the last batch's */
    char checkpoints[8][2048];
    sl_http_source_stats_t stats;
} fx_t;

static void fx_init(fx_t *f, fake_t *api)
{
    memset(f, 0, sizeof *f);
    f->arena = sl_arena_create(0, 0);
    f->step.name = "s1";
    f->step.batch_size = 10000;
    f->ctx.step = &f->step;
    f->ctx.arena = f->arena;
    f->ctx.base_dir = sl_test_tmpdir();
    f->ctx.run_id = "run-1";
    sl_object_new(f->arena, &f->params, 2);
    sl_object_set(f->arena, &f->params, "api", 3, sl_value_str(api->base, strlen(api->base)));
    sl_object_new(f->arena, &f->run, 1);
    f->ctx.params = &f->params;
    f->ctx.run = &f->run;
    snprintf(f->rejects_path, sizeof f->rejects_path, "%s/rejects.jsonl", sl_test_tmpdir());
    f->rejects = sl_rejects_new(f->rejects_path, 100, "s1");
    f->ctx.rejects = (struct sl_rejects *)f->rejects;
}

static void fx_free(fx_t *f)
{
    sl_rejects_free(f->rejects);
    sl_buf_free(&f->out);
    sl_arena_destroy(f->arena);
}

static const sl_node_t *cfg(fx_t *f, const char *yaml)
{
    sl_node_t *root = NULL;
    sl_err_t err;
    if (sl_config_parse(f->arena, "p.yaml", yaml, strlen(yaml), sl_test_tmpdir(), &root, &err)) {
        sl_test_fail(__FILE__, __LINE__, "config: %s", err.msg);
    }
    if (sl_config_check(root, sl_source_http.config, "source 'http'", &err)) {
        sl_test_fail(__FILE__, __LINE__, "config check: %s", err.msg);
    }
    return root;
}

/* open, next until SL_EOF or an error, close. resume: the checkpoint to
 * start from (NULL: none). Returns the final rc (0 at SL_EOF). */
static int run_src(fx_t *f, const char *yaml, const char *resume, size_t batch)
{
    f->ctx.resume = resume ? sl_arena_strdup(f->arena, resume) : NULL;
    f->ctx.err.msg[0] = '\0';
    sl_buf_clear(&f->out);
    f->nrec = f->nbatches = 0;
    f->checkpoint[0] = f->origin[0] = '\0';
    void *self = NULL;
    int rc = sl_source_http.open(&f->ctx, cfg(f, yaml), &self);
    sl_arena_t *ba = sl_arena_create(0, 0);
    for (int guard = 0; rc == 0 && guard < 10000; guard++) {
        sl_arena_reset(ba);
        sl_batch_t b = {0};
        b.arena = ba;
        rc = sl_source_http.next(self, &b, batch);
        if (rc) {
            break;
        }
        for (size_t i = 0; i < b.n; i++) {
            sl_json_write(&f->out, &b.records[i], 0);
            sl_buf_putc(&f->out, '\n');
        }
        f->nrec += b.n;
        if (b.checkpoint) {
            snprintf(f->checkpoint, sizeof f->checkpoint, "%s", b.checkpoint);
            if (f->nbatches < 8) {
                snprintf(f->checkpoints[f->nbatches], sizeof f->checkpoints[0], "%s", b.checkpoint);
            }
        }
        snprintf(f->origin, sizeof f->origin, "%s", b.origin ? b.origin : "");
        f->nbatches++;
    }
    if (rc == SL_EOF) {
        rc = 0;
    }
    if (self) {
        sl_http_source_stats(self, &f->stats);
    }
    sl_source_http.close(self);
    sl_arena_destroy(ba);
    f->rc = rc;
    snprintf(f->err, sizeof f->err, "%s", f->ctx.err.msg);
    return rc;
}

/* The value of field in record i of the last run's output, as JSON. */
static const char *out_field(fx_t *f, size_t i, const char *field)
{
    static char res[256];
    const char *p = f->out.data;
    for (size_t k = 0; p && k < i; k++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    if (!p) {
        return "(no record)";
    }
    const char *e = strchr(p, '\n');
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_value_t v;
    sl_json_error_t je;
    sl_json_parse(a, p, (size_t)(e - p), NULL, &v, &je);
    const sl_value_t *x = sl_object_get_c(&v, field);
    sl_buf_t b = SL_BUF_INIT;
    if (x) {
        sl_json_write(&b, x, 0);
    }
    snprintf(res, sizeof res, "%s", b.data ? b.data : "(absent)");
    sl_buf_free(&b);
    sl_arena_destroy(a);
    return res;
}

static char *yaml_of(const char *fmt, const char *base)
{
    static char y[4096];
    snprintf(y, sizeof y, fmt, base);
    return y;
}

/* ---- pure helpers ---- */

static const char *link_of(const char *v, const char *rel)
{
    static char out[512];
    sl_buf_t b = SL_BUF_INIT;
    int rc = sl_http_link_find(v, strlen(v), rel, &b);
    if (rc == SL_ENOTFOUND) {
        snprintf(out, sizeof out, "(none)");
    } else if (rc == SL_EPARSE) {
        snprintf(out, sizeof out, "(parse)");
    } else {
        snprintf(out, sizeof out, "%s", b.data ? b.data : "");
    }
    sl_buf_free(&b);
    return out;
}

SL_TEST(http_link_header_next)
{
    CHECK_STR(
        link_of("<https://a/x?page=2>; rel=\"next\", <https://a/x?page=9>; rel=\"last\"", "next"),
        "https://a/x?page=2");
    CHECK_STR(
        link_of("<https://a/x?page=1>; rel=\"prev\", <https://a/x?page=3>; rel=\"next\"", "next"),
        "https://a/x?page=3");
    /* unquoted, several relations, other params, odd spacing and case */
    CHECK_STR(link_of("<u1>;title=\"a, b\";REL=\"last next\"", "next"), "u1");
    CHECK_STR(link_of("  < u2 > ; rel=next ; type=\"text/html\"", "next"), "u2");
    CHECK_STR(link_of("<u,3>; rel=\"next\"", "next"), "u,3");
    CHECK_STR(link_of("<u4>; rel=\"nextish\"", "next"), "(none)");
    CHECK_STR(link_of("<u5>; rel=\"last\"", "next"), "(none)");
    CHECK_STR(link_of("", "next"), "(none)");
    CHECK_STR(link_of("https://a/x; rel=next", "next"), "(parse)");
    CHECK_STR(link_of("<https://a/x; rel=next", "next"), "(parse)");
    CHECK_STR(link_of("<u6>; rel=\"next", "next"), "(parse)");
    CHECK_STR(link_of("<u7>; rel=\"ne\\\"xt\", <u8>; rel=next", "next"), "u8");
}

SL_TEST(http_retry_after_forms)
{
    int64_t now = 784111777LL * 1000000; /* Sun, 06 Nov 1994 08:49:37 GMT */
    CHECK_INT(sl_http_retry_after_ms("120", 3, now), 120000);
    CHECK_INT(sl_http_retry_after_ms(" 0 ", 3, now), 0);
    CHECK_INT(sl_http_retry_after_ms("99999999999", 11, now), 86400000);
    const char *imf = "Sun, 06 Nov 1994 08:49:40 GMT";
    CHECK_INT(sl_http_retry_after_ms(imf, strlen(imf), now), 3000);
    const char *rfc850 = "Sunday, 06-Nov-94 08:49:47 GMT";
    CHECK_INT(sl_http_retry_after_ms(rfc850, strlen(rfc850), now), 10000);
    const char *asct = "Sun Nov  6 08:50:37 1994";
    CHECK_INT(sl_http_retry_after_ms(asct, strlen(asct), now), 60000);
    const char *past = "Sat, 05 Nov 1994 08:49:37 GMT";
    CHECK_INT(sl_http_retry_after_ms(past, strlen(past), now), 0);
    CHECK_INT(sl_http_retry_after_ms("soon", 4, now), -1);
    CHECK_INT(sl_http_retry_after_ms("-5", 2, now), -1);
    CHECK_INT(sl_http_retry_after_ms("1.5", 3, now), -1);
    CHECK_INT(sl_http_retry_after_ms("", 0, now), -1);
    const char *bad = "Sun, 32 Nov 1994 08:49:37 GMT";
    CHECK_INT(sl_http_retry_after_ms(bad, strlen(bad), now), -1);
}

static const char *records_of(const char *json, const char *path, int *rc)
{
    static char why[200];
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_value_t v;
    sl_json_error_t je;
    if (sl_json_parse(a, json, strlen(json), NULL, &v, &je) != 0) {
        sl_test_fail(__FILE__, __LINE__, "json: %s", je.reason);
    }
    const sl_value_t *arr = NULL;
    why[0] = '\0';
    *rc = sl_http_records(&v, path, &arr, why, sizeof why);
    if (*rc == 0) {
        snprintf(why, sizeof why, "%u items", (unsigned)arr->len);
    }
    sl_arena_destroy(a);
    return why;
}

SL_TEST(http_records_path)
{
    int rc;
    CHECK_STR(records_of("[{},{}]", "", &rc), "2 items");
    CHECK_INT(rc, 0);
    CHECK_STR(records_of("{\"data\":{\"items\":[1,2,3]}}", "data.items", &rc), "3 items");
    CHECK_STR(records_of("{\"pages\":[{\"r\":[]},{\"r\":[1]}]}", "pages.1.r", &rc), "1 items");
    CHECK_STR(records_of("{\"data\":{\"rows\":[]},\"meta\":1}", "data.items", &rc),
              "no member 'items' at 'data' (its keys: rows)");
    CHECK_INT(rc, SL_ENOTFOUND);
    CHECK_STR(records_of("{\"a\":1,\"b\":2}", "results", &rc),
              "no member 'results' in the response (its keys: a, b)");
    CHECK_STR(records_of("{\"data\":5}", "data.items", &rc), "'data' is int, not an object");
    CHECK_INT(rc, SL_ENOTFOUND);
    CHECK_STR(records_of("{\"data\":{\"items\":{}}}", "data.items", &rc),
              "'data.items' is object, not an array");
    CHECK_INT(rc, SL_ETYPE);
    CHECK_STR(records_of("{\"data\":[],\"meta\":{}}", "", &rc),
              "the response is an object, not an array; set records: to the path of its "
              "array of records (its keys: data, meta)");
    CHECK_INT(rc, SL_ETYPE);
    CHECK_STR(records_of("\"x\"", "", &rc), "the response is string, not an array");
    CHECK_STR(records_of("[[1]]", "0.5", &rc), "index 5 is past the end of an array of 1");
}

static const char *url_set(const char *url, const char *name, const char *value)
{
    static char out[512];
    sl_buf_t b = SL_BUF_INIT;
    CHECK_INT(sl_http_url_set(&b, url, name, value), 0);
    snprintf(out, sizeof out, "%s", b.data);
    sl_buf_free(&b);
    return out;
}

static const char *url_resolve(const char *base, const char *ref)
{
    static char out[512];
    sl_buf_t b = SL_BUF_INIT;
    CHECK_INT(sl_http_url_resolve(&b, base, ref), 0);
    snprintf(out, sizeof out, "%s", b.data);
    sl_buf_free(&b);
    return out;
}

static const char *url_redact(const char *url, const char *extra)
{
    static char out[512];
    sl_buf_t b = SL_BUF_INIT;
    CHECK_INT(sl_http_url_redact(&b, url, extra), 0);
    snprintf(out, sizeof out, "%s", b.data);
    sl_buf_free(&b);
    return out;
}

SL_TEST(http_url_helpers)
{
    CHECK_STR(url_set("http://h/p", "since", "2024-01-01T00:00:00+01:00"),
              "http://h/p?since=2024-01-01T00%3A00%3A00%2B01%3A00");
    CHECK_STR(url_set("http://h/p?a=1&page=2&b=3", "page", "3"), "http://h/p?a=1&page=3&b=3");
    CHECK_STR(url_set("http://h/p?page=1&page=2#f", "page", "7"), "http://h/p?page=7#f");
    CHECK_STR(url_set("http://h/p?pages=1", "page", "2"), "http://h/p?pages=1&page=2");
    CHECK_STR(url_set("http://h/p?a=1&api_key=s&b=2", "api_key", NULL), "http://h/p?a=1&b=2");
    CHECK_STR(url_set("http://h/p?api_key=s", "api_key", NULL), "http://h/p");

    CHECK_STR(url_resolve("http://h:1/a/b?x=1", "https://o/p"), "https://o/p");
    CHECK_STR(url_resolve("http://h:1/a/b?x=1", "//o/p"), "http://o/p");
    CHECK_STR(url_resolve("http://h:1/a/b?x=1", "/c?page=2"), "http://h:1/c?page=2");
    CHECK_STR(url_resolve("http://h:1/a/b?x=1", "?page=2"), "http://h:1/a/b?page=2");
    CHECK_STR(url_resolve("http://h:1/a/b?x=1", "c?page=2"), "http://h:1/a/c?page=2");
    CHECK_STR(url_resolve("http://h:1", "c"), "http://h:1/c");

    CHECK_STR(url_redact("https://u:pw@h/p?api_key=s3cr&x=1&Token=t&sig=9", NULL),
              "https://u:***@h/p?api_key=***&x=1&Token=***&sig=***");
    CHECK_STR(url_redact("http://h/p?mykey=abc&page=2", "mykey"), "http://h/p?mykey=***&page=2");
    CHECK_STR(url_redact("http://h/p", NULL), "http://h/p");
}

SL_TEST(http_rate_bucket_counts)
{
    sl_http_bucket_t b;
    sl_http_bucket_init(&b, 10, 5);
    int waited = 0;
    for (int i = 0; i < 5; i++) {
        waited += sl_http_bucket_take(&b, 1000000) > 0;
    }
    CHECK_INT(waited, 0); /* the burst */
    CHECK_INT(sl_http_bucket_take(&b, 1000000), 100000);
    CHECK_INT(sl_http_bucket_take(&b, 1000000), 200000);
    /* after sleeping as told, and 1 s later refilled to the burst only */
    CHECK_INT(sl_http_bucket_take(&b, 3000000), 0);
    int immediate = 1;
    while (sl_http_bucket_take(&b, 3000000) == 0) {
        immediate++;
    }
    CHECK_INT(immediate, 5);
    /* 20 requests at t=10s: 5 free, then 15 spaced by 100 ms */
    sl_http_bucket_init(&b, 10, 5);
    int64_t t = 10000000;
    int delayed = 0;
    for (int i = 0; i < 20; i++) {
        int64_t w = sl_http_bucket_take(&b, t);
        if (w > 0) {
            delayed++;
            t += w;
        }
    }
    CHECK_INT(delayed, 15);
    CHECK_INT(t, 10000000 + 1500000);
}

static int ccmp(const char *a, const char *b)
{
    sl_arena_t *ar = sl_arena_create(0, 0);
    sl_value_t va, vb;
    sl_json_error_t je;
    sl_json_parse(ar, a, strlen(a), NULL, &va, &je);
    sl_json_parse(ar, b, strlen(b), NULL, &vb, &je);
    int c = sl_http_cursor_cmp(&va, &vb);
    sl_arena_destroy(ar);
    return c < 0 ? -1 : c > 0;
}

SL_TEST(http_cursor_order)
{
    CHECK_INT(ccmp("\"2024-01-02T00:00:00Z\"", "\"2024-01-01T23:00:00Z\""), 1);
    CHECK_INT(ccmp("\"2024-01-01T01:00:00+01:00\"", "\"2024-01-01T00:00:00Z\""), 0);
    CHECK_INT(ccmp("\"2024-01-01T00:00:00.5Z\"", "\"2024-01-01T00:00:00Z\""), 1);
    CHECK_INT(ccmp("10", "9"), 1);
    CHECK_INT(ccmp("9.5", "10"), -1);
    CHECK_INT(ccmp("\"10\"", "9"), 1);
    CHECK_INT(ccmp("\"b\"", "\"a\""), 1);
    CHECK_INT(ccmp("null", "\"a\""), -1);
    CHECK_INT(ccmp("5", "\"abc\""), -1);
}

/* ---- the source against the fake API ---- */

static const char *const small[] = {"--payments",  "7", "--shipments", "10",
                                    "--page-size", "3", NULL};

#define PAYMENTS_CURSOR                                                                            \
    "type: http\n"                                                                                 \
    "url: \"{{ params.api }}/payments\"\n"                                                         \
    "auth: {type: api_key, header: x-api-key, value: " KEY "}\n"                                   \
    "records: data.items\n"                                                                        \
    "pagination: {type: cursor, cursor_path: meta.next_cursor, param: cursor}\n"

SL_TEST(http_src_cursor_pages)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    CHECK_INT(run_src(&f, PAYMENTS_CURSOR, NULL, 10000), 0);
    CHECK_INT(f.nrec, 7);
    CHECK_INT(f.nbatches, 3); /* one per page */
    CHECK_STR(out_field(&f, 0, "payment_id"), "\"pay_000001\"");
    CHECK_STR(out_field(&f, 6, "payment_id"), "\"pay_000007\"");
    CHECK_INT(fake_stat(&api, "requests"), 3);
    CHECK_STR(fake_log(&api, 1, "query.cursor"), "b2Zmc2V0OjM=");
    CHECK_STR(fake_log(&api, 0, "auth"), "api_key");
    CHECK_STR(fake_log(&api, 0, "query.since"), "(none)");
    CHECK_STR(f.checkpoints[0], "{\"since\":null,\"max\":null,\"next\":{\"cursor\":"
                                "\"b2Zmc2V0OjM=\"},\"skip\":0,\"done\":false}");
    CHECK_STR(f.checkpoint, "{\"since\":null,\"done\":true}");
    CHECK_CONTAINS(f.origin, "/payments?cursor=b2Zmc2V0OjY%3D");
    CHECK_INT(f.stats.pages, 3);
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_link_header_pages)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    CHECK_INT(run_src(&f,
                      yaml_of("type: http\n"
                              "url: \"%s/shipments?per_page=4\"\n"
                              "auth: {type: api_key, value: " KEY "}\n"
                              "pagination: {type: link_header}\n",
                              api.base),
                      NULL, 10000),
              0);
    CHECK_INT(f.nrec, 10);
    CHECK_STR(out_field(&f, 9, "shipment_id"), "\"shp_000010\"");
    CHECK_INT(fake_stat(&api, "requests"), 3);
    CHECK_STR(fake_log(&api, 2, "query.page"), "3");
    CHECK_CONTAINS(f.checkpoints[0], "\"next\":{\"url\":\"http://127.0.0.1:");
    CHECK_CONTAINS(f.checkpoints[0], "/shipments?per_page=4&page=2\"},\"skip\":0");
    /* the key is checked by header, never stored in the link */
    CHECK(!strstr(f.checkpoints[0], KEY));
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_page_numbers)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    /* 10 shipments, 4 a page: pages 1, 2, 3 (short: the last) */
    CHECK_INT(run_src(&f,
                      yaml_of("type: http\n"
                              "url: \"%s/shipments\"\n"
                              "auth: {type: api_key, value: " KEY "}\n"
                              "pagination: {type: page, param: page, start: 1, "
                              "size_param: per_page, size: 4}\n",
                              api.base),
                      NULL, 10000),
              0);
    CHECK_INT(f.nrec, 10);
    CHECK_INT(fake_stat(&api, "requests"), 3);
    CHECK_STR(fake_log(&api, 0, "query.page"), "1");
    CHECK_STR(fake_log(&api, 0, "query.per_page"), "4");
    CHECK_STR(fake_log(&api, 2, "query.page"), "3");
    CHECK_STR(f.checkpoints[0],
              "{\"since\":null,\"max\":null,\"next\":{\"page\":2},\"skip\":0,\"done\":false}");
    /* without size_param the end is the first empty page */
    fake_call(&api, "POST", "/_reset", NULL);
    CHECK_INT(run_src(&f,
                      yaml_of("type: http\n"
                              "url: \"%s/shipments?per_page=5\"\n"
                              "auth: {type: api_key, value: " KEY "}\n"
                              "pagination: {type: page}\n",
                              api.base),
                      NULL, 10000),
              0);
    CHECK_INT(f.nrec, 10);
    CHECK_INT(fake_stat(&api, "requests"), 3);
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_offset_and_next_link)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    CHECK_INT(run_src(&f,
                      yaml_of("type: http\n"
                              "url: \"%s/v2/payments\"\n"
                              "auth: {type: api_key, value: " KEY "}\n"
                              "records: results\n"
                              "pagination: {type: offset, param: offset, limit_param: limit, "
                              "limit: 3}\n",
                              api.base),
                      NULL, 10000),
              0);
    CHECK_INT(f.nrec, 7);
    CHECK_INT(fake_stat(&api, "requests"), 3);
    CHECK_STR(fake_log(&api, 2, "query.offset"), "6");
    CHECK_STR(fake_log(&api, 2, "query.limit"), "3");
    CHECK_STR(f.checkpoints[1],
              "{\"since\":null,\"max\":null,\"next\":{\"offset\":6},\"skip\":0,\"done\":false}");

    fake_call(&api, "POST", "/_reset", NULL);
    CHECK_INT(run_src(&f,
                      yaml_of("type: http\n"
                              "url: \"%s/v2/payments?limit=2\"\n"
                              "auth: {type: api_key, query: api_key, value: " KEY "}\n"
                              "records: results\n"
                              "pagination: {type: next_link, path: next}\n",
                              api.base),
                      NULL, 10000),
              0);
    CHECK_INT(f.nrec, 7);
    CHECK_INT(fake_stat(&api, "requests"), 4);
    CHECK_STR(fake_log(&api, 3, "auth"), "query");
    CHECK_STR(fake_log(&api, 3, "query.offset"), "6");
    /* the key went as a query parameter: masked in origins, absent from
     * the stored next link */
    CHECK_CONTAINS(f.origin, "api_key=***");
    CHECK(!strstr(f.origin, KEY));
    for (int i = 0; i < 3; i++) {
        CHECK(!strstr(f.checkpoints[i], KEY));
        CHECK_CONTAINS(f.checkpoints[i], "\"next\":{\"url\":\"http://127.0.0.1:");
    }
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_auth_types)
{
    const char *const args[] = {"--payments",   "2", "--bearer", "tok-abcdef", "--basic",
                                "ana:pa55word", NULL};
    fake_t api;
    fake_start(&api, args);
    fx_t f;
    fx_init(&f, &api);
    CHECK_INT(run_src(&f,
                      yaml_of("type: http\nurl: \"%s/payments\"\nrecords: data.items\n"
                              "auth: {type: bearer, token: tok-abcdef}\n",
                              api.base),
                      NULL, 100),
              0);
    CHECK_INT(f.nrec, 2);
    CHECK_STR(fake_log(&api, 0, "auth"), "bearer");
    CHECK_INT(run_src(&f,
                      yaml_of("type: http\nurl: \"%s/payments\"\nrecords: data.items\n"
                              "auth: {type: basic, username: ana, password: pa55word}\n",
                              api.base),
                      NULL, 100),
              0);
    CHECK_STR(fake_log(&api, 1, "auth"), "basic");
    /* a wrong key: 401 is not retried, the message has the status and the
     * body, never the key */
    CHECK_INT(run_src(&f,
                      yaml_of("type: http\nurl: \"%s/payments\"\nrecords: data.items\n"
                              "auth: {type: api_key, query: api_key, value: wrong-key-999}\n",
                              api.base),
                      NULL, 100),
              SL_EIO);
    CHECK_CONTAINS(f.err, "GET http://127.0.0.1:");
    CHECK_CONTAINS(f.err, "/payments?api_key=***: HTTP 401: {\"message\":\"Unauthorized: "
                          "missing or invalid API key\"}");
    CHECK(!strstr(f.err, "wrong-key-999"));
    CHECK_INT(fake_stat(&api, "by_status.401"), 1);
    /* a redirect is not followed, and says where it points */
    CHECK_INT(run_src(&f,
                      yaml_of("type: http\nurl: \"%s/v1/payments?api_key=" KEY "\"\n"
                              "records: data.items\n",
                              api.base),
                      NULL, 100),
              SL_EIO);
    CHECK_CONTAINS(f.err, "/v1/payments?api_key=***: HTTP 301, redirected to http://127.0.0.1:");
    CHECK_CONTAINS(f.err, "/payments?api_key=*** (redirects are not followed: use that URL)");
    CHECK(!strstr(f.err, KEY));
    /* an api_key needs a value */
    void *self = NULL;
    CHECK_INT(sl_source_http.open(&f.ctx,
                                  cfg(&f, yaml_of("type: http\nurl: \"%s/p\"\n"
                                                  "auth: {type: api_key, header: x-api-key}\n",
                                                  api.base)),
                                  &self),
              SL_ECONFIG);
    CHECK_CONTAINS(f.ctx.err.msg, "p.yaml:3:7: source 'http': auth: api_key needs value");
    sl_source_http.close(self);
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_post_body)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    CHECK_INT(run_src(&f,
                      yaml_of("type: http\nmethod: POST\n"
                              "url: \"%s/payments/search\"\n"
                              "auth: {type: api_key, value: " KEY "}\n"
                              "body: {currency: EUR}\n"
                              "records: data.items\n"
                              "pagination: {type: cursor, cursor_path: meta.next_cursor}\n",
                              api.base),
                      NULL, 10000),
              0);
    CHECK(f.nrec > 0);
    for (size_t i = 0; i < f.nrec; i++) {
        CHECK_STR(out_field(&f, i, "currency"), "\"EUR\"");
    }
    CHECK_STR(fake_log(&api, 0, "method"), "POST");
    /* a body with GET is a config error */
    void *self = NULL;
    CHECK_INT(
        sl_source_http.open(
            &f.ctx, cfg(&f, yaml_of("type: http\nurl: \"%s/p\"\nbody: {a: 1}\n", api.base)), &self),
        SL_ECONFIG);
    CHECK_CONTAINS(f.ctx.err.msg, "p.yaml:3:7: source 'http': body: only with method: POST");
    sl_source_http.close(self);
    fx_free(&f);
    fake_stop(&api);
}

#define PAYMENTS_INCR                                                                              \
    PAYMENTS_CURSOR                                                                                \
    "incremental: {param: since, cursor_field: updated_at, initial: "                              \
    "\"1970-01-01T00:00:00Z\"%s}\n"

static char *incr_yaml(const char *extra)
{
    static char y[1024];
    snprintf(y, sizeof y, PAYMENTS_INCR, extra);
    return y;
}

/* The largest updated_at the fake serves (7 payments of seed 1). */
#define MAX_UPDATED "2024-01-15T15:23:43Z"

SL_TEST(http_src_incremental_since)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    CHECK_INT(run_src(&f, incr_yaml(""), NULL, 10000), 0);
    CHECK_INT(f.nrec, 7);
    CHECK_STR(fake_log(&api, 0, "query.since"), "1970-01-01T00:00:00Z");
    CHECK_STR(fake_log(&api, 2, "query.since"), "1970-01-01T00:00:00Z");
    /* mid-run checkpoints keep the old since and the running maximum */
    CHECK_CONTAINS(f.checkpoints[0], "{\"since\":\"1970-01-01T00:00:00Z\",\"max\":\"2024-");
    /* the mark is the maximum over the run (pay_000006, in the middle) */
    CHECK_STR(f.checkpoint, "{\"since\":\"" MAX_UPDATED "\",\"done\":true}");
    char cp[2048];
    snprintf(cp, sizeof cp, "%s", f.checkpoint);
    /* the next run sends it */
    CHECK_INT(run_src(&f, incr_yaml(""), cp, 10000), 0);
    CHECK_STR(fake_log(&api, 3, "query.since"), MAX_UPDATED);
    CHECK_INT(f.nrec, 1);
    CHECK_STR(out_field(&f, 0, "payment_id"), "\"pay_000006\"");
    CHECK_STR(f.checkpoint, "{\"since\":\"" MAX_UPDATED "\",\"done\":true}");
    /* full refresh ignores the checkpoint */
    f.ctx.full_refresh = true;
    CHECK_INT(run_src(&f, incr_yaml(""), cp, 10000), 0);
    CHECK_INT(f.nrec, 7);
    fx_free(&f);
    fake_stop(&api);
}

/* incremental.key: the record at exactly the mark, delivered by the
 * previous run, is not delivered again; one that appears later at the
 * same mark is. */
SL_TEST(http_src_incremental_boundary_keys)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    CHECK_INT(run_src(&f, incr_yaml(", key: payment_id"), NULL, 10000), 0);
    CHECK_INT(f.nrec, 7);
    CHECK_STR(f.checkpoint,
              "{\"since\":\"" MAX_UPDATED "\",\"keys\":[\"pay_000006\"],\"done\":true}");
    char cp[2048];
    snprintf(cp, sizeof cp, "%s", f.checkpoint);
    /* the API returns pay_000006 again (since is inclusive): dropped */
    CHECK_INT(run_src(&f, incr_yaml(", key: payment_id"), cp, 10000), 0);
    CHECK_STR(fake_log(&api, 3, "query.since"), MAX_UPDATED);
    CHECK_INT(f.nrec, 0);
    CHECK_INT(f.stats.filtered, 1);
    /* the keys stay for the run after, as the mark did not move */
    CHECK_STR(f.checkpoint,
              "{\"since\":\"" MAX_UPDATED "\",\"keys\":[\"pay_000006\"],\"done\":true}");
    /* a late record with the same updated_at comes through, and joins the keys */
    char body[256];
    snprintf(body, sizeof body,
             "[{\"payment_id\":\"pay_000099\",\"order_id\":99,\"amount\":1,"
             "\"currency\":\"EUR\",\"status\":\"captured\",\"method\":\"card\","
             "\"created_at\":\"%s\",\"updated_at\":\"%s\"}]",
             MAX_UPDATED, MAX_UPDATED);
    fake_call(&api, "POST", "/_upsert/payments", body);
    CHECK_INT(run_src(&f, incr_yaml(", key: payment_id"), cp, 10000), 0);
    CHECK_INT(f.nrec, 1);
    CHECK_STR(out_field(&f, 0, "payment_id"), "\"pay_000099\"");
    CHECK_STR(f.checkpoint, "{\"since\":\"" MAX_UPDATED
                            "\",\"keys\":[\"pay_000006\",\"pay_000099\"],\"done\":true}");
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_incremental_client_filter)
{
    const char *const args[] = {"--payments", "7", "--page-size", "3", "--ignore-since", NULL};
    fake_t api;
    fake_start(&api, args);
    fx_t f;
    fx_init(&f, &api);
    const char *cp = "{\"since\":\"2024-01-12T00:00:00Z\",\"done\":true}";
    /* the API ignores since: without filter everything comes back */
    CHECK_INT(run_src(&f, incr_yaml(""), cp, 10000), 0);
    CHECK_INT(f.nrec, 7);
    CHECK_STR(fake_log(&api, 0, "query.since"), "2024-01-12T00:00:00Z");
    /* with filter only updated_at >= since */
    CHECK_INT(run_src(&f, incr_yaml(", filter: true"), cp, 10000), 0);
    CHECK_INT(f.nrec, 2);
    CHECK_INT(f.stats.filtered, 5);
    CHECK_STR(out_field(&f, 0, "payment_id"), "\"pay_000002\"");
    CHECK_STR(out_field(&f, 1, "payment_id"), "\"pay_000006\"");
    for (size_t i = 0; i < f.nrec; i++) {
        CHECK(strcmp(out_field(&f, i, "updated_at"), "\"2024-01-12T00:00:00Z\"") >= 0);
    }
    CHECK_STR(f.checkpoint, "{\"since\":\"" MAX_UPDATED "\",\"done\":true}");
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_retries_429_500)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    /* page 2 gets 429 (Retry-After: 1) then 500, then succeeds */
    fake_faults(&api, "{\"faults\":[{\"type\":\"429\",\"after\":1,\"retry_after\":\"1\"},"
                      "{\"type\":\"500\",\"after\":1}]}");
    char y[4096];
    snprintf(y, sizeof y, "%sretry: {max: 3, backoff_ms: 1, max_backoff_ms: 5000}\n",
             PAYMENTS_CURSOR);
    CHECK_INT(run_src(&f, y, NULL, 10000), 0);
    CHECK_INT(f.nrec, 7);
    CHECK_INT(fake_stat(&api, "requests"), 5);
    CHECK_INT(fake_stat(&api, "by_status.429"), 1);
    CHECK_INT(fake_stat(&api, "by_status.500"), 1);
    CHECK_INT(fake_stat(&api, "by_status.200"), 3);
    CHECK_INT(f.stats.retries, 2);
    CHECK_INT(f.stats.last_retry_after_ms, 1000);
    CHECK(f.stats.waited_ms >= 1000); /* what was asked for, not measured */
    /* the retried request is the same page */
    CHECK_STR(fake_log(&api, 1, "query.cursor"), "b2Zmc2V0OjM=");
    CHECK_STR(fake_log(&api, 3, "query.cursor"), "b2Zmc2V0OjM=");
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_retry_after_date_and_cap)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    /* an HTTP date 2 s ahead, capped by max_backoff_ms 300 */
    fake_faults(&api, "{\"faults\":[{\"type\":\"503\",\"retry_after\":\"date:2\"}]}");
    char y[4096];
    snprintf(y, sizeof y, "%sretry: {max: 1, backoff_ms: 1, max_backoff_ms: 300}\n",
             PAYMENTS_CURSOR);
    CHECK_INT(run_src(&f, y, NULL, 10000), 0);
    CHECK_INT(f.nrec, 7);
    CHECK_INT(fake_stat(&api, "by_status.503"), 1);
    CHECK(f.stats.last_retry_after_ms > 0 && f.stats.last_retry_after_ms <= 2000);
    CHECK_INT(f.stats.waited_ms, 300);
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_retries_exhausted)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    fake_faults(&api, "{\"faults\":[{\"type\":\"500\",\"times\":10}]}");
    char y[4096];
    snprintf(y, sizeof y, "%sretry: {max: 2, backoff_ms: 1}\n", PAYMENTS_CURSOR);
    CHECK_INT(run_src(&f, y, NULL, 10000), SL_EIO);
    CHECK_CONTAINS(f.err, "/payments: HTTP 500: {\"message\":\"Internal server error\"} (after "
                          "3 attempts)");
    CHECK_INT(fake_stat(&api, "requests"), 3);
    CHECK_INT(f.nrec, 0);
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_timeout_retried)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    fake_faults(&api, "{\"faults\":[{\"type\":\"slow\",\"ms\":3000}]}");
    char y[4096];
    snprintf(y, sizeof y, "%stimeout_ms: 300\nretry: {max: 2, backoff_ms: 1}\n", PAYMENTS_CURSOR);
    CHECK_INT(run_src(&f, y, NULL, 10000), 0);
    CHECK_INT(f.nrec, 7);
    CHECK_INT(f.stats.retries, 1);
    CHECK_INT(f.stats.requests, 4);
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_rate_limit)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    /* 3 pages at 20/s with a burst of 1: the 2nd and 3rd requests wait */
    char y[4096];
    snprintf(y, sizeof y, "%srate_limit: {per_second: 20, burst: 1}\n", PAYMENTS_CURSOR);
    CHECK_INT(run_src(&f, y, NULL, 10000), 0);
    CHECK_INT(f.nrec, 7);
    CHECK_INT(f.stats.requests, 3);
    CHECK_INT(f.stats.rate_waits, 2);
    /* a burst as large as the pages: nobody waits */
    snprintf(y, sizeof y, "%srate_limit: {per_second: 1, burst: 3}\n", PAYMENTS_CURSOR);
    CHECK_INT(run_src(&f, y, NULL, 10000), 0);
    CHECK_INT(f.stats.rate_waits, 0);
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_max_response_bytes)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    char y[4096];
    snprintf(y, sizeof y, "%smax_response_bytes: 300\n", PAYMENTS_CURSOR);
    CHECK_INT(run_src(&f, y, NULL, 10000), SL_ELIMIT);
    CHECK_CONTAINS(f.err, "/payments: the response is larger than max_response_bytes (300 "
                          "bytes)");
    CHECK_INT(fake_stat(&api, "requests"), 1); /* not retried */
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_malformed_json)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    fake_faults(&api, "{\"faults\":[{\"type\":\"malformed\",\"after\":1}]}");
    CHECK_INT(run_src(&f, PAYMENTS_CURSOR, NULL, 10000), SL_EPARSE);
    CHECK_INT(f.nrec, 3); /* page 1 came through */
    CHECK_CONTAINS(f.err, "/payments?cursor=b2Zmc2V0OjM%3D: malformed JSON in the response at "
                          "byte ");
    CHECK_INT(fake_stat(&api, "requests"), 2);
    /* a records path that is not there */
    CHECK_INT(run_src(&f,
                      yaml_of("type: http\nurl: \"%s/payments\"\n"
                              "auth: {type: api_key, value: " KEY "}\nrecords: data.rows\n",
                              api.base),
                      NULL, 10000),
              SL_EPARSE);
    CHECK_CONTAINS(f.err, "/payments: records data.rows: no member 'rows' at 'data' (its "
                          "keys: items)");
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_non_object_rejected)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    fake_faults(&api, "{\"faults\":[{\"type\":\"bad_item\"}]}");
    CHECK_INT(run_src(&f, PAYMENTS_CURSOR, NULL, 10000), 0);
    CHECK_INT(f.nrec, 7);
    CHECK_INT(sl_rejects_count(f.rejects), 1);
    sl_err_t err;
    CHECK_INT(sl_rejects_flush(f.rejects, &err), 0);
    FILE *fp = fopen(f.rejects_path, "r");
    CHECK(fp != NULL);
    char line[1024] = "";
    CHECK(fgets(line, sizeof line, fp) != NULL);
    fclose(fp);
    CHECK_CONTAINS(line, "\"origin\":\"http://127.0.0.1:");
    CHECK_CONTAINS(line, "/payments\",\"line\":2,\"reason\":\"item 2 of the page is string, "
                         "expected an object\",\"raw\":\"\\\"not an object\\\"\"}");
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_budget_stop_and_resume)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    char y[4096];
    snprintf(y, sizeof y, "%sbudget: {max_pages: 2}\n", incr_yaml(""));
    CHECK_INT(run_src(&f, y, NULL, 10000), 0);
    CHECK_INT(f.nrec, 6);
    CHECK_INT(fake_stat(&api, "requests"), 2);
    /* not done: the old since, the running max, the next cursor */
    CHECK_STR(f.checkpoint, "{\"since\":\"1970-01-01T00:00:00Z\",\"max\":\"" MAX_UPDATED
                            "\",\"next\":{\"cursor\":\"b2Zmc2V0OjY=\"},\"skip\":0,"
                            "\"done\":false}");
    char cp[2048];
    snprintf(cp, sizeof cp, "%s", f.checkpoint);
    CHECK_INT(run_src(&f, y, cp, 10000), 0);
    CHECK_INT(f.nrec, 1);
    CHECK_STR(out_field(&f, 0, "payment_id"), "\"pay_000007\"");
    CHECK_INT(fake_stat(&api, "requests"), 3);
    CHECK_STR(fake_log(&api, 2, "query.cursor"), "b2Zmc2V0OjY=");
    CHECK_STR(fake_log(&api, 2, "query.since"), "1970-01-01T00:00:00Z");
    /* done: the max over both runs, though the last page's was lower */
    CHECK_STR(f.checkpoint, "{\"since\":\"" MAX_UPDATED "\",\"done\":true}");
    fx_free(&f);
    fake_stop(&api);
}

SL_TEST(http_src_page_split_into_batches)
{
    fake_t api;
    fake_start(&api, small);
    fx_t f;
    fx_init(&f, &api);
    CHECK_INT(run_src(&f, PAYMENTS_CURSOR, NULL, 2), 0);
    CHECK_INT(f.nrec, 7);
    CHECK_INT(f.nbatches, 5); /* 2+1, 2+1, 1 */
    CHECK_STR(f.checkpoints[0],
              "{\"since\":null,\"max\":null,\"next\":{\"cursor\":null},\"skip\":2,"
              "\"done\":false}");
    CHECK_STR(f.checkpoints[2], "{\"since\":null,\"max\":null,\"next\":{\"cursor\":"
                                "\"b2Zmc2V0OjM=\"},\"skip\":2,\"done\":false}");
    /* resuming inside page 2 skips what was delivered */
    char cp[2048];
    snprintf(cp, sizeof cp, "%s", f.checkpoints[2]);
    CHECK_INT(run_src(&f, PAYMENTS_CURSOR, cp, 2), 0);
    CHECK_INT(f.nrec, 2);
    CHECK_STR(out_field(&f, 0, "payment_id"), "\"pay_000006\"");
    CHECK_STR(out_field(&f, 1, "payment_id"), "\"pay_000007\"");
    fx_free(&f);
    fake_stop(&api);
}
