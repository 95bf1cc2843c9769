/* Named connections: a plugin's `connection: NAME` refers to an entry of
 * the pipeline's `connections:` map. This reads the object-store settings
 * of such an entry (url, endpoint, region, access_key, secret_key,
 * session_token, path_style, max_retries, timeout_ms). */
#ifndef SLUICE_CONNECTION_H
#define SLUICE_CONNECTION_H

#include "sluice/objstore.h"
#include "sluice/plugin.h"

/* Fills *opts from the connection named by cfg's `connection` key, and
 * *url with the connection's url (NULL when it has none). Without a
 * `connection` key, opts keep their defaults (environment settings) and
 * *url is NULL. what names the plugin in messages ("source 'file'").
 * Strings borrow from the config tree. Returns 0 or SL_ECONFIG (ctx->err
 * names file:line:col). */
int sl_connection_s3(sl_step_ctx_t *ctx, const sl_node_t *cfg, const char *what,
                     sl_s3_opts_t *opts, const char **url);

/* The database URL of a sql plugin: its `url`, or the `url` of the
 * connection its `connection` key names (exactly one of the two). *where
 * gets the node the URL came from, for messages. what names the plugin
 * ("sink 'sql'"). Returns 0 or SL_ECONFIG (ctx->err names the place). */
int sl_connection_db_url(sl_step_ctx_t *ctx, const sl_node_t *cfg, const char *what,
                         const char **url, const sl_node_t **where);

/* For check(): the database keys of a sql plugin without opening anything.
 * Exactly one of url and connection; a url known before the run (no
 * template, no unresolved reference) must name PostgreSQL or SQLite.
 * Returns 0 or SL_ECONFIG with file:line:col. */
int sl_connection_db_check(const sl_node_t *cfg, const char *what, sl_err_t *err);

/* The spec of an entry of the pipeline's `connections:` map, checked when
 * the pipeline loads (url, endpoint, region, access_key, secret_key,
 * session_token, path_style, max_retries, timeout_ms, description). */
extern const sl_field_spec_t sl_connection_spec[];

#endif
