/* Fuzz target for the COPY text decoding of the sql source's PostgreSQL
 * driver (src/plugins/sources/sql_src_pg.c): escapes, nulls, and the array
 * literals it parses ("{1,{2,3}}", quoted elements, NULL, "[0:1]=").
 *
 * The first byte picks the number of columns (1..8), the next ones each
 * column's kind and array element kind; the rest is one row. Decoding must
 * not crash or read out of bounds; a decoded row's values must be well
 * formed (strings inside the arena-held row, arrays of sane length), and
 * every value must serialize as JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/plugins/sources/sql_src_internal.h"
#include "sluice/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t ncols = (size_t)(data[0] & 7) + 1;
    if (size < 1 + ncols) {
        return 0;
    }
    sl_pg_col_t cols[8];
    for (size_t i = 0; i < ncols; i++) {
        cols[i].kind = (uint8_t)(data[1 + i] % (SL_PGK_ARRAY + 1));
        cols[i].elem = (uint8_t)((data[1 + i] >> 4) % SL_PGK_ARRAY);
    }
    size_t off = 1 + ncols;
    size_t n = size - off;
    sl_arena_t *a = sl_arena_create(4096, 64u << 20);
    char *row = sl_arena_alloc(a, n + 1);
    if (!row) {
        sl_arena_destroy(a);
        return 0;
    }
    memcpy(row, data + off, n);
    row[n] = '\0';
    sl_value_t vals[8], native[1];
    uint32_t want[1] = {0};
    sl_err_t err;
    int rc = sl_pg_decode_row(a, row, n, cols, ncols, false, vals, want, 1, native, &err);
    if (rc == 0) {
        sl_buf_t out = SL_BUF_INIT;
        for (size_t i = 0; i < ncols; i++) {
            if (sl_json_write(&out, &vals[i], 0) != 0) {
                abort();
            }
        }
        sl_buf_free(&out);
    } else if (rc != SL_EPARSE && rc != SL_ENOMEM) {
        abort();
    }
    sl_arena_destroy(a);
    return 0;
}
