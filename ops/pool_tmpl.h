/* SPDX-License-Identifier: MIT
 * The pooling kernels for one dtype, included twice by pool.c with T
 * (float/double) and SUF (f32/f64). Every (image, channel) plane is pooled
 * on its own: x [N C, H, W] -> y [N C, OH, OW]. */

#define CAT_(a, b) a##b
#define CAT(a, b)  CAT_(a, b)
#define FN(name)   CAT(name, SUF)

/* y = the window maximum; arg = its flat index in the plane (H W). The first
 * maximum in row-major window order wins ties; a NaN beats any number, so
 * it propagates. Padding is never a candidate. */
/* Without padding every window is whole: a row of outputs at a time, one
 * tap at a time, as selects over arrays (which the compiler keeps free of
 * jumps; the per-window form became a mispredicted branch per tap). */
static void FN(max_fwd_whole_)(const pool_dims *d, const T *x, T *y, uint32_t *arg)
{
    const size_t W = d->w, ow_n = d->ow, sw = d->sw;
    for (size_t p = 0; p < d->planes; p++) {
        const T *xp = x + p * d->h * W;
        for (size_t oh = 0; oh < d->oh; oh++, y += ow_n, arg += ow_n) {
            const size_t h0 = oh * d->sh;
            const T *r0 = xp + h0 * W;
            for (size_t ow = 0; ow < ow_n; ow++) {
                y[ow] = r0[ow * sw];
                arg[ow] = (uint32_t)(h0 * W + ow * sw);
            }
            for (size_t i = 0; i < d->kh; i++)
                for (size_t j = i == 0; j < d->kw; j++) {
                    const T *r = xp + (h0 + i) * W + j;
                    const uint32_t at0 = (uint32_t)((h0 + i) * W + j);
                    for (size_t ow = 0; ow < ow_n; ow++) {
                        const T v = r[ow * sw], m = y[ow];
                        const bool take = (v > m) | ((v != v) & (m == m));
                        y[ow] = take ? v : m;
                        arg[ow] = take ? at0 + (uint32_t)(ow * sw) : arg[ow];
                    }
                }
        }
    }
}

static void FN(max_fwd_)(const pool_dims *d, const T *x, T *y, uint32_t *arg)
{
    if (d->ph == 0 && d->pw == 0) {
        FN(max_fwd_whole_)(d, x, y, arg);
        return;
    }
    for (size_t p = 0; p < d->planes; p++) {
        const T *xp = x + p * d->h * d->w;
        for (size_t oh = 0; oh < d->oh; oh++) {
            size_t h0, h1;
            pool_window(oh, d->sh, d->ph, d->kh, d->h, &h0, &h1);
            for (size_t ow = 0; ow < d->ow; ow++) {
                size_t w0, w1;
                pool_window(ow, d->sw, d->pw, d->kw, d->w, &w0, &w1);
                uint32_t best = (uint32_t)(h0 * d->w + w0);
                T m = xp[best];
                /* selects, not branches: on real data which tap wins is a
                 * coin toss, and mispredicted jumps cost 3x the loop */
                for (size_t i = h0; i < h1; i++)
                    for (size_t j = w0; j < w1; j++) {
                        const uint32_t at = (uint32_t)(i * d->w + j);
                        const T v = xp[at];
                        /* bitwise, so no operator short-circuits into a jump */
                        const uint32_t take =
                            (uint32_t)(v > m) | ((uint32_t)(v != v) & (uint32_t)(m == m));
                        const uint32_t mask = (uint32_t)0 - take;
                        m = take ? v : m;
                        best = (at & mask) | (best & ~mask);
                    }
                *y++ = m;
                *arg++ = best;
            }
        }
    }
}

static void FN(max_bwd_)(const pool_dims *d, const uint32_t *arg, const T *gy, T *gx)
{
    const size_t out = d->oh * d->ow, in = d->h * d->w;
    for (size_t p = 0; p < d->planes; p++, gx += in)
        for (size_t k = 0; k < out; k++)
            gx[*arg++] += *gy++;
}

/* y = the window sum over its divisor: KH KW, or the elements inside the
 * input when padding is excluded. */
static void FN(avg_fwd_)(const pool_dims *d, const T *x, T *y)
{
    for (size_t p = 0; p < d->planes; p++) {
        const T *xp = x + p * d->h * d->w;
        for (size_t oh = 0; oh < d->oh; oh++) {
            size_t h0, h1;
            pool_window(oh, d->sh, d->ph, d->kh, d->h, &h0, &h1);
            for (size_t ow = 0; ow < d->ow; ow++) {
                size_t w0, w1;
                pool_window(ow, d->sw, d->pw, d->kw, d->w, &w0, &w1);
                T s = (T)0;
                for (size_t i = h0; i < h1; i++)
                    for (size_t j = w0; j < w1; j++)
                        s += xp[i * d->w + j];
                size_t cnt = d->exclude ? (h1 - h0) * (w1 - w0) : d->kh * d->kw;
                *y++ = s / (T)cnt;
            }
        }
    }
}

/* dy/dx = 1 / divisor for each element of the window. */
static void FN(avg_bwd_)(const pool_dims *d, const T *gy, T *gx)
{
    for (size_t p = 0; p < d->planes; p++, gx += d->h * d->w)
        for (size_t oh = 0; oh < d->oh; oh++) {
            size_t h0, h1;
            pool_window(oh, d->sh, d->ph, d->kh, d->h, &h0, &h1);
            for (size_t ow = 0; ow < d->ow; ow++) {
                size_t w0, w1;
                pool_window(ow, d->sw, d->pw, d->kw, d->w, &w0, &w1);
                size_t cnt = d->exclude ? (h1 - h0) * (w1 - w0) : d->kh * d->kw;
                T g = *gy++ / (T)cnt;
                for (size_t i = h0; i < h1; i++)
                    for (size_t j = w0; j < w1; j++)
                        gx[i * d->w + j] += g;
            }
        }
}

/* y [planes] = the plane means; the backward spreads g / (H W) over each. */
static void FN(gap_fwd_)(size_t planes, size_t hw, const T *x, T *y)
{
    for (size_t p = 0; p < planes; p++) {
        double s = 0.0; /* a float sum over a large plane would drift */
        for (size_t i = 0; i < hw; i++)
            s += (double)x[p * hw + i];
        y[p] = (T)(s / (double)hw);
    }
}

static void FN(gap_bwd_)(size_t planes, size_t hw, const T *gy, T *gx)
{
    for (size_t p = 0; p < planes; p++) {
        T g = gy[p] / (T)hw;
        for (size_t i = 0; i < hw; i++)
            gx[p * hw + i] += g;
    }
}

#undef FN
#undef CAT
#undef CAT_
