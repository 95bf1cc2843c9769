/* Sets of byte strings in insertion order; see include/sluice/strset.h. */
#include <stdlib.h>
#include <string.h>

#include "sluice/strset.h"

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    }
    return h;
}

/* The slot holding p, or the empty slot where it would go. */
static size_t find_slot(const sl_strset_t *s, const char *p, size_t n)
{
    size_t mask = s->nslots - 1;
    size_t j = hash_bytes(p, n) & mask;
    while (s->slots[j]) {
        size_t i = s->slots[j] - 1;
        if (s->lens[i] == n && memcmp(s->items[i], p, n) == 0) {
            break;
        }
        j = (j + 1) & mask;
    }
    return j;
}

static int grow_slots(sl_strset_t *s)
{
    size_t nslots = s->nslots ? s->nslots * 2 : 64;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots) {
        return SL_ENOMEM;
    }
    free(s->slots);
    s->slots = slots;
    s->nslots = nslots;
    for (size_t i = 0; i < s->n; i++) {
        s->slots[find_slot(s, s->items[i], s->lens[i])] = (uint32_t)(i + 1);
    }
    return 0;
}

int sl_strset_add(sl_strset_t *s, const char *p, size_t n)
{
    if ((s->n + 1) * 2 > s->nslots && grow_slots(s) != 0) {
        return SL_ENOMEM;
    }
    size_t j = find_slot(s, p, n);
    if (s->slots[j]) {
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **items = realloc(s->items, cap * sizeof *items);
        if (!items) {
            return SL_ENOMEM;
        }
        s->items = items;
        size_t *lens = realloc(s->lens, cap * sizeof *lens);
        if (!lens) {
            return SL_ENOMEM;
        }
        s->lens = lens;
        s->cap = cap;
    }
    char *copy = malloc(n + 1);
    if (!copy) {
        return SL_ENOMEM;
    }
    memcpy(copy, p, n);
    copy[n] = '\0';
    s->items[s->n] = copy;
    s->lens[s->n] = n;
    s->n++;
    s->slots[j] = (uint32_t)s->n;
    return 0;
}

bool sl_strset_has(const sl_strset_t *s, const char *p, size_t n)
{
    return s->n > 0 && s->slots[find_slot(s, p, n)] != 0;
}

void sl_strset_free(sl_strset_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i]);
    }
    free(s->items);
    free(s->lens);
    free(s->slots);
    memset(s, 0, sizeof *s);
}
