/* Schema checks for config maps (sl_config_check) and the did-you-mean
 * suggestions used for unknown keys, plugin types and params.
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

const char *sl_config_suggest(const char *word, const char *const *cands, size_t ncands)
{
    size_t wn = strlen(word);
    if (wn == 0 || wn > SUGGEST_MAX_LEN) {
        return NULL;
    }
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

static int check_scalar_type(const sl_node_t *v, const sl_field_spec_t *f, const char *what,
                             const char *item, sl_err_t *err)
{
    int64_t i;
    double d;
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
    return check_choice(v, f, what, item, err);
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
        return check_choice(v, f, what, "", err);
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
    if (skip) {
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
