/* SPDX-License-Identifier: MIT
 * Helpers shared inside the MLP client (see nn_util.h). */
#include "nn_util.h"

#include <stdarg.h>
#include <stdio.h>

void ad_nn_errf(char *err, size_t len, const char *fmt, ...)
{
    if (!err || len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

bool ad_nn_labels_ok(const int32_t *labels, size_t n, size_t classes, const char *fn,
                     const char *what, char *err, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= classes) {
            ad_nn_errf(err, len, "%s: %slabel %d of sample %zu is not in [0, %zu)", fn, what,
                       (int)labels[i], i, classes);
            return false;
        }
    return true;
}

ad_tensor ad_nn_fail(ad_tape *t, ad_status code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ad_tape_set_error(t, code, msg);
    return ad_nn_invalid(t);
}

ad_tensor ad_nn_invalid(ad_tape *t)
{
    /* a constructor on a failed tape returns the invalid handle */
    return ad_tensor_new(t, AD_F32, 1, (size_t[]){1}, NULL);
}

const char *ad_nn_shape_str(ad_tensor x, char *buf)
{
    size_t dims[AD_MAX_DIMS], nd = ad_tensor_shape(x, dims), at = 0;
    /* four 20-digit dimensions, commas and brackets: 86 bytes at most */
    buf[at++] = '[';
    for (size_t i = 0; i < nd; i++)
        at += (size_t)snprintf(buf + at, AD_NN_SHAPE_LEN - at, "%s%zu", i ? "," : "", dims[i]);
    snprintf(buf + at, AD_NN_SHAPE_LEN - at, "]");
    return buf;
}

void ad_nn_name_failure(ad_tape *t, ad_tensor result, const char *fn)
{
    const char *msg;
    ad_status code;
    if (ad_tensor_ok(result) || (code = ad_tape_error(t, &msg)) == AD_OK) return;
    char buf[320];
    snprintf(buf, sizeof buf, "%s: %s", fn, msg);
    ad_tape_clear_error(t); /* the recording stays; only the message changes */
    ad_tape_set_error(t, code, buf);
}
