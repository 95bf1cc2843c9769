/* Parquet schemas for records: inferred from the data or declared in a
 * sink's config.
 *
 * Inference builds a STRUCT root of OPTIONAL columns in the order keys are
 * first seen and widens it as later records differ; the rules are in
 * src/format/pq_schema.c and docs/plugins.md. A declared schema comes from
 * a config map such as {id: "int64 not null", amount: "decimal(10,2)",
 * tags: "list<string>", addr: "struct<city: string, zip: string>"}.
 * Trees live in the caller's arena; merging grows them in place. */
#ifndef SLUICE_PQ_SCHEMA_H
#define SLUICE_PQ_SCHEMA_H

#include "sluice/arena.h"
#include "sluice/buf.h"
#include "sluice/config.h"
#include "sluice/parquet.h"
#include "sluice/value.h"

/* The type of an inferred column that has seen only nulls so far. Never
 * handed to the writer: sl_pq_schema_finalize turns it into STRING. */
#define SL_PQ_UNKNOWN ((sl_pq_type_t)0)

typedef enum {
    SL_PQS_NESTED_STRUCT = 0, /* objects -> STRUCT, arrays -> LIST */
    SL_PQS_NESTED_JSON,       /* objects and arrays -> JSON text columns */
} sl_pqs_nested_t;

/* Infers a schema from records[0..n) (objects; other values are skipped):
 * a STRUCT root whose children are OPTIONAL columns in first-seen key
 * order. Top-level keys listed in exclude_keys (NULL-terminated, may be
 * NULL) are left out. *root is allocated in a. Returns 0 or SL_ENOMEM. */
int sl_pq_schema_infer(sl_arena_t *a, const sl_value_t *records, size_t n, sl_pqs_nested_t nested,
                       const char *const *exclude_keys, sl_pq_node_t **root);

/* Widens *root (from sl_pq_schema_infer) so it also fits records[0..n):
 * new keys become new columns at the end, types widen by the documented
 * rules. *changed is set to true when anything changed, and left as it
 * was otherwise (so it can accumulate over calls). Returns 0 or
 * SL_ENOMEM. */
int sl_pq_schema_merge(sl_arena_t *a, sl_pq_node_t **root, const sl_value_t *records, size_t n,
                       sl_pqs_nested_t nested, const char *const *exclude_keys, bool *changed);

/* A copy of an inferred schema that the writer accepts: columns still
 * UNKNOWN become STRING, lists of UNKNOWN become lists of STRING, objects
 * only ever seen empty become JSON. Allocated in a. */
int sl_pq_schema_finalize(sl_arena_t *a, const sl_pq_node_t *root, sl_pq_node_t **out);

/* Rewrites *v in place so an inferred column of type node accepts it:
 * scalars for a STRING column become their text form (sl_value_to_text;
 * new strings are allocated in a), dates for a TIMESTAMP column become
 * midnight UTC, ints for a DOUBLE column become doubles; objects and
 * arrays are walked (their members and items are edited in place, so v
 * must be the caller's to change). Values that already fit cost no
 * allocation. For a root STRUCT, v is a record. Returns 0 or SL_ENOMEM. */
int sl_pq_schema_conform(sl_arena_t *a, const sl_pq_node_t *node, sl_value_t *v);

/* Parses a declared schema: map is a config map of column name -> type,
 * where a type is a scalar ("int64", "timestamp not null",
 * "decimal(10,2)", "list<string>", "struct<a: int32, b: string>"), a
 * nested map (a struct) or a one-item sequence (a list). Names:
 * bool|boolean, int32, int64|int|bigint, float, double, string, binary,
 * json, date, timestamp, decimal(p,s) (1 <= p <= 38, 0 <= s <= p),
 * list<T>, struct<name: T, ...>; a " not null" suffix makes the field
 * REQUIRED. what names the map in messages ("sink 'lake': schema").
 * Errors return SL_ECONFIG with err = "file:line:col: <what>: field 'x':
 * ...". The tree is allocated in a. */
int sl_pq_schema_parse(sl_arena_t *a, const sl_node_t *map, const char *what, sl_pq_node_t **root,
                       sl_err_t *err);

/* Removes the top-level columns named in keys (NULL-terminated) from a
 * STRUCT root, in place. Returns how many were removed. */
size_t sl_pq_schema_drop(sl_pq_node_t *root, const char *const *keys);

/* Appends the schema as text: "struct<id: int64, tags: list<string>,
 * n: int32 not null, amount: decimal(10,2)>"; an UNKNOWN column prints as
 * "null". Returns 0 or a buffer error. */
int sl_pq_schema_format(const sl_pq_node_t *node, sl_buf_t *out);

/* Deep structural equality (names, types, required, decimal, children). */
bool sl_pq_schema_equal(const sl_pq_node_t *a, const sl_pq_node_t *b);

/* Deep copy into a. */
int sl_pq_schema_clone(sl_arena_t *a, const sl_pq_node_t *src, sl_pq_node_t **out);

#endif
