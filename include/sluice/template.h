/* Templates: "{{ record.created_at | date }}" in config strings.
 *
 * A template is compiled once (at step open) and rendered per record.
 * Paths start at record, params, run, item or env ("env.HOME"); dotted
 * segments walk objects, digits index arrays. Filters: date, lower, upper,
 * trim, md5, json, urlencode, string, int, float, default(<literal>).
 * A template that is exactly one {{ expression }} keeps the value's type
 * (sl_template_eval returns a date for "{{ record.ts | date }}"); mixed
 * text renders to a string. A missing path renders as null/empty unless a
 * default() filter follows; a filter applied to a value it cannot handle is
 * an error naming the filter and the value's type. */
#ifndef SLUICE_TEMPLATE_H
#define SLUICE_TEMPLATE_H

#include "sluice/arena.h"
#include "sluice/buf.h"
#include "sluice/value.h"

typedef struct sl_template sl_template_t;

typedef struct {
    const sl_value_t *record;
    const sl_value_t *params;
    const sl_value_t *run;
    const sl_value_t *item;  /* a map item */
    const sl_value_t *steps; /* {NAME: {status, output}} of the steps that ran */
    const sl_value_t *error; /* {class, message, step} in a catch's target */
} sl_tmpl_ctx_t;

/* Compiles src[0..n) into a (the template borrows nothing from src).
 * Errors name the column within src: "template 'x': 1:14: unknown filter
 * 'lowr'". */
int sl_template_compile(sl_arena_t *a, const char *src, size_t n, sl_template_t **out,
                        sl_err_t *err);
/* True when the template has no {{ }} at all. */
bool sl_template_is_literal(const sl_template_t *t);
/* True when it references record (so it must be rendered per record). */
bool sl_template_uses_record(const sl_template_t *t);

/* Renders to text, appending to out. */
int sl_template_render(const sl_template_t *t, const sl_tmpl_ctx_t *ctx, sl_buf_t *out,
                       sl_err_t *err);
/* Evaluates to a value (strings allocated in a). A value read unchanged
 * from ctx (a plain path without filters) is returned as is, borrowing
 * from ctx; everything the template creates (text, filter results) is
 * allocated in a. */
int sl_template_eval(const sl_template_t *t, const sl_tmpl_ctx_t *ctx, sl_arena_t *a,
                     sl_value_t *out, sl_err_t *err);

/* Converts v to type `to` (SL_T_INT, SL_T_DOUBLE, SL_T_BOOL, SL_T_STRING,
 * SL_T_TIMESTAMP or SL_T_DATE) with the rules shared by the int, float,
 * string and date filters and the cast transform:
 *   int:       ints; whole floats in range; bools (0/1); strings holding a
 *              whole number ("42", " -7 ", "42.0"; not "42.5")
 *   float:     ints, floats, big integers, numeric strings
 *   bool:      bools; ints 0/1; strings true/false/yes/no/1/0 (any case)
 *   string:    anything, as its text form (sl_value_to_text)
 *   timestamp: ISO 8601 strings (sl_timestamp_parse), dates (midnight
 *              UTC), numbers as epoch seconds (fractions kept to the us)
 *   date:      ISO dates and timestamp strings, timestamps (UTC day)
 * Strings are trimmed of ASCII white space before parsing. Null stays
 * null. New strings are allocated in a; out may borrow from v. Returns
 * SL_ETYPE with err = "cannot convert string 'abc' to float" (or SL_EINVAL
 * for an unsupported target type). */
int sl_value_convert(sl_arena_t *a, const sl_value_t *v, sl_type_t to, sl_value_t *out,
                     sl_err_t *err);

#endif
