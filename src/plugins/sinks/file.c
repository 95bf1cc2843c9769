/* The `file` sink: JSON Lines, CSV or one JSON array into a local file,
 * plain or gzip, published atomically.
 *
 * Records are encoded into a 1 MiB buffer that is written out (through
 * zlib for gzip) whenever it fills, so a batch costs no system call per
 * record. Everything goes to "<final>.tmp-<run id>" in the final folder;
 * commit() flushes, fsyncs, renames it over the final name and fsyncs the
 * folder, so readers see either the old file or the complete new one. A
 * step that fails (close() without commit) leaves no temp file behind, and
 * a commit removes the temp files of killed runs. A run that wrote no
 * record leaves an existing file as it was: an incremental rerun with
 * nothing new must not wipe the previous output (without a file, it
 * creates an empty one). The sink is not durable per batch: the engine
 * records progress only after commit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "sink_text.h"
#include "sluice/connection.h"
#include "sluice/fault.h"
#include "sluice/fsutil.h"
#include "sluice/objstore.h"
#include "sluice/log.h"
#include "sluice/plugin.h"
#include "sluice/template.h"

#define FLUSH_AT (1u << 20)
#define ZOUT_SIZE (256u << 10)

static const char *const formats[] = {"jsonl", "ndjson", "csv", "tsv", "json", NULL};
static const char *const compressions[] = {"none", "gzip", NULL};

static const sl_field_spec_t file_sink_config[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .doc = "file"},
    {.name = "url", .type = SL_FIELD_STRING, .required = true, .min_len = 1,
     .doc = "path relative to the pipeline file, file:///abs/path or s3://bucket/key; may use "
            "{{ params.x }} and {{ run.id }}"},
    {.name = "format", .type = SL_FIELD_STRING, .choices = formats,
     .doc = "jsonl (ndjson), csv, tsv or json", .def = "by extension, else jsonl"},
    {.name = "delimiter", .type = SL_FIELD_STRING,
     .doc = "CSV field delimiter: one character, \\t or tab", .def = "',' (tab for tsv)"},
    {.name = "header", .type = SL_FIELD_BOOL, .doc = "CSV: write a header line", .def = "true"},
    {.name = "compression", .type = SL_FIELD_STRING, .choices = compressions,
     .doc = "none or gzip", .def = "gzip when url ends in .gz"},
    {.name = "columns", .type = SL_FIELD_STRING_LIST, .min_len = 1,
     .doc = "CSV: column order", .def = "the first record's keys"},
    {.name = "connection", .type = SL_FIELD_STRING, .min_len = 1,
     .doc = "s3://: a pipeline connection (endpoint, region, keys); a relative url is then "
            "relative to the connection's url"},
    {.name = NULL},
};

typedef struct {
    sl_step_ctx_t *ctx;
    sl_text_enc_t enc;
    /* s3:// (or any object store but a local path): an atomic writer that
     * completes the object at commit */
    sl_objstore_t *store;
    sl_objwriter_t *ow;
    char *key;
    char *path; /* final name */
    char *tmp;  /* temp name, same folder */
    int fd;
    sl_writeback_t wb; /* of fd */
    bool gzip, zinit;
    z_stream zs;
    unsigned char *zout;
    sl_buf_t buf;
    bool created; /* the temp file exists */
    bool committed;
} file_sink_t;

/* "file sink: cannot write out/a.jsonl (temp file out/a.jsonl.tmp-ID): ..." */
static int io_error(file_sink_t *s, const char *what)
{
    return sl_err_set(&s->ctx->err, SL_EIO, "file sink: %s %s (temp file %s): %s", what,
                      s->path, s->tmp, strerror(errno));
}

/* "file sink: cannot create out/a.jsonl: folder out is not usable: ..." */

static int write_all(file_sink_t *s, const void *p, size_t n)
{
    if (s->ow) {
        return sl_objwriter_write(s->ow, p, n, &s->ctx->err);
    }
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(s->fd, c, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return io_error(s, "cannot write");
        }
        c += w;
        n -= (size_t)w;
        sl_writeback_note(&s->wb, s->fd, (size_t)w);
    }
    return 0;
}

/* Writes the buffer out (compressing it for gzip) and empties it. With
 * finish, also ends the gzip stream. */
static int flush_buf(file_sink_t *s, bool finish)
{
    int rc = 0;
    if (!s->gzip) {
        rc = write_all(s, s->buf.data, s->buf.len);
    } else {
        s->zs.next_in = (unsigned char *)s->buf.data;
        s->zs.avail_in = (uInt)s->buf.len;
        int mode = finish ? Z_FINISH : Z_NO_FLUSH;
        for (;;) {
            s->zs.next_out = s->zout;
            s->zs.avail_out = ZOUT_SIZE;
            int zrc = deflate(&s->zs, mode);
            if (zrc == Z_STREAM_ERROR) {
                return sl_err_set(&s->ctx->err, SL_EIO, "file sink: gzip of %s failed",
                                  s->path);
            }
            size_t have = ZOUT_SIZE - s->zs.avail_out;
            if (have && (rc = write_all(s, s->zout, have)) != 0) {
                return rc;
            }
            if (finish ? zrc == Z_STREAM_END : s->zs.avail_out != 0) {
                break;
            }
        }
    }
    sl_buf_clear(&s->buf);
    return rc;
}


/* Renders the url (templates over params and run) into a local path or an
 * s3:// URL (relative urls join the connection's url when there is one). */
static int resolve_url(sl_step_ctx_t *ctx, const sl_node_t *cfg, const char *conn_url,
                       const char **out)
{
    const sl_node_t *un = sl_node_get(cfg, "url");
    const char *url = NULL;
    int rc = sl_cfg_str(cfg, "url", NULL, &url, &ctx->err);
    if (rc) {
        return rc;
    }
    if (!url || !url[0]) {
        return sl_node_error(&ctx->err, un ? un : cfg, "file sink: url is required");
    }
    sl_err_t terr;
    const char *rendered = NULL;
    rc = sl_render_once(ctx, url, &rendered, &terr);
    if (rc == SL_EINVAL) {
        return sl_node_error(&ctx->err, un,
                             "file sink: url: templates may use params and run only, not "
                             "record (the sink writes one file per step)");
    }
    if (rc == SL_ECONFIG) {
        return sl_node_error(&ctx->err, un, "file sink: url: %s", terr.msg);
    }
    if (rc) {
        return rc;
    }
    if (!rendered[0]) {
        return sl_node_error(&ctx->err, un, "file sink: url '%s' renders to an empty path",
                             sl_node_display(un));
    }
    if (conn_url && !strstr(rendered, "://")) {
        size_t cn = strlen(conn_url);
        rendered = sl_arena_sprintf(ctx->arena, "%s%s%s", conn_url,
                                    cn && conn_url[cn - 1] == '/' ? "" : "/", rendered);
        if (!rendered) {
            return SL_ENOMEM;
        }
    }
    if (strstr(rendered, "://") && strncmp(rendered, "file://", 7) != 0 &&
        strncmp(rendered, "s3://", 5) != 0) {
        return sl_node_error(&ctx->err, un,
                             "file sink: url '%s': only local paths, file:// and s3:// are "
                             "supported",
                             rendered);
    }
    const char *path = sl_resolve_path(ctx->arena, ctx->base_dir, rendered);
    if (!path) {
        return SL_ENOMEM;
    }
    size_t n = strlen(path);
    if (n == 0 || path[n - 1] == '/') {
        return sl_node_error(&ctx->err, un, "file sink: url '%s' names a folder, not a file",
                             rendered);
    }
    *out = path;
    return 0;
}

static void file_sink_close(void *self);

/* s3://bucket/key: an object writer instead of a local temp file. */
static int open_object(file_sink_t *s, sl_step_ctx_t *ctx, const sl_s3_opts_t *opts)
{
    int rc = sl_objstore_open(s->path, opts, &s->store, &s->key, &ctx->err);
    if (rc == 0 && (!s->key || !s->key[0])) {
        rc = sl_err_set(&ctx->err, SL_ECONFIG, "file sink: %s names a bucket, not an object",
                        s->path);
    }
    if (rc == 0) {
        rc = sl_objwriter_open(s->store, s->key, 0, &s->ow, &ctx->err);
    }
    if (rc) {
        return sl_err_prefix(&ctx->err, rc, "file sink");
    }
    s->created = true;
    return 0;
}

static int open_sink(file_sink_t *s, sl_step_ctx_t *ctx, const sl_node_t *cfg)
{
    const char *path = NULL, *comp = NULL, *conn_url = NULL;
    sl_s3_opts_t s3;
    int rc = sl_connection_s3(ctx, cfg, "file sink", &s3, &conn_url);
    if (!rc) {
        rc = resolve_url(ctx, cfg, conn_url, &path);
    }
    if (!rc) {
        rc = sl_cfg_str(cfg, "compression", NULL, &comp, &ctx->err);
    }
    if (!rc) {
        rc = sl_text_enc_init(&s->enc, "file sink", ctx, cfg, path, true);
    }
    if (rc) {
        return rc;
    }
    size_t n = strlen(path);
    if (comp) {
        if (strcmp(comp, "gzip") == 0) {
            s->gzip = true;
        } else if (strcmp(comp, "none") != 0) {
            return sl_node_error(&ctx->err, sl_node_get(cfg, "compression"),
                                 "file sink: unknown compression '%s' (expected none or gzip)",
                                 comp);
        }
    } else {
        s->gzip = n > 3 && strcmp(path + n - 3, ".gz") == 0;
    }

    s->path = strdup(path);
    const char *rid = ctx->run_id && ctx->run_id[0] ? ctx->run_id : NULL;
    char pid[32];
    snprintf(pid, sizeof pid, "pid%ld", (long)getpid());
    size_t tn = n + 6 + strlen(rid ? rid : pid);
    s->tmp = malloc(tn);
    if (!s->path || !s->tmp) {
        return SL_ENOMEM;
    }
    snprintf(s->tmp, tn, "%s.tmp-%s", path, rid ? rid : pid);

    if (sl_buf_reserve(&s->buf, FLUSH_AT + (64u << 10)) != 0) {
        return SL_ENOMEM;
    }
    if (s->gzip) {
        s->zout = malloc(ZOUT_SIZE);
        if (!s->zout) {
            return SL_ENOMEM;
        }
        /* 15 + 16: a gzip wrapper rather than raw zlib. */
        if (deflateInit2(&s->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK) {
            return sl_err_set(&ctx->err, SL_ENOMEM, "file sink: cannot start gzip");
        }
        s->zinit = true;
    }
    if (strncmp(path, "s3://", 5) == 0) {
        return open_object(s, ctx, &s3);
    }
    if ((rc = sl_mkdir_parents(path, &ctx->err)) != 0) {
        return sl_err_prefix(&ctx->err, rc, "file sink: cannot create %s", path);
    }
    s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (s->fd < 0) {
        return sl_err_set(&ctx->err, SL_EIO, "file sink: cannot create %s (temp file %s): %s",
                          s->path, s->tmp, strerror(errno));
    }
    s->created = true;
    return 0;
}

/* The url's form, known before a run when it holds no template. */
static int check_url(const sl_node_t *un, sl_err_t *err)
{
    const char *u = un->text;
    const char *shown = sl_node_display(un);
    if (strstr(u, "://") && strncmp(u, "file://", 7) != 0 && strncmp(u, "s3://", 5) != 0) {
        return sl_node_error(err, un,
                             "file sink: url '%s': only local paths, file:// and s3:// are "
                             "supported",
                             shown);
    }
    if (u[strlen(u) - 1] == '/') {
        return sl_node_error(err, un, "file sink: url '%s' names a folder, not a file", shown);
    }
    if (strncmp(u, "s3://", 5) == 0 && !strchr(u + 5, '/')) {
        return sl_node_error(err, un, "file sink: %s names a bucket, not an object", shown);
    }
    return 0;
}

/* Rules between keys, without I/O: for `sluice validate`, and run first by
 * open(). */
static int file_sink_check(const sl_node_t *cfg, sl_err_t *err)
{
    const sl_node_t *un = sl_node_get(cfg, "url");
    bool literal = sl_cfg_literal(un) && un->len > 0;
    int rc = literal ? check_url(un, err) : 0;
    return rc ? rc : sl_text_check(cfg, "file sink", literal ? un->text : NULL, err);
}

static int file_sink_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    *self = NULL;
    file_sink_t *s = calloc(1, sizeof *s);
    if (!s) {
        return SL_ENOMEM;
    }
    s->ctx = ctx;
    s->fd = -1;
    sl_buf_init(&s->buf, 0);
    int rc = file_sink_check(cfg, &ctx->err);
    rc = rc ? rc : open_sink(s, ctx, cfg);
    if (rc) {
        /* The engine closes only sinks that opened. */
        file_sink_close(s);
        return rc;
    }
    *self = s;
    return 0;
}

static int file_sink_write(void *self, sl_batch_t *b, const char *key, const char *checkpoint)
{
    (void)key;
    (void)checkpoint;
    file_sink_t *s = self;
    for (size_t i = 0; i < b->n; i++) {
        int rc = sl_text_enc_record(&s->enc, &s->buf, b, i, &s->ctx->err);
        if (rc) {
            if (rc == SL_ENOMEM || rc == SL_ELIMIT) {
                return sl_err_set(&s->ctx->err, rc, "file sink: out of memory encoding %s",
                                  s->path);
            }
            return rc;
        }
        if (s->buf.len >= FLUSH_AT && (rc = flush_buf(s, false)) != 0) {
            return rc;
        }
    }
    return 0;
}

/* Splits s->path into a malloc'd folder ("." for bare names) and the
 * file name within it. */
static char *folder_of(const char *path, const char **name)
{
    const char *slash = strrchr(path, '/');
    *name = slash ? slash + 1 : path;
    if (!slash) {
        return strdup(".");
    }
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    return strndup(path, n);
}

/* Removes "<name>.tmp-*" files left by runs that were killed (a failing run
 * removes its own temp file in close()). */
static void remove_stale_temps(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    if (!d) {
        return;
    }
    size_t nl = strlen(name);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, name, nl) == 0 && strncmp(e->d_name + nl, ".tmp-", 5) == 0) {
            if (unlinkat(dirfd(d), e->d_name, 0) == 0) {
                sl_debug("file sink: removed the stale temp file %s/%s", dir, e->d_name);
            }
        }
    }
    closedir(d);
}

static int commit_object(file_sink_t *s)
{
    int rc = sl_text_enc_finish(&s->enc, &s->buf);
    if (!rc) {
        rc = flush_buf(s, true);
    }
    if (rc) {
        return rc;
    }
    sl_obj_info_t info;
    if (s->enc.nrecords == 0 && sl_objstore_head(s->store, s->key, &info, NULL) == 0) {
        /* As for local files: a run that read nothing new keeps the object. */
        sl_objwriter_free(s->ow);
        s->ow = NULL;
        s->committed = true;
        sl_info("file sink: no records in this run; %s left as it was", s->path);
        return 0;
    }
    rc = sl_objwriter_commit(s->ow, &s->ctx->err);
    if (rc) {
        return sl_err_prefix(&s->ctx->err, rc, "file sink: cannot publish %s", s->path);
    }
    s->committed = true;
    return 0;
}

/* The step's output lists the file, for later steps to read it
 * ({{ steps.NAME.output.files[0] }}). */
static int output_files(file_sink_t *s)
{
    sl_value_t list = {.type = SL_T_ARRAY, .len = 1};
    sl_value_t path = sl_value_str(s->path, strlen(s->path));
    list.u.items = &path;
    return sl_step_output_put(s->ctx, "files", &list);
}

static int file_sink_commit(void *self)
{
    file_sink_t *s = self;
    if (s->ow) {
        int rc = commit_object(s);
        return rc ? rc : output_files(s);
    }
    if (s->fd < 0) {
        return sl_err_set(&s->ctx->err, SL_EIO, "file sink: %s is not open", s->path);
    }
    int rc = sl_text_enc_finish(&s->enc, &s->buf);
    if (!rc) {
        rc = flush_buf(s, true);
    }
    if (rc) {
        return rc;
    }
    if (fsync(s->fd) != 0) {
        return io_error(s, "cannot fsync");
    }
    int fd = s->fd;
    s->fd = -1;
    if (close(fd) != 0) {
        return io_error(s, "cannot close");
    }
    const char *name;
    char *dir = folder_of(s->path, &name);
    if (!dir) {
        return SL_ENOMEM;
    }
    struct stat st;
    if (s->enc.nrecords == 0 && stat(s->path, &st) == 0 && S_ISREG(st.st_mode)) {
        /* A run that read nothing new (an incremental rerun) must not wipe
         * what the previous run published. */
        unlink(s->tmp);
        s->committed = true;
        sl_info("file sink: no records in this run; %s left as it was", s->path);
    } else {
        if (rename(s->tmp, s->path) != 0) {
            rc = io_error(s, "cannot rename the temp file to");
            free(dir);
            return rc;
        }
        s->committed = true;
        SL_FAULT_POINT("file_sink.after_rename");
        /* The rename is durable only once the folder is. */
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0) {
            rc = sl_err_set(&s->ctx->err, SL_EIO, "file sink: cannot fsync the folder %s: %s",
                            dir, strerror(errno));
        }
        if (dfd >= 0) {
            close(dfd);
        }
    }
    remove_stale_temps(dir, name);
    free(dir);
    return rc ? rc : output_files(s);
}

static void file_sink_close(void *self)
{
    file_sink_t *s = self;
    if (!s) {
        return;
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    if (s->ow) {
        sl_objwriter_free(s->ow); /* aborts the upload when not committed */
    } else if (s->created && !s->committed) {
        unlink(s->tmp);
    }
    sl_objstore_close(s->store);
    free(s->key);
    if (s->zinit) {
        deflateEnd(&s->zs);
    }
    sl_text_enc_free(&s->enc);
    sl_buf_free(&s->buf);
    free(s->zout);
    free(s->path);
    free(s->tmp);
    free(s);
}

const sl_sink_type_t sl_sink_file = {
    .name = "file",
    .doc = "JSON Lines, CSV or JSON array files, plain or gzip, written atomically at the end "
           "of the step",
    .config = file_sink_config,
    .flags = 0,
    .check = file_sink_check,
    .open = file_sink_open,
    .instance_flags = NULL,
    .write = file_sink_write,
    .commit = file_sink_commit,
    .checkpoint_get = NULL,
    .close = file_sink_close,
};
