/* Inside the `sql` source: the interface between the dialect-neutral part
 * (sql.c: config, the SELECT it builds, incremental cursors, checkpoints)
 * and one database driver (sql_src_pg.c, sql_src_sqlite.c).
 *
 * sql.c decides what is read; a driver only speaks its database: connect,
 * primary key lookup, running one SELECT with at most one bound value and
 * streaming its rows as record values. Every driver error fills err with
 * the database's own message (sql.c adds the URL and table/query). */
#ifndef SLUICE_SQL_SRC_INTERNAL_H
#define SLUICE_SQL_SRC_INTERNAL_H

#include "sluice/plugin.h"

typedef struct sl_sqlsrc_conn sl_sqlsrc_conn_t;

typedef struct sl_sqlsrc_driver {
    const char *name;
    /* True when url is for this driver. */
    bool (*accepts)(const char *url);
    /* Connects; relative SQLite paths resolve against base_dir. */
    int (*connect)(const char *url, const char *base_dir, sl_sqlsrc_conn_t **out, sl_err_t *err);
    void (*disconnect)(sl_sqlsrc_conn_t *c);
    /* Where the data comes from, for messages (never a password). */
    const char *(*where)(const sl_sqlsrc_conn_t *c);
    /* The primary key columns of table (malloc'd array of malloc'd names;
     * *n = 0 when it has none). A missing table is an error. */
    int (*primary_key)(sl_sqlsrc_conn_t *c, const char *schema, const char *table, char ***cols,
                       size_t *n, sl_err_t *err);
    /* Runs before [bound] after: when bound is not NULL the driver puts a
     * placeholder for it between the two texts (value always bound, never
     * spliced into the SQL). After success ncols/colnames describe the
     * result. */
    int (*start)(sl_sqlsrc_conn_t *c, const char *before, const char *after,
                 const sl_value_t *bound, sl_err_t *err);
    size_t (*ncols)(const sl_sqlsrc_conn_t *c);
    const char *(*colname)(const sl_sqlsrc_conn_t *c, size_t i);
    /* Reads the next row into vals[0..ncols) (allocated in a). For the
     * columns listed in want, native[k] gets the value as the database
     * gave it (PostgreSQL: its text; SQLite: its storage class), which is
     * what cursors are stored and bound as. *bytes += bytes received.
     * Returns 0, SL_EOF after the last row, or an error. */
    int (*row)(sl_sqlsrc_conn_t *c, sl_arena_t *a, sl_value_t *vals, const uint32_t *want,
               size_t nwant, sl_value_t *native, uint64_t *bytes, sl_err_t *err);
    /* Ends the current statement early (or after EOF). */
    void (*finish)(sl_sqlsrc_conn_t *c);
} sl_sqlsrc_driver_t;

extern const sl_sqlsrc_driver_t sl_sqlsrc_driver_pg;
extern const sl_sqlsrc_driver_t sl_sqlsrc_driver_sqlite;

/* ---- PostgreSQL COPY text decoding (sql_src_pg.c), exposed for tests
 * and the fuzz target ---- */

/* How a PostgreSQL column's text becomes a value. */
typedef enum {
    SL_PGK_TEXT = 0, /* strings (and every type without its own kind) */
    SL_PGK_INT,
    SL_PGK_NUMERIC,
    SL_PGK_FLOAT,
    SL_PGK_BOOL,
    SL_PGK_DATE,
    SL_PGK_TIMESTAMP, /* with or without time zone (the session is UTC) */
    SL_PGK_JSON,
    SL_PGK_ARRAY, /* element kind in the column's elem */
} sl_pg_kind_t;

typedef struct {
    uint8_t kind; /* sl_pg_kind_t */
    uint8_t elem; /* arrays: the elements' kind */
} sl_pg_col_t;

/* Maps a type OID to its kind (and element kind for arrays). */
sl_pg_col_t sl_pg_col_kind(unsigned oid);

/* Decodes one COPY text row (buf[0..n), no trailing newline; modified in
 * place, and values borrow from it, so it must live in a or longer) into
 * vals[0..ncols). utf8: strings are flagged valid UTF-8. native[k] (when
 * native is not NULL) gets the text of column want[k]. Returns 0 or
 * SL_EPARSE (err says which column and why). */
int sl_pg_decode_row(sl_arena_t *a, char *buf, size_t n, const sl_pg_col_t *cols, size_t ncols,
                     bool utf8, sl_value_t *vals, const uint32_t *want, size_t nwant,
                     sl_value_t *native, sl_err_t *err);

#endif
