/* SPDX-License-Identifier: MIT
 * e^(-k|x|) over an array (activation.c), included once per instantiation
 * with T (float or double), SUF (f32 or f64: the vector exp T takes) and K
 * (1 or 2) defined, after <tgmath.h> (fabs of T). Defines static
 * exp_neg_abs<K>_<SUF> (exp_neg_abs1_f32) and undefines the parameters. */

#define EN_CAT_(a, b) a##b
#define EN_CAT(a, b)  EN_CAT_(a, b)

static void EN_CAT(EN_CAT(exp_neg_abs, K), EN_CAT(_, SUF))(const T *x, T *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = -(T)K * fabs(x[i]);
    EN_CAT(ad_vexp_, SUF)(y, y, n);
}

#undef EN_CAT
#undef EN_CAT_
#undef T
#undef SUF
#undef K
