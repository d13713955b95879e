/* SPDX-License-Identifier: MIT
 * Helpers shared inside the MLP client (see nn_util.h). */
#include "nn_util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void ad_nn_errf(const char *fmt, ...)
{
    char msg[4096]; /* ad_last_error's size */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ad_set_last_error(msg);
}

bool ad_nn_labels_ok(const int32_t *labels, size_t n, size_t classes, const char *fn,
                     const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= classes) {
            ad_nn_errf("%s: %slabel %d of sample %zu is not in [0, %zu)", fn, what, (int)labels[i],
                       i, classes);
            return false;
        }
    return true;
}

void *ad_nn_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    void *p = ad_alloc(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

ad_tensor ad_nn_fail(ad_tape *t, ad_status code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (t)
        ad_tape_set_error(t, code, msg);
    else
        ad_set_last_error(msg); /* no tape to fail: the tapeless channel */
    return ad_tensor_invalid(t);
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
