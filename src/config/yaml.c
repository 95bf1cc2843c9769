/* YAML loading: libyaml's event stream turned into an sl_node_t tree in an
 * arena, each node tagged with its file and 1-based line and column.
 *
 * The builder keeps an explicit stack of open maps and lists (no recursion,
 * so hostile nesting cannot overflow the C stack). Aliases point to the
 * anchored node itself rather than copying it, so the tree may be a DAG:
 * walkers must not assume every node is reached once. Scalar values are
 * resolved (${env:}, ${file:}) as they are read; keys never are. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config_internal.h"
#include "sluice/fsutil.h"

typedef struct {
    sl_node_t *node;  /* the map or list being filled */
    sl_node_t **kids; /* malloc'd; maps alternate key, value */
    size_t n, cap;
    const char *anchor; /* arena copy, or NULL */
} frame_t;

typedef struct {
    const char *name; /* NULL: empty slot */
    sl_node_t *node;
    bool done; /* false while the anchored map/list is still open */
} anchor_t;

typedef struct {
    sl_arena_t *a;
    const char *file;
    const char *base_dir;
    const sl_config_opts_t *opts;
    const char *text;
    size_t size;
    sl_err_t *err;
    frame_t *stack;
    size_t depth, stack_cap;
    anchor_t *anchors; /* open addressing, power-of-two capacity */
    size_t nanchors, anchors_cap;
    sl_node_t *root;
    int ndocs;
} loader_t;

static const char *TAG_PREFIX = "tag:yaml.org,2002:";

static sl_node_t *new_node(loader_t *L, sl_node_kind_t kind, yaml_mark_t m)
{
    sl_node_t *n = sl_arena_calloc(L->a, sizeof *n);
    if (n) {
        n->kind = kind;
        n->file = L->file;
        n->line = (uint32_t)m.line + 1;
        n->col = (uint32_t)m.column + 1;
    }
    return n;
}

static int oom(loader_t *L)
{
    return sl_err_set(L->err, SL_ENOMEM, "%s: out of memory while loading", L->file);
}

static int mark_error(loader_t *L, yaml_mark_t m, const char *fmt, ...) SL_PRINTF(3, 4);
static int mark_error(loader_t *L, yaml_mark_t m, const char *fmt, ...)
{
    char msg[SL_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sl_err_set(L->err, SL_ECONFIG, "%s:%zu:%zu: %s", L->file, m.line + 1, m.column + 1,
                      msg);
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

static anchor_t *anchor_slot(loader_t *L, const char *name)
{
    size_t mask = L->anchors_cap - 1;
    size_t i = (size_t)hash_name(name) & mask;
    while (L->anchors[i].name && strcmp(L->anchors[i].name, name) != 0) {
        i = (i + 1) & mask;
    }
    return &L->anchors[i];
}

/* Defines or redefines (YAML allows it; later aliases see the new node). */
static int anchor_put(loader_t *L, const char *name, sl_node_t *node, bool done)
{
    if ((L->nanchors + 1) * 2 > L->anchors_cap) {
        size_t ncap = L->anchors_cap ? L->anchors_cap * 2 : 16;
        anchor_t *old = L->anchors;
        size_t ocap = L->anchors_cap;
        L->anchors = calloc(ncap, sizeof *L->anchors);
        if (!L->anchors) {
            L->anchors = old;
            return oom(L);
        }
        L->anchors_cap = ncap;
        for (size_t i = 0; i < ocap; i++) {
            if (old[i].name) {
                *anchor_slot(L, old[i].name) = old[i];
            }
        }
        free(old);
    }
    anchor_t *s = anchor_slot(L, name);
    if (!s->name) {
        s->name = sl_arena_strdup(L->a, name);
        if (!s->name) {
            return oom(L);
        }
        L->nanchors++;
    }
    s->node = node;
    s->done = done;
    return 0;
}

static anchor_t *anchor_get(loader_t *L, const char *name)
{
    if (!L->anchors_cap) {
        return NULL;
    }
    anchor_t *s = anchor_slot(L, name);
    return s->name ? s : NULL;
}

static const char *kind_word(const sl_node_t *n)
{
    return n->kind == SL_NODE_MAP ? "a map" : n->kind == SL_NODE_SEQ ? "a list" : "a scalar";
}

/* Adds a finished node to the open map/list, or makes it the root. */
static int add_child(loader_t *L, sl_node_t *child)
{
    if (L->depth == 0) {
        L->root = child;
        return 0;
    }
    frame_t *f = &L->stack[L->depth - 1];
    if (f->node->kind == SL_NODE_MAP && f->n % 2 == 0) {
        if (child->kind != SL_NODE_SCALAR) {
            return sl_node_error(L->err, child, "map keys must be strings, got %s",
                                 kind_word(child));
        }
        if (child->secret) {
            return sl_node_error(L->err, child,
                                 "map keys cannot come from ${env:} or ${file:} values");
        }
        if (!child->quoted && child->len == 0) {
            return sl_node_error(L->err, child, "empty map key");
        }
        if (!child->quoted && strcmp(child->text, "<<") == 0) {
            return sl_node_error(L->err, child,
                                 "merge keys ('<<') are not supported: repeat the keys");
        }
    }
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 8;
        sl_node_t **k = realloc(f->kids, ncap * sizeof *k);
        if (!k) {
            return oom(L);
        }
        f->kids = k;
        f->cap = ncap;
    }
    f->kids[f->n++] = child;
    return 0;
}

/* Tags: !!str makes a scalar a string; other standard tags are accepted
 * as no-ops; anything else is refused rather than silently ignored. */
static int check_tag(loader_t *L, const yaml_char_t *tag, yaml_mark_t m, bool *is_str)
{
    *is_str = false;
    if (!tag) {
        return 0;
    }
    const char *t = (const char *)tag;
    size_t pn = strlen(TAG_PREFIX);
    if (strncmp(t, TAG_PREFIX, pn) == 0) {
        const char *k = t + pn;
        if (strcmp(k, "str") == 0) {
            *is_str = true;
            return 0;
        }
        if (strcmp(k, "null") == 0 || strcmp(k, "bool") == 0 || strcmp(k, "int") == 0 ||
            strcmp(k, "float") == 0 || strcmp(k, "map") == 0 || strcmp(k, "seq") == 0) {
            return 0;
        }
    }
    if (strcmp(t, "!") == 0) {
        return 0;
    }
    return mark_error(L, m, "unsupported YAML tag '%s'", t);
}

static bool null_word(const char *s, size_t n)
{
    return n == 0 || (n == 1 && s[0] == '~') ||
           (n == 4 && (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 ||
                       memcmp(s, "NULL", 4) == 0));
}

static int on_scalar(loader_t *L, const yaml_event_t *ev)
{
    const char *val = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    bool is_str;
    int rc = check_tag(L, ev->data.scalar.tag, ev->start_mark, &is_str);
    if (rc) {
        return rc;
    }
    if (memchr(val, '\0', len)) {
        return mark_error(L, ev->start_mark, "NUL characters are not allowed in values");
    }
    sl_node_t *n = new_node(L, SL_NODE_SCALAR, ev->start_mark);
    if (!n) {
        return oom(L);
    }
    n->quoted = is_str || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    n->is_null = !n->quoted && null_word(val, len);
    bool is_key = L->depth > 0 && L->stack[L->depth - 1].node->kind == SL_NODE_MAP &&
                  L->stack[L->depth - 1].n % 2 == 0;
    if (is_key || n->is_null) {
        n->text = sl_arena_strndup(L->a, val, len);
        n->len = len;
        if (!n->text) {
            return oom(L);
        }
    } else {
        rc = sl_config_resolve(L->a, L->base_dir, L->opts, n, val, len, L->err);
        if (rc) {
            return rc;
        }
    }
    if (ev->data.scalar.anchor) {
        rc = anchor_put(L, (const char *)ev->data.scalar.anchor, n, true);
        if (rc) {
            return rc;
        }
    }
    return add_child(L, n);
}

static int on_start(loader_t *L, const yaml_event_t *ev, sl_node_kind_t kind)
{
    const yaml_char_t *anchor, *tag;
    if (kind == SL_NODE_MAP) {
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
    } else {
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
    }
    bool is_str;
    int rc = check_tag(L, tag, ev->start_mark, &is_str);
    if (rc) {
        return rc;
    }
    if (is_str) {
        return mark_error(L, ev->start_mark, "tag !!str on a map or list");
    }
    if (L->depth >= SL_CONFIG_MAX_DEPTH) {
        return mark_error(L, ev->start_mark, "nesting deeper than %d levels",
                          SL_CONFIG_MAX_DEPTH);
    }
    sl_node_t *n = new_node(L, kind, ev->start_mark);
    if (!n) {
        return oom(L);
    }
    if (L->depth == L->stack_cap) {
        size_t ncap = L->stack_cap ? L->stack_cap * 2 : 16;
        frame_t *s = realloc(L->stack, ncap * sizeof *s);
        if (!s) {
            return oom(L);
        }
        L->stack = s;
        L->stack_cap = ncap;
    }
    frame_t *f = &L->stack[L->depth++];
    memset(f, 0, sizeof *f);
    f->node = n;
    if (anchor) {
        rc = anchor_put(L, (const char *)anchor, n, false);
        if (rc) {
            return rc;
        }
        f->anchor = anchor_slot(L, (const char *)anchor)->name;
    }
    return 0;
}

typedef struct {
    const sl_node_t *key;
    size_t idx;
} keyref_t;

static int keyref_cmp(const void *pa, const void *pb)
{
    const keyref_t *a = pa, *b = pb;
    if (a->key->len != b->key->len) {
        return a->key->len < b->key->len ? -1 : 1;
    }
    int c = memcmp(a->key->text, b->key->text, a->key->len);
    if (c) {
        return c;
    }
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool same_key(const keyref_t *a, const keyref_t *b)
{
    return a->key->len == b->key->len && memcmp(a->key->text, b->key->text, a->key->len) == 0;
}

/* Reports the duplicate that comes first in the document. Sorting keeps
 * this O(n log n) for maps with many keys. */
static int check_duplicates(loader_t *L, const sl_node_pair_t *pairs, size_t n)
{
    if (n < 2) {
        return 0;
    }
    keyref_t *refs = malloc(n * sizeof *refs);
    if (!refs) {
        return oom(L);
    }
    for (size_t i = 0; i < n; i++) {
        refs[i].key = pairs[i].key;
        refs[i].idx = i;
    }
    qsort(refs, n, sizeof *refs, keyref_cmp);
    const keyref_t *first = NULL, *dup = NULL;
    for (size_t i = 1; i < n; i++) {
        bool group_start = i == 1 || !same_key(&refs[i - 2], &refs[i - 1]);
        if (group_start && same_key(&refs[i - 1], &refs[i]) && (!dup || refs[i].idx < dup->idx)) {
            first = &refs[i - 1];
            dup = &refs[i];
        }
    }
    int rc = 0;
    if (dup) {
        rc = sl_node_error(L->err, dup->key, "duplicate key '%s' (first defined at line %u)",
                           dup->key->text, (unsigned)first->key->line);
    }
    free(refs);
    return rc;
}

static int on_end(loader_t *L)
{
    frame_t *f = &L->stack[L->depth - 1];
    sl_node_t *n = f->node;
    int rc = 0;
    if (n->kind == SL_NODE_MAP) {
        size_t np = f->n / 2;
        sl_node_pair_t *pairs = np ? sl_arena_alloc(L->a, np * sizeof *pairs) : NULL;
        if (np && !pairs) {
            return oom(L);
        }
        for (size_t i = 0; i < np; i++) {
            pairs[i].key = f->kids[2 * i];
            pairs[i].value = f->kids[2 * i + 1];
        }
        n->pairs = pairs;
        n->n = np;
        rc = check_duplicates(L, pairs, np);
    } else {
        sl_node_t **items = f->n ? sl_arena_alloc(L->a, f->n * sizeof *items) : NULL;
        if (f->n && !items) {
            return oom(L);
        }
        if (f->n) {
            memcpy(items, f->kids, f->n * sizeof *items);
        }
        n->items = items;
        n->n = f->n;
    }
    if (rc) {
        return rc;
    }
    if (f->anchor) {
        anchor_t *s = anchor_get(L, f->anchor);
        if (s && s->node == n) {
            s->done = true;
        }
    }
    free(f->kids);
    f->kids = NULL;
    L->depth--;
    return add_child(L, n);
}

static int on_alias(loader_t *L, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    anchor_t *s = anchor_get(L, name);
    if (!s) {
        return mark_error(L, ev->start_mark, "unknown alias '*%s'", name);
    }
    if (!s->done) {
        return mark_error(L, ev->start_mark,
                          "alias '*%s' is inside the node it refers to (recursive alias)", name);
    }
    return add_child(L, s->node);
}

/* Line and column of a byte offset, for reader errors (which carry no
 * mark). Columns count UTF-8 characters, like libyaml's marks. */
static void offset_position(const char *text, size_t size, size_t off, size_t *line,
                            size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < size; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static int syntax_error(loader_t *L, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR) {
        return oom(L);
    }
    const char *problem = p->problem ? p->problem : "unknown problem";
    size_t line, col;
    if (p->error == YAML_READER_ERROR) {
        offset_position(L->text, L->size, p->problem_offset, &line, &col);
    } else {
        line = p->problem_mark.line + 1;
        col = p->problem_mark.column + 1;
    }
    if (p->context) {
        return sl_err_set(L->err, SL_ECONFIG, "%s:%zu:%zu: YAML syntax error: %s (%s)",
                          L->file, line, col, problem, p->context);
    }
    return sl_err_set(L->err, SL_ECONFIG, "%s:%zu:%zu: YAML syntax error: %s", L->file, line,
                      col, problem);
}

static int on_event(loader_t *L, const yaml_event_t *ev, bool *done)
{
    switch (ev->type) {
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
    case YAML_NO_EVENT:
        return 0;
    case YAML_STREAM_END_EVENT:
        *done = true;
        return 0;
    case YAML_DOCUMENT_START_EVENT:
        if (++L->ndocs > 1) {
            return mark_error(L, ev->start_mark,
                              "more than one YAML document: a config file holds one");
        }
        return 0;
    case YAML_ALIAS_EVENT:
        return on_alias(L, ev);
    case YAML_SCALAR_EVENT:
        return on_scalar(L, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(L, ev, SL_NODE_SEQ);
    case YAML_MAPPING_START_EVENT:
        return on_start(L, ev, SL_NODE_MAP);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(L);
    }
    return 0;
}

int sl_config_parse(sl_arena_t *a, const char *name, const char *text, size_t n,
                    const char *base_dir, sl_node_t **root, sl_err_t *err)
{
    return sl_config_parse_opts(a, name, text, n, base_dir, NULL, root, err);
}

int sl_config_parse_opts(sl_arena_t *a, const char *name, const char *text, size_t n,
                         const char *base_dir, const sl_config_opts_t *opts, sl_node_t **root,
                         sl_err_t *err)
{
    loader_t L = {0};
    L.opts = opts;
    if (!text) {
        text = ""; /* libyaml asserts on a NULL input */
        n = 0;
    }
    L.a = a;
    L.file = sl_arena_strdup(a, name ? name : "<config>");
    L.base_dir = base_dir ? sl_arena_strdup(a, base_dir) : NULL;
    L.text = text;
    L.size = n;
    L.err = err;
    *root = NULL;
    if (!L.file || (base_dir && !L.base_dir)) {
        return sl_err_set(err, SL_ENOMEM, "out of memory while loading config");
    }

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        return oom(&L);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, n);
    int rc = 0;
    bool done = false;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = syntax_error(&L, &parser);
            break;
        }
        rc = on_event(&L, &ev, &done);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    for (size_t i = 0; i < L.depth; i++) {
        free(L.stack[i].kids);
    }
    free(L.stack);
    free(L.anchors);
    if (rc) {
        return rc;
    }
    if (!L.root) {
        /* No document at all (empty file, only comments): a null root. */
        yaml_mark_t m = {0, 0, 0};
        L.root = new_node(&L, SL_NODE_SCALAR, m);
        if (!L.root) {
            return oom(&L);
        }
        L.root->text = "";
        L.root->is_null = true;
    }
    *root = L.root;
    return 0;
}

/* The folder of path, "." when it has none. */
static char *dir_of(sl_arena_t *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        return sl_arena_strdup(a, ".");
    }
    if (slash == path) {
        return sl_arena_strdup(a, "/");
    }
    return sl_arena_strndup(a, path, (size_t)(slash - path));
}

int sl_config_load(sl_arena_t *a, const char *path, sl_node_t **root, sl_err_t *err)
{
    return sl_config_load_opts(a, path, NULL, root, err);
}

int sl_config_load_opts(sl_arena_t *a, const char *path, const sl_config_opts_t *opts,
                        sl_node_t **root, sl_err_t *err)
{
    *root = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = sl_read_file(path, SL_CONFIG_MAX_FILE, &text, &len);
    if (rc == SL_EIO) {
        return sl_err_set(err, SL_ECONFIG, "cannot read '%s': %s", path, strerror(errno));
    }
    if (rc == SL_ELIMIT) {
        return sl_err_set(err, SL_ECONFIG, "%s: file larger than %u MiB", path,
                          SL_CONFIG_MAX_FILE >> 20);
    }
    if (rc) {
        return sl_err_set(err, SL_ENOMEM, "%s: out of memory while reading", path);
    }
    char *dir = dir_of(a, path);
    rc = dir ? sl_config_parse_opts(a, path, text, len, dir, opts, root, err)
             : sl_err_set(err, SL_ENOMEM, "%s: out of memory", path);
    free(text);
    return rc;
}
