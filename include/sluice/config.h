/* Pipeline configuration: YAML documents as position-tagged node trees,
 * ${env:NAME}/${file:PATH} resolution, schema checks, and typed params.
 *
 * Every node knows its file, line and column, so every error a user sees
 * reads "pipeline.yaml:12:7: sink: unknown key 'tabel' (did you mean
 * 'table'?)". Scalars that got any part of their text from ${env:} or
 * ${file:} are marked secret and never printed, at any log level. */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include "sluice/arena.h"
#include "sluice/common.h"
#include "sluice/cron.h"
#include "sluice/value.h"

typedef enum {
    SL_NODE_SCALAR = 1,
    SL_NODE_MAP,
    SL_NODE_SEQ,
} sl_node_kind_t;

typedef struct sl_node sl_node_t;
typedef struct {
    sl_node_t *key; /* always a scalar */
    sl_node_t *value;
} sl_node_pair_t;

struct sl_node {
    sl_node_kind_t kind;
    const char *file; /* path as given to sl_config_load */
    uint32_t line;    /* 1-based */
    uint32_t col;     /* 1-based */
    /* scalars: resolved text, NUL-terminated */
    const char *text;
    size_t len;
    bool quoted;  /* written with quotes: never a number/bool/null */
    bool secret;  /* text holds a resolved ${env:}/${file:} value */
    bool is_null; /* plain ~, null, or empty */
    /* maps: pairs in document order; sequences: items */
    sl_node_pair_t *pairs;
    sl_node_t **items;
    size_t n;
    /* A reference in the text could not be resolved (an unset ${env:NAME},
     * a missing ${file:PATH}) and the load was told to go on (see
     * sl_config_opts_t): text is a placeholder, the node is secret, and
     * checks of its value are skipped. */
    bool unresolved;
};

/* Options of a config load. A zeroed struct (or NULL) is the default: every
 * reference must resolve. */
typedef struct {
    /* An unset ${env:NAME} (without :-default) or a ${file:PATH} that does
     * not exist is a warning instead of an error: the scalar keeps its
     * written text as a placeholder and is marked secret and unresolved.
     * For `sluice validate` on a machine without the secrets. */
    bool missing_ok;
    /* Receives each warning ("p.yaml:9:14: warning: ${env:API_KEY} is not
     * set (a run needs it)"); NULL: logged with sl_warn. */
    void (*warn)(void *ud, const char *msg);
    void *warn_ud;
} sl_config_opts_t;

/* Loads and parses a YAML file into a node tree allocated in a. Resolves
 * ${env:NAME} (missing variable: error naming it and the position),
 * ${env:NAME:-default}, ${file:PATH} (relative to the YAML file's folder,
 * trailing newline trimmed) and $${ as a literal ${. Only one document,
 * anchors/aliases allowed. Errors: SL_ECONFIG with "file:line:col: ...". */
int sl_config_load(sl_arena_t *a, const char *path, sl_node_t **root, sl_err_t *err);
/* Same from memory; name is used in messages. */
int sl_config_parse(sl_arena_t *a, const char *name, const char *text, size_t n,
                    const char *base_dir, sl_node_t **root, sl_err_t *err);
/* The same two with load options (NULL: the defaults above). */
int sl_config_load_opts(sl_arena_t *a, const char *path, const sl_config_opts_t *opts,
                        sl_node_t **root, sl_err_t *err);
int sl_config_parse_opts(sl_arena_t *a, const char *name, const char *text, size_t n,
                         const char *base_dir, const sl_config_opts_t *opts, sl_node_t **root,
                         sl_err_t *err);

/* Map lookup; NULL when absent or when map is not a map. */
const sl_node_t *sl_node_get(const sl_node_t *map, const char *key);

/* Text for messages: "<secret>" for secret scalars, else the text. */
const char *sl_node_display(const sl_node_t *n);

/* Typed scalar reads. On a type error they fill err with
 * "file:line:col: KEY: expected an integer, got 'abc'" (key may be NULL)
 * and return SL_ECONFIG. */
int sl_node_to_int(const sl_node_t *n, const char *key, int64_t *out, sl_err_t *err);
int sl_node_to_double(const sl_node_t *n, const char *key, double *out, sl_err_t *err);
int sl_node_to_bool(const sl_node_t *n, const char *key, bool *out, sl_err_t *err);
int sl_node_to_str(const sl_node_t *n, const char *key, const char **out, sl_err_t *err);

/* Optional reads with default: absent key -> def, present -> typed read. */
int sl_cfg_int(const sl_node_t *map, const char *key, int64_t def, int64_t *out, sl_err_t *err);
int sl_cfg_double(const sl_node_t *map, const char *key, double def, double *out, sl_err_t *err);
int sl_cfg_bool(const sl_node_t *map, const char *key, bool def, bool *out, sl_err_t *err);
int sl_cfg_str(const sl_node_t *map, const char *key, const char *def, const char **out,
               sl_err_t *err);

/* Formats "file:line:col: " + message into err and returns SL_ECONFIG. */
int sl_node_error(sl_err_t *err, const sl_node_t *n, const char *fmt, ...) SL_PRINTF(3, 4);

/* Schema of a config map, checked before any plugin opens. */
typedef enum {
    SL_FIELD_STRING = 1,
    SL_FIELD_INT,
    SL_FIELD_FLOAT, /* int or float */
    SL_FIELD_BOOL,
    SL_FIELD_MAP,         /* nested map; children checked when set */
    SL_FIELD_LIST,        /* sequence of anything */
    SL_FIELD_STRING_LIST, /* sequence of scalars, or a single scalar */
    SL_FIELD_STRING_MAP,  /* map of scalar values (any keys) */
    SL_FIELD_ANY,
} sl_field_type_t;

/* Allowed values of an SL_FIELD_INT or SL_FIELD_FLOAT field. Bounds are
 * doubles: exact for integers up to 2^53, far beyond any size or count a
 * config holds. */
typedef struct {
    bool has_min, has_max;
    bool min_exclusive; /* the value must be above min, not equal (rates) */
    double min, max;
} sl_field_range_t;

#define SL_RANGE(lo, hi) {.has_min = true, .min = (lo), .has_max = true, .max = (hi)}
#define SL_AT_LEAST(lo) {.has_min = true, .min = (lo)}
#define SL_ABOVE(lo) {.has_min = true, .min_exclusive = true, .min = (lo)}

typedef struct sl_field_spec {
    const char *name;
    sl_field_type_t type;
    bool required;
    const char *doc;                      /* one line for `sluice help` */
    const char *const *choices;           /* NULL-terminated allowed values */
    const struct sl_field_spec *children; /* for SL_FIELD_MAP; NULL = any keys */
    /* The default as `sluice help` shows it ("30000", "','"). Documentation
     * only: the plugin applies its own default. */
    const char *def;
    sl_field_range_t range; /* INT and FLOAT: checked when has_min/has_max */
    /* STRING and the items of STRING_LIST: length in bytes; 0 = no limit
     * (min_len 1: not empty). */
    uint32_t min_len, max_len;
} sl_field_spec_t;

/* Checks map against spec (terminated by an entry with name NULL): unknown
 * keys (with a did-you-mean suggestion), missing required keys, wrong
 * types, values outside choices, numbers outside the field's range and
 * strings outside its length limits ("p.yaml:7:9: source 'http': key
 * 'timeout_ms' must be at least 1, got 0"). Unresolved nodes (see
 * sl_config_opts_t) pass the value checks. what names the map in messages
 * ("source 'file'"). Returns 0 or SL_ECONFIG with the first problem. */
int sl_config_check(const sl_node_t *map, const sl_field_spec_t *spec, const char *what,
                    sl_err_t *err);

/* Writes the default, range and length limits of f as `sluice help` shows
 * them ("default 100; 1 to 10000") into buf (always NUL-terminated).
 * Returns the length written; 0 (and "") when f has none of them. */
size_t sl_field_spec_limits(const sl_field_spec_t *f, char *buf, size_t cap);

/* ---- Pipelines ---- */

typedef enum {
    SL_PARAM_STRING = 1,
    SL_PARAM_INT,
    SL_PARAM_FLOAT,
    SL_PARAM_BOOL,
    SL_PARAM_DATE,
    SL_PARAM_TIMESTAMP,
} sl_param_type_t;

/* A declared param. Part of the immutable definition: the values of one
 * run come from sl_params_resolve. */
typedef struct {
    const char *name;
    sl_param_type_t type;
    bool has_default;       /* else every run must give it */
    const sl_node_t *node;  /* declaration, for messages */
    sl_value_t default_value;
} sl_param_t;

struct sl_source_type;
struct sl_transform_type;
struct sl_sink_type;

typedef struct {
    const char *name;
    const char *type;      /* plugin type name */
    const sl_node_t *node; /* the plugin's config map (includes "type") */
    /* the type, found once at load in the loader's registry (one of the
     * three, by where the plugin sits in the step) */
    const struct sl_source_type *source;
    const struct sl_transform_type *transform;
    const struct sl_sink_type *sink;
} sl_plugin_cfg_t;

struct sl_step_kind;
struct sl_map_cfg;

typedef struct sl_step_cfg {
    const char *name;
    const sl_node_t *node;
    const struct sl_step_kind *kind; /* flow, sql, map (step.h) */
    /* flow steps */
    sl_plugin_cfg_t source;
    sl_plugin_cfg_t *transforms;
    size_t ntransforms;
    sl_plugin_cfg_t sink;
    const char *rejects;  /* path/URL or NULL */
    int64_t max_rejects;  /* default 0: any reject fails the step */
    int64_t batch_size;   /* records per batch; 0: not set (see sl_flow_run) */
    /* sql steps: the map (url or connection, statements or file) */
    const sl_node_t *sql;
    /* call steps: the `call` map (pipeline, params, wait) */
    const sl_node_t *call;
    /* map steps: where the items come from, concurrency, tolerance (the
     * engine's, see src/engine/map.c), and the sub-steps each item runs */
    const struct sl_map_cfg *map;
    struct sl_step_cfg *substeps;
    size_t nsubsteps;
    /* every kind */
    /* on_failure: continue: a failure of this step does not stop the
     * steps after it (the run ends partial, exit code 3). */
    bool continue_on_failure;
    /* full_refresh: a bool, or an expression over params and run
     * ("params.load_type == 'FULL'"), evaluated when the step starts. */
    const sl_node_t *full_refresh;
    /* when: an expression over params, run, item and steps; a false one
     * skips the step (status skipped). NULL: always runs. */
    const sl_node_t *when;
    const struct sl_expr *when_expr; /* compiled once, at load */
    /* output: a map of NAME: template added to the step's output, and its
     * templates compiled at load, in the map's order */
    const sl_node_t *output;
    const struct sl_template **output_templates;
    /* retry: the step's retry policy map (retry.h), or NULL: one attempt */
    const sl_node_t *retry;
    int64_t timeout_us; /* timeout: stop at the next batch boundary; 0: none */
    /* catch: [{on: [classes], next: STEP}]: a failure of a class in `on`
     * (bit mask of SL_RETRY_ON(class)) jumps to the later step next_index,
     * skipping those between; {{ error }} is then set. */
    struct sl_catch {
        unsigned on;
        size_t next_index;
        const sl_node_t *node;
    } *catches;
    size_t ncatches;
} sl_step_cfg_t;

typedef struct {
    const char *name;
    const sl_node_t *node; /* the connection's map */
} sl_connection_cfg_t;

/* `schedule:` of a pipeline (sluice serve's scheduler). */
typedef struct {
    sl_cron_t expr;
    const char *text;        /* as written, for messages */
    const char *timezone;    /* IANA name; "UTC" by default */
    bool overlap_queue;      /* overlap: queue (else skip: no tick while a run runs) */
    bool catchup_latest;     /* catchup: latest (one run at start for ticks missed) */
    const sl_node_t *node;
} sl_schedule_t;

/* Where a route's params come from (sl_route_t.from, in the order given). */
typedef enum {
    SL_FROM_PATH = 1, /* {name} segments of the route's path */
    SL_FROM_QUERY,    /* ?name=value */
    SL_FROM_BODY,     /* the fields of a JSON object body */
    SL_FROM_HEADERS,  /* a header named as the param */
} sl_param_source_t;

/* An HTTP route of `sluice serve` that starts a run of the pipeline. */
typedef struct {
    const char *method;      /* GET, POST, PUT, PATCH, DELETE */
    const char *path;        /* "/fetchRootSpans", "/projects/{project}/sync" */
    sl_param_source_t from[4];
    size_t nfrom;
    bool wait;               /* answer with the run's outcome (else 202 at once) */
    int64_t timeout_us;      /* wait: answer 202 after this; default 30 s */
    /* auth: NULL: an API key with the route in its scope; "none": open;
     * else the one key the route accepts (a ${env:} secret) */
    const sl_node_t *auth;
    /* wait: the answer when the run ended in time: a status and a body
     * template over run, params and steps (NULL: the run as the API shows
     * it, 200) */
    int response_status;
    const struct sl_template *response_body;
    const sl_node_t *node;
} sl_route_t;

typedef struct {
    const char *file;     /* pipeline file path as given */
    const char *base_dir; /* its folder: plain paths are relative to it */
    const char *name;
    const sl_node_t *root;
    sl_param_t *params;
    size_t nparams;
    sl_connection_cfg_t *connections;
    size_t nconnections;
    sl_step_cfg_t *steps;
    size_t nsteps;
    int64_t timeout_us; /* the whole run's timeout; 0: none */
    sl_route_t *routes; /* `routes:` of sluice serve */
    size_t nroutes;
    const sl_schedule_t *schedule; /* or NULL */
} sl_pipeline_t;

/* Loads a pipeline file and checks its whole shape, including each
 * plugin's config against the registry's specs. The result is the
 * pipeline's definition: nothing about a particular run (params given,
 * trigger) is in it, and running it never changes it. All memory comes
 * from a. */
int sl_pipeline_load(sl_arena_t *a, const char *path, sl_pipeline_t **out, sl_err_t *err);
/* The same with load options (NULL: the defaults). A param whose default
 * is unresolved gets a stand-in of its type (0, false, 1970-01-01...). */
int sl_pipeline_load_opts(sl_arena_t *a, const char *path, const sl_config_opts_t *opts,
                          sl_pipeline_t **out, sl_err_t *err);

/* The `params` object of one run (arena a): each param's default, with
 * args applied in order ("NAME=VALUE" texts from -p or a request; the
 * last one of a name wins). An unknown name, a value not of the param's
 * type, or a param without default that no arg gives is SL_ECONFIG with
 * err saying which. */
int sl_params_resolve(sl_arena_t *a, const sl_pipeline_t *p, const char *const *args,
                      size_t nargs, sl_value_t *out, sl_err_t *err);
/* The same, but a param without default that no arg gives is null rather
 * than an error (for checks that must work without a run's values). */
int sl_params_resolve_lenient(sl_arena_t *a, const sl_pipeline_t *p, const char *const *args,
                              size_t nargs, sl_value_t *out, sl_err_t *err);

/* Parses text as a param of type t ("2026-11-22" for dates, ISO 8601 for
 * timestamps, true/false/yes/no/1/0 for bools). */
int sl_param_parse(sl_arena_t *a, sl_param_type_t t, const char *text, sl_value_t *out,
                   sl_err_t *err);

#endif
