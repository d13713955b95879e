/* SPDX-License-Identifier: MIT
 * NumPy broadcasting for the binary elementwise ops (see broadcast.h): the
 * output shape, the row plan the kernels walk, and the one reduction that
 * brings an output-shaped gradient back to an input's shape; and the shape
 * rules the op list shares between families (ad_shape_same, ad_shape_bcast). */
#include "broadcast.h"

#include <string.h>

/* Shape rule of the unary ops and activations: y has x's shape. */
bool ad_shape_same(ad_tape *t, ad_node *y, const char *fn)
{
    (void)fn;
    const ad_node *x = ad_node_input(t, y, 0);
    y->ndim = x->ndim;
    memcpy(y->dims, x->dims, sizeof y->dims);
    return true;
}

bool ad_shape_bcast(ad_tape *t, ad_node *y, const char *fn)
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

/* The reduction walks the plan's outer dimensions in two nested odometers:
 * the outer one over the dimensions along which the target input moves
 * (stride != 0), each position a distinct target row; the inner one over
 * those it was stretched along (stride 0), the output rows that all add
 * into that target. So each target element gets its whole sum before it is
 * touched once, and the sum can be kept in double: a float32 running sum in
 * the target itself drifted about 1% over 10^6 rows of 0.1. Dimensions are
 * stored innermost first, the odometer's fastest. */
typedef struct walk {
    size_t n, count;          /* dimensions, positions (their product) */
    size_t dims[AD_MAX_DIMS]; /* sizes */
    size_t row[AD_MAX_DIMS];  /* output rows per step */
    size_t off[AD_MAX_DIMS];  /* target elements per step (0 in the inner walk) */
} walk;

static void walk_split(const ad_bcast *p, int side, walk *outer, walk *inner)
{
    const size_t *st = side == AD_BCAST_A ? p->sa : p->sb;
    size_t rows = 1;
    outer->n = inner->n = 0;
    outer->count = inner->count = 1;
    for (size_t d = p->nd; d-- > 0;) {
        walk *w = st[d] ? outer : inner;
        w->dims[w->n] = p->dims[d];
        w->row[w->n] = rows;
        w->off[w->n] = st[d];
        w->n++;
        w->count *= p->dims[d];
        rows *= p->dims[d];
    }
}

/* The next position: row and off move with it (unsigned arithmetic returns
 * each to its start when a dimension wraps). */
static inline void walk_step(const walk *w, size_t *idx, size_t *row, size_t *off)
{
    for (size_t d = 0; d < w->n; d++) {
        *row += w->row[d];
        *off += w->off[d];
        if (++idx[d] < w->dims[d]) return;
        *row -= w->dims[d] * w->row[d];
        *off -= w->dims[d] * w->off[d];
        idx[d] = 0;
    }
}

/* A contiguous target row takes its rows REDUCE_BLOCK at a time, summed in
 * float (the speed of the plain loop) and added in double: the error is
 * that of a 32-term float sum, at most 31 units of 2^-24 of the sum of
 * |terms|, however many rows there are. REDUCE_CHUNK target columns per
 * pass keep both buffers on the stack and in L1. */
#define REDUCE_BLOCK 32
#define REDUCE_CHUNK 256

/* a contiguous row summed in double (row_sum_tmpl.h) */
#define RS_NAME    row_sum_float
#define RS_ACC     double
#define RS_TERM(k) ((double)a[k])
#define RS_PARAMS  const float *a
#include "row_sum_tmpl.h"
#define RS_NAME    row_sum_double
#define RS_ACC     double
#define RS_TERM(k) ((double)a[k])
#define RS_PARAMS  const double *a
#include "row_sum_tmpl.h"

/* One instantiation per dtype. When no target element gets more than one
 * block of rows, the plain walk over rows adds straight into gx (the
 * blocked loops' set-up would cost more than the sum). A target stretched
 * along the row sums whole rows into one element, in double. */
#define REDUCE(T)                                                                                  \
    do {                                                                                           \
        const T *g_ = g;                                                                           \
        T *gx_ = gx;                                                                               \
        if (inc && inner.count <= REDUCE_BLOCK) {                                                  \
            const T c_ = (T)c;                                                                     \
            for (size_t r = 0; r < p->rows; r++) {                                                 \
                size_t oa, ob;                                                                     \
                ad_bcast_row(p, r, &oa, &ob);                                                      \
                T *dst = gx_ + (side == AD_BCAST_A ? oa : ob);                                     \
                const T *src = g_ + r * n;                                                         \
                for (size_t i = 0; i < n; i++)                                                     \
                    dst[i] += c_ * src[i];                                                         \
            }                                                                                      \
            break;                                                                                 \
        }                                                                                          \
        T part[REDUCE_CHUNK];                                                                      \
        size_t oi[AD_MAX_DIMS] = {0}, orow = 0, off = 0;                                           \
        for (size_t q = 0; q < outer.count; q++, walk_step(&outer, oi, &orow, &off)) {             \
            T *dst = gx_ + off;                                                                    \
            size_t ii[AD_MAX_DIMS] = {0}, irow = 0, none = 0;                                      \
            if (!inc) {                                                                            \
                double s = 0.0;                                                                    \
                for (size_t k = 0; k < inner.count; k++, walk_step(&inner, ii, &irow, &none))      \
                    s += row_sum_##T(g_ + (orow + irow) * n, n);                                   \
                dst[0] = (T)((double)dst[0] + c * s);                                              \
                continue;                                                                          \
            }                                                                                      \
            for (size_t c0 = 0; c0 < n; c0 += REDUCE_CHUNK) {                                      \
                const size_t m = n - c0 < REDUCE_CHUNK ? n - c0 : REDUCE_CHUNK;                    \
                for (size_t j = 0; j < m; j++)                                                     \
                    acc[j] = 0.0;                                                                  \
                for (size_t k = 0; k < inner.count;) { /* inner wraps to 0 at the end */           \
                    const size_t kend =                                                            \
                        inner.count - k < REDUCE_BLOCK ? inner.count : k + REDUCE_BLOCK;           \
                    const T *src = g_ + (orow + irow) * n + c0;                                    \
                    for (size_t j = 0; j < m; j++)                                                 \
                        part[j] = src[j];                                                          \
                    for (k++, walk_step(&inner, ii, &irow, &none); k < kend;                       \
                         k++, walk_step(&inner, ii, &irow, &none)) {                               \
                        src = g_ + (orow + irow) * n + c0;                                         \
                        for (size_t j = 0; j < m; j++)                                             \
                            part[j] += src[j];                                                     \
                    }                                                                              \
                    for (size_t j = 0; j < m; j++)                                                 \
                        acc[j] += (double)part[j];                                                 \
                }                                                                                  \
                for (size_t j = 0; j < m; j++)                                                     \
                    dst[c0 + j] = (T)((double)dst[c0 + j] + c * acc[j]);                           \
            }                                                                                      \
        }                                                                                          \
    } while (0)

void ad_bcast_reduce(const ad_bcast *p, int side, ad_dtype dt, const void *g, void *gx, double c)
{
    if (p->rows == 0) return; /* an empty output adds nothing */
    size_t n = p->cols;
    size_t inc = side == AD_BCAST_A ? p->ia : p->ib;
    walk outer, inner;
    walk_split(p, side, &outer, &inner);
    double acc[REDUCE_CHUNK];
    if (dt == AD_F32)
        REDUCE(float);
    else
        REDUCE(double);
}
