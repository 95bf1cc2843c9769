/* A set of byte strings that remembers the order they came in: the keys
 * incremental sources deliver at their high-water mark (so the next run,
 * which reads from that mark again, can drop them). Hash index for
 * lookups; items in insertion order for writing them back out. */
#ifndef SLUICE_STRSET_H
#define SLUICE_STRSET_H

#include "sluice/common.h"

typedef struct {
    char **items;   /* NUL-terminated copies, in insertion order */
    size_t *lens;
    size_t n, cap;
    uint32_t *slots; /* open addressing: item index + 1, 0 = empty */
    size_t nslots;
} sl_strset_t;

/* Zero-initialise; free with sl_strset_free. */
/* Adds p[0..n) unless present. Returns 0 or SL_ENOMEM. */
int sl_strset_add(sl_strset_t *s, const char *p, size_t n);
bool sl_strset_has(const sl_strset_t *s, const char *p, size_t n);
/* Empties the set and frees its memory. */
void sl_strset_free(sl_strset_t *s);

#endif
