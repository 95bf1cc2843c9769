/* The state store's public API for map items and their leases (state.h):
 * argument checks, the handle's lock, a driver call, and the messages of
 * calls that found nothing to act on (the drivers leave those to here, so
 * both say the same). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_internal.h"

#define LOCKED SL_STATE_LOCKED
#define need sl_state_need

static int need_item(sl_state_t *st, const char *run_id, const char *step)
{
    int rc = need(st, run_id, "run id");
    return rc ? rc : need(st, step, "step");
}

static int need_lease(sl_state_t *st, const sl_fence_t *lease)
{
    int rc = need(st, lease, "lease");
    return rc ? rc : need_item(st, lease->run_id, lease->step);
}

int sl_state_item_missed(sl_state_t *st, int rc, const char *run_id, const char *step, int64_t idx,
                         int64_t gen, const char *what)
{
    sl_item_t now;
    memset(&now, 0, sizeof now);
    int grc = st->ops->item_get(st, run_id, step, idx, &now);
    if (grc == SL_ENOTFOUND) {
        rc = sl_err_set(sl_state_err(st), SL_ENOTFOUND,
                        "state store %s: %s: no item %s#%" PRId64 " in run %s", st->where, what,
                        step, idx, run_id);
    } else if (grc == 0) {
        rc = sl_err_set(sl_state_err(st), SL_ESTALE,
                        "state store %s: %s: the lease on item %s#%" PRId64 " of run %s"
                        " (generation %" PRId64 ") is no longer held: the item is %s at"
                        " generation %" PRId64 "%s%s",
                        st->where, what, step, idx, run_id, gen, sl_status_name(now.status),
                        now.gen, now.owner ? ", held by " : "", now.owner ? now.owner : "");
        sl_item_free(&now);
    } else {
        rc = grc; /* the driver's message */
    }
    return rc;
}

int sl_state_items_create(sl_state_t *st, const char *run_id, const char *step,
                          const char *const *item_json, size_t n, size_t first_idx)
{
    int rc = need_item(st, run_id, step);
    if (!rc && n > 0) {
        rc = need(st, item_json, "items");
    }
    for (size_t i = 0; i < n && !rc; i++) {
        rc = need(st, item_json[i], "item value");
    }
    if (rc || n == 0) {
        return rc;
    }
    LOCKED(st, st->ops->items_create(st, run_id, step, item_json, n, first_idx));
    return rc;
}

int sl_state_item_claim(sl_state_t *st, const char *run_id, const char *step, const char *owner,
                        int64_t lease_us, int64_t now_us, int max_attempts, sl_item_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = need_item(st, run_id, step);
    if (!rc) {
        rc = need(st, owner, "owner");
    }
    if (!rc && lease_us <= 0) {
        rc = sl_err_set(sl_state_err(st), SL_EINVAL, "state store %s: a lease must last more than 0 us",
                        st->where);
    }
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->item_claim(st, run_id, step, owner, lease_us, now_us, max_attempts, out));
    if (rc == SL_ENOTFOUND) {
        sl_err_set(sl_state_err(st), SL_ENOTFOUND, "state store %s: no claimable item in %s of run %s",
                   st->where, step, run_id);
    }
    return rc;
}

int sl_state_item_heartbeat(sl_state_t *st, const sl_fence_t *lease, int64_t lease_us,
                            int64_t now_us)
{
    int rc = need_lease(st, lease);
    if (rc) {
        return rc;
    }
    pthread_mutex_lock(&st->lock);
    rc = st->ops->item_heartbeat(st, lease, lease_us, now_us);
    if (rc == SL_ESTALE) {
        rc = sl_state_item_missed(st, rc, lease->run_id, lease->step, lease->idx, lease->gen,
                                  "extending a lease");
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int sl_state_item_finish(sl_state_t *st, const sl_fence_t *lease, const sl_outcome_t *o)
{
    int rc = need_lease(st, lease);
    if (!rc) {
        rc = need(st, o, "item outcome");
    }
    if (!rc) {
        rc = sl_state_need_final(st, o->status);
    }
    if (rc) {
        return rc;
    }
    pthread_mutex_lock(&st->lock);
    rc = st->ops->item_finish(st, lease, o);
    if (rc == SL_ESTALE) {
        rc = sl_state_item_missed(st, rc, lease->run_id, lease->step, lease->idx, lease->gen,
                                  "finishing an item");
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int sl_state_item_release(sl_state_t *st, const sl_fence_t *lease)
{
    int rc = need_lease(st, lease);
    if (rc) {
        return rc;
    }
    pthread_mutex_lock(&st->lock);
    rc = st->ops->item_release(st, lease);
    if (rc == SL_ESTALE) {
        rc = sl_state_item_missed(st, rc, lease->run_id, lease->step, lease->idx, lease->gen,
                                  "releasing an item");
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int sl_state_item_get(sl_state_t *st, const char *run_id, const char *step, int64_t idx,
                      sl_item_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = need_item(st, run_id, step);
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->item_get(st, run_id, step, idx, out));
    if (rc == SL_ENOTFOUND) {
        sl_err_set(sl_state_err(st), SL_ENOTFOUND, "state store %s: no item %s#%" PRId64 " in run %s",
                   st->where, step, idx, run_id);
    }
    return rc;
}

int sl_state_items_counts(sl_state_t *st, const char *run_id, const char *step,
                          int64_t counts[SL_STATUS_COUNT])
{
    memset(counts, 0, sizeof(int64_t) * SL_STATUS_COUNT);
    int rc = need_item(st, run_id, step);
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->items_counts(st, run_id, step, counts));
    return rc;
}

int sl_state_items_list(sl_state_t *st, const char *run_id, const char *step,
                        const sl_items_filter_t *f, sl_item_cb cb, void *ud)
{
    int rc = need_item(st, run_id, step);
    if (!rc) {
        rc = cb ? 0 : need(st, NULL, "callback");
    }
    if (rc) {
        return rc;
    }
    sl_items_filter_t all = {0};
    LOCKED(st, st->ops->items_list(st, run_id, step, f ? f : &all, cb, ud));
    return rc;
}

int sl_state_items_reset_unfinished(sl_state_t *st, const char *run_id, const char *step,
                                    int64_t now_us, int64_t *n)
{
    int64_t dummy = 0;
    if (!n) {
        n = &dummy;
    }
    *n = 0;
    int rc = need(st, run_id, "run id");
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->items_reset(st, run_id, step, now_us, n));
    return rc;
}

/* A malloc'd copy of s, or NULL for NULL; *bad is set when malloc failed. */
static char *dup_str(const char *s, bool *bad)
{
    char *d = s ? strdup(s) : NULL;
    *bad = *bad || (s && !d);
    return d;
}

int sl_state_item_copy(sl_state_t *st, const sl_item_t *src, sl_item_t *out)
{
    bool bad = false;
    *out = *src;
    out->run_id = dup_str(src->run_id, &bad);
    out->step = dup_str(src->step, &bad);
    out->value_json = dup_str(src->value_json, &bad);
    out->output_json = dup_str(src->output_json, &bad);
    out->error_class = dup_str(src->error_class, &bad);
    out->error = dup_str(src->error, &bad);
    out->owner = dup_str(src->owner, &bad);
    if (bad) {
        sl_item_free(out);
        return sl_err_set(sl_state_err(st), SL_ENOMEM, "state store %s: out of memory", st->where);
    }
    return 0;
}

void sl_item_free(sl_item_t *it)
{
    if (!it) {
        return;
    }
    free((char *)it->run_id);
    free((char *)it->step);
    free((char *)it->value_json);
    free((char *)it->output_json);
    free((char *)it->error_class);
    free((char *)it->error);
    free((char *)it->owner);
    memset(it, 0, sizeof *it);
}
