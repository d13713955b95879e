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
#define ASSERT_GRADCHECK(f, params, n, ctx, opts)                                                \
    do {                                                                                         \
        ad_gradcheck_report r_;                                                                  \
        ad_status s_ = ad_gradcheck_graph((f), (params), (n), (ctx), (opts), &r_);               \
        cr_assert(s_ == AD_OK && r_.passed,                                                      \
                  "%s: status %s; worst input %zu [%zu]: analytic %.10g, numeric %.10g, "        \
                  "abs err %.3g, rel err %.3g (%zu checked)",                                    \
                  #f, ad_status_name(s_), r_.input, r_.index, r_.analytic, r_.numeric,           \
                  r_.abs_err, r_.rel_err, r_.checked);                                           \
        cr_assert(r_.checked > 0 || ad_param_numel((params)[0]) == 0);                           \
    } while (0)

/* Asserts the tape failed with `code` and a message containing `needle`. */
#define ASSERT_TAPE_ERROR(t, code, needle)                                                       \
    do {                                                                                         \
        const char *m_;                                                                          \
        ad_status c_ = ad_tape_error((t), &m_);                                                  \
        cr_assert_eq(c_, (code), "expected %s, got %s (%s)", ad_status_name(code),               \
                     ad_status_name(c_), m_);                                                    \
        cr_assert(strstr(m_, (needle)) != NULL, "message \"%s\" lacks \"%s\"", m_, (needle));    \
    } while (0)

#endif
