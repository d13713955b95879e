/* SPDX-License-Identifier: MIT
 * The typed sums and gradients of the losses (loss.c), included once per
 * dtype with T (float or double), SUF (f32 or f64: the vector kernels of
 * src/kernels/vmath.h that T takes) and LOG (logf or log) defined, after
 * CHUNK. Defines the static functions named with a _T suffix (sq_sum_float)
 * and undefines the parameters. */

#define LS_CAT_(a, b) a##b
#define LS_CAT(a, b)  LS_CAT_(a, b)
#define FN(name)      LS_CAT(name, T)   /* a function of this file: sq_sum_float */
#define VK(name)      LS_CAT(name, SUF) /* a vector kernel: ad_vsigmoid_f32 */

/* ---- mse and half_sse */

/* Each loss is a sum of per-element terms times c (1/N or 1/(2B)). The sum
 * runs in double for float32 too: a loss adds up many small terms. */
static double FN(sq_sum_)(const T *a, const T *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        s += d * d;
    }
    return s;
}

/* y = c sum (a - b)^2, so da = 2 c g (a - b) and db = -da; c2 = 2 c g. */
static void FN(sq_backward_)(const T *a, const T *b, T c2, T *ga, T *gb, size_t n)
{
    if (ga)
        for (size_t i = 0; i < n; i++)
            ga[i] += c2 * (a[i] - b[i]);
    if (gb)
        for (size_t i = 0; i < n; i++)
            gb[i] -= c2 * (a[i] - b[i]);
}

/* ---- bce_with_logits: the sum of softplus(z) - z t */

static double FN(bce_sum_)(const T *z, const T *tg, size_t n)
{
    double s = 0.0;
    T sp[CHUNK];
    for (size_t c = 0; c < n; c += CHUNK) {
        size_t len = n - c < CHUNK ? n - c : CHUNK;
        VK(ad_vsoftplus_)(z + c, sp, len);
        for (size_t i = 0; i < len; i++)
            s += (double)(sp[i] - z[c + i] * tg[c + i]);
    }
    return s;
}

/* dl/dz = sigmoid(z) - t and dl/dt = -z; c = g/N. The sigmoid kernel forms
 * it from e = exp(-|z|) <= 1 so it never overflows. */
static void FN(bce_backward_)(const T *z, const T *tg, T c, T *gz, T *gt, size_t n)
{
    T sig[CHUNK];
    if (gz)
        for (size_t b = 0; b < n; b += CHUNK) {
            size_t len = n - b < CHUNK ? n - b : CHUNK;
            VK(ad_vsigmoid_)(z + b, sig, len);
            for (size_t i = 0; i < len; i++)
                gz[b + i] += c * (sig[i] - tg[b + i]);
        }
    if (gt)
        for (size_t i = 0; i < n; i++)
            gt[i] -= c * z[i];
}

/* ---- softmax_cross_entropy */

/* Row b: m = max z, s = sum exp(z - m); the loss term is (m - z[label]) +
 * log s, both parts small even when the logits are huge. */
static double FN(ce_sum_)(const T *z, const int32_t *lab, T *p, size_t B, size_t C)
{
    double total = 0.0;
    T e[CHUNK];
    for (size_t b = 0; b < B; b++) {
        const T *zr = z + b * C;
        T m = VK(ad_vmax_)(zr, C), s = 0;
        if (p) /* e^(z - m) lands in p, then is scaled in place */
            s = VK(ad_vexp_shift_sum_)(zr, m, p + b * C, C);
        else
            for (size_t c = 0; c < C; c += CHUNK)
                s += VK(ad_vexp_shift_sum_)(zr + c, m, e, C - c < CHUNK ? C - c : CHUNK);
        total += (double)((m - zr[lab[b]]) + LOG(s));
        if (p) {
            T *pr = p + b * C, r = 1 / s;
            for (size_t k = 0; k < C; k++)
                pr[k] *= r;
        }
    }
    return total;
}

/* d/dz_b [lse(z_b) - z_b[label]] = softmax(z_b) - onehot(label); cg = g/B. */
static void FN(ce_backward_)(const T *p, const int32_t *lab, T cg, T *gz, size_t B, size_t C)
{
    for (size_t b = 0; b < B; b++) {
        for (size_t k = 0; k < C; k++)
            gz[b * C + k] += cg * p[b * C + k];
        gz[b * C + (size_t)lab[b]] -= cg;
    }
}

#undef FN
#undef VK
#undef LS_CAT
#undef LS_CAT_
#undef T
#undef SUF
#undef LOG
