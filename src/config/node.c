/* Reading config nodes: map lookup, typed scalar reads with positioned
 * messages, and the scalar syntaxes (integers, numbers, booleans) that the
 * schema checks and params share.
 *
 * Numbers and booleans must be written plain: a quoted "5" is a string.
 * That keeps `port: "5432"` and `port: 5432` distinguishable in YAML's own
 * terms; only SL_FIELD_STRING / sl_node_to_str accept any scalar. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_internal.h"

const sl_node_t *sl_node_get(const sl_node_t *map, const char *key)
{
    if (!map || map->kind != SL_NODE_MAP || !key) {
        return NULL;
    }
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->pairs[i].key->text, key) == 0) {
            return map->pairs[i].value;
        }
    }
    return NULL;
}

const char *sl_node_display(const sl_node_t *n)
{
    if (!n) {
        return "";
    }
    if (n->kind == SL_NODE_MAP) {
        return "<map>";
    }
    if (n->kind == SL_NODE_SEQ) {
        return "<list>";
    }
    if (n->secret) {
        return "<secret>";
    }
    return n->text ? n->text : "";
}

const char *sl_node_got(const sl_node_t *n, char *buf, size_t bufsize)
{
    if (!n) {
        return "nothing";
    }
    if (n->kind == SL_NODE_MAP) {
        return "a map";
    }
    if (n->kind == SL_NODE_SEQ) {
        return "a list";
    }
    if (n->is_null) {
        return "null";
    }
    /* Long values are cut: the message is about the position and type. */
    const char *t = sl_node_display(n);
    size_t len = strlen(t);
    if (len > 80) {
        snprintf(buf, bufsize, "'%.77s...'", t);
    } else {
        snprintf(buf, bufsize, "'%s'", t);
    }
    return buf;
}

int sl_node_error(sl_err_t *err, const sl_node_t *n, const char *fmt, ...)
{
    if (!err) {
        return SL_ECONFIG;
    }
    char msg[SL_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n) {
        return sl_err_set(err, SL_ECONFIG, "%s:%u:%u: %s", n->file ? n->file : "<config>",
                          (unsigned)n->line, (unsigned)n->col, msg);
    }
    return sl_err_set(err, SL_ECONFIG, "%s", msg);
}

int sl_config_parse_int(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (i == n) {
        return SL_EPARSE;
    }
    uint64_t v = 0;
    bool over = false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return SL_EPARSE;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            over = true;
        } else {
            v = v * 10 + d;
        }
    }
    if (over || (!neg && v > (uint64_t)INT64_MAX) || (neg && v > (uint64_t)INT64_MAX + 1)) {
        return SL_ELIMIT;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int sl_config_parse_double(const char *s, size_t n, double *out)
{
    /* Decimal syntax only: no hex floats, inf or nan words. */
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        i++;
    }
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            digits++;
        }
    }
    if (digits == 0) {
        return SL_EPARSE;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        size_t e0 = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
        if (i == e0) {
            return SL_EPARSE;
        }
    }
    if (i != n || n > 400) {
        return i != n ? SL_EPARSE : SL_ELIMIT;
    }
    char tmp[401];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    double d = strtod(tmp, NULL);
    if (isinf(d)) {
        return SL_ELIMIT;
    }
    *out = d;
    return 0;
}

int sl_config_parse_bool(const char *s, size_t n, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < SL_ARRAY_LEN(yes); i++) {
        if (n == strlen(yes[i]) && strncasecmp(s, yes[i], n) == 0) {
            *out = true;
            return 0;
        }
        if (n == strlen(no[i]) && strncasecmp(s, no[i], n) == 0) {
            *out = false;
            return 0;
        }
    }
    return SL_EPARSE;
}

/* "KEY: " or "" for messages. */
static void key_prefix(char *buf, size_t size, const char *key)
{
    if (key) {
        snprintf(buf, size, "%s: ", key);
    } else {
        buf[0] = '\0';
    }
}

static int type_error(const sl_node_t *n, const char *key, const char *want, sl_err_t *err)
{
    char kp[256], got[128];
    key_prefix(kp, sizeof kp, key);
    const char *g = sl_node_got(n, got, sizeof got);
    if (n && n->kind == SL_NODE_SCALAR && n->quoted && !n->is_null) {
        return sl_node_error(err, n, "%sexpected %s, got the quoted string %s", kp, want, g);
    }
    return sl_node_error(err, n, "%sexpected %s, got %s", kp, want, g);
}

static bool plain_scalar(const sl_node_t *n)
{
    return n && n->kind == SL_NODE_SCALAR && !n->quoted && !n->is_null;
}

int sl_node_to_int(const sl_node_t *n, const char *key, int64_t *out, sl_err_t *err)
{
    if (!plain_scalar(n)) {
        return type_error(n, key, "an integer", err);
    }
    int rc = sl_config_parse_int(n->text, n->len, out);
    if (rc == SL_ELIMIT) {
        char kp[256], got[128];
        key_prefix(kp, sizeof kp, key);
        return sl_node_error(err, n, "%sinteger out of range: %s", kp,
                             sl_node_got(n, got, sizeof got));
    }
    return rc ? type_error(n, key, "an integer", err) : 0;
}

int sl_node_to_double(const sl_node_t *n, const char *key, double *out, sl_err_t *err)
{
    if (!plain_scalar(n)) {
        return type_error(n, key, "a number", err);
    }
    int rc = sl_config_parse_double(n->text, n->len, out);
    if (rc == SL_ELIMIT) {
        char kp[256], got[128];
        key_prefix(kp, sizeof kp, key);
        return sl_node_error(err, n, "%snumber out of range: %s", kp,
                             sl_node_got(n, got, sizeof got));
    }
    return rc ? type_error(n, key, "a number", err) : 0;
}

int sl_node_to_bool(const sl_node_t *n, const char *key, bool *out, sl_err_t *err)
{
    if (!plain_scalar(n) || sl_config_parse_bool(n->text, n->len, out) != 0) {
        return type_error(n, key, "a boolean (true or false)", err);
    }
    return 0;
}

int sl_node_to_str(const sl_node_t *n, const char *key, const char **out, sl_err_t *err)
{
    if (!n || n->kind != SL_NODE_SCALAR || n->is_null) {
        return type_error(n, key, "a string", err);
    }
    *out = n->text;
    return 0;
}

int sl_cfg_int(const sl_node_t *map, const char *key, int64_t def, int64_t *out, sl_err_t *err)
{
    const sl_node_t *n = sl_node_get(map, key);
    if (!n) {
        *out = def;
        return 0;
    }
    return sl_node_to_int(n, key, out, err);
}

int sl_cfg_double(const sl_node_t *map, const char *key, double def, double *out, sl_err_t *err)
{
    const sl_node_t *n = sl_node_get(map, key);
    if (!n) {
        *out = def;
        return 0;
    }
    return sl_node_to_double(n, key, out, err);
}

int sl_cfg_bool(const sl_node_t *map, const char *key, bool def, bool *out, sl_err_t *err)
{
    const sl_node_t *n = sl_node_get(map, key);
    if (!n) {
        *out = def;
        return 0;
    }
    return sl_node_to_bool(n, key, out, err);
}

int sl_cfg_str(const sl_node_t *map, const char *key, const char *def, const char **out,
               sl_err_t *err)
{
    const sl_node_t *n = sl_node_get(map, key);
    if (!n) {
        *out = def;
        return 0;
    }
    return sl_node_to_str(n, key, out, err);
}
