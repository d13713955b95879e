/* SPDX-License-Identifier: MIT
 * Helpers shared inside the MLP client. Like the rest of src/nn/ this uses
 * only the public headers; nothing here is exported. */
#ifndef AD_NN_UTIL_H
#define AD_NN_UTIL_H

#include "adtape/nn.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define AD_NN_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define AD_NN_PRINTF(fmt, first)
#endif

/* A value as messages print it: the sign of a NaN means nothing and differs
 * between machines (and under valgrind), so every NaN prints as "nan". */
static inline double ad_nn_shown(double v)
{
    return isnan(v) ? fabs(v) : v;
}

/* n zeroed elements of size bytes from ad_alloc (free with ad_free), or NULL
 * when memory runs out or n * size overflows. */
void *ad_nn_calloc(size_t n, size_t size);

/* printf into ad_last_error (through ad_set_last_error). */
void ad_nn_errf(const char *fmt, ...) AD_NN_PRINTF(1, 2);

/* Whether every one of the n labels is a class in [0, classes); if not, the
 * first offender into ad_last_error, as "<fn>: <what>label L of sample I is not in
 * [0, C)". */
bool ad_nn_labels_ok(const int32_t *labels, size_t n, size_t classes, const char *fn,
                     const char *what);

/* Fails t with code and a printf message (start it with the public
 * function's name) and returns an invalid handle that carries t, so a sweep
 * from it reports t's error. An already failed t keeps its state; with a
 * NULL t the message goes to ad_last_error. */
ad_tensor ad_nn_fail(ad_tape *t, ad_status code, const char *fmt, ...) AD_NN_PRINTF(3, 4);

/* x's shape as "[4,3]" into buf (AD_NN_SHAPE_LEN bytes); "[]" for an invalid
 * handle. Returns buf. */
#define AD_NN_SHAPE_LEN 96
const char *ad_nn_shape_str(ad_tensor x, char *buf);

/* Whether o updates p (optim.c: the optimizer's parameter list is private). */
bool ad_nn_opt_has(const ad_opt *o, const ad_param *p);
/* The parameters o updates, in its order; the array belongs to o. */
ad_param *const *ad_nn_opt_params(const ad_opt *o, size_t *n);
/* The largest weight decay o applies to any of its parameters (its groups'
 * and cfg.weight_decay): the guard's bound must cover every group. */
double ad_nn_opt_max_decay(const ad_opt *o);

/* ---- non-finite values (the training loops stop at the first) */

/* The index of the first NaN or Inf among n values of dtype dt, or SIZE_MAX
 * when all are finite. Scans at the speed of memory: it runs on every
 * gradient after every step. */
size_t ad_nn_first_nonfinite(const void *v, ad_dtype dt, size_t n);
/* The sum of |x| over n values of dtype dt, a bound on the largest |x| in
 * one vectorised pass: NaN or Inf when a value is not finite, Inf too when
 * the sum overflows (ad_nn_first_nonfinite tells which). */
double ad_nn_abs_sum(const void *v, ad_dtype dt, size_t n);
/* The same over a parameter's values, or its gradient when grad is true. */
size_t ad_nn_param_nonfinite(ad_param *p, bool grad);
/* Element i of a parameter's values as a double. */
double ad_nn_param_at(ad_param *p, size_t i);
/* Rows idx[0..b) of src [*, cols] (rows 0..b when idx is NULL): the first
 * row holding a NaN or Inf, as its index in src and its column; false when
 * all are finite. */
bool ad_nn_rows_nonfinite(const float *src, size_t cols, const size_t *idx, size_t b, size_t *row,
                          size_t *col);
/* "layer 2 weights", "layer 1 bias", "layer 3 projection", "output layer
 * weights": what parameter k of ad_nn_params(m) is, into buf. Returns buf. */
#define AD_NN_PARAM_NAME_LEN 64
const char *ad_nn_param_name(const ad_nn *m, size_t k, char *buf);

/* ---- the training loop's guard (guard.c) */

/* Bounds on |w|, |m| and |v| over an optimizer's parameters and state
 * (valid when `known`), on |g| from the last scan (Inf: finite but too
 * large to bound), and a buffer for what a step writes. */
typedef struct ad_nn_guard {
    unsigned char *saved;
    bool known;
    double w, m, v, g;
} ad_nn_guard;

/* false: out of memory. */
bool ad_nn_guard_init(ad_nn_guard *gd, const ad_opt *o);
void ad_nn_guard_free(ad_nn_guard *gd);
/* Scans the gradients of o's parameters: the index (in o's list) of the
 * first with a NaN or Inf, its element in *elem; SIZE_MAX when all are
 * finite. */
size_t ad_nn_guard_grads(ad_nn_guard *gd, const ad_opt *o, size_t *elem);
/* ad_opt_step, after a scan that found the gradients finite. false when the
 * step left a NaN or Inf: it is undone, and *bad is the item (o's
 * parameters, then ad_opt_state's entries), *elem and *value where. */
bool ad_nn_guard_step(ad_nn_guard *gd, ad_opt *o, size_t *bad, size_t *elem, double *value);

#endif
