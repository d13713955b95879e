/* SPDX-License-Identifier: MIT
 * dropout: in training, each element is kept with probability 1 - p and
 * scaled by 1/(1 - p) (inverted dropout: evaluation needs no rescaling), or
 * zeroed; the mask comes from the caller's ad_rng and is saved (one byte an
 * element) for the backward. In evaluation, and for p = 0, it is the
 * identity and records nothing. */
#include "ops.h"

#include "core/last_error.h"

#include <math.h>
#include <stdint.h>

/* attr_f[0] = p, attr_f[1] = 1/(1 - p); ctx: the ad_rng while recording,
 * then the mask (numel bytes, 1 = kept). */

bool ad_shape_dropout(ad_tape *t, ad_node *y, const char *fn)
{
    const ad_node *x = ad_node_input(t, y, 0);
    double p = y->attr_f[0];
    if (!(p >= 0 && p < 1)) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: p is %g; the rate must be in [0, 1)", fn, p);
        return false;
    }
    if (!y->ctx) {
        ad_tape_fail(t, AD_ERR_INVALID,
                     "%s: rng is NULL; training with p = %g draws its mask from it", fn, p);
        return false;
    }
    y->ndim = x->ndim;
    for (size_t d = 0; d < AD_MAX_DIMS; d++)
        y->dims[d] = x->dims[d];
    return true;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* The step of ad_rng_next (core/rng.c), inline on a local copy of the
 * state: a call per 64 bits cost as much as the rest of the mask. The
 * stream is the same (tests/test_dropout.c checks the state afterwards). */
static inline uint64_t next(uint64_t s[4])
{
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Element i is kept when its 32-bit draw is at least p 2^32, so it is
 * kept with probability 1 - p to within 2^-32; each draw of 64 bits
 * serves two elements, the low half first. */
static void draw_mask(ad_rng *r, double p, unsigned char *mask, size_t n)
{
    const uint64_t thr = (uint64_t)(p * 4294967296.0); /* p < 1: below 2^32 */
    uint64_t s[4] = {r->s[0], r->s[1], r->s[2], r->s[3]};
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        uint64_t v = next(s);
        mask[i] = (unsigned char)((v & 0xFFFFFFFFu) >= thr);
        mask[i + 1] = (unsigned char)((v >> 32) >= thr);
    }
    if (i < n) mask[i] = (unsigned char)((next(s) & 0xFFFFFFFFu) >= thr);
    for (int k = 0; k < 4; k++)
        r->s[k] = s[k];
}

#define DROPOUT_FORWARD(TY)                                                                        \
    do {                                                                                           \
        const TY *x_ = x->value, sc_ = (TY)y->attr_f[1];                                           \
        TY *y_ = y->value;                                                                         \
        for (size_t i_ = 0; i_ < y->numel; i_++)                                                   \
            y_[i_] = mask[i_] ? x_[i_] * sc_ : (TY)0;                                              \
    } while (0)

void ad_dropout_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    unsigned char *mask = ad_tape_alloc(t, y->numel + 1, "ad_dropout");
    if (!mask) return; /* the tape has failed */
    draw_mask(y->ctx, y->attr_f[0], mask, y->numel);
    y->ctx = mask; /* the generator is the caller's: not kept */
    if (y->dtype == AD_F32)
        DROPOUT_FORWARD(float);
    else
        DROPOUT_FORWARD(double);
}

/* dy/dx = mask / (1 - p): a dropped element passes no gradient, not even a
 * NaN one. */
#define DROPOUT_BACKWARD(TY)                                                                       \
    do {                                                                                           \
        const TY *g_ = y->grad, sc_ = (TY)y->attr_f[1];                                            \
        TY *gx_ = gx;                                                                              \
        for (size_t i_ = 0; i_ < y->numel; i_++)                                                   \
            gx_[i_] += mask[i_] ? g_[i_] * sc_ : (TY)0;                                            \
    } while (0)

void ad_dropout_backward(ad_tape *t, ad_node *y)
{
    void *gx = ad_input_grad(t, y, 0);
    if (!gx) return;
    const unsigned char *mask = y->ctx;
    if (y->dtype == AD_F32)
        DROPOUT_BACKWARD(float);
    else
        DROPOUT_BACKWARD(double);
}

ad_tensor ad_dropout(ad_tensor x, double p, bool training, ad_rng *rng)
{
    const char *fn = __func__;
    ad_tape *t = x.tape_;
    if (!t) {
        ad_no_tape("%s: the input has no tape (a zero-initialised handle?)", fn);
        return ad_invalid_tensor(NULL);
    }
    if (t->err != AD_OK) return ad_invalid_tensor(t);
    if (!(p >= 0 && p < 1)) {
        ad_tape_fail(t, AD_ERR_INVALID, "%s: p is %g; the rate must be in [0, 1)", fn, p);
        return ad_invalid_tensor(t);
    }
    if (!training || p == 0) /* the identity: x itself, once it is known to be good */
        return ad_tensor_node(x, fn) ? x : ad_invalid_tensor(t);
    ad_op_attrs at = {{p, 1.0 / (1.0 - p)}, {0, 0, 0, 0}, rng};
    return ad_op_record(fn, AD_OP_DROPOUT, &x, 1, &at);
}
