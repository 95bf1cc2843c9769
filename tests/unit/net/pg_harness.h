/* A PostgreSQL server for unit tests (tests/harness/pg_server.sh), started
 * on first use and shared by every test of the process; each test takes a
 * fresh database of its own. The server stops when the process exits (or
 * dies: the script sees its stdin close). */
#ifndef SLUICE_TEST_PG_HARNESS_H
#define SLUICE_TEST_PG_HARNESS_H

/* The URL of a new, empty database called name (dropped first if it
 * exists), e.g. "postgresql://sluice@127.0.0.1:PORT/name". The string
 * lives until exit. NULL, with a message on stderr, when the server cannot
 * start. */
const char *sl_pg_harness_db(const char *name);

/* The URL of the server's "sluice" database, or NULL. */
const char *sl_pg_harness_url(void);

#endif
