/* SPDX-License-Identifier: MIT
 * Numerical edge cases: losses and log-softmax of huge logits stay finite,
 * the activations do not overflow in their tails, and division by zero and
 * log of zero give IEEE results, which anomaly mode catches and names. */
#include "common.h"

#include <math.h>

Test(numeric, anomaly_messages_start_with_the_public_function_like_every_other_error)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_anomaly(t, true);
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){1, 0});
    ad_tensor y = ad_tlog(x);
    cr_assert(!ad_tensor_ok(y));
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_tlog: anomaly in the forward sweep: op tlog");
    ad_tape_reset(t);
    x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){0, 4});
    cr_assert_eq(ad_backward(ad_sum(ad_tsqrt(x))), AD_ERR_NUMERIC);
    ASSERT_TAPE_ERROR(t, AD_ERR_NUMERIC, "ad_backward: anomaly in the backward sweep: op tsqrt");
    ad_tape_free(t);
}
