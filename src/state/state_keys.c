/* The state store's public API for API keys (state.h): argument checks,
 * the handle's lock, a driver call, and the messages of calls that found a
 * clash or nothing to act on (the drivers leave those to here, so both say
 * the same). No message ever holds a key's hash. */
#include <stdlib.h>
#include <string.h>

#include "sluice/timeutil.h"
#include "state_internal.h"

#define LOCKED SL_STATE_LOCKED

/* 0 when s is set and not empty, else SL_EINVAL naming what. */
static int need_text(sl_state_t *st, const char *s, const char *what)
{
    if (s && *s) {
        return 0;
    }
    return sl_err_set(sl_state_err(st), SL_EINVAL, "state store %s: missing %s", st->where, what);
}

int sl_state_key_create(sl_state_t *st, const sl_api_key_t *key)
{
    int rc = sl_state_need(st, key, "API key");
    if (!rc) {
        rc = need_text(st, key->id, "API key id");
    }
    if (!rc) {
        rc = need_text(st, key->name, "API key name");
    }
    if (!rc) {
        rc = need_text(st, key->scopes, "API key scopes");
    }
    if (!rc) {
        rc = need_text(st, key->hash, "API key hash");
    }
    if (rc) {
        return rc;
    }
    sl_api_key_t k = *key;
    k.created_us = k.created_us ? k.created_us : sl_now_us();
    pthread_mutex_lock(&st->lock);
    rc = st->ops->key_create(st, &k);
    if (rc == SL_EINVAL) {
        /* Which of the two unique columns clashed: an id clash (60 random
         * bits) is all but impossible, a name clash is a user's typo. */
        sl_api_key_t same;
        memset(&same, 0, sizeof same);
        int grc = st->ops->key_get(st, k.id, &same);
        if (grc == 0) {
            sl_api_key_free(&same);
            rc = sl_err_set(sl_state_err(st), SL_EINVAL,
                            "state store %s: an API key with id '%s' already exists", st->where,
                            k.id);
        } else if (grc == SL_ENOTFOUND) {
            rc = sl_err_set(sl_state_err(st), SL_EINVAL,
                            "state store %s: an API key named '%s' already exists (names are "
                            "never reused, even after a revoke: pick another)",
                            st->where, k.name);
        } else {
            rc = grc; /* the driver's message */
        }
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int sl_state_key_get(sl_state_t *st, const char *id, sl_api_key_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = sl_state_need(st, id, "API key id");
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->key_get(st, id, out));
    if (rc == SL_ENOTFOUND) {
        sl_err_set(sl_state_err(st), SL_ENOTFOUND, "state store %s: no API key with id '%s'",
                   st->where, id);
    }
    return rc;
}

int sl_state_keys_list(sl_state_t *st, sl_api_key_cb cb, void *ud)
{
    int rc = sl_state_need(st, cb, "callback");
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->keys_list(st, cb, ud));
    return rc;
}

int sl_state_key_revoke(sl_state_t *st, const char *id_or_name, int64_t now_us,
                        sl_api_key_t *out)
{
    sl_api_key_t after;
    memset(&after, 0, sizeof after);
    if (out) {
        memset(out, 0, sizeof *out);
    }
    int rc = need_text(st, id_or_name, "API key id or name");
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->key_revoke(st, id_or_name, now_us ? now_us : sl_now_us(), &after));
    if (rc == SL_ENOTFOUND) {
        sl_err_set(sl_state_err(st), SL_ENOTFOUND,
                   "state store %s: no API key with id or name '%s'", st->where, id_or_name);
    }
    if (!rc && out) {
        *out = after;
    } else {
        sl_api_key_free(&after);
    }
    return rc;
}

int sl_state_key_touch(sl_state_t *st, const char *id, int64_t now_us)
{
    int rc = sl_state_need(st, id, "API key id");
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->key_touch(st, id, now_us));
    if (rc == SL_ENOTFOUND) {
        sl_err_set(sl_state_err(st), SL_ENOTFOUND, "state store %s: no API key with id '%s'",
                   st->where, id);
    }
    return rc;
}

/* A malloc'd copy of s, or NULL for NULL; *bad is set when malloc failed. */
static char *dup_str(const char *s, bool *bad)
{
    char *d = s ? strdup(s) : NULL;
    *bad = *bad || (s && !d);
    return d;
}

int sl_state_key_copy(sl_state_t *st, const sl_api_key_t *src, sl_api_key_t *out)
{
    bool bad = false;
    *out = *src;
    out->id = dup_str(src->id, &bad);
    out->name = dup_str(src->name, &bad);
    out->scopes = dup_str(src->scopes, &bad);
    out->hash = dup_str(src->hash, &bad);
    if (bad) {
        sl_api_key_free(out);
        return sl_err_set(sl_state_err(st), SL_ENOMEM, "state store %s: out of memory", st->where);
    }
    return 0;
}

void sl_api_key_free(sl_api_key_t *k)
{
    if (!k) {
        return;
    }
    free((char *)k->id);
    free((char *)k->name);
    free((char *)k->scopes);
    free((char *)k->hash);
    memset(k, 0, sizeof *k);
}
