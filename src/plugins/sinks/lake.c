/* The `lake` sink: records into Parquet files under Hive partitions, on a
 * local folder or S3, published atomically and exactly once.
 *
 * Layout: <url>/<k1>=<v1>/<k2>=<v2>/part-NNNNN-<run8>.parquet, one folder
 * level per partition_by field, values in their text form escaped the way
 * Hive escapes path names (null and "" are __HIVE_DEFAULT_PARTITION__).
 * Partition fields are left out of the files: Hive readers restore them
 * from the path. NNNNN counts the files of one partition in one run;
 * run8 is the first 8 hex digits of the run id, so two runs never pick
 * the same name (a HEAD before each new file skips a name that exists
 * anyway) and a crashed run's leftovers can be told apart from anyone
 * else's.
 *
 * Writing: every partition has at most one open file (a Parquet writer
 * streaming into an object writer: a hidden temp file, or a multipart
 * upload). Without a declared schema, a partition's records are kept in
 * a compact binary form until a row group is full, while the partition's
 * inferred schema widens (src/format/pq_schema.c); the row group is then
 * fed to the writer. A file's schema is fixed when it is created: if the
 * schema widened since, the file is finished and a new one started. With
 * a declared schema records go straight to the writer, and one that does
 * not fit is rejected with the writer's reason. Files roll at
 * max_file_rows / max_file_bytes; when everything buffered exceeds
 * max_buffer_bytes, the biggest partition flushes its row group.
 *
 * Delivery (the sink is not durable per batch: the engine stores the
 * source's progress after commit, in one state transaction):
 *   open    a checkpoint "lake:<step>:pending" = {"run": id} marks the run
 *   commit  every file is finished (footer written, nothing visible); the
 *           marker gets the list of final keys and the step's last
 *           checkpoint; then every file is published (rename / complete)
 *   close   when the engine's checkpoint equals the one in the marker, the
 *           run's progress is recorded and the marker is deleted;
 *           otherwise the files just published are deleted again
 *   next open  a marker left by a killed run is resolved the same way:
 *           files whose progress never landed are deleted (the rerun
 *           writes their data again), and that run's temp files in a
 *           local lake are removed
 * So after a SIGKILL at any moment a rerun leaves no partial and no
 * duplicate file. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sluice/connection.h"
#include "sluice/fault.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/objstore.h"
#include "sluice/parquet.h"
#include "sluice/plugin.h"
#include "sluice/pq_schema.h"
#include "sluice/state.h"
#include "sluice/template.h"

#define DEFAULT_PARTITION "__HIVE_DEFAULT_PARTITION__"
#define S3_PART_SIZE (5u << 20) /* the S3 minimum: least memory per open upload */

static const char *const formats[] = {"parquet", NULL};
static const char *const codecs[] = {"snappy", "zstd", "gzip", "none", NULL};
static const char *const nested_modes[] = {"struct", "json", NULL};

static const sl_field_spec_t lake_config[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .doc = "lake"},
    {.name = "url", .type = SL_FIELD_STRING, .min_len = 1,
     .doc = "s3://bucket/prefix, file://rel/or/abs, or a folder relative to the pipeline file; "
            "may use {{ params.x }} and {{ run.x }}"},
    {.name = "connection", .type = SL_FIELD_STRING, .min_len = 1,
     .doc = "pipeline connection with url, endpoint, region, access_key, secret_key, "
            "session_token, path_style, max_retries, timeout_ms"},
    {.name = "format", .type = SL_FIELD_STRING, .choices = formats, .def = "parquet",
     .doc = "parquet (the only format)"},
    {.name = "compression", .type = SL_FIELD_STRING, .choices = codecs, .def = "snappy",
     .doc = "snappy, zstd, gzip or none"},
    {.name = "compression_level", .type = SL_FIELD_INT, .def = "0 (the codec's default)",
     .doc = "zstd (up to 22) or gzip (up to 9) level"},
    {.name = "partition_by", .type = SL_FIELD_STRING_LIST, .min_len = 1,
     .doc = "record fields making the Hive folders"},
    {.name = "schema", .type = SL_FIELD_MAP, .def = "inferred",
     .doc = "declared columns: {name: type}"},
    {.name = "nested", .type = SL_FIELD_STRING, .choices = nested_modes, .def = "struct",
     .doc = "inferred schemas: objects/arrays as struct/list columns (struct) or JSON text "
            "(json)"},
    {.name = "max_file_rows", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1), .def = "1000000",
     .doc = "rows per file before rolling"},
    {.name = "max_file_bytes", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1),
     .def = "268435456 (256 MiB)", .doc = "approximate bytes per file"},
    {.name = "max_buffer_bytes", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1),
     .def = "268435456 (256 MiB)", .doc = "memory for buffered rows of all partitions"},
    {.name = "row_group_rows", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1), .def = "131072",
     .doc = "rows per row group"},
    {.name = "infer_rows", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1), .def = "20480",
     .doc = "rows a partition's schema is inferred from before its file starts (at most "
            "row_group_rows)"},
    {.name = "row_group_bytes", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1),
     .def = "67108864 (64 MiB)", .doc = "buffered bytes per row group"},
    {.name = "page_bytes", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1),
     .def = "1048576 (1 MiB)", .doc = "data page size"},
    {.name = "page_v2", .type = SL_FIELD_BOOL, .def = "false", .doc = "data pages v2"},
    {.name = "dictionary", .type = SL_FIELD_BOOL, .def = "true", .doc = "dictionary encoding"},
    {.name = NULL},
};

typedef struct lake lake_t;
typedef struct part part_t;

/* One Parquet file of this run. */
typedef struct {
    lake_t *lake;
    part_t *part;
    char *key;          /* final key in the store */
    sl_objwriter_t *ow; /* until published or aborted */
    sl_pq_writer_t *pw; /* until finished */
    sl_arena_t *arena;  /* the file's schema */
    const sl_pq_node_t *schema;
    uint64_t rows, bytes;
    bool published;
} lfile_t;

/* Encoded records, in chunks freed one by one as a row group is fed to
 * its file: memory peaks at one row group, not two. */
typedef struct chunk {
    struct chunk *next;
    size_t len, cap;
    char data[];
} chunk_t;

#define CHUNK_SIZE (1u << 20)

/* The top-level shape of a record merged into a partition (keys in order,
 * scalar value types). A record of a known shape would change nothing in
 * the schema, so merging it is skipped; `plain` says its values already
 * have their column's type in `file`, so conforming is skipped too.
 * Records holding objects or arrays are never cached. A partition keeps
 * NSHAPES of them (records alternate between a few shapes, e.g. a field
 * that is sometimes null). */
typedef struct {
    char *keybuf;     /* the keys, back to back */
    uint32_t *klen;
    uint8_t *types;
    size_t n;
    bool valid;
    bool plain;
    const void *file; /* the open file `plain` and `col` were computed for */
    int32_t *col;     /* per column of `file`: its key's index here, or -1 */
} shape_t;

#define NSHAPES 4

/* One partition folder. */
struct part {
    shape_t shapes[NSHAPES];
    unsigned next_shape; /* the slot the next new shape replaces */
    char *dir; /* "k1=v1/k2=v2" escaped, "" without partition_by */
    size_t dlen;
    uint64_t hash;
    sl_arena_t *arena;         /* inferred schema (grows) */
    sl_pq_node_t *schema;      /* inferred, UNKNOWN columns included */
    sl_pq_node_t *fin;         /* what a new file would get */
    bool dirty;                /* schema changed since fin */
    struct chunk *head, *tail; /* encoded records not yet given to a file */
    uint64_t row_bytes;        /* their size */
    size_t nrows;
    lfile_t *cur; /* open file or NULL */
    unsigned seq; /* next part number */
};

struct lake {
    sl_step_ctx_t *ctx;
    sl_objstore_t *st;
    char *prefix;     /* key prefix ("" or ending with '/') */
    char *where;      /* for messages: the url as resolved */
    char *local_root; /* file stores: the folder (for temp sweeping) */
    char run8[9];
    char pending_key[300];
    const char *pipeline;
    char **pkeys; /* partition_by, NULL-terminated */
    size_t npkeys;
    sl_pq_node_t *declared; /* without the partition columns, or NULL */
    sl_pqs_nested_t nested;
    sl_pq_opts_t opts;
    uint64_t max_file_rows, max_file_bytes, max_buffer_bytes;
    uint64_t rg_rows, rg_bytes;
    uint64_t infer_rows; /* rows buffered before a file's schema is fixed */

    part_t **parts; /* open addressing on hash */
    size_t nparts, capparts;
    part_t *last; /* partition of the previous record */
    lfile_t **files;
    size_t nfiles, capfiles;

    sl_arena_t *scratch; /* decoded records, reset per record */
    sl_buf_t enc;        /* one record being encoded */
    sl_buf_t dir;        /* partition path being built */
    sl_buf_t text;
    char *last_cp; /* the last checkpoint given to write() */
    bool marker;   /* our pending key exists */
    bool listed;   /* the marker lists files about to be published */
    bool committed;
    sl_err_t io_err; /* from the object writer inside the Parquet writer */
};

static int oom(lake_t *s)
{
    return sl_err_set(&s->ctx->err, SL_ENOMEM, "lake sink: out of memory");
}

static const char *step_name(const sl_step_ctx_t *ctx)
{
    return ctx->step && ctx->step->name ? ctx->step->name : "?";
}

/* ---- partition paths ---- */

/* Hive's FileUtils.escapePathName set, plus NUL: kept out of path
 * segments as %XX. Bytes >= 0x80 (UTF-8) are kept. */
static bool needs_escape(unsigned char c)
{
    if (c < 0x20 || c == 0x7f) {
        return true;
    }
    return strchr("\"#%'*/:=?\\{[]^", c) != NULL;
}

static int append_escaped(sl_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (sl_buf_reserve(b, n * 3) != 0) {
        return SL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (needs_escape(c)) {
            b->data[b->len++] = '%';
            b->data[b->len++] = hex[c >> 4];
            b->data[b->len++] = hex[c & 15];
        } else {
            b->data[b->len++] = (char)c;
        }
    }
    b->data[b->len] = '\0';
    return 0;
}

/* Builds s->dir for rec: "k1=v1/k2=v2". */
static int partition_dir(lake_t *s, const sl_value_t *rec)
{
    sl_buf_clear(&s->dir);
    for (size_t k = 0; k < s->npkeys; k++) {
        const char *key = s->pkeys[k];
        if (k > 0 && sl_buf_putc(&s->dir, '/') != 0) {
            return SL_ENOMEM;
        }
        if (append_escaped(&s->dir, key, strlen(key)) != 0 || sl_buf_putc(&s->dir, '=') != 0) {
            return SL_ENOMEM;
        }
        const sl_value_t *v = sl_object_get_c(rec, key);
        int rc;
        if (!v || v->type == SL_T_NULL || (v->type == SL_T_STRING && v->len == 0)) {
            rc = sl_buf_append_c(&s->dir, DEFAULT_PARTITION);
        } else if (v->type == SL_T_STRING) {
            rc = append_escaped(&s->dir, v->u.s, v->len);
        } else {
            sl_buf_clear(&s->text);
            rc = sl_value_to_text(v, &s->text);
            if (!rc) {
                rc = append_escaped(&s->dir, s->text.data ? s->text.data : "", s->text.len);
            }
        }
        if (rc) {
            return SL_ENOMEM;
        }
    }
    if (!s->dir.data && sl_buf_reserve(&s->dir, 1) != 0) {
        return SL_ENOMEM;
    }
    return 0;
}

static uint64_t hash_str(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    }
    return h;
}

static int grow_parts(lake_t *s)
{
    size_t cap = s->capparts ? s->capparts * 2 : 16;
    part_t **t = calloc(cap, sizeof *t);
    if (!t) {
        return oom(s);
    }
    for (size_t i = 0; i < s->capparts; i++) {
        part_t *p = s->parts[i];
        if (p) {
            size_t j = p->hash & (cap - 1);
            while (t[j]) {
                j = (j + 1) & (cap - 1);
            }
            t[j] = p;
        }
    }
    free(s->parts);
    s->parts = t;
    s->capparts = cap;
    return 0;
}

/* The partition for s->dir, created on first use. */
static int find_part(lake_t *s, part_t **out)
{
    const char *d = s->dir.data;
    size_t n = s->dir.len;
    if (s->last && s->last->dlen == n && sl_mem_eq(s->last->dir, d, n)) {
        *out = s->last;
        return 0;
    }
    if ((s->nparts + 1) * 2 > s->capparts && grow_parts(s) != 0) {
        return SL_ENOMEM;
    }
    uint64_t h = hash_str(d, n);
    size_t j = h & (s->capparts - 1);
    while (s->parts[j]) {
        part_t *p = s->parts[j];
        if (p->hash == h && p->dlen == n && memcmp(p->dir, d, n) == 0) {
            *out = s->last = p;
            return 0;
        }
        j = (j + 1) & (s->capparts - 1);
    }
    part_t *p = calloc(1, sizeof *p);
    if (!p || !(p->dir = strndup(d, n))) {
        free(p);
        return oom(s);
    }
    p->hash = h;
    p->dlen = n;
    if (!s->declared) {
        p->arena = sl_arena_create(16 * 1024, 0);
        if (!p->arena || sl_pq_schema_infer(p->arena, NULL, 0, s->nested, NULL, &p->schema) != 0) {
            sl_arena_destroy(p->arena);
            free(p->dir);
            free(p);
            return oom(s);
        }
        p->dirty = true;
    }
    s->parts[j] = p;
    s->nparts++;
    *out = s->last = p;
    return 0;
}

/* ---- compact record encoding (rows waiting for a row group) ---- */

enum {
    E_NULL,
    E_FALSE,
    E_TRUE,
    E_INT,
    E_DOUBLE,
    E_RAWDOUBLE,
    E_BIGNUM,
    E_STRING,
    E_TIMESTAMP,
    E_DATE,
    E_ARRAY,
    E_OBJECT,
};

static void put_varint(sl_buf_t *b, uint64_t v)
{
    while (v >= 0x80) {
        b->data[b->len++] = (char)(v | 0x80);
        v >>= 7;
    }
    b->data[b->len++] = (char)v;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static int put_bytes(sl_buf_t *b, uint8_t tag, const char *p, size_t n)
{
    if (sl_buf_reserve(b, n + 11) != 0) {
        return SL_ENOMEM;
    }
    b->data[b->len++] = (char)tag;
    put_varint(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* A top-level key listed in skip (partition fields). */
static bool skipped_key(char *const *skip, const char *key, size_t klen)
{
    for (size_t k = 0; skip && skip[k]; k++) {
        if (strlen(skip[k]) == klen && memcmp(skip[k], key, klen) == 0) {
            return true;
        }
    }
    return false;
}

static int encode(sl_buf_t *b, const sl_value_t *v, char *const *skip)
{
    if (sl_buf_reserve(b, 11) != 0) {
        return SL_ENOMEM;
    }
    switch (v->type) {
    case SL_T_NULL:
        b->data[b->len++] = E_NULL;
        return 0;
    case SL_T_BOOL:
        b->data[b->len++] = v->u.i ? E_TRUE : E_FALSE;
        return 0;
    case SL_T_INT:
    case SL_T_TIMESTAMP:
    case SL_T_DATE:
        b->data[b->len++] = v->type == SL_T_INT    ? E_INT
                            : v->type == SL_T_DATE ? E_DATE
                                                   : E_TIMESTAMP;
        put_varint(b, zigzag(v->u.i));
        return 0;
    case SL_T_DOUBLE:
        if (v->flags & SL_VF_RAW) {
            return put_bytes(b, E_RAWDOUBLE, v->u.s, v->len);
        }
        b->data[b->len++] = E_DOUBLE;
        memcpy(b->data + b->len, &v->u.d, 8);
        b->len += 8;
        return 0;
    case SL_T_BIGNUM:
        return put_bytes(b, E_BIGNUM, v->u.s, v->len);
    case SL_T_STRING:
        return put_bytes(b, E_STRING, v->u.s, v->len);
    case SL_T_ARRAY:
        b->data[b->len++] = E_ARRAY;
        put_varint(b, v->len);
        for (uint32_t i = 0; i < v->len; i++) {
            int rc = encode(b, &v->u.items[i], NULL);
            if (rc) {
                return rc;
            }
        }
        return 0;
    case SL_T_OBJECT: {
        uint32_t n = 0;
        for (uint32_t i = 0; i < v->len; i++) {
            const sl_member_t *m = &v->u.members[i];
            n += skipped_key(skip, m->key, m->klen) ? 0 : 1;
        }
        b->data[b->len++] = E_OBJECT;
        put_varint(b, n);
        for (uint32_t i = 0; i < v->len; i++) {
            const sl_member_t *m = &v->u.members[i];
            if (skipped_key(skip, m->key, m->klen)) {
                continue;
            }
            if (sl_buf_reserve(b, m->klen + 10) != 0) {
                return SL_ENOMEM;
            }
            put_varint(b, m->klen);
            memcpy(b->data + b->len, m->key, m->klen);
            b->len += m->klen;
            int rc = encode(b, &m->val, NULL);
            if (rc) {
                return rc;
            }
        }
        return 0;
    }
    default:
        b->data[b->len++] = E_NULL;
        return 0;
    }
}

static uint64_t get_varint(const char **p)
{
    uint64_t v = 0;
    int shift = 0;
    const unsigned char *q = (const unsigned char *)*p;
    while (*q & 0x80) {
        v |= (uint64_t)(*q++ & 0x7f) << shift;
        shift += 7;
    }
    v |= (uint64_t)*q++ << shift;
    *p = (const char *)q;
    return v;
}

/* Decodes one value; strings borrow from the encoded buffer. */
static int decode(sl_arena_t *a, const char **p, sl_value_t *out)
{
    uint8_t tag = (uint8_t) * (*p)++;
    memset(out, 0, sizeof *out);
    switch (tag) {
    case E_NULL:
        return 0;
    case E_FALSE:
    case E_TRUE:
        *out = sl_value_bool(tag == E_TRUE);
        return 0;
    case E_INT:
        *out = sl_value_int(unzigzag(get_varint(p)));
        return 0;
    case E_TIMESTAMP:
        *out = sl_value_timestamp(unzigzag(get_varint(p)));
        return 0;
    case E_DATE:
        *out = sl_value_date(unzigzag(get_varint(p)));
        return 0;
    case E_DOUBLE: {
        double d;
        memcpy(&d, *p, 8);
        *p += 8;
        *out = sl_value_double(d);
        return 0;
    }
    case E_RAWDOUBLE:
    case E_BIGNUM:
    case E_STRING: {
        size_t n = (size_t)get_varint(p);
        *out = sl_value_str(*p, n);
        if (tag == E_RAWDOUBLE) {
            out->type = SL_T_DOUBLE;
            out->flags = SL_VF_RAW;
        } else if (tag == E_BIGNUM) {
            out->type = SL_T_BIGNUM;
        }
        *p += n;
        return 0;
    }
    case E_ARRAY: {
        uint32_t n = (uint32_t)get_varint(p);
        sl_value_t *items = n ? sl_arena_alloc(a, n * sizeof *items) : NULL;
        if (n && !items) {
            return SL_ENOMEM;
        }
        for (uint32_t i = 0; i < n; i++) {
            int rc = decode(a, p, &items[i]);
            if (rc) {
                return rc;
            }
        }
        out->type = SL_T_ARRAY;
        out->len = n;
        out->u.items = items;
        return 0;
    }
    case E_OBJECT: {
        uint32_t n = (uint32_t)get_varint(p);
        sl_member_t *ms = n ? sl_arena_alloc(a, n * sizeof *ms) : NULL;
        if (n && !ms) {
            return SL_ENOMEM;
        }
        for (uint32_t i = 0; i < n; i++) {
            ms[i].klen = (uint32_t)get_varint(p);
            ms[i].key = *p;
            ms[i].reserved = 0;
            *p += ms[i].klen;
            int rc = decode(a, p, &ms[i].val);
            if (rc) {
                return rc;
            }
        }
        out->type = SL_T_OBJECT;
        out->len = n;
        out->u.members = ms;
        return 0;
    }
    default:
        return SL_EINVAL;
    }
}

/* Appends the record encoded in s->enc to p's chunks. */
static int push_row(lake_t *s, part_t *p)
{
    size_t n = s->enc.len;
    chunk_t *c = p->tail;
    if (!c || c->cap - c->len < n) {
        size_t cap = n > CHUNK_SIZE ? n : CHUNK_SIZE;
        c = malloc(sizeof *c + cap);
        if (!c) {
            return oom(s);
        }
        c->next = NULL;
        c->len = 0;
        c->cap = cap;
        if (p->tail) {
            p->tail->next = c;
        } else {
            p->head = c;
        }
        p->tail = c;
    }
    memcpy(c->data + c->len, s->enc.data, n);
    c->len += n;
    p->row_bytes += n;
    p->nrows++;
    return 0;
}

static void free_rows(part_t *p)
{
    while (p->head) {
        chunk_t *next = p->head->next;
        free(p->head);
        p->head = next;
    }
    p->tail = NULL;
    p->row_bytes = 0;
    p->nrows = 0;
}

/* ---- files ---- */

static int pq_out(void *ud, const void *data, size_t n)
{
    lfile_t *f = ud;
    return sl_objwriter_write(f->ow, data, n, &f->lake->io_err);
}

/* A key relative to the sink's url, for messages. */
static const char *rel(const lake_t *s, const char *key)
{
    return key + strlen(s->prefix);
}

/* Prefixes a Parquet writer error with the file; prefers the object
 * store's message when the bytes could not leave. */
static int file_error(lake_t *s, lfile_t *f, int rc, const sl_err_t *werr, const char *what)
{
    const char *msg = s->io_err.msg[0] ? s->io_err.msg : werr->msg;
    return sl_err_set(&s->ctx->err, rc ? rc : SL_EIO, "lake sink: %s %s/%s: %s", what, s->where,
                      rel(s, f->key), msg[0] ? msg : sl_strerror(rc));
}

/* Finishes f (footer written; the object stays invisible until commit). */
static int finish_file(lake_t *s, lfile_t *f)
{
    if (!f->pw) {
        return 0;
    }
    sl_err_t werr = {0};
    s->io_err.msg[0] = '\0';
    int rc = sl_pq_writer_finish(f->pw, &werr);
    if (rc) {
        return file_error(s, f, rc, &werr, "cannot finish");
    }
    f->rows = sl_pq_writer_rows(f->pw);
    sl_pq_writer_free(f->pw);
    f->pw = NULL;
    f->bytes = sl_objwriter_bytes(f->ow);
    sl_arena_destroy(f->arena);
    f->arena = NULL;
    f->schema = NULL;
    if (f->part && f->part->cur == f) {
        f->part->cur = NULL;
    }
    return 0;
}

/* Opens a new file for partition p with schema (copied). */
static int open_file(lake_t *s, part_t *p, const sl_pq_node_t *schema)
{
    if (s->nfiles == s->capfiles) {
        size_t cap = s->capfiles ? s->capfiles * 2 : 16;
        lfile_t **t = realloc(s->files, cap * sizeof *t);
        if (!t) {
            return oom(s);
        }
        s->files = t;
        s->capfiles = cap;
    }
    lfile_t *f = calloc(1, sizeof *f);
    if (!f) {
        return oom(s);
    }
    s->files[s->nfiles++] = f;
    f->lake = s;
    f->part = p;
    sl_err_t err = {0};
    /* A name that exists is skipped: never overwrite anyone's object. */
    for (;;) {
        free(f->key);
        f->key = NULL;
        if (asprintf(&f->key, "%s%s%spart-%05u-%s.parquet", s->prefix, p->dir, p->dir[0] ? "/" : "",
                     p->seq++, s->run8) < 0) {
            f->key = NULL;
            return oom(s);
        }
        sl_obj_info_t info;
        int rc = sl_objstore_head(s->st, f->key, &info, &err);
        if (rc == SL_ENOTFOUND) {
            break;
        }
        if (rc) {
            return sl_err_set(&s->ctx->err, rc, "lake sink: %s", err.msg);
        }
        sl_warn("lake sink: %s/%s exists already; taking the next number", s->where,
                rel(s, f->key));
    }
    f->arena = sl_arena_create(8 * 1024, 0);
    if (!f->arena || sl_pq_schema_clone(f->arena, schema, (sl_pq_node_t **)&f->schema) != 0) {
        return oom(s);
    }
    size_t part_size = sl_objstore_is_s3(s->st) ? S3_PART_SIZE : 0;
    int rc = sl_objwriter_open(s->st, f->key, part_size, &f->ow, &err);
    if (rc) {
        return sl_err_set(&s->ctx->err, rc, "lake sink: %s", err.msg);
    }
    s->io_err.msg[0] = '\0';
    rc = sl_pq_writer_new(f->schema, &s->opts, pq_out, f, &f->pw, &err);
    if (rc) {
        return file_error(s, f, rc, &err, "cannot start");
    }
    p->cur = f;
    return 0;
}

/* Rolls p's file when it reached a limit. */
static int maybe_roll(lake_t *s, part_t *p)
{
    lfile_t *f = p->cur;
    if (!f || !f->pw) {
        return 0;
    }
    return sl_pq_writer_reached(f->pw, s->max_file_rows, s->max_file_bytes) ? finish_file(s, f)
                                                                             : 0;
}

/* The schema a new file of p gets (inferred mode). */
static int part_final_schema(lake_t *s, part_t *p, const sl_pq_node_t **out)
{
    if (p->dirty) {
        if (sl_pq_schema_finalize(p->arena, p->schema, &p->fin) != 0) {
            return oom(s);
        }
        p->dirty = false;
    }
    *out = p->fin;
    return 0;
}

/* Inferred mode: gives p's buffered rows to its file (a new one when the
 * schema changed). end_rg also writes the file's row group out, freeing its
 * memory; otherwise later rows join the same row group. */
static int flush_part(lake_t *s, part_t *p, bool end_rg)
{
    if (p->nrows == 0) {
        return 0;
    }
    const sl_pq_node_t *schema = NULL;
    int rc = part_final_schema(s, p, &schema);
    if (rc) {
        return rc;
    }
    if (schema->nchildren == 0) {
        return sl_err_set(&s->ctx->err, SL_ESINK,
                          "lake sink: %s/%s: the records have no fields besides the partition "
                          "fields; a Parquet file needs at least one column",
                          s->where, p->dir);
    }
    if (p->cur && !sl_pq_schema_equal(p->cur->schema, schema)) {
        /* The schema widened after this file's first row group: a file has
         * one schema, so the widened rows start a new file. */
        sl_debug("lake sink: %s: schema changed; starting a new file", p->dir);
        if ((rc = finish_file(s, p->cur)) != 0) {
            return rc;
        }
    }
    while (p->head) {
        chunk_t *c = p->head;
        const char *q = c->data, *end = c->data + c->len;
        while (q < end) {
            if (!p->cur && (rc = open_file(s, p, schema)) != 0) {
                return rc;
            }
            sl_arena_reset(s->scratch);
            sl_value_t rec;
            if (decode(s->scratch, &q, &rec) != 0 ||
                sl_pq_schema_conform(s->scratch, schema, &rec) != 0) {
                return oom(s);
            }
            sl_err_t werr; /* per record: not 1 KiB of zeroing */
            werr.msg[0] = '\0';
            s->io_err.msg[0] = '\0';
            rc = sl_pq_writer_add(p->cur->pw, &rec, &werr);
            if (rc) {
                return file_error(s, p->cur, rc, &werr, "cannot write a record to");
            }
            if ((rc = maybe_roll(s, p)) != 0) {
                return rc;
            }
        }
        p->head = c->next;
        p->row_bytes -= c->len;
        free(c);
    }
    free_rows(p);
    if (p->cur && end_rg) {
        sl_err_t werr = {0};
        s->io_err.msg[0] = '\0';
        rc = sl_pq_writer_flush(p->cur->pw, &werr);
        if (rc) {
            return file_error(s, p->cur, rc, &werr, "cannot write a row group to");
        }
    }
    return 0;
}

/* Bytes a partition holds in memory. */
static uint64_t part_buffered(const part_t *p)
{
    uint64_t n = p->row_bytes;
    if (p->cur && p->cur->pw) {
        n += sl_pq_writer_buffered(p->cur->pw);
    }
    return n;
}

/* Flushes the biggest partitions while everything buffered exceeds the
 * budget. */
static int enforce_budget(lake_t *s)
{
    for (;;) {
        uint64_t total = 0, best = 0;
        part_t *big = NULL;
        for (size_t i = 0; i < s->capparts; i++) {
            part_t *p = s->parts[i];
            if (!p) {
                continue;
            }
            uint64_t n = part_buffered(p);
            total += n;
            if (n > best) {
                best = n;
                big = p;
            }
        }
        if (total <= s->max_buffer_bytes || !big) {
            return 0;
        }
        int rc;
        if (big->nrows > 0) {
            rc = flush_part(s, big, true);
        } else {
            sl_err_t werr = {0};
            s->io_err.msg[0] = '\0';
            rc = sl_pq_writer_flush(big->cur->pw, &werr);
            if (rc) {
                rc = file_error(s, big->cur, rc, &werr, "cannot write a row group to");
            }
        }
        if (rc) {
            return rc;
        }
    }
}

/* ---- the pending marker in the state store ---- */

static bool have_state(const lake_t *s)
{
    return s->ctx->state != NULL;
}

static int state_error(lake_t *s, int rc, const char *what)
{
    return sl_err_set(&s->ctx->err, rc, "lake sink: state store: %s: %s", what,
                      sl_state_errmsg(s->ctx->state));
}

static int put_marker(lake_t *s, bool with_files)
{
    sl_buf_t b = SL_BUF_INIT;
    const char *rid = s->ctx->run_id ? s->ctx->run_id : "";
    sl_buf_append_c(&b, "{\"run\":");
    sl_json_write_string(&b, rid, strlen(rid));
    if (with_files) {
        char key[300];
        snprintf(key, sizeof key, "step:%s", step_name(s->ctx));
        sl_buf_append_c(&b, ",\"key\":");
        sl_json_write_string(&b, key, strlen(key));
        sl_buf_append_c(&b, ",\"checkpoint\":");
        if (s->last_cp) {
            sl_json_write_string(&b, s->last_cp, strlen(s->last_cp));
        } else {
            sl_buf_append_c(&b, "null");
        }
        sl_buf_append_c(&b, ",\"files\":[");
        for (size_t i = 0; i < s->nfiles; i++) {
            if (i) {
                sl_buf_putc(&b, ',');
            }
            sl_json_write_string(&b, s->files[i]->key, strlen(s->files[i]->key));
        }
        sl_buf_putc(&b, ']');
    }
    int rc = sl_buf_putc(&b, '}');
    if (rc) {
        sl_buf_free(&b);
        return oom(s);
    }
    rc = sl_state_checkpoint_put(s->ctx->state, s->pipeline, s->pending_key, b.data, 0);
    sl_buf_free(&b);
    if (rc) {
        return state_error(s, rc, "cannot record the run's files");
    }
    s->marker = true;
    s->listed = with_files;
    return 0;
}

static int delete_marker(lake_t *s)
{
    int rc = sl_state_reset(s->ctx->state, s->pipeline, s->pending_key);
    if (rc) {
        return state_error(s, rc, "cannot clear the run's file list");
    }
    s->marker = false;
    s->listed = false;
    return 0;
}

/* True when the state holds the checkpoint cp under key: the engine
 * recorded the run's progress after its commit. */
static bool progress_landed(lake_t *s, const char *key, const char *cp)
{
    if (!cp || !key) {
        return false;
    }
    sl_checkpoint_t got;
    if (sl_state_checkpoint_get(s->ctx->state, s->pipeline, key, &got) != 0) {
        return false;
    }
    bool same = got.value && strcmp(got.value, cp) == 0;
    sl_checkpoint_free(&got);
    return same;
}

/* Removes the temp files a killed run (run8) left in a local lake. */
static void sweep_temps(lake_t *s, const char *dir, const char *run8, int depth, size_t *n)
{
    if (depth > 64) {
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        return;
    }
    char tag[40];
    snprintf(tag, sizeof tag, "-%s.parquet.", run8);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
            continue;
        }
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, name) < 0) {
            break;
        }
        struct stat sb;
        if (lstat(path, &sb) == 0) {
            if (S_ISDIR(sb.st_mode)) {
                sweep_temps(s, path, run8, depth + 1, n);
            } else if (name[0] == '.' && strncmp(name + 1, "part-", 5) == 0 && strstr(name, tag) &&
                       unlink(path) == 0) {
                (*n)++;
                sl_debug("lake sink: removed the temp file %s of a killed run", path);
            }
        }
        free(path);
    }
    closedir(d);
}

/* Resolves a marker left by a run: its files are kept when its progress
 * landed and deleted otherwise. Returns 0 when the marker can go. */
static int resolve_marker(lake_t *s, const char *json, bool ours)
{
    sl_arena_t *a = sl_arena_create(4096, 0);
    if (!a) {
        return oom(s);
    }
    sl_value_t v;
    sl_json_error_t jerr;
    int rc = 0;
    if (sl_json_parse(a, json, strlen(json), NULL, &v, &jerr) != 0 || v.type != SL_T_OBJECT) {
        sl_warn("lake sink: step %s: ignoring an unreadable file list in the state store",
                step_name(s->ctx));
        sl_arena_destroy(a);
        return 0;
    }
    const sl_value_t *run = sl_object_get_c(&v, "run");
    const sl_value_t *key = sl_object_get_c(&v, "key");
    const sl_value_t *cp = sl_object_get_c(&v, "checkpoint");
    const sl_value_t *files = sl_object_get_c(&v, "files");
    char *rid = run && run->type == SL_T_STRING ? sl_arena_strndup(a, run->u.s, run->len) : NULL;
    char *k = key && key->type == SL_T_STRING ? sl_arena_strndup(a, key->u.s, key->len) : NULL;
    char *c = cp && cp->type == SL_T_STRING ? sl_arena_strndup(a, cp->u.s, cp->len) : NULL;
    if (!ours && s->local_root && rid && strlen(rid) >= 8) {
        char r8[9];
        memcpy(r8, rid, 8);
        r8[8] = '\0';
        size_t n = 0;
        sweep_temps(s, s->local_root, r8, 0, &n);
        if (n) {
            sl_info("lake sink: removed %zu temp file(s) of the killed run %s", n, rid);
        }
    }
    /* Without any checkpoint the engine records nothing after commit, so
     * a committed run of ours stands; a killed one's files go. */
    bool landed = c ? progress_landed(s, k, c) : ours && s->committed;
    if (files && files->type == SL_T_ARRAY && files->len > 0 && !landed) {
        size_t removed = 0;
        for (uint32_t i = 0; i < files->len && rc == 0; i++) {
            const sl_value_t *f = &files->u.items[i];
            if (f->type != SL_T_STRING) {
                continue;
            }
            char *fk = sl_arena_strndup(a, f->u.s, f->len);
            sl_obj_info_t info;
            sl_err_t err = {0};
            int hr = fk ? sl_objstore_head(s->st, fk, &info, &err) : SL_ENOMEM;
            if (hr == SL_ENOTFOUND) {
                continue;
            }
            if (hr == 0) {
                hr = sl_objstore_delete(s->st, fk, &err);
            }
            if (hr) {
                rc = sl_err_set(&s->ctx->err, hr,
                                "lake sink: cannot remove %s/%s, published by run %s whose "
                                "progress was not recorded: %s",
                                s->where, fk ? rel(s, fk) : "?", rid ? rid : "?", err.msg);
                break;
            }
            removed++;
        }
        if (removed) {
            sl_warn("lake sink: removed %zu file(s) that run %s published before it stopped; "
                    "their records are written again",
                    removed, rid ? rid : "?");
        }
    }
    sl_arena_destroy(a);
    return rc;
}

/* At open: settles what an earlier run of this step left behind. */
static int recover(lake_t *s)
{
    sl_checkpoint_t cp;
    int rc = sl_state_checkpoint_get(s->ctx->state, s->pipeline, s->pending_key, &cp);
    if (rc == SL_ENOTFOUND) {
        return 0;
    }
    if (rc) {
        return state_error(s, rc, "cannot read the last run's file list");
    }
    rc = resolve_marker(s, cp.value ? cp.value : "{}", false);
    sl_checkpoint_free(&cp);
    if (rc == 0) {
        rc = delete_marker(s);
    }
    return rc;
}

/* ---- config ---- */

static int read_u64(lake_t *s, const sl_node_t *cfg, const char *key, uint64_t def, uint64_t min,
                    uint64_t *out)
{
    int64_t v;
    int rc = sl_cfg_int(cfg, key, (int64_t)def, &v, &s->ctx->err);
    if (rc) {
        return rc;
    }
    if (v < (int64_t)min) {
        return sl_node_error(&s->ctx->err, sl_node_get(cfg, key),
                             "sink 'lake': %s must be at least %llu", key, (unsigned long long)min);
    }
    *out = (uint64_t)v;
    return 0;
}

static const sl_node_t *find_connection(const sl_step_ctx_t *ctx, const char *name)
{
    const sl_pipeline_t *p = ctx->pipeline;
    for (size_t i = 0; p && i < p->nconnections; i++) {
        if (strcmp(p->connections[i].name, name) == 0) {
            return p->connections[i].node;
        }
    }
    return NULL;
}

/* The url (sink's, else the connection's) rendered over params and run,
 * and S3 settings from the connection. */
static int read_location(lake_t *s, const sl_node_t *cfg, const char **url, sl_s3_opts_t *s3,
                         bool *have_s3)
{
    sl_step_ctx_t *ctx = s->ctx;
    const sl_node_t *un = sl_node_get(cfg, "url");
    const sl_node_t *cn = sl_node_get(cfg, "connection");
    const char *conn_url = NULL;
    int rc = sl_connection_s3(ctx, cfg, "sink 'lake'", s3, &conn_url);
    if (rc) {
        return rc;
    }
    *have_s3 = cn != NULL;
    if (cn && !un) {
        /* The connection's url node, for messages naming its position. */
        const sl_node_t *conn = find_connection(ctx, cn->text);
        un = conn ? sl_node_get(conn, "url") : NULL;
        if (!un || !conn_url) {
            return sl_node_error(&ctx->err, conn ? conn : cn,
                                 "sink 'lake': connection '%s' has no url (and the sink gives "
                                 "none)",
                                 cn->text);
        }
    }
    if (!un) {
        return sl_node_error(&ctx->err, cfg, "sink 'lake': missing url (or connection)");
    }
    const char *raw = NULL;
    rc = sl_node_to_str(un, "url", &raw, &ctx->err);
    if (rc) {
        return rc;
    }
    sl_err_t terr;
    const char *r = NULL;
    rc = sl_render_once(ctx, raw, &r, &terr);
    if (rc == SL_EINVAL) {
        return sl_node_error(&ctx->err, un,
                             "sink 'lake': url: templates may use params and run, not record "
                             "(use partition_by for per-record folders)");
    }
    if (rc == SL_ECONFIG) {
        return sl_node_error(&ctx->err, un, "sink 'lake': url: %s", terr.msg);
    }
    if (rc) {
        return oom(s);
    }
    if (!r[0]) {
        return sl_node_error(&ctx->err, un, "sink 'lake': url renders to an empty location");
    }
    if (strstr(r, "://") && strncmp(r, "file://", 7) != 0 && strncmp(r, "s3://", 5) != 0) {
        return sl_node_error(&ctx->err, un,
                             "sink 'lake': url '%s': expected s3://, file:// or a folder", r);
    }
    *url = r;
    return 0;
}

static int read_partition_by(lake_t *s, const sl_node_t *cfg)
{
    const sl_node_t *pb = sl_node_get(cfg, "partition_by");
    size_t n = !pb || pb->is_null ? 0 : pb->kind == SL_NODE_SEQ ? pb->n : 1;
    s->pkeys = calloc(n + 1, sizeof *s->pkeys);
    if (!s->pkeys) {
        return oom(s);
    }
    for (size_t i = 0; i < n; i++) {
        const sl_node_t *item = pb->kind == SL_NODE_SEQ ? pb->items[i] : pb;
        const char *text = NULL;
        int rc = sl_node_to_str(item, "partition_by", &text, &s->ctx->err);
        if (rc) {
            return rc;
        }
        if (!text[0]) {
            return sl_node_error(&s->ctx->err, item, "sink 'lake': partition_by: empty field");
        }
        if (!(s->pkeys[i] = strdup(text))) {
            return oom(s);
        }
        s->npkeys++;
    }
    return 0;
}

static int read_options(lake_t *s, const sl_node_t *cfg)
{
    sl_err_t *err = &s->ctx->err;
    const char *codec = NULL, *nested = NULL;
    int64_t level = 0;
    bool v2 = false, dict = true;
    int rc = sl_cfg_str(cfg, "compression", "snappy", &codec, err);
    if (!rc) {
        rc = sl_cfg_str(cfg, "nested", "struct", &nested, err);
    }
    if (!rc) {
        rc = sl_cfg_int(cfg, "compression_level", 0, &level, err);
    }
    if (!rc) {
        rc = sl_cfg_bool(cfg, "page_v2", false, &v2, err);
    }
    if (!rc) {
        rc = sl_cfg_bool(cfg, "dictionary", true, &dict, err);
    }
    uint64_t page = 0;
    if (!rc) {
        rc = read_u64(s, cfg, "max_file_rows", 1000000, 1, &s->max_file_rows);
    }
    if (!rc) {
        rc = read_u64(s, cfg, "max_file_bytes", 256u << 20, 1, &s->max_file_bytes);
    }
    if (!rc) {
        rc = read_u64(s, cfg, "max_buffer_bytes", 256u << 20, 1, &s->max_buffer_bytes);
    }
    if (!rc) {
        /* About DuckDB's 122,880: memory stays at one modest row group per
         * open file, and readers still get large column chunks. */
        rc = read_u64(s, cfg, "row_group_rows", 131072, 1, &s->rg_rows);
    }
    if (!rc) {
        rc = read_u64(s, cfg, "row_group_bytes", 64u << 20, 1, &s->rg_bytes);
    }
    if (!rc) {
        /* DuckDB's read_json samples 20480 rows for its types too. */
        rc = read_u64(s, cfg, "infer_rows", 20480, 1, &s->infer_rows);
    }
    if (!rc && s->infer_rows > s->rg_rows) {
        s->infer_rows = s->rg_rows; /* never more than a row group waits */
    }
    if (!rc) {
        rc = read_u64(s, cfg, "page_bytes", 1u << 20, 1, &page);
    }
    if (rc) {
        return rc;
    }
    if (strcmp(codec, "snappy") == 0) {
        s->opts.codec = SL_PQ_SNAPPY;
    } else if (strcmp(codec, "zstd") == 0) {
        s->opts.codec = SL_PQ_ZSTD;
    } else if (strcmp(codec, "gzip") == 0) {
        s->opts.codec = SL_PQ_GZIP;
    } else {
        s->opts.codec = SL_PQ_UNCOMPRESSED;
    }
    s->opts.level = (int)level;
    s->opts.row_group_rows = (size_t)s->rg_rows;
    s->opts.row_group_bytes = (size_t)s->rg_bytes;
    s->opts.page_bytes = (size_t)page;
    s->opts.page_v2 = v2;
    s->opts.no_dictionary = !dict;
    s->nested = strcmp(nested, "json") == 0 ? SL_PQS_NESTED_JSON : SL_PQS_NESTED_STRUCT;
    return 0;
}

static void lake_close(void *self);

static int open_store(lake_t *s, const char *url, const sl_s3_opts_t *s3, bool have_s3)
{
    sl_step_ctx_t *ctx = s->ctx;
    sl_err_t err = {0};
    char *prefix = NULL;
    const char *loc = url;
    bool is_s3 = strncmp(url, "s3://", 5) == 0;
    if (!is_s3) {
        loc = sl_resolve_path(ctx->arena, ctx->base_dir, url);
        if (!loc) {
            return oom(s);
        }
        s->local_root = strdup(loc);
        if (!s->local_root) {
            return oom(s);
        }
    }
    int rc = sl_objstore_open(loc, is_s3 && have_s3 ? s3 : NULL, &s->st, &prefix, &err);
    if (rc) {
        free(prefix);
        return sl_err_set(&ctx->err, rc, "lake sink: %s", err.msg);
    }
    /* Keys are "<prefix>/<partition>/<file>": a prefix ends with one '/'. */
    s->prefix = sl_objstore_key_join(prefix, "");
    free(prefix);
    s->where = strdup(is_s3 ? url : loc);
    if (!s->prefix || !s->where) {
        return oom(s);
    }
    size_t wl = strlen(s->where);
    while (wl > 1 && s->where[wl - 1] == '/') {
        s->where[--wl] = '\0';
    }
    return 0;
}

static int lake_check(const sl_node_t *cfg, sl_err_t *err);

static int open_lake(lake_t *s, const sl_node_t *cfg)
{
    sl_step_ctx_t *ctx = s->ctx;
    const char *url = NULL;
    sl_s3_opts_t s3;
    bool have_s3 = false;
    int rc = lake_check(cfg, &ctx->err);
    if (!rc) {
        rc = read_location(s, cfg, &url, &s3, &have_s3);
    }
    if (!rc) {
        rc = read_partition_by(s, cfg);
    }
    if (!rc) {
        rc = read_options(s, cfg);
    }
    if (rc) {
        return rc;
    }
    const sl_node_t *sn = sl_node_get(cfg, "schema");
    if (sn && !sn->is_null) {
        sl_pq_node_t *root = NULL;
        rc = sl_pq_schema_parse(ctx->arena, sn, "sink 'lake': schema", &root, &ctx->err);
        if (rc) {
            return rc;
        }
        size_t dropped = sl_pq_schema_drop(root, (const char *const *)s->pkeys);
        if (dropped) {
            sl_debug("lake sink: %zu partition field(s) left out of the declared schema: the "
                     "folders hold them",
                     dropped);
        }
        s->declared = root; /* lake_check made sure a column is left */
    }
    const char *rid = ctx->run_id ? ctx->run_id : "";
    size_t k = 0;
    for (const char *p = rid; *p && k < 8; p++) {
        if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')) {
            s->run8[k++] = *p;
        }
    }
    while (k < 8) {
        s->run8[k++] = '0';
    }
    s->run8[8] = '\0';
    s->pipeline = ctx->pipeline && ctx->pipeline->name ? ctx->pipeline->name : "";
    snprintf(s->pending_key, sizeof s->pending_key, "lake:%s:pending", step_name(ctx));
    s->scratch = sl_arena_create(64 * 1024, 0);
    if (!s->scratch) {
        return oom(s);
    }
    if ((rc = open_store(s, url, &s3, have_s3)) != 0) {
        return rc;
    }
    if (have_state(s)) {
        if ((rc = recover(s)) != 0) {
            return rc;
        }
        if ((rc = put_marker(s, false)) != 0) {
            return rc;
        }
    }
    return 0;
}

static int lake_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    *self = NULL;
    lake_t *s = calloc(1, sizeof *s);
    if (!s) {
        return SL_ENOMEM;
    }
    s->ctx = ctx;
    sl_buf_init(&s->dir, 0);
    sl_buf_init(&s->text, 0);
    sl_buf_init(&s->enc, 0);
    int rc = open_lake(s, cfg);
    if (rc) {
        lake_close(s);
        return rc;
    }
    *self = s;
    return 0;
}

/* ---- write / commit / close ---- */

static bool scalar(uint8_t t)
{
    return t != SL_T_OBJECT && t != SL_T_ARRAY;
}

/* Whether rec has the cached shape of its partition. */
static bool same_shape(const shape_t *sh, const sl_value_t *rec)
{
    if (!sh->valid || rec->len != sh->n) {
        return false;
    }
    const sl_member_t *m = rec->u.members;
    /* types and lengths first: a shape that differs only in which values
     * are null fails here, before any key is compared */
    for (size_t i = 0; i < sh->n; i++) {
        if (m[i].klen != sh->klen[i] || m[i].val.type != sh->types[i]) {
            return false;
        }
    }
    const char *k = sh->keybuf;
    for (size_t i = 0; i < sh->n; i++) {
        if (!sl_mem_eq(m[i].key, k, m[i].klen)) {
            return false;
        }
        k += m[i].klen;
    }
    return true;
}

/* A value that the writer takes as is for a column of type t. */
static bool natural(uint8_t vt, sl_pq_type_t t)
{
    switch (vt) {
    case SL_T_NULL:
        return true;
    case SL_T_INT:
        return t == SL_PQ_INT64;
    case SL_T_DOUBLE:
        return t == SL_PQ_DOUBLE;
    case SL_T_STRING:
        return t == SL_PQ_STRING;
    case SL_T_BOOL:
        return t == SL_PQ_BOOL;
    case SL_T_TIMESTAMP:
        return t == SL_PQ_TIMESTAMP;
    case SL_T_DATE:
        return t == SL_PQ_DATE;
    default:
        return false;
    }
}

/* Remembers rec's shape (after it was merged); false when it has nested
 * values or memory is short (then nothing is cached). */
static void remember_shape(shape_t *sh, const sl_value_t *rec)
{
    sh->valid = false;
    size_t total = 0;
    for (uint32_t i = 0; i < rec->len; i++) {
        if (!scalar(rec->u.members[i].val.type)) {
            return;
        }
        total += rec->u.members[i].klen;
    }
    char *kb = realloc(sh->keybuf, total ? total : 1);
    if (kb) {
        sh->keybuf = kb;
    }
    uint32_t *kl = kb ? realloc(sh->klen, (rec->len + 1) * sizeof *kl) : NULL;
    if (kl) {
        sh->klen = kl;
    }
    uint8_t *ty = kl ? realloc(sh->types, rec->len + 1) : NULL;
    if (!ty) {
        return;
    }
    sh->types = ty;
    char *k = sh->keybuf;
    for (uint32_t i = 0; i < rec->len; i++) {
        const sl_member_t *m = &rec->u.members[i];
        memcpy(k, m->key, m->klen);
        k += m->klen;
        sh->klen[i] = m->klen;
        sh->types[i] = m->val.type;
    }
    sh->n = rec->len;
    sh->valid = true;
    sh->file = NULL;
}

/* Fills sh->col for the columns of schema: which key of the shape holds
 * each (the first one with its name, as the writer's own lookup finds),
 * and tells whether each of those values already has its column's type
 * (partition and unknown keys are not columns: the writer skips them).
 * False when one does not, or memory is short: the record then goes the
 * general way (conformed, keys looked up). */
static bool shape_map(shape_t *sh, const sl_pq_node_t *schema)
{
    int32_t *col = realloc(sh->col, (schema->nchildren + 1) * sizeof *col);
    if (!col) {
        return false;
    }
    sh->col = col;
    for (size_t c = 0; c < schema->nchildren; c++) {
        const char *name = schema->children[c].name;
        size_t len = strlen(name);
        const char *k = sh->keybuf;
        col[c] = -1;
        for (size_t i = 0; i < sh->n; i++) {
            if (sh->klen[i] == len && memcmp(name, k, len) == 0) {
                if (!natural(sh->types[i], schema->children[c].type)) {
                    return false;
                }
                col[c] = (int32_t)i;
                break;
            }
            k += sh->klen[i];
        }
    }
    return true;
}

static int lake_write(void *self, sl_batch_t *b, const char *key, const char *checkpoint)
{
    (void)key;
    lake_t *s = self;
    if (checkpoint) {
        char *cp = strdup(checkpoint);
        if (!cp) {
            return oom(s);
        }
        free(s->last_cp);
        s->last_cp = cp;
    }
    size_t w = 0;
    for (size_t i = 0; i < b->n; i++) {
        const sl_value_t *rec = &b->records[i];
        int rc;
        if (rec->type != SL_T_OBJECT) {
            char reason[120];
            snprintf(reason, sizeof reason, "lake: record is not an object (got %s)",
                     sl_type_name((sl_type_t)rec->type));
            if ((rc = sl_reject_record(s->ctx, b, i, reason)) != 0) {
                return rc;
            }
            continue;
        }
        part_t *p = s->npkeys == 0 ? s->last : NULL; /* no partitions: one part */
        if (!p && (partition_dir(s, rec) != 0 || find_part(s, &p) != 0)) {
            return oom(s);
        }
        if (s->declared) {
            if (!p->cur && (rc = open_file(s, p, s->declared)) != 0) {
                return rc;
            }
            sl_err_t werr; /* per record: not 1 KiB of zeroing */
            werr.msg[0] = '\0';
            s->io_err.msg[0] = '\0';
            rc = sl_pq_writer_add(p->cur->pw, rec, &werr);
            if (rc == SL_ETYPE) {
                char reason[SL_ERRMSG_MAX + 8];
                snprintf(reason, sizeof reason, "lake: %s", werr.msg);
                if ((rc = sl_reject_record(s->ctx, b, i, reason)) != 0) {
                    return rc;
                }
                continue;
            }
            if (rc) {
                return file_error(s, p->cur, rc, &werr, "cannot write a record to");
            }
            if ((rc = maybe_roll(s, p)) != 0) {
                return rc;
            }
        } else {
            bool changed = false;
            shape_t *sh = NULL;
            for (size_t k = 0; k < NSHAPES && !sh; k++) {
                if (same_shape(&p->shapes[k], rec)) {
                    sh = &p->shapes[k];
                }
            }
            if (!sh) {
                if (sl_pq_schema_merge(p->arena, &p->schema, rec, 1, s->nested,
                                       (const char *const *)s->pkeys, &changed) != 0) {
                    return oom(s);
                }
                sh = &p->shapes[p->next_shape];
                p->next_shape = (p->next_shape + 1) % NSHAPES;
                remember_shape(sh, rec);
                if (changed) {
                    /* The schema moved: what other shapes knew is stale. */
                    for (size_t k = 0; k < NSHAPES; k++) {
                        p->shapes[k].file = NULL;
                    }
                }
            }
            p->dirty = p->dirty || changed;
            if (p->cur && !p->dirty && p->nrows == 0) {
                /* The open file's schema already fits this record and no
                 * rows wait before it: straight to the writer, no detour
                 * through the row buffer. */
                sl_err_t werr; /* per record: not 1 KiB of zeroing */
                werr.msg[0] = '\0';
                s->io_err.msg[0] = '\0';
                if (sh->valid && sh->file != p->cur) {
                    sh->plain = shape_map(sh, p->cur->schema);
                    sh->file = p->cur;
                }
                bool plain = sh->valid && sh->plain;
                if (!plain &&
                    sl_pq_schema_conform(b->arena, p->cur->schema, &b->records[i]) != 0) {
                    return oom(s);
                }
                rc = plain ? sl_pq_writer_add_mapped(p->cur->pw, rec, sh->col, &werr)
                           : sl_pq_writer_add(p->cur->pw, rec, &werr);
                if (rc) {
                    return file_error(s, p->cur, rc, &werr, "cannot write a record to");
                }
                if ((rc = maybe_roll(s, p)) != 0) {
                    return rc;
                }
                w = sl_batch_keep(b, w, i);
                continue;
            }
            sl_buf_clear(&s->enc);
            if (encode(&s->enc, rec, s->pkeys) != 0 || push_row(s, p) != 0) {
                return oom(s);
            }
            if ((p->nrows >= s->infer_rows || p->row_bytes >= s->rg_bytes) &&
                (rc = flush_part(s, p, false)) != 0) {
                return rc;
            }
        }
        w = sl_batch_keep(b, w, i);
    }
    b->n = w;
    return enforce_budget(s);
}

static void human_count(char *out, size_t cap, uint64_t v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0) {
            out[o++] = ',';
        }
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

/* Local lakes: removes the folders above key that are empty (those an
 * aborted file had created), up to the lake's root. */
static void prune_dirs(const lake_t *s, const char *key)
{
    if (!s->local_root) {
        return;
    }
    char *path = NULL;
    if (asprintf(&path, "%s/%s", s->local_root, key) < 0) {
        return;
    }
    size_t root = strlen(s->local_root);
    for (;;) {
        char *slash = strrchr(path, '/');
        if (!slash || (size_t)(slash - path) <= root) {
            break;
        }
        *slash = '\0';
        if (rmdir(path) != 0) {
            break;
        }
    }
    free(path);
}

static void free_file(lake_t *s, lfile_t *f)
{
    if (f->pw) {
        sl_pq_writer_free(f->pw);
    }
    if (f->ow) {
        sl_objwriter_free(f->ow); /* aborts: nothing becomes visible */
        if (f->key) {
            prune_dirs(s, f->key);
        }
    }
    sl_arena_destroy(f->arena);
    free(f->key);
    free(f);
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp((*(lfile_t *const *)a)->key, (*(lfile_t *const *)b)->key);
}

/* The step's output lists the files published ({{ steps.NAME.output.files }}). */
static int output_files(lake_t *s)
{
    sl_value_t list = {.type = SL_T_ARRAY, .len = (uint32_t)s->nfiles};
    list.u.items = sl_arena_calloc(s->ctx->arena, (s->nfiles ? s->nfiles : 1) * sizeof(sl_value_t));
    if (!list.u.items) {
        return SL_ENOMEM;
    }
    for (size_t i = 0; i < s->nfiles; i++) {
        char *loc = sl_arena_sprintf(s->ctx->arena, "%s/%s", s->where, rel(s, s->files[i]->key));
        if (!loc) {
            return SL_ENOMEM;
        }
        list.u.items[i] = sl_value_str(loc, strlen(loc));
    }
    return sl_step_output_put(s->ctx, "files", &list);
}

static int lake_commit(void *self)
{
    lake_t *s = self;
    int rc = 0;
    for (size_t i = 0; i < s->capparts && rc == 0; i++) {
        if (s->parts[i]) {
            rc = flush_part(s, s->parts[i], true);
        }
    }
    for (size_t i = 0; i < s->nfiles && rc == 0; i++) {
        rc = finish_file(s, s->files[i]);
    }
    if (rc) {
        return rc;
    }
    /* A file whose every record was rejected is not worth publishing. */
    size_t w = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        if (s->files[i]->rows == 0) {
            free_file(s, s->files[i]);
        } else {
            s->files[w++] = s->files[i];
        }
    }
    s->nfiles = w;
    /* Listed and published in key order: logs and markers read well. */
    if (s->nfiles > 1) {
        qsort(s->files, s->nfiles, sizeof *s->files, cmp_file);
    }
    if (s->nfiles == 0) {
        sl_info("lake sink: no records in this run; nothing published under %s", s->where);
        s->committed = true;
        return 0;
    }
    /* Listed before anything is visible: a crash from here on leaves a
     * record of what to take back. */
    if (have_state(s) && (rc = put_marker(s, true)) != 0) {
        return rc;
    }
    SL_FAULT_POINT("lake.after_marker");
    uint64_t rows = 0, bytes = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        lfile_t *f = s->files[i];
        sl_err_t err = {0};
        rc = sl_objwriter_commit(f->ow, &err);
        if (rc) {
            return sl_err_set(&s->ctx->err, rc, "lake sink: cannot publish %s/%s: %s", s->where,
                              rel(s, f->key), err.msg);
        }
        f->published = true;
        SL_FAULT_POINT("lake.after_first_publish");
        sl_objwriter_free(f->ow);
        f->ow = NULL;
        rows += f->rows;
        bytes += f->bytes;
        sl_debug("lake sink: published %s/%s (%llu row%s, %llu bytes)", s->where, rel(s, f->key),
                 (unsigned long long)f->rows, f->rows == 1 ? "" : "s",
                 (unsigned long long)f->bytes);
    }
    s->committed = true;
    rc = output_files(s);
    if (rc) {
        return rc;
    }
    char nrows[40];
    human_count(nrows, sizeof nrows, rows);
    sl_info("lake sink: published %zu file%s, %s row%s, %.1f MB under %s", s->nfiles,
            s->nfiles == 1 ? "" : "s", nrows, rows == 1 ? "" : "s", (double)bytes / 1e6, s->where);
    return 0;
}

static void lake_close(void *self)
{
    lake_t *s = self;
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->nfiles; i++) {
        free_file(s, s->files[i]);
    }
    s->nfiles = 0;
    if (s->marker && have_state(s)) {
        /* After a commit the engine has recorded the step's progress, or
         * failed to: in that case the published files are taken back. */
        int rc = 0;
        if (s->listed) {
            sl_checkpoint_t cp;
            rc = sl_state_checkpoint_get(s->ctx->state, s->pipeline, s->pending_key, &cp);
            if (rc == 0) {
                rc = resolve_marker(s, cp.value ? cp.value : "{}", true);
                sl_checkpoint_free(&cp);
            }
        }
        if (rc == 0) {
            rc = delete_marker(s);
        }
        if (rc) {
            sl_warn("%s (the next run settles it)", s->ctx->err.msg);
        }
    }
    for (size_t i = 0; i < s->capparts; i++) {
        part_t *p = s->parts[i];
        if (p) {
            free_rows(p);
            for (size_t k = 0; k < NSHAPES; k++) {
                free(p->shapes[k].keybuf);
                free(p->shapes[k].klen);
                free(p->shapes[k].types);
                free(p->shapes[k].col);
            }
            sl_arena_destroy(p->arena);
            free(p->dir);
            free(p);
        }
    }
    free(s->parts);
    free(s->files);
    if (s->st) {
        sl_objstore_close(s->st);
    }
    for (size_t i = 0; s->pkeys && s->pkeys[i]; i++) {
        free(s->pkeys[i]);
    }
    free(s->pkeys);
    sl_arena_destroy(s->scratch);
    sl_buf_free(&s->dir);
    sl_buf_free(&s->text);
    sl_buf_free(&s->enc);
    free(s->prefix);
    free(s->where);
    free(s->local_root);
    free(s->last_cp);
    free(s);
}

/* The codec's level range; a level for a codec without levels would be
 * ignored, and one out of range fails only when the first file starts. */
static int check_level(const sl_node_t *cfg, sl_err_t *err)
{
    const sl_node_t *ln = sl_node_get(cfg, "compression_level");
    if (!ln || ln->unresolved) {
        return 0;
    }
    const char *codec = "snappy";
    int64_t level = 0;
    int rc = sl_cfg_str(cfg, "compression", "snappy", &codec, err);
    rc = rc ? rc : sl_cfg_int(cfg, "compression_level", 0, &level, err);
    if (rc || level == 0) {
        return rc;
    }
    sl_pq_codec_t c = strcmp(codec, "zstd") == 0   ? SL_PQ_ZSTD
                      : strcmp(codec, "gzip") == 0 ? SL_PQ_GZIP
                                                   : SL_PQ_SNAPPY;
    int lo, hi;
    sl_pq_codec_levels(c, &lo, &hi);
    if (lo == hi) {
        return sl_node_error(err, ln, "sink 'lake': compression_level applies to zstd and gzip, "
                             "not %s (set compression: zstd or gzip)", codec);
    }
    if (level < lo || level > hi) {
        return sl_node_error(err, ln, "sink 'lake': compression_level for %s must be between %d "
                             "and %d (0: the codec's default), got %lld", codec, lo, hi,
                             (long long)level);
    }
    return 0;
}

/* Side-effect-free checks for `sluice validate`; open() runs them first. */
static int lake_check(const sl_node_t *cfg, sl_err_t *err)
{
    const sl_node_t *un = sl_node_get(cfg, "url");
    if (!un && !sl_node_get(cfg, "connection")) {
        return sl_node_error(err, cfg, "sink 'lake': missing url (or connection)");
    }
    if (sl_cfg_literal(un) && strstr(un->text, "://") && strncmp(un->text, "file://", 7) != 0 &&
        strncmp(un->text, "s3://", 5) != 0) {
        return sl_node_error(err, un, "sink 'lake': url '%s': expected s3://, file:// or a folder",
                             sl_node_display(un));
    }
    const sl_node_t *pb = sl_node_get(cfg, "partition_by");
    for (size_t i = 1; pb && pb->kind == SL_NODE_SEQ && i < pb->n; i++) {
        for (size_t k = 0; k < i; k++) {
            if (strcmp(pb->items[k]->text, pb->items[i]->text) == 0) {
                return sl_node_error(err, pb->items[i],
                                     "sink 'lake': partition_by: '%s' appears twice",
                                     sl_node_display(pb->items[i]));
            }
        }
    }
    int rc = check_level(cfg, err);
    const sl_node_t *sn = sl_node_get(cfg, "schema");
    if (!rc && sn && !sn->is_null) {
        sl_arena_t *a = sl_arena_create(8192, 0);
        if (!a) {
            return sl_err_set(err, SL_ENOMEM, "out of memory");
        }
        sl_pq_node_t *root = NULL;
        rc = sl_pq_schema_parse(a, sn, "sink 'lake': schema", &root, err);
        if (!rc) {
            /* partition fields live in the folders, not in the files */
            size_t n = !pb || pb->is_null ? 0 : pb->kind == SL_NODE_SEQ ? pb->n : 1;
            const char **keys = sl_arena_calloc(a, (n + 1) * sizeof *keys);
            for (size_t i = 0; keys && i < n; i++) {
                keys[i] = pb->kind == SL_NODE_SEQ ? pb->items[i]->text : pb->text;
            }
            if (!keys) {
                rc = sl_err_set(err, SL_ENOMEM, "out of memory");
            } else if (sl_pq_schema_drop(root, keys) && root->nchildren == 0) {
                rc = sl_node_error(err, sn,
                                   "sink 'lake': schema: no column left besides the partition "
                                   "fields");
            }
        }
        sl_arena_destroy(a);
    }
    return rc;
}

const sl_sink_type_t sl_sink_lake = {
    .name = "lake",
    .doc = "Parquet files under Hive partitions on a folder or S3, published atomically and "
           "exactly once at the end of the step",
    .config = lake_config,
    .flags = 0,
    .check = lake_check,
    .open = lake_open,
    .instance_flags = NULL,
    .write = lake_write,
    .commit = lake_commit,
    .checkpoint_get = NULL,
    .close = lake_close,
};
