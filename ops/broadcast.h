/* SPDX-License-Identifier: MIT
 * Helpers shared by the elementwise op families: NumPy broadcasting of two
 * inputs (the output shape, a walk over output elements with per-input
 * offsets, and the reduction of an output-shaped gradient back onto an
 * input's shape). broadcast.c also holds ad_shape_same, the shape rule of
 * ops whose output is shaped like x, which ops.h declares from the list. */
#ifndef AD_BROADCAST_H
#define AD_BROADCAST_H

#include "ops.h"

/* The output y = f(a, b) seen as rows x cols elements, row-major. Output
 * dimensions of size 1 are dropped and neighbours that both inputs read the
 * same way (both contiguous, or both stretched) are merged, so the common
 * cases need no index arithmetic inside a row:
 *   equal shapes        1 row,  ia = ib = 1
 *   b a single element  1 row,  ia = 1, ib = 0 (and the mirror case)
 *   [B,N] op [N]        B rows, ia = ib = 1, b's row offset always 0
 * Within row r, a's element i is a[oa + i * ia] with ia in {0, 1} (0: a is
 * stretched along the row), likewise b; ad_bcast_row gives oa and ob. */
typedef struct ad_bcast {
    size_t rows, cols;
    size_t ia, ib;
    size_t nd;                /* merged outer dimensions (those above the row) */
    size_t dims[AD_MAX_DIMS]; /* their sizes, outermost first */
    size_t sa[AD_MAX_DIMS];   /* a's element strides along them; 0 where stretched */
    size_t sb[AD_MAX_DIMS];
} ad_bcast;

/* Shape rule of a broadcasting binary op: y's ndim and dims from inputs 0
 * and 1 (ranks may differ; the output has the larger), or fails the tape
 * with AD_ERR_SHAPE: "<fn>: shapes [3,4] and [5] do not broadcast". */
bool ad_shape_bcast(ad_tape *t, ad_node *y, const char *fn);

/* The plan for y = f(a, b); y's shape must come from ad_shape_bcast. */
void ad_bcast_plan(ad_bcast *p, const ad_node *a, const ad_node *b, const ad_node *y);

/* The offsets of row r in a and b. */
static inline void ad_bcast_row(const ad_bcast *p, size_t r, size_t *oa, size_t *ob)
{
    size_t a = 0, b = 0;
    for (size_t d = p->nd; d-- > 0;) {
        size_t k = r % p->dims[d];
        r /= p->dims[d];
        a += k * p->sa[d];
        b += k * p->sb[d];
    }
    *oa = a;
    *ob = b;
}

/* Runs BODY once per output element with ja, jb, jy the flat indices of a,
 * b and y. Each row runs one of four loops whose strides are constants, so
 * gcc vectorises them. BODY is a statement; it may contain commas. */
#define AD_BCAST_EACH(p, ...)                                                                      \
    do {                                                                                           \
        const ad_bcast *p_ = (p);                                                                  \
        const size_t n_ = p_->cols;                                                                \
        for (size_t r_ = 0; r_ < p_->rows; r_++) {                                                 \
            size_t oa_, ob_;                                                                       \
            const size_t oy_ = r_ * n_;                                                            \
            ad_bcast_row(p_, r_, &oa_, &ob_);                                                      \
            if (p_->ia && p_->ib) {                                                                \
                for (size_t i_ = 0; i_ < n_; i_++) {                                               \
                    const size_t ja = oa_ + i_, jb = ob_ + i_, jy = oy_ + i_;                      \
                    __VA_ARGS__;                                                                   \
                }                                                                                  \
            } else if (p_->ia) {                                                                   \
                for (size_t i_ = 0; i_ < n_; i_++) {                                               \
                    const size_t ja = oa_ + i_, jb = ob_, jy = oy_ + i_;                           \
                    __VA_ARGS__;                                                                   \
                }                                                                                  \
            } else if (p_->ib) {                                                                   \
                for (size_t i_ = 0; i_ < n_; i_++) {                                               \
                    const size_t ja = oa_, jb = ob_ + i_, jy = oy_ + i_;                           \
                    __VA_ARGS__;                                                                   \
                }                                                                                  \
            } else {                                                                               \
                for (size_t i_ = 0; i_ < n_; i_++) {                                               \
                    const size_t ja = oa_, jb = ob_, jy = oy_ + i_;                                \
                    __VA_ARGS__;                                                                   \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* Which input of the plan a reduction targets. */
enum { AD_BCAST_A = 0, AD_BCAST_B = 1 };

/* gx += c * (g summed over the dimensions along which input `side` was
 * stretched): g is output-shaped, gx is shaped like that input; both of
 * dtype dt. This is the one place broadcast gradients are reduced. Float32
 * sums run in double, or in float blocks of 32 rows whose sums are added in
 * double, so their error does not grow with the number of rows. */
void ad_bcast_reduce(const ad_bcast *p, int side, ad_dtype dt, const void *g, void *gx, double c);

#endif
