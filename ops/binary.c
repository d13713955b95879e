/* SPDX-License-Identifier: MIT
 * Elementwise binary ops with NumPy broadcasting: add, sub, mul, div, pow,
 * maximum, minimum. Shapes and the walk over elements come from broadcast.h;
 * a gradient into a stretched input is summed back to its shape there. */
#include "broadcast.h"

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

static bool add_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_bcast_shape(t, y, fn);
}

static void add_forward(ad_tape *t, ad_node *y)
{
    BINARY_FORWARD(A + B);
}

/* dy/da = dy/db = 1 */
static void add_backward(ad_tape *t, ad_node *y)
{
    pass_through(t, y, 1.0, 1.0);
}

const ad_op_def ad_op_def_add = {"tadd", 2, add_shape, add_forward, add_backward, NULL};

/* ---- sub: y = a - b */

static bool sub_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_bcast_shape(t, y, fn);
}

static void sub_forward(ad_tape *t, ad_node *y)
{
    BINARY_FORWARD(A - B);
}

/* dy/da = 1, dy/db = -1 */
static void sub_backward(ad_tape *t, ad_node *y)
{
    pass_through(t, y, 1.0, -1.0);
}

const ad_op_def ad_op_def_sub = {"tsub", 2, sub_shape, sub_forward, sub_backward, NULL};

/* ---- mul: y = a b */

static bool mul_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_bcast_shape(t, y, fn);
}

static void mul_forward(ad_tape *t, ad_node *y)
{
    BINARY_FORWARD(A * B);
}

/* dy/da = b, dy/db = a */
static void mul_backward(ad_tape *t, ad_node *y)
{
    BINARY_BACKWARD(G * B, G * A);
}

const ad_op_def ad_op_def_mul = {"tmul", 2, mul_shape, mul_forward, mul_backward, NULL};

/* ---- div: y = a / b */

static bool div_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_bcast_shape(t, y, fn);
}

static void div_forward(ad_tape *t, ad_node *y)
{
    BINARY_FORWARD(A / B);
}

/* dy/da = 1/b, dy/db = -a/b^2 = -y/b */
static void div_backward(ad_tape *t, ad_node *y)
{
    BINARY_BACKWARD(G / B, -G * Y / B);
}

const ad_op_def ad_op_def_div = {"tdiv", 2, div_shape, div_forward, div_backward, NULL};

/* ---- pow: y = a^b */

static bool pow_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_bcast_shape(t, y, fn);
}

static void pow_forward(ad_tape *t, ad_node *y)
{
    BINARY_FORWARD(pow(A, B));
}

/* dy/da = b a^(b-1) (0 when b = 0, as a^0 is constant); dy/db = a^b log a,
 * defined for a > 0, taken as 0 at a = 0 (the limit for b > 0) and NaN for
 * a < 0, as the scalar ad_pow does. */
static void pow_backward(ad_tape *t, ad_node *y)
{
    BINARY_BACKWARD(B == 0 ? (real)0 : G * B * pow(A, B - (real)1),
                    A > 0 ? G * Y * log(A) : (A == 0 ? (real)0 : (real)NAN));
}

const ad_op_def ad_op_def_pow = {"tpow", 2, pow_shape, pow_forward, pow_backward, NULL};

/* ---- maximum and minimum: a where a wins or ties (or is NaN, which
 * propagates as in NumPy), else b; the gradient follows the chosen side. */

#define A_WINS_MAX (A >= B || A != A)
#define A_WINS_MIN (A <= B || A != A)

static bool maximum_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_bcast_shape(t, y, fn);
}

static void maximum_forward(ad_tape *t, ad_node *y)
{
    BINARY_FORWARD(A_WINS_MAX ? A : B);
}

/* dy/da = [a chosen], dy/db = [b chosen] */
static void maximum_backward(ad_tape *t, ad_node *y)
{
    BINARY_BACKWARD(A_WINS_MAX ? G : (real)0, A_WINS_MAX ? (real)0 : G);
}

const ad_op_def ad_op_def_maximum = {"tmaximum",       2,   maximum_shape, maximum_forward,
                                     maximum_backward, NULL};

static bool minimum_shape(ad_tape *t, ad_node *y, const char *fn)
{
    return ad_bcast_shape(t, y, fn);
}

static void minimum_forward(ad_tape *t, ad_node *y)
{
    BINARY_FORWARD(A_WINS_MIN ? A : B);
}

/* dy/da = [a chosen], dy/db = [b chosen] */
static void minimum_backward(ad_tape *t, ad_node *y)
{
    BINARY_BACKWARD(A_WINS_MIN ? G : (real)0, A_WINS_MIN ? (real)0 : G);
}

const ad_op_def ad_op_def_minimum = {"tminimum",       2,   minimum_shape, minimum_forward,
                                     minimum_backward, NULL};

/* ---- public entry points */

static ad_tensor binary(const char *fn, uint16_t op, ad_tensor a, ad_tensor b)
{
    ad_tensor ins[2] = {a, b};
    return ad_op_record(fn, op, ins, 2, NULL);
}

ad_tensor ad_tadd(ad_tensor a, ad_tensor b)
{
    return binary("ad_tadd", AD_OP_ADD, a, b);
}

ad_tensor ad_tsub(ad_tensor a, ad_tensor b)
{
    return binary("ad_tsub", AD_OP_SUB, a, b);
}

ad_tensor ad_tmul(ad_tensor a, ad_tensor b)
{
    return binary("ad_tmul", AD_OP_MUL, a, b);
}

ad_tensor ad_tdiv(ad_tensor a, ad_tensor b)
{
    return binary("ad_tdiv", AD_OP_DIV, a, b);
}

ad_tensor ad_tpow(ad_tensor a, ad_tensor b)
{
    return binary("ad_tpow", AD_OP_POW, a, b);
}

ad_tensor ad_tmaximum(ad_tensor a, ad_tensor b)
{
    return binary("ad_tmaximum", AD_OP_MAXIMUM, a, b);
}

ad_tensor ad_tminimum(ad_tensor a, ad_tensor b)
{
    return binary("ad_tminimum", AD_OP_MINIMUM, a, b);
}
