/* Builders shared by the sql sink's tests (SQLite and PostgreSQL): config
 * nodes as a pipeline file would give them, batches and record values. */
#ifndef SLUICE_TEST_SQL_FIXTURE_H
#define SLUICE_TEST_SQL_FIXTURE_H

#include "sluice/plugin.h"

/* A scalar at p.yaml:7:5, and "a,b" as a sequence of scalars at p.yaml:8:5. */
sl_node_t *sqlfx_scalar(sl_arena_t *a, const char *text);
sl_node_t *sqlfx_seq(sl_arena_t *a, const char *csv);

/* An empty batch of room for cap records from "in/orders.jsonl"; push
 * appends one with the next line number. */
sl_batch_t sqlfx_batch(sl_arena_t *a, size_t cap);
void sqlfx_push(sl_batch_t *b, sl_value_t rec);

sl_value_t sqlfx_obj(sl_arena_t *a);
void sqlfx_set(sl_arena_t *a, sl_value_t *o, const char *k, sl_value_t v);
sl_value_t sqlfx_str(const char *s);
/* A number kept as its text (raw double or bignum). */
sl_value_t sqlfx_raw_num(sl_type_t t, const char *text);
/* {id: id, name: name} (name NULL: absent). */
sl_value_t sqlfx_rec_id_name(sl_arena_t *a, int64_t id, const char *name);

#endif
