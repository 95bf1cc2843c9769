/* One idle connection per SQLite database the sql sink wrote, kept open
 * until the process exits.
 *
 * SQLite checkpoints the WAL into the database and deletes it when the
 * last connection to a database closes: an fdatasync, a truncate and two
 * file creations at the next open. A map opens and closes a sink per item,
 * so without this every item paid that (2 ms of a 2.5 ms item, measured by
 * bench/map.sh). With one connection held open, a sink's close is only a
 * close; the checkpoint happens once, when the process ends, or whenever
 * the WAL passes the sink's wal_autocheckpoint. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "sql_internal.h"

typedef struct anchor {
    char *path;
    sqlite3 *db;
    struct anchor *next;
} anchor_t;

static pthread_mutex_t anchors_lock = PTHREAD_MUTEX_INITIALIZER;
static anchor_t *anchors;

static void close_anchors(void)
{
    pthread_mutex_lock(&anchors_lock);
    while (anchors) {
        anchor_t *a = anchors;
        anchors = a->next;
        sqlite3_close(a->db);
        free(a->path);
        free(a);
    }
    pthread_mutex_unlock(&anchors_lock);
}

void sl_sqlite_keep_open(const char *path)
{
    pthread_mutex_lock(&anchors_lock);
    anchor_t *a = anchors;
    while (a && strcmp(a->path, path) != 0) {
        a = a->next;
    }
    if (!a && (a = calloc(1, sizeof *a)) != NULL) {
        a->path = strdup(path);
        /* used only here, under the lock: one read, which opens the WAL and
         * its index and so counts as a connection using them (a connection
         * that never read does not, and the last close would checkpoint) */
        if (!a->path || sqlite3_open_v2(path, &a->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
            sqlite3_exec(a->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) !=
                SQLITE_OK) {
            sqlite3_close(a->db);
            free(a->path);
            free(a);
        } else {
            if (!anchors) {
                atexit(close_anchors);
            }
            a->next = anchors;
            anchors = a;
        }
    }
    pthread_mutex_unlock(&anchors_lock);
}
