/* The `file` source: JSON Lines, CSV and JSON-array files, plain or gzip,
 * from paths or globs, local or in S3 (s3://bucket/prefix/ then a glob: the
 * literal prefix before the first glob character is listed, the rest
 * matched with fnmatch, objects read through sl_objreader).
 *
 * Files are read in order (sorted per pattern) in chunks that live in the
 * batch arena, so records borrow their strings from the input without
 * copying. A batch never spans two files. Each batch carries a checkpoint
 * {"path","offset","line","records","size","mtime_us","done"} that lets a
 * rerun resume inside a file (seeking plain files, re-reading gzip and
 * JSON arrays); completed files are recorded in the state store with their
 * size, mtime and content hash (an S3 object's ETag), and skipped on later
 * runs unless their content changed. Malformed records go to the step's rejects with file,
 * line and reason. */
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sluice/connection.h"
#include "sluice/csv.h"
#include "sluice/input.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/objstore.h"
#include "sluice/plugin.h"
#include "sluice/state.h"
#include "sluice/template.h"
#include "sluice/timeutil.h"

/* Bytes read at a time. A batch takes as many chunks as its records need;
 * small enough to stay in cache between read() and parsing. */
#define CHUNK (256u << 10)

/* A chunk of input, shared by the batches whose records borrow from it: a
 * batch that fills up in the middle of a chunk leaves the rest to the next
 * batch in place. Each batch holds a reference until its arena is reset
 * (in whichever thread runs it), the source one while it reads on. Only
 * the start of a record cut by a chunk's end is copied, to the next. */
typedef struct {
    atomic_uint refs;
    size_t cap, len;
    char data[];
} chunk_t;

static chunk_t *chunk_new(size_t cap)
{
    chunk_t *c = malloc(sizeof *c + cap);
    if (c) {
        atomic_init(&c->refs, 1);
        c->cap = cap;
        c->len = 0;
    }
    return c;
}

static void chunk_unref(void *p)
{
    chunk_t *c = p;
    if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
        free(c);
    }
}

/* Makes batch b keep c alive while its records may point into it. */
static int chunk_lend(chunk_t *c, sl_batch_t *b)
{
    atomic_fetch_add(&c->refs, 1);
    if (sl_arena_cleanup_add(b->arena, chunk_unref, c) != 0) {
        chunk_unref(c);
        return SL_ENOMEM;
    }
    return 0;
}

typedef enum { FMT_JSONL, FMT_CSV, FMT_JSON } fmt_t;

static const char *const formats[] = {"jsonl", "csv", "json", "ndjson", "tsv", NULL};

/* Longest record by default: lines this long are bugs more often than data. */
#define DEFAULT_MAX_RECORD (64 << 20)

static const sl_field_spec_t file_source_config[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .doc = "file"},
    {.name = "url", .type = SL_FIELD_STRING_LIST, .required = true, .min_len = 1,
     .doc = "path, glob or list of them; relative to the pipeline file (or to the connection's "
            "url); s3://bucket/prefix/*.jsonl for S3"},
    {.name = "connection", .type = SL_FIELD_STRING, .min_len = 1,
     .doc = "name of an entry in the pipeline's connections (s3://: url, endpoint, region, "
            "access_key, secret_key, session_token, path_style)"},
    {.name = "format", .type = SL_FIELD_STRING, .choices = formats,
     .doc = "jsonl (ndjson), csv, tsv or json", .def = "by extension"},
    {.name = "delimiter", .type = SL_FIELD_STRING,
     .doc = "CSV field delimiter: one character, \\t or tab", .def = "',' (tab for .tsv)"},
    {.name = "header", .type = SL_FIELD_BOOL, .doc = "CSV: first record holds the column names",
     .def = "true"},
    {.name = "columns", .type = SL_FIELD_STRING_LIST, .min_len = 1,
     .doc = "CSV: column names (instead of the header's)"},
    {.name = "infer_types", .type = SL_FIELD_BOOL, .doc = "CSV: numbers and booleans typed",
     .def = "true"},
    {.name = "max_record_bytes", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1),
     .doc = "longest accepted record; a longer one fails the step", .def = "67108864 (64 MiB)"},
    {.name = "range", .type = SL_FIELD_STRING,
     .doc = "read only a chunk of one CSV or JSON Lines file: {offset, length, first_line} "
            "as JSON, e.g. \"{{ item }}\" in a map over chunks"},
    {.name = NULL},
};

/* An input object of an object store, as its listing described it. */
typedef struct {
    sl_objstore_t *store; /* borrowed from file_src_t.stores */
    char *key;
    int64_t size, mtime_us;
    char *etag;
} obj_t;

typedef struct {
    char *path;
    uint64_t offset, line, records;
    int64_t size, mtime_us;
    bool done;
    bool valid;
    char hash[33]; /* content hash of a done file, or "" */
} pos_t;

typedef struct {
    sl_step_ctx_t *ctx;
    int fmt_default; /* -1: by extension */
    sl_csv_opts_t csv;  /* of the current file */
    char delim_cfg;     /* configured delimiter (or tab for format tsv); 0: by file */
    bool header, infer;
    const char **columns; /* configured names, or NULL */
    size_t ncolumns;
    uint64_t max_record;

    char **files; /* canonical local paths, or s3:// URLs */
    obj_t **objs; /* per file: the object, NULL for local files */
    size_t nfiles, next_file;
    pos_t resume;
    /* object stores (connection settings from `connection:` or the AWS
     * environment) */
    sl_s3_opts_t s3opts;
    const char *conn_url;
    sl_objstore_t **stores;
    size_t nstores;

    /* current file */
    sl_input_t *in;
    const char *path; /* step arena */
    fmt_t fmt;
    int64_t cur_size, cur_mtime_us;
    const obj_t *cur_obj;
    uint64_t offset;  /* decoded bytes consumed through complete records */
    uint64_t line;    /* lines consumed */
    uint64_t records; /* records produced from this file */
    uint64_t skip_records; /* JSON arrays: records to skip when resuming */
    bool eof;
    chunk_t *chunk; /* being parsed, from chunk_pos on */
    size_t chunk_pos;
    /* CSV header of the current file */
    sl_str_t *hdr;
    size_t nhdr;
    bool need_header;
    sl_json_array_splitter_t split;
    sl_err_t err;
    /* range: only bytes [range_off, range_end) of the file, its first
     * record on line range_line */
    bool has_range;
    uint64_t range_off, range_end, range_line;
    uint64_t in_pos;    /* bytes read from the current input */
    uint64_t limit;     /* stop reading at this input position, when limited */
    bool limited;
} file_src_t;

static bool has_glob(const char *s)
{
    return strpbrk(s, "*?[{") != NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void obj_free(obj_t *o)
{
    if (o) {
        free(o->key);
        free(o->etag);
        free(o);
    }
}

/* Appends name (taken) with its object (taken, may be NULL) unless the
 * name is already listed. */
static int add_entry(file_src_t *s, char *name, obj_t *o)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        if (strcmp(s->files[i], name) == 0) {
            free(name);
            obj_free(o);
            return 0;
        }
    }
    char **grown = realloc(s->files, (s->nfiles + 1) * sizeof *grown);
    if (grown) {
        s->files = grown;
    }
    obj_t **ogrown = grown ? realloc(s->objs, (s->nfiles + 1) * sizeof *ogrown) : NULL;
    if (!ogrown) {
        free(name);
        obj_free(o);
        return SL_ENOMEM;
    }
    s->objs = ogrown;
    s->files[s->nfiles] = name;
    s->objs[s->nfiles] = o;
    s->nfiles++;
    return 0;
}

/* Adds a file under its canonical path, so that the same file reached as
 * "sub/a.jsonl", "./sub/a.jsonl" or through a link is one ingested file. */
static int add_file(file_src_t *s, const char *path)
{
    char *canon = realpath(path, NULL);
    if (!canon) {
        canon = strdup(path);
        if (!canon) {
            return SL_ENOMEM;
        }
    }
    return add_entry(s, canon, NULL);
}

/* Adds an object under its URL "s3://bucket/key". */
static int add_object(file_src_t *s, sl_objstore_t *st, const sl_obj_info_t *info)
{
    const char *where = sl_objstore_where(st);
    size_t n = strlen(where) + strlen(info->key) + 2;
    char *url = malloc(n);
    obj_t *o = calloc(1, sizeof *o);
    if (!url || !o) {
        free(url);
        free(o);
        return SL_ENOMEM;
    }
    snprintf(url, n, "%s/%s", where, info->key);
    o->store = st;
    o->key = strdup(info->key);
    o->etag = info->etag ? strdup(info->etag) : NULL;
    o->size = info->size;
    o->mtime_us = info->mtime_us;
    if (!o->key || (info->etag && !o->etag)) {
        free(url);
        obj_free(o);
        return SL_ENOMEM;
    }
    return add_entry(s, url, o);
}

/* Renders "{{ params.x }}" / "{{ run.id }}" in a location (no record). */
static int render_location(sl_step_ctx_t *ctx, const sl_node_t *node, const char *url,
                           const char **out)
{
    sl_err_t terr;
    int rc = sl_render_once(ctx, url, out, &terr);
    if (rc == SL_EINVAL) {
        return sl_node_error(&ctx->err, node,
                             "url: a source location cannot use record (only params, run, env)");
    }
    if (rc == SL_ECONFIG) {
        return sl_node_error(&ctx->err, node, "url: %s", terr.msg);
    }
    return rc;
}

typedef struct {
    file_src_t *s;
    sl_objstore_t *st;
    const char *pattern;
    int rc;
    size_t matched;
} match_t;

static int match_object(void *ud, const sl_obj_info_t *info)
{
    match_t *m = ud;
    /* FNM_PATHNAME: '*' stays within one level, as for local globs. */
    if (fnmatch(m->pattern, info->key, FNM_PATHNAME) == 0) {
        m->rc = add_object(m->s, m->st, info);
        m->matched++;
    }
    return m->rc;
}

/* Expands an s3:// url: one object, or the objects under the literal
 * prefix of a glob that match it, in key order. */
static int expand_object_url(file_src_t *s, const sl_node_t *node, const char *url)
{
    sl_step_ctx_t *ctx = s->ctx;
    sl_objstore_t *st;
    char *pattern = NULL;
    sl_err_t err;
    int rc = sl_objstore_open(url, &s->s3opts, &st, &pattern, &err);
    if (rc) {
        return sl_node_error(&ctx->err, node, "source 'file': %s", err.msg);
    }
    sl_objstore_t **grown = realloc(s->stores, (s->nstores + 1) * sizeof *grown);
    if (!grown) {
        sl_objstore_close(st);
        free(pattern);
        return SL_ENOMEM;
    }
    s->stores = grown;
    s->stores[s->nstores++] = st;
    if (!has_glob(pattern)) {
        if (!*pattern || pattern[strlen(pattern) - 1] == '/') {
            rc = sl_node_error(&ctx->err, node,
                               "source 'file': %s is a prefix, not an object; use a glob like "
                               "'%s%s*.jsonl'",
                               url, url, *pattern ? "" : "/");
        } else {
            sl_obj_info_t info;
            rc = sl_objstore_head(st, pattern, &info, &err);
            if (rc) {
                rc = sl_node_error(&ctx->err, node, "source 'file': cannot read %s", err.msg);
            } else {
                rc = add_object(s, st, &info);
            }
        }
        free(pattern);
        return rc;
    }
    size_t lit = strcspn(pattern, "*?[{");
    char *prefix = strndup(pattern, lit);
    if (!prefix) {
        free(pattern);
        return SL_ENOMEM;
    }
    match_t m = {.s = s, .st = st, .pattern = pattern};
    rc = sl_objstore_list(st, prefix, match_object, &m, &err);
    if (rc) {
        rc = sl_node_error(&ctx->err, node, "source 'file': cannot list %s", err.msg);
    } else if (m.rc) {
        rc = m.rc;
    } else if (m.matched == 0) {
        sl_warn("step %s: no input objects match %s", ctx->step->name, url);
    }
    free(prefix);
    free(pattern);
    return rc;
}

/* Expands one url (path or glob) into files, sorted within the pattern. */
static int expand(file_src_t *s, const sl_node_t *node, const char *url)
{
    sl_step_ctx_t *ctx = s->ctx;
    int trc = render_location(ctx, node, url, &url);
    if (trc) {
        return trc;
    }
    if (s->conn_url && !strstr(url, "://")) {
        /* Relative to the connection's url (s3://bucket/base). */
        size_t n = strlen(s->conn_url);
        bool slash = n > 0 && s->conn_url[n - 1] == '/';
        url = sl_arena_sprintf(ctx->arena, "%s%s%s", s->conn_url, slash ? "" : "/",
                               url[0] == '/' ? url + 1 : url);
        if (!url) {
            return SL_ENOMEM;
        }
    }
    if (strncmp(url, "s3://", 5) == 0) {
        return expand_object_url(s, node, url);
    }
    if (strstr(url, "://") != NULL && strncmp(url, "file://", 7) != 0) {
        return sl_node_error(&ctx->err, node,
                             "source 'file': url '%s': only local paths, file:// and s3:// "
                             "are supported",
                             url);
    }
    const char *path = sl_resolve_path(ctx->arena, ctx->base_dir, url);
    if (!path) {
        return SL_ENOMEM;
    }
    if (!has_glob(path)) {
        struct stat st;
        if (stat(path, &st) != 0) {
            return sl_node_error(&ctx->err, node, "source 'file': cannot read %s: %s", path,
                                 strerror(errno));
        }
        if (S_ISDIR(st.st_mode)) {
            return sl_node_error(&ctx->err, node,
                                 "source 'file': %s is a folder; use a glob like '%s/*.jsonl'",
                                 path, path);
        }
        return add_file(s, path);
    }
    glob_t g;
    int grc = glob(path, GLOB_BRACE, NULL, &g);
    if (grc == GLOB_NOMATCH) {
        sl_warn("step %s: no input files match %s", ctx->step->name, path);
        return 0;
    }
    if (grc != 0) {
        globfree(&g);
        return sl_node_error(&ctx->err, node, "source 'file': cannot expand %s", path);
    }
    size_t first = s->nfiles;
    int rc = 0;
    for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
        struct stat st;
        if (stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode)) {
            rc = add_file(s, g.gl_pathv[i]);
        }
    }
    globfree(&g);
    qsort(s->files + first, s->nfiles - first, sizeof *s->files, cmp_str);
    return rc;
}

static int fmt_from_name(const char *name, fmt_t *out)
{
    if (strcmp(name, "jsonl") == 0 || strcmp(name, "ndjson") == 0) {
        *out = FMT_JSONL;
    } else if (strcmp(name, "csv") == 0 || strcmp(name, "tsv") == 0) {
        *out = FMT_CSV;
    } else if (strcmp(name, "json") == 0) {
        *out = FMT_JSON;
    } else {
        return SL_EINVAL;
    }
    return 0;
}

static fmt_t fmt_from_path(const char *path, char *delim)
{
    size_t n = strlen(path);
    if (n > 3 && strcmp(path + n - 3, ".gz") == 0) {
        n -= 3;
    }
    const char *dot = NULL;
    for (size_t i = n; i-- > 0;) {
        if (path[i] == '.') {
            dot = path + i;
            break;
        }
        if (path[i] == '/') {
            break;
        }
    }
    size_t elen = dot ? (size_t)(path + n - dot) : 0;
    if (dot && elen == 4 && strncmp(dot, ".csv", 4) == 0) {
        return FMT_CSV;
    }
    if (dot && elen == 4 && strncmp(dot, ".tsv", 4) == 0) {
        *delim = '\t';
        return FMT_CSV;
    }
    if (dot && elen == 5 && strncmp(dot, ".json", 5) == 0) {
        return FMT_JSON;
    }
    return FMT_JSONL;
}

/* Reads the resume checkpoint left by an earlier run. */
static void parse_resume(file_src_t *s, const char *text)
{
    sl_arena_t *a = sl_arena_create(4096, 0);
    sl_value_t v;
    sl_json_error_t jerr;
    if (a && sl_json_parse(a, text, strlen(text), NULL, &v, &jerr) == 0) {
        sl_value_t *p = sl_object_get_c(&v, "path");
        sl_value_t *off = sl_object_get_c(&v, "offset");
        sl_value_t *line = sl_object_get_c(&v, "line");
        sl_value_t *recs = sl_object_get_c(&v, "records");
        sl_value_t *size = sl_object_get_c(&v, "size");
        sl_value_t *mt = sl_object_get_c(&v, "mtime_us");
        sl_value_t *done = sl_object_get_c(&v, "done");
        sl_value_t *hash = sl_object_get_c(&v, "hash");
        if (hash && hash->type == SL_T_STRING && hash->len < sizeof s->resume.hash) {
            memcpy(s->resume.hash, hash->u.s, hash->len);
            s->resume.hash[hash->len] = '\0';
        }
        if (p && p->type == SL_T_STRING && off && off->type == SL_T_INT && line &&
            line->type == SL_T_INT && recs && recs->type == SL_T_INT && size &&
            size->type == SL_T_INT && mt && mt->type == SL_T_INT && done &&
            done->type == SL_T_BOOL) {
            s->resume.path = strndup(p->u.s, p->len);
            s->resume.offset = (uint64_t)off->u.i;
            s->resume.line = (uint64_t)line->u.i;
            s->resume.records = (uint64_t)recs->u.i;
            s->resume.size = size->u.i;
            s->resume.mtime_us = mt->u.i;
            s->resume.done = done->u.i != 0;
            s->resume.valid = s->resume.path != NULL;
        }
    }
    if (!s->resume.valid) {
        sl_warn("step %s: ignoring an unreadable checkpoint", s->ctx->step->name);
    }
    sl_arena_destroy(a);
}


/* Rules between keys, without I/O: for `sluice validate`, and run first by
 * open(). */
static int file_check(const sl_node_t *cfg, sl_err_t *err)
{
    char delim;
    int rc = sl_cfg_delimiter(cfg, "source 'file'", &delim, err);
    if (!rc) {
        rc = sl_cfg_distinct(cfg, "columns", "source 'file'", err);
    }
    const char *fmt = NULL;
    if (!rc) {
        rc = sl_cfg_str(cfg, "format", NULL, &fmt, err);
    }
    /* CSV-only keys with a format that is not CSV would be ignored. */
    static const char *const csv_keys[] = {"delimiter", "header", "columns", "infer_types"};
    bool csv = !fmt || strcmp(fmt, "csv") == 0 || strcmp(fmt, "tsv") == 0;
    for (size_t i = 0; !rc && !csv && i < SL_ARRAY_LEN(csv_keys); i++) {
        const sl_node_t *k = sl_node_get(cfg, csv_keys[i]);
        if (k) {
            rc = sl_node_error(err, k, "source 'file': %s applies to CSV, not format %s",
                               csv_keys[i], fmt);
        }
    }
    return rc;
}

/* range: "{offset, length, first_line}" as JSON (a map's chunk item). */
static int parse_range(file_src_t *s, const sl_node_t *n)
{
    if (!n) {
        return 0;
    }
    sl_step_ctx_t *ctx = s->ctx;
    const char *text;
    sl_err_t terr;
    int rc = sl_render_once(ctx, n->text, &text, &terr);
    if (rc) {
        return sl_node_error(&ctx->err, n, "source 'file': range: %s",
                             rc == SL_EINVAL ? "record is not available here" : terr.msg);
    }
    sl_value_t v;
    sl_json_error_t je;
    const sl_value_t *off = NULL, *len = NULL, *line = NULL;
    if (sl_json_parse(ctx->arena, text, strlen(text), NULL, &v, &je) == 0 &&
        v.type == SL_T_OBJECT) {
        off = sl_object_get_c(&v, "offset");
        len = sl_object_get_c(&v, "length");
        line = sl_object_get_c(&v, "first_line");
    }
    if (!off || !len || off->type != SL_T_INT || len->type != SL_T_INT || off->u.i < 0 ||
        len->u.i < 0 || (line && (line->type != SL_T_INT || line->u.i < 1))) {
        return sl_node_error(&ctx->err, n, "source 'file': range: expected {\"offset\": N, "
                             "\"length\": N, \"first_line\": N} (a chunk item), got '%.100s'",
                             text);
    }
    if (s->nfiles != 1) {
        return sl_node_error(&ctx->err, n, "source 'file': range: the url must name one file, "
                             "it names %zu", s->nfiles);
    }
    s->has_range = true;
    s->range_off = (uint64_t)off->u.i;
    s->range_end = s->range_off + (uint64_t)len->u.i;
    s->range_line = line ? (uint64_t)line->u.i : 0;
    return 0;
}

static int file_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    file_src_t *s = calloc(1, sizeof *s);
    if (!s) {
        return SL_ENOMEM;
    }
    *self = s;
    s->ctx = ctx;
    s->s3opts.path_style = -1;
    s->fmt_default = -1;
    s->csv.delimiter = ',';
    s->csv.quote = '"';
    const char *fmt = NULL;
    char delim = 0;
    int64_t maxrec = DEFAULT_MAX_RECORD;
    int rc = file_check(cfg, &ctx->err);
    if (!rc) {
        rc = sl_cfg_str(cfg, "format", NULL, &fmt, &ctx->err);
    }
    if (!rc) {
        rc = sl_cfg_delimiter(cfg, "source 'file'", &delim, &ctx->err);
    }
    if (!rc) {
        rc = sl_cfg_bool(cfg, "header", true, &s->header, &ctx->err);
    }
    if (!rc) {
        rc = sl_cfg_bool(cfg, "infer_types", true, &s->infer, &ctx->err);
    }
    if (!rc) {
        rc = sl_cfg_int(cfg, "max_record_bytes", maxrec, &maxrec, &ctx->err);
    }
    if (rc) {
        return rc;
    }
    s->max_record = maxrec > 0 ? (uint64_t)maxrec : (uint64_t)DEFAULT_MAX_RECORD;
    if (fmt) {
        fmt_t f = FMT_JSONL;
        fmt_from_name(fmt, &f);
        s->fmt_default = (int)f;
        if (strcmp(fmt, "tsv") == 0) {
            s->delim_cfg = '\t';
        }
    }
    if (delim) {
        s->delim_cfg = delim; /* wins over format: tsv */
    }
    const sl_node_t *cols = sl_node_get(cfg, "columns");
    if (cols) {
        size_t n = cols->kind == SL_NODE_SEQ ? cols->n : 1;
        s->columns = sl_arena_alloc(ctx->arena, n * sizeof *s->columns);
        if (!s->columns) {
            return SL_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            s->columns[i] = cols->kind == SL_NODE_SEQ ? cols->items[i]->text : cols->text;
        }
        s->ncolumns = n;
    }
    rc = sl_connection_s3(ctx, cfg, "source 'file'", &s->s3opts, &s->conn_url);
    if (rc) {
        return rc;
    }
    const sl_node_t *url = sl_node_get(cfg, "url");
    if (url->kind == SL_NODE_SEQ) {
        for (size_t i = 0; i < url->n && rc == 0; i++) {
            rc = expand(s, url->items[i], url->items[i]->text);
        }
    } else {
        rc = expand(s, url, url->text);
    }
    if (rc) {
        return rc;
    }
    rc = parse_range(s, sl_node_get(cfg, "range"));
    if (rc) {
        return rc;
    }
    if (ctx->resume && !ctx->full_refresh) {
        parse_resume(s, ctx->resume);
    }
    sl_debug("step %s: %zu input file(s)", ctx->step->name, s->nfiles);
    return 0;
}

/* Hashes a whole file (to tell a touched file from a changed one). */
static int hash_file(file_src_t *s, const char *path, char hex[33])
{
    sl_input_t *in;
    int rc = sl_input_open(path, &in, &s->ctx->err);
    if (rc) {
        return rc;
    }
    char *buf = malloc(1 << 20);
    if (!buf) {
        sl_input_close(in);
        return SL_ENOMEM;
    }
    ssize_t r;
    while ((r = sl_input_read(in, buf, 1 << 20, &s->ctx->err)) > 0) {
    }
    free(buf);
    if (r < 0) {
        sl_input_close(in);
        return (int)r;
    }
    sl_input_hash(in, hex);
    sl_input_close(in);
    return 0;
}

static int64_t mtime_us(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000 + st->st_mtim.tv_nsec / 1000;
}

static int record_file(file_src_t *s, const char *path, int64_t size, int64_t mtime,
                       const char *hash, int64_t records)
{
    sl_file_record_t fr = {.path = path,
                           .size = size,
                           .mtime_us = mtime,
                           .hash = hash,
                           .records = records,
                           .run_id = s->ctx->run_id,
                           .ingested_us = sl_now_us()};
    int rc = sl_state_file_put(s->ctx->state, s->ctx->pipeline->name, sl_ctx_unit(s->ctx), &fr);
    if (rc) {
        return sl_err_set(&s->ctx->err, rc, "state store: %s",
                          sl_state_errmsg(s->ctx->state));
    }
    return 0;
}

/* Decides whether path was already ingested: same size and mtime, or same
 * content hash after a touch (for objects: the same ETag). */
static int already_ingested(file_src_t *s, const char *path, int64_t size, int64_t mtime,
                            const obj_t *o, bool *done)
{
    *done = false;
    if (s->ctx->full_refresh) {
        return 0;
    }
    sl_step_ctx_t *ctx = s->ctx;
    sl_file_record_t fr;
    int rc = sl_state_file_get(ctx->state, ctx->pipeline->name, sl_ctx_unit(ctx), path, &fr);
    if (rc == SL_ENOTFOUND) {
        return 0;
    }
    if (rc) {
        return sl_err_set(&ctx->err, rc, "state store: %s", sl_state_errmsg(ctx->state));
    }
    if (fr.size == size && fr.mtime_us == mtime) {
        *done = true;
    } else if (o) {
        if (o->etag && fr.hash && strcmp(o->etag, fr.hash) == 0) {
            *done = true;
            rc = record_file(s, path, size, mtime, o->etag, fr.records);
        } else {
            sl_info("step %s: %s changed since it was ingested; reading it again",
                    ctx->step->name, path);
        }
    } else {
        char hex[33];
        rc = hash_file(s, path, hex);
        if (rc == 0 && fr.hash && strcmp(hex, fr.hash) == 0) {
            *done = true;
            rc = record_file(s, path, size, mtime, hex, fr.records);
        } else if (rc == 0) {
            sl_info("step %s: %s changed since it was ingested; reading it again",
                    ctx->step->name, path);
        }
    }
    sl_file_record_free(&fr);
    return rc;
}

static int read_header_only(file_src_t *s);

static ssize_t obj_read(void *ud, void *buf, size_t n, sl_err_t *err)
{
    return sl_objreader_read(ud, buf, n, err);
}

static void obj_close(void *ud)
{
    sl_objreader_free(ud);
}

/* Opens s->in on a local file, or on an object through a reader. */
static int open_input(file_src_t *s, const char *path, const obj_t *o)
{
    s->in_pos = 0;
    s->limited = false;
    if (!o) {
        return sl_input_open(path, &s->in, &s->ctx->err);
    }
    sl_objreader_t *r;
    int rc = sl_objreader_open(o->store, o->key, &r, &s->ctx->err);
    if (rc) {
        return rc;
    }
    return sl_input_open_reader(path, obj_read, obj_close, r, &s->in, &s->ctx->err);
}

static void close_current(file_src_t *s)
{
    sl_input_close(s->in);
    s->in = NULL;
    chunk_unref(s->chunk);
    s->chunk = NULL;
}

/* Opens the next file that still needs reading. Returns SL_EOF when none. */
static int read_header_only(file_src_t *s);

/* A range: the CSV header from the file's start, then the range's bytes
 * (from resume_at, a checkpoint inside the range, when there is one). */
static int enter_range(file_src_t *s, uint64_t resume_at)
{
    if (s->fmt == FMT_JSON) {
        return sl_err_set(&s->ctx->err, SL_ECONFIG, "source 'file': range: %s is a JSON "
                          "document; ranges cut CSV and JSON Lines files", s->path);
    }
    int rc = s->need_header ? read_header_only(s) : 0;
    uint64_t from = s->range_off, line = s->range_line ? s->range_line - 1 : 0;
    if (resume_at > from && resume_at < s->range_end) {
        from = resume_at;
        line = s->resume.line;
        s->records = s->resume.records;
    }
    if (rc == 0) {
        rc = sl_input_skip(s->in, from, &s->ctx->err);
    }
    if (rc == 0) {
        s->in_pos = from;
        s->limit = s->range_end > from ? s->range_end : from;
        s->limited = true;
        s->offset = from;
        s->line = line;
        sl_debug("step %s: %s bytes %llu to %llu", s->ctx->step->name, s->path,
                 (unsigned long long)from, (unsigned long long)s->range_end);
    }
    return rc;
}

static int open_next(file_src_t *s)
{
    sl_step_ctx_t *ctx = s->ctx;
    while (s->next_file < s->nfiles) {
        const obj_t *o = s->objs[s->next_file];
        const char *path = s->files[s->next_file++];
        int64_t size, mtime;
        if (o) {
            size = o->size;
            mtime = o->mtime_us;
        } else {
            struct stat st;
            if (stat(path, &st) != 0) {
                return sl_err_set(&ctx->err, SL_EIO, "cannot read %s: %s", path,
                                  strerror(errno));
            }
            size = (int64_t)st.st_size;
            mtime = mtime_us(&st);
        }
        bool same_as_resume = s->resume.valid && strcmp(path, s->resume.path) == 0 &&
                              s->resume.size == size && s->resume.mtime_us == mtime;
        if (!same_as_resume && !o && s->resume.valid && s->resume.done && s->resume.hash[0] &&
            strcmp(path, s->resume.path) == 0 && s->resume.size == size) {
            /* written again with the same bytes (an upstream step that ran
             * again): the same file, as for ingested files */
            char hex[33] = "";
            int hrc = hash_file(s, path, hex);
            if (hrc) {
                return hrc;
            }
            same_as_resume = strcmp(hex, s->resume.hash) == 0;
        }
        if (same_as_resume && s->resume.done) {
            /* Completed by the sink but not yet recorded here (killed in
             * between): record it now. */
            bool done;
            int rc = already_ingested(s, path, size, mtime, o, &done);
            if (rc) {
                return rc;
            }
            if (!done) {
                char hex[33] = "";
                rc = o ? 0 : hash_file(s, path, hex);
                if (!rc) {
                    rc = record_file(s, path, size, mtime, o && o->etag ? o->etag : hex,
                                     (int64_t)s->resume.records);
                }
                if (rc) {
                    return rc;
                }
            }
            continue;
        }
        bool done;
        int rc = already_ingested(s, path, size, mtime, o, &done);
        if (rc) {
            return rc;
        }
        if (done) {
            sl_debug("step %s: skipping %s (already ingested)", ctx->step->name, path);
            continue;
        }
        rc = open_input(s, path, o);
        if (rc) {
            return rc;
        }
        s->path = sl_arena_strdup(ctx->arena, path);
        s->cur_size = size;
        s->cur_mtime_us = mtime;
        s->cur_obj = o;
        s->offset = s->line = s->records = s->skip_records = 0;
        s->eof = false;
        /* The delimiter is decided per file: configured, else tab for a
         * .tsv name, else comma. */
        char delim = ',';
        fmt_t by_name = fmt_from_path(path, &delim);
        s->fmt = s->fmt_default >= 0 ? (fmt_t)s->fmt_default : by_name;
        s->csv.delimiter = s->delim_cfg ? s->delim_cfg : delim;
        s->need_header = s->fmt == FMT_CSV && s->header;
        s->hdr = NULL;
        s->nhdr = 0;
        if (s->fmt == FMT_CSV && s->columns) {
            s->hdr = sl_arena_alloc(ctx->arena, s->ncolumns * sizeof *s->hdr);
            if (!s->hdr) {
                return SL_ENOMEM;
            }
            for (size_t i = 0; i < s->ncolumns; i++) {
                s->hdr[i] = sl_str_c(s->columns[i]);
            }
            s->nhdr = s->ncolumns;
        }
        sl_json_array_splitter_init(&s->split);
        if (s->has_range) {
            rc = enter_range(s, same_as_resume ? s->resume.offset : 0);
            if (rc) {
                return rc;
            }
        } else if (same_as_resume && s->resume.offset > 0) {
            /* Resume inside the file. JSON arrays re-scan and skip records;
             * CSV re-reads its header first. */
            if (s->fmt == FMT_JSON) {
                s->skip_records = s->resume.records;
            } else {
                if (s->need_header) {
                    rc = read_header_only(s);
                    if (rc) {
                        return rc;
                    }
                }
                rc = sl_input_skip(s->in, s->resume.offset, &ctx->err);
                if (rc) {
                    return rc;
                }
                s->offset = s->resume.offset;
                s->line = s->resume.line;
                s->records = s->resume.records;
            }
            sl_info("step %s: resuming %s at line %llu", ctx->step->name, path,
                    (unsigned long long)s->resume.line + 1);
        }
        sl_debug("step %s: reading %s", ctx->step->name, path);
        return 0;
    }
    return SL_EOF;
}

static int parse_csv(file_src_t *s, sl_batch_t *b, char *buf, size_t len, size_t *pos,
                     size_t max);
static int fill(file_src_t *s, char *buf, size_t cap, size_t *len);

/* CSV resume: reads the header record, then reopens the file so the caller
 * can skip to the checkpoint's offset. */
static int read_header_only(file_src_t *s)
{
    sl_arena_t *a = sl_arena_create(CHUNK, 0);
    if (!a) {
        return SL_ENOMEM;
    }
    sl_batch_t tmp = {0};
    tmp.arena = a;
    size_t cap = CHUNK, len = 0, pos = 0;
    char *buf = sl_arena_alloc(a, cap);
    int rc = buf ? 0 : SL_ENOMEM;
    while (rc == 0 && s->need_header) {
        rc = fill(s, buf, cap, &len);
        if (rc == 0) {
            rc = parse_csv(s, &tmp, buf, len, &pos, 0);
        }
        if (rc == 0 && s->need_header) {
            if (s->eof || len - pos >= s->max_record) {
                rc = sl_err_set(&s->ctx->err, SL_EPARSE, "%s: cannot read the CSV header",
                                s->path);
                break;
            }
            char *nbuf = sl_arena_alloc(a, cap * 2);
            if (!nbuf) {
                rc = SL_ENOMEM;
                break;
            }
            memcpy(nbuf, buf + pos, len - pos);
            len -= pos;
            pos = 0;
            buf = nbuf;
            cap *= 2;
        }
    }
    sl_arena_destroy(a);
    if (rc == 0) {
        sl_input_close(s->in);
        s->in = NULL;
        s->eof = false;
        rc = open_input(s, s->path, s->cur_obj);
    }
    return rc;
}

static char *make_checkpoint(file_src_t *s, sl_arena_t *a, bool done)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_c(&b, "{\"path\":");
    sl_json_write_string(&b, s->path, strlen(s->path));
    sl_buf_printf(&b,
                  ",\"offset\":%llu,\"line\":%llu,\"records\":%llu,\"size\":%lld,"
                  "\"mtime_us\":%lld,\"done\":%s",
                  (unsigned long long)s->offset, (unsigned long long)s->line,
                  (unsigned long long)s->records, (long long)s->cur_size,
                  (long long)s->cur_mtime_us, done ? "true" : "false");
    if (done && s->cur_obj && s->cur_obj->etag) {
        sl_buf_append_c(&b, ",\"hash\":");
        sl_json_write_string(&b, s->cur_obj->etag, strlen(s->cur_obj->etag));
    } else if (done) {
        char hex[33];
        sl_input_hash(s->in, hex);
        sl_buf_printf(&b, ",\"hash\":\"%s\"", hex);
    }
    sl_buf_putc(&b, '}');
    char *out = b.data ? sl_arena_strndup(a, b.data, b.len) : NULL;
    sl_buf_free(&b);
    return out;
}

/* ---- format parsers: each consumes complete records from buf[*pos..len) ---- */

static int reject_parse(file_src_t *s, uint64_t line, const char *raw, size_t n,
                        const char *reason)
{
    return sl_reject_raw(s->ctx, s->path, line, raw, n, reason);
}

static int parse_jsonl(file_src_t *s, sl_batch_t *b, char *buf, size_t len, size_t *pos,
                       size_t max)
{
    size_t p = *pos;
    int rc = 0;
    while (b->n < max && p < len) {
        char *nl = memchr(buf + p, '\n', len - p);
        if (!nl && !s->eof) {
            break; /* incomplete line */
        }
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t next = nl ? end + 1 : len;
        const char *line = buf + p;
        size_t n = end - p;
        if (n > 0 && line[n - 1] == '\r') {
            n--;
        }
        s->line++;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t')) {
            k++;
        }
        if (k < n) {
            sl_value_t v;
            sl_json_error_t jerr;
            int prc = sl_json_parse(b->arena, line, n, NULL, &v, &jerr);
            if (prc == SL_EPARSE) {
                char reason[240];
                snprintf(reason, sizeof reason, "invalid JSON at column %zu: %s",
                         jerr.offset + 1, jerr.reason);
                rc = reject_parse(s, s->line, line, n, reason);
            } else if (prc) {
                return prc;
            } else if (v.type != SL_T_OBJECT) {
                char reason[120];
                snprintf(reason, sizeof reason, "expected a JSON object, got %s",
                         sl_type_name((sl_type_t)v.type));
                rc = reject_parse(s, s->line, line, n, reason);
            } else {
                rc = sl_batch_push(b, v, s->line);
                s->records++;
            }
        }
        p = next;
        if (rc) {
            *pos = p;
            return rc;
        }
    }
    *pos = p;
    return 0;
}

static int csv_header(file_src_t *s, sl_csv_field_t *f, size_t nf)
{
    sl_arena_t *a = s->ctx->arena;
    if (s->columns) {
        /* Configured names replace the file's header line. */
        if (nf != s->ncolumns) {
            return sl_err_set(&s->ctx->err, SL_EPARSE,
                              "%s:%llu: the header has %zu columns, `columns` names %zu",
                              s->path, (unsigned long long)s->line, nf, s->ncolumns);
        }
        return 0;
    }
    s->hdr = sl_arena_alloc(a, (nf ? nf : 1) * sizeof *s->hdr);
    if (!s->hdr) {
        return SL_ENOMEM;
    }
    for (size_t i = 0; i < nf; i++) {
        char *name = sl_arena_strndup(a, f[i].text.ptr, f[i].text.len);
        if (!name) {
            return SL_ENOMEM;
        }
        for (size_t j = 0; j < i; j++) {
            if (sl_str_eq(s->hdr[j], f[i].text)) {
                return sl_err_set(&s->ctx->err, SL_EPARSE,
                                  "%s:%llu: duplicate column name '%s' in the header", s->path,
                                  (unsigned long long)s->line, name);
            }
        }
        s->hdr[i] = (sl_str_t){name, f[i].text.len};
    }
    s->nhdr = nf;
    return 0;
}

/* Rejects the raw text of a CSV record, without its line end. */
static int reject_line(file_src_t *s, uint64_t line, const char *raw, size_t n,
                       const char *reason)
{
    while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == '\r')) {
        n--;
    }
    return reject_parse(s, line, raw, n, reason);
}

static int parse_csv(file_src_t *s, sl_batch_t *b, char *buf, size_t len, size_t *pos,
                     size_t max)
{
    size_t p = *pos;
    while (s->need_header || b->n < max) {
        sl_csv_field_t *f;
        size_t nf, newlines, skipped = 0;
        sl_csv_error_t cerr;
        size_t start = p;
        int rc = sl_csv_next_ex(&s->csv, b->arena, buf, len, &p, s->eof, &f, &nf, &newlines,
                                &skipped, &cerr);
        if (rc == SL_AGAIN || rc == SL_EOF) {
            break;
        }
        /* Blank lines before the record are skipped, not records. */
        uint64_t line = s->line + skipped + 1;
        while (start < p && (buf[start] == '\n' || buf[start] == '\r')) {
            start++;
        }
        s->line += newlines ? newlines : 1;
        if (rc == SL_EPARSE) {
            char reason[240];
            snprintf(reason, sizeof reason, "invalid CSV: %s", cerr.reason);
            rc = reject_line(s, line, buf + start, p - start, reason);
            if (rc) {
                *pos = p;
                return rc;
            }
            continue;
        }
        if (rc) {
            *pos = p;
            return rc;
        }
        if (s->need_header) {
            s->need_header = false;
            rc = csv_header(s, f, nf);
            if (rc) {
                *pos = p;
                return rc;
            }
            continue;
        }
        if (!s->hdr) {
            /* No header and no columns: col1..colN from the first record. */
            s->hdr = sl_arena_alloc(s->ctx->arena, nf * sizeof *s->hdr);
            if (!s->hdr) {
                return SL_ENOMEM;
            }
            for (size_t i = 0; i < nf; i++) {
                char *name = sl_arena_sprintf(s->ctx->arena, "col%zu", i + 1);
                s->hdr[i] = sl_str_c(name);
            }
            s->nhdr = nf;
        }
        if (nf != s->nhdr) {
            char reason[160];
            snprintf(reason, sizeof reason, "record has %zu fields, the header has %zu", nf,
                     s->nhdr);
            rc = reject_line(s, line, buf + start, p - start, reason);
            if (rc) {
                *pos = p;
                return rc;
            }
            continue;
        }
        sl_value_t obj;
        obj.type = SL_T_OBJECT;
        obj.flags = 0;
        obj.reserved = 0;
        obj.len = (uint32_t)nf;
        obj.u.members = sl_arena_alloc(b->arena, (nf ? nf : 1) * sizeof(sl_member_t));
        if (!obj.u.members) {
            return SL_ENOMEM;
        }
        for (size_t i = 0; i < nf; i++) {
            sl_member_t *m = &obj.u.members[i];
            m->key = s->hdr[i].ptr;
            m->klen = (uint32_t)s->hdr[i].len;
            m->reserved = 0;
            m->val = sl_csv_field_value(&f[i], s->infer);
        }
        rc = sl_batch_push(b, obj, line);
        s->records++;
        if (rc) {
            *pos = p;
            return rc;
        }
    }
    *pos = p;
    return 0;
}

static int parse_json_array(file_src_t *s, sl_batch_t *b, char *buf, size_t len, size_t *pos,
                            size_t max)
{
    size_t p = *pos;
    while (b->n < max) {
        size_t eoff, elen;
        sl_json_error_t jerr;
        int rc = sl_json_array_next(&s->split, buf, len, &p, s->eof, &eoff, &elen, &jerr);
        if (rc == SL_AGAIN) {
            break;
        }
        if (rc == SL_EOF) {
            p = len;
            break;
        }
        if (rc == SL_EPARSE) {
            *pos = p;
            return sl_err_set(&s->ctx->err, SL_EPARSE,
                              "%s: not a JSON array of records: byte %llu: %s", s->path,
                              (unsigned long long)jerr.offset, jerr.reason);
        }
        if (rc) {
            *pos = p;
            return rc;
        }
        uint64_t recno = ++s->line; /* record number within the array */
        if (s->skip_records > 0) {
            s->skip_records--;
            s->records++;
            continue;
        }
        sl_value_t v;
        rc = sl_json_parse(b->arena, buf + eoff, elen, NULL, &v, &jerr);
        if (rc == SL_EPARSE) {
            char reason[240];
            snprintf(reason, sizeof reason, "invalid JSON in element %llu: %s",
                     (unsigned long long)recno, jerr.reason);
            rc = reject_parse(s, recno, buf + eoff, elen, reason);
        } else if (rc == 0 && v.type != SL_T_OBJECT) {
            char reason[120];
            snprintf(reason, sizeof reason, "element %llu is %s, expected an object",
                     (unsigned long long)recno, sl_type_name((sl_type_t)v.type));
            rc = reject_parse(s, recno, buf + eoff, elen, reason);
        } else if (rc == 0) {
            rc = sl_batch_push(b, v, recno);
            s->records++;
        }
        if (rc) {
            *pos = p;
            return rc;
        }
    }
    *pos = p;
    return 0;
}

/* Reads until buf is full or the file ends. */
static int fill(file_src_t *s, char *buf, size_t cap, size_t *len)
{
    while (*len < cap && !s->eof) {
        size_t want = cap - *len;
        if (s->limited) {
            if (s->in_pos >= s->limit) {
                s->eof = true; /* the end of the range */
                break;
            }
            want = (size_t)SL_MIN((uint64_t)want, s->limit - s->in_pos);
        }
        ssize_t r = sl_input_read(s->in, buf + *len, want, &s->ctx->err);
        if (r < 0) {
            return (int)r;
        }
        if (r == 0) {
            s->eof = true;
        }
        *len += (size_t)r;
        s->in_pos += (uint64_t)r;
    }
    return 0;
}

static int file_next(void *self, sl_batch_t *b, size_t max)
{
    file_src_t *s = self;
    int rc;
    if (!s->in) {
        rc = open_next(s);
        if (rc) {
            return rc;
        }
    }
    b->origin = s->path;
    if (!s->chunk) {
        s->chunk = chunk_new(CHUNK);
        s->chunk_pos = 0;
        if (!s->chunk) {
            return SL_ENOMEM;
        }
    }
    size_t consumed = 0;
    for (;;) {
        chunk_t *c = s->chunk;
        rc = fill(s, c->data, c->cap, &c->len);
        if (rc == 0) {
            rc = chunk_lend(c, b);
        }
        if (rc) {
            return rc;
        }
        size_t pos = s->chunk_pos;
        switch (s->fmt) {
        case FMT_JSONL:
            rc = parse_jsonl(s, b, c->data, c->len, &pos, max);
            break;
        case FMT_CSV:
            rc = parse_csv(s, b, c->data, c->len, &pos, max);
            break;
        case FMT_JSON:
            rc = parse_json_array(s, b, c->data, c->len, &pos, max);
            break;
        }
        s->offset += pos - s->chunk_pos;
        consumed += pos - s->chunk_pos;
        s->chunk_pos = pos;
        if (rc) {
            return rc;
        }
        bool file_done = s->eof && pos >= c->len;
        if (file_done || b->n >= max) {
            b->bytes_in = consumed;
            b->checkpoint = make_checkpoint(s, b->arena, file_done);
            if (!b->checkpoint) {
                return SL_ENOMEM;
            }
            if (file_done) {
                close_current(s);
            }
            return 0;
        }
        /* The batch wants more records and this chunk has no complete one
         * left: read on into a new chunk, taking along the start of the
         * record that did not fit. A record longer than a chunk grows the
         * next. */
        size_t rest = c->len - pos;
        if (rest >= s->max_record) {
            return sl_err_set(&s->ctx->err, SL_ELIMIT,
                              "%s:%llu: record longer than max_record_bytes (%llu)", s->path,
                              (unsigned long long)s->line + 1,
                              (unsigned long long)s->max_record);
        }
        size_t ncap = pos == 0 && rest * 2 > CHUNK ? rest * 2 : CHUNK;
        if (ncap < rest + CHUNK / 2) {
            ncap = rest + CHUNK / 2;
        }
        chunk_t *next = chunk_new(ncap);
        if (!next) {
            return SL_ENOMEM;
        }
        memcpy(next->data, c->data + pos, rest);
        next->len = rest;
        chunk_unref(c);
        s->chunk = next;
        s->chunk_pos = 0;
    }
}

static int file_ack(void *self, const sl_batch_t *b)
{
    file_src_t *s = self;
    if (!b->checkpoint) {
        return 0;
    }
    sl_arena_t *a = sl_arena_create(4096, 0);
    if (!a) {
        return SL_ENOMEM;
    }
    sl_value_t v;
    sl_json_error_t jerr;
    int rc = 0;
    if (sl_json_parse(a, b->checkpoint, strlen(b->checkpoint), NULL, &v, &jerr) == 0) {
        sl_value_t *done = sl_object_get_c(&v, "done");
        if (done && done->type == SL_T_BOOL && done->u.i) {
            sl_value_t *p = sl_object_get_c(&v, "path");
            sl_value_t *size = sl_object_get_c(&v, "size");
            sl_value_t *mt = sl_object_get_c(&v, "mtime_us");
            sl_value_t *h = sl_object_get_c(&v, "hash");
            sl_value_t *recs = sl_object_get_c(&v, "records");
            char *path = sl_arena_strndup(a, p->u.s, p->len);
            char *hash = sl_arena_strndup(a, h->u.s, h->len);
            rc = record_file(s, path, size->u.i, mt->u.i, hash, recs->u.i);
        }
    }
    sl_arena_destroy(a);
    return rc;
}

static void file_close(void *self)
{
    file_src_t *s = self;
    if (!s) {
        return;
    }
    close_current(s);
    for (size_t i = 0; i < s->nfiles; i++) {
        free(s->files[i]);
        obj_free(s->objs[i]);
    }
    free(s->files);
    free(s->objs);
    for (size_t i = 0; i < s->nstores; i++) {
        sl_objstore_close(s->stores[i]);
    }
    free(s->stores);
    chunk_unref(s->chunk);
    free(s->resume.path);
    free(s);
}

const sl_source_type_t sl_source_file = {
    .name = "file",
    .doc = "JSON Lines, CSV and JSON array files (gzip too), from paths or globs",
    .config = file_source_config,
    .open = file_open,
    .next = file_next,
    .ack = file_ack,
    .close = file_close,
    .check = file_check,
};
