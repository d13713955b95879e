/* SPDX-License-Identifier: MIT
 * Test helpers for op gradchecks: reduce an op's output to one element as a
 * weighted sum with fixed random weights, so that every output element's
 * gradient matters (a plain sum would hide a gradient sent to the wrong
 * element of the same group). The weights multiply through ad_linear. */
#ifndef AD_TEST_WEIGHTED_H
#define AD_TEST_WEIGHTED_H

#include "common.h"

#include <math.h>

/* sum_i c_i y_i with c uniform on [-1, 1) from seed; shape [1]. */
static inline ad_tensor weighted_sum(ad_tensor y, uint64_t seed)
{
    ad_tape *t = ad_tensor_tape(y);
    size_t n = ad_tensor_numel(y);
    ad_tensor flat = ad_reshape(y, 1, &n);
    ad_tensor c = ad_tensor_uniform(t, ad_tensor_dtype(y), 2, (size_t[]){1, n}, -1.0, 1.0, seed);
    ad_tensor none = {0};
    return ad_sum(ad_linear(flat, c, none));
}

/* Asserts two double arrays agree within abs + rel * |want|. */
#define ASSERT_CLOSE_ARRAY(got, want, n, abs_, rel_)                                             \
    do {                                                                                         \
        for (size_t i_ = 0; i_ < (n); i_++) {                                                    \
            double g_ = (got)[i_], w_ = (want)[i_];                                              \
            cr_assert(fabs(g_ - w_) <= (abs_) + (rel_)*fabs(w_),                                 \
                      "element %zu: got %.17g, want %.17g", i_, g_, w_);                         \
        }                                                                                        \
    } while (0)

#endif
