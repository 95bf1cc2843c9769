/* Who may call what on `sluice serve`: the API key a request presents
 * (x-api-key, or Authorization: Bearer), checked against the state store's
 * keys (apikey.h) and the scope the endpoint needs; /healthz and /readyz
 * and routes with `auth: none` are open; a route with a key of its own
 * (`auth: "${env:API_KEY}"`, the seeds' one shared key) takes that key.
 *
 * A key's row is read once and then kept for AUTH_CACHE_US, so a busy
 * client costs no store read per request: a revocation takes effect within
 * that time. Last use is written at most once a minute per key. */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server.h"
#include "sluice/apikey.h"
#include "sluice/timeutil.h"

#define AUTH_CACHE_US (5 * 1000000LL)
#define TOUCH_EVERY_US (60 * 1000000LL)
#define CACHE_SLOTS 64

typedef struct {
    char id[SL_APIKEY_ID_LEN + 1];
    char hash[SL_APIKEY_HASH_LEN + 1];
    char *scopes;
    bool known, revoked;
    int64_t fetched_us, touched_us;
} cached_t;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cached_t cache[CACHE_SLOTS];

/* The key text a request presents, or NULL. */
static const char *presented(const sl_request_t *r, size_t *n)
{
    const char *k = sl_request_header(r, "x-api-key");
    if (!k) {
        const char *h = sl_request_header(r, "Authorization");
        if (h && strncasecmp(h, "Bearer ", 7) == 0) {
            k = h + 7;
            while (*k == ' ') {
                k++;
            }
        }
    }
    *n = k ? strlen(k) : 0;
    return k && *n ? k : NULL;
}

/* The stored key for id (cached): false when unknown or revoked; scopes
 * and hash copied out. */
static bool lookup(sl_state_t *st, const char *id, char *hash, char **scopes)
{
    int64_t now = sl_now_us();
    unsigned slot = 0;
    for (const char *p = id; *p; p++) {
        slot = slot * 31 + (unsigned char)*p;
    }
    slot %= CACHE_SLOTS;
    pthread_mutex_lock(&cache_lock);
    cached_t *c = &cache[slot];
    if (strcmp(c->id, id) != 0 || now - c->fetched_us > AUTH_CACHE_US) {
        sl_api_key_t k;
        int rc = sl_state_key_get(st, id, &k);
        free(c->scopes);
        memset(c, 0, sizeof *c);
        snprintf(c->id, sizeof c->id, "%s", id);
        c->fetched_us = now;
        if (rc == 0) {
            c->known = true;
            c->revoked = k.revoked_us != 0;
            snprintf(c->hash, sizeof c->hash, "%s", k.hash ? k.hash : "");
            c->scopes = strdup(k.scopes ? k.scopes : "");
            sl_api_key_free(&k);
        }
    }
    bool ok = c->known && !c->revoked && c->scopes;
    memcpy(hash, c->hash, sizeof c->hash);
    *scopes = ok ? strdup(c->scopes) : NULL;
    bool touch = ok && now - c->touched_us > TOUCH_EVERY_US;
    if (touch) {
        c->touched_us = now;
    }
    pthread_mutex_unlock(&cache_lock);
    if (touch) {
        sl_state_key_touch(st, id, now);
    }
    return ok && *scopes;
}

bool sl_auth_check(const sl_request_t *r, const char *need, const sl_node_t *route_auth,
                   sl_response_t *resp)
{
    size_t n = 0;
    const char *key = presented(r, &n);
    if (route_auth && strcmp(route_auth->text, "none") == 0 && !route_auth->secret) {
        return true;
    }
    if (!key) {
        sl_response_error(resp, 401, "unauthorized", "an API key is needed (x-api-key or "
                          "Authorization: Bearer)");
        return false;
    }
    if (route_auth && route_auth->unresolved) {
        sl_response_error(resp, 503, "not_configured", "this route's key is not set on the "
                          "server (its ${env:} or ${file:} is missing)");
        return false;
    }
    if (route_auth) {
        /* the route's own key: equal lengths compared in constant time */
        size_t want = route_auth->len;
        bool ok = n == want && CRYPTO_memcmp(key, route_auth->text, n) == 0;
        if (!ok) {
            sl_response_error(resp, 401, "unauthorized", "the API key is not valid");
        }
        return ok;
    }
    char id[SL_APIKEY_ID_LEN + 1] = "", hash[SL_APIKEY_HASH_LEN + 1] = "";
    char *scopes = NULL;
    bool known = sl_apikey_parse(key, n, id, NULL) == 0 &&
                 lookup(sl_server_state(r->server), id, hash, &scopes);
    /* verify even for an unknown id: the same time either way */
    bool valid = sl_apikey_verify(key, n, known ? hash : NULL) && known;
    if (!valid) {
        free(scopes);
        sl_response_error(resp, 401, "unauthorized", "the API key is not valid (unknown, "
                          "revoked or mistyped)");
        return false;
    }
    bool allowed = sl_apikey_allows(scopes, need);
    free(scopes);
    if (!allowed) {
        sl_response_error(resp, 403, "forbidden", "the key's scopes do not allow %s", need);
    }
    return allowed;
}
