/* SPDX-License-Identifier: MIT
 * SKELETON: activation ops, to be written. */
#include "ops.h"


const ad_op_def ad_op_def_sigmoid = {"tsigmoid", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_tanh = {"ttanh", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_relu = {"relu", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_leaky_relu = {"leaky_relu", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_softplus = {"softplus", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_swish = {"swish", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_mish = {"mish", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_gelu = {"gelu", 1, NULL, NULL, NULL};

ad_tensor ad_tsigmoid(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_tsigmoid", AD_OP_SIGMOID, &x, 1, NULL);
}

ad_tensor ad_ttanh(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_ttanh", AD_OP_TANH, &x, 1, NULL);
}

ad_tensor ad_relu(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_relu", AD_OP_RELU, &x, 1, NULL);
}

ad_tensor ad_leaky_relu(ad_tensor x, double slope)
{
    (void)x;
    (void)slope;
    return ad_op_record("ad_leaky_relu", AD_OP_LEAKY_RELU, &x, 1, NULL);
}

ad_tensor ad_softplus(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_softplus", AD_OP_SOFTPLUS, &x, 1, NULL);
}

ad_tensor ad_swish(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_swish", AD_OP_SWISH, &x, 1, NULL);
}

ad_tensor ad_mish(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_mish", AD_OP_MISH, &x, 1, NULL);
}

ad_tensor ad_gelu(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_gelu", AD_OP_GELU, &x, 1, NULL);
}
