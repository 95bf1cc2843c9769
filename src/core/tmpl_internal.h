/* Internals shared by template.c, expr.c and convert.c: the parser of
 * operands (paths, literals, filter chains) both languages use, their
 * evaluation, and per-thread scratch memory.
 *
 * An operand is what sits between {{ and }} in a template, or on either
 * side of a comparison in an expression: a path from a root (or a literal)
 * followed by zero or more `| filter`s. */
#ifndef SLUICE_TMPL_INTERNAL_H
#define SLUICE_TMPL_INTERNAL_H

#include "sluice/expr.h"
#include "sluice/template.h"

typedef enum {
    SL_ROOT_RECORD = 0,
    SL_ROOT_PARAMS,
    SL_ROOT_RUN,
    SL_ROOT_ITEM,
    SL_ROOT_ENV,
    SL_ROOT_STEPS,
    SL_ROOT_ERROR,
    SL_ROOT_LITERAL,
} sl_root_t;

typedef enum {
    SL_FILTER_DATE = 0,
    SL_FILTER_LOWER,
    SL_FILTER_UPPER,
    SL_FILTER_TRIM,
    SL_FILTER_MD5,
    SL_FILTER_JSON,
    SL_FILTER_URLENCODE,
    SL_FILTER_STRING,
    SL_FILTER_INT,
    SL_FILTER_FLOAT,
    SL_FILTER_DEFAULT,
} sl_filter_kind_t;

typedef struct {
    const char *s; /* key bytes (in the compile arena) */
    uint32_t len;
    int32_t index; /* array index when the segment is all digits, else -1 */
} sl_seg_t;

typedef struct {
    uint8_t kind;   /* sl_filter_kind_t */
    sl_value_t arg; /* default()'s literal */
} sl_filter_t;

typedef struct {
    uint8_t root;     /* sl_root_t */
    bool lit_has_ts;  /* string literal that parses as a timestamp */
    uint16_t nsegs;
    uint16_t nfilters;
    sl_seg_t *segs;
    sl_filter_t *filters;
    const char *env;  /* SL_ROOT_ENV: variable name, NUL-terminated */
    sl_value_t lit;   /* SL_ROOT_LITERAL */
    int64_t lit_ts;   /* lit parsed as a timestamp (when lit_has_ts) */
    const char *text; /* source text of the path/literal, for messages */
} sl_operand_t;

/* Parser state over one source text (a copy owned by the compile arena,
 * NUL-terminated, so literals and keys can point into it). */
typedef struct {
    const char *src;
    size_t n;
    size_t pos;
    sl_arena_t *a;
    sl_err_t *err;
    const char *what; /* message prefix ("template '...'") or NULL */
} sl_lexer_t;

/* Formats "<what>: line:col: message" for position pos; returns code. */
int sl_lex_error(sl_lexer_t *lx, int code, size_t pos, const char *fmt, ...) SL_PRINTF(4, 5);
void sl_lex_skip_ws(sl_lexer_t *lx);
/* True when the source at pos is the keyword kw (case-insensitive, not
 * followed by an identifier character). */
bool sl_lex_keyword(const sl_lexer_t *lx, size_t pos, const char *kw);
bool sl_lex_is_ident_char(unsigned char c);
/* Length of the token at pos, for "got 'x'" messages (at most 30). */
int sl_lex_token_len(const sl_lexer_t *lx, size_t pos);

/* Parses a literal (string, number, true, false, null) at lx->pos.
 * Returns 0, SL_ENOTFOUND when no literal starts there (nothing
 * consumed), or SL_EPARSE with the error set. */
int sl_lex_literal(sl_lexer_t *lx, sl_value_t *out);

/* Parses an operand at lx->pos: a literal or a path, then its filters.
 * bare_fields (expressions): a path not starting with `record.` or
 * `params.` is a record field. Otherwise (templates) a path must start
 * with a root. */
int sl_operand_parse(sl_lexer_t *lx, bool bare_fields, sl_operand_t *op);

/* Evaluates op against ctx. *out points either into ctx (plain paths),
 * at op's literal, at a static null (missing paths) or at *tmp, whose
 * strings live in a. Errors (a filter that cannot handle its input) are
 * written to err without prefix and return SL_ETYPE. */
int sl_operand_eval(const sl_operand_t *op, const sl_tmpl_ctx_t *ctx, sl_arena_t *a,
                    sl_value_t *tmp, const sl_value_t **out, sl_err_t *err);

/* The parts of a compiled template, for sl_expr_compile_templated: part
 * i is literal text (returned, length in *len, *op NULL) or an operand
 * (returns NULL, *op set). */
size_t sl_template_nparts(const sl_template_t *t);
const char *sl_template_part(const sl_template_t *t, size_t i, size_t *len,
                             const sl_operand_t **op);

/* Per-thread scratch memory for rendering: an arena reset by each
 * top-level render or evaluation, and two buffers. Never freed while the
 * thread lives, so rendering allocates nothing once warm. NULL on OOM. */
typedef struct {
    sl_arena_t *arena;
    sl_buf_t text;   /* transient text of one value (convert.c) */
    sl_buf_t render; /* mixed template text for sl_template_eval */
} sl_scratch_t;
sl_scratch_t *sl_scratch_get(void);
/* Resets the scratch arena (cheap when unused); returns it or NULL. */
sl_arena_t *sl_scratch_arena(void);

/* Text form of v (sl_value_to_text rules) as a view: strings and raw
 * numbers borrow from v, other values are written into a. */
int sl_value_text_view(sl_arena_t *a, const sl_value_t *v, const char **s, size_t *n);

/* Describes v for messages: "string 'abc'", "int 42", "object", ...;
 * long text is cut with "...". hide_text describes only the type (values
 * that may be secrets, such as env variables). */
void sl_value_describe(const sl_value_t *v, bool hide_text, char *buf, size_t n);

#endif
