/* Internals shared by the files of src/config/ and their tests; not a public
 * contract (include/sluice/config.h is). Also lets tests and the fuzz target
 * check pipelines against their own plugin tables instead of the real
 * registry. */
#ifndef SLUICE_CONFIG_INTERNAL_H
#define SLUICE_CONFIG_INTERNAL_H

#include "sluice/config.h"
#include "sluice/plugin.h"

/* Largest pipeline file and ${file:} secret we read. */
#define SL_CONFIG_MAX_FILE (16u << 20)
#define SL_CONFIG_MAX_SECRET (1u << 20)
/* Deepest map/list nesting accepted in a document. */
#define SL_CONFIG_MAX_DEPTH 200

/* Resolves ${env:NAME}, ${env:NAME:-default}, ${file:PATH} and $${ in
 * raw[0..len) into n->text/n->len (copied into a), marks n secret when a
 * reference was resolved and registers resolved values with the log's
 * redaction list. n's position must be set: errors name it. base_dir NULL
 * means the current directory. With opts->missing_ok, a missing variable
 * or file is a warning and n keeps raw as a placeholder (secret,
 * unresolved). Returns 0 or SL_ECONFIG/SL_ENOMEM. */
int sl_config_resolve(sl_arena_t *a, const char *base_dir, const sl_config_opts_t *opts,
                      sl_node_t *n, const char *raw, size_t len, sl_err_t *err);

/* "a map", "a list", "null" or "'text'" (secret-safe) for "got ..." parts of
 * messages. Returns a pointer to buf or to a constant. */
const char *sl_node_got(const sl_node_t *n, char *buf, size_t bufsize);

/* Scalar syntax shared by getters, schema checks and params. Each returns 0,
 * SL_EPARSE (not that syntax) or SL_ELIMIT (out of range). */
int sl_config_parse_int(const char *s, size_t n, int64_t *out);
int sl_config_parse_double(const char *s, size_t n, double *out);
/* YAML 1.1 words: true/false/yes/no/on/off, any case. */
int sl_config_parse_bool(const char *s, size_t n, bool *out);

/* The candidate closest to word within a small edit distance (2, or 1 for
 * words of 3 characters or less; transpositions count 1), or NULL. */
const char *sl_config_suggest(const char *word, const char *const *cands, size_t ncands);

/* sl_config_check, also accepting the key skip (NULL: none) without it
 * being in spec: plugin maps carry "type", which plugin specs need not
 * list. A NULL spec accepts any keys. */
int sl_config_check_skip(const sl_node_t *map, const sl_field_spec_t *spec, const char *what,
                         const char *skip, sl_err_t *err);

/* The plugin tables a pipeline is checked against. */
typedef struct {
    const sl_source_type_t *(*source)(const char *name);
    const sl_transform_type_t *(*transform)(const char *name);
    const sl_sink_type_t *(*sink)(const char *name);
    const sl_source_type_t *const *sources; /* NULL-terminated, for messages */
    const sl_transform_type_t *const *transforms;
    const sl_sink_type_t *const *sinks;
} sl_plugin_registry_t;

/* sl_pipeline_load with another registry (NULL: the real one). */
int sl_pipeline_load_reg(sl_arena_t *a, const char *path, const sl_plugin_registry_t *reg,
                         sl_pipeline_t **out, sl_err_t *err);
/* Checks an already parsed document as a pipeline read from path (used
 * for p->file and p->base_dir only). */
int sl_pipeline_from_root(sl_arena_t *a, const char *path, const sl_node_t *root,
                          const sl_plugin_registry_t *reg, sl_pipeline_t **out, sl_err_t *err);

/* params.c: reads the `params` map (may be NULL) into p->params: the
 * declarations and their defaults. */
int sl_params_load(sl_arena_t *a, sl_pipeline_t *p, const sl_node_t *params, sl_err_t *err);

/* routes.c: reads the `routes` list (may be NULL) into p->routes, after
 * the params (a path's {name} must be a declared param). */
int sl_routes_load(sl_arena_t *a, sl_pipeline_t *p, const sl_node_t *routes, sl_err_t *err);
/* schedule.c: reads `schedule` (may be NULL) into p->schedule. */
int sl_schedule_load(sl_arena_t *a, sl_pipeline_t *p, const sl_node_t *node, sl_err_t *err);

#endif
