/* Object store drivers: the vtable behind include/sluice/objstore.h.
 * Each driver's store, writer and reader structs start with the base
 * struct declared here. Internal to src/net/ (and its tests). */
#ifndef SLUICE_NET_OBJSTORE_INTERNAL_H
#define SLUICE_NET_OBJSTORE_INTERNAL_H

#include "sluice/objstore.h"

typedef struct {
    void (*close)(sl_objstore_t *st);
    int (*put)(sl_objstore_t *st, const char *key, const void *data, size_t n, sl_err_t *err);
    int (*get)(sl_objstore_t *st, const char *key, uint64_t off, uint64_t len, sl_buf_t *out,
               sl_err_t *err);
    int (*head)(sl_objstore_t *st, const char *key, sl_obj_info_t *info, sl_err_t *err);
    int (*del)(sl_objstore_t *st, const char *key, sl_err_t *err);
    int (*list)(sl_objstore_t *st, const char *prefix, sl_obj_cb cb, void *ud, sl_err_t *err);
    int (*writer_open)(sl_objstore_t *st, const char *key, size_t part_size,
                       sl_objwriter_t **out, sl_err_t *err);
    int (*writer_write)(sl_objwriter_t *w, const void *data, size_t n, sl_err_t *err);
    int (*writer_commit)(sl_objwriter_t *w, sl_err_t *err);
    void (*writer_free)(sl_objwriter_t *w);
    int (*reader_open)(sl_objstore_t *st, const char *key, sl_objreader_t **out,
                       sl_err_t *err);
    ssize_t (*reader_read)(sl_objreader_t *r, void *buf, size_t n, sl_err_t *err);
    void (*reader_free)(sl_objreader_t *r);
} sl_objstore_ops_t;

struct sl_objstore {
    const sl_objstore_ops_t *ops;
    char *where; /* "s3://bucket" or the folder */
    bool s3;
};

struct sl_objwriter {
    sl_objstore_t *st;
    uint64_t bytes;
    bool committed;
};

struct sl_objreader {
    sl_objstore_t *st;
};

/* Driver constructors (objstore_file.c, objstore_s3.c). */
int sl_objstore_file_open(const char *root, sl_objstore_t **out, sl_err_t *err);
int sl_objstore_s3_open(const char *bucket, const sl_s3_opts_t *opts, sl_objstore_t **out,
                        sl_err_t *err);

/* Test knobs of the S3 driver: the ListObjectsV2 page size (0: server
 * default, 1000) and the number of retries performed so far. */
void sl_objstore_s3_set_page_size(sl_objstore_t *st, int max_keys);
int sl_objstore_s3_retries(const sl_objstore_t *st);
/* "ORIGIN PATH_PREFIX" of an S3 store ("https://b.s3.eu-west-1.amazonaws.com "
 * or "http://127.0.0.1:9000 /b"), to check addressing without a network. */
const char *sl_objstore_s3_addressing(const sl_objstore_t *st);

/* Shared by the drivers: checks a key (non-empty, no NUL, not starting
 * with '/'), err naming the store. */
int sl_objstore_check_key(const sl_objstore_t *st, const char *key, sl_err_t *err);

#endif
