/* SPDX-License-Identifier: MIT
 * Helpers shared inside the MLP client. Like the rest of src/nn/ this uses
 * only the public headers; nothing here is exported. */
#ifndef AD_NN_UTIL_H
#define AD_NN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define AD_NN_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define AD_NN_PRINTF(fmt, first)
#endif

/* printf into the caller's optional message buffer (err may be NULL). */
void ad_nn_errf(char *err, size_t len, const char *fmt, ...) AD_NN_PRINTF(3, 4);

/* Whether every one of the n labels is a class in [0, classes); if not, the
 * first offender into err, as "<fn>: <what>label L of sample I is not in
 * [0, C)". */
bool ad_nn_labels_ok(const int32_t *labels, size_t n, size_t classes, const char *fn,
                     const char *what, char *err, size_t len);

#endif
