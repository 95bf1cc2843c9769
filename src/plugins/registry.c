/* The one static table of every plugin, and path resolution shared by
 * plugins. Adding a plugin: one file, one line here, its tests, its docs. */
#include <stdlib.h>
#include <string.h>

#include "sluice/plugin.h"

extern const sl_source_type_t sl_source_file;
extern const sl_source_type_t sl_source_http;
extern const sl_source_type_t sl_source_sql;

extern const sl_transform_type_t sl_transform_select;
extern const sl_transform_type_t sl_transform_rename;
extern const sl_transform_type_t sl_transform_set;
extern const sl_transform_type_t sl_transform_cast;
extern const sl_transform_type_t sl_transform_filter;
extern const sl_transform_type_t sl_transform_lineage;

extern const sl_sink_type_t sl_sink_file;
extern const sl_sink_type_t sl_sink_lake;
extern const sl_sink_type_t sl_sink_sql;
extern const sl_sink_type_t sl_sink_stdout;

const sl_source_type_t *const sl_sources[] = {
    &sl_source_file,
    &sl_source_http,
    &sl_source_sql,
    NULL,
};

const sl_transform_type_t *const sl_transforms[] = {
    &sl_transform_select, &sl_transform_rename, &sl_transform_set,
    &sl_transform_cast,   &sl_transform_filter, &sl_transform_lineage,
    NULL,
};

const sl_sink_type_t *const sl_sinks[] = {
    &sl_sink_file,
    &sl_sink_lake,
    &sl_sink_sql,
    &sl_sink_stdout,
    NULL,
};

const sl_source_type_t *sl_registry_source(const char *name)
{
    for (size_t i = 0; name && sl_sources[i]; i++) {
        if (strcmp(sl_sources[i]->name, name) == 0) {
            return sl_sources[i];
        }
    }
    return NULL;
}

const sl_transform_type_t *sl_registry_transform(const char *name)
{
    for (size_t i = 0; name && sl_transforms[i]; i++) {
        if (strcmp(sl_transforms[i]->name, name) == 0) {
            return sl_transforms[i];
        }
    }
    return NULL;
}

const sl_sink_type_t *sl_registry_sink(const char *name)
{
    for (size_t i = 0; name && sl_sinks[i]; i++) {
        if (strcmp(sl_sinks[i]->name, name) == 0) {
            return sl_sinks[i];
        }
    }
    return NULL;
}

const char *sl_resolve_path(sl_arena_t *a, const char *base_dir, const char *loc)
{
    if (!loc) {
        return NULL;
    }
    if (strncmp(loc, "file://", 7) == 0) {
        /* file:///abs/path -> /abs/path; file://rel/path -> relative */
        loc += 7;
        if (loc[0] == '/') {
            return sl_arena_strdup(a, loc);
        }
    } else if (strstr(loc, "://") != NULL) {
        return sl_arena_strdup(a, loc);
    }
    if (loc[0] == '/' || !base_dir || !base_dir[0] || strcmp(base_dir, ".") == 0) {
        return sl_arena_strdup(a, loc);
    }
    return sl_arena_sprintf(a, "%s/%s", base_dir, loc);
}
