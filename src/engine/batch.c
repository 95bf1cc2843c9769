/* Batches: growing the record array inside the batch arena. */
#include <string.h>

#include "sluice/plugin.h"

int sl_batch_push(sl_batch_t *b, sl_value_t rec, uint64_t line)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        sl_value_t *r = sl_arena_realloc(b->arena, b->records, b->cap * sizeof *r, cap * sizeof *r);
        uint64_t *l = r ? sl_arena_alloc(b->arena, cap * sizeof *l) : NULL;
        if (!r || !l) {
            return SL_ENOMEM;
        }
        if (b->n) {
            memcpy(l, b->lines, b->n * sizeof *l);
        }
        b->records = r;
        b->lines = l;
        b->cap = cap;
    }
    b->records[b->n] = rec;
    b->lines[b->n] = line;
    b->n++;
    return 0;
}
