/* SPDX-License-Identifier: MIT
 * Helpers shared inside the MLP client (see nn_util.h). */
#include "nn_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void ad_nn_errf(const char *fmt, ...)
{
    char msg[4096]; /* ad_last_error's size */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ad_set_last_error(msg);
}

bool ad_nn_labels_ok(const int32_t *labels, size_t n, size_t classes, const char *fn,
                     const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= classes) {
            ad_nn_errf("%s: %slabel %d of sample %zu is not in [0, %zu)", fn, what, (int)labels[i],
                       i, classes);
            return false;
        }
    return true;
}

void *ad_nn_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    void *p = ad_alloc(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

ad_tensor ad_nn_fail(ad_tape *t, ad_status code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (t)
        ad_tape_set_error(t, code, msg);
    else
        ad_set_last_error(msg); /* no tape to fail: the tapeless channel */
    return ad_tensor_invalid(t);
}

const char *ad_nn_shape_str(ad_tensor x, char *buf)
{
    size_t dims[AD_MAX_DIMS], nd = ad_tensor_shape(x, dims), at = 0;
    /* four 20-digit dimensions, commas and brackets: 86 bytes at most */
    buf[at++] = '[';
    for (size_t i = 0; i < nd; i++)
        at += (size_t)snprintf(buf + at, AD_NN_SHAPE_LEN - at, "%s%zu", i ? "," : "", dims[i]);
    snprintf(buf + at, AD_NN_SHAPE_LEN - at, "]");
    return buf;
}

/* ---- non-finite values */

/* A NaN or Inf has all its exponent bits set. OR-ing that test over a block
 * has no early exit, so the compiler vectorises it with integer compares;
 * only a block that holds one is searched element by element. */
enum { BLOCK = 512 };

static bool block_bad_f32(const float *p, size_t n)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, p + i, sizeof u);
        bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
    }
    return bad != 0;
}

static bool block_bad_f64(const double *p, size_t n)
{
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        memcpy(&u, p + i, sizeof u);
        bad |= (uint64_t)((u & 0x7ff0000000000000u) == 0x7ff0000000000000u);
    }
    return bad != 0;
}

size_t ad_nn_first_nonfinite(const void *v, ad_dtype dt, size_t n)
{
    for (size_t at = 0; at < n; at += BLOCK) {
        size_t len = n - at < BLOCK ? n - at : BLOCK;
        if (dt == AD_F32) {
            const float *p = (const float *)v + at;
            if (!block_bad_f32(p, len)) continue;
            for (size_t i = 0; i < len; i++)
                if (!isfinite(p[i])) return at + i;
        } else {
            const double *p = (const double *)v + at;
            if (!block_bad_f64(p, len)) continue;
            for (size_t i = 0; i < len; i++)
                if (!isfinite(p[i])) return at + i;
        }
    }
    return SIZE_MAX;
}

/* Eight partial sums: the compiler keeps them in two vector registers with
 * no chain of dependent adds, so the scan runs at the speed of memory.
 * (A max of |x| compiles to a slower chain; squares would make
 * subnormals, and those are slow.) */
#define DEFINE_ABS_SUM(T, ABS)                                                                     \
    static double abs_sum_##T(const T *v, size_t n)                                                \
    {                                                                                              \
        T s[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                                         \
        size_t i = 0;                                                                              \
        for (; i + 8 <= n; i += 8)                                                                 \
            for (size_t j = 0; j < 8; j++)                                                         \
                s[j] += ABS(v[i + j]);                                                             \
        double t = 0;                                                                              \
        for (size_t j = 0; j < 8; j++)                                                             \
            t += (double)s[j];                                                                     \
        for (; i < n; i++)                                                                         \
            t += (double)ABS(v[i]);                                                                \
        return t;                                                                                  \
    }
DEFINE_ABS_SUM(float, fabsf)
DEFINE_ABS_SUM(double, fabs)

double ad_nn_abs_sum(const void *v, ad_dtype dt, size_t n)
{
    return dt == AD_F32 ? abs_sum_float(v, n) : abs_sum_double(v, n);
}

size_t ad_nn_param_nonfinite(ad_param *p, bool grad)
{
    const void *v = grad ? ad_param_grad(p) : ad_param_value(p);
    return ad_nn_first_nonfinite(v, ad_param_dtype(p), ad_param_numel(p));
}

double ad_nn_param_at(ad_param *p, size_t i)
{
    const void *v = ad_param_value(p);
    return ad_param_dtype(p) == AD_F32 ? (double)((const float *)v)[i] : ((const double *)v)[i];
}

bool ad_nn_rows_nonfinite(const float *src, size_t cols, const size_t *idx, size_t b, size_t *row,
                          size_t *col)
{
    for (size_t r = 0; src && r < b; r++) {
        size_t k = idx ? idx[r] : r;
        size_t c = ad_nn_first_nonfinite(src + k * cols, AD_F32, cols);
        if (c != SIZE_MAX) {
            *row = k;
            *col = c;
            return true;
        }
    }
    return false;
}

const char *ad_nn_param_name(const ad_nn *m, size_t k, char *buf)
{
    /* ad_nn_params order: per layer w, b, then the projection when it has
     * one, then the layer norm's gain and shift when it has them */
    const ad_nn_spec *s = ad_nn_get_spec(m);
    static const char *const what[5] = {"weights", "bias", "projection", "norm gain", "norm shift"};
    size_t at = 0;
    for (size_t i = 0; s && i <= s->n_hidden; i++) {
        bool hidden = i < s->n_hidden, proj = hidden && s->hidden[i].skip && s->hidden[i].project;
        bool ln = hidden && s->hidden[i].layer_norm;
        size_t n = 2 + (proj ? 1u : 0u) + (ln ? 2u : 0u);
        if (k < at + n) {
            size_t j = k - at;
            if (j >= 2 && !proj) j++; /* no projection: 2, 3 are the norm's */
            if (i == s->n_hidden)
                snprintf(buf, AD_NN_PARAM_NAME_LEN, "output layer %s", what[j]);
            else
                snprintf(buf, AD_NN_PARAM_NAME_LEN, "layer %zu %s", i + 1, what[j]);
            return buf;
        }
        at += n;
    }
    snprintf(buf, AD_NN_PARAM_NAME_LEN, "not the model's");
    return buf;
}
