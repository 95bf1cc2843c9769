/* Tests for src/config/resolve.c: ${env:}, ${file:}, $${, the secret flag,
 * and that no message ever carries a resolved value. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "sluice/config.h"
#include "sluice/log.h"

static const sl_node_t *parse_in(const char *text, const char *base_dir, sl_err_t *err,
                                 int *rc)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_node_t *root = NULL;
    err->msg[0] = '\0';
    *rc = sl_config_parse(a, "p.yaml", text, strlen(text), base_dir, &root, err);
    return root;
}

static const sl_node_t *must_parse(const char *text, const char *base_dir)
{
    sl_err_t err;
    int rc;
    const sl_node_t *r = parse_in(text, base_dir, &err, &rc);
    if (rc != 0) {
        sl_test_fail(__FILE__, __LINE__, "parse failed: %s", err.msg);
    }
    return r;
}

SL_TEST(config_resolve_env)
{
    setenv("SL_T_PW", "hunter2-secret", 1);
    setenv("SL_T_HOST", "db.local", 1);
    const sl_node_t *r = must_parse("url: \"postgres://u:${env:SL_T_PW}@${env:SL_T_HOST}/db\"\n"
                                    "plain: ${env:SL_T_HOST}\n"
                                    "none: no refs here $5\n",
                                    NULL);
    const sl_node_t *url = sl_node_get(r, "url");
    CHECK_STR(url->text, "postgres://u:hunter2-secret@db.local/db");
    CHECK_INT(url->len, strlen("postgres://u:hunter2-secret@db.local/db"));
    CHECK(url->secret);
    CHECK_STR(sl_node_display(url), "<secret>");
    const sl_node_t *plain = sl_node_get(r, "plain");
    CHECK_STR(plain->text, "db.local");
    CHECK(plain->secret);
    CHECK(!plain->quoted);
    const sl_node_t *none = sl_node_get(r, "none");
    CHECK_STR(none->text, "no refs here $5");
    CHECK(!none->secret);
    CHECK_STR(sl_node_display(none), "no refs here $5");
}

SL_TEST(config_resolve_env_default_and_escape)
{
    unsetenv("SL_T_UNSET");
    setenv("SL_T_EMPTY", "", 1);
    setenv("SL_T_SET", "value", 1);
    const sl_node_t *r = must_parse("a: ${env:SL_T_UNSET:-fallback}\n"
                                    "b: ${env:SL_T_EMPTY:-used-for-empty}\n"
                                    "c: ${env:SL_T_SET:-ignored}\n"
                                    "d: \"x${env:SL_T_UNSET:-}y\"\n"
                                    "e: \"$${env:SL_T_SET} and $$ and $x\"\n"
                                    "f: ${env:SL_T_EMPTY}\n",
                                    NULL);
    CHECK_STR(sl_node_get(r, "a")->text, "fallback");
    CHECK(sl_node_get(r, "a")->secret);
    CHECK_STR(sl_node_get(r, "b")->text, "used-for-empty");
    CHECK_STR(sl_node_get(r, "c")->text, "value");
    CHECK_STR(sl_node_get(r, "d")->text, "xy");
    const sl_node_t *e = sl_node_get(r, "e");
    CHECK_STR(e->text, "${env:SL_T_SET} and $$ and $x");
    CHECK(!e->secret);
    CHECK_STR(sl_node_get(r, "f")->text, "");
    CHECK(!sl_node_get(r, "f")->is_null);
}

SL_TEST(config_resolve_keys_untouched)
{
    setenv("SL_T_K", "kkkk", 1);
    const sl_node_t *r = must_parse("${env:SL_T_K}: v\n", NULL);
    CHECK_STR(r->pairs[0].key->text, "${env:SL_T_K}");
    CHECK(!r->pairs[0].key->secret);
    CHECK_STR(r->pairs[0].value->text, "v");
}

SL_TEST(config_resolve_env_errors)
{
    sl_err_t err;
    int rc;
    unsetenv("SL_T_MISSING");
    parse_in("a: 1\nurl: \"pg://${env:SL_T_MISSING}@h\"\n", NULL, &err, &rc);
    CHECK_INT(rc, SL_ECONFIG);
    CHECK_STR(err.msg, "p.yaml:2:6: environment variable 'SL_T_MISSING' is not set");
    parse_in("a: ${env:1BAD}\n", NULL, &err, &rc);
    CHECK_STR(err.msg, "p.yaml:1:4: invalid environment variable name '1BAD' in ${env:1BAD}");
    parse_in("a: ${env:X\n", NULL, &err, &rc);
    CHECK_STR(err.msg, "p.yaml:1:4: unterminated '${' (write $${ for a literal ${)");
    parse_in("a: ${vault:x}\n", NULL, &err, &rc);
    CHECK_STR(err.msg, "p.yaml:1:4: unknown reference '${vault:x}' (expected ${env:NAME} or "
                       "${file:PATH}; write $${ for a literal ${)");
}

SL_TEST(config_resolve_file_relative_to_yaml_folder)
{
    const char *dir = sl_test_tmpdir();
    sl_test_write_file("token.txt", "s3cr3t-token\r\n\n", 15);
    char sub[600];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    char text[1000];
    snprintf(text, sizeof text,
             "rel: ${file:token.txt}\n"
             "abs: \"Bearer ${file:%s/token.txt}\"\n",
             dir);
    const sl_node_t *r = must_parse(text, dir);
    CHECK_STR(sl_node_get(r, "rel")->text, "s3cr3t-token");
    CHECK(sl_node_get(r, "rel")->secret);
    CHECK_STR(sl_node_get(r, "abs")->text, "Bearer s3cr3t-token");

    /* Loaded from a file, the base is the file's folder. */
    const char *path = sl_test_write_file("p.yaml", "t: ${file:token.txt}\n", 21);
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_node_t *root;
    sl_err_t err;
    CHECK_INT(sl_config_load(a, path, &root, &err), 0);
    CHECK_STR(sl_node_get(root, "t")->text, "s3cr3t-token");
    sl_arena_destroy(a);
}

SL_TEST(config_resolve_file_errors)
{
    const char *dir = sl_test_tmpdir();
    sl_err_t err;
    int rc;
    parse_in("x: 1\ny: ${file:missing.txt}\n", dir, &err, &rc);
    CHECK_INT(rc, SL_ECONFIG);
    char want[800];
    snprintf(want, sizeof want,
             "p.yaml:2:4: cannot read file '%s/missing.txt': No such file or directory", dir);
    CHECK_STR(err.msg, want);
    parse_in("y: ${file:/}\n", dir, &err, &rc);
    CHECK_STR(err.msg, "p.yaml:1:4: cannot read file '/': not a regular file");
    parse_in("y: ${file:}\n", dir, &err, &rc);
    CHECK_STR(err.msg, "p.yaml:1:4: empty path in ${file:}");
    sl_test_write_file("nul.txt", "ab\0cd", 5);
    parse_in("y: ${file:nul.txt}\n", dir, &err, &rc);
    snprintf(want, sizeof want, "p.yaml:1:4: file '%s/nul.txt' contains a NUL byte", dir);
    CHECK_STR(err.msg, want);
}

/* Every message that can mention a secret-bearing scalar shows "<secret>". */
SL_TEST(config_resolve_secret_never_in_messages)
{
    const char *secret = "TopSecretValue42";
    setenv("SL_T_SECRET", secret, 1);
    const sl_node_t *r = must_parse("port: ${env:SL_T_SECRET}\n"
                                    "flag: ${env:SL_T_SECRET}\n"
                                    "mode: \"${env:SL_T_SECRET}\"\n"
                                    "items: [\"${env:SL_T_SECRET}\"]\n",
                                    NULL);
    sl_err_t err;
    int64_t i;
    bool b;
    double d;
    CHECK_INT(sl_node_to_int(sl_node_get(r, "port"), "port", &i, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "p.yaml:1:7: port: expected an integer, got '<secret>'");
    CHECK_INT(sl_node_to_bool(sl_node_get(r, "flag"), "flag", &b, &err), SL_ECONFIG);
    CHECK(!strstr(err.msg, secret));
    CHECK_INT(sl_node_to_double(sl_node_get(r, "mode"), NULL, &d, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "p.yaml:3:7: expected a number, got the quoted string '<secret>'");

    static const char *const modes[] = {"append", "upsert", NULL};
    const sl_field_spec_t spec[] = {
        {.name = "port", .type = SL_FIELD_INT},
        {.name = "flag", .type = SL_FIELD_STRING},
        {.name = "mode", .type = SL_FIELD_STRING, .choices = modes},
        {.name = "items", .type = SL_FIELD_STRING_LIST, .choices = modes},
        {.name = NULL},
    };
    CHECK_INT(sl_config_check(r, spec, "sink 'x'", &err), SL_ECONFIG);
    CHECK_STR(err.msg, "p.yaml:1:7: sink 'x': key 'port' must be an integer, got '<secret>'");
    const sl_field_spec_t spec2[] = {
        {.name = "port", .type = SL_FIELD_STRING},
        {.name = "flag", .type = SL_FIELD_STRING},
        {.name = "mode", .type = SL_FIELD_STRING, .choices = modes},
        {.name = "items", .type = SL_FIELD_STRING_LIST},
        {.name = NULL},
    };
    CHECK_INT(sl_config_check(r, spec2, "sink 'x'", &err), SL_ECONFIG);
    CHECK_STR(err.msg,
              "p.yaml:3:7: sink 'x': key 'mode' must be one of append, upsert; got '<secret>'");
    CHECK(!strstr(err.msg, secret));
}

SL_TEST(config_resolve_secret_file_not_in_messages)
{
    const char *dir = sl_test_tmpdir();
    sl_test_write_file("pw", "file-secret-xyz\n", 16);
    sl_err_t err;
    int rc;
    const sl_node_t *r = parse_in("n: ${file:pw}\n", dir, &err, &rc);
    CHECK_INT(rc, 0);
    int64_t i;
    CHECK_INT(sl_node_to_int(sl_node_get(r, "n"), "n", &i, &err), SL_ECONFIG);
    CHECK(!strstr(err.msg, "file-secret-xyz"));
    CHECK_STR(sl_node_display(sl_node_get(r, "n")), "<secret>");
}

SL_TEST(config_resolve_secret_alias_key_refused)
{
    setenv("SL_T_AK", "secret-key-name", 1);
    sl_err_t err;
    int rc;
    parse_in("a: &k ${env:SL_T_AK}\nb: {*k : 1}\n", NULL, &err, &rc);
    CHECK_INT(rc, SL_ECONFIG);
    CHECK_STR(err.msg, "p.yaml:1:4: map keys cannot come from ${env:} or ${file:} values");
    CHECK(!strstr(err.msg, "secret-key-name"));
}

/* Resolved values reach the log's redaction list (log.h: masked as ***);
 * values that only came from a default are not registered. */
SL_TEST(config_resolve_registers_secrets_with_log)
{
    setenv("SL_T_LOGSEC", "log-secret-value", 1);
    unsetenv("SL_T_UNSET9");
    must_parse("a: x${env:SL_T_LOGSEC}y\nb: ${env:SL_T_UNSET9:-localhost}\n", NULL);
    char path[600];
    snprintf(path, sizeof path, "%s/log.txt", sl_test_tmpdir());
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && saved >= 0);
    dup2(fd, 2);
    sl_log_setup(SL_LOG_DEBUG, SL_LOG_TEXT);
    sl_info("v=%s w=%s d=%s", "log-secret-value", "xlog-secret-valuey", "localhost");
    fflush(stderr);
    dup2(saved, 2);
    close(fd);
    close(saved);
    char text[4096] = "";
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    CHECK(strstr(text, "secret-value") == NULL);
    CHECK_CONTAINS(text, "***");
    CHECK_CONTAINS(text, "d=localhost");
}

typedef struct {
    char msgs[4][SL_ERRMSG_MAX];
    int n;
} warnings_t;

static void collect(void *ud, const char *msg)
{
    warnings_t *w = ud;
    if (w->n < 4) {
        snprintf(w->msgs[w->n], sizeof w->msgs[0], "%s", msg);
    }
    w->n++;
}

SL_TEST(config_resolve_missing_ok_warns)
{
    unsetenv("SL_T_MISSING");
    setenv("SL_T_THERE", "there-value-1234", 1);
    warnings_t w = {0};
    sl_config_opts_t opts = {.missing_ok = true, .warn = collect, .warn_ud = &w};
    const char *text = "key: \"${env:SL_T_MISSING}\"\n"
                       "url: \"https://${env:SL_T_THERE}/x?k=${env:SL_T_MISSING}\"\n"
                       "dflt: \"${env:SL_T_MISSING:-fallback}\"\n"
                       "pem: \"${file:no/such/file.pem}\"\n";
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_node_t *root = NULL;
    sl_err_t err = {0};
    CHECK_INT(sl_config_parse_opts(a, "p.yaml", text, strlen(text), sl_test_tmpdir(), &opts,
                                   &root, &err),
              0);
    CHECK_INT(w.n, 3);
    CHECK_STR(w.msgs[0], "p.yaml:1:6: warning: ${env:SL_T_MISSING} is not set (a run needs it)");
    CHECK_STR(w.msgs[1], "p.yaml:2:6: warning: ${env:SL_T_MISSING} is not set (a run needs it)");
    CHECK_STR(w.msgs[2],
              "p.yaml:4:6: warning: ${file:no/such/file.pem} does not exist (a run needs it)");
    /* the placeholder is the written text, secret and unresolved */
    const sl_node_t *key = sl_node_get(root, "key");
    CHECK_STR(key->text, "${env:SL_T_MISSING}");
    CHECK(key->secret && key->unresolved);
    CHECK_STR(sl_node_display(key), "<secret>");
    const sl_node_t *url = sl_node_get(root, "url");
    CHECK(url->unresolved && url->secret);
    CHECK(!strstr(url->text, "there-value-1234"));
    /* a default still applies, and a file that is there is read */
    const sl_node_t *dflt = sl_node_get(root, "dflt");
    CHECK_STR(dflt->text, "fallback");
    CHECK(!dflt->unresolved);
    CHECK(sl_node_get(root, "pem")->unresolved);
    /* without the option, the same text is an error */
    CHECK_INT(sl_config_parse(a, "p.yaml", text, strlen(text), sl_test_tmpdir(), &root, &err),
              SL_ECONFIG);
    CHECK_STR(err.msg, "p.yaml:1:6: environment variable 'SL_T_MISSING' is not set");
    const char *file_only = "pem: \"${file:no/such/file.pem}\"\n";
    CHECK_INT(sl_config_parse(a, "p.yaml", file_only, strlen(file_only), sl_test_tmpdir(), &root,
                              &err),
              SL_ECONFIG);
    CHECK_CONTAINS(err.msg, "p.yaml:1:6: cannot read file '");
    CHECK_CONTAINS(err.msg, "no/such/file.pem': No such file or directory");
    /* a file that exists but cannot be read stays an error with the option */
    const char *dir = "pem: \"${file:.}\"\n";
    w.n = 0;
    CHECK_INT(sl_config_parse_opts(a, "p.yaml", dir, strlen(dir), sl_test_tmpdir(), &opts, &root,
                                   &err),
              SL_ECONFIG);
    CHECK_CONTAINS(err.msg, "not a regular file");
    CHECK_INT(w.n, 0);
    sl_arena_destroy(a);
}
