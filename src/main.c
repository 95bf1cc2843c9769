/* The sluice command line: run, validate, runs, state, keys, version, help. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sluice/config.h"
#include "sluice/engine.h"
#include "sluice/fault.h"
#include "sluice/log.h"
#include "sluice/plugin.h"
#include "sluice/state.h"
#include "sluice/timeutil.h"
#include "cli/cli.h"

#define SLUICE_VERSION "0.1.0"

static const char USAGE[] =
    "usage: sluice <command> [options]\n"
    "\n"
    "commands:\n"
    "  run PIPELINE.yaml [-p k=v]... [--full-refresh]   run to completion\n"
    "  validate PIPELINE.yaml [-p k=v]... [--strict]    check a pipeline file; an unset\n"
    "                                                   ${env:} is a warning (--strict: error)\n"
    "  serve [--listen HOST:PORT] [--max-runs N] [--no-resume] [--idle-timeout S]\n"
    "        PIPELINE.yaml...\n"
    "                                                   the HTTP API (127.0.0.1:8080)\n"
    "  schedule next PIPELINE.yaml [-n N]                the schedule's next fire times\n"
    "  runs [--pipeline NAME] [--limit N]                list recent runs\n"
    "  runs show ID                                     one run, its steps and map items\n"
    "  runs resume ID [PIPELINE.yaml]                   run a run's failed and unfinished\n"
    "                                                   steps and items again, under its id\n"
    "  state get PIPELINE [KEY]                         show checkpoints\n"
    "  state reset PIPELINE [STEP]                      start over (the whole pipeline or one step)\n"
    "  keys create --name NAME --scope S [--scope S]... make an API key for `sluice serve`,\n"
    "                                                   printed once (scopes: read, write,\n"
    "                                                   admin, route:GLOB)\n"
    "  keys list                                        API keys: id, name, times, scopes\n"
    "  keys revoke ID|NAME                              refuse an API key from now on\n"
    "  help [PLUGIN]                                    this text, or a plugin's options\n"
    "  version                                          print the version\n"
    "\n"
    "options:\n"
    "  -p, --param KEY=VALUE     set a pipeline param (repeatable)\n"
    "  --state URL               state store (default .sluice/state.db)\n"
    "  --log-level LEVEL         debug, info, warn, error (default info)\n"
    "  --log-format FORMAT       text or json (default text)\n"
    "  --no-progress             no progress line even on a terminal\n"
    "  --threads N               1: one thread; 0 (default): read and write on two threads\n"
    "  --run-id UUID, --parent-run ID   run: the new run's id and the run that started it\n"
    "                            (what a call step that does not wait passes)\n"
    "  --name NAME, --scope S    keys create: the key's name and a scope (repeatable)\n"
    "\n"
    "exit codes: 0 ok, 1 run failed, 2 usage or config error, 3 partial (tolerated rejects)\n";


static int parse_args(int argc, char **argv, sl_cli_t *c)
{
    memset(c, 0, sizeof *c);
    c->limit = 20;
    c->progress = true;
    c->params = calloc((size_t)argc, sizeof *c->params);
    c->scopes = calloc((size_t)argc, sizeof *c->scopes);
    sl_log_level_t level = SL_LOG_INFO;
    sl_log_format_t format = SL_LOG_TEXT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
#define NEEDS_VALUE()                                                                      \
    do {                                                                                   \
        if (i + 1 >= argc) {                                                               \
            return sl_cli_usage_error("option %s needs a value", a);                              \
        }                                                                                  \
        val = argv[++i];                                                                   \
    } while (0)
        if (strcmp(a, "-p") == 0 || strcmp(a, "--param") == 0) {
            NEEDS_VALUE();
            if (!strchr(val, '=')) {
                return sl_cli_usage_error("param '%s' must be KEY=VALUE", val);
            }
            c->params[c->nparams++] = val;
        } else if (strncmp(a, "--param=", 8) == 0) {
            c->params[c->nparams++] = a + 8;
        } else if (strcmp(a, "--state") == 0) {
            NEEDS_VALUE();
            c->state = val;
        } else if (strcmp(a, "--log-level") == 0) {
            NEEDS_VALUE();
            if (sl_log_level_parse(val, &level) != 0) {
                return sl_cli_usage_error("unknown log level '%s' (debug, info, warn, error)", val);
            }
        } else if (strcmp(a, "--log-format") == 0) {
            NEEDS_VALUE();
            if (strcmp(val, "json") == 0) {
                format = SL_LOG_JSON;
            } else if (strcmp(val, "text") == 0) {
                format = SL_LOG_TEXT;
            } else {
                return sl_cli_usage_error("unknown log format '%s' (text, json)", val);
            }
        } else if (strcmp(a, "-n") == 0) {
            NEEDS_VALUE();
            c->count = atoi(val);
            if (c->count < 1 || c->count > 1000) {
                return sl_cli_usage_error("-n needs a count from 1 to 1000, got '%s'", val);
            }
        } else if (strcmp(a, "--idle-timeout") == 0) {
            NEEDS_VALUE();
            c->idle_timeout = atoi(val);
            if (c->idle_timeout < 1 || c->idle_timeout > 3600) {
                return sl_cli_usage_error("--idle-timeout needs seconds from 1 to 3600, got '%s'",
                                          val);
            }
        } else if (strcmp(a, "--no-resume") == 0) {
            c->no_resume = true;
        } else if (strcmp(a, "--max-runs") == 0) {
            NEEDS_VALUE();
            c->max_runs = atoi(val);
            if (c->max_runs < 1 || c->max_runs > 256) {
                return sl_cli_usage_error("--max-runs needs a count from 1 to 256, got '%s'",
                                          val);
            }
        } else if (strcmp(a, "--listen") == 0) {
            NEEDS_VALUE();
            c->listen = val;
        } else if (strcmp(a, "--run-id") == 0) {
            NEEDS_VALUE();
            if (strlen(val) != 36) {
                return sl_cli_usage_error("--run-id needs a UUID, got '%s'", val);
            }
            c->run_id = val;
        } else if (strcmp(a, "--parent-run") == 0) {
            NEEDS_VALUE();
            c->parent_run = val;
        } else if (strcmp(a, "--name") == 0) {
            NEEDS_VALUE();
            c->key_name = val;
        } else if (strcmp(a, "--scope") == 0) {
            NEEDS_VALUE();
            c->scopes[c->nscopes++] = val;
        } else if (strcmp(a, "--pipeline") == 0) {
            NEEDS_VALUE();
            c->pipeline_filter = val;
        } else if (strcmp(a, "--limit") == 0) {
            NEEDS_VALUE();
            c->limit = atoi(val);
        } else if (strcmp(a, "--threads") == 0) {
            NEEDS_VALUE();
            c->threads = atoi(val);
            if (c->threads < 0 || (c->threads == 0 && strcmp(val, "0") != 0)) {
                return sl_cli_usage_error("--threads needs a number (0 = auto), got '%s'", val);
            }
        } else if (strcmp(a, "--full-refresh") == 0) {
            c->full_refresh = true;
        } else if (strcmp(a, "--strict") == 0) {
            c->strict = true;
        } else if (strcmp(a, "--no-progress") == 0) {
            c->progress = false;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            c->cmd = "help";
        } else if (strcmp(a, "--version") == 0) {
            c->cmd = "version";
        } else if (a[0] == '-' && a[1] != '\0') {
            return sl_cli_usage_error("unknown option '%s'", a);
        } else if (!c->cmd) {
            c->cmd = a;
        } else if (c->nargs < SL_ARRAY_LEN(c->args)) {
            c->args[c->nargs++] = a;
        } else {
            return sl_cli_usage_error("too many arguments at '%s'", a);
        }
#undef NEEDS_VALUE
    }
    sl_log_setup(level, format);
    c->json_logs = format == SL_LOG_JSON;
    return 0;
}

static int load(const sl_cli_t *c, sl_arena_t *a, sl_pipeline_t **p)
{
    if (c->nargs < 1) {
        return sl_cli_usage_error("%s needs a pipeline file", c->cmd);
    }
    sl_err_t err = {0};
    if (sl_pipeline_load(a, c->args[0], p, &err) != 0) {
        sl_log_redact(err.msg);
        fprintf(stderr, "%s\n", err.msg);
        return SL_EXIT_USAGE;
    }
    return 0;
}

static int cmd_run(const sl_cli_t *c)
{
    sl_arena_t *a = sl_arena_create(64 * 1024, 0);
    sl_pipeline_t *p;
    int rc = load(c, a, &p);
    if (rc) {
        sl_arena_destroy(a);
        return rc;
    }
    sl_run_request_t req = {.pipeline = p,
                            .param_args = c->params,
                            .nparam_args = c->nparams,
                            .trigger = c->parent_run ? "call" : "cli",
                            .parent_run_id = c->parent_run,
                            .run_id = c->run_id};
    rc = sl_cli_run(c, &req);
    sl_arena_destroy(a);
    return rc;
}

/* Load warnings go to stderr as they come; counted for the summary. */
static void print_warning(void *ud, const char *msg)
{
    char line[SL_ERRMSG_MAX];
    snprintf(line, sizeof line, "%s", msg);
    sl_log_redact(line);
    fprintf(stderr, "%s\n", line);
    (*(size_t *)ud)++;
}

/* Without --strict, a secret the machine does not hold (an unset
 * ${env:NAME}, a missing ${file:PATH}) is a warning: the pipeline can be
 * checked where it is written, not only where it runs. */
static int cmd_validate(const sl_cli_t *c)
{
    if (c->nargs < 1) {
        return sl_cli_usage_error("%s needs a pipeline file", c->cmd);
    }
    sl_arena_t *a = sl_arena_create(64 * 1024, 0);
    sl_pipeline_t *p = NULL;
    size_t warnings = 0;
    sl_config_opts_t opts = {.missing_ok = !c->strict, .warn = print_warning,
                             .warn_ud = &warnings};
    sl_err_t err = {0};
    int rc = 0;
    if (sl_pipeline_load_opts(a, c->args[0], &opts, &p, &err) != 0 ||
        sl_engine_check(p, c->params, c->nparams, &err) != 0) {
        sl_log_redact(err.msg);
        fprintf(stderr, "%s\n", err.msg);
        rc = SL_EXIT_USAGE;
    }
    if (rc == 0) {
        printf("%s: ok (pipeline '%s', %zu step%s", c->args[0], p->name, p->nsteps,
               p->nsteps == 1 ? "" : "s");
        if (warnings) {
            printf("; %zu warning%s", warnings, warnings == 1 ? "" : "s");
        }
        printf(")\n");
    }
    sl_arena_destroy(a);
    return rc;
}

/* A pipeline argument may be a name or a pipeline file (its name is used,
 * and *file is set). */
static const char *pipeline_name(const sl_cli_t *c, const char *arg, sl_arena_t *a,
                                 sl_pipeline_t **file)
{
    size_t n = strlen(arg);
    *file = NULL;
    if ((n > 5 && strcmp(arg + n - 5, ".yaml") == 0) ||
        (n > 4 && strcmp(arg + n - 4, ".yml") == 0)) {
        sl_err_t err = {0};
        if (sl_pipeline_load(a, arg, file, &err) != 0) {
            sl_log_redact(err.msg);
            fprintf(stderr, "%s\n", err.msg);
            return NULL;
        }
        return (*file)->name;
    }
    return arg;
}

/* A step to reset must exist: in the pipeline file when one was given,
 * else in the state store (a step that ever ran has a checkpoint). */
static bool step_known(sl_state_t *st, const sl_pipeline_t *file, const char *pipeline,
                       const char *step)
{
    if (file) {
        for (size_t i = 0; i < file->nsteps; i++) {
            if (strcmp(file->steps[i].name, step) == 0) {
                return true;
            }
        }
        return false;
    }
    char key[300];
    snprintf(key, sizeof key, "step:%s", step);
    sl_checkpoint_t cp;
    if (sl_state_checkpoint_get(st, pipeline, key, &cp) != 0) {
        return false;
    }
    sl_checkpoint_free(&cp);
    return true;
}

static int print_checkpoint(void *ud, const char *key, const sl_checkpoint_t *cp)
{
    (void)ud;
    char when[40];
    sl_cli_fmt_time(cp->updated_us, when);
    printf("%s\t%s\t%s\n", key, when, cp->value);
    return 0;
}

static int cmd_state(const sl_cli_t *c)
{
    if (c->nargs < 2) {
        return sl_cli_usage_error("%s", "state needs 'get' or 'reset' and a pipeline");
    }
    sl_arena_t *a = sl_arena_create(64 * 1024, 0);
    sl_pipeline_t *file = NULL;
    const char *name = pipeline_name(c, c->args[1], a, &file);
    if (!name) {
        sl_arena_destroy(a);
        return SL_EXIT_USAGE;
    }
    sl_state_t *st;
    int rc = sl_cli_open_state(c, &st);
    if (rc) {
        sl_arena_destroy(a);
        return rc;
    }
    const char *key = c->nargs >= 3 ? c->args[2] : NULL;
    if (strcmp(c->args[0], "get") == 0) {
        if (key) {
            sl_checkpoint_t cp;
            rc = sl_state_checkpoint_get(st, name, key, &cp);
            if (rc == 0) {
                printf("%s\n", cp.value);
                sl_checkpoint_free(&cp);
            } else {
                fprintf(stderr, "sluice: no checkpoint '%s' for pipeline '%s'\n", key, name);
                rc = SL_EXIT_FAILED;
            }
        } else {
            rc = sl_state_checkpoint_list(st, name, print_checkpoint, NULL);
            if (rc) {
                fprintf(stderr, "sluice: %s\n", sl_state_errmsg(st));
                rc = SL_EXIT_FAILED;
            }
        }
    } else if (strcmp(c->args[0], "reset") == 0) {
        sl_err_t err = {0};
        if (key) {
            /* A step name (or "step:NAME"): that step starts over. */
            const char *step = strncmp(key, "step:", 5) == 0 ? key + 5 : key;
            if (!step_known(st, file, name, step)) {
                fprintf(stderr, "sluice: pipeline '%s' has no step '%s'%s\n", name, step,
                        file ? "" : " that ever ran");
                sl_state_close(st);
                sl_arena_destroy(a);
                return SL_EXIT_USAGE;
            }
            rc = sl_engine_reset_step(st, name, step, &err);
        } else {
            rc = sl_state_reset(st, name, NULL);
            if (rc) {
                snprintf(err.msg, sizeof err.msg, "%s", sl_state_errmsg(st));
            }
        }
        if (rc) {
            fprintf(stderr, "sluice: %s\n", err.msg);
            rc = SL_EXIT_FAILED;
        } else {
            printf("reset %s%s%s: the next run starts from the beginning\n", name,
                   key ? " " : "", key ? key : "");
        }
    } else {
        rc = sl_cli_usage_error("unknown state subcommand '%s' (get, reset)", c->args[0]);
    }
    sl_state_close(st);
    sl_arena_destroy(a);
    return rc;
}

/* One line per key, nested maps' keys as map.key, with the default and
 * the allowed range or length from the spec. */
static void print_spec(const sl_field_spec_t *spec, const char *prefix)
{
    for (size_t i = 0; spec && spec[i].name; i++) {
        char name[96], limits[256];
        snprintf(name, sizeof name, "%s%s", prefix, spec[i].name);
        sl_field_spec_limits(&spec[i], limits, sizeof limits);
        printf("    %-24s %s%s%s%s%s\n", name, spec[i].required ? "(required) " : "",
               spec[i].doc ? spec[i].doc : "", limits[0] ? " [" : "", limits,
               limits[0] ? "]" : "");
        if (spec[i].children && !prefix[0]) {
            snprintf(name, sizeof name, "%s.", spec[i].name);
            print_spec(spec[i].children, name);
        }
    }
}

static int cmd_help(const sl_cli_t *c)
{
    if (c->nargs == 0) {
        fputs(USAGE, stdout);
        printf("\nplugins (sluice help NAME for options):\n  sources:   ");
        for (size_t i = 0; sl_sources[i]; i++) {
            printf("%s%s", i ? ", " : "", sl_sources[i]->name);
        }
        printf("\n  transforms: ");
        for (size_t i = 0; sl_transforms[i]; i++) {
            printf("%s%s", i ? ", " : "", sl_transforms[i]->name);
        }
        printf("\n  sinks:     ");
        for (size_t i = 0; sl_sinks[i]; i++) {
            printf("%s%s", i ? ", " : "", sl_sinks[i]->name);
        }
        printf("\n");
        return 0;
    }
    const char *name = c->args[0];
    bool found = false;
    const sl_source_type_t *s = sl_registry_source(name);
    if (s) {
        printf("source %s: %s\n", s->name, s->doc);
        print_spec(s->config, "");
        found = true;
    }
    const sl_transform_type_t *t = sl_registry_transform(name);
    if (t) {
        printf("transform %s: %s\n", t->name, t->doc);
        print_spec(t->config, "");
        found = true;
    }
    const sl_sink_type_t *k = sl_registry_sink(name);
    if (k) {
        printf("sink %s: %s\n", k->name, k->doc);
        print_spec(k->config, "");
        found = true;
    }
    if (!found) {
        return sl_cli_usage_error("no plugin named '%s'", name);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (sl_fault_init() != 0) {
        return SL_EXIT_USAGE;
    }
    sl_cli_t c;
    int rc = parse_args(argc, argv, &c);
    if (rc) {
        free(c.params);
        free(c.scopes);
        return rc;
    }
    if (!c.cmd || strcmp(c.cmd, "help") == 0) {
        rc = cmd_help(&c);
    } else if (strcmp(c.cmd, "version") == 0) {
        printf("sluice %s\n", SLUICE_VERSION);
    } else if (strcmp(c.cmd, "run") == 0) {
        rc = cmd_run(&c);
    } else if (strcmp(c.cmd, "validate") == 0) {
        rc = cmd_validate(&c);
    } else if (strcmp(c.cmd, "schedule") == 0) {
        rc = sl_cli_schedule(&c);
    } else if (strcmp(c.cmd, "serve") == 0) {
        rc = sl_cli_serve(&c);
    } else if (strcmp(c.cmd, "runs") == 0) {
        rc = sl_cli_runs(&c);
    } else if (strcmp(c.cmd, "state") == 0) {
        rc = cmd_state(&c);
    } else if (strcmp(c.cmd, "keys") == 0) {
        rc = sl_cli_keys(&c);
    } else {
        rc = sl_cli_usage_error("unknown command '%s'", c.cmd);
    }
    free(c.params);
    free(c.scopes);
    return rc;
}
