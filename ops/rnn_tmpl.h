/* SPDX-License-Identifier: MIT
 * The recurrent ops' kernels for one element type: a time step of the Elman
 * (tanh) and GRU cells over the hidden units [j0, j1), forward and backward,
 * and a column sum. Included by rnn.c once per dtype with T (the element
 * type), SUF (f32/f64), GEMM (a gemm helper of that type), VSIG and VTANH
 * (the vector sigmoid and tanh of src/kernels/vmath.h) defined; it undefines
 * nothing, the includer does. Shapes: x [T,B,In], h [B,H], gates [T,B,G H]
 * with G = 1 (Elman) or 3 (GRU, PyTorch's order r, z, n). */

#define RNN_CAT2_(a, b) a##_##b
#define RNN_CAT_(a, b)  RNN_CAT2_(a, b)
#define FN(name)        RNN_CAT_(name, SUF)

/* The hidden state before step t: h0 at t = 0, else the output of step t-1. */
static const T *FN(h_prev)(const rnn_seq *s, size_t t)
{
    return t ? (const T *)s->y + (t - 1) * s->B * s->H : (const T *)s->h0;
}

/* Elman, step t, units [j0, j1): y[t] holds x W_ih^T + b_ih + b_hh (rnn.c
 * fills it for all steps at once); add h W_hh^T and take tanh. */
static void FN(elman_fwd)(const rnn_seq *s, size_t t, size_t j0, size_t j1)
{
    size_t B = s->B, H = s->H, w = j1 - j0;
    T *y = (T *)s->y + t * B * H;
    GEMM(false, false, B, w, H, FN(h_prev)(s, t), H, (const T *)s->w_hh_t + j0, H, true, y + j0, H);
    for (size_t b = 0; b < B; b++)
        VTANH(y + b * H + j0, y + b * H + j0, w);
}

/* h_t = tanh(a_t): da_t = (dy_t + dh_t) (1 - h_t^2), where the carried
 * dh_t = da_{t+1} W_hh reaches step t through h_t's use at step t+1. */
static void FN(elman_bwd)(const rnn_seq *s, size_t t, size_t j0, size_t j1)
{
    size_t B = s->B, H = s->H, w = j1 - j0;
    T *carry = s->carry, *da = (T *)s->dgi + t * B * H;
    const T *y = (const T *)s->y + t * B * H, *gy = (const T *)s->gy + t * B * H;
    if (t + 1 < s->steps)
        GEMM(false, false, B, w, H, da + B * H, H, (const T *)s->w_hh + j0, H, false, carry + j0,
             H);
    else
        for (size_t b = 0; b < B; b++)
            for (size_t j = j0; j < j1; j++)
                carry[b * H + j] = 0;
    for (size_t b = 0; b < B; b++)
        for (size_t j = j0; j < j1; j++) {
            size_t i = b * H + j;
            da[i] = (gy[i] + carry[i]) * ((T)1 - y[i] * y[i]);
        }
}

/* GRU, step t, units [j0, j1). g[t] holds x W_ih^T + b_ih, plus b_hh in the
 * r and z columns (rnn.c fills it for all steps); with gh = h W_hh^T + b_hh:
 *   r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z),
 *   n = tanh(gi_n + r hn) with hn = gh_n, h' = (1 - z) n + z h.
 * g[t] is overwritten by (r, z, n) and hn[t] keeps hn: all the backward
 * needs besides h. */
static void FN(gru_fwd)(const rnn_seq *s, size_t t, size_t j0, size_t j1)
{
    size_t B = s->B, H = s->H, H3 = 3 * H, w = j1 - j0;
    const T *h = FN(h_prev)(s, t), *bhh = s->b_hh;
    T *g = (T *)s->g + t * B * H3, *hn = (T *)s->hn + t * B * H, *y = (T *)s->y + t * B * H;
    /* the band's three gates in one product: columns [3 j0, 3 j1) of the
     * permuted w_hh^T (gru_weights) are its r, z and n units side by side */
    T *gh = (T *)s->gh + 3 * j0;
    GEMM(false, false, B, 3 * w, H, h, H, (const T *)s->w_hh_t + 3 * j0, H3, false, gh, H3);
    for (size_t b = 0; b < B; b++) {
        T *restrict r = g + b * H3, *restrict z = r + H, *restrict n = r + 2 * H;
        T *restrict hnb = hn + b * H;
        const T *restrict hb = h + b * H, *restrict ghb = gh + b * H3;
        T *restrict yb = y + b * H;
        for (size_t j = j0; j < j1; j++) {
            r[j] += ghb[j - j0];
            z[j] += ghb[w + j - j0];
            hnb[j] = ghb[2 * w + j - j0] + (bhh ? bhh[2 * H + j] : (T)0);
        }
        VSIG(r + j0, r + j0, w);
        VSIG(z + j0, z + j0, w);
        for (size_t j = j0; j < j1; j++)
            n[j] += r[j] * hnb[j];
        VTANH(n + j0, n + j0, w);
        for (size_t j = j0; j < j1; j++)
            yb[j] = n[j] + z[j] * (hb[j] - n[j]);
    }
}

/* GRU: w_hh [3H,H] transposed into wt [H,3H] with its columns permuted so
 * that band [j0, j1) of the parts the steps run in holds the band's r, z
 * and n units side by side, in columns [3 j0, 3 j1): each step of a band
 * is then one product (gru_fwd). */
static void FN(gru_weights)(T *wt, const T *w, size_t H, size_t parts)
{
    size_t H3 = 3 * H;
    for (size_t k = 0; k < parts; k++) {
        size_t j0, j1;
        band_of(H, k, parts, &j0, &j1);
        for (size_t gate = 0; gate < 3; gate++) /* in 32 x 32 tiles, for the cache */
            for (size_t jt = j0; jt < j1; jt += 32)
                for (size_t it = 0; it < H; it += 32)
                    for (size_t j = jt; j < j1 && j < jt + 32; j++) {
                        const T *row = w + (gate * H + j) * H;
                        size_t col = 3 * j0 + gate * (j1 - j0) + (j - j0);
                        for (size_t i = it; i < H && i < it + 32; i++)
                            wt[i * H3 + col] = row[i];
                    }
    }
}

/* One batch row of gru_bwd over units [j0, j1). Parameters, so restrict
 * holds and the loop vectorises (gcc ignores restrict on local pointers). */
static void FN(gru_bwd_row)(size_t j0, size_t j1, const T *restrict r, const T *restrict z,
                            const T *restrict n, const T *restrict hn, const T *restrict h,
                            const T *restrict gy, T *restrict ir, T *restrict iz, T *restrict in,
                            T *restrict hr, T *restrict hz, T *restrict hnn, T *restrict carry)
{
    for (size_t j = j0; j < j1; j++) {
        T d = gy[j] + carry[j];
        T dan = d * ((T)1 - z[j]) * ((T)1 - n[j] * n[j]);
        T dar = dan * hn[j] * r[j] * ((T)1 - r[j]);
        T daz = d * (h[j] - n[j]) * z[j] * ((T)1 - z[j]);
        ir[j] = dar;
        hr[j] = dar;
        iz[j] = daz;
        hz[j] = daz;
        in[j] = dan;
        hnn[j] = dan * r[j];
        carry[j] = d * z[j];
    }
}

/* With dh = dy_t + the carried gradient:
 *   dn = dh (1 - z), dz = dh (h - n), dh_prev = dh z + dgh W_hh,
 *   dan = dn (1 - n^2), dar = dan hn r (1 - r), daz = dz z (1 - z),
 * dgi = (dar, daz, dan) and dgh = (dar, daz, dan r): the gradients of the
 * input and hidden projections. The carried gradient of this step comes in
 * as dh z of step t+1 plus dgh_{t+1} W_hh, added here for units [j0, j1). */
static void FN(gru_bwd)(const rnn_seq *s, size_t t, size_t j0, size_t j1)
{
    size_t B = s->B, H = s->H, H3 = 3 * H, w = j1 - j0;
    T *carry = s->carry, *dgi = (T *)s->dgi + t * B * H3, *dgh = (T *)s->dgh + t * B * H3;
    const T *h = FN(h_prev)(s, t), *g = (const T *)s->g + t * B * H3;
    const T *hn = (const T *)s->hn + t * B * H, *gy = (const T *)s->gy + t * B * H;
    if (t + 1 < s->steps)
        GEMM(false, false, B, w, H3, dgh + B * H3, H3, (const T *)s->w_hh + j0, H, true, carry + j0,
             H);
    else
        for (size_t b = 0; b < B; b++)
            for (size_t j = j0; j < j1; j++)
                carry[b * H + j] = 0;
    for (size_t b = 0; b < B; b++) {
        const T *gb = g + b * H3;
        T *ib = dgi + b * H3, *hb = dgh + b * H3;
        FN(gru_bwd_row)
        (j0, j1, gb, gb + H, gb + 2 * H, hn + b * H, h + b * H, gy + b * H, ib, ib + H, ib + 2 * H,
         hb, hb + H, hb + 2 * H, carry + b * H);
    }
}

/* wt [H,G H] = w_hh^T: the steps then read it in place, where w_hh itself
 * would be transposed into the GEMM's panels again at every step. */
static void FN(transpose)(T *wt, const T *w, size_t rows, size_t cols)
{
    for (size_t i0 = 0; i0 < rows; i0 += 32)
        for (size_t j0 = 0; j0 < cols; j0 += 32)
            for (size_t i = i0; i < rows && i < i0 + 32; i++)
                for (size_t j = j0; j < cols && j < j0 + 32; j++)
                    wt[j * rows + i] = w[i * cols + j];
}

/* d[0..n) += a[0..n), separate buffers. */
static void FN(add_row)(T *restrict d, const T *restrict a, size_t n)
{
    for (size_t j = 0; j < n; j++)
        d[j] += a[j];
}

/* out[j] += sum over rows of a [rows,cols][:, j]: blocks of 32 rows summed
 * in T (a vector loop), the block sums added in double, so a float32 sum
 * over thousands of rows keeps the error of a 32-term one. part holds
 * cols T's, acc cols doubles. */
static void FN(col_sum)(T *out, const T *a, size_t rows, size_t cols, T *part, double *acc)
{
    for (size_t j = 0; j < cols; j++)
        acc[j] = 0.0;
    for (size_t i0 = 0; i0 < rows; i0 += 32) {
        size_t i1 = rows - i0 < 32 ? rows : i0 + 32;
        for (size_t j = 0; j < cols; j++)
            part[j] = a[i0 * cols + j];
        for (size_t i = i0 + 1; i < i1; i++)
            FN(add_row)(part, a + i * cols, cols);
        for (size_t j = 0; j < cols; j++)
            acc[j] += (double)part[j];
    }
    for (size_t j = 0; j < cols; j++)
        out[j] = (T)((double)out[j] + acc[j]);
}

#undef FN
#undef RNN_CAT_
#undef RNN_CAT2_
