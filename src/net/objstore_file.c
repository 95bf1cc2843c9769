/* The file:// object store: keys are paths under a root folder.
 *
 * Writers are atomic like S3's: data goes to a hidden temp file in the
 * final folder, which is fsynced, renamed over the key and the folder
 * fsynced, so a reader sees the old object or the whole new one. Lists
 * walk the tree and return keys in byte order (the order S3 uses), which
 * a per-folder sorted walk would not give ("a-b" sorts before "a/b"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objstore_internal.h"
#include "sluice/fsutil.h"

#define WBUF (256 * 1024)
#define TMP_TAG ".sl-tmp."

typedef struct {
    sl_objstore_t base;
    char *root;
    char *info_key; /* head's info->key */
} fstore_t;

typedef struct {
    sl_objwriter_t base;
    int fd;
    char *tmp;
    char *final;
    char *buf;
    size_t blen;
    sl_writeback_t wb;
} fwriter_t;

typedef struct {
    sl_objreader_t base;
    int fd;
    char *path;
} freader_t;

/* Keys map to paths, so they must stay below the root and round-trip
 * through a listing: no empty, "." or ".." segments. */
static int check_file_key(fstore_t *s, const char *key, sl_err_t *err)
{
    const char *p = key;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            return sl_err_set(err, SL_EINVAL,
                              "%s: object key '%s' has an empty, '.' or '..' segment",
                              s->base.where, key);
        }
        p += n;
        if (*p == '/') {
            p++;
            if (!*p) {
                return sl_err_set(err, SL_EINVAL, "%s: object key '%s' ends with '/'",
                                  s->base.where, key);
            }
        }
    }
    return 0;
}

static char *key_path(fstore_t *s, const char *key)
{
    size_t n = strlen(s->root) + strlen(key) + 2;
    char *p = malloc(n);
    if (p) {
        snprintf(p, n, "%s/%s", s->root, key);
    }
    return p;
}

static int64_t mtime_us(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000 + st->st_mtim.tv_nsec / 1000;
}

static int not_found(fstore_t *s, const char *key, sl_err_t *err)
{
    return sl_err_set(err, SL_ENOTFOUND, "%s/%s: no such object", s->root, key);
}

/* ---- writer ---- */

static int fsync_dir_of(const char *path)
{
    char *dir = strdup(path);
    if (!dir) {
        return SL_ENOMEM;
    }
    char *slash = strrchr(dir, '/');
    if (slash == dir) {
        slash[1] = '\0';
    } else if (slash) {
        *slash = '\0';
    }
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) {
        return SL_EIO;
    }
    int rc = fsync(fd) == 0 || errno == EINVAL ? 0 : SL_EIO;
    close(fd);
    return rc;
}

static int fw_open(sl_objstore_t *st, const char *key, size_t part_size, sl_objwriter_t **out,
                   sl_err_t *err)
{
    (void)part_size;
    fstore_t *s = (fstore_t *)st;
    int rc = check_file_key(s, key, err);
    if (rc) {
        return rc;
    }
    fwriter_t *w = calloc(1, sizeof *w);
    if (!w) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    w->fd = -1;
    w->final = key_path(s, key);
    w->buf = malloc(WBUF);
    if (!w->final || !w->buf) {
        free(w->final);
        free(w->buf);
        free(w);
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    rc = sl_mkdir_parents(w->final, err);
    if (rc == 0) {
        const char *base = strrchr(w->final, '/') + 1;
        size_t n = strlen(w->final) + sizeof TMP_TAG + 8;
        w->tmp = malloc(n);
        if (!w->tmp) {
            rc = sl_err_set(err, SL_ENOMEM, "out of memory");
        } else {
            /* ".NAME.sl-tmp.XXXXXX" beside the final file: same file system,
             * hidden from lists. */
            snprintf(w->tmp, n, "%.*s.%s" TMP_TAG "XXXXXX", (int)(base - w->final), w->final,
                     base);
            w->fd = mkostemp(w->tmp, O_CLOEXEC);
            if (w->fd < 0) {
                rc = sl_err_set(err, SL_EIO, "cannot create a temp file for %s: %s", w->final,
                                strerror(errno));
            } else {
                fchmod(w->fd, 0644);
            }
        }
    }
    if (rc) {
        if (w->tmp && w->fd >= 0) {
            close(w->fd);
            unlink(w->tmp);
        }
        free(w->tmp);
        free(w->final);
        free(w->buf);
        free(w);
        return rc;
    }
    *out = &w->base;
    return 0;
}

static int write_all(fwriter_t *w, const char *p, size_t n)
{
    size_t total = n;
    while (n > 0) {
        ssize_t r = write(w->fd, p, n);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    sl_writeback_note(&w->wb, w->fd, total);
    return 0;
}

static int fw_flush(fwriter_t *w, sl_err_t *err)
{
    if (w->blen && write_all(w, w->buf, w->blen) != 0) {
        return sl_err_set(err, SL_EIO, "cannot write %s: %s", w->tmp, strerror(errno));
    }
    w->blen = 0;
    return 0;
}

static int fw_write(sl_objwriter_t *base, const void *data, size_t n, sl_err_t *err)
{
    fwriter_t *w = (fwriter_t *)base;
    if (w->fd < 0) {
        return sl_err_set(err, SL_EIO, "%s: writer already failed", w->final);
    }
    if (w->blen + n <= WBUF) {
        memcpy(w->buf + w->blen, data, n);
        w->blen += n;
        return 0;
    }
    int rc = fw_flush(w, err);
    if (rc) {
        return rc;
    }
    if (n >= WBUF) {
        if (write_all(w, data, n) != 0) {
            return sl_err_set(err, SL_EIO, "cannot write %s: %s", w->tmp, strerror(errno));
        }
        return 0;
    }
    memcpy(w->buf, data, n);
    w->blen = n;
    return 0;
}

static int fw_commit(sl_objwriter_t *base, sl_err_t *err)
{
    fwriter_t *w = (fwriter_t *)base;
    if (w->fd < 0) {
        return sl_err_set(err, SL_EIO, "%s: writer already failed", w->final);
    }
    int rc = fw_flush(w, err);
    if (rc) {
        return rc;
    }
    if (fsync(w->fd) != 0) {
        return sl_err_set(err, SL_EIO, "cannot sync %s: %s", w->tmp, strerror(errno));
    }
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0) {
        return sl_err_set(err, SL_EIO, "cannot close %s: %s", w->tmp, strerror(errno));
    }
    if (rename(w->tmp, w->final) != 0) {
        return sl_err_set(err, SL_EIO, "cannot rename %s to %s: %s", w->tmp, w->final,
                          strerror(errno));
    }
    /* The rename must survive a crash too. */
    free(w->tmp);
    w->tmp = NULL;
    if (fsync_dir_of(w->final) != 0) {
        return sl_err_set(err, SL_EIO, "cannot sync the folder of %s: %s", w->final,
                          strerror(errno));
    }
    return 0;
}

static void fw_free(sl_objwriter_t *base)
{
    fwriter_t *w = (fwriter_t *)base;
    if (w->fd >= 0) {
        close(w->fd);
    }
    if (w->tmp) {
        unlink(w->tmp); /* not committed (or failed): leave nothing */
    }
    free(w->tmp);
    free(w->final);
    free(w->buf);
    free(w);
}

static int f_put(sl_objstore_t *st, const char *key, const void *data, size_t n, sl_err_t *err)
{
    sl_objwriter_t *w;
    int rc = sl_objwriter_open(st, key, 0, &w, err);
    if (rc) {
        return rc;
    }
    rc = sl_objwriter_write(w, data, n, err);
    if (rc == 0) {
        rc = sl_objwriter_commit(w, err);
    }
    sl_objwriter_free(w);
    return rc;
}

/* ---- reads ---- */

static int open_key(fstore_t *s, const char *key, int *fd, struct stat *st, char **path,
                    sl_err_t *err)
{
    int rc = check_file_key(s, key, err);
    if (rc) {
        return rc;
    }
    *path = key_path(s, key);
    if (!*path) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    *fd = open(*path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        int e = errno;
        free(*path);
        *path = NULL;
        if (e == ENOENT || e == ENOTDIR) {
            return not_found(s, key, err);
        }
        return sl_err_set(err, SL_EIO, "cannot open %s/%s: %s", s->root, key, strerror(e));
    }
    if (fstat(*fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(*fd);
        free(*path);
        *path = NULL;
        return not_found(s, key, err);
    }
    return 0;
}

static int f_get(sl_objstore_t *st, const char *key, uint64_t off, uint64_t len, sl_buf_t *out,
                 sl_err_t *err)
{
    fstore_t *s = (fstore_t *)st;
    int fd;
    struct stat sb;
    char *path;
    int rc = open_key(s, key, &fd, &sb, &path, err);
    if (rc) {
        return rc;
    }
    uint64_t size = (uint64_t)sb.st_size;
    uint64_t end = len == 0 || off + len > size ? size : off + len;
    while (rc == 0 && off < end) {
        size_t want = (size_t)SL_MIN(end - off, (uint64_t)(1 << 20));
        rc = sl_buf_reserve(out, want);
        if (rc) {
            rc = sl_err_set(err, rc, "%s: object too large for memory", path);
            break;
        }
        ssize_t r = pread(fd, out->data + out->len, want, (off_t)off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rc = sl_err_set(err, SL_EIO, "cannot read %s: %s", path, strerror(errno));
        } else if (r == 0) {
            break; /* truncated meanwhile */
        } else {
            out->len += (size_t)r;
            out->data[out->len] = '\0';
            off += (uint64_t)r;
        }
    }
    close(fd);
    free(path);
    return rc;
}

static int f_head(sl_objstore_t *st, const char *key, sl_obj_info_t *info, sl_err_t *err)
{
    fstore_t *s = (fstore_t *)st;
    int rc = check_file_key(s, key, err);
    if (rc) {
        return rc;
    }
    char *path = key_path(s, key);
    if (!path) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    struct stat sb;
    int r = stat(path, &sb);
    int e = errno;
    free(path);
    if (r != 0 && e != ENOENT && e != ENOTDIR) {
        return sl_err_set(err, SL_EIO, "cannot stat %s/%s: %s", s->root, key, strerror(e));
    }
    if (r != 0 || !S_ISREG(sb.st_mode)) {
        return not_found(s, key, err);
    }
    free(s->info_key);
    s->info_key = strdup(key);
    if (!s->info_key) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    info->key = s->info_key;
    info->size = (int64_t)sb.st_size;
    info->mtime_us = mtime_us(&sb);
    info->etag = NULL;
    return 0;
}

static int f_delete(sl_objstore_t *st, const char *key, sl_err_t *err)
{
    fstore_t *s = (fstore_t *)st;
    int rc = check_file_key(s, key, err);
    if (rc) {
        return rc;
    }
    char *path = key_path(s, key);
    if (!path) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR) {
        rc = sl_err_set(err, SL_EIO, "cannot delete %s: %s", path, strerror(errno));
    }
    free(path);
    return rc;
}

/* ---- list ---- */

typedef struct {
    char *key;
    int64_t size, mtime_us;
} entry_t;

typedef struct {
    entry_t *v;
    size_t n, cap;
    const char *prefix;
    size_t plen;
    sl_err_t *err;
    const char *root;
} walk_t;

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry_t *)a)->key, ((const entry_t *)b)->key);
}

static bool is_tmp_name(const char *name)
{
    return name[0] == '.' && strstr(name, TMP_TAG) != NULL;
}

/* Recursively collects the files under rel (a key prefix ending with '/',
 * or "") whose keys start with the prefix. */
static int walk(walk_t *w, const char *rel)
{
    size_t rlen = strlen(rel);
    size_t dlen = strlen(w->root) + rlen + 2;
    char *dir = malloc(dlen);
    if (!dir) {
        return sl_err_set(w->err, SL_ENOMEM, "out of memory");
    }
    snprintf(dir, dlen, "%s/%s", w->root, rel);
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        int rc = 0;
        if (e != ENOENT && e != ENOTDIR) {
            rc = sl_err_set(w->err, SL_EIO, "cannot list %s: %s", dir, strerror(e));
        }
        free(dir);
        return rc;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || is_tmp_name(name)) {
            continue;
        }
        size_t klen = rlen + strlen(name);
        char *key = malloc(klen + 2);
        if (!key) {
            rc = sl_err_set(w->err, SL_ENOMEM, "out of memory");
            break;
        }
        snprintf(key, klen + 2, "%s%s", rel, name);
        struct stat sb;
        /* Symlinked folders are not followed (no loops); links to files are. */
        if (fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            free(key);
            continue; /* vanished meanwhile */
        }
        bool link = S_ISLNK(sb.st_mode);
        if (link && (fstatat(dirfd(d), name, &sb, 0) != 0 || !S_ISREG(sb.st_mode))) {
            free(key);
            continue;
        }
        if (S_ISDIR(sb.st_mode)) {
            key[klen] = '/';
            key[klen + 1] = '\0';
            /* Descend only where keys can still match the prefix. */
            size_t m = SL_MIN(klen + 1, w->plen);
            if (strncmp(key, w->prefix, m) == 0) {
                rc = walk(w, key);
            }
            free(key);
        } else if (S_ISREG(sb.st_mode) && strncmp(key, w->prefix, w->plen) == 0) {
            if (w->n == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 64;
                entry_t *g = realloc(w->v, cap * sizeof *g);
                if (!g) {
                    free(key);
                    rc = sl_err_set(w->err, SL_ENOMEM, "out of memory");
                    break;
                }
                w->v = g;
                w->cap = cap;
            }
            w->v[w->n++] = (entry_t){key, (int64_t)sb.st_size, mtime_us(&sb)};
        } else {
            free(key);
        }
    }
    if (rc == 0 && errno != 0) {
        rc = sl_err_set(w->err, SL_EIO, "cannot list %s: %s", dir, strerror(errno));
    }
    closedir(d);
    free(dir);
    return rc;
}

static int f_list(sl_objstore_t *st, const char *prefix, sl_obj_cb cb, void *ud, sl_err_t *err)
{
    fstore_t *s = (fstore_t *)st;
    struct stat sb;
    if (stat(s->root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        return sl_err_set(err, SL_ENOTFOUND, "%s: no such folder", s->root);
    }
    walk_t w = {.prefix = prefix, .plen = strlen(prefix), .err = err, .root = s->root};
    /* Start in the deepest folder the prefix names. */
    const char *slash = strrchr(prefix, '/');
    char *start = strndup(prefix, slash ? (size_t)(slash - prefix) + 1 : 0);
    if (!start) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    int rc = walk(&w, start);
    free(start);
    if (rc == 0 && w.n > 0) {
        qsort(w.v, w.n, sizeof *w.v, cmp_entry);
        for (size_t i = 0; i < w.n; i++) {
            sl_obj_info_t info = {w.v[i].key, w.v[i].size, w.v[i].mtime_us, NULL};
            if (cb(ud, &info) != 0) {
                break;
            }
        }
    }
    for (size_t i = 0; i < w.n; i++) {
        free(w.v[i].key);
    }
    free(w.v);
    return rc;
}

/* ---- reader ---- */

static int fr_open(sl_objstore_t *st, const char *key, sl_objreader_t **out, sl_err_t *err)
{
    fstore_t *s = (fstore_t *)st;
    freader_t *r = calloc(1, sizeof *r);
    if (!r) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    struct stat sb;
    int rc = open_key(s, key, &r->fd, &sb, &r->path, err);
    if (rc) {
        free(r);
        return rc;
    }
    *out = &r->base;
    return 0;
}

static ssize_t fr_read(sl_objreader_t *base, void *buf, size_t n, sl_err_t *err)
{
    freader_t *r = (freader_t *)base;
    for (;;) {
        ssize_t got = read(r->fd, buf, n);
        if (got >= 0) {
            return got;
        }
        if (errno != EINTR) {
            return sl_err_set(err, SL_EIO, "cannot read %s: %s", r->path, strerror(errno));
        }
    }
}

static void fr_free(sl_objreader_t *base)
{
    freader_t *r = (freader_t *)base;
    close(r->fd);
    free(r->path);
    free(r);
}

static void f_close(sl_objstore_t *st)
{
    fstore_t *s = (fstore_t *)st;
    free(s->root);
    free(s->info_key);
    free(s);
}

static const sl_objstore_ops_t file_ops = {
    .close = f_close,
    .put = f_put,
    .get = f_get,
    .head = f_head,
    .del = f_delete,
    .list = f_list,
    .writer_open = fw_open,
    .writer_write = fw_write,
    .writer_commit = fw_commit,
    .writer_free = fw_free,
    .reader_open = fr_open,
    .reader_read = fr_read,
    .reader_free = fr_free,
};

int sl_objstore_file_open(const char *root, sl_objstore_t **out, sl_err_t *err)
{
    *out = NULL;
    if (!root || !*root) {
        return sl_err_set(err, SL_ECONFIG, "empty folder path for an object store");
    }
    struct stat sb;
    if (stat(root, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
        return sl_err_set(err, SL_ECONFIG, "%s is not a folder", root);
    }
    fstore_t *s = calloc(1, sizeof *s);
    if (!s) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    s->root = strdup(root);
    if (!s->root) {
        free(s);
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    /* Keys are joined with '/': keep the root without trailing slashes. */
    size_t n = strlen(s->root);
    while (n > 1 && s->root[n - 1] == '/') {
        s->root[--n] = '\0';
    }
    s->base.ops = &file_ops;
    s->base.where = s->root;
    s->base.s3 = false;
    *out = &s->base;
    return 0;
}
