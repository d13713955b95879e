/* SPDX-License-Identifier: MIT
 * SKELETON: matmul ops, to be written. */
#include "ops.h"


const ad_op_def ad_op_def_matmul = {"matmul", 2, NULL, NULL, NULL};

const ad_op_def ad_op_def_linear = {"linear", 3, NULL, NULL, NULL};

ad_tensor ad_matmul(ad_tensor a, ad_tensor b)
{
    (void)a;
    (void)b;
    return ad_op_record("ad_matmul", AD_OP_MATMUL, &a, 1, NULL);
}

ad_tensor ad_linear(ad_tensor x, ad_tensor w, ad_tensor bias)
{
    (void)x;
    (void)w;
    (void)bias;
    return ad_op_record("ad_linear", AD_OP_LINEAR, &x, 1, NULL);
}
