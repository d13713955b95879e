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
