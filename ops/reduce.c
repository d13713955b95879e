/* SPDX-License-Identifier: MIT
 * SKELETON: reduce ops, to be written. */
#include "ops.h"


const ad_op_def ad_op_def_sum = {"sum", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_mean = {"mean", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_max = {"max", 1, NULL, NULL, NULL};

ad_tensor ad_sum(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_sum", AD_OP_SUM, &x, 1, NULL);
}

ad_tensor ad_mean(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_mean", AD_OP_MEAN, &x, 1, NULL);
}

ad_tensor ad_max(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_max", AD_OP_MAX, &x, 1, NULL);
}

ad_tensor ad_sum_axis(ad_tensor x, int axis, bool keepdim)
{
    (void)x;
    (void)axis;
    (void)keepdim;
    return ad_op_record("ad_sum_axis", AD_OP_SUM, &x, 1, NULL);
}

ad_tensor ad_mean_axis(ad_tensor x, int axis, bool keepdim)
{
    (void)x;
    (void)axis;
    (void)keepdim;
    return ad_op_record("ad_mean_axis", AD_OP_MEAN, &x, 1, NULL);
}

ad_tensor ad_max_axis(ad_tensor x, int axis, bool keepdim)
{
    (void)x;
    (void)axis;
    (void)keepdim;
    return ad_op_record("ad_max_axis", AD_OP_MAX, &x, 1, NULL);
}
