/* SPDX-License-Identifier: MIT
 * SKELETON: unary ops, to be written. */
#include "ops.h"


const ad_op_def ad_op_def_neg = {"tneg", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_exp = {"texp", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_log = {"tlog", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_sqrt = {"tsqrt", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_square = {"tsquare", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_abs = {"tabs", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_scale = {"tscale", 1, NULL, NULL, NULL};

const ad_op_def ad_op_def_addc = {"taddc", 1, NULL, NULL, NULL};

ad_tensor ad_tneg(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_tneg", AD_OP_NEG, &x, 1, NULL);
}

ad_tensor ad_texp(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_texp", AD_OP_EXP, &x, 1, NULL);
}

ad_tensor ad_tlog(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_tlog", AD_OP_LOG, &x, 1, NULL);
}

ad_tensor ad_tsqrt(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_tsqrt", AD_OP_SQRT, &x, 1, NULL);
}

ad_tensor ad_tsquare(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_tsquare", AD_OP_SQUARE, &x, 1, NULL);
}

ad_tensor ad_tabs(ad_tensor x)
{
    (void)x;
    return ad_op_record("ad_tabs", AD_OP_ABS, &x, 1, NULL);
}

ad_tensor ad_tscale(ad_tensor x, double c)
{
    (void)x;
    (void)c;
    return ad_op_record("ad_tscale", AD_OP_SCALE, &x, 1, NULL);
}

ad_tensor ad_taddc(ad_tensor x, double c)
{
    (void)x;
    (void)c;
    return ad_op_record("ad_taddc", AD_OP_ADDC, &x, 1, NULL);
}
