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
