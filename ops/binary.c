/* SPDX-License-Identifier: MIT
 * Elementwise binary ops with NumPy broadcasting: add, sub, mul, div, pow,
 * maximum, minimum, atan2. Shapes and the walk over elements come from broadcast.h;
 * a gradient into a stretched input is summed back to its shape there. */
#include "broadcast.h"
#include "kernels/vmath.h"

#include <stdbool.h>
#include <string.h>
#include <tgmath.h>

/* y = EXPR(A, B) over the broadcast, for one element type. */
#define FORWARD_T(T, EXPR)                                                                         \
    do {                                                                                           \
        typedef T real;                                                                            \
        const real *a_ = an->value, *b_ = bn->value;                                               \
        real *y_ = y->value;                                                                       \
        AD_BCAST_EACH(&p, const real A = a_[ja], B = b_[jb]; y_[jy] = (EXPR));                     \
    } while (0)

#define BINARY_FORWARD(EXPR)                                                                       \
    do {                                                                                           \
        const ad_node *an = ad_node_input(t, y, 0), *bn = ad_node_input(t, y, 1);                  \
        ad_bcast p;                                                                                \
        ad_bcast_plan(&p, an, bn, y);                                                              \
        if (y->dtype == AD_F32)                                                                    \
            FORWARD_T(float, EXPR);                                                                \
        else                                                                                       \
            FORWARD_T(double, EXPR);                                                               \
    } while (0)

/* dst[jy] += DEXPR over the broadcast, from A, B, Y (saved output) and G. */
#define GRAD_T(T, DEXPR)                                                                           \
    do {                                                                                           \
        typedef T real;                                                                            \
        const real *a_ = an->value, *b_ = bn->value, *y_ = y->value, *g_ = y->grad;                \
        real *d_ = dst;                                                                            \
        AD_BCAST_EACH(&p, const real A = a_[ja], B = b_[jb], Y = y_[jy], G = g_[jy]; (void)A;      \
                      (void)B; (void)Y; d_[jy] += (DEXPR));                                        \
    } while (0)

/* Where input k's gradient terms go: straight into gx when the input was
 * not stretched (same elements, same order as y), else into a zeroed
 * y-shaped scratch that ad_bcast_reduce then sums into gx. */
static void *grad_dst(ad_tape *t, const ad_node *y, size_t k, void *gx)
{
    if (ad_node_input(t, y, k)->numel == y->numel) return gx;
    size_t bytes = y->numel * ad_dtype_size((ad_dtype)y->dtype);
    void *s = ad_tape_alloc(t, bytes, "ad_backward");
    if (s) memset(s, 0, bytes);
    return s;
}

/* ga += DA, gb += DB, each reduced to its input's shape. */
#define BINARY_BACKWARD(DA, DB)                                                                    \
    do {                                                                                           \
        const ad_node *an = ad_node_input(t, y, 0), *bn = ad_node_input(t, y, 1);                  \
        ad_bcast p;                                                                                \
        ad_bcast_plan(&p, an, bn, y);                                                              \
        for (size_t k = 0; k < 2; k++) {                                                           \
            void *gx = ad_input_grad(t, y, k);                                                     \
            if (!gx) continue;                                                                     \
            void *dst = grad_dst(t, y, k, gx);                                                     \
            if (!dst) break; /* out of memory: the tape has failed */                              \
            if (y->dtype == AD_F32) {                                                              \
                if (k == 0)                                                                        \
                    GRAD_T(float, DA);                                                             \
                else                                                                               \
                    GRAD_T(float, DB);                                                             \
            } else {                                                                               \
                if (k == 0)                                                                        \
                    GRAD_T(double, DA);                                                            \
                else                                                                               \
                    GRAD_T(double, DB);                                                            \
            }                                                                                      \
            if (dst != gx) ad_bcast_reduce(&p, (int)k, (ad_dtype)y->dtype, dst, gx, 1.0);          \
        }                                                                                          \
    } while (0)

/* The entry points' one line: record a two-input op. */
static ad_tensor binary(const char *fn, uint16_t op, ad_tensor a, ad_tensor b)
{
    ad_tensor ins[2] = {a, b};
    return ad_op_record(fn, op, ins, 2, NULL);
}

/* add and sub pass g through unchanged (times +-1): only the reduction. */
static void pass_through(ad_tape *t, ad_node *y, double ca, double cb)
{
    const ad_node *an = ad_node_input(t, y, 0), *bn = ad_node_input(t, y, 1);
    ad_bcast p;
    ad_bcast_plan(&p, an, bn, y);
    void *ga = ad_input_grad(t, y, 0), *gb = ad_input_grad(t, y, 1);
    if (ga) ad_bcast_reduce(&p, AD_BCAST_A, (ad_dtype)y->dtype, y->grad, ga, ca);
    if (gb) ad_bcast_reduce(&p, AD_BCAST_B, (ad_dtype)y->dtype, y->grad, gb, cb);
}

/* ---- add: y = a + b */

void ad_tadd_forward(ad_tape *t, ad_node *y)
{
    BINARY_FORWARD(A + B);
}

/* dy/da = dy/db = 1 */
void ad_tadd_backward(ad_tape *t, ad_node *y)
{
    pass_through(t, y, 1.0, 1.0);
}

ad_tensor ad_tadd(ad_tensor a, ad_tensor b)
{
    return binary(__func__, AD_OP_ADD, a, b);
}

/* ---- sub: y = a - b */

void ad_tsub_forward(ad_tape *t, ad_node *y)
{
    BINARY_FORWARD(A - B);
}

/* dy/da = 1, dy/db = -1 */
void ad_tsub_backward(ad_tape *t, ad_node *y)
{
    pass_through(t, y, 1.0, -1.0);
}

ad_tensor ad_tsub(ad_tensor a, ad_tensor b)
{
    return binary(__func__, AD_OP_SUB, a, b);
}

/* ---- mul: y = a b */

void ad_tmul_forward(ad_tape *t, ad_node *y)
{
    BINARY_FORWARD(A * B);
}

/* dy/da = b, dy/db = a */
void ad_tmul_backward(ad_tape *t, ad_node *y)
{
    BINARY_BACKWARD(G * B, G * A);
}

ad_tensor ad_tmul(ad_tensor a, ad_tensor b)
{
    return binary(__func__, AD_OP_MUL, a, b);
}

/* ---- div: y = a / b */

void ad_tdiv_forward(ad_tape *t, ad_node *y)
{
    BINARY_FORWARD(A / B);
}

/* dy/da = 1/b, dy/db = -a/b^2 = -y/b */
void ad_tdiv_backward(ad_tape *t, ad_node *y)
{
    BINARY_BACKWARD(G / B, -G * Y / B);
}

ad_tensor ad_tdiv(ad_tensor a, ad_tensor b)
{
    return binary(__func__, AD_OP_DIV, a, b);
}

/* ---- pow: y = a^b */

void ad_tpow_forward(ad_tape *t, ad_node *y)
{
    BINARY_FORWARD(pow(A, B));
}

/* dy/da = b a^(b-1) (0 when b = 0, as a^0 is constant); dy/db = a^b log a,
 * defined for a > 0, taken as 0 at a = 0 (the limit for b > 0) and NaN for
 * a < 0, as the scalar ad_pow does. */
void ad_tpow_backward(ad_tape *t, ad_node *y)
{
    BINARY_BACKWARD(B == 0 ? (real)0 : G * B * pow(A, B - (real)1),
                    A > 0 ? G * Y * log(A) : (A == 0 ? (real)0 : (real)NAN));
}

ad_tensor ad_tpow(ad_tensor a, ad_tensor b)
{
    return binary(__func__, AD_OP_POW, a, b);
}

/* ---- maximum and minimum: a where a wins or ties (or is NaN, which
 * propagates as in NumPy), else b; the gradient follows the chosen side. */

#define A_WINS_MAX (A >= B || A != A)
#define A_WINS_MIN (A <= B || A != A)

void ad_tmaximum_forward(ad_tape *t, ad_node *y)
{
    BINARY_FORWARD(A_WINS_MAX ? A : B);
}

/* dy/da = [a chosen], dy/db = [b chosen] */
void ad_tmaximum_backward(ad_tape *t, ad_node *y)
{
    BINARY_BACKWARD(A_WINS_MAX ? G : (real)0, A_WINS_MAX ? (real)0 : G);
}

ad_tensor ad_tmaximum(ad_tensor a, ad_tensor b)
{
    return binary(__func__, AD_OP_MAXIMUM, a, b);
}

void ad_tminimum_forward(ad_tape *t, ad_node *y)
{
    BINARY_FORWARD(A_WINS_MIN ? A : B);
}

/* dy/da = [a chosen], dy/db = [b chosen] */
void ad_tminimum_backward(ad_tape *t, ad_node *y)
{
    BINARY_BACKWARD(A_WINS_MIN ? G : (real)0, A_WINS_MIN ? (real)0 : G);
}

ad_tensor ad_tminimum(ad_tensor a, ad_tensor b)
{
    return binary(__func__, AD_OP_MINIMUM, a, b);
}

/* ---- atan2: y = atan2(a, b), the angle of the point (b, a), a first as in
 * C's atan2 */

/* Through the vector kernel where neither input is stretched or one is a
 * single element (repeated into a stack buffer, a chunk at a time); other
 * broadcasts walk the elements with libm's atan2. */
#define ATAN2_VECTOR_T(T, SUF)                                                                     \
    do {                                                                                           \
        const T *a_ = an->value, *b_ = bn->value;                                                  \
        T *y_ = y->value, rep_[ATAN2_CHUNK];                                                       \
        if (an->numel == y->numel && bn->numel == y->numel) {                                      \
            ad_vatan2_##SUF(a_, b_, y_, y->numel);                                                 \
            break;                                                                                 \
        }                                                                                          \
        const T one_ = an->numel == 1 ? a_[0] : b_[0];                                             \
        for (size_t i_ = 0; i_ < ATAN2_CHUNK; i_++)                                                \
            rep_[i_] = one_;                                                                       \
        for (size_t c_ = 0; c_ < y->numel; c_ += ATAN2_CHUNK) {                                    \
            size_t m_ = y->numel - c_ < ATAN2_CHUNK ? y->numel - c_ : ATAN2_CHUNK;                 \
            if (an->numel == 1)                                                                    \
                ad_vatan2_##SUF(rep_, b_ + c_, y_ + c_, m_);                                       \
            else                                                                                   \
                ad_vatan2_##SUF(a_ + c_, rep_, y_ + c_, m_);                                       \
        }                                                                                          \
    } while (0)
enum { ATAN2_CHUNK = 256 };

void ad_tatan2_forward(ad_tape *t, ad_node *y)
{
    size_t na = ad_node_input(t, y, 0)->numel, nb = ad_node_input(t, y, 1)->numel;
    if (!(na == y->numel || na == 1) || !(nb == y->numel || nb == 1)) {
        BINARY_FORWARD(atan2(A, B));
        return;
    }
    const ad_node *an = ad_node_input(t, y, 0), *bn = ad_node_input(t, y, 1);
    if (y->dtype == AD_F32)
        ATAN2_VECTOR_T(float, f32);
    else
        ATAN2_VECTOR_T(double, f64);
}

/* sqrt(a^2 + b^2) without overflow or underflow, as C's hypot (+Inf if
 * either is infinite, else NaN if either is NaN), inline: libm's hypot is
 * several times slower. float32 squares in double, which holds them;
 * float64 scales by the larger magnitude (within 2 ulp). */
static inline double hypot_f64_(double a, double b)
{
    a = fabs(a), b = fabs(b);
    double s = a > b ? a : b, m = a > b ? b : a, r = m / s;
    double h = s == 0 ? 0.0 : s * sqrt(1.0 + r * r);
    return isinf(a) || isinf(b) ? HUGE_VAL : h;
}
static inline float hypot_f32_(float a, float b)
{
    double h = sqrt((double)a * (double)a + (double)b * (double)b);
    return isinf(a) || isinf(b) ? HUGE_VALF : (float)h;
}
#define HYPOT(a, b) _Generic((a), float : hypot_f32_, default : hypot_f64_)(a, b)

/* dy/da = b / r^2, dy/db = -a / r^2 with r = hypot(a, b), taken as (b / r) / r
 * so that neither overflows nor underflows where a^2 + b^2 would (as the
 * scalar ad_atan2 does); NaN at the origin */
void ad_tatan2_backward(ad_tape *t, ad_node *y)
{
    BINARY_BACKWARD(G * (B / HYPOT(A, B)) / HYPOT(A, B), -G * (A / HYPOT(A, B)) / HYPOT(A, B));
}

ad_tensor ad_tatan2(ad_tensor a, ad_tensor b)
{
    return binary(__func__, AD_OP_ATAN2, a, b);
}
