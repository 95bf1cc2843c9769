/* Reading input files: plain or gzip (detected by magic bytes), with a
 * running content hash of the decoded bytes for change detection. The
 * same decoding sits on top of any byte reader (objects in S3). */
#ifndef SLUICE_INPUT_H
#define SLUICE_INPUT_H

#include <sys/types.h>

#include "sluice/common.h"

typedef struct sl_input sl_input_t;

/* Opens path for reading. err gets "cannot open PATH: reason". */
int sl_input_open(const char *path, sl_input_t **out, sl_err_t *err);
/* A byte source: returns the count read (0 at the end) or a negative
 * error with err set. */
typedef ssize_t (*sl_input_read_fn)(void *ud, void *buf, size_t n, sl_err_t *err);
/* Opens a decoded stream over read_fn(ud), gzip detected as for files;
 * name is used in messages. Takes ownership of ud: close_fn(ud) runs in
 * sl_input_close (and here on failure), when close_fn is not NULL. */
int sl_input_open_reader(const char *name, sl_input_read_fn read_fn, void (*close_fn)(void *),
                         void *ud, sl_input_t **out, sl_err_t *err);
/* Reads up to n decoded bytes into buf: returns the count, 0 at the end,
 * or a negative error (err set, naming the path). */
ssize_t sl_input_read(sl_input_t *in, void *buf, size_t n, sl_err_t *err);
/* Skips n decoded bytes (seeks plain files; decodes gzip). The skipped
 * bytes are hashed too. */
int sl_input_skip(sl_input_t *in, uint64_t n, sl_err_t *err);
/* Hex content hash of everything read so far (call at the end). */
void sl_input_hash(sl_input_t *in, char hex[33]);
bool sl_input_is_gzip(const sl_input_t *in);
void sl_input_close(sl_input_t *in);

#endif
