/* API keys: the format of generated keys, their uniqueness, the hash of a
 * known key, parse errors, verification, names, and the scope rules. */
#include <stdio.h>
#include <string.h>

#include "../test.h"
#include "sluice/apikey.h"
#include "sluice/strset.h"

/* A key made up for these tests (not random, never used anywhere). Its
 * hash, from coreutils:
 *   printf %s slk_abcdefghijkl_mnopqrstuvwxyz234567abcdefghijkl | sha256sum */
#define KNOWN_KEY "slk_abcdefghijkl_mnopqrstuvwxyz234567abcdefghijkl"
#define KNOWN_HASH "3dde6bbccad3994bd7413208c9702b173d902da590cd2092073d88cfe2e19069"

static bool all_b32(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '2' && s[i] <= '7'))) {
            return false;
        }
    }
    return true;
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

SL_TEST(apikey_generate_format)
{
    for (int i = 0; i < 100; i++) {
        sl_apikey_new_t k;
        sl_err_t err = {0};
        CHECK_INT(sl_apikey_generate(&k, &err), 0);
        CHECK_INT(strlen(k.key), SL_APIKEY_LEN);
        CHECK_INT(SL_APIKEY_LEN, 49);
        CHECK(strncmp(k.key, "slk_", 4) == 0);
        CHECK(k.key[16] == '_');
        CHECK(all_b32(k.key + 4, 12));
        CHECK(all_b32(k.key + 17, 32));
        /* The id is the key's own, the hash the key text's. */
        CHECK_INT(strlen(k.id), 12);
        CHECK(strncmp(k.id, k.key + 4, 12) == 0);
        CHECK_INT(strlen(k.hash), 64);
        CHECK(all_hex(k.hash, 64));
        char h[SL_APIKEY_HASH_LEN + 1];
        sl_apikey_hash(k.key, strlen(k.key), h);
        CHECK_STR(k.hash, h);
        char id[SL_APIKEY_ID_LEN + 1];
        CHECK_INT(sl_apikey_parse(k.key, strlen(k.key), id, NULL), 0);
        CHECK_STR(id, k.id);
        CHECK(sl_apikey_verify(k.key, strlen(k.key), k.hash));
        /* Wiping leaves nothing of the key. */
        sl_apikey_wipe(&k);
        CHECK(strstr(k.key, "slk_") == NULL);
        CHECK_INT(k.key[0], 0);
    }
}

SL_TEST(apikey_generate_1000_unique_and_uniform)
{
    sl_strset_t keys = {0}, ids = {0};
    int counts[256] = {0};
    for (int i = 0; i < 1000; i++) {
        sl_apikey_new_t k;
        CHECK_INT(sl_apikey_generate(&k, NULL), 0);
        CHECK(!sl_strset_has(&keys, k.key, SL_APIKEY_LEN));
        CHECK(!sl_strset_has(&ids, k.id, SL_APIKEY_ID_LEN));
        CHECK_INT(sl_strset_add(&keys, k.key, SL_APIKEY_LEN), 0);
        CHECK_INT(sl_strset_add(&ids, k.id, SL_APIKEY_ID_LEN), 0);
        for (int j = 17; j < SL_APIKEY_LEN; j++) {
            counts[(unsigned char)k.key[j]]++;
        }
        sl_apikey_wipe(&k);
    }
    CHECK_INT((int)keys.n, 1000);
    CHECK_INT((int)ids.n, 1000);
    /* 32000 secret characters, 1000 expected of each of the 32 (a standard
     * deviation of about 31): every one shows, none far off. */
    const char *alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    for (const char *c = alphabet; *c; c++) {
        if (counts[(unsigned char)*c] < 800 || counts[(unsigned char)*c] > 1200) {
            sl_test_fail(__FILE__, __LINE__, "'%c' appears %d times in 32000", *c,
                         counts[(unsigned char)*c]);
        }
    }
    sl_strset_free(&keys);
    sl_strset_free(&ids);
}

SL_TEST(apikey_hash_of_a_known_key)
{
    char h[SL_APIKEY_HASH_LEN + 1];
    sl_apikey_hash(KNOWN_KEY, strlen(KNOWN_KEY), h);
    CHECK_STR(h, KNOWN_HASH);
    /* printf %s '' | sha256sum */
    sl_apikey_hash("", 0, h);
    CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

SL_TEST(apikey_parse_errors)
{
    char id[SL_APIKEY_ID_LEN + 1];
    sl_err_t err = {0};
    CHECK_INT(sl_apikey_parse(KNOWN_KEY, strlen(KNOWN_KEY), id, &err), 0);
    CHECK_STR(id, "abcdefghijkl");

    static const char *const bad[] = {
        "",
        "slk_",
        "slk_abcdefghijkl_mnopqrstuvwxyz234567abcdefghijk",   /* one short */
        "slk_abcdefghijkl_mnopqrstuvwxyz234567abcdefghijkla", /* one long */
        "SLK_abcdefghijkl_mnopqrstuvwxyz234567abcdefghijkl",  /* prefix case */
        "slx_abcdefghijkl_mnopqrstuvwxyz234567abcdefghijkl",
        "slk-abcdefghijkl_mnopqrstuvwxyz234567abcdefghijkl",
        "slk_abcdefghijkl-mnopqrstuvwxyz234567abcdefghijkl", /* separator */
        "slk_abcdefghijk__mnopqrstuvwxyz234567abcdefghijkl", /* '_' in the id */
        "slk_abcdefghijkL_mnopqrstuvwxyz234567abcdefghijkl", /* upper case */
        "slk_abcdefghijkl_mnopqrstuvwxyz234567abcdefghijkL",
        "slk_abcdefghij01_mnopqrstuvwxyz234567abcdefghijkl", /* 0, 1: not base32 */
        "slk_abcdefghijkl_mnopqrstuvwxyz234567abcdefghij89", /* 8, 9 */
        "slk_abcdefghijkl_mnopqrstuvwxyz234567abcdefghij=",  /* padding */
        "slk_abcdefghijkl_mnopqrstuvwxyz234567abcdefghijk ", /* a space */
        " slk_abcdefghijkl_mnopqrstuvwxyz234567abcdefghijkl",
        "slk_abcdefghijkl_mnopqrstuvwxyz234567abcdefghijk\n",
        "slk_abcdefghijkl_mnopqrstuvwxyz234567abcdefghijk\xc3",
        "Bearer slk_abcdefghijkl_mnopqrstuvwxyz234567abcdef",
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        strcpy(id, "junk");
        err.msg[0] = '\0';
        int rc = sl_apikey_parse(bad[i], strlen(bad[i]), id, &err);
        if (rc != SL_EINVAL) {
            sl_test_fail(__FILE__, __LINE__, "'%s' parsed (rc %d)", bad[i], rc);
        }
        CHECK_STR(id, "");
        CHECK_CONTAINS(err.msg, "not a sluice API key");
        /* The message never quotes what was presented. */
        CHECK(strlen(bad[i]) < 8 || strstr(err.msg, bad[i]) == NULL);
        CHECK(strstr(err.msg, "abcdefgh") == NULL);
    }
    /* The length is the caller's: an embedded NUL, or text cut short. */
    CHECK_INT(sl_apikey_parse("slk_abcdefghijkl_mnopqrstuvwxyz234567abcdefghij\0l", 49, id, NULL),
              SL_EINVAL);
    CHECK_INT(sl_apikey_parse(KNOWN_KEY, 48, id, NULL), SL_EINVAL);
    CHECK_INT(sl_apikey_parse(NULL, 49, id, NULL), SL_EINVAL);
}

SL_TEST(apikey_verify_answers)
{
    size_t n = strlen(KNOWN_KEY);
    CHECK(sl_apikey_verify(KNOWN_KEY, n, KNOWN_HASH));
    /* Any one character changed, at any place, is another key. */
    char k[SL_APIKEY_LEN + 1];
    for (size_t i = 0; i < n; i++) {
        memcpy(k, KNOWN_KEY, n + 1);
        k[i] = k[i] == 'a' ? 'b' : 'a';
        CHECK(!sl_apikey_verify(k, n, KNOWN_HASH));
    }
    /* The text is hashed as given: a prefix, or more, is not the key. */
    CHECK(!sl_apikey_verify(KNOWN_KEY, n - 1, KNOWN_HASH));
    CHECK(!sl_apikey_verify(KNOWN_KEY "a", n + 1, KNOWN_HASH));
    /* Stored hashes that cannot be the key's: none (an unknown id), cut,
     * too long, upper case (the store writes lower case), another key's. */
    CHECK(!sl_apikey_verify(KNOWN_KEY, n, NULL));
    CHECK(!sl_apikey_verify(KNOWN_KEY, n, ""));
    CHECK(!sl_apikey_verify(KNOWN_KEY, n, "3dde6bbccad3994bd7413208c9702b17"));
    CHECK(!sl_apikey_verify(KNOWN_KEY, n, KNOWN_HASH "00"));
    CHECK(!sl_apikey_verify(KNOWN_KEY, n,
                            "3DDE6BBCCAD3994BD7413208C9702B173D902DA590CD2092073D88CFE2E19069"));
    CHECK(!sl_apikey_verify(KNOWN_KEY, n,
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    /* The dummy an unknown id is compared with matches nothing either. */
    CHECK(!sl_apikey_verify("", 0, NULL));
    CHECK(!sl_apikey_verify(NULL, 0, KNOWN_HASH));
    CHECK(!sl_apikey_verify(NULL, 0, NULL));
    /* Two fresh keys: each verifies against its own hash only. */
    sl_apikey_new_t a, b;
    CHECK_INT(sl_apikey_generate(&a, NULL), 0);
    CHECK_INT(sl_apikey_generate(&b, NULL), 0);
    CHECK(sl_apikey_verify(a.key, SL_APIKEY_LEN, a.hash));
    CHECK(sl_apikey_verify(b.key, SL_APIKEY_LEN, b.hash));
    CHECK(!sl_apikey_verify(a.key, SL_APIKEY_LEN, b.hash));
    CHECK(!sl_apikey_verify(b.key, SL_APIKEY_LEN, a.hash));
}

/* 64 and 65 characters. */
#define NAME_64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define NAME_65 NAME_64 "a"

SL_TEST(apikey_names)
{
    static const char *const good[] = {"ingest", "a",    "Ops-2026", "svc.reporting",
                                       "x_y",    "0day", NAME_64};
    for (size_t i = 0; i < SL_ARRAY_LEN(good); i++) {
        CHECK_INT(sl_apikey_check_name(good[i], NULL), 0);
    }
    static const char *const bad[] = {"-ingest", ".x",          "_x",   "a b", "a\tb",
                                      "a/b",     "caf\xc3\xa9", "a\nb", "a:b", NAME_65};
    sl_err_t err = {0};
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        if (sl_apikey_check_name(bad[i], &err) != SL_EINVAL) {
            sl_test_fail(__FILE__, __LINE__, "name '%s' accepted", bad[i]);
        }
        CHECK_CONTAINS(err.msg, "is not valid: 1 to 64 letters, digits");
    }
    CHECK_INT(sl_apikey_check_name("", &err), SL_EINVAL);
    CHECK_STR(err.msg, "an API key needs a name");
    CHECK_INT(sl_apikey_check_name(NULL, &err), SL_EINVAL);
}

/* sl_apikey_scopes over a NULL-terminated list: the normalised text, or
 * "error: <message>". */
static const char *scopes_of(const char *const *list)
{
    static char out[1200];
    size_t n = 0;
    while (list[n]) {
        n++;
    }
    char *s = NULL;
    sl_err_t err = {0};
    int rc = sl_apikey_scopes(list, n, &s, &err);
    if (rc) {
        CHECK(s == NULL);
        snprintf(out, sizeof out, "error: %s", err.msg);
    } else {
        snprintf(out, sizeof out, "%s", s);
    }
    free(s);
    return out;
}

#define SCOPES(...) scopes_of((const char *const[]){__VA_ARGS__, NULL})

SL_TEST(apikey_scopes_checked_and_normalised)
{
    CHECK_STR(SCOPES("read"), "read");
    CHECK_STR(SCOPES("route:*", "read"), "route:* read");
    /* Several in one option, spaces anywhere, repeats dropped, order kept. */
    CHECK_STR(SCOPES("  write\troute:/fetch*  ", "read write", "route:/fetch*"),
              "write route:/fetch* read");
    CHECK_STR(SCOPES("admin", "route:/a/[bc]?d"), "admin route:/a/[bc]?d");
    /* Unknown scopes are named. */
    CHECK_STR(SCOPES("read", "delete"),
              "error: unknown scope 'delete' (scopes: read, write, admin, route:GLOB such as "
              "route:* or route:/fetch*)");
    CHECK_CONTAINS(SCOPES("Read"), "unknown scope 'Read'");
    CHECK_CONTAINS(SCOPES("routes:*"), "unknown scope 'routes:*'");
    CHECK_CONTAINS(SCOPES("read,write"), "unknown scope 'read,write'");
    CHECK_CONTAINS(SCOPES("*"), "unknown scope '*'");
    /* A route needs a path glob. */
    CHECK_CONTAINS(SCOPES("route:"), "scope 'route:': a route scope is route: and a path glob");
    CHECK_CONTAINS(SCOPES("route:fetch"), "scope 'route:fetch': a route scope is");
    CHECK_CONTAINS(SCOPES("route:/caf\xc3\xa9"), "a route scope is route: and a path glob");
    /* None at all. */
    CHECK_STR(SCOPES(""),
              "error: an API key needs at least one scope (read, write, admin, route:GLOB)");
    CHECK_CONTAINS(SCOPES(" \t "), "needs at least one scope");
    CHECK_CONTAINS(scopes_of((const char *const[]){NULL}), "needs at least one scope");
    /* A long one is cut in the message. */
    char lng[300];
    memset(lng, 'x', sizeof lng - 1);
    lng[sizeof lng - 1] = '\0';
    const char *m = SCOPES(lng);
    CHECK_CONTAINS(m, "unknown scope 'xxxx");
    CHECK_CONTAINS(m, "...'");
    CHECK(strlen(m) < 250);
}

SL_TEST(apikey_scope_rules)
{
    static const struct {
        const char *scopes, *need;
        bool allowed;
    } rules[] = {
        /* the levels: admin > write > read */
        {"read", "read", true},
        {"read", "write", false},
        {"read", "admin", false},
        {"write", "read", true},
        {"write", "write", true},
        {"write", "admin", false},
        {"admin", "read", true},
        {"admin", "write", true},
        {"admin", "admin", true},
        {"read write", "write", true},
        {"route:* read", "write", false},
        /* routes come from route: scopes only */
        {"admin", "route:/fetch", false},
        {"read write admin", "route:/", false},
        {"route:*", "route:/fetchAllProjects", true},
        {"route:*", "route:/", true},
        {"route:*", "read", false},
        {"route:/fetch*", "route:/fetchRootSpans", true},
        {"route:/fetch*", "route:/fetch", true},
        {"route:/fetch*", "route:/process", false},
        {"route:/fetch*", "route:/api/fetch", false},
        {"route:/fetch", "route:/fetch", true},
        {"route:/fetch", "route:/fetch/", false},
        {"route:/fetch", "route:/fetchX", false},
        {"route:/api/*", "route:/api/a/b", true}, /* * crosses / */
        {"route:/a?c", "route:/abc", true},
        {"route:/a[bc]", "route:/ac", true},
        {"route:/a[bc]", "route:/ad", false},
        {"route:/process route:/status", "route:/status", true},
        {"read route:/process", "route:/status", false},
        /* case matters */
        {"route:/Fetch*", "route:/fetchX", false},
        {"READ", "read", false},
        /* unknown needs, scopes and malformed text allow nothing */
        {"admin", "delete", false},
        {"admin", "", false},
        {"admin", "route", false},
        {"admin", "Read", false},
        {"read", "read ", false},
        {"delete read", "read", true},
        {"delete", "read", false},
        {"", "read", false},
        {"  ", "route:/x", false},
        {"readwrite", "read", false},
        {"route:", "route:/", false},
        {"route:", "route:", false},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(rules); i++) {
        bool got = sl_apikey_allows(rules[i].scopes, rules[i].need);
        if (got != rules[i].allowed) {
            sl_test_fail(__FILE__, __LINE__, "scopes '%s' need '%s': expected %s", rules[i].scopes,
                         rules[i].need, rules[i].allowed ? "allowed" : "refused");
        }
    }
    CHECK(!sl_apikey_allows(NULL, "read"));
    CHECK(!sl_apikey_allows("read", NULL));
}
