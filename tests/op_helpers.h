/* SPDX-License-Identifier: MIT
 * Helpers for the op tests: a weighted sum that reduces an op's output to
 * one element for gradchecks, tensors built from double arrays in either
 * dtype, shared random inputs, and an array comparison. */
#ifndef AD_TEST_OP_HELPERS_H
#define AD_TEST_OP_HELPERS_H

#include "common.h"

#include <math.h>
#include <stdlib.h>

/* sum_i c_i y_i with c uniform on [-1, 1) from seed, shape [1]: random
 * weights make every output element's gradient matter (a plain sum would
 * hide a gradient sent to the wrong element of the same group). */
static inline ad_tensor weighted_sum(ad_tensor y, uint64_t seed)
{
    ad_tape *t = ad_tensor_tape(y);
    size_t n = ad_tensor_numel(y);
    ad_tensor flat = ad_reshape(y, 1, &n);
    ad_tensor c = ad_tensor_uniform(t, ad_tensor_dtype(y), 2, (size_t[]){1, n}, -1.0, 1.0, seed);
    ad_tensor none = {0};
    return ad_sum(ad_linear(flat, c, none));
}

/* A tensor of dtype dt holding v (doubles), as a variable or a constant. */
static inline ad_tensor tensor_from(ad_tape *t, ad_dtype dt, size_t nd, const size_t *dims,
                                    const double *v, bool variable)
{
    size_t n = 1;
    for (size_t d = 0; d < nd; d++)
        n *= dims[d];
    void *buf = malloc((n ? n : 1) * sizeof(double));
    cr_assert_not_null(buf);
    for (size_t i = 0; i < n; i++) {
        if (dt == AD_F32)
            ((float *)buf)[i] = (float)v[i];
        else
            ((double *)buf)[i] = v[i];
    }
    ad_tensor x =
        variable ? ad_tensor_variable(t, dt, nd, dims, buf) : ad_tensor_new(t, dt, nd, dims, buf);
    free(buf);
    return x;
}

/* n doubles uniform on [-1, 1), rounded to float so both dtypes see the same inputs. */
static inline double *random_values(size_t n, uint64_t seed)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    cr_assert_not_null(v);
    ad_tape *t = ad_tape_new();
    ad_tensor r = ad_tensor_uniform(t, AD_F64, 1, (size_t[]){n ? n : 1}, -1.0, 1.0, seed);
    const double *rv = ad_tensor_data(r);
    for (size_t i = 0; i < n; i++)
        v[i] = (double)(float)rv[i];
    ad_tape_free(t);
    return v;
}

static inline void grad_as_double(ad_tensor x, double *out)
{
    const void *g = ad_tensor_grad(x);
    cr_assert_not_null(g);
    for (size_t i = 0; i < ad_tensor_numel(x); i++)
        out[i] =
            ad_tensor_dtype(x) == AD_F32 ? (double)((const float *)g)[i] : ((const double *)g)[i];
}

/* A gradcheck case for the linear layers (ad_linear, ad_linear_relu):
 * x of xnd dims, weights w [out, in], a bias [out] when `bias`; the op's
 * output goes through weighted_sum so every element counts. */
typedef struct linear_case {
    size_t xnd;
    size_t x[2], w[2];
    bool bias;
} linear_case;
typedef ad_tensor (*linear_op)(ad_tensor x, ad_tensor w, ad_tensor b);

typedef struct linear_graph_ctx {
    linear_case c;
    linear_op op;
} linear_graph_ctx;

static inline ad_tensor linear_case_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    const linear_graph_ctx *g = ctx;
    ad_tensor none = {0};
    ad_tensor b = g->c.bias ? ad_param_use(t, p[2]) : none;
    return weighted_sum(g->op(ad_param_use(t, p[0]), ad_param_use(t, p[1]), b), 13);
}

/* Inputs on [-1, 1): for linear_relu about half the outputs are clipped,
 * none sits on the kink. */
static inline void check_linear_case(linear_op op, linear_case c)
{
    ad_param *p[3] = {test_param(c.xnd, c.x, -1, 1, 4), test_param(2, c.w, -1, 1, 5),
                      test_param(1, c.w, -1, 1, 6)};
    linear_graph_ctx g = {c, op};
    ASSERT_GRADCHECK(linear_case_graph, p, c.bias ? 3 : 2, &g, NULL);
    for (int k = 0; k < 3; k++)
        ad_param_free(p[k]);
}

/* Asserts two double arrays agree within abs + rel * |want|. */
#define ASSERT_CLOSE_ARRAY(got, want, n, abs_, rel_)                                               \
    do {                                                                                           \
        for (size_t i_ = 0; i_ < (n); i_++) {                                                      \
            double g_ = (got)[i_], w_ = (want)[i_];                                                \
            cr_assert(fabs(g_ - w_) <= (abs_) + (rel_)*fabs(w_),                                   \
                      "element %zu: got %.17g, want %.17g", i_, g_, w_);                           \
        }                                                                                          \
    } while (0)

#endif
