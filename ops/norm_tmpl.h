/* SPDX-License-Identifier: MIT
 * The kernels of layer_norm and batch_norm (norm.c) for one element type,
 * included once per dtype with T (float or double) and SUF (f32, f64)
 * defined; defines static ln_forward_<SUF>, ln_backward_<SUF>,
 * bn_stats_<SUF>, bn_apply_<SUF>, bn_backward_<SUF> and undefines T and SUF.
 * Sums run in double for both types, in four partial sums: a float sum over
 * the 12544 values of one channel of [64,32,14,14] would lose digits, and
 * one running sum would wait on every add. Statistics are two-pass (the
 * mean, then the squares of x - mean), which never goes negative. */
#include <math.h>
#include <stddef.h>

#define NT_CAT_(a, b) a##b
#define NT_CAT(a, b)  NT_CAT_(a, b)
#define NT_FN(name)   NT_CAT(name, SUF)

/* sum of x[0..n) */
static double NT_FN(sum_)(const T *x, size_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += (double)x[k], s1 += (double)x[k + 1];
        s2 += (double)x[k + 2], s3 += (double)x[k + 3];
    }
    for (; k < n; k++)
        s0 += (double)x[k];
    return (s0 + s2) + (s1 + s3);
}

/* sum of (x - m)^2 over x[0..n) */
static double NT_FN(sumsq_)(const T *x, size_t n, double m)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        double d0 = (double)x[k] - m, d1 = (double)x[k + 1] - m;
        double d2 = (double)x[k + 2] - m, d3 = (double)x[k + 3] - m;
        s0 += d0 * d0, s1 += d1 * d1, s2 += d2 * d2, s3 += d3 * d3;
    }
    for (; k < n; k++) {
        double d = (double)x[k] - m;
        s0 += d * d;
    }
    return (s0 + s2) + (s1 + s3);
}

/* ---- layer_norm over rows of n: y = (x - mean) rstd w + b, rstd = 1/sqrt(var + eps).
 * stats [rows, 2] receives (mean, rstd) per row for the backward. */
static void NT_FN(ln_forward_)(const T *x, const T *w, const T *b, T *y, double *stats, size_t rows,
                               size_t n, double eps)
{
    for (size_t r = 0; r < rows; r++) {
        const T *xr = x + r * n;
        T *yr = y + r * n;
        double mean = n ? NT_FN(sum_)(xr, n) / (double)n : 0.0;
        double var = n ? NT_FN(sumsq_)(xr, n, mean) / (double)n : 0.0;
        double rstd = 1.0 / sqrt(var + eps);
        stats[2 * r] = mean, stats[2 * r + 1] = rstd;
        const T m = (T)mean, s = (T)rstd;
        if (w && b)
            for (size_t j = 0; j < n; j++)
                yr[j] = (xr[j] - m) * s * w[j] + b[j];
        else if (w)
            for (size_t j = 0; j < n; j++)
                yr[j] = (xr[j] - m) * s * w[j];
        else if (b)
            for (size_t j = 0; j < n; j++)
                yr[j] = (xr[j] - m) * s + b[j];
        else
            for (size_t j = 0; j < n; j++)
                yr[j] = (xr[j] - m) * s;
    }
}

/* With xh = (x - mean) rstd and d = dy w (dy where there is no weight):
 * dx = rstd (d - mean(d) - xh mean(d xh)), the fused form of the three
 * paths from x (direct, through the mean, through the variance);
 * dw += sum over rows of dy xh, db += sum over rows of dy. */
static void NT_FN(ln_backward_)(const T *x, const T *w, const T *gy, const double *stats, T *gx,
                                T *gw, T *gb, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++) {
        const T *xr = x + r * n, *gr = gy + r * n;
        const double mean = stats[2 * r], rstd = stats[2 * r + 1];
        const T m = (T)mean, s = (T)rstd;
        if (gx) {
            double sd = 0, sdx = 0; /* sum d, sum d (x - mean) */
            for (size_t j = 0; j < n; j++) {
                double d = w ? (double)gr[j] * (double)w[j] : (double)gr[j];
                sd += d;
                sdx += d * ((double)xr[j] - mean);
            }
            const T a = (T)(sd / (double)n), c = (T)(sdx * rstd / (double)n);
            T *gxr = gx + r * n;
            if (w)
                for (size_t j = 0; j < n; j++)
                    gxr[j] += s * (gr[j] * w[j] - a - (xr[j] - m) * s * c);
            else
                for (size_t j = 0; j < n; j++)
                    gxr[j] += s * (gr[j] - a - (xr[j] - m) * s * c);
        }
        if (gw)
            for (size_t j = 0; j < n; j++)
                gw[j] += gr[j] * (xr[j] - m) * s;
        if (gb)
            for (size_t j = 0; j < n; j++)
                gb[j] += gr[j];
    }
}

/* ---- batch_norm on x [N, C, S] (S the product of the dims after C) */

/* Per channel: the mean and the biased variance over its N S values. */
static void NT_FN(bn_stats_)(const T *x, size_t nb, size_t c, size_t s, double *mean, double *var)
{
    const double cnt = (double)(nb * s);
    for (size_t ch = 0; ch < c; ch++) {
        double sum = 0;
        for (size_t i = 0; i < nb; i++)
            sum += NT_FN(sum_)(x + (i * c + ch) * s, s);
        const double m = sum / cnt;
        double sq = 0;
        for (size_t i = 0; i < nb; i++)
            sq += NT_FN(sumsq_)(x + (i * c + ch) * s, s, m);
        mean[ch] = m, var[ch] = sq / cnt;
    }
}

/* y = (x - mean) a + b per channel with a = rstd w. Not x a + (b - mean a):
 * for a large mean, x a and mean a would cancel in float. stats [C, 2]
 * holds (mean, rstd). */
static void NT_FN(bn_apply_)(const T *x, const T *w, const T *b, const double *stats, T *y,
                             size_t nb, size_t c, size_t s)
{
    for (size_t ch = 0; ch < c; ch++) {
        const double a = stats[2 * ch + 1] * (w ? (double)w[ch] : 1.0);
        const T ta = (T)a, tm = (T)stats[2 * ch], tb = b ? b[ch] : (T)0;
        for (size_t i = 0; i < nb; i++) {
            const T *xr = x + (i * c + ch) * s;
            T *yr = y + (i * c + ch) * s;
            for (size_t j = 0; j < s; j++)
                yr[j] = (xr[j] - tm) * ta + tb;
        }
    }
}

/* Per channel, with xh = (x - mean) rstd over its m = N S values:
 * training: dx = w rstd (dy - mean(dy) - xh mean(dy xh)) (mean and rstd
 * depend on x); evaluation: dx = w rstd dy (running statistics are
 * constants). dw += sum dy xh, db += sum dy in both. */
static void NT_FN(bn_backward_)(const T *x, const T *w, const T *gy, const double *stats, T *gx,
                                T *gw, T *gb, size_t nb, size_t c, size_t s, bool training)
{
    const double cnt = (double)(nb * s);
    for (size_t ch = 0; ch < c; ch++) {
        const double mean = stats[2 * ch], rstd = stats[2 * ch + 1];
        double sg = 0, sgx = 0; /* sum dy, sum dy (x - mean) */
        for (size_t i = 0; i < nb; i++) {
            const T *xr = x + (i * c + ch) * s, *gr = gy + (i * c + ch) * s;
            for (size_t j = 0; j < s; j++) {
                sg += (double)gr[j];
                sgx += (double)gr[j] * ((double)xr[j] - mean);
            }
        }
        const double wc = w ? (double)w[ch] : 1.0;
        if (gw) gw[ch] += (T)(sgx * rstd);
        if (gb) gb[ch] += (T)sg;
        if (!gx) continue;
        /* dx = p dy + q (x - mean) + r: the mean and xh terms folded into
         * per-channel constants */
        const double p = wc * rstd;
        const double q = training ? -p * rstd * rstd * sgx / cnt : 0.0;
        const double r = training ? -p * sg / cnt : 0.0;
        const T tp = (T)p, tq = (T)q, tr = (T)r, tm = (T)mean;
        for (size_t i = 0; i < nb; i++) {
            const T *xr = x + (i * c + ch) * s, *gr = gy + (i * c + ch) * s;
            T *gxr = gx + (i * c + ch) * s;
            for (size_t j = 0; j < s; j++)
                gxr[j] += tp * gr[j] + tq * (xr[j] - tm) + tr;
        }
    }
}

#undef NT_FN
#undef NT_CAT
#undef NT_CAT_
#undef T
#undef SUF
