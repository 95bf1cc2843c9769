/* Pure config checks that several plugins' check() functions share: what a
 * value is known to be before a run, CSV delimiters, lists of distinct
 * names. No I/O and no secrets needed, so `sluice validate` runs them
 * anywhere; see plugin.h. */
#include <string.h>

#include "sluice/plugin.h"

bool sl_cfg_literal(const sl_node_t *n)
{
    return n && n->kind == SL_NODE_SCALAR && !n->is_null && !n->unresolved &&
           !strstr(n->text, "{{");
}

int sl_cfg_delimiter(const sl_node_t *cfg, const char *what, char *out, sl_err_t *err)
{
    *out = 0;
    const sl_node_t *d = sl_node_get(cfg, "delimiter");
    if (!d || d->is_null || d->unresolved) {
        return 0;
    }
    if (d->kind != SL_NODE_SCALAR) {
        return sl_node_error(err, d, "%s: delimiter must be one character, got %s", what,
                             d->kind == SL_NODE_MAP ? "a map" : "a list");
    }
    if (strcmp(d->text, "\\t") == 0 || strcmp(d->text, "tab") == 0) {
        *out = '\t';
        return 0;
    }
    if (d->len != 1) {
        return sl_node_error(err, d, "%s: delimiter must be one character, got '%s'", what,
                             sl_node_display(d));
    }
    if (d->text[0] == '"' || d->text[0] == '\r' || d->text[0] == '\n') {
        return sl_node_error(err, d, "%s: delimiter cannot be a quote or a line break", what);
    }
    *out = d->text[0];
    return 0;
}

int sl_cfg_distinct(const sl_node_t *cfg, const char *key, const char *what, sl_err_t *err)
{
    const sl_node_t *l = sl_node_get(cfg, key);
    if (!l || l->kind != SL_NODE_SEQ) {
        return 0;
    }
    for (size_t i = 1; i < l->n; i++) {
        const sl_node_t *x = l->items[i];
        for (size_t j = 0; j < i && x->kind == SL_NODE_SCALAR; j++) {
            const sl_node_t *y = l->items[j];
            if (y->kind == SL_NODE_SCALAR && y->len == x->len && !x->unresolved &&
                memcmp(y->text, x->text, x->len) == 0) {
                return sl_node_error(err, x, "%s: %s: '%s' is listed twice", what, key,
                                     sl_node_display(x));
            }
        }
    }
    return 0;
}
