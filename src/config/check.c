/* Schema checks for config maps (sl_config_check) and the did-you-mean
 * suggestions used for unknown keys, plugin types and params. Numeric
 * ranges and string lengths come from the spec too, so `sluice validate`
 * and `sluice help` (sl_field_spec_limits) read the same table.
 *
 * Checks stop at the first problem and report it at the offending node:
 * unknown keys at the key, wrong types at the value, missing keys at the
 * map. Present keys are checked in document order, then missing ones in
 * spec order, so the first message is the one nearest the top of the file. */
#include <stdio.h>
#include <string.h>

#include "config_internal.h"
#include "sluice/buf.h"

/* Optimal string alignment distance (Damerau-Levenshtein where each
 * substring is edited once): "tpye" -> "type" costs 1. Words are short;
 * longer ones get no suggestion. */
#define SUGGEST_MAX_LEN 64

static size_t osa_distance(const char *a, size_t n, const char *b, size_t m)
{
    size_t d[SUGGEST_MAX_LEN + 1][SUGGEST_MAX_LEN + 1];
    for (size_t i = 0; i <= n; i++) {
        d[i][0] = i;
    }
    for (size_t j = 0; j <= m; j++) {
        d[0][j] = j;
    }
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = d[i - 1][j] + 1;
            best = SL_MIN(best, d[i][j - 1] + 1);
            best = SL_MIN(best, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                best = SL_MIN(best, d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    return d[n][m];
}

/* The candidate nearest to word[0..wn) within the edit limit for that
 * length, or NULL. */
static const char *nearest(const char *word, size_t wn, const char *const *cands, size_t ncands)
{
    size_t limit = wn <= 3 ? 1 : 2;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; i < ncands; i++) {
        size_t cn = strlen(cands[i]);
        if (cn > SUGGEST_MAX_LEN || (cn > wn ? cn - wn : wn - cn) > limit) {
            continue;
        }
        size_t d = osa_distance(word, wn, cands[i], cn);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best;
}

const char *sl_config_suggest(const char *word, const char *const *cands, size_t ncands)
{
    size_t wn = strlen(word);
    if (wn == 0 || wn > SUGGEST_MAX_LEN) {
        return NULL;
    }
    const char *best = nearest(word, wn, cands, ncands);
    /* Else a known key with a word added after an '_', as names from other
     * tools read: "acess_key_id" -> "access_key", "timeout_ms_max" ->
     * "timeout_ms". The longest prefix wins. */
    for (size_t p = wn; !best && p-- > 3;) {
        if (word[p] == '_') {
            best = nearest(word, p, cands, ncands);
        }
    }
    return best;
}

static const char *type_words(sl_field_type_t t)
{
    switch (t) {
    case SL_FIELD_STRING:
        return "a string";
    case SL_FIELD_INT:
        return "an integer";
    case SL_FIELD_FLOAT:
        return "a number";
    case SL_FIELD_BOOL:
        return "a boolean (true or false)";
    case SL_FIELD_MAP:
        return "a map";
    case SL_FIELD_LIST:
        return "a list";
    case SL_FIELD_STRING_LIST:
        return "a string or a list of strings";
    case SL_FIELD_STRING_MAP:
        return "a map of strings";
    case SL_FIELD_ANY:
        return "anything";
    }
    return "a value";
}

static int type_error(const sl_node_t *v, const char *what, const char *key, const char *item,
                      const char *want, sl_err_t *err)
{
    char got[128];
    const char *g = sl_node_got(v, got, sizeof got);
    const char *q = v->kind == SL_NODE_SCALAR && v->quoted && !v->is_null ? " (quoted)" : "";
    return sl_node_error(err, v, "%s: key '%s'%s must be %s, got %s%s", what, key, item, want, g,
                         q);
}

static bool is_string(const sl_node_t *v)
{
    return v->kind == SL_NODE_SCALAR && !v->is_null;
}

static int check_choice(const sl_node_t *v, const sl_field_spec_t *f, const char *what,
                        const char *item, sl_err_t *err)
{
    if (!f->choices) {
        return 0;
    }
    for (const char *const *c = f->choices; *c; c++) {
        if (strcmp(*c, v->text) == 0) {
            return 0;
        }
    }
    char list[512] = "";
    size_t used = 0;
    for (const char *const *c = f->choices; *c && used < sizeof list; c++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", c == f->choices ? "" : ", ",
                         *c);
        used += w > 0 ? (size_t)w : 0;
    }
    char got[128];
    return sl_node_error(err, v, "%s: key '%s'%s must be one of %s; got %s", what, f->name, item,
                         list, sl_node_got(v, got, sizeof got));
}

/* "between 1 and 100", "at least 1", "above 0", "at most 9" */
static void range_words(const sl_field_range_t *r, char *buf, size_t cap)
{
    if (r->has_min && r->has_max && !r->min_exclusive) {
        snprintf(buf, cap, "between %.15g and %.15g", r->min, r->max);
    } else if (r->has_min && r->has_max) {
        snprintf(buf, cap, "above %.15g and at most %.15g", r->min, r->max);
    } else if (r->has_min) {
        snprintf(buf, cap, "%s %.15g", r->min_exclusive ? "above" : "at least", r->min);
    } else if (r->has_max) {
        snprintf(buf, cap, "at most %.15g", r->max);
    } else {
        buf[0] = '\0';
    }
}

static int check_range(const sl_node_t *v, const sl_field_spec_t *f, double x, const char *what,
                       const char *item, sl_err_t *err)
{
    const sl_field_range_t *r = &f->range;
    bool low = r->has_min && (r->min_exclusive ? !(x > r->min) : x < r->min);
    bool high = r->has_max && x > r->max;
    if (!low && !high) {
        return 0;
    }
    char words[96];
    range_words(r, words, sizeof words);
    return sl_node_error(err, v, "%s: key '%s'%s must be %s, got %s", what, f->name, item, words,
                         sl_node_display(v));
}

/* "one character", "1 to 64 characters", "at least 1 character" */
static void length_words(uint32_t lo, uint32_t hi, char *buf, size_t cap)
{
    const char *one = "character", *many = "characters";
    if (hi && lo == hi) {
        if (hi == 1) {
            snprintf(buf, cap, "one character");
        } else {
            snprintf(buf, cap, "%u %s", (unsigned)hi, many);
        }
    } else if (hi && lo) {
        snprintf(buf, cap, "%u to %u %s", (unsigned)lo, (unsigned)hi, many);
    } else if (hi) {
        snprintf(buf, cap, "at most %u %s", (unsigned)hi, hi == 1 ? one : many);
    } else {
        snprintf(buf, cap, "at least %u %s", (unsigned)lo, lo == 1 ? one : many);
    }
}

static int check_length(const sl_node_t *v, const sl_field_spec_t *f, const char *what,
                        const char *item, sl_err_t *err)
{
    if ((!f->min_len && !f->max_len) || v->kind != SL_NODE_SCALAR) {
        return 0;
    }
    if (v->len >= f->min_len && (!f->max_len || v->len <= f->max_len)) {
        return 0;
    }
    if (v->len == 0) {
        return sl_node_error(err, v, "%s: key '%s'%s must not be empty", what, f->name, item);
    }
    char words[64], got[128];
    length_words(f->min_len, f->max_len, words, sizeof words);
    return sl_node_error(err, v, "%s: key '%s'%s must be %s, got %s", what, f->name, item, words,
                         sl_node_got(v, got, sizeof got));
}

static int check_scalar_type(const sl_node_t *v, const sl_field_spec_t *f, const char *what,
                             const char *item, sl_err_t *err)
{
    if (v->unresolved) {
        return 0; /* a placeholder: its value is unknown until a run */
    }
    int64_t i = 0;
    double d = 0;
    bool b;
    bool ok = v->kind == SL_NODE_SCALAR && !v->is_null;
    bool plain = ok && !v->quoted;
    int rc = 0;
    switch (f->type) {
    case SL_FIELD_INT:
        rc = plain ? sl_config_parse_int(v->text, v->len, &i) : SL_EPARSE;
        break;
    case SL_FIELD_FLOAT:
        rc = plain ? sl_config_parse_double(v->text, v->len, &d) : SL_EPARSE;
        break;
    case SL_FIELD_BOOL:
        rc = plain ? sl_config_parse_bool(v->text, v->len, &b) : SL_EPARSE;
        break;
    default:
        rc = ok ? 0 : SL_EPARSE;
        break;
    }
    if (rc == SL_ELIMIT) {
        char got[128];
        return sl_node_error(err, v, "%s: key '%s'%s is out of range: %s", what, f->name, item,
                             sl_node_got(v, got, sizeof got));
    }
    if (rc) {
        const char *want = f->type == SL_FIELD_STRING_LIST ? "a string" : type_words(f->type);
        return type_error(v, what, f->name, item, want, err);
    }
    if (f->type == SL_FIELD_INT || f->type == SL_FIELD_FLOAT) {
        return check_range(v, f, f->type == SL_FIELD_INT ? (double)i : d, what, item, err);
    }
    rc = check_length(v, f, what, item, err);
    return rc ? rc : check_choice(v, f, what, item, err);
}

static int check_value(const sl_node_t *v, const sl_field_spec_t *f, const char *what,
                       sl_err_t *err)
{
    char item[64];
    switch (f->type) {
    case SL_FIELD_STRING:
    case SL_FIELD_INT:
    case SL_FIELD_FLOAT:
    case SL_FIELD_BOOL:
        return check_scalar_type(v, f, what, "", err);
    case SL_FIELD_MAP:
        if (v->kind != SL_NODE_MAP) {
            return type_error(v, what, f->name, "", "a map", err);
        }
        if (f->children) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s: %s", what, f->name);
            return sl_config_check(v, f->children, sub, err);
        }
        return 0;
    case SL_FIELD_LIST:
        return v->kind == SL_NODE_SEQ ? 0 : type_error(v, what, f->name, "", "a list", err);
    case SL_FIELD_STRING_LIST:
        if (v->kind == SL_NODE_SEQ) {
            for (size_t i = 0; i < v->n; i++) {
                snprintf(item, sizeof item, " item %zu", i + 1);
                int rc = check_scalar_type(v->items[i], f, what, item, err);
                if (rc) {
                    return rc;
                }
            }
            return 0;
        }
        if (!is_string(v)) {
            return type_error(v, what, f->name, "", type_words(f->type), err);
        }
        return check_scalar_type(v, f, what, "", err);
    case SL_FIELD_STRING_MAP:
        if (v->kind != SL_NODE_MAP) {
            return type_error(v, what, f->name, "", type_words(f->type), err);
        }
        for (size_t i = 0; i < v->n; i++) {
            const sl_node_t *x = v->pairs[i].value;
            if (!is_string(x)) {
                char got[128];
                return sl_node_error(err, x,
                                     "%s: key '%s': value of '%s' must be a string, got %s", what,
                                     f->name, v->pairs[i].key->text,
                                     sl_node_got(x, got, sizeof got));
            }
        }
        return 0;
    case SL_FIELD_ANY:
        return 0;
    }
    return 0;
}

static int unknown_key(const sl_node_t *key, const sl_field_spec_t *spec, const char *what,
                       const char *skip, sl_err_t *err)
{
    size_t n = 0;
    for (const sl_field_spec_t *f = spec; f->name; f++) {
        n++;
    }
    const char *stack_cands[64];
    const char **cands = stack_cands;
    size_t nc = 0;
    if (n + 1 > SL_ARRAY_LEN(stack_cands)) {
        n = SL_ARRAY_LEN(stack_cands) - 1; /* a spec this long is hypothetical */
    }
    for (size_t i = 0; i < n; i++) {
        cands[nc++] = spec[i].name;
    }
    bool listed = false; /* specs of plugins may list "type" themselves */
    for (size_t i = 0; skip && i < nc; i++) {
        listed = listed || strcmp(cands[i], skip) == 0;
    }
    if (skip && !listed) {
        cands[nc++] = skip;
    }
    const char *s = sl_config_suggest(key->text, cands, nc);
    if (s) {
        return sl_node_error(err, key, "%s: unknown key '%s' (did you mean '%s'?)", what,
                             key->text, s);
    }
    sl_buf_t known;
    sl_buf_init(&known, 400);
    for (size_t i = 0; i < nc; i++) {
        if (sl_buf_printf(&known, "%s%s", i ? ", " : "", cands[i]) != 0) {
            break;
        }
    }
    int rc = sl_node_error(err, key, "%s: unknown key '%s' (known keys: %s)", what, key->text,
                           known.data ? known.data : "none");
    sl_buf_free(&known);
    return rc;
}

int sl_config_check_skip(const sl_node_t *map, const sl_field_spec_t *spec, const char *what,
                         const char *skip, sl_err_t *err)
{
    if (!map || map->kind != SL_NODE_MAP) {
        char got[128];
        return sl_node_error(err, map, "%s must be a map, got %s", what,
                             sl_node_got(map, got, sizeof got));
    }
    if (!spec) {
        return 0;
    }
    for (size_t i = 0; i < map->n; i++) {
        const sl_node_t *key = map->pairs[i].key;
        if (skip && strcmp(key->text, skip) == 0) {
            continue;
        }
        const sl_field_spec_t *f = spec;
        while (f->name && strcmp(f->name, key->text) != 0) {
            f++;
        }
        if (!f->name) {
            return unknown_key(key, spec, what, skip, err);
        }
        int rc = check_value(map->pairs[i].value, f, what, err);
        if (rc) {
            return rc;
        }
    }
    for (const sl_field_spec_t *f = spec; f->name; f++) {
        if (f->required && !sl_node_get(map, f->name)) {
            return sl_node_error(err, map, "%s: missing required key '%s'", what, f->name);
        }
    }
    return 0;
}

int sl_config_check(const sl_node_t *map, const sl_field_spec_t *spec, const char *what,
                    sl_err_t *err)
{
    return sl_config_check_skip(map, spec, what, NULL, err);
}

size_t sl_field_spec_limits(const sl_field_spec_t *f, char *buf, size_t cap)
{
    if (!cap) {
        return 0;
    }
    buf[0] = '\0';
    size_t used = 0;
    char part[128];
    for (int k = 0; k < 3; k++) {
        part[0] = '\0';
        if (k == 0 && f->def) {
            snprintf(part, sizeof part, "default %s", f->def);
        } else if (k == 1 && (f->type == SL_FIELD_INT || f->type == SL_FIELD_FLOAT)) {
            const sl_field_range_t *r = &f->range;
            if (r->has_min && r->has_max && !r->min_exclusive) {
                snprintf(part, sizeof part, "%.15g to %.15g", r->min, r->max);
            } else {
                range_words(r, part, sizeof part);
            }
        } else if (k == 2 && (f->min_len || f->max_len)) {
            length_words(f->min_len, f->max_len, part, sizeof part);
            if (f->min_len == 1 && !f->max_len) {
                snprintf(part, sizeof part, "not empty");
            }
        }
        if (part[0] && used + 1 < cap) {
            int w = snprintf(buf + used, cap - used, "%s%s", used ? "; " : "", part);
            used = w < 0 ? used : SL_MIN(cap - 1, used + (size_t)w);
        }
    }
    return used;
}
