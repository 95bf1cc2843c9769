/* Unit tests for the `file` sink (src/plugins/sinks/file.c): exact output
 * for each format, atomic publication, gzip, url templates and errors,
 * driven through the plugin vtable as the engine does. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "sluice/config.h"
#include "sluice/json.h"
#include "sluice/plugin.h"
#include "test.h"

extern const sl_sink_type_t sl_sink_file;

typedef struct {
    sl_step_ctx_t ctx;
    sl_arena_t *arena;
    sl_value_t params, run;
} fx_t;

static void fx_init(fx_t *f)
{
    memset(f, 0, sizeof *f);
    f->arena = sl_arena_create(0, 0);
    f->ctx.arena = f->arena;
    f->ctx.base_dir = sl_test_tmpdir();
    f->ctx.run_id = "0b7e-run";
    sl_object_new(f->arena, &f->params, 2);
    sl_object_set(f->arena, &f->params, "day", 3, sl_value_str("2026-11-22", 10));
    sl_object_new(f->arena, &f->run, 2);
    sl_object_set(f->arena, &f->run, "id", 2, sl_value_str("0b7e-run", 8));
    f->ctx.params = &f->params;
    f->ctx.run = &f->run;
}

static void fx_free(fx_t *f)
{
    sl_arena_destroy(f->arena);
}

/* Parses YAML config text and checks it against the sink's spec, as the
 * engine does before open. */
static const sl_node_t *cfg(fx_t *f, const char *yaml)
{
    sl_node_t *root = NULL;
    sl_err_t err;
    if (sl_config_parse(f->arena, "p.yaml", yaml, strlen(yaml), sl_test_tmpdir(), &root, &err)) {
        sl_test_fail(__FILE__, __LINE__, "config: %s", err.msg);
    }
    if (sl_config_check(root, sl_sink_file.config, "sink 'file'", &err)) {
        sl_test_fail(__FILE__, __LINE__, "config check: %s", err.msg);
    }
    return root;
}

/* A batch of the JSON values in lines (one per line), numbered from line0. */
static sl_batch_t *batch(fx_t *f, const char *lines, uint64_t line0)
{
    sl_batch_t *b = sl_arena_calloc(f->arena, sizeof *b);
    b->arena = f->arena;
    b->origin = "in.jsonl";
    b->records = sl_arena_alloc(f->arena, 64 * sizeof(sl_value_t));
    b->lines = sl_arena_alloc(f->arena, 64 * sizeof(uint64_t));
    b->cap = 64;
    const char *p = lines;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        sl_json_error_t je;
        if (sl_json_parse(f->arena, p, n, NULL, &b->records[b->n], &je)) {
            sl_test_fail(__FILE__, __LINE__, "json: %s", je.reason);
        }
        b->lines[b->n] = line0 + b->n;
        b->n++;
        p += n + (e ? 1 : 0);
    }
    return b;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return NULL;
    }
    static char data[1 << 22];
    size_t n = fread(data, 1, sizeof data - 1, fp);
    fclose(fp);
    data[n] = '\0';
    if (len) {
        *len = n;
    }
    return data;
}

static const char *in_tmp(const char *name)
{
    static char paths[4][512];
    static int k;
    char *p = paths[k++ % 4];
    snprintf(p, 512, "%s/%s", sl_test_tmpdir(), name);
    return p;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* open + write each batch + commit + close; returns the file's text. */
static const char *run_sink(fx_t *f, const char *yaml, sl_batch_t **batches, size_t nb,
                            const char *out)
{
    void *self = NULL;
    int rc = sl_sink_file.open(&f->ctx, cfg(f, yaml), &self);
    if (rc) {
        sl_test_fail(__FILE__, __LINE__, "open: %d %s", rc, f->ctx.err.msg);
    }
    for (size_t i = 0; i < nb; i++) {
        rc = sl_sink_file.write(self, batches[i], "step:s", NULL);
        if (rc) {
            sl_test_fail(__FILE__, __LINE__, "write: %d %s", rc, f->ctx.err.msg);
        }
    }
    rc = sl_sink_file.commit(self);
    if (rc) {
        sl_test_fail(__FILE__, __LINE__, "commit: %d %s", rc, f->ctx.err.msg);
    }
    sl_sink_file.close(self);
    const char *text = slurp(in_tmp(out), NULL);
    if (!text) {
        sl_test_fail(__FILE__, __LINE__, "no output file %s", out);
    }
    return text;
}

SL_TEST(sink_file_jsonl_exact)
{
    fx_t f;
    fx_init(&f);
    sl_batch_t *b[2] = {
        batch(&f,
              "{\"id\":1,\"name\":\"a\\\"b\",\"x\":1.50,\"n\":null}\n"
              "{\"id\":2,\"t\":[1,{\"k\":true}]}",
              1),
        batch(&f, "{\"id\":3,\"s\":\"Z\xC3\xBCrich\"}", 3),
    };
    const char *got = run_sink(&f, "type: file\nurl: out.jsonl\n", b, 2, "out.jsonl");
    CHECK_STR(got, "{\"id\":1,\"name\":\"a\\\"b\",\"x\":1.50,\"n\":null}\n"
                   "{\"id\":2,\"t\":[1,{\"k\":true}]}\n"
                   "{\"id\":3,\"s\":\"Z\xC3\xBCrich\"}\n");
    CHECK(!exists(in_tmp("out.jsonl.tmp-0b7e-run")));
    fx_free(&f);
}

SL_TEST(sink_file_temp_until_commit)
{
    fx_t f;
    fx_init(&f);
    void *self = NULL;
    CHECK_INT(sl_sink_file.open(&f.ctx, cfg(&f, "type: file\nurl: sub/dir/out.jsonl\n"), &self),
              0);
    CHECK_INT(sl_sink_file.write(self, batch(&f, "{\"a\":1}", 1), "k", NULL), 0);
    /* Before commit: only the temp file, in the final folder. */
    CHECK(exists(in_tmp("sub/dir/out.jsonl.tmp-0b7e-run")));
    CHECK(!exists(in_tmp("sub/dir/out.jsonl")));
    CHECK_INT(sl_sink_file.commit(self), 0);
    CHECK(!exists(in_tmp("sub/dir/out.jsonl.tmp-0b7e-run")));
    CHECK_STR(slurp(in_tmp("sub/dir/out.jsonl"), NULL), "{\"a\":1}\n");
    sl_sink_file.close(self);
    CHECK_STR(slurp(in_tmp("sub/dir/out.jsonl"), NULL), "{\"a\":1}\n");
    fx_free(&f);
}

SL_TEST(sink_file_close_without_commit_leaves_nothing)
{
    fx_t f;
    fx_init(&f);
    void *self = NULL;
    CHECK_INT(sl_sink_file.open(&f.ctx, cfg(&f, "type: file\nurl: out.csv\n"), &self), 0);
    CHECK_INT(sl_sink_file.write(self, batch(&f, "{\"a\":1}\n{\"a\":2}", 1), "k", NULL), 0);
    sl_sink_file.close(self);
    CHECK(!exists(in_tmp("out.csv.tmp-0b7e-run")));
    CHECK(!exists(in_tmp("out.csv")));

    /* An older final file stays as it was. */
    sl_test_write_file("old.jsonl", "old\n", 4);
    CHECK_INT(sl_sink_file.open(&f.ctx, cfg(&f, "type: file\nurl: old.jsonl\n"), &self), 0);
    CHECK_INT(sl_sink_file.write(self, batch(&f, "{\"a\":1}", 1), "k", NULL), 0);
    sl_sink_file.close(self);
    CHECK_STR(slurp(in_tmp("old.jsonl"), NULL), "old\n");
    CHECK(!exists(in_tmp("old.jsonl.tmp-0b7e-run")));
    fx_free(&f);
}

SL_TEST(sink_file_commit_replaces_existing)
{
    fx_t f;
    fx_init(&f);
    sl_test_write_file("r.jsonl", "old line\nold line\n", 18);
    sl_batch_t *b[1] = {batch(&f, "{\"new\":true}", 1)};
    CHECK_STR(run_sink(&f, "type: file\nurl: r.jsonl\n", b, 1, "r.jsonl"), "{\"new\":true}\n");
    fx_free(&f);
}

SL_TEST(sink_file_csv_quoting_exact)
{
    fx_t f;
    fx_init(&f);
    sl_batch_t *b[2] = {
        batch(&f,
              "{\"id\":1,\"name\":\"plain\",\"amount\":1.50,\"ok\":true,\"note\":null,"
              "\"big\":123456789012345678901234567890}\n"
              "{\"id\":2,\"name\":\"with, comma\",\"amount\":-2e3,\"ok\":false,"
              "\"note\":\"say \\\"hi\\\"\",\"big\":1}",
              1),
        batch(&f,
              "{\"id\":3,\"name\":\"line\\nbreak\",\"amount\":0,\"ok\":true,"
              "\"note\":\"Z\xC3\xBCrich\",\"big\":-5}\n"
              "{\"id\":4,\"name\":\"\",\"amount\":0.5,\"ok\":null,\"note\":\" pad \","
              "\"big\":[1,\"a\"]}",
              3),
    };
    const char *got = run_sink(&f, "type: file\nurl: out.csv\n", b, 2, "out.csv");
    CHECK_STR(got, "id,name,amount,ok,note,big\n"
                   "1,plain,1.50,true,,123456789012345678901234567890\n"
                   "2,\"with, comma\",-2e3,false,\"say \"\"hi\"\"\",1\n"
                   "3,\"line\nbreak\",0,true,Z\xC3\xBCrich,-5\n"
                   "4,\"\",0.5,,\" pad \",\"[1,\"\"a\"\"]\"\n");
    fx_free(&f);
}

SL_TEST(sink_file_csv_key_order_and_missing_keys)
{
    fx_t f;
    fx_init(&f);
    sl_batch_t *b[1] = {batch(&f,
                              "{\"a\":1,\"b\":2,\"c\":3}\n"
                              "{\"c\":30,\"a\":10}\n"
                              "{\"b\":\"x,y\"}\n"
                              "{}",
                              1)};
    CHECK_STR(run_sink(&f, "type: file\nurl: o.csv\n", b, 1, "o.csv"),
              "a,b,c\n1,2,3\n10,,30\n,\"x,y\",\n,,\n");
    fx_free(&f);
}

SL_TEST(sink_file_csv_new_key_is_an_error)
{
    fx_t f;
    fx_init(&f);
    void *self = NULL;
    CHECK_INT(sl_sink_file.open(&f.ctx, cfg(&f, "type: file\nurl: o.csv\n"), &self), 0);
    CHECK_INT(sl_sink_file.write(self, batch(&f, "{\"id\":1,\"name\":\"a\"}", 1), "k", NULL), 0);
    sl_batch_t *b2 = batch(&f, "{\"id\":2,\"name\":\"b\"}\n{\"id\":3,\"extra\":1}", 2);
    int rc = sl_sink_file.write(self, b2, "k", NULL);
    CHECK_INT(rc, SL_ESINK);
    CHECK_CONTAINS(f.ctx.err.msg, "record at line 3 of in.jsonl");
    CHECK_CONTAINS(f.ctx.err.msg, "'extra'");
    CHECK_CONTAINS(f.ctx.err.msg, "(id, name)");
    CHECK_CONTAINS(f.ctx.err.msg, "columns");
    sl_sink_file.close(self);
    CHECK(!exists(in_tmp("o.csv")));
    CHECK(!exists(in_tmp("o.csv.tmp-0b7e-run")));
    fx_free(&f);
}

SL_TEST(sink_file_csv_configured_columns)
{
    fx_t f;
    fx_init(&f);
    sl_batch_t *b[1] = {batch(&f, "{\"a\":1,\"b\":2,\"extra\":9}\n{\"b\":\"q\\\"\"}", 1)};
    CHECK_STR(run_sink(&f, "type: file\nurl: o.csv\ncolumns: [b, a, missing]\n", b, 1, "o.csv"),
              "b,a,missing\n2,1,\n\"q\"\"\",,\n");
    /* Header only when no record came but the columns are known. */
    CHECK_STR(run_sink(&f, "type: file\nurl: e.csv\ncolumns: [x, y]\n", NULL, 0, "e.csv"),
              "x,y\n");
    /* Without columns and without records: an empty file. */
    CHECK_STR(run_sink(&f, "type: file\nurl: e2.csv\n", NULL, 0, "e2.csv"), "");
    fx_free(&f);
}

SL_TEST(sink_file_csv_delimiter_and_header)
{
    fx_t f;
    fx_init(&f);
    sl_batch_t *b[1] = {batch(&f, "{\"a\":\"x;y\",\"b\":\"p,q\",\"c\":\"t\\tu\"}", 1)};
    CHECK_STR(run_sink(&f,
                       "type: file\nurl: o.txt\nformat: csv\ndelimiter: \";\"\n"
                       "header: false\n",
                       b, 1, "o.txt"),
              "\"x;y\";p,q;t\tu\n");
    CHECK_STR(run_sink(&f, "type: file\nurl: o.tsv\n", b, 1, "o.tsv"),
              "a\tb\tc\nx;y\tp,q\t\"t\tu\"\n");
    CHECK_STR(run_sink(&f, "type: file\nurl: p.csv\ndelimiter: tab\n", b, 1, "p.csv"),
              "a\tb\tc\nx;y\tp,q\t\"t\tu\"\n");
    CHECK_STR(run_sink(&f, "type: file\nurl: q.csv\ndelimiter: \"|\"\n", b, 1, "q.csv"),
              "a|b|c\nx;y|p,q|t\tu\n");
    fx_free(&f);
}

SL_TEST(sink_file_csv_one_column_null_kept)
{
    fx_t f;
    fx_init(&f);
    sl_batch_t *b[1] = {batch(&f, "{\"v\":1}\n{\"v\":null}\n{}\n{\"v\":\"\"}", 1)};
    /* An empty line would vanish when read back: nulls are written as "". */
    CHECK_STR(run_sink(&f, "type: file\nurl: o.csv\n", b, 1, "o.csv"),
              "v\n1\n\"\"\n\"\"\n\"\"\n");
    fx_free(&f);
}

SL_TEST(sink_file_csv_values_typed)
{
    fx_t f;
    fx_init(&f);
    sl_batch_t *b = batch(&f, "{\"ts\":0,\"d\":0,\"f\":0,\"i\":-9223372036854775808}", 1);
    b->records[0].u.members[0].val = sl_value_timestamp(1795341600123456LL);
    b->records[0].u.members[1].val = sl_value_date(20414);
    b->records[0].u.members[2].val = sl_value_double(0.1);
    sl_batch_t *bs[1] = {b};
    CHECK_STR(run_sink(&f, "type: file\nurl: o.csv\n", bs, 1, "o.csv"),
              "ts,d,f,i\n2026-11-22T10:00:00.123456Z,2025-11-22,0.1,-9223372036854775808\n");
    fx_free(&f);
}

SL_TEST(sink_file_csv_non_object_record)
{
    fx_t f;
    fx_init(&f);
    void *self = NULL;
    CHECK_INT(sl_sink_file.open(&f.ctx, cfg(&f, "type: file\nurl: o.csv\n"), &self), 0);
    CHECK_INT(sl_sink_file.write(self, batch(&f, "{\"a\":1}\n[1,2]", 7), "k", NULL), SL_ESINK);
    CHECK_CONTAINS(f.ctx.err.msg, "record at line 8 of in.jsonl is an array, not an object");
    sl_sink_file.close(self);
    fx_free(&f);
}

SL_TEST(sink_file_json_array)
{
    fx_t f;
    fx_init(&f);
    sl_batch_t *b[2] = {batch(&f, "{\"a\":1}\n{\"a\":[2]}", 1), batch(&f, "3", 3)};
    CHECK_STR(run_sink(&f, "type: file\nurl: o.json\n", b, 2, "o.json"),
              "[{\"a\":1},\n{\"a\":[2]},\n3]\n");
    CHECK_STR(run_sink(&f, "type: file\nurl: e.json\n", NULL, 0, "e.json"), "[]\n");
    CHECK_STR(run_sink(&f, "type: file\nurl: o.out\nformat: json\n", b, 1, "o.out"),
              "[{\"a\":1},\n{\"a\":[2]}]\n");
    /* Unknown extensions default to JSON Lines. */
    CHECK_STR(run_sink(&f, "type: file\nurl: o.txt\n", b, 1, "o.txt"),
              "{\"a\":1}\n{\"a\":[2]}\n");
    fx_free(&f);
}

/* Reads a gzip file whole with zlib. */
static const char *gunzip(const char *path, size_t *len)
{
    static char data[1 << 23];
    gzFile g = gzopen(path, "rb");
    if (!g) {
        return NULL;
    }
    size_t n = 0;
    int r;
    while ((r = gzread(g, data + n, (unsigned)(sizeof data - 1 - n))) > 0) {
        n += (size_t)r;
    }
    gzclose(g);
    data[n] = '\0';
    *len = n;
    return data;
}

SL_TEST(sink_file_gzip)
{
    fx_t f;
    fx_init(&f);
    sl_batch_t *b[1] = {batch(&f, "{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":\"y,z\"}", 1)};
    const char *raw = run_sink(&f, "type: file\nurl: o.csv.gz\n", b, 1, "o.csv.gz");
    CHECK_INT((unsigned char)raw[0], 0x1f);
    CHECK_INT((unsigned char)raw[1], 0x8b);
    size_t n;
    CHECK_STR(gunzip(in_tmp("o.csv.gz"), &n), "a,b\n1,x\n2,\"y,z\"\n");
    /* compression: none wins over the name; gzip works for any name. */
    CHECK_STR(run_sink(&f, "type: file\nurl: p.jsonl.gz\ncompression: none\n", b, 1,
                       "p.jsonl.gz"),
              "{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":\"y,z\"}\n");
    run_sink(&f, "type: file\nurl: q.jsonl\ncompression: gzip\n", b, 1, "q.jsonl");
    CHECK_STR(gunzip(in_tmp("q.jsonl"), &n), "{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":\"y,z\"}\n");
    /* An empty gzip output is a valid gzip file. */
    run_sink(&f, "type: file\nurl: e.jsonl.gz\n", NULL, 0, "e.jsonl.gz");
    CHECK_STR(gunzip(in_tmp("e.jsonl.gz"), &n), "");
    fx_free(&f);
}

/* Many batches: several buffer flushes, plain and gzip, exact content. */
SL_TEST(sink_file_large_output)
{
    fx_t f;
    fx_init(&f);
    enum { NB = 60, PER = 1000 };
    sl_batch_t *bs[NB];
    static char want[1 << 22];
    size_t wn = 0;
    wn += (size_t)snprintf(want + wn, sizeof want - wn, "id,text\n");
    for (int k = 0; k < NB; k++) {
        sl_batch_t *b = sl_arena_calloc(f.arena, sizeof *b);
        b->arena = f.arena;
        b->records = sl_arena_alloc(f.arena, PER * sizeof(sl_value_t));
        b->lines = sl_arena_alloc(f.arena, PER * sizeof(uint64_t));
        for (int i = 0; i < PER; i++) {
            int id = k * PER + i;
            sl_value_t r;
            sl_object_new(f.arena, &r, 2);
            sl_object_set(f.arena, &r, "id", 2, sl_value_int(id));
            char *t = sl_arena_sprintf(f.arena, "row %d, \"quoted\" text padding padding", id);
            sl_object_set(f.arena, &r, "text", 4, sl_value_str(t, strlen(t)));
            b->records[i] = r;
            b->lines[i] = (uint64_t)id + 1;
            wn += (size_t)snprintf(want + wn, sizeof want - wn,
                                   "%d,\"row %d, \"\"quoted\"\" text padding padding\"\n", id,
                                   id);
        }
        b->n = b->cap = PER;
        bs[k] = b;
    }
    CHECK(wn > (2u << 20)); /* more than one 1 MiB flush */
    size_t n = 0;
    const char *got = run_sink(&f, "type: file\nurl: big.csv\n", bs, NB, "big.csv");
    CHECK_INT(strlen(got), wn);
    CHECK(memcmp(got, want, wn) == 0);
    run_sink(&f, "type: file\nurl: big.csv.gz\n", bs, NB, "big.csv.gz");
    got = gunzip(in_tmp("big.csv.gz"), &n);
    CHECK_INT(n, wn);
    CHECK(memcmp(got, want, wn) == 0);
    fx_free(&f);
}

SL_TEST(sink_file_url_template)
{
    fx_t f;
    fx_init(&f);
    sl_batch_t *b[1] = {batch(&f, "{\"a\":1}", 1)};
    const char *got =
        run_sink(&f, "type: file\nurl: \"out/{{ params.day }}/orders-{{ run.id }}.jsonl\"\n", b,
                 1, "out/2026-11-22/orders-0b7e-run.jsonl");
    CHECK_STR(got, "{\"a\":1}\n");
    fx_free(&f);
}

SL_TEST(sink_file_url_record_template_refused)
{
    fx_t f;
    fx_init(&f);
    void *self = (void *)1;
    int rc = sl_sink_file.open(&f.ctx, cfg(&f, "type: file\nurl: \"o-{{ record.id }}.jsonl\"\n"),
                               &self);
    CHECK_INT(rc, SL_ECONFIG);
    CHECK(self == NULL);
    CHECK_CONTAINS(f.ctx.err.msg, "p.yaml:2:6: file sink: url: templates may use params and run");
    rc = sl_sink_file.open(&f.ctx, cfg(&f, "type: file\nurl: \"o-{{ params.day | nofilter }}\"\n"),
                           &self);
    CHECK_INT(rc, SL_ECONFIG);
    CHECK_CONTAINS(f.ctx.err.msg, "p.yaml:2:6: file sink: url:");
    rc = sl_sink_file.open(&f.ctx, cfg(&f, "type: file\nurl: \"ftp://host/x.jsonl\"\n"), &self);
    CHECK_INT(rc, SL_ECONFIG);
    CHECK_CONTAINS(f.ctx.err.msg, "only local paths, file:// and s3://");
    fx_free(&f);
}

SL_TEST(sink_file_absolute_file_url)
{
    fx_t f;
    fx_init(&f);
    sl_batch_t *b[1] = {batch(&f, "{\"a\":1}", 1)};
    char yaml[700];
    snprintf(yaml, sizeof yaml, "type: file\nurl: \"file://%s/abs/o.jsonl\"\n", sl_test_tmpdir());
    f.ctx.base_dir = "/nonexistent-base";
    CHECK_STR(run_sink(&f, yaml, b, 1, "abs/o.jsonl"), "{\"a\":1}\n");
    fx_free(&f);
}

SL_TEST(sink_file_unwritable_location)
{
    fx_t f;
    fx_init(&f);
    /* A regular file where a folder should be. */
    sl_test_write_file("blocker", "x", 1);
    void *self = (void *)1;
    int rc = sl_sink_file.open(&f.ctx, cfg(&f, "type: file\nurl: blocker/sub/o.jsonl\n"), &self);
    CHECK_INT(rc, SL_EIO);
    CHECK(self == NULL);
    char want[700];
    snprintf(want, sizeof want, "file sink: cannot create %s: %s exists and is not a folder",
             in_tmp("blocker/sub/o.jsonl"), in_tmp("blocker"));
    CHECK_STR(f.ctx.err.msg, want);
    rc = sl_sink_file.open(&f.ctx, cfg(&f, "type: file\nurl: blocker/o.jsonl\n"), &self);
    CHECK_INT(rc, SL_EIO);
    snprintf(want, sizeof want, "file sink: cannot create %s: %s exists and is not a folder",
             in_tmp("blocker/o.jsonl"), in_tmp("blocker"));
    CHECK_STR(f.ctx.err.msg, want);
    if (geteuid() != 0) {
        /* Permissions only bind non-root users. */
        mkdir(in_tmp("ro"), 0555);
        rc = sl_sink_file.open(&f.ctx, cfg(&f, "type: file\nurl: ro/o.jsonl\n"), &self);
        CHECK_INT(rc, SL_EIO);
        CHECK_CONTAINS(f.ctx.err.msg, in_tmp("ro/o.jsonl"));
        CHECK_CONTAINS(f.ctx.err.msg, "temp file");
        CHECK_CONTAINS(f.ctx.err.msg, strerror(EACCES));
        chmod(in_tmp("ro"), 0755);
    }
    fx_free(&f);
}

SL_TEST(sink_file_config_errors)
{
    fx_t f;
    fx_init(&f);
    sl_node_t *root = NULL;
    sl_err_t err;
    const char *y = "type: file\nurl: o.csv\nformt: csv\n";
    CHECK_INT(sl_config_parse(f.arena, "p.yaml", y, strlen(y), ".", &root, &err), 0);
    CHECK_INT(sl_config_check(root, sl_sink_file.config, "sink 'file'", &err), SL_ECONFIG);
    CHECK_CONTAINS(err.msg, "formt");
    y = "type: file\nurl: o.csv\nformat: xml\n";
    CHECK_INT(sl_config_parse(f.arena, "p.yaml", y, strlen(y), ".", &root, &err), 0);
    CHECK_INT(sl_config_check(root, sl_sink_file.config, "sink 'file'", &err), SL_ECONFIG);
    CHECK_CONTAINS(err.msg, "xml");
    y = "type: file\nformat: csv\n";
    CHECK_INT(sl_config_parse(f.arena, "p.yaml", y, strlen(y), ".", &root, &err), 0);
    CHECK_INT(sl_config_check(root, sl_sink_file.config, "sink 'file'", &err), SL_ECONFIG);
    CHECK_CONTAINS(err.msg, "url");

    void *self = NULL;
    CHECK_INT(sl_sink_file.open(&f.ctx, cfg(&f, "type: file\nurl: o.csv\ndelimiter: ab\n"), &self),
              SL_ECONFIG);
    CHECK_CONTAINS(f.ctx.err.msg, "p.yaml:3:12: file sink: delimiter must be one character");
    CHECK_INT(sl_sink_file.open(&f.ctx, cfg(&f, "type: file\nurl: o.csv\ndelimiter: '\"'\n"),
                                &self),
              SL_ECONFIG);
    CHECK_CONTAINS(f.ctx.err.msg, "delimiter cannot be a quote");
    CHECK_INT(sl_sink_file.open(&f.ctx, cfg(&f, "type: file\nurl: out/\n"), &self), SL_ECONFIG);
    CHECK_CONTAINS(f.ctx.err.msg, "names a folder");
    fx_free(&f);
}

SL_TEST(sink_file_empty_batch_and_flags)
{
    fx_t f;
    fx_init(&f);
    CHECK_INT(sl_sink_file.flags, 0);
    CHECK_STR(sl_sink_file.name, "file");
    sl_batch_t *b[2] = {batch(&f, "", 1), batch(&f, "{\"a\":1}", 1)};
    b[0]->checkpoint = "{\"pos\":1}";
    CHECK_STR(run_sink(&f, "type: file\nurl: o.jsonl\n", b, 2, "o.jsonl"), "{\"a\":1}\n");
    CHECK_STR(run_sink(&f, "type: file\nurl: n.jsonl\n", b, 1, "n.jsonl"), "");
    fx_free(&f);
}

SL_TEST(sink_file_zero_records_keep_existing_file)
{
    fx_t f;
    fx_init(&f);
    sl_test_write_file("keep.jsonl", "{\"old\":1}\n", 10);
    sl_batch_t *empty[1] = {batch(&f, "", 1)};
    empty[0]->checkpoint = "{}";
    /* An incremental rerun that read nothing new keeps the last output. */
    CHECK_STR(run_sink(&f, "type: file\nurl: keep.jsonl\n", empty, 1, "keep.jsonl"),
              "{\"old\":1}\n");
    CHECK(!exists(in_tmp("keep.jsonl.tmp-0b7e-run")));
    sl_test_write_file("keep.csv", "a\n1\n", 4);
    CHECK_STR(run_sink(&f, "type: file\nurl: keep.csv\ncolumns: [a]\n", NULL, 0, "keep.csv"),
              "a\n1\n");
    fx_free(&f);
}

SL_TEST(sink_file_commit_removes_stale_temps)
{
    fx_t f;
    fx_init(&f);
    mkdir(in_tmp("out"), 0755);
    /* Left by runs that were killed. */
    sl_test_write_file("out/all.jsonl.tmp-dead-run-1", "partial", 7);
    sl_test_write_file("out/all.jsonl.tmp-dead-run-2", "partial", 7);
    sl_test_write_file("out/other.jsonl.tmp-x", "not ours", 8);
    sl_test_write_file("out/all.jsonl.tmpfoo", "not a temp", 10);
    sl_batch_t *b[1] = {batch(&f, "{\"a\":1}", 1)};
    CHECK_STR(run_sink(&f, "type: file\nurl: out/all.jsonl\n", b, 1, "out/all.jsonl"),
              "{\"a\":1}\n");
    CHECK(!exists(in_tmp("out/all.jsonl.tmp-dead-run-1")));
    CHECK(!exists(in_tmp("out/all.jsonl.tmp-dead-run-2")));
    CHECK(exists(in_tmp("out/other.jsonl.tmp-x")));
    CHECK(exists(in_tmp("out/all.jsonl.tmpfoo")));
    /* Also when a run without records leaves the file alone. */
    sl_test_write_file("out/all.jsonl.tmp-dead-run-3", "partial", 7);
    CHECK_STR(run_sink(&f, "type: file\nurl: out/all.jsonl\n", NULL, 0, "out/all.jsonl"),
              "{\"a\":1}\n");
    CHECK(!exists(in_tmp("out/all.jsonl.tmp-dead-run-3")));
    fx_free(&f);
}
