/* Unit tests for the `stdout` sink (src/plugins/sinks/stdout.c): exact
 * output on fd 1 (redirected to a file), written at each batch end. */
#include <fcntl.h>
#include <unistd.h>

#include "sluice/config.h"
#include "sluice/json.h"
#include "sluice/plugin.h"
#include "test.h"

extern const sl_sink_type_t sl_sink_stdout;

static sl_arena_t *arena;
static sl_step_ctx_t ctx;

static void setup(void)
{
    arena = sl_arena_create(0, 0);
    memset(&ctx, 0, sizeof ctx);
    ctx.arena = arena;
    ctx.base_dir = sl_test_tmpdir();
    ctx.run_id = "r1";
}

static const sl_node_t *stdout_cfg(const char *yaml)
{
    sl_node_t *root = NULL;
    sl_err_t err;
    if (sl_config_parse(arena, "p.yaml", yaml, strlen(yaml), ".", &root, &err) ||
        sl_config_check(root, sl_sink_stdout.config, "sink 'stdout'", &err)) {
        sl_test_fail(__FILE__, __LINE__, "config: %s", err.msg);
    }
    return root;
}

static sl_batch_t *stdout_batch(const char *lines)
{
    sl_batch_t *b = sl_arena_calloc(arena, sizeof *b);
    b->arena = arena;
    b->origin = "in.jsonl";
    b->records = sl_arena_alloc(arena, 16 * sizeof(sl_value_t));
    b->lines = sl_arena_alloc(arena, 16 * sizeof(uint64_t));
    b->cap = 16;
    for (const char *p = lines; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        sl_json_error_t je;
        if (sl_json_parse(arena, p, n, NULL, &b->records[b->n], &je)) {
            sl_test_fail(__FILE__, __LINE__, "json: %s", je.reason);
        }
        b->lines[b->n] = b->n + 1;
        b->n++;
        p += n + (e ? 1 : 0);
    }
    return b;
}

/* Points fd 1 at a fresh file; returns its path. */
static const char *capture(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/stdout.txt", sl_test_tmpdir());
    fflush(stdout);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(dup2(fd, 1) == 1);
    close(fd);
    return path;
}

static const char *captured(const char *path)
{
    static char data[65536];
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    size_t n = fread(data, 1, sizeof data - 1, fp);
    fclose(fp);
    data[n] = '\0';
    return data;
}

SL_TEST(sink_stdout_jsonl_per_batch)
{
    setup();
    const char *out = capture();
    void *self = NULL;
    CHECK_INT(sl_sink_stdout.open(&ctx, stdout_cfg("type: stdout\n"), &self), 0);
    CHECK_INT(sl_sink_stdout.write(self, stdout_batch("{\"a\":1}\n{\"b\":\"x\\ny\"}"), "k", NULL),
              0);
    /* Out of the process at the end of the batch, before commit. */
    CHECK_STR(captured(out), "{\"a\":1}\n{\"b\":\"x\\ny\"}\n");
    CHECK_INT(sl_sink_stdout.write(self, stdout_batch("[1,2]"), "k", NULL), 0);
    CHECK_INT(sl_sink_stdout.commit(self), 0);
    sl_sink_stdout.close(self);
    CHECK_STR(captured(out), "{\"a\":1}\n{\"b\":\"x\\ny\"}\n[1,2]\n");
    CHECK_INT(sl_sink_stdout.flags, SL_SINK_DURABLE_PER_BATCH);
    sl_arena_destroy(arena);
}

SL_TEST(sink_stdout_csv)
{
    setup();
    const char *out = capture();
    void *self = NULL;
    CHECK_INT(sl_sink_stdout.open(&ctx, stdout_cfg("type: stdout\nformat: csv\n"), &self), 0);
    CHECK_INT(sl_sink_stdout.write(self, stdout_batch("{\"a\":1,\"b\":\"p,q\"}"), "k", NULL), 0);
    CHECK_STR(captured(out), "a,b\n1,\"p,q\"\n");
    CHECK_INT(sl_sink_stdout.write(self, stdout_batch("{\"b\":null,\"a\":true}"), "k", NULL), 0);
    CHECK_INT(sl_sink_stdout.commit(self), 0);
    sl_sink_stdout.close(self);
    CHECK_STR(captured(out), "a,b\n1,\"p,q\"\ntrue,\n");
    sl_arena_destroy(arena);
}

SL_TEST(sink_stdout_csv_options)
{
    setup();
    const char *out = capture();
    void *self = NULL;
    CHECK_INT(sl_sink_stdout.open(&ctx,
                                  stdout_cfg("type: stdout\nformat: csv\ndelimiter: \";\"\n"
                                             "header: false\ncolumns: [b, a]\n"),
                                  &self),
              0);
    CHECK_INT(sl_sink_stdout.write(self, stdout_batch("{\"a\":1,\"b\":\"p;q\",\"c\":0}"), "k",
                                   NULL),
              0);
    CHECK_INT(sl_sink_stdout.commit(self), 0);
    sl_sink_stdout.close(self);
    CHECK_STR(captured(out), "\"p;q\";1\n");
    sl_arena_destroy(arena);
}

SL_TEST(sink_stdout_rejects_json_format)
{
    setup();
    sl_node_t *root = NULL;
    sl_err_t err;
    const char *y = "type: stdout\nformat: json\n";
    CHECK_INT(sl_config_parse(arena, "p.yaml", y, strlen(y), ".", &root, &err), 0);
    CHECK_INT(sl_config_check(root, sl_sink_stdout.config, "sink 'stdout'", &err), SL_ECONFIG);
    CHECK_CONTAINS(err.msg, "json");
    sl_arena_destroy(arena);
}

SL_TEST(sink_stdout_write_error)
{
    setup();
    /* fd 1 closed: the write fails with a message. */
    void *self = NULL;
    CHECK_INT(sl_sink_stdout.open(&ctx, stdout_cfg("type: stdout\n"), &self), 0);
    fflush(stdout);
    close(1);
    CHECK_INT(sl_sink_stdout.write(self, stdout_batch("{\"a\":1}"), "k", NULL), SL_EIO);
    CHECK_CONTAINS(ctx.err.msg, "stdout sink: cannot write: ");
    sl_sink_stdout.close(self);
    sl_arena_destroy(arena);
}
