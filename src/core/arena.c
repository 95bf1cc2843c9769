/* Chunked bump allocator; see include/sluice/arena.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/arena.h"

typedef struct chunk {
    struct chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    /* data follows, 16-byte aligned */
} chunk_t;

typedef struct cleanup {
    struct cleanup *next;
    sl_cleanup_fn fn;
    void *data;
} cleanup_t;

struct sl_arena {
    chunk_t *head; /* current chunk; older chunks follow */
    chunk_t *spare; /* chunks kept by reset for reuse */
    size_t chunk_size;
    size_t max_bytes;
    size_t total; /* bytes of all chunks */
    size_t used;  /* bytes handed out */
    cleanup_t *cleanups;
    void *last; /* most recent allocation, for in-place realloc */
};

#define HDR ((sizeof(chunk_t) + 15) & ~(size_t)15)

static inline char *chunk_data(chunk_t *c)
{
    return (char *)c + HDR;
}

sl_arena_t *sl_arena_create(size_t chunk_size, size_t max_bytes)
{
    sl_arena_t *a = calloc(1, sizeof *a);
    if (!a) {
        return NULL;
    }
    a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
    a->max_bytes = max_bytes;
    return a;
}

static void run_cleanups(sl_arena_t *a)
{
    while (a->cleanups) {
        cleanup_t *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->data);
        free(c);
    }
}

void sl_arena_destroy(sl_arena_t *a)
{
    if (!a) {
        return;
    }
    run_cleanups(a);
    chunk_t *lists[2] = {a->head, a->spare};
    for (int i = 0; i < 2; i++) {
        chunk_t *c = lists[i];
        while (c) {
            chunk_t *next = c->next;
            free(c);
            c = next;
        }
    }
    free(a);
}

/* Chunks a reset keeps for reuse, at most (beyond, they are freed). */
#define KEEP_BYTES (32u << 20)

void sl_arena_reset(sl_arena_t *a)
{
    run_cleanups(a);
    /* Keep chunks (up to KEEP_BYTES) for the next use: a batch arena is
     * reset thousands of times, and freeing and mapping its big read
     * buffers again each time costs page faults on every batch. */
    chunk_t *c = a->head;
    size_t kept = 0;
    for (chunk_t *s = a->spare; s; s = s->next) {
        kept += s->size;
    }
    while (c) {
        chunk_t *next = c->next;
        if (kept + c->size <= KEEP_BYTES) {
            c->used = 0;
            c->next = a->spare;
            a->spare = c;
            kept += c->size;
        } else {
            free(c);
        }
        c = next;
    }
    a->head = NULL;
    a->total = kept;
    a->used = 0;
    a->last = NULL;
}

/* A spare chunk of at least need bytes, unlinked, or NULL. */
static chunk_t *take_spare(sl_arena_t *a, size_t need)
{
    for (chunk_t **pp = &a->spare; *pp; pp = &(*pp)->next) {
        if ((*pp)->size >= need) {
            chunk_t *c = *pp;
            *pp = c->next;
            c->used = 0;
            return c;
        }
    }
    return NULL;
}

static chunk_t *new_chunk(sl_arena_t *a, size_t need)
{
    size_t size = need > a->chunk_size ? need : a->chunk_size;
    chunk_t *c = take_spare(a, size);
    if (!c) {
        if (a->max_bytes && a->total + size > a->max_bytes) {
            return NULL;
        }
        c = malloc(HDR + size);
        if (!c) {
            return NULL;
        }
        c->size = size;
        c->used = 0;
        a->total += size;
    }
    if (need > a->chunk_size && a->head) {
        /* Big allocation: put it behind the current chunk so the current
         * chunk's free space stays usable. */
        c->next = a->head->next;
        a->head->next = c;
    } else {
        c->next = a->head;
        a->head = c;
    }
    return c;
}

void *sl_arena_alloc(sl_arena_t *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n == 0) {
        n = 8;
    }
    chunk_t *c = a->head;
    if (!c || c->size - c->used < n) {
        c = new_chunk(a, n);
        if (!c) {
            return NULL;
        }
    }
    void *p = chunk_data(c) + c->used;
    c->used += n;
    a->used += n;
    a->last = p;
    return p;
}

void *sl_arena_calloc(sl_arena_t *a, size_t n)
{
    void *p = sl_arena_alloc(a, n);
    if (p) {
        memset(p, 0, n);
    }
    return p;
}

void *sl_arena_realloc(sl_arena_t *a, void *p, size_t old_n, size_t new_n)
{
    if (p && p == a->last && a->head) {
        chunk_t *c = a->head;
        size_t old_r = (old_n + 7) & ~(size_t)7;
        size_t new_r = (new_n + 7) & ~(size_t)7;
        char *base = chunk_data(c);
        if ((char *)p + old_r == base + c->used && (size_t)((char *)p - base) + new_r <= c->size) {
            c->used = (size_t)((char *)p - base) + new_r;
            a->used += new_r - old_r;
            return p;
        }
    }
    void *q = sl_arena_alloc(a, new_n);
    if (q && p) {
        memcpy(q, p, old_n < new_n ? old_n : new_n);
    }
    return q;
}

char *sl_arena_strndup(sl_arena_t *a, const char *s, size_t n)
{
    char *p = sl_arena_alloc(a, n + 1);
    if (p) {
        if (n) {
            memcpy(p, s, n);
        }
        p[n] = '\0';
    }
    return p;
}

char *sl_arena_strdup(sl_arena_t *a, const char *s)
{
    return s ? sl_arena_strndup(a, s, strlen(s)) : NULL;
}

char *sl_arena_sprintf(sl_arena_t *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = NULL;
    if (n >= 0) {
        p = sl_arena_alloc(a, (size_t)n + 1);
        if (p) {
            vsnprintf(p, (size_t)n + 1, fmt, ap2);
        }
    }
    va_end(ap2);
    return p;
}

int sl_arena_cleanup_add(sl_arena_t *a, sl_cleanup_fn fn, void *data)
{
    cleanup_t *c = malloc(sizeof *c);
    if (!c) {
        return SL_ENOMEM;
    }
    /* Cleanup records are heap-allocated so they survive chunk reuse. */
    c->fn = fn;
    c->data = data;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}

size_t sl_arena_used(const sl_arena_t *a)
{
    return a->used;
}
