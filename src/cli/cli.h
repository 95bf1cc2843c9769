/* The command line's shared parts: the parsed arguments (src/main.c parses
 * them and picks the command) and what the commands share. Each family of
 * commands has its file here (runs.c: `runs`, `runs show`, `runs resume`;
 * keys.c: `keys create`, `keys list`, `keys revoke`). */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include "sluice/engine.h"
#include "sluice/state.h"

#define SL_CLI_DEFAULT_STATE ".sluice/state.db"

typedef struct {
    const char *cmd;
    const char *args[8];
    size_t nargs;
    const char **params;
    size_t nparams;
    const char *state;
    const char *pipeline_filter;
    int limit;
    bool full_refresh;
    bool progress;
    bool json_logs;
    int threads;
    bool strict; /* validate: a missing ${env:}/${file:} is an error */
    /* run: the id the run gets and the run that started it (a call step
     * that does not wait starts `sluice run` with them) */
    const char *run_id;
    const char *parent_run;
    const char *listen; /* serve: HOST:PORT */
    int count;          /* schedule next: -n N */
    int max_runs;       /* serve: --max-runs N */
    bool no_resume;     /* serve: --no-resume */
    int idle_timeout;   /* serve: --idle-timeout SECONDS */
    /* keys create: --name and the --scope values, in order */
    const char *key_name;
    const char **scopes;
    size_t nscopes;
} sl_cli_t;

/* Prints "sluice: " + fmt (with arg) and the usage hint; returns SL_EXIT_USAGE. */
int sl_cli_usage_error(const char *fmt, const char *arg);
/* Opens the state store of --state (or the default); prints the error.
 * Returns 0 or SL_EXIT_FAILED. */
int sl_cli_open_state(const sl_cli_t *c, sl_state_t **st);
/* Runs req with the command line's options, prints the summary (a table,
 * or a JSON line with --log-format json) and returns the exit code. */
int sl_cli_run(const sl_cli_t *c, const sl_run_request_t *req);
/* A time for tables: "2026-12-07T10:00:00Z" (seconds), "-" for none;
 * out holds 40 bytes. */
void sl_cli_fmt_time(int64_t us, char *out);
/* `sluice schedule next PIPELINE.yaml [-n N]` (schedule.c). */
int sl_cli_schedule(const sl_cli_t *c);
/* `sluice serve [--listen HOST:PORT] PIPELINE.yaml...` (serve.c). */
int sl_cli_serve(const sl_cli_t *c);
/* `sluice runs`, `runs show ID`, `runs resume ID`. */
int sl_cli_runs(const sl_cli_t *c);
/* `sluice keys create|list|revoke`. */
int sl_cli_keys(const sl_cli_t *c);

#endif
