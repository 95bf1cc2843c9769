/* ${env:NAME}, ${env:NAME:-default} and ${file:PATH} references in config
 * values, resolved once at load time ($${ writes a literal ${). A load for
 * validation may let a missing variable or file through as a warning
 * (sl_config_opts_t.missing_ok): the pipeline can be checked on a machine
 * that does not hold its secrets.
 *
 * Anything resolved is treated as a secret: the scalar is marked so that
 * messages print "<secret>", and the values are handed to the log's
 * redaction list. Messages name the reference (which is in the file, not
 * secret) and never the value. Temporary copies are wiped before free. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"
#include "sluice/buf.h"
#include "sluice/log.h"

static void wipe_buf(sl_buf_t *b)
{
    if (b->data) {
        explicit_bzero(b->data, b->cap);
    }
    sl_buf_free(b);
}

static bool env_name_ok(const char *s, size_t n)
{
    if (n == 0 || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9'))) {
            return false;
        }
    }
    return true;
}

/* A reference that cannot be resolved, with opts->missing_ok: reports
 * "file:line:col: warning: ${env:X} is not set (a run needs it)" and
 * returns 0 (the caller marks the node unresolved); else the error. */
static int missing(const sl_config_opts_t *opts, const sl_node_t *n, const char *ref, size_t rlen,
                   const char *why, sl_err_t *err, const char *errfmt, const char *errarg)
{
    if (!opts || !opts->missing_ok) {
        return sl_node_error(err, n, errfmt, errarg);
    }
    char msg[SL_ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s:%u:%u: warning: ${%.*s} %s (a run needs it)",
             n->file ? n->file : "<config>", (unsigned)n->line, (unsigned)n->col,
             (int)SL_MIN(rlen, 300), ref, why);
    if (opts->warn) {
        opts->warn(opts->warn_ud, msg);
    } else {
        sl_warn("%s", msg);
    }
    return 0;
}

/* Appends the environment variable (or the default) to out. ref is the
 * text between "${env:" and "}". *from_env tells which one it was;
 * *unset is set when the variable is missing and opts let the load go on
 * (nothing is appended then). */
static int resolve_env(const sl_config_opts_t *opts, const sl_node_t *n, const char *ref,
                       size_t rlen, sl_buf_t *out, bool *from_env, bool *unset, sl_err_t *err)
{
    const char *dflt = NULL;
    size_t nlen = rlen, dlen = 0;
    for (size_t i = 0; i + 1 < rlen; i++) {
        if (ref[i] == ':' && ref[i + 1] == '-') {
            nlen = i;
            dflt = ref + i + 2;
            dlen = rlen - i - 2;
            break;
        }
    }
    char name[256];
    if (!env_name_ok(ref, nlen) || nlen >= sizeof name) {
        return sl_node_error(err, n, "invalid environment variable name '%.*s' in ${env:%.*s}",
                             (int)SL_MIN(nlen, 200), ref, (int)SL_MIN(rlen, 200), ref);
    }
    memcpy(name, ref, nlen);
    name[nlen] = '\0';
    const char *v = getenv(name);
    /* Like the shell's ${X:-d}: the default also replaces an empty value. */
    *from_env = !(dflt && (!v || !*v));
    if (!*from_env) {
        return sl_buf_append(out, dflt, dlen);
    }
    if (!v) {
        *unset = true;
        return missing(opts, n, ref - 4, rlen + 4, "is not set", err,
                       "environment variable '%s' is not set", name);
    }
    size_t vlen = strlen(v);
    sl_log_add_secret(v, vlen);
    return sl_buf_append(out, v, vlen);
}

static int resolve_file(sl_arena_t *a, const char *base_dir, const sl_config_opts_t *opts,
                        const sl_node_t *n, const char *ref, size_t rlen, sl_buf_t *out,
                        bool *unset, sl_err_t *err)
{
    if (rlen == 0) {
        return sl_node_error(err, n, "empty path in ${file:}");
    }
    const char *path;
    if (ref[0] == '/' || !base_dir || !*base_dir || strcmp(base_dir, ".") == 0) {
        path = sl_arena_strndup(a, ref, rlen);
    } else {
        path = sl_arena_sprintf(a, "%s/%.*s", base_dir, (int)rlen, ref);
    }
    if (!path) {
        return SL_ENOMEM;
    }
    /* O_NONBLOCK: a FIFO or a terminal must not hang the load. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0 && errno == ENOENT) {
        /* Only a file that is not there: one that cannot be read is a
         * mistake a validation should report. */
        *unset = true;
        return missing(opts, n, ref - 5, rlen + 5, "does not exist", err,
                       "cannot read file '%s': No such file or directory", path);
    }
    if (fd < 0) {
        return sl_node_error(err, n, "cannot read file '%s': %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sl_node_error(err, n, "cannot read file '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sl_node_error(err, n, "cannot read file '%s': not a regular file", path);
    }
    /* One buffer of the maximum size, so no realloc leaves copies behind. */
    size_t cap = SL_CONFIG_MAX_SECRET + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return sl_err_set(err, SL_ENOMEM, "out of memory reading '%s'", path);
    }
    int rc = 0;
    while (len < cap) {
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            rc = sl_node_error(err, n, "cannot read file '%s': %s", path, strerror(errno));
            break;
        }
        if (got == 0) {
            break;
        }
        len += (size_t)got;
    }
    close(fd);
    if (rc == 0 && len > SL_CONFIG_MAX_SECRET) {
        rc = sl_node_error(err, n, "file '%s' is larger than %u KiB", path,
                           SL_CONFIG_MAX_SECRET >> 10);
    }
    if (rc == 0) {
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
            len--;
        }
        if (memchr(buf, '\0', len)) {
            rc = sl_node_error(err, n, "file '%s' contains a NUL byte", path);
        }
    }
    if (rc == 0) {
        sl_log_add_secret(buf, len);
        rc = sl_buf_append(out, buf, len);
    }
    explicit_bzero(buf, len);
    free(buf);
    return rc;
}

int sl_config_resolve(sl_arena_t *a, const char *base_dir, const sl_config_opts_t *opts,
                      sl_node_t *n, const char *raw, size_t len, sl_err_t *err)
{
    if (!memchr(raw, '$', len)) {
        n->text = sl_arena_strndup(a, raw, len);
        n->len = len;
        return n->text ? 0 : sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    sl_buf_t out;
    sl_buf_init(&out, 0);
    /* secret: any reference, even one that fell back to its default (the
     * reader cannot tell which); sourced/mixed: whether the final text holds
     * environment or file content plus other text, which then is also
     * registered as a whole (defaults alone are not, or every "localhost"
     * in the logs would be masked). */
    bool secret = false, sourced = false, mixed = false, unset = false;
    int rc = sl_buf_reserve(&out, len + 1);
    size_t i = 0;
    while (rc == 0 && i < len) {
        if (raw[i] != '$') {
            const char *d = memchr(raw + i, '$', len - i);
            size_t m = d ? (size_t)(d - (raw + i)) : len - i;
            rc = sl_buf_append(&out, raw + i, m);
            mixed = true;
            i += m;
            continue;
        }
        if (i + 2 < len && raw[i + 1] == '$' && raw[i + 2] == '{') {
            rc = sl_buf_append(&out, "${", 2);
            mixed = true;
            i += 3;
            continue;
        }
        if (i + 1 >= len || raw[i + 1] != '{') {
            rc = sl_buf_putc(&out, '$');
            mixed = true;
            i++;
            continue;
        }
        const char *ref = raw + i + 2;
        const char *end = memchr(ref, '}', len - i - 2);
        if (!end) {
            rc = sl_node_error(err, n, "unterminated '${' (write $${ for a literal ${)");
            break;
        }
        size_t rlen = (size_t)(end - ref);
        if (rlen >= 4 && memcmp(ref, "env:", 4) == 0) {
            bool from_env = false;
            rc = resolve_env(opts, n, ref + 4, rlen - 4, &out, &from_env, &unset, err);
            mixed = mixed || !from_env || sourced;
            sourced = sourced || from_env;
        } else if (rlen >= 5 && memcmp(ref, "file:", 5) == 0) {
            rc = resolve_file(a, base_dir, opts, n, ref + 5, rlen - 5, &out, &unset, err);
            mixed = mixed || sourced;
            sourced = true;
        } else {
            rc = sl_node_error(err, n,
                               "unknown reference '${%.*s}' (expected ${env:NAME} or "
                               "${file:PATH}; write $${ for a literal ${)",
                               (int)SL_MIN(rlen, 200), ref);
        }
        secret = true;
        i = (size_t)(end - raw) + 1;
    }
    if (rc == SL_ENOMEM || rc == SL_ELIMIT) {
        rc = sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    if (rc == 0 && unset) {
        /* The written text stands in for the value: it names what is
         * missing, and checks skip unresolved nodes. */
        n->text = sl_arena_strndup(a, raw, len);
        n->len = len;
        n->secret = true;
        n->unresolved = true;
        if (!n->text) {
            rc = sl_err_set(err, SL_ENOMEM, "out of memory");
        }
    } else if (rc == 0) {
        n->text = sl_arena_strndup(a, out.data ? out.data : "", out.len);
        n->len = out.len;
        n->secret = secret;
        if (!n->text) {
            rc = sl_err_set(err, SL_ENOMEM, "out of memory");
        } else if (sourced && mixed) {
            sl_log_add_secret(n->text, n->len);
        }
    }
    wipe_buf(&out);
    return rc;
}
