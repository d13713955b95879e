/* SPDX-License-Identifier: MIT
 * Time steps without slice + reshape: select takes the i-th slice along an
 * axis and drops the axis (one node per step of a sequence), stack builds
 * [.., n, ..] from n equal tensors (one node for a whole sequence). Both only
 * move elements, so the gradient goes back to where each element came from. */
#include "ops.h"

#include "core/last_error.h"

#include <string.h>

static size_t prod(const size_t *dims, size_t lo, size_t hi)
{
    size_t n = 1;
    for (size_t i = lo; i < hi; i++)
        n *= dims[i];
    return n;
}

/* dst[0..n) += src[0..n) in dtype dt. */
static void add_into(ad_dtype dt, void *dst, const void *src, size_t n)
{
    if (dt == AD_F32) {
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
}

/* ---- select: attr_i = {axis, index}; x viewed as [outer, dim, inner] gives
 * y [outer, inner] = x[:, index, :], in x's shape without the axis (a 1-D x
 * gives [1]). */

bool ad_shape_select(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0);
    int a = ad_axis_norm(t, fn, (int)y->attr_i[0], x);
    if (a < 0) return false;
    /* the index arrives as int64 from a size_t: huge ones wrap negative */
    size_t i = (size_t)y->attr_i[1], dim = x->dims[a];
    if (i >= dim) {
        char s[AD_SHAPE_STR];
        ad_tape_fail(t, AD_ERR_INVALID, "%s: index %zu is out of range for axis %d of shape %s", fn,
                     i, a, ad_shape_str(x->ndim, x->dims, s));
        return false;
    }
    y->attr_i[0] = a;
    size_t nd = 0;
    for (size_t d = 0; d < x->ndim; d++)
        if (d != (size_t)a) y->dims[nd++] = x->dims[d];
    if (nd == 0) y->dims[nd++] = 1;
    y->ndim = (uint8_t)nd;
    return true;
}

void ad_select_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    size_t a = (size_t)y->attr_i[0], i = (size_t)y->attr_i[1];
    size_t outer = prod(x->dims, 0, a), inner = prod(x->dims, a + 1, x->ndim);
    size_t dim = x->dims[a], es = ad_dtype_size((ad_dtype)y->dtype);
    if (inner == 0) return;
    for (size_t o = 0; o < outer; o++)
        memcpy((char *)y->value + o * inner * es,
               (const char *)x->value + (o * dim + i) * inner * es, inner * es);
}

/* y is one slice of x: dx[:, index, :] += dy, the rest of dx gets nothing. */
void ad_select_backward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    void *gx = ad_input_grad(t, y, 0);
    if (!gx) return;
    size_t a = (size_t)y->attr_i[0], i = (size_t)y->attr_i[1];
    size_t outer = prod(x->dims, 0, a), inner = prod(x->dims, a + 1, x->ndim);
    size_t dim = x->dims[a], es = ad_dtype_size((ad_dtype)y->dtype);
    if (inner == 0) return;
    for (size_t o = 0; o < outer; o++)
        add_into((ad_dtype)y->dtype, (char *)gx + (o * dim + i) * inner * es,
                 (const char *)y->grad + o * inner * es, inner);
}

ad_tensor ad_select(ad_tensor x, int axis, size_t index)
{
    ad_op_attrs at = {{0, 0}, {axis, (int64_t)index, 0, 0}, NULL};
    return ad_op_record(__func__, AD_OP_SELECT, &x, 1, &at);
}

/* ---- stack: attr_i[0] = axis of the output (0..ndim of an input); the n
 * inputs, each viewed as [outer, inner] around the new axis, are laid out as
 * y [outer, n, inner]. */

bool ad_shape_stack_axis(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x0 = ad_node_input(t, y, 0);
    int nd = (int)x0->ndim, axis = (int)y->attr_i[0];
    int a = axis < 0 ? axis + nd + 1 : axis;
    char s0[AD_SHAPE_STR], sx[AD_SHAPE_STR];
    if (nd >= AD_MAX_DIMS) {
        ad_tape_fail(t, AD_ERR_SHAPE,
                     "%s: inputs of shape %s have %d dimensions; stacking adds one "
                     "and tensors have at most %d",
                     fn, ad_shape_str(x0->ndim, x0->dims, s0), nd, AD_MAX_DIMS);
        return false;
    }
    if (a < 0 || a > nd) {
        ad_tape_fail(t, AD_ERR_INVALID,
                     "%s: axis %d out of range for stacking inputs of shape %s "
                     "(need -%d <= axis <= %d)",
                     fn, axis, ad_shape_str(x0->ndim, x0->dims, s0), nd + 1, nd);
        return false;
    }
    for (size_t k = 1; k < y->n_in; k++) {
        const ad_node *x = ad_node_input(t, y, k);
        if (x->ndim != x0->ndim || memcmp(x->dims, x0->dims, x0->ndim * sizeof *x->dims) != 0) {
            ad_tape_fail(t, AD_ERR_SHAPE, "%s: input %zu has shape %s but input 0 has %s", fn, k,
                         ad_shape_str(x->ndim, x->dims, sx), ad_shape_str(x0->ndim, x0->dims, s0));
            return false;
        }
    }
    y->attr_i[0] = a;
    y->ndim = (uint8_t)(nd + 1);
    for (int d = 0, o = 0; d <= nd; d++)
        y->dims[d] = d == a ? (size_t)y->n_in : x0->dims[o++];
    return true;
}

void ad_stack_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x0 = ad_node_input(t, y, 0);
    size_t a = (size_t)y->attr_i[0], n = y->n_in, es = ad_dtype_size((ad_dtype)y->dtype);
    size_t outer = prod(x0->dims, 0, a), inner = prod(x0->dims, a, x0->ndim);
    if (inner == 0) return;
    for (size_t k = 0; k < n; k++) {
        const char *xv = ad_node_input(t, y, k)->value;
        for (size_t o = 0; o < outer; o++)
            memcpy((char *)y->value + (o * n + k) * inner * es, xv + o * inner * es, inner * es);
    }
}

/* Input k owns y[:, k, :]: dx_k += dy[:, k, :]. */
void ad_stack_backward(ad_tape *t, ad_node *y)
{
    const ad_node *x0 = ad_node_input(t, y, 0);
    size_t a = (size_t)y->attr_i[0], n = y->n_in, es = ad_dtype_size((ad_dtype)y->dtype);
    size_t outer = prod(x0->dims, 0, a), inner = prod(x0->dims, a, x0->ndim);
    if (inner == 0) return;
    for (size_t k = 0; k < n; k++) {
        char *gx = ad_input_grad(t, y, k);
        if (!gx) continue;
        for (size_t o = 0; o < outer; o++)
            add_into((ad_dtype)y->dtype, gx + o * inner * es,
                     (const char *)y->grad + (o * n + k) * inner * es, inner);
    }
}

ad_tensor ad_stack(const ad_tensor *xs, size_t n, int axis)
{
    /* as ad_concat: without an input that has a tape, ad_last_error says why */
    if (n == 0 || !xs) {
        ad_last_error_set("%s", n == 0 ? "ad_stack: no inputs (n is 0), so no tape to record on"
                                       : "ad_stack: xs is NULL");
        return ad_invalid_tensor(NULL);
    }
    size_t k = 0;
    while (k < n && !xs[k].tape_)
        k++;
    if (k == n) {
        ad_last_error_set("ad_stack: none of the %zu inputs has a tape (zero-initialised handles?)",
                          n);
        return ad_invalid_tensor(NULL);
    }
    if (n > UINT32_MAX) {
        ad_tape_fail(xs[k].tape_, AD_ERR_INVALID, "ad_stack: %zu inputs is too many", n);
        return ad_invalid_tensor(xs[k].tape_);
    }
    ad_op_attrs at = {{0, 0}, {axis, 0, 0, 0}, NULL};
    return ad_op_record(__func__, AD_OP_STACK_AXIS, xs, n, &at);
}
