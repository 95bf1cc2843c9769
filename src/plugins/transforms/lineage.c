/* The `lineage` transform: adds where and when each record came from.
 *
 *   _ingestion_ts    timestamp (UTC, microseconds) taken once per batch
 *   _source_system   the configured source_system
 *   _record_hash     MD5 hex of the record's canonical JSON (keys sorted,
 *                    compact; sl_json_write with SL_JSON_SORTED), computed
 *                    before the lineage fields are added
 *   _ingestion_id    the run's id (UUID)
 *
 * Existing fields with these names are replaced (and, being part of the
 * record, included in the hash). The JSON goes through one buffer owned
 * by the instance, so hashing allocates nothing per record besides the 33
 * bytes of the hex digest. */
#include <string.h>

#include "sluice/hash.h"
#include "sluice/json.h"
#include "sluice/plugin.h"
#include "sluice/timeutil.h"

static const sl_field_spec_t lineage_config[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .doc = "lineage"},
    {.name = "source_system", .type = SL_FIELD_STRING, .required = true,
     .doc = "name of the system the records come from"},
    {.name = NULL},
};

#define NFIELDS 4
static const sl_str_t keys[NFIELDS] = {
    {"_ingestion_ts", 13}, {"_source_system", 14}, {"_record_hash", 12}, {"_ingestion_id", 13}};

typedef struct {
    const char *source_system;
    const char *run_id;
    sl_buf_t json;
} lineage_t;

/* For `sluice validate`; open() runs it first. */
static int lineage_check(const sl_node_t *cfg, sl_err_t *err)
{
    const char *src = NULL;
    int rc = sl_cfg_str(cfg, "source_system", NULL, &src, err);
    if (!rc && (!src || !*src)) {
        rc = sl_node_error(err, cfg, "lineage: missing required key 'source_system'");
    }
    return rc;
}

static int lineage_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    const char *src;
    int rc = lineage_check(cfg, &ctx->err);
    rc = rc ? rc : sl_cfg_str(cfg, "source_system", NULL, &src, &ctx->err);
    if (rc) {
        return rc;
    }
    lineage_t *l = sl_arena_calloc(ctx->arena, sizeof *l);
    if (!l) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "lineage: out of memory");
    }
    l->source_system = sl_arena_strdup(ctx->arena, src);
    l->run_id = sl_arena_strdup(ctx->arena, ctx->run_id ? ctx->run_id : "");
    if (!l->source_system || !l->run_id) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "lineage: out of memory");
    }
    sl_buf_init(&l->json, 0);
    *self = l;
    return 0;
}


static int lineage_process(void *self, sl_step_ctx_t *ctx, sl_batch_t *b)
{
    lineage_t *l = self;
    sl_value_t vals[NFIELDS];
    vals[0] = sl_value_timestamp(sl_now_us());
    vals[1] = sl_value_str(l->source_system, strlen(l->source_system));
    vals[3] = sl_value_str(l->run_id, strlen(l->run_id));
    for (size_t i = 0; i < b->n; i++) {
        sl_value_t *rec = &b->records[i];
        if (rec->type != SL_T_OBJECT) {
            continue;
        }
        sl_buf_clear(&l->json);
        int rc = sl_json_write(&l->json, rec, SL_JSON_SORTED);
        char *hex = rc ? NULL : sl_arena_alloc(b->arena, 33);
        if (!hex) {
            return sl_err_set(&ctx->err, rc ? rc : SL_ENOMEM,
                              "lineage: cannot hash record %zu: %s", i + 1,
                              sl_strerror(rc ? rc : SL_ENOMEM));
        }
        sl_md5_hex(l->json.data, l->json.len, hex);
        vals[2] = sl_value_str(hex, 32);
        if (sl_object_set_many(b->arena, rec, keys, vals, NFIELDS) != 0) {
            return sl_err_set(&ctx->err, SL_ENOMEM, "lineage: out of memory");
        }
    }
    return 0;
}

static void lineage_close(void *self)
{
    lineage_t *l = self;
    if (l) {
        sl_buf_free(&l->json);
    }
}

const sl_transform_type_t sl_transform_lineage = {
    .name = "lineage",
    .doc = "add _ingestion_ts, _source_system, _record_hash (MD5 of the sorted JSON) and "
           "_ingestion_id",
    .config = lineage_config,
    .check = lineage_check,
    .open = lineage_open,
    .process = lineage_process,
    .close = lineage_close,
};
