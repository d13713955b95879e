/* SPDX-License-Identifier: MIT
 * cast: a tensor converted to another dtype (float32 <-> float64), so a
 * float32 network can take a float64 penalty back and a float64 check can
 * wrap a float32 graph. The gradient is converted back the other way. The
 * target dtype is attr_i[0]. */
#include "ops.h"

#include <string.h>

/* Shaped like x; the node's dtype is the target's. */
bool ad_shape_cast(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0);
    int64_t dt = y->attr_i[0];
    if (dt != AD_F32 && dt != AD_F64) {
        ad_tape_fail(t, AD_ERR_DTYPE, "%s: unknown dtype %lld (AD_F32 or AD_F64)", fn,
                     (long long)dt);
        return false;
    }
    y->dtype = (uint8_t)dt;
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof y->dims);
    return true;
}

/* dst[i] = (DT)src[i]: float64 -> float32 rounds to nearest (a value past
 * float's range becomes +-Inf, as C's conversion gives), float32 -> float64
 * is exact. */
static void convert(ad_dtype to, void *dst, ad_dtype from, const void *src, size_t n, bool add)
{
    if (to == from) {
        if (!add) {
            memcpy(dst, src, n * ad_dtype_size(to));
        } else if (to == AD_F32) {
            float *d = dst;
            const float *s = src;
            for (size_t i = 0; i < n; i++)
                d[i] += s[i];
        } else {
            double *d = dst;
            const double *s = src;
            for (size_t i = 0; i < n; i++)
                d[i] += s[i];
        }
    } else if (to == AD_F32) {
        float *d = dst;
        const double *s = src;
        if (add)
            for (size_t i = 0; i < n; i++)
                d[i] += (float)s[i];
        else
            for (size_t i = 0; i < n; i++)
                d[i] = (float)s[i];
    } else {
        double *d = dst;
        const float *s = src;
        if (add)
            for (size_t i = 0; i < n; i++)
                d[i] += (double)s[i];
        else
            for (size_t i = 0; i < n; i++)
                d[i] = (double)s[i];
    }
}

void ad_cast_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    convert((ad_dtype)y->dtype, y->value, (ad_dtype)x->dtype, x->value, y->numel, false);
}

/* dy/dx = 1: the gradient converted to x's dtype (float64 -> float32 rounds,
 * and overflows to +-Inf as the value would) and added. */
void ad_cast_backward(ad_tape *t, ad_node *y)
{
    void *gx = ad_input_grad(t, y, 0);
    if (!gx) return;
    const ad_node *x = ad_node_input(t, y, 0);
    convert((ad_dtype)x->dtype, gx, (ad_dtype)y->dtype, y->grad, y->numel, true);
}

ad_tensor ad_cast(ad_tensor x, ad_dtype dt)
{
    ad_op_attrs at = {{0, 0}, {(int64_t)dt, 0, 0, 0}, NULL};
    return ad_op_record(__func__, AD_OP_CAST, &x, 1, &at);
}
