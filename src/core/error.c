/* SPDX-License-Identifier: MIT
 * The tape's sticky error (the first failure wins and stops every later op)
 * and the strings messages are made of: status names, shapes, dtypes. */
#include "tape.h"

#include "last_error.h"

#include <stdio.h>
#include <string.h>

const char *ad_status_name(ad_status s)
{
    static const char *const names[] = {
        "AD_OK",          "AD_ERR_INVALID", "AD_ERR_SHAPE",     "AD_ERR_DTYPE",
        "AD_ERR_FOREIGN", "AD_ERR_STALE",   "AD_ERR_NOMEM",     "AD_ERR_NUMERIC",
        "AD_ERR_IO",      "AD_ERR_FORMAT",  "AD_ERR_GRADCHECK",
    };
    size_t i = (size_t)s;
    return i < sizeof names / sizeof names[0] ? names[i] : "AD_ERR_UNKNOWN";
}

ad_status ad_tape_fail(ad_tape *t, ad_status code, const char *fmt, ...)
{
    if (!t || t->err != AD_OK) return code;
    t->err = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg, sizeof t->msg, fmt, ap);
    va_end(ap);
    ad_tape_update_live(t);
    return code;
}

ad_status ad_tape_error(const ad_tape *t, const char **message)
{
    if (!t) {
        if (message) *message = "ad_tape_error: the tape is NULL";
        return ad_no_tape("ad_tape_error: the tape is NULL");
    }
    if (message) *message = t->msg;
    return t->err;
}

ad_status ad_tape_set_error(ad_tape *t, ad_status code, const char *message)
{
    if (!t) return ad_no_tape("ad_tape_set_error: the tape is NULL");
    if (code == AD_OK) return t->err;
    if ((unsigned)code > (unsigned)AD_ERR_GRADCHECK) /* no ad_status: say so, keep the message */
        ad_tape_fail(t, AD_ERR_INVALID, "ad_tape_set_error: unknown status code %d (message: %s)",
                     (int)code, message ? message : "(no message)");
    else
        ad_tape_fail(t, code, "%s", message ? message : "(no message)");
    return t->err;
}

ad_status ad_tape_error_context(ad_tape *t, const char *fn)
{
    if (!t) return ad_no_tape("ad_tape_error_context: the tape is NULL");
    if (t->err == AD_OK || !fn) return t->err;
    /* shift the message right by "fn: ", cutting its end to fit */
    size_t cap = sizeof t->msg - 1, fl = strlen(fn);
    if (fl > cap - 2) fl = cap - 2;
    size_t ml = strlen(t->msg), keep = ml < cap - 2 - fl ? ml : cap - 2 - fl;
    memmove(t->msg + fl + 2, t->msg, keep);
    t->msg[fl + 2 + keep] = '\0';
    memcpy(t->msg, fn, fl);
    memcpy(t->msg + fl, ": ", 2);
    return t->err;
}

void ad_tape_clear_error(ad_tape *t)
{
    if (!t) {
        ad_no_tape("ad_tape_clear_error: the tape is NULL");
        return;
    }
    t->err = AD_OK;
    t->msg[0] = '\0';
    ad_tape_update_live(t);
}

const char *ad_shape_str(size_t ndim, const size_t *dims, char *buf)
{
    /* Four 20-digit dimensions need 86 bytes: a shape that does not fit
     * ends in ",...]", never in a "]" that hides the dimensions cut off. */
    size_t off = 0;
    buf[off++] = '[';
    for (size_t i = 0; i < ndim; i++) {
        char d[24];
        size_t len = (size_t)snprintf(d, sizeof d, i ? ",%zu" : "%zu", dims[i]);
        /* room after it for "]" if it is the last, else for ",...]", and the NUL */
        if (off + len + (i + 1 < ndim ? 5 : 1) >= AD_SHAPE_STR) {
            const char *cut = i ? ",..." : "...";
            memcpy(buf + off, cut, strlen(cut));
            off += strlen(cut);
            break;
        }
        memcpy(buf + off, d, len);
        off += len;
    }
    buf[off++] = ']';
    buf[off] = '\0';
    return buf;
}

const char *ad_dtype_name(ad_dtype dt)
{
    return dt == AD_F32 ? "float32" : dt == AD_F64 ? "float64" : "unknown dtype";
}
