/* Object storage front: parses the store URL and dispatches to the file://
 * or s3:// driver; see include/sluice/objstore.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objstore_internal.h"

int sl_objstore_check_key(const sl_objstore_t *st, const char *key, sl_err_t *err)
{
    if (!key || !*key) {
        return sl_err_set(err, SL_EINVAL, "%s: empty object key", st->where);
    }
    if (key[0] == '/') {
        return sl_err_set(err, SL_EINVAL, "%s: object key '%s' must not start with '/'",
                          st->where, key);
    }
    return 0;
}

int sl_objstore_open(const char *url, const sl_s3_opts_t *s3, sl_objstore_t **out,
                     char **key_prefix, sl_err_t *err)
{
    *out = NULL;
    if (key_prefix) {
        *key_prefix = NULL;
    }
    const char *prefix = "";
    int rc;
    if (strncmp(url, "s3://", 5) == 0) {
        const char *b = url + 5;
        size_t blen = strcspn(b, "/");
        if (blen == 0) {
            return sl_err_set(err, SL_ECONFIG, "%s: missing bucket name (s3://BUCKET/prefix)",
                              url);
        }
        char *bucket = strndup(b, blen);
        if (!bucket) {
            return sl_err_set(err, SL_ENOMEM, "out of memory");
        }
        prefix = b[blen] == '/' ? b + blen + 1 : "";
        rc = sl_objstore_s3_open(bucket, s3, out, err);
        free(bucket);
    } else if (strncmp(url, "file://", 7) == 0) {
        const char *path = url + 7;
        if (strncmp(path, "localhost/", 10) == 0) {
            path += 9;
        }
        if (path[0] != '/') {
            return sl_err_set(err, SL_ECONFIG,
                              "%s: file:// URLs take an absolute path (file:///abs/folder)", url);
        }
        rc = sl_objstore_file_open(path, out, err);
    } else if (strstr(url, "://") != NULL) {
        return sl_err_set(err, SL_EUNSUPPORTED,
                          "%s: unsupported object store (use a folder, file:// or s3://)", url);
    } else {
        rc = sl_objstore_file_open(url, out, err);
    }
    if (rc) {
        return rc;
    }
    if (key_prefix) {
        *key_prefix = strdup(prefix);
        if (!*key_prefix) {
            sl_objstore_close(*out);
            *out = NULL;
            return sl_err_set(err, SL_ENOMEM, "out of memory");
        }
    }
    return 0;
}

void sl_objstore_close(sl_objstore_t *st)
{
    if (st) {
        st->ops->close(st);
    }
}

const char *sl_objstore_where(const sl_objstore_t *st)
{
    return st->where;
}

bool sl_objstore_is_s3(const sl_objstore_t *st)
{
    return st->s3;
}

int sl_objstore_put(sl_objstore_t *st, const char *key, const void *data, size_t n,
                    sl_err_t *err)
{
    int rc = sl_objstore_check_key(st, key, err);
    return rc ? rc : st->ops->put(st, key, data, n, err);
}

int sl_objstore_get(sl_objstore_t *st, const char *key, uint64_t off, uint64_t len,
                    sl_buf_t *out, sl_err_t *err)
{
    int rc = sl_objstore_check_key(st, key, err);
    return rc ? rc : st->ops->get(st, key, off, len, out, err);
}

int sl_objstore_head(sl_objstore_t *st, const char *key, sl_obj_info_t *info, sl_err_t *err)
{
    int rc = sl_objstore_check_key(st, key, err);
    return rc ? rc : st->ops->head(st, key, info, err);
}

int sl_objstore_delete(sl_objstore_t *st, const char *key, sl_err_t *err)
{
    int rc = sl_objstore_check_key(st, key, err);
    return rc ? rc : st->ops->del(st, key, err);
}

int sl_objstore_list(sl_objstore_t *st, const char *prefix, sl_obj_cb cb, void *ud,
                     sl_err_t *err)
{
    return st->ops->list(st, prefix ? prefix : "", cb, ud, err);
}

int sl_objwriter_open(sl_objstore_t *st, const char *key, size_t part_size,
                      sl_objwriter_t **out, sl_err_t *err)
{
    *out = NULL;
    int rc = sl_objstore_check_key(st, key, err);
    if (rc) {
        return rc;
    }
    rc = st->ops->writer_open(st, key, part_size, out, err);
    if (rc == 0) {
        (*out)->st = st;
        (*out)->bytes = 0;
        (*out)->committed = false;
    }
    return rc;
}

int sl_objwriter_write(sl_objwriter_t *w, const void *data, size_t n, sl_err_t *err)
{
    if (w->committed) {
        return sl_err_set(err, SL_EINVAL, "%s: write after commit", w->st->where);
    }
    int rc = w->st->ops->writer_write(w, data, n, err);
    if (rc == 0) {
        w->bytes += n;
    }
    return rc;
}

uint64_t sl_objwriter_bytes(const sl_objwriter_t *w)
{
    return w->bytes;
}

int sl_objwriter_commit(sl_objwriter_t *w, sl_err_t *err)
{
    if (w->committed) {
        return 0;
    }
    int rc = w->st->ops->writer_commit(w, err);
    if (rc == 0) {
        w->committed = true;
    }
    return rc;
}

void sl_objwriter_free(sl_objwriter_t *w)
{
    if (w) {
        w->st->ops->writer_free(w);
    }
}

int sl_objreader_open(sl_objstore_t *st, const char *key, sl_objreader_t **out, sl_err_t *err)
{
    *out = NULL;
    int rc = sl_objstore_check_key(st, key, err);
    if (rc) {
        return rc;
    }
    rc = st->ops->reader_open(st, key, out, err);
    if (rc == 0) {
        (*out)->st = st;
    }
    return rc;
}

ssize_t sl_objreader_read(sl_objreader_t *r, void *buf, size_t n, sl_err_t *err)
{
    return r->st->ops->reader_read(r, buf, n, err);
}

void sl_objreader_free(sl_objreader_t *r)
{
    if (r) {
        r->st->ops->reader_free(r);
    }
}

char *sl_objstore_key_join(const char *prefix, const char *name)
{
    const char *p = prefix ? prefix : "";
    while (*p == '/') {
        p++;
    }
    size_t n = strlen(p);
    while (n > 0 && p[n - 1] == '/') {
        n--;
    }
    char *key = NULL;
    if (asprintf(&key, "%.*s%s%s", (int)n, p, n ? "/" : "", name) < 0) {
        return NULL;
    }
    return key;
}
