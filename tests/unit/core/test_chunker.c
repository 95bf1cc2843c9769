/* The chunker (src/core/chunker.c): cuts on record boundaries, the same
 * however the bytes are fed. The fuzz target checks the chunks against the
 * CSV reader on arbitrary input. */
#include <string.h>

#include "../test.h"
#include "sluice/chunker.h"

typedef struct {
    sl_chunk_t c[16];
    size_t n;
} got_t;

static int keep(void *ud, const sl_chunk_t *c)
{
    got_t *g = ud;
    if (g->n < 16) {
        g->c[g->n++] = *c;
    }
    return 0;
}

static void cut(bool csv, bool header, int64_t rows, const char *text, size_t piece, got_t *g)
{
    sl_chunker_t ck;
    memset(g, 0, sizeof *g);
    CHECK_INT(sl_chunker_init(&ck, csv, NULL, header, rows), 0);
    size_t n = strlen(text);
    for (size_t at = 0;; at += piece) {
        size_t k = n - at < piece ? n - at : piece;
        CHECK_INT(sl_chunker_feed(&ck, text + at, k, at + k == n, keep, g), 0);
        if (at + k == n) {
            break;
        }
    }
    sl_chunker_free(&ck);
}

SL_TEST(chunker_csv_cuts_on_record_boundaries)
{
    /* header (line 1); record 2 spans lines 3-4; a blank line 6 */
    const char *text = "id,note\n1,a\n2,\"x\ny\"\n3,b\n\n4,c\n5,d";
    for (size_t piece = 1; piece <= 40; piece += 3) {
        got_t g;
        cut(true, true, 2, text, piece, &g);
        CHECK_INT(g.n, 3);
        CHECK_INT(g.c[0].offset, 8);                 /* after the header */
        CHECK_INT(g.c[0].length, 12);                /* "1,a\n2,\"x\ny\"\n" */
        CHECK_INT(g.c[0].first_line, 2);
        CHECK_INT(g.c[1].offset, 20);
        CHECK_INT(g.c[1].first_line, 5);
        CHECK_INT(g.c[1].rows, 2);                   /* 3 and, after the blank line, 4 */
        CHECK_INT(g.c[2].offset, 29);
        CHECK_INT(g.c[2].length, 3);                 /* "5,d" without a line end */
        CHECK_INT(g.c[2].rows, 1);
        CHECK_INT(g.c[2].first_line, 8);
    }
}

SL_TEST(chunker_jsonl_skips_blank_lines)
{
    const char *text = "{\"a\":1}\n\n{\"a\":2}\n{\"a\":3}\n";
    got_t g;
    cut(false, false, 2, text, 5, &g);
    CHECK_INT(g.n, 2);
    CHECK_INT(g.c[0].rows, 2);
    CHECK_INT(g.c[0].offset, 0);
    CHECK_INT(g.c[0].length, 17);
    CHECK_INT(g.c[1].first_line, 4);
    CHECK_INT(g.c[1].rows, 1);
}
