/* SPDX-License-Identifier: MIT
 * NumPy broadcasting for the binary elementwise ops (see broadcast.h): the
 * output shape, the row plan the kernels walk, and the one reduction that
 * brings an output-shaped gradient back to an input's shape. */
#include "broadcast.h"

#include <string.h>

bool ad_bcast_shape(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *a = ad_node_input(t, y, 0), *b = ad_node_input(t, y, 1);
    size_t n = a->ndim > b->ndim ? a->ndim : b->ndim;
    size_t offa = n - a->ndim, offb = n - b->ndim;
    for (size_t d = 0; d < n; d++) {
        size_t da = d >= offa ? a->dims[d - offa] : 1;
        size_t db = d >= offb ? b->dims[d - offb] : 1;
        if (da != db && da != 1 && db != 1) {
            char sa[AD_SHAPE_STR], sb[AD_SHAPE_STR];
            ad_tape_fail(t, AD_ERR_SHAPE, "%s: shapes %s and %s do not broadcast", fn,
                         ad_shape_str(a->ndim, a->dims, sa), ad_shape_str(b->ndim, b->dims, sb));
            return false;
        }
        y->dims[d] = da == 1 ? db : da;
    }
    y->ndim = (uint8_t)n;
    return true;
}

/* x's element strides along each of the n output dimensions (x aligned to
 * the right); 0 where x has size 1 or no dimension at all. */
static void strides_of(const ad_node *x, size_t n, size_t *s)
{
    size_t off = n - x->ndim, run = 1;
    for (size_t d = n; d-- > off;) {
        size_t e = d - off;
        s[d] = x->dims[e] == 1 ? 0 : run;
        run *= x->dims[e];
    }
    for (size_t d = 0; d < off; d++)
        s[d] = 0;
}

void ad_bcast_plan(ad_bcast *p, const ad_node *a, const ad_node *b, const ad_node *y)
{
    memset(p, 0, sizeof *p);
    if (y->numel == 0) return; /* rows = 0: every loop is empty */
    size_t fa[AD_MAX_DIMS], fb[AD_MAX_DIMS];
    strides_of(a, y->ndim, fa);
    strides_of(b, y->ndim, fb);
    size_t dims[AD_MAX_DIMS], sa[AD_MAX_DIMS], sb[AD_MAX_DIMS], m = 0;
    for (size_t d = 0; d < y->ndim; d++) {
        size_t n = y->dims[d];
        if (n == 1) continue; /* both inputs have size 1 here: no effect on any index */
        /* merging [P] then [n] into [P*n] is valid when each input steps
         * through the pair as through one dimension: outer stride = inner * n */
        if (m > 0 && sa[m - 1] == fa[d] * n && sb[m - 1] == fb[d] * n) {
            dims[m - 1] *= n;
        } else {
            dims[m] = n;
            m++;
        }
        sa[m - 1] = fa[d];
        sb[m - 1] = fb[d];
    }
    if (m == 0) { /* one element */
        p->rows = p->cols = 1;
        p->ia = p->ib = 1;
        return;
    }
    /* the innermost kept dimension is contiguous (stride 1) or stretched (0) */
    p->cols = dims[m - 1];
    p->ia = sa[m - 1] ? 1 : 0;
    p->ib = sb[m - 1] ? 1 : 0;
    p->nd = m - 1;
    p->rows = 1;
    for (size_t d = 0; d + 1 < m; d++) {
        p->dims[d] = dims[d];
        p->sa[d] = sa[d];
        p->sb[d] = sb[d];
        p->rows *= dims[d];
    }
}

/* One instantiation per dtype: contiguous rows add elementwise (this covers
 * equal shapes and the [B,N] -> [N] bias gradient, both vectorised); a
 * stretched row sums into one element, accumulating in double. */
#define REDUCE(T)                                                                                  \
    do {                                                                                           \
        const T *g_ = g;                                                                           \
        T *gx_ = gx;                                                                               \
        const T c_ = (T)c;                                                                         \
        for (size_t r = 0; r < p->rows; r++) {                                                     \
            size_t oa, ob;                                                                         \
            ad_bcast_row(p, r, &oa, &ob);                                                          \
            T *dst = gx_ + (side == AD_BCAST_A ? oa : ob);                                         \
            const T *src = g_ + r * n;                                                             \
            if (inc) {                                                                             \
                for (size_t i = 0; i < n; i++)                                                     \
                    dst[i] += c_ * src[i];                                                         \
            } else {                                                                               \
                double s = 0.0;                                                                    \
                for (size_t i = 0; i < n; i++)                                                     \
                    s += (double)src[i];                                                           \
                dst[0] += (T)(c * s);                                                              \
            }                                                                                      \
        }                                                                                          \
    } while (0)

void ad_bcast_reduce(const ad_bcast *p, int side, ad_dtype dt, const void *g, void *gx, double c)
{
    size_t n = p->cols;
    size_t inc = side == AD_BCAST_A ? p->ia : p->ib;
    if (dt == AD_F32)
        REDUCE(float);
    else
        REDUCE(double);
}
