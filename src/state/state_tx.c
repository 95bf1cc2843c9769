/* Transaction objects on a state store handle.
 *
 * A handle has one database connection, so a transaction on it is the
 * connection's. Without an owner, any thread's write between begin and
 * commit would silently join it (and be rolled back with it). So an open
 * transaction holds the handle's recursive lock from begin to commit or
 * rollback: the beginning thread's calls go on (the lock is recursive) and
 * are part of it, every other thread's calls wait until it ends. */
#include <pthread.h>
#include <stdlib.h>

#include "state_internal.h"

struct sl_state_tx {
    sl_state_t *st;
    pthread_t thread; /* the one that began it, and holds st->lock */
};

int sl_state_tx_begin(sl_state_t *st, sl_state_tx_t **tx)
{
    *tx = NULL;
    pthread_mutex_lock(&st->lock);
    /* Another thread's transaction would have kept us waiting above: an
     * open one is this thread's own. */
    if (st->tx) {
        pthread_mutex_unlock(&st->lock);
        return sl_err_set(sl_state_err(st), SL_ESTATE,
                          "state store %s: starting a transaction: cannot start a transaction "
                          "within a transaction",
                          st->where);
    }
    sl_state_tx_t *t = malloc(sizeof *t);
    int rc = t ? st->ops->tx_begin(st)
               : sl_err_set(sl_state_err(st), SL_ENOMEM, "state store %s: out of memory", st->where);
    if (rc) {
        free(t);
        pthread_mutex_unlock(&st->lock);
        return rc;
    }
    t->st = st;
    t->thread = pthread_self();
    st->tx = t;
    *tx = t; /* st->lock stays held until the end */
    return 0;
}

/* Frees tx and lets the other threads in. */
static void end(sl_state_tx_t *tx)
{
    sl_state_t *st = tx->st;
    st->tx = NULL;
    free(tx);
    pthread_mutex_unlock(&st->lock);
}

/* A transaction belongs to the thread that holds the lock for it: another
 * thread must not end it (nor unlock a mutex it does not hold). Only the
 * fields set at begin are read before the thread is known to own it. */
static int owned(sl_state_tx_t *tx, const char *what)
{
    if (pthread_equal(tx->thread, pthread_self()) && tx->st->tx == tx) {
        return 0;
    }
    return sl_err_set(sl_state_err(tx->st), SL_EINVAL,
                      "state store %s: %s a transaction on a thread that did not begin it",
                      tx->st->where, what);
}

int sl_state_tx_commit(sl_state_tx_t *tx)
{
    if (!tx) {
        return SL_EINVAL;
    }
    sl_state_t *st = tx->st;
    int rc = owned(tx, "committing");
    if (rc) {
        return rc;
    }
    rc = st->ops->tx_commit(st);
    if (rc) {
        /* A commit that failed leaves nothing stored, and no transaction
         * open for the next caller to join by accident. */
        sl_err_t keep = *sl_state_err(st);
        st->ops->tx_rollback(st);
        *sl_state_err(st) = keep;
    }
    end(tx);
    return rc;
}

void sl_state_tx_rollback(sl_state_tx_t *tx)
{
    if (!tx || owned(tx, "rolling back") != 0) {
        return;
    }
    tx->st->ops->tx_rollback(tx->st);
    end(tx);
}
