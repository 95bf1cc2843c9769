/* Filter expressions: `amount >= 10 and (status == "paid" or not refunded)`.
 *
 * Grammar (lowest to highest precedence): or, and, not, comparison
 * (== != < <= > >=, `is null`, `is not null`, `in [..]`), operand. Operands
 * are literals (numbers, 'single' or "double" quoted strings, true, false,
 * null), field paths (bare `amount`, `customer.id`, or `record.amount`;
 * `params.x` for params) and parenthesised expressions. Comparing a number
 * with a string is false for == and an evaluation error for ordering;
 * comparisons with null are false (use `is null`). */
#ifndef SLUICE_EXPR_H
#define SLUICE_EXPR_H

#include "sluice/arena.h"
#include "sluice/template.h"
#include "sluice/value.h"

typedef struct sl_expr sl_expr_t;

/* Compiles src into a. Errors: "1:9: expected a value after '>='". */
int sl_expr_compile(sl_arena_t *a, const char *src, size_t n, sl_expr_t **out, sl_err_t *err);
/* Like sl_expr_compile for text that may hold {{ }} templates over params,
 * run or env (not record). Each is evaluated once with ctx and spliced in
 * as a literal of its value's type: numbers and bools as such, strings
 * (and dates, timestamps) quoted and escaped, arrays as [a, b] lists,
 * null as null; inside a quoted string, as escaped text. So
 * "amount >= {{ params.min }}" compiles as "amount >= 10" and
 * "status == {{ params.s }}" as "status == 'it\'s'". */
int sl_expr_compile_templated(sl_arena_t *a, const char *src, size_t n, const sl_tmpl_ctx_t *ctx,
                              sl_expr_t **out, sl_err_t *err);
/* Evaluates against ctx; *result is the truth of the expression. Returns
 * SL_ETYPE (err filled) when operands cannot be compared. */
int sl_expr_eval(const sl_expr_t *e, const sl_tmpl_ctx_t *ctx, bool *result, sl_err_t *err);

#endif
