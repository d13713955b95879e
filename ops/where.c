/* SPDX-License-Identifier: MIT
 * where(cond, a, b): a's element where cond is nonzero, else b's, the three
 * inputs broadcast together like NumPy. The gradient goes to a where cond
 * holds and to b elsewhere, summed back over broadcast dimensions; cond, a
 * mask, gets none. */
#include "broadcast.h"

#include <string.h>

/* The output seen as four dimensions (leading ones padded with 1) and each
 * input's element strides along them, 0 where it is stretched. */
typedef struct where_walk {
    size_t d[4];
    size_t s[3][4];
} where_walk;

static void where_plan(ad_tape *t, const ad_node *y, where_walk *w)
{
    size_t off = 4 - y->ndim;
    for (size_t d = 0; d < 4; d++)
        w->d[d] = d < off ? 1 : y->dims[d - off];
    for (size_t k = 0; k < 3; k++) {
        const ad_node *x = ad_node_input(t, y, k);
        size_t xoff = 4 - x->ndim, run = 1;
        for (size_t d = 4; d-- > 0;) {
            size_t n = d < xoff ? 1 : x->dims[d - xoff];
            w->s[k][d] = n == 1 ? 0 : run;
            run *= n;
        }
    }
}

/* Runs BODY once per output element with jc, ja, jb, jy the flat indices
 * of cond, a, b and y; the innermost dimension is the inner loop. */
#define WHERE_EACH(w, BODY)                                                                        \
    do {                                                                                           \
        const where_walk *w_ = (w);                                                                \
        const size_t sc_ = w_->s[0][3], sa_ = w_->s[1][3], sb_ = w_->s[2][3], n_ = w_->d[3];       \
        size_t jy = 0;                                                                             \
        for (size_t i0_ = 0; i0_ < w_->d[0]; i0_++)                                                \
            for (size_t i1_ = 0; i1_ < w_->d[1]; i1_++)                                            \
                for (size_t i2_ = 0; i2_ < w_->d[2]; i2_++) {                                      \
                    size_t c0_ = i0_ * w_->s[0][0] + i1_ * w_->s[0][1] + i2_ * w_->s[0][2];        \
                    size_t a0_ = i0_ * w_->s[1][0] + i1_ * w_->s[1][1] + i2_ * w_->s[1][2];        \
                    size_t b0_ = i0_ * w_->s[2][0] + i1_ * w_->s[2][1] + i2_ * w_->s[2][2];        \
                    for (size_t i_ = 0; i_ < n_; i_++, jy++) {                                     \
                        const size_t jc = c0_ + i_ * sc_, ja = a0_ + i_ * sa_,                     \
                                     jb = b0_ + i_ * sb_;                                          \
                        (void)ja;                                                                  \
                        (void)jb;                                                                  \
                        BODY;                                                                      \
                    }                                                                              \
                }                                                                                  \
    } while (0)

/* The three shapes broadcast together, or AD_ERR_SHAPE naming all three:
 * "ad_where: shapes [2,3], [4] and [3] do not broadcast". */
bool ad_shape_where(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *in[3] = {ad_node_input(t, y, 0), ad_node_input(t, y, 1), ad_node_input(t, y, 2)};
    size_t n = 0;
    for (size_t k = 0; k < 3; k++)
        n = in[k]->ndim > n ? in[k]->ndim : n;
    for (size_t d = 0; d < n; d++) {
        size_t m = 1;
        for (size_t k = 0; k < 3; k++) {
            size_t off = n - in[k]->ndim;
            size_t dk = d >= off ? in[k]->dims[d - off] : 1;
            if (dk == 1) continue;
            if (m != 1 && dk != m) {
                char s0[AD_SHAPE_STR], s1[AD_SHAPE_STR], s2[AD_SHAPE_STR];
                ad_tape_fail(t, AD_ERR_SHAPE, "%s: shapes %s, %s and %s do not broadcast", fn,
                             ad_shape_str(in[0]->ndim, in[0]->dims, s0),
                             ad_shape_str(in[1]->ndim, in[1]->dims, s1),
                             ad_shape_str(in[2]->ndim, in[2]->dims, s2));
                return false;
            }
            m = dk;
        }
        y->dims[d] = m;
    }
    y->ndim = (uint8_t)n;
    return true;
}

#define WHERE_FORWARD_T(T)                                                                         \
    do {                                                                                           \
        const T *c_ = ad_node_input(t, y, 0)->value, *a_ = ad_node_input(t, y, 1)->value,          \
                *b_ = ad_node_input(t, y, 2)->value;                                               \
        T *y_ = y->value;                                                                          \
        WHERE_EACH(&w, y_[jy] = c_[jc] != 0 ? a_[ja] : b_[jb]);                                    \
    } while (0)

/* Nonzero is true, NaN included (NaN != 0). */
void ad_where_forward(ad_tape *t, ad_node *y)
{
    where_walk w;
    where_plan(t, y, &w);
    if (y->dtype == AD_F32)
        WHERE_FORWARD_T(float);
    else
        WHERE_FORWARD_T(double);
}

/* dst[jy] += g[jy] where cond is (side 1) or is not (side 2) nonzero */
#define WHERE_GRAD_T(T)                                                                            \
    do {                                                                                           \
        const T *c_ = ad_node_input(t, y, 0)->value, *g_ = y->grad;                                \
        T *d_ = dst;                                                                               \
        const bool take_ = k == 1;                                                                 \
        WHERE_EACH(&w, d_[jy] += (c_[jc] != 0) == take_ ? g_[jy] : (T)0);                          \
    } while (0)

/* dy/da = [cond], dy/db = [not cond]; an input stretched by the broadcast
 * gets its terms in a y-shaped scratch first, which ad_bcast_reduce sums
 * onto its shape (planned as the pair (input, y), whose broadcast is y). */
void ad_where_backward(ad_tape *t, ad_node *y)
{
    where_walk w;
    where_plan(t, y, &w);
    const ad_dtype dt = (ad_dtype)y->dtype;
    for (size_t k = 1; k < 3; k++) {
        void *gx = ad_input_grad(t, y, k);
        if (!gx) continue;
        const ad_node *x = ad_node_input(t, y, k);
        void *dst = gx;
        if (x->numel != y->numel) {
            size_t bytes = y->numel * ad_dtype_size(dt);
            dst = ad_tape_alloc(t, bytes, "ad_backward");
            if (!dst) return; /* out of memory: the tape has failed */
            memset(dst, 0, bytes);
        }
        if (dt == AD_F32)
            WHERE_GRAD_T(float);
        else
            WHERE_GRAD_T(double);
        if (dst != gx) {
            ad_bcast p;
            ad_bcast_plan(&p, x, y, y);
            ad_bcast_reduce(&p, AD_BCAST_A, dt, dst, gx, 1.0);
        }
    }
}

ad_tensor ad_where(ad_tensor cond, ad_tensor a, ad_tensor b)
{
    ad_tensor ins[3] = {cond, a, b};
    return ad_op_record(__func__, AD_OP_WHERE, ins, 3, NULL);
}
