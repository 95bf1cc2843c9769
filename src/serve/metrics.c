/* /metrics of `sluice serve`, in the Prometheus text format (0.0.4):
 *
 *   sluice_http_requests_total{route, status}       counter
 *   sluice_http_request_duration_seconds{route}     histogram
 *   sluice_runs_total{pipeline, status}             counter: runs this server's worker ran
 *   sluice_step_duration_seconds{pipeline, step}    histogram: their steps
 *   sluice_records_total{pipeline, step, kind}      counter: in, out, rejected
 *   sluice_items_total{pipeline, step, status}      counter: their map items
 *   sluice_item_duration_seconds{pipeline, step}    histogram
 *   sluice_runs_queued                              gauge: pending runs in the store
 *   sluice_runs_running                             gauge: runs of this worker now
 *
 * Counters live in this process (they start at 0 with it, as Prometheus
 * expects of counters). A route label is the route's pattern, never the
 * request's own path, so labels stay few. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "sluice/json.h"

#define MAX_SERIES 512

static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
                                60, 300, 900, 3600};
#define NB (sizeof bounds / sizeof bounds[0])

typedef struct {
    char *labels;       /* 'route="/x",status="200"' */
    double value;       /* counters */
    uint64_t buckets[NB + 1];
    double sum;
    uint64_t count;
} series_t;

typedef struct {
    const char *name, *help, *type;
    series_t s[MAX_SERIES];
    size_t n;
} family_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static family_t http_total = {.name = "sluice_http_requests_total",
                              .help = "HTTP requests by route and status",
                              .type = "counter"};
static family_t http_dur = {.name = "sluice_http_request_duration_seconds",
                            .help = "HTTP request durations by route",
                            .type = "histogram"};
static family_t runs_total = {.name = "sluice_runs_total",
                              .help = "runs this server's worker ran, by pipeline and status",
                              .type = "counter"};
static family_t step_dur = {.name = "sluice_step_duration_seconds",
                            .help = "durations of the steps of those runs",
                            .type = "histogram"};
static family_t items_total = {.name = "sluice_items_total",
                               .help = "map items of those runs, by final status",
                               .type = "counter"};
static family_t item_dur = {.name = "sluice_item_duration_seconds",
                            .help = "durations of those map items",
                            .type = "histogram"};
static family_t records = {.name = "sluice_records_total",
                           .help = "records of those runs' steps: in, out, rejected",
                           .type = "counter"};

/* The series of f with these labels (created); NULL when f is full. */
static series_t *series(family_t *f, const char *labels)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->s[i].labels, labels) == 0) {
            return &f->s[i];
        }
    }
    if (f->n == MAX_SERIES) {
        return NULL;
    }
    series_t *s = &f->s[f->n];
    memset(s, 0, sizeof *s);
    s->labels = strdup(labels);
    if (!s->labels) {
        return NULL;
    }
    f->n++;
    return s;
}

static void observe(series_t *s, double v)
{
    size_t b = 0;
    while (b < NB && v > bounds[b]) {
        b++;
    }
    s->buckets[b]++;
    s->sum += v;
    s->count++;
}

/* A label value, escaped as the format wants (\\, \", \n). */
static void label(sl_buf_t *b, const char *k, const char *v)
{
    sl_buf_printf(b, "%s%s=\"", b->len && b->data[b->len - 1] != '{' ? "," : "", k);
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"') {
            sl_buf_putc(b, '\\');
            sl_buf_putc(b, *p);
        } else if (*p == '\n') {
            sl_buf_append_c(b, "\\n");
        } else {
            sl_buf_putc(b, *p);
        }
    }
    sl_buf_putc(b, '"');
}

static char *labels2(const char *k1, const char *v1, const char *k2, const char *v2,
                     const char *k3, const char *v3)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_putc(&b, '{');
    label(&b, k1, v1);
    if (k2) {
        label(&b, k2, v2);
    }
    if (k3) {
        label(&b, k3, v3);
    }
    /* stored without the braces */
    char *out = b.data ? strndup(b.data + 1, b.len - 1) : NULL;
    sl_buf_free(&b);
    return out;
}

void sl_metrics_http(const char *route, int status, double seconds)
{
    char st[8];
    snprintf(st, sizeof st, "%d", status);
    char *l1 = labels2("route", route, "status", st, NULL, NULL);
    char *l2 = labels2("route", route, NULL, NULL, NULL, NULL);
    pthread_mutex_lock(&lock);
    series_t *s = l1 ? series(&http_total, l1) : NULL;
    if (s) {
        s->value++;
    }
    s = l2 ? series(&http_dur, l2) : NULL;
    if (s) {
        observe(s, seconds);
    }
    pthread_mutex_unlock(&lock);
    free(l1);
    free(l2);
}

void sl_metrics_run(const char *pipeline, const char *status)
{
    char *l = labels2("pipeline", pipeline, "status", status, NULL, NULL);
    pthread_mutex_lock(&lock);
    series_t *s = l ? series(&runs_total, l) : NULL;
    if (s) {
        s->value++;
    }
    pthread_mutex_unlock(&lock);
    free(l);
}

void sl_metrics_step(const char *pipeline, const char *step, double seconds, int64_t in,
                     int64_t out, int64_t rejected)
{
    char *l = labels2("pipeline", pipeline, "step", step, NULL, NULL);
    char *li = labels2("pipeline", pipeline, "step", step, "kind", "in");
    char *lo = labels2("pipeline", pipeline, "step", step, "kind", "out");
    char *lr = labels2("pipeline", pipeline, "step", step, "kind", "rejected");
    pthread_mutex_lock(&lock);
    series_t *s = l ? series(&step_dur, l) : NULL;
    if (s) {
        observe(s, seconds);
    }
    if (li && (s = series(&records, li)) != NULL) {
        s->value += (double)in;
    }
    if (lo && (s = series(&records, lo)) != NULL) {
        s->value += (double)out;
    }
    if (lr && (s = series(&records, lr)) != NULL) {
        s->value += (double)rejected;
    }
    pthread_mutex_unlock(&lock);
    free(l);
    free(li);
    free(lo);
    free(lr);
}

void sl_metrics_item(const char *pipeline, const char *step, const char *status,
                     double seconds)
{
    char *lc = labels2("pipeline", pipeline, "step", step, "status", status);
    char *lh = labels2("pipeline", pipeline, "step", step, NULL, NULL);
    pthread_mutex_lock(&lock);
    series_t *s = lc ? series(&items_total, lc) : NULL;
    if (s) {
        s->value++;
    }
    s = lh ? series(&item_dur, lh) : NULL;
    if (s) {
        observe(s, seconds);
    }
    pthread_mutex_unlock(&lock);
    free(lc);
    free(lh);
}

static void write_family(sl_buf_t *b, const family_t *f)
{
    sl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
    bool hist = strcmp(f->type, "histogram") == 0;
    for (size_t i = 0; i < f->n; i++) {
        const series_t *s = &f->s[i];
        if (!hist) {
            sl_buf_printf(b, "%s{%s} ", f->name, s->labels);
            sl_fmt_double(b, s->value);
            sl_buf_putc(b, '\n');
            continue;
        }
        uint64_t cum = 0;
        for (size_t k = 0; k <= NB; k++) {
            cum += s->buckets[k];
            if (k < NB) {
                sl_buf_printf(b, "%s_bucket{%s,le=\"", f->name, s->labels);
                sl_fmt_double(b, bounds[k]);
                sl_buf_printf(b, "\"} %llu\n", (unsigned long long)cum);
            } else {
                sl_buf_printf(b, "%s_bucket{%s,le=\"+Inf\"} %llu\n", f->name, s->labels,
                              (unsigned long long)cum);
            }
        }
        sl_buf_printf(b, "%s_sum{%s} ", f->name, s->labels);
        sl_fmt_double(b, s->sum);
        sl_buf_printf(b, "\n%s_count{%s} %llu\n", f->name, s->labels,
                      (unsigned long long)s->count);
    }
}

static double sched_lag = -1;

void sl_metrics_scheduler_lag(double seconds)
{
    pthread_mutex_lock(&lock);
    sched_lag = seconds;
    pthread_mutex_unlock(&lock);
}

void sl_metrics_write(sl_buf_t *b, int64_t queued, int64_t running)
{
    pthread_mutex_lock(&lock);
    if (sched_lag >= 0) {
        sl_buf_append_c(b, "# HELP sluice_scheduler_lag_seconds how late the last scheduled "
                           "tick was queued\n# TYPE sluice_scheduler_lag_seconds gauge\n"
                           "sluice_scheduler_lag_seconds ");
        sl_fmt_double(b, sched_lag);
        sl_buf_putc(b, '\n');
    }
    write_family(b, &http_total);
    write_family(b, &http_dur);
    write_family(b, &runs_total);
    write_family(b, &step_dur);
    write_family(b, &records);
    write_family(b, &items_total);
    write_family(b, &item_dur);
    pthread_mutex_unlock(&lock);
    sl_buf_printf(b, "# HELP sluice_runs_queued runs waiting in the state store\n"
                     "# TYPE sluice_runs_queued gauge\nsluice_runs_queued %lld\n"
                     "# HELP sluice_runs_running runs of this server's worker now\n"
                     "# TYPE sluice_runs_running gauge\nsluice_runs_running %lld\n",
                  (long long)queued, (long long)running);
}
