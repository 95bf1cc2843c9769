/* `sluice keys`: the API keys of `sluice serve` (create, list, revoke).
 *
 * A new key is printed once, on stdout, and nowhere else: it is registered
 * as a secret before anything else can print (so a log line would show
 * "***"), the store keeps its hash (apikey.h), listings show its id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sluice/apikey.h"
#include "sluice/log.h"
#include "sluice/timeutil.h"

static int create(const sl_cli_t *c)
{
    if (c->nargs > 1) {
        return sl_cli_usage_error("keys create takes its name as an option: --name %s", c->args[1]);
    }
    if (!c->key_name) {
        return sl_cli_usage_error("%s", "keys create needs --name NAME");
    }
    sl_err_t err = {0};
    if (sl_apikey_check_name(c->key_name, &err) != 0) {
        return sl_cli_usage_error("%s", err.msg);
    }
    if (c->nscopes == 0) {
        return sl_cli_usage_error("%s", "keys create needs at least one --scope (read, write, "
                                        "admin, route:GLOB such as route:* or route:/fetch*)");
    }
    char *scopes = NULL;
    if (sl_apikey_scopes(c->scopes, c->nscopes, &scopes, &err) != 0) {
        return sl_cli_usage_error("%s", err.msg);
    }
    sl_state_t *st;
    int rc = sl_cli_open_state(c, &st);
    if (rc) {
        free(scopes);
        return rc;
    }
    sl_apikey_new_t k;
    if (sl_apikey_generate(&k, &err) != 0) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        sl_state_close(st);
        free(scopes);
        return SL_EXIT_FAILED;
    }
    sl_log_add_secret(k.key, SL_APIKEY_LEN);
    sl_api_key_t row = {.id = k.id, .name = c->key_name, .scopes = scopes, .hash = k.hash};
    rc = sl_state_key_create(st, &row);
    if (rc) {
        /* A name taken is the user's to fix; anything else is the store's. */
        fprintf(stderr, "sluice: %s\n", sl_state_errmsg(st));
        rc = rc == SL_EINVAL ? SL_EXIT_USAGE : SL_EXIT_FAILED;
    } else {
        /* Shown only once the store has it: a key that was not stored is
         * never shown. */
        printf("%s\n", k.key);
        fflush(stdout);
        fprintf(stderr,
                "sluice: created API key %s ('%s', scopes: %s); the key above will not be shown "
                "again: store it now\n",
                k.id, c->key_name, scopes);
    }
    sl_apikey_wipe(&k);
    sl_state_close(st);
    free(scopes);
    return rc;
}

static int print_key(void *ud, const sl_api_key_t *k)
{
    (void)ud;
    char created[40], used[40], revoked[40];
    sl_cli_fmt_time(k->created_us, created);
    sl_cli_fmt_time(k->last_used_us, used);
    sl_cli_fmt_time(k->revoked_us, revoked);
    printf("%-12s  %-20s  %-20s  %-20s  %-20s  %s\n", k->id, k->name, created, used, revoked,
           k->scopes);
    return 0;
}

static int list(const sl_cli_t *c)
{
    if (c->nargs > 1) {
        return sl_cli_usage_error("keys list takes no arguments, got '%s'", c->args[1]);
    }
    sl_state_t *st;
    int rc = sl_cli_open_state(c, &st);
    if (rc) {
        return rc;
    }
    printf("%-12s  %-20s  %-20s  %-20s  %-20s  %s\n", "id", "name", "created", "last used",
           "revoked", "scopes");
    rc = sl_state_keys_list(st, print_key, NULL);
    if (rc) {
        fprintf(stderr, "sluice: %s\n", sl_state_errmsg(st));
        rc = SL_EXIT_FAILED;
    }
    sl_state_close(st);
    return rc;
}

static int revoke(const sl_cli_t *c)
{
    if (c->nargs < 2) {
        return sl_cli_usage_error("%s", "keys revoke needs a key's id or name");
    }
    if (c->nargs > 2) {
        return sl_cli_usage_error("%s", "keys revoke takes one key id or name");
    }
    /* The key itself works too (its id is in it); it is never echoed. */
    const char *target = c->args[1];
    char id[SL_APIKEY_ID_LEN + 1];
    if (strncmp(target, SL_APIKEY_PREFIX, strlen(SL_APIKEY_PREFIX)) == 0) {
        sl_log_add_secret(target, strlen(target));
        if (sl_apikey_parse(target, strlen(target), id, NULL) != 0) {
            return sl_cli_usage_error("%s", "keys revoke: the argument starts like a key but is "
                                            "not one; give the key's id or name");
        }
        target = id;
    }
    sl_state_t *st;
    int rc = sl_cli_open_state(c, &st);
    if (rc) {
        return rc;
    }
    int64_t now = sl_now_us();
    sl_api_key_t k;
    rc = sl_state_key_revoke(st, target, now, &k);
    if (rc) {
        fprintf(stderr, "sluice: %s\n", sl_state_errmsg(st));
        rc = rc == SL_ENOTFOUND ? SL_EXIT_USAGE : SL_EXIT_FAILED;
    } else if (k.revoked_us != now) {
        char when[40];
        sl_cli_fmt_time(k.revoked_us, when);
        printf("API key %s ('%s') was already revoked at %s\n", k.id, k.name, when);
    } else {
        printf("revoked API key %s ('%s'): it is refused from now on\n", k.id, k.name);
    }
    sl_api_key_free(&k);
    sl_state_close(st);
    return rc;
}

int sl_cli_keys(const sl_cli_t *c)
{
    const char *sub = c->nargs >= 1 ? c->args[0] : NULL;
    if (!sub) {
        return sl_cli_usage_error("%s", "keys needs a subcommand: create, list or revoke");
    }
    if (strcmp(sub, "create") == 0) {
        return create(c);
    }
    if (strcmp(sub, "list") == 0) {
        return list(c);
    }
    if (strcmp(sub, "revoke") == 0) {
        return revoke(c);
    }
    return sl_cli_usage_error("unknown keys subcommand '%s' (create, list, revoke)", sub);
}
