/* Tests for src/config/yaml.c: node trees, positions, flags, and every
 * load-time YAML error with its exact message. */
#include <string.h>

#include "../test.h"
#include "sluice/config.h"

static sl_arena_t *arena;

static int parse(const char *text, sl_node_t **root, sl_err_t *err)
{
    if (!arena) {
        arena = sl_arena_create(0, 0);
    }
    err->msg[0] = '\0';
    return sl_config_parse(arena, "p.yaml", text, strlen(text), NULL, root, err);
}

static const sl_node_t *must_parse(const char *text)
{
    sl_node_t *root = NULL;
    sl_err_t err;
    int rc = parse(text, &root, &err);
    if (rc != 0) {
        sl_test_fail(__FILE__, __LINE__, "parse failed: %s", err.msg);
    }
    return root;
}

static void expect_error(const char *text, const char *msg)
{
    sl_node_t *root = NULL;
    sl_err_t err;
    int rc = parse(text, &root, &err);
    CHECK_INT(rc, SL_ECONFIG);
    CHECK_STR(err.msg, msg);
}

SL_TEST(config_yaml_tree_and_positions)
{
    const sl_node_t *r = must_parse("name: quickstart\n"
                                    "steps:\n"
                                    "  - name: orders\n"
                                    "    sink: {type: sql, key: [id, day]}\n");
    CHECK_INT(r->kind, SL_NODE_MAP);
    CHECK_INT(r->n, 2);
    CHECK_INT(r->line, 1);
    CHECK_INT(r->col, 1);
    CHECK_STR(r->file, "p.yaml");
    const sl_node_t *name = sl_node_get(r, "name");
    CHECK_STR(name->text, "quickstart");
    CHECK_INT(name->len, 10);
    CHECK_INT(name->line, 1);
    CHECK_INT(name->col, 7);
    CHECK_INT(r->pairs[1].key->line, 2);
    CHECK_INT(r->pairs[1].key->col, 1);
    const sl_node_t *steps = sl_node_get(r, "steps");
    CHECK_INT(steps->kind, SL_NODE_SEQ);
    CHECK_INT(steps->n, 1);
    CHECK_INT(steps->line, 3);
    CHECK_INT(steps->col, 3);
    const sl_node_t *step = steps->items[0];
    CHECK_INT(step->kind, SL_NODE_MAP);
    CHECK_INT(step->line, 3);
    CHECK_INT(step->col, 5);
    const sl_node_t *sink = sl_node_get(step, "sink");
    CHECK_INT(sink->line, 4);
    CHECK_INT(sink->col, 11);
    const sl_node_t *key = sl_node_get(sink, "key");
    CHECK_INT(key->kind, SL_NODE_SEQ);
    CHECK_INT(key->n, 2);
    CHECK_STR(key->items[1]->text, "day");
    CHECK_INT(key->items[1]->line, 4);
    CHECK_INT(key->items[1]->col, 33);
    CHECK(sl_node_get(r, "nope") == NULL);
    CHECK(sl_node_get(name, "x") == NULL);
}

SL_TEST(config_yaml_scalar_flags)
{
    const sl_node_t *r = must_parse("a: ~\n"
                                    "b: null\n"
                                    "c: NULL\n"
                                    "d:\n"
                                    "e: 'null'\n"
                                    "f: \"5\"\n"
                                    "g: 5\n"
                                    "h: |\n"
                                    "  line1\n"
                                    "  line2\n"
                                    "i: !!str 7\n"
                                    "j: Null\n"
                                    "k: nulls\n");
    CHECK(sl_node_get(r, "a")->is_null);
    CHECK(sl_node_get(r, "b")->is_null);
    CHECK(sl_node_get(r, "c")->is_null);
    CHECK(sl_node_get(r, "d")->is_null);
    CHECK_STR(sl_node_get(r, "d")->text, "");
    CHECK(sl_node_get(r, "j")->is_null);
    CHECK(!sl_node_get(r, "k")->is_null);
    const sl_node_t *e = sl_node_get(r, "e");
    CHECK(!e->is_null);
    CHECK(e->quoted);
    CHECK(sl_node_get(r, "f")->quoted);
    CHECK(!sl_node_get(r, "g")->quoted);
    const sl_node_t *h = sl_node_get(r, "h");
    CHECK(h->quoted);
    CHECK_STR(h->text, "line1\nline2\n");
    CHECK(sl_node_get(r, "i")->quoted);
    CHECK_STR(sl_node_get(r, "i")->text, "7");
}

SL_TEST(config_yaml_aliases_share_nodes)
{
    const sl_node_t *r = must_parse("base: &b {url: \"s3://x\", region: eu}\n"
                                    "one: *b\n"
                                    "two: *b\n"
                                    "name: &n orders\n"
                                    "again: *n\n");
    const sl_node_t *base = sl_node_get(r, "base");
    CHECK(sl_node_get(r, "one") == base);
    CHECK(sl_node_get(r, "two") == base);
    CHECK_STR(sl_node_get(sl_node_get(r, "one"), "region")->text, "eu");
    CHECK(sl_node_get(r, "again") == sl_node_get(r, "name"));
}

SL_TEST(config_yaml_empty_documents)
{
    const sl_node_t *r = must_parse("");
    CHECK_INT(r->kind, SL_NODE_SCALAR);
    CHECK(r->is_null);
    CHECK_INT(r->line, 1);
    sl_node_t *root = NULL;
    sl_err_t err;
    CHECK_INT(sl_config_parse(arena, "p.yaml", NULL, 0, NULL, &root, &err), 0);
    CHECK(root->is_null);
    r = must_parse("# only a comment\n");
    CHECK(r->is_null);
    r = must_parse("--- [1, 2]\n...\n");
    CHECK_INT(r->kind, SL_NODE_SEQ);
    CHECK_INT(r->n, 2);
}

SL_TEST(config_yaml_duplicate_key)
{
    expect_error("a: 1\nb: 2\na: 3\n", "p.yaml:3:1: duplicate key 'a' (first defined at line 1)");
    /* Nested, and the earliest duplicate in the document wins. */
    expect_error("m:\n  x: 1\n  y: 2\n  y: 3\n  x: 4\n",
                 "p.yaml:4:3: duplicate key 'y' (first defined at line 3)");
}

SL_TEST(config_yaml_duplicate_key_large_map)
{
    /* Many keys take the sorting path; the message must not change. */
    char text[8192];
    size_t n = 0;
    for (int i = 0; i < 300; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "k%d: %d\n", i, i);
    }
    snprintf(text + n, sizeof text - n, "k7: again\n");
    expect_error(text, "p.yaml:301:1: duplicate key 'k7' (first defined at line 8)");
}

SL_TEST(config_yaml_multiple_documents)
{
    expect_error("a: 1\n---\nb: 2\n",
                 "p.yaml:2:1: more than one YAML document: a config file holds one");
}

SL_TEST(config_yaml_syntax_errors)
{
    expect_error("a: [1, 2\nb: 3\n",
                 "p.yaml:2:2: YAML syntax error: did not find expected ',' or ']' "
                 "(while parsing a flow sequence)");
    expect_error("a:\n\tb: 1\n",
                 "p.yaml:2:1: YAML syntax error: found character that cannot start any token "
                 "(while scanning for the next token)");
    expect_error("a: 'x\n", "p.yaml:2:1: YAML syntax error: found unexpected end of stream "
                            "(while scanning a quoted scalar)");
}

SL_TEST(config_yaml_invalid_utf8)
{
    /* The position is the byte that breaks the sequence. */
    expect_error("a: 1\nb: \xC3(\n",
                 "p.yaml:2:5: YAML syntax error: invalid trailing UTF-8 octet");
}

SL_TEST(config_yaml_non_string_keys)
{
    expect_error("? {a: 1}\n: x\n", "p.yaml:1:3: map keys must be strings, got a map");
    expect_error("? [a]\n: x\n", "p.yaml:1:3: map keys must be strings, got a list");
    expect_error("?\n: y\n", "p.yaml:1:2: empty map key");
}

SL_TEST(config_yaml_alias_errors)
{
    expect_error("a: *nope\n", "p.yaml:1:4: unknown alias '*nope'");
    expect_error("a: &x [1, *x]\n",
                 "p.yaml:1:11: alias '*x' is inside the node it refers to (recursive alias)");
    expect_error("base: &b {a: 1}\nother:\n  <<: *b\n",
                 "p.yaml:3:3: merge keys ('<<') are not supported: repeat the keys");
}

SL_TEST(config_yaml_tags_and_depth)
{
    expect_error("a: !secret x\n", "p.yaml:1:4: unsupported YAML tag '!secret'");
    char deep[1000];
    memset(deep, '[', 400);
    memset(deep + 400, ']', 400);
    deep[800] = '\0';
    expect_error(deep, "p.yaml:1:201: nesting deeper than 200 levels");
}

SL_TEST(config_yaml_load_file)
{
    const char *path = sl_test_write_file("pipe.yaml", "name: x\n", 8);
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_node_t *root = NULL;
    sl_err_t err;
    CHECK_INT(sl_config_load(a, path, &root, &err), 0);
    CHECK_STR(sl_node_get(root, "name")->text, "x");
    CHECK_STR(root->file, path);

    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope.yaml", sl_test_tmpdir());
    CHECK_INT(sl_config_load(a, missing, &root, &err), SL_ECONFIG);
    char want[700];
    snprintf(want, sizeof want, "cannot read '%s': No such file or directory", missing);
    CHECK_STR(err.msg, want);
    sl_arena_destroy(a);
}
