/* `schedule:` of a pipeline, checked when it is loaded:
 *
 *   schedule: "cron(0 8 * * ? *)"        # or "rate(5 minutes)", or 5 or 6 fields
 *   schedule: {cron: "0 8 * * ? *", timezone: America/Chicago, overlap: skip,
 *              catchup: latest}
 */
#include <stdio.h>
#include <string.h>

#include "config_internal.h"
#include "sluice/tz.h"

static const char *const overlaps[] = {"skip", "queue", NULL};
static const char *const catchups[] = {"none", "latest", NULL};

static const sl_field_spec_t schedule_spec[] = {
    {.name = "cron", .type = SL_FIELD_STRING,
     .doc = "AWS cron (6 fields, or cron(...)) or classic cron (5 fields)"},
    {.name = "rate", .type = SL_FIELD_STRING, .doc = "\"5 minutes\", \"1 hour\" (or rate(...))"},
    {.name = "timezone", .type = SL_FIELD_STRING, .def = "UTC",
     .doc = "the zone of a cron's wall clock (IANA name)"},
    {.name = "overlap", .type = SL_FIELD_STRING, .choices = overlaps, .def = "skip",
     .doc = "a tick while a run of the pipeline is queued or running: skip it, or queue one"},
    {.name = "catchup", .type = SL_FIELD_STRING, .choices = catchups, .def = "none",
     .doc = "ticks missed while no server ran: none, or latest (one run at start)"},
    {.name = NULL},
};

int sl_schedule_load(sl_arena_t *a, sl_pipeline_t *p, const sl_node_t *node, sl_err_t *err)
{
    if (!node) {
        return 0;
    }
    sl_schedule_t *s = sl_arena_calloc(a, sizeof *s);
    if (!s) {
        return sl_err_set(err, SL_ENOMEM, "out of memory while loading the pipeline");
    }
    s->node = node;
    s->timezone = "UTC";
    const sl_node_t *expr = node;
    const char *text = NULL;
    char got[128];
    if (node->kind == SL_NODE_MAP) {
        int rc = sl_config_check(node, schedule_spec, "schedule", err);
        if (rc) {
            return rc;
        }
        const sl_node_t *c = sl_node_get(node, "cron"), *r = sl_node_get(node, "rate");
        if (!c == !r) {
            return sl_node_error(err, node, "schedule: give cron or rate (one of the two)");
        }
        expr = c ? c : r;
        if (r && strncmp(r->text, "rate(", 5) != 0) {
            text = sl_arena_sprintf(a, "rate(%s)", r->text);
        }
        const char *overlap = "skip", *catchup = "none";
        rc = sl_cfg_str(node, "timezone", "UTC", &s->timezone, err);
        if (rc == 0) {
            rc = sl_cfg_str(node, "overlap", "skip", &overlap, err);
        }
        if (rc == 0) {
            rc = sl_cfg_str(node, "catchup", "none", &catchup, err);
        }
        if (rc) {
            return rc;
        }
        s->overlap_queue = strcmp(overlap, "queue") == 0;
        s->catchup_latest = strcmp(catchup, "latest") == 0;
        const sl_node_t *tzn = sl_node_get(node, "timezone");
        if (tzn && !tzn->unresolved && !sl_tz_known(s->timezone)) {
            return sl_node_error(err, tzn, "schedule: timezone: unknown time zone '%s' (an "
                                 "IANA name such as America/Chicago)", s->timezone);
        }
    } else if (node->kind != SL_NODE_SCALAR || node->is_null) {
        return sl_node_error(err, node, "schedule: expected an expression (\"cron(0 8 * * ? "
                             "*)\", \"rate(5 minutes)\") or a map, got %s",
                             sl_node_got(node, got, sizeof got));
    }
    s->text = text ? text : expr->text;
    if (!s->text) {
        return sl_err_set(err, SL_ENOMEM, "out of memory while loading the pipeline");
    }
    sl_err_t e;
    if (!expr->unresolved && sl_cron_parse(s->text, &s->expr, &e) != 0) {
        return sl_node_error(err, expr, "schedule: %s", e.msg);
    }
    p->schedule = s;
    return 0;
}
