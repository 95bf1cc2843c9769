/* Inside the `file` and `stdout` sinks: the text encodings they share
 * (JSON Lines, CSV, one JSON array) and the options that choose them.
 *
 * An encoder appends records to a caller-owned sl_buf_t; the sink decides
 * when to write the buffer out. CSV columns come from the `columns` option
 * or from the first record's keys; since a CSV file cannot grow columns
 * after its header, a later record with a new key is an error naming the
 * record's origin and line (with `columns` set, other keys are left out). */
#ifndef SLUICE_SINK_TEXT_H
#define SLUICE_SINK_TEXT_H

#include "sluice/buf.h"
#include "sluice/plugin.h"

typedef enum {
    SL_TEXT_JSONL = 0,
    SL_TEXT_CSV,
    SL_TEXT_JSON, /* one array: "[", records separated by ",\n", "]\n" */
} sl_text_kind_t;

typedef struct {
    const char *what; /* "file sink", for messages */
    sl_text_kind_t kind;
    char delim;
    bool header;
    bool header_done;
    bool fixed_columns; /* from `columns`: other keys are left out */
    sl_str_t *cols;     /* heap copies, owned */
    size_t ncols;
    uint64_t nrecords; /* records encoded so far */
} sl_text_enc_t;

/* Reads `format` (jsonl, ndjson, csv, tsv, json; absent: from path's
 * extension, .gz ignored, else jsonl), `delimiter` (one character, "\t"
 * or "tab"; default ',' or tab for tsv), `header` (default true) and
 * `columns` from cfg. allow_json: whether `json` is accepted. path may be
 * NULL. Errors name the config position in ctx->err (SL_ECONFIG). */
int sl_text_enc_init(sl_text_enc_t *e, const char *what, sl_step_ctx_t *ctx,
                     const sl_node_t *cfg, const char *path, bool allow_json);

/* The encoding options alone, without I/O (check() and sl_text_enc_init):
 * a valid delimiter, distinct columns, and no CSV option (delimiter,
 * header, columns) for a format that is not CSV, `format` or else path's
 * extension (path NULL: not known yet). Returns 0 or SL_ECONFIG. */
int sl_text_check(const sl_node_t *cfg, const char *what, const char *path, sl_err_t *err);

/* Appends record i of batch b to out. Returns 0, SL_ESINK (err names the
 * record's origin and line: not an object, or a key CSV cannot hold),
 * SL_ENOMEM or SL_ELIMIT. */
int sl_text_enc_record(sl_text_enc_t *e, sl_buf_t *out, const sl_batch_t *b, size_t i,
                       sl_err_t *err);

/* Appends what ends the output: the closing "]" of a JSON array, or a
 * CSV header line when no record came but the columns are known. */
int sl_text_enc_finish(sl_text_enc_t *e, sl_buf_t *out);

void sl_text_enc_free(sl_text_enc_t *e);

#endif
