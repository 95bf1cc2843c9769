/* Small filesystem and location helpers shared by sinks, the state store
 * and the engine. */
#ifndef SLUICE_FSUTIL_H
#define SLUICE_FSUTIL_H

#include "sluice/common.h"

/* Creates every missing folder of path's parent (mkdir -p). On failure
 * returns SL_EIO with err "cannot create folder DIR: reason" or "DIR exists
 * and is not a folder"; callers prefix their own context. */
int sl_mkdir_parents(const char *path, sl_err_t *err);

/* Early writeback for a file written from offset 0 and fsynced at the end:
 * every few MiB the kernel is told to start writing what came so far, so
 * the disk works while the pipeline computes and the final fsync waits
 * for the tail only. Linux; a no-op elsewhere. Errors are left to fsync. */
typedef struct {
    uint64_t written, started;
} sl_writeback_t;
void sl_writeback_note(sl_writeback_t *wb, int fd, size_t n);

/* The authority of scheme://[userinfo@]host[:port][/path][?query], as
 * spans of url (lengths 0 when absent). One reading of URLs for every
 * place that masks credentials or looks at the host. */
typedef struct {
    size_t scheme_len;      /* "scheme://" with the slashes; 0 without "://" */
    const char *userinfo;   /* "user:password", or NULL without '@' */
    size_t userinfo_len;
    const char *host;       /* "host:port" (or "[::1]:port"), up to '/', '?' or '#' */
    size_t host_len;
} sl_url_parts_t;
void sl_url_split(const char *url, sl_url_parts_t *out);

/* Copies url into out for messages, with user:password@ and the query
 * string masked (database URLs carry credentials). */
void sl_url_redact(const char *url, char *out, size_t cap);

/* Reads the whole file at path: *out (malloc'd, NUL-terminated) holds its
 * *len bytes. Returns 0; SL_EIO when it cannot be opened or read, with
 * errno telling why; SL_ELIMIT when it is larger than max bytes; SL_ENOMEM.
 * Callers phrase the messages. */
int sl_read_file(const char *path, size_t max, char **out, size_t *len);

/* True for SQLite locations: sqlite: URLs and plain paths (no "://"). */
bool sl_sqlite_is_url(const char *url);

/* The file of a SQLite URL: sqlite:///relative/path.db, sqlite:////abs/path.db
 * or a plain path; relative paths against base_dir (NULL or ".": as is).
 * malloc'd, or NULL with err set (SL_ECONFIG naming what and the URL for a
 * malformed URL, SL_ENOMEM). */
char *sl_sqlite_path(const char *url, const char *base_dir, const char *what, sl_err_t *err);

#endif
