/* Config strings rendered once at open; see sl_render_once in plugin.h. */
#include <string.h>

#include "sluice/plugin.h"
#include "sluice/template.h"

int sl_render_once(sl_step_ctx_t *ctx, const char *text, const char **out, sl_err_t *terr)
{
    *out = text;
    sl_template_t *t = NULL;
    if (sl_template_compile(ctx->arena, text, strlen(text), &t, terr) != 0) {
        return SL_ECONFIG;
    }
    if (sl_template_uses_record(t)) {
        return SL_EINVAL;
    }
    if (sl_template_is_literal(t)) {
        return 0;
    }
    sl_tmpl_ctx_t tc = sl_step_tmpl_ctx(ctx);
    sl_buf_t b = SL_BUF_INIT;
    int rc = sl_template_render(t, &tc, &b, terr) != 0 ? SL_ECONFIG : 0;
    if (rc == 0) {
        *out = sl_arena_strndup(ctx->arena, b.data ? b.data : "", b.len);
        rc = *out ? 0 : SL_ENOMEM;
    }
    sl_buf_free(&b);
    return rc;
}
