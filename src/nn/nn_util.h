/* SPDX-License-Identifier: MIT
 * Helpers shared inside the MLP client. Like the rest of src/nn/ this uses
 * only the public headers; nothing here is exported. */
#ifndef AD_NN_UTIL_H
#define AD_NN_UTIL_H

#include <stddef.h>

#if defined(__GNUC__)
#define AD_NN_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define AD_NN_PRINTF(fmt, first)
#endif

/* printf into the caller's optional message buffer (err may be NULL). */
void ad_nn_errf(char *err, size_t len, const char *fmt, ...) AD_NN_PRINTF(3, 4);

#endif
