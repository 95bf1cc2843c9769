/* The file:// object store: put/get/range/head/delete, list order and
 * prefixes, atomic writers (nothing visible before commit, nothing left
 * after an abandoned writer), readers, URL parsing. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../test.h"
#include "sluice/objstore.h"

static sl_objstore_t *open_tmp(const char *sub)
{
    char url[600];
    snprintf(url, sizeof url, "file://%s/%s", sl_test_tmpdir(), sub);
    sl_objstore_t *st;
    sl_err_t err;
    char *prefix;
    int rc = sl_objstore_open(url, NULL, &st, &prefix, &err);
    if (rc) {
        sl_test_fail(__FILE__, __LINE__, "open %s: %s", url, err.msg);
    }
    CHECK_STR(prefix, "");
    free(prefix);
    return st;
}

typedef struct {
    char keys[64][64];
    int64_t sizes[64];
    int n;
    int stop_after;
} collect_t;

static int collect(void *ud, const sl_obj_info_t *info)
{
    collect_t *c = ud;
    if (c->n < 64) {
        snprintf(c->keys[c->n], 64, "%s", info->key);
        c->sizes[c->n] = info->size;
    }
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static int count_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        return -1;
    }
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            n++;
        }
    }
    closedir(d);
    return n;
}

SL_TEST(objstore_file_put_get_head_delete)
{
    sl_objstore_t *st = open_tmp("root");
    sl_err_t err;
    CHECK(!sl_objstore_is_s3(st));
    CHECK_INT(sl_objstore_put(st, "a/b/c.txt", "hello world", 11, &err), 0);
    sl_buf_t b = SL_BUF_INIT;
    CHECK_INT(sl_objstore_get(st, "a/b/c.txt", 0, 0, &b, &err), 0);
    CHECK_STRN(b.data, b.len, "hello world");
    sl_buf_clear(&b);
    CHECK_INT(sl_objstore_get(st, "a/b/c.txt", 6, 3, &b, &err), 0);
    CHECK_STRN(b.data, b.len, "wor");
    sl_buf_clear(&b);
    /* a range past the end is clipped; from the end is empty */
    CHECK_INT(sl_objstore_get(st, "a/b/c.txt", 9, 100, &b, &err), 0);
    CHECK_STRN(b.data, b.len, "ld");
    sl_buf_clear(&b);
    CHECK_INT(sl_objstore_get(st, "a/b/c.txt", 11, 0, &b, &err), 0);
    CHECK_INT(b.len, 0);
    sl_obj_info_t info;
    CHECK_INT(sl_objstore_head(st, "a/b/c.txt", &info, &err), 0);
    CHECK_STR(info.key, "a/b/c.txt");
    CHECK_INT(info.size, 11);
    CHECK(info.mtime_us > 1600000000000000LL);
    CHECK_INT(sl_objstore_head(st, "a/b", &info, &err), SL_ENOTFOUND);
    CHECK_INT(sl_objstore_head(st, "nope", &info, &err), SL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "root/nope: no such object");
    CHECK_INT(sl_objstore_get(st, "nope", 0, 0, &b, &err), SL_ENOTFOUND);
    /* overwrite replaces */
    CHECK_INT(sl_objstore_put(st, "a/b/c.txt", "x", 1, &err), 0);
    sl_buf_clear(&b);
    CHECK_INT(sl_objstore_get(st, "a/b/c.txt", 0, 0, &b, &err), 0);
    CHECK_STRN(b.data, b.len, "x");
    CHECK_INT(sl_objstore_delete(st, "a/b/c.txt", &err), 0);
    CHECK_INT(sl_objstore_head(st, "a/b/c.txt", &info, &err), SL_ENOTFOUND);
    CHECK_INT(sl_objstore_delete(st, "a/b/c.txt", &err), 0); /* absent: fine */
    /* empty objects */
    CHECK_INT(sl_objstore_put(st, "empty", "", 0, &err), 0);
    CHECK_INT(sl_objstore_head(st, "empty", &info, &err), 0);
    CHECK_INT(info.size, 0);
    sl_buf_free(&b);
    sl_objstore_close(st);
}

SL_TEST(objstore_file_bad_keys)
{
    sl_objstore_t *st = open_tmp("root");
    sl_err_t err;
    CHECK_INT(sl_objstore_put(st, "../escape", "x", 1, &err), SL_EINVAL);
    CHECK_CONTAINS(err.msg, "'..'");
    CHECK_INT(sl_objstore_put(st, "a//b", "x", 1, &err), SL_EINVAL);
    CHECK_INT(sl_objstore_put(st, "a/./b", "x", 1, &err), SL_EINVAL);
    CHECK_INT(sl_objstore_put(st, "dir/", "x", 1, &err), SL_EINVAL);
    CHECK_INT(sl_objstore_put(st, "/abs", "x", 1, &err), SL_EINVAL);
    CHECK_INT(sl_objstore_put(st, "", "x", 1, &err), SL_EINVAL);
    char path[600];
    snprintf(path, sizeof path, "%s/escape", sl_test_tmpdir());
    CHECK(access(path, F_OK) != 0);
    sl_objstore_close(st);
}

SL_TEST(objstore_file_list_byte_order_and_prefix)
{
    sl_objstore_t *st = open_tmp("root");
    sl_err_t err;
    /* "a-b" < "a/b" < "a0" in bytes, though a per-folder walk would visit
     * folder a/ before file a-b. */
    const char *keys[] = {"a0", "a/b", "a-b", "a/c/d", "b", "a/a", "Z", "a/c/e.json"};
    for (size_t i = 0; i < SL_ARRAY_LEN(keys); i++) {
        CHECK_INT(sl_objstore_put(st, keys[i], keys[i], strlen(keys[i]), &err), 0);
    }
    collect_t c = {0};
    CHECK_INT(sl_objstore_list(st, "", collect, &c, &err), 0);
    CHECK_INT(c.n, 8);
    const char *want[] = {"Z", "a-b", "a/a", "a/b", "a/c/d", "a/c/e.json", "a0", "b"};
    for (int i = 0; i < 8; i++) {
        CHECK_STR(c.keys[i], want[i]);
    }
    CHECK_INT(c.sizes[5], 10);
    memset(&c, 0, sizeof c);
    CHECK_INT(sl_objstore_list(st, "a/", collect, &c, &err), 0);
    CHECK_INT(c.n, 4);
    CHECK_STR(c.keys[0], "a/a");
    CHECK_STR(c.keys[3], "a/c/e.json");
    /* a prefix that ends inside a name */
    memset(&c, 0, sizeof c);
    CHECK_INT(sl_objstore_list(st, "a/c/e", collect, &c, &err), 0);
    CHECK_INT(c.n, 1);
    CHECK_STR(c.keys[0], "a/c/e.json");
    memset(&c, 0, sizeof c);
    CHECK_INT(sl_objstore_list(st, "a", collect, &c, &err), 0);
    CHECK_INT(c.n, 6);
    memset(&c, 0, sizeof c);
    CHECK_INT(sl_objstore_list(st, "nothing/here", collect, &c, &err), 0);
    CHECK_INT(c.n, 0);
    /* the callback stops the walk */
    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    CHECK_INT(sl_objstore_list(st, "", collect, &c, &err), 0);
    CHECK_INT(c.n, 2);
    sl_objstore_close(st);
    /* a missing root is an error, like a missing bucket */
    st = open_tmp("missing");
    CHECK_INT(sl_objstore_list(st, "", collect, &c, &err), SL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "missing: no such folder");
    sl_objstore_close(st);
}

SL_TEST(objstore_file_writer_is_atomic)
{
    sl_objstore_t *st = open_tmp("root");
    sl_err_t err;
    sl_objwriter_t *w;
    CHECK_INT(sl_objwriter_open(st, "out/part-0.jsonl", 0, &w, &err), 0);
    char big[100000];
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (char)('a' + i % 26);
    }
    for (int i = 0; i < 5; i++) {
        CHECK_INT(sl_objwriter_write(w, big, sizeof big, &err), 0);
    }
    CHECK_INT(sl_objwriter_bytes(w), 500000);
    /* Not visible before commit: neither head nor list sees it. */
    sl_obj_info_t info;
    CHECK_INT(sl_objstore_head(st, "out/part-0.jsonl", &info, &err), SL_ENOTFOUND);
    collect_t c = {0};
    CHECK_INT(sl_objstore_list(st, "", collect, &c, &err), 0);
    CHECK_INT(c.n, 0);
    CHECK_INT(sl_objwriter_commit(w, &err), 0);
    CHECK_INT(sl_objwriter_write(w, "x", 1, &err), SL_EINVAL);
    sl_objwriter_free(w);
    CHECK_INT(sl_objstore_head(st, "out/part-0.jsonl", &info, &err), 0);
    CHECK_INT(info.size, 500000);
    sl_buf_t b = SL_BUF_INIT;
    CHECK_INT(sl_objstore_get(st, "out/part-0.jsonl", 99999, 2, &b, &err), 0);
    CHECK_STRN(b.data, b.len, "da");
    sl_buf_free(&b);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/root/out", sl_test_tmpdir());
    CHECK_INT(count_dir(dir), 1);
    struct stat sb;
    char path[700];
    snprintf(path, sizeof path, "%s/part-0.jsonl", dir);
    CHECK_INT(stat(path, &sb), 0);
    CHECK_INT(sb.st_mode & 0777, 0644);

    /* Freed without commit: nothing left, the old object untouched. */
    CHECK_INT(sl_objwriter_open(st, "out/part-0.jsonl", 0, &w, &err), 0);
    CHECK_INT(sl_objwriter_write(w, "new", 3, &err), 0);
    CHECK_INT(count_dir(dir), 2); /* the temp file */
    sl_objwriter_free(w);
    CHECK_INT(count_dir(dir), 1);
    CHECK_INT(sl_objstore_head(st, "out/part-0.jsonl", &info, &err), 0);
    CHECK_INT(info.size, 500000);
    sl_objstore_close(st);
}

SL_TEST(objstore_file_reader)
{
    sl_objstore_t *st = open_tmp("root");
    sl_err_t err;
    CHECK_INT(sl_objstore_put(st, "r.txt", "0123456789", 10, &err), 0);
    sl_objreader_t *r;
    CHECK_INT(sl_objreader_open(st, "r.txt", &r, &err), 0);
    char buf[4];
    CHECK_INT(sl_objreader_read(r, buf, 4, &err), 4);
    CHECK(memcmp(buf, "0123", 4) == 0);
    CHECK_INT(sl_objreader_read(r, buf, 4, &err), 4);
    CHECK_INT(sl_objreader_read(r, buf, 4, &err), 2);
    CHECK(memcmp(buf, "89", 2) == 0);
    CHECK_INT(sl_objreader_read(r, buf, 4, &err), 0);
    sl_objreader_free(r);
    CHECK_INT(sl_objreader_open(st, "absent", &r, &err), SL_ENOTFOUND);
    sl_objstore_close(st);
}

SL_TEST(objstore_open_urls)
{
    sl_objstore_t *st;
    sl_err_t err;
    char *prefix = NULL;
    /* a plain folder path, trailing slashes dropped */
    char path[600];
    snprintf(path, sizeof path, "%s/plain//", sl_test_tmpdir());
    CHECK_INT(sl_objstore_open(path, NULL, &st, &prefix, &err), 0);
    char want[600];
    snprintf(want, sizeof want, "%s/plain", sl_test_tmpdir());
    CHECK_STR(sl_objstore_where(st), want);
    free(prefix);
    sl_objstore_close(st);
    CHECK_INT(sl_objstore_open("file://relative/x", NULL, &st, NULL, &err), SL_ECONFIG);
    CHECK_INT(sl_objstore_open("gs://bucket/x", NULL, &st, NULL, &err), SL_EUNSUPPORTED);
    CHECK_CONTAINS(err.msg, "gs://bucket/x: unsupported object store");
    CHECK_INT(sl_objstore_open("s3:///x", NULL, &st, NULL, &err), SL_ECONFIG);
    CHECK_CONTAINS(err.msg, "missing bucket name");
    /* a file where the root should be */
    const char *f = sl_test_write_file("afile", "x", 1);
    CHECK_INT(sl_objstore_open(f, NULL, &st, NULL, &err), SL_ECONFIG);
    CHECK_CONTAINS(err.msg, "is not a folder");
}
