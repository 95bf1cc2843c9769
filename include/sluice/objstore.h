/* Object storage: one interface, two drivers (file:// and s3://).
 *
 * A store is opened on a root: a local folder, or an S3 bucket (any
 * S3-compatible server: endpoint, region, path-style addressing). Keys are
 * '/'-separated paths relative to the root. Reads can be ranged; writes go
 * through a writer that is atomic: a local temp file renamed on commit, or
 * a multipart upload completed on commit (a single PUT for small objects),
 * so no reader ever sees half an object. S3 requests are signed with
 * Signature V4, retried with backoff and jitter on 5xx, 429/SlowDown and
 * timeouts, and errors name the bucket and key ("s3://b/k: 403
 * SignatureDoesNotMatch: ..."). */
#ifndef SLUICE_OBJSTORE_H
#define SLUICE_OBJSTORE_H

#include <sys/types.h>

#include "sluice/buf.h"
#include "sluice/common.h"

typedef struct sl_objstore sl_objstore_t;
typedef struct sl_objwriter sl_objwriter_t;
typedef struct sl_objreader sl_objreader_t;

/* Connection settings for s3://. Any NULL field falls back to the standard
 * AWS environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, AWS_REGION / AWS_DEFAULT_REGION, AWS_ENDPOINT_URL). */
typedef struct {
    const char *endpoint;   /* "http://127.0.0.1:9000"; NULL: AWS */
    const char *region;     /* default us-east-1 */
    const char *access_key;
    const char *secret_key;
    const char *session_token;
    int path_style;         /* -1 auto (path style when an endpoint is given), 0, 1 */
    int max_retries;        /* 0 = 5 */
    int timeout_ms;         /* per request; 0 = 30000 */
    bool insecure_tls;      /* never the default: TLS is verified */
    /* When not NULL, requests in flight and the waits between retries stop
     * once it is cancelled or passes its deadline (a step's timeout). */
    const struct sl_cancel *cancel;
} sl_s3_opts_t;

typedef struct {
    const char *key;        /* relative to the root; valid during a callback */
    int64_t size;
    int64_t mtime_us;
    const char *etag;       /* may be NULL */
} sl_obj_info_t;

/* Opens a store. url: a plain folder path or file:///abs/folder (root is
 * that folder), or s3://bucket[/prefix] (root is the bucket; a prefix in
 * the URL is returned in *key_prefix when not NULL, malloc'd). s3 may be
 * NULL for file stores and for S3 with settings from the environment. */
int sl_objstore_open(const char *url, const sl_s3_opts_t *s3, sl_objstore_t **out,
                     char **key_prefix, sl_err_t *err);
void sl_objstore_close(sl_objstore_t *st);
/* The key of name below a key prefix as sl_objstore_open returns it
 * (slashes at either end of the prefix do not count): "prefix/name", or
 * name alone for an empty prefix; name "" gives "prefix/" (or ""), to
 * which callers append. malloc'd, or NULL when out of memory. */
char *sl_objstore_key_join(const char *prefix, const char *name);
/* "s3://bucket" or the folder path, for messages. */
const char *sl_objstore_where(const sl_objstore_t *st);
bool sl_objstore_is_s3(const sl_objstore_t *st);

int sl_objstore_put(sl_objstore_t *st, const char *key, const void *data, size_t n,
                    sl_err_t *err);
/* Reads [off, off+len) (len 0 = to the end) appending to out. */
int sl_objstore_get(sl_objstore_t *st, const char *key, uint64_t off, uint64_t len,
                    sl_buf_t *out, sl_err_t *err);
/* SL_ENOTFOUND when absent. info->key/etag valid until the next call. */
int sl_objstore_head(sl_objstore_t *st, const char *key, sl_obj_info_t *info, sl_err_t *err);
/* Deleting an absent key is not an error. */
int sl_objstore_delete(sl_objstore_t *st, const char *key, sl_err_t *err);
/* Calls cb for every object whose key starts with prefix, in key order,
 * following continuation tokens. cb returns non-zero to stop. */
typedef int (*sl_obj_cb)(void *ud, const sl_obj_info_t *info);
int sl_objstore_list(sl_objstore_t *st, const char *prefix, sl_obj_cb cb, void *ud,
                     sl_err_t *err);

/* Atomic streaming writes. Parts of part_size (0 = 8 MiB, min 5 MiB for
 * S3) are uploaded as they fill; commit completes the object; abort (or
 * close without commit) leaves nothing visible. */
int sl_objwriter_open(sl_objstore_t *st, const char *key, size_t part_size,
                      sl_objwriter_t **out, sl_err_t *err);
int sl_objwriter_write(sl_objwriter_t *w, const void *data, size_t n, sl_err_t *err);
uint64_t sl_objwriter_bytes(const sl_objwriter_t *w);
int sl_objwriter_commit(sl_objwriter_t *w, sl_err_t *err);
void sl_objwriter_free(sl_objwriter_t *w); /* aborts when not committed */

/* Sequential reads in chunks (ranged GETs for S3). */
int sl_objreader_open(sl_objstore_t *st, const char *key, sl_objreader_t **out, sl_err_t *err);
ssize_t sl_objreader_read(sl_objreader_t *r, void *buf, size_t n, sl_err_t *err);
void sl_objreader_free(sl_objreader_t *r);

#endif
