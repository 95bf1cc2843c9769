/* Hash dictionaries for dictionary-encoded column chunks.
 *
 * Open addressing with linear probing over 64-bit slots that hold the
 * entry number and 32 bits of its hash, so most probes that miss never
 * touch the entry bytes. Entries are kept in insertion order, already
 * PLAIN-encoded and contiguous, because the dictionary page is exactly
 * that byte string. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "pq_internal.h"

#define MIN_SLOTS 256

uint32_t sl_pq_hash_long(const void *p, size_t n)
{
    return (uint32_t)XXH3_64bits(p, n);
}

void sl_pq_dict_init(sl_pq_dict_t *d, int width)
{
    memset(d, 0, sizeof *d);
    d->width = width;
}

void sl_pq_dict_free(sl_pq_dict_t *d)
{
    free(d->slots);
    free(d->hashes);
    free(d->offs);
    free(d->data);
    sl_pq_dict_init(d, d->width);
}

void sl_pq_dict_clear(sl_pq_dict_t *d)
{
    if (d->slots && d->count) {
        memset(d->slots, 0, (d->mask + 1) * sizeof *d->slots);
    }
    d->count = 0;
    d->dlen = 0;
}

static int grow_slots(sl_pq_dict_t *d)
{
    size_t n = d->slots ? (d->mask + 1) * 2 : MIN_SLOTS;
    uint64_t *s = calloc(n, sizeof *s);
    if (!s) {
        return SL_ENOMEM;
    }
    size_t mask = n - 1;
    for (uint32_t e = 0; e < d->count; e++) {
        size_t i = d->hashes[e] & mask;
        while (s[i]) {
            i = (i + 1) & mask;
        }
        s[i] = (uint64_t)d->hashes[e] << 32 | (e + 1);
    }
    free(d->slots);
    d->slots = s;
    d->mask = mask;
    return 0;
}

static int grow_entries(sl_pq_dict_t *d)
{
    size_t cap = d->ecap ? d->ecap * 2 : 256;
    uint32_t *h = realloc(d->hashes, cap * sizeof *h);
    if (!h) {
        return SL_ENOMEM;
    }
    d->hashes = h;
    if (d->width == 0) {
        uint64_t *o = realloc(d->offs, cap * sizeof *o);
        if (!o) {
            return SL_ENOMEM;
        }
        d->offs = o;
    }
    d->ecap = cap;
    return 0;
}

static int reserve_data(sl_pq_dict_t *d, size_t n)
{
    if (d->dlen + n <= d->dcap) {
        return 0;
    }
    size_t cap = d->dcap ? d->dcap : 4096;
    while (cap < d->dlen + n) {
        cap *= 2;
    }
    uint8_t *p = realloc(d->data, cap);
    if (!p) {
        return SL_ENOMEM;
    }
    d->data = p;
    d->dcap = cap;
    return 0;
}

int sl_pq_dict_insert(sl_pq_dict_t *d, const void *p, size_t n, uint32_t h, uint32_t *idx)
{
    if (!d->slots || (size_t)d->count * 2 + 2 > d->mask + 1) {
        int rc = grow_slots(d);
        if (rc) {
            return rc;
        }
    }
    if (d->count == d->ecap) {
        int rc = grow_entries(d);
        if (rc) {
            return rc;
        }
    }
    size_t need = d->width > 0 ? (size_t)d->width : n + 4;
    int rc = reserve_data(d, need);
    if (rc) {
        return rc;
    }
    size_t i = h & d->mask;
    while (d->slots[i]) {
        i = (i + 1) & d->mask;
    }
    uint32_t e = d->count++;
    d->hashes[e] = h;
    if (d->width > 0) {
        memcpy(d->data + d->dlen, p, n);
    } else {
        uint32_t len = (uint32_t)n;
        d->offs[e] = d->dlen;
        memcpy(d->data + d->dlen, &len, 4);
        if (n) {
            memcpy(d->data + d->dlen + 4, p, n);
        }
    }
    d->dlen += need;
    d->slots[i] = (uint64_t)h << 32 | (e + 1);
    *idx = e;
    return 0;
}
