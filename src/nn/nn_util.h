/* SPDX-License-Identifier: MIT
 * Helpers shared inside the MLP client. Like the rest of src/nn/ this uses
 * only the public headers; nothing here is exported. */
#ifndef AD_NN_UTIL_H
#define AD_NN_UTIL_H

#include "adtape/nn.h"

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

/* Fails t with code and a printf message (start it with the public
 * function's name) and returns an invalid handle that carries t, so a sweep
 * from it reports t's error. A NULL or already failed t keeps its state. */
ad_tensor ad_nn_fail(ad_tape *t, ad_status code, const char *fmt, ...) AD_NN_PRINTF(3, 4);
/* The invalid handle carrying t, for a caller whose check already failed t
 * (on a healthy t it would be a valid one-element tensor: fail t first). */
ad_tensor ad_nn_invalid(ad_tape *t);

/* x's shape as "[4,3]" into buf (AD_NN_SHAPE_LEN bytes); "[]" for an invalid
 * handle. Returns buf. */
#define AD_NN_SHAPE_LEN 96
const char *ad_nn_shape_str(ad_tensor x, char *buf);

/* When the op just failed t (which was healthy before it), the message
 * becomes "<fn>: <engine message>", so the caller sees the function it
 * called; its code stays. O(1) unless t failed. */
void ad_nn_name_failure(ad_tape *t, ad_tensor result, const char *fn);

/* Whether o updates p (optim.c: the optimizer's parameter list is private). */
bool ad_nn_opt_has(const ad_opt *o, const ad_param *p);

#endif
