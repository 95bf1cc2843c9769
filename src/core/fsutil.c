/* mkdir -p and URL redaction; see include/sluice/fsutil.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sluice/fsutil.h"

int sl_mkdir_parents(const char *path, sl_err_t *err)
{
    char *dir = strdup(path);
    if (!dir) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; rc == 0; p++) {
            if (*p != '/' && *p != '\0') {
                continue;
            }
            char keep = *p;
            *p = '\0';
            struct stat sb;
            if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
                rc = sl_err_set(err, SL_EIO, "cannot create folder %s: %s", dir,
                                strerror(errno));
            } else if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
                rc = sl_err_set(err, SL_EIO, "%s exists and is not a folder", dir);
            }
            *p = keep;
            if (keep == '\0') {
                break;
            }
        }
    }
    free(dir);
    return rc;
}

void sl_url_split(const char *url, sl_url_parts_t *out)
{
    const char *sep = strstr(url, "://");
    out->scheme_len = sep ? (size_t)(sep - url) + 3 : 0;
    const char *auth = url + out->scheme_len;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++) {
        if (auth[i] == '@') {
            at = auth + i; /* the last '@': passwords may hold one */
        }
    }
    out->userinfo = at ? auth : NULL;
    out->userinfo_len = at ? (size_t)(at - auth) : 0;
    out->host = at ? at + 1 : auth;
    out->host_len = (size_t)(auth + alen - out->host);
}

void sl_url_redact(const char *url, char *out, size_t cap)
{
    sl_url_parts_t u;
    sl_url_split(url, &u);
    const char *rest = u.host;
    const char *q = strchr(rest, '?');
    int restlen = q ? (int)(q - rest) : (int)strlen(rest);
    snprintf(out, cap, "%.*s%s%.*s%s", (int)u.scheme_len, url, u.userinfo ? "***@" : "", restlen,
             rest, q ? "?***" : "");
}

bool sl_sqlite_is_url(const char *url)
{
    return strncmp(url, "sqlite:", 7) == 0 || strstr(url, "://") == NULL;
}

char *sl_sqlite_path(const char *url, const char *base_dir, const char *what, sl_err_t *err)
{
    const char *p = url;
    if (strncmp(url, "sqlite:", 7) == 0) {
        if (strncmp(url + 7, "///", 3) != 0 || url[10] == '\0') {
            sl_err_set(err, SL_ECONFIG,
                       "%s: url '%s': expected sqlite:///relative/path.db or "
                       "sqlite:////absolute/path.db",
                       what, url);
            return NULL;
        }
        p = url + 10;
    }
    if (!*p) {
        sl_err_set(err, SL_ECONFIG, "%s: empty database path", what);
        return NULL;
    }
    char *out = NULL;
    if (p[0] == '/' || !base_dir || !base_dir[0] || strcmp(base_dir, ".") == 0) {
        out = strdup(p);
    } else if (asprintf(&out, "%s/%s", base_dir, p) < 0) {
        out = NULL;
    }
    if (!out) {
        sl_err_set(err, SL_ENOMEM, "%s: out of memory", what);
    }
    return out;
}

int sl_read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        return SL_EIO;
    }
    char *text = NULL;
    size_t n = 0, cap = 0;
    int rc = 0, e = 0;
    for (;;) {
        if (n + 1 >= cap) {
            size_t ncap = cap ? cap * 2 : 64 * 1024;
            char *t = realloc(text, ncap);
            if (!t) {
                rc = SL_ENOMEM;
                break;
            }
            text = t;
            cap = ncap;
        }
        size_t got = fread(text + n, 1, cap - n - 1, f);
        n += got;
        if (n > max) {
            rc = SL_ELIMIT;
            break;
        }
        if (got == 0) {
            if (ferror(f)) {
                rc = SL_EIO;
                e = errno;
            }
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(text);
        errno = e;
        return rc;
    }
    text[n] = '\0';
    *out = text;
    *len = n;
    return 0;
}

/* Big enough to be one efficient write for the disk, small enough to start
 * well before a file of a few tens of MiB is done. */
#define WRITEBACK_STEP ((uint64_t)8 << 20)

void sl_writeback_note(sl_writeback_t *wb, int fd, size_t n)
{
    wb->written += n;
#ifdef SYNC_FILE_RANGE_WRITE
    if (wb->written - wb->started >= WRITEBACK_STEP) {
        (void)sync_file_range(fd, (off_t)wb->started, (off_t)(wb->written - wb->started),
                              SYNC_FILE_RANGE_WRITE);
        wb->started = wb->written;
    }
#else
    (void)fd;
#endif
}
