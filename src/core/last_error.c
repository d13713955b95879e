/* SPDX-License-Identifier: MIT
 * The message channel of tapeless calls (drivers, parameter files, the nn
 * client, the data readers): a per-thread buffer that ad_last_error returns,
 * so no call needs an err/err_len pair and threads never see each other's. */
#include "last_error.h"

#include <stdio.h>

static _Thread_local char last[AD_LAST_ERROR_LEN];

const char *ad_last_error(void)
{
    return last;
}

void ad_set_last_error(const char *message)
{
    snprintf(last, sizeof last, "%s", message ? message : "");
}

void ad_last_error_clear(void)
{
    last[0] = '\0';
}

void ad_last_error_set(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last, sizeof last, fmt, ap);
    va_end(ap);
}

ad_status ad_no_tape(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last, sizeof last, fmt, ap);
    va_end(ap);
    return AD_ERR_INVALID;
}

ad_status ad_last_error_from(const ad_tape *t, ad_status st, const char *fn)
{
    const char *msg = "";
    if (t) ad_tape_error(t, &msg);
    if (st == AD_OK)
        last[0] = '\0';
    else if (msg[0])
        ad_last_error_set("%s", msg);
    else if (st == AD_ERR_NOMEM)
        ad_last_error_set("%s: out of memory", fn);
    else
        ad_last_error_set("%s: %s", fn, ad_status_name(st));
    return st;
}
