/* Bump-pointer arenas with clear lifetimes (process, pipeline, batch).
 *
 * Memory comes from chunks that are only freed together, by sl_arena_reset()
 * (keeps the first chunk for reuse) or sl_arena_destroy(). Cleanup hooks run
 * on reset/destroy in reverse order, for file descriptors and statements
 * tied to the arena's lifetime. A hard cap (max_bytes, 0 = none) turns
 * runaway growth into SL_ENOMEM instead of swapping. */
#ifndef SLUICE_ARENA_H
#define SLUICE_ARENA_H

#include "sluice/common.h"

typedef struct sl_arena sl_arena_t;
typedef void (*sl_cleanup_fn)(void *data);

/* Creates an arena whose chunks are at least chunk_size bytes. */
sl_arena_t *sl_arena_create(size_t chunk_size, size_t max_bytes);
void sl_arena_destroy(sl_arena_t *a);
/* Frees everything allocated since creation; keeps one chunk. */
void sl_arena_reset(sl_arena_t *a);

/* Allocates n bytes aligned to 8; NULL when the cap is hit or malloc fails. */
void *sl_arena_alloc(sl_arena_t *a, size_t n);
void *sl_arena_calloc(sl_arena_t *a, size_t n);
/* Grows the most recent allocation in place when possible, else copies. */
void *sl_arena_realloc(sl_arena_t *a, void *p, size_t old_n, size_t new_n);
/* Copies s[0..n) and appends a NUL. */
char *sl_arena_strndup(sl_arena_t *a, const char *s, size_t n);
char *sl_arena_strdup(sl_arena_t *a, const char *s);
char *sl_arena_sprintf(sl_arena_t *a, const char *fmt, ...) SL_PRINTF(2, 3);

/* Registers fn(data) to run when the arena is reset or destroyed. */
int sl_arena_cleanup_add(sl_arena_t *a, sl_cleanup_fn fn, void *data);

/* Bytes handed out since the last reset (for metrics and limits). */
size_t sl_arena_used(const sl_arena_t *a);

#endif
