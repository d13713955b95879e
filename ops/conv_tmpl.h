/* SPDX-License-Identifier: MIT
 * The convolution kernels for one dtype, included twice by conv.c with T
 * (float/double), SUF (f32/f64), GEMM (ad_gemm_f32/f64) and SMALL
 * (ad_small_gemm_f32/f64): im2col and its adjoint col2im, and the parts of
 * the forward and backward passes that conv.c hands to the thread pool,
 * each a band of images of the batch. */

#define CAT_(a, b) a##b
#define CAT(a, b)  CAT_(a, b)
#define FN(name)   CAT(name, SUF)

/* C [m,n] = op(A) op(B) (+ C when acc), row-major; the small path for tiny
 * products (a 1-channel first layer), the blocked GEMM for the rest. */
static void FN(mm_)(bool ta, bool tb, size_t m, size_t n, size_t k, const T *a, size_t lda,
                    const T *b, size_t ldb, bool acc, T *c, size_t ldc)
{
    if (m == 0 || n == 0) return;
    if (k == 0) {
        if (!acc)
            for (size_t i = 0; i < m; i++)
                memset(c + i * ldc, 0, n * sizeof(T));
        return;
    }
    if (ad_small_gemm_fits(m, n, k, sizeof(T)))
        SMALL(ta, tb, m, n, k, a, lda, b, ldb, acc, c, ldc);
    else
        GEMM(ta, tb, m, n, k, (T)1, a, lda, b, ldb, acc ? (T)1 : (T)0, c, ldc);
}

/* cols [C KH KW, OH OW] (rows ld apart) from one image x [C,H,W]: row
 * (c, ki, kj), column (oh, ow) holds x[c, oh sh - ph + ki dh, ow sw - pw +
 * kj dw], 0 in the padding. Each row is a run of zeros, a copy and zeros
 * per output row. */
static void FN(im2col_)(const conv_dims *d, const T *x, T *cols, size_t ld)
{
    for (size_t c = 0; c < d->c; c++)
        for (size_t ki = 0; ki < d->kh; ki++)
            for (size_t kj = 0; kj < d->kw; kj++) {
                T *row = cols + ((c * d->kh + ki) * d->kw + kj) * ld;
                const T *xc = x + c * d->h * d->w;
                size_t ow0, ow1;
                conv_range(d->ow, d->sw, kj * d->dw, d->pw, d->w, &ow0, &ow1);
                for (size_t oh = 0; oh < d->oh; oh++) {
                    T *r = row + oh * d->ow;
                    size_t ih = oh * d->sh + ki * d->dh; /* + ph: padded coordinates */
                    if (ih < d->ph || ih - d->ph >= d->h || ow0 >= ow1) {
                        memset(r, 0, d->ow * sizeof(T));
                        continue;
                    }
                    /* x row ih - ph; column ow sw + kj dw - pw >= 0 for ow >= ow0 */
                    const T *xr = xc + (ih - d->ph) * d->w;
                    size_t iw0 = ow0 * d->sw + kj * d->dw - d->pw;
                    for (size_t ow = 0; ow < ow0; ow++)
                        r[ow] = (T)0;
                    if (d->sw == 1)
                        memcpy(r + ow0, xr + iw0, (ow1 - ow0) * sizeof(T));
                    else
                        for (size_t ow = ow0, iw = iw0; ow < ow1; ow++, iw += d->sw)
                            r[ow] = xr[iw];
                    for (size_t ow = ow1; ow < d->ow; ow++)
                        r[ow] = (T)0;
                }
            }
}

/* The adjoint of im2col: gx [C,H,W] += each column entry at the pixel it
 * was read from (padding entries are dropped). */
static void FN(col2im_)(const conv_dims *d, const T *cols, size_t ld, T *gx)
{
    for (size_t c = 0; c < d->c; c++)
        for (size_t ki = 0; ki < d->kh; ki++)
            for (size_t kj = 0; kj < d->kw; kj++) {
                const T *row = cols + ((c * d->kh + ki) * d->kw + kj) * ld;
                T *gc = gx + c * d->h * d->w;
                size_t ow0, ow1;
                conv_range(d->ow, d->sw, kj * d->dw, d->pw, d->w, &ow0, &ow1);
                if (ow0 >= ow1) continue;
                for (size_t oh = 0; oh < d->oh; oh++) {
                    size_t ih = oh * d->sh + ki * d->dh;
                    if (ih < d->ph || ih - d->ph >= d->h) continue;
                    const T *r = row + oh * d->ow;
                    T *gr = gc + (ih - d->ph) * d->w;
                    size_t iw0 = ow0 * d->sw + kj * d->dw - d->pw;
                    if (d->sw == 1)
                        for (size_t ow = ow0; ow < ow1; ow++)
                            gr[iw0 + ow - ow0] += r[ow];
                    else
                        for (size_t ow = ow0, iw = iw0; ow < ow1; ow++, iw += d->sw)
                            gr[iw] += r[ow];
                }
            }
}

/* Forward, images [n0, n1): y_n [OC, OH OW] = w [OC, C KH KW] . cols_n per
 * group (w_g [OC/G, Kg] . cols_n,g [Kg, OH OW]), plus the bias. Up to
 * J->chunk images are unrolled side by side into one [C KH KW, m OH OW]
 * matrix, so each GEMM is wide enough to run near its peak; the product
 * [OC, m OH OW] then moves to the images' NCHW places with the bias. */
static void FN(fwd_images_)(const conv_job *J, size_t n0, size_t n1, T *scratch)
{
    const conv_dims *d = &J->d;
    const size_t ohw = d->oh * d->ow, kg = d->c / d->g * d->kh * d->kw, ocg = d->oc / d->g;
    const size_t xsz = d->c * d->h * d->w;
    const T *x = J->x, *w = J->w, *bias = J->bias;
    T *y = J->y;
    for (size_t n = n0; n < n1; n += J->chunk) {
        const size_t m = n1 - n < J->chunk ? n1 - n : J->chunk, p = m * ohw;
        const T *cols = x + n * xsz;
        if (!d->direct)
            for (size_t j = 0; j < m; j++)
                FN(im2col_)(d, x + (n + j) * xsz, scratch + j * ohw, p);
        if (!d->direct) cols = scratch;
        T *out = m == 1 ? y + n * d->oc * ohw : scratch + J->cols_len;
        if (m == 1 && bias)
            for (size_t o = 0; o < d->oc; o++)
                for (size_t k = 0; k < ohw; k++)
                    out[o * ohw + k] = bias[o];
        for (size_t g = 0; g < d->g; g++)
            FN(mm_)
        (false, false, ocg, p, kg, w + g * ocg * kg, kg, cols + g * kg * p, p, m == 1 && bias,
         out + g * ocg * p, p);
        if (m == 1) continue;
        for (size_t j = 0; j < m; j++)
            for (size_t o = 0; o < d->oc; o++) {
                T *yo = y + ((n + j) * d->oc + o) * ohw;
                const T *src = out + o * p + j * ohw, b = bias ? bias[o] : (T)0;
                for (size_t k = 0; k < ohw; k++)
                    yo[k] = src[k] + b;
            }
    }
}

static void FN(fwd_part_)(void *ctx, size_t i, size_t parts)
{
    const conv_job *J = ctx;
    size_t n0, n1;
    conv_band(J->d.n, i, parts, &n0, &n1);
    FN(fwd_images_)(J, n0, n1, (T *)J->scratch + i * J->scratch_len);
}

/* Backward, images [n0, n1), chunked as the forward, with dL/dy of a
 * chunk gathered into gc [OC, m OH OW] (per group [OC/G, m OH OW]):
 *   dw_g += gc_g . cols_g^T        [OC/G, Kg]  (into gw, this part's sum)
 *   db   += row sums of gc         [OC]
 *   dcols = w_g^T . gc_g           [Kg, m OH OW], then col2im into each dx_n.
 * The unroll buffer serves as cols, then as dcols. Direct (1x1) convolutions
 * take one image at a time, reading x and adding into dx in place. */
static void FN(bwd_images_)(const conv_job *J, size_t n0, size_t n1, T *scratch, T *gw, T *gb)
{
    const conv_dims *d = &J->d;
    const size_t ohw = d->oh * d->ow, kg = d->c / d->g * d->kh * d->kw, ocg = d->oc / d->g;
    const size_t xsz = d->c * d->h * d->w;
    const T *x = J->x, *w = J->w, *gy = J->gy;
    T *gx = J->gx;
    for (size_t n = n0; n < n1; n += J->chunk) {
        const size_t m = n1 - n < J->chunk ? n1 - n : J->chunk, p = m * ohw;
        const T *gc = gy + n * d->oc * ohw;
        if (m > 1) {
            T *buf = scratch + J->cols_len;
            for (size_t j = 0; j < m; j++)
                for (size_t o = 0; o < d->oc; o++)
                    memcpy(buf + o * p + j * ohw, gy + ((n + j) * d->oc + o) * ohw,
                           ohw * sizeof(T));
            gc = buf;
        }
        if (gb)
            for (size_t o = 0; o < d->oc; o++) {
                T s = (T)0;
                for (size_t k = 0; k < p; k++)
                    s += gc[o * p + k];
                gb[o] += s;
            }
        if (gw) {
            const T *cols = x + n * xsz;
            if (!d->direct) {
                for (size_t j = 0; j < m; j++)
                    FN(im2col_)(d, x + (n + j) * xsz, scratch + j * ohw, p);
                cols = scratch;
            }
            for (size_t g = 0; g < d->g; g++)
                FN(mm_)
            (false, true, ocg, kg, p, gc + g * ocg * p, p, cols + g * kg * p, p, true,
             gw + g * ocg * kg, kg);
        }
        if (gx) {
            T *gxn = gx + n * xsz;
            for (size_t g = 0; g < d->g; g++)
                FN(mm_)
            (true, false, kg, p, ocg, w + g * ocg * kg, kg, gc + g * ocg * p, p, d->direct,
             d->direct ? gxn + g * kg * p : scratch + g * kg * p, p);
            if (!d->direct)
                for (size_t j = 0; j < m; j++)
                    FN(col2im_)(d, scratch + j * ohw, p, gx + (n + j) * xsz);
        }
    }
}

/* Part i's band of images; part 0 adds into gw and gb themselves, the others
 * into their own zeroed sums, which conv.c adds in once all parts are done. */
static void FN(bwd_part_)(void *ctx, size_t i, size_t parts)
{
    const conv_job *J = ctx;
    size_t n0, n1;
    conv_band(J->d.n, i, parts, &n0, &n1);
    T *gw = J->gw, *gb = J->gb;
    if (i > 0) {
        T *sum = (T *)J->sums + (i - 1) * J->sum_len;
        memset(sum, 0, J->sum_len * sizeof(T));
        gw = gw ? sum : NULL;
        gb = gb ? sum + J->d.oc * (J->d.c / J->d.g) * J->d.kh * J->d.kw : NULL;
    }
    FN(bwd_images_)(J, n0, n1, (T *)J->scratch + i * J->scratch_len, gw, gb);
}

/* gw, gb += the other parts' sums. */
static void FN(add_sums_)(const conv_job *J, size_t parts)
{
    const size_t wn = J->d.oc * (J->d.c / J->d.g) * J->d.kh * J->d.kw;
    T *gw = J->gw, *gb = J->gb;
    for (size_t i = 1; i < parts; i++) {
        const T *sum = (const T *)J->sums + (i - 1) * J->sum_len;
        if (gw)
            for (size_t j = 0; j < wn; j++)
                gw[j] += sum[j];
        if (gb)
            for (size_t j = 0; j < J->d.oc; j++)
                gb[j] += sum[wn + j];
    }
}

#undef FN
#undef CAT
#undef CAT_
