/* SPDX-License-Identifier: MIT
 * Helpers shared by the Criterion tests: random float64 parameters and an
 * assertion that runs ad_gradcheck_graph and prints the worst element. */
#ifndef AD_TEST_COMMON_H
#define AD_TEST_COMMON_H

#include "adtape.h"

#include <criterion/criterion.h>
#include <string.h>

/* A float64 parameter of the given shape, uniform on [lo, hi) from seed. */
static inline ad_param *test_param(size_t ndim, const size_t *dims, double lo, double hi,
                                   uint64_t seed)
{
    ad_param *p = ad_param_new(AD_F64, ndim, dims);
    cr_assert_not_null(p);
    ad_param_uniform(p, lo, hi, seed);
    return p;
}

/* Gradchecks f over params and fails the test with the worst element. */
#define ASSERT_GRADCHECK(f, params, n, ctx, opts)                                                  \
    do {                                                                                           \
        ad_gradcheck_report r_;                                                                    \
        ad_status s_ = ad_gradcheck_graph((f), (params), (n), (ctx), (opts), &r_);                 \
        cr_assert(s_ == AD_OK && r_.passed,                                                        \
                  "%s: status %s (%s); worst input %zu [%zu]: analytic %.10g, numeric %.10g, "     \
                  "abs err %.3g, rel err %.3g (%zu checked)",                                      \
                  #f, ad_status_name(s_), ad_last_error(), r_.input, r_.index, r_.analytic,        \
                  r_.numeric, r_.abs_err, r_.rel_err, r_.checked);                                 \
        cr_assert(r_.checked > 0 || ad_param_numel((params)[0]) == 0);                             \
    } while (0)

/* Asserts the tape failed with `code` and a message containing `needle`. */
#define ASSERT_TAPE_ERROR(t, code, needle)                                                         \
    do {                                                                                           \
        const char *m_;                                                                            \
        ad_status c_ = ad_tape_error((t), &m_);                                                    \
        cr_assert_eq(c_, (code), "expected %s, got %s (%s)", ad_status_name(code),                 \
                     ad_status_name(c_), m_);                                                      \
        cr_assert(strstr(m_, (needle)) != NULL, "message \"%s\" lacks \"%s\"", m_, (needle));      \
    } while (0)

/* A fixed pseudo-random weight in [0.5, 1.5) for element i. */
static inline double test_weight(size_t i)
{
    return 0.5 + (double)((i * 2654435761u + 12345u) % 1000u) / 1000.0;
}

/* Reduces x to a [1] float64 tensor, sum_i test_weight(i) x_i, through the
 * scalar bridge (so it needs no tensor reduction op): each element becomes a
 * scalar (ad_tensor_to_scalar), is weighted so that every element's gradient
 * matters and a wrong index shows, and the sum is stacked back into a tensor
 * (ad_stack_scalars). An empty x gives the constant [1] zero; an invalid x
 * or a failed tape gives an invalid handle. Use it to end an ad_graph_fn. */
static inline ad_tensor test_weighted_sum(ad_tensor x)
{
    ad_tape *t = ad_tensor_tape(x);
    size_t n = ad_tensor_numel(x);
    ad_scalar s = ad_constant(t, 0.0);
    for (size_t i = 0; i < n; i++)
        s = ad_add(s, ad_mul(ad_tensor_to_scalar(x, i), ad_constant(t, test_weight(i))));
    return ad_stack_scalars(&s, 1, 1, (size_t[]){1});
}

/* The tape's error message, for assertion messages ("" when none). */
static inline const char *test_tape_msg(const ad_tape *t)
{
    const char *m = NULL;
    ad_tape_error(t, &m);
    return m ? m : "";
}

#endif
