/* Internals shared by the files of the built-in API (api*.c). */
#ifndef SLUICE_SERVE_API_INTERNAL_H
#define SLUICE_SERVE_API_INTERNAL_H

#include "server.h"

/* JSON members for responses: "key":"value" (null for NULL), "key":"ISO time"
 * (null for 0), "key":JSON text from the history (null when missing). */
void sl_api_put_str(sl_buf_t *b, const char *key, const char *v);
void sl_api_put_time(sl_buf_t *b, const char *key, int64_t us);
void sl_api_put_raw(sl_buf_t *b, const char *key, const char *json);

/* A run's id (full), pipeline and status, read with sl_state_run_show and
 * these two callbacks. */
typedef struct {
    sl_status_t status;
    bool found;
    char id[37];
    char pipeline[128];
} sl_api_peek_t;

int sl_api_peek_run(void *ud, const sl_run_t *r);
int sl_api_peek_step(void *ud, const sl_step_run_t *s);

/* The handlers (api_runs.c, api_start.c). */
void sl_api_get_runs(const sl_request_t *req, sl_response_t *resp);
void sl_api_get_run(const sl_request_t *req, const char *id, sl_response_t *resp);
void sl_api_get_items(const sl_request_t *r, const char *id, sl_response_t *resp);
void sl_api_resume_run(const sl_request_t *r, const char *id, sl_response_t *resp);
void sl_api_cancel_run(const sl_request_t *r, const char *id, sl_response_t *resp);
void sl_api_post_run(const sl_request_t *r, const char *name, sl_response_t *resp);

#endif
