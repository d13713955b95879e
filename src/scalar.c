/* SPDX-License-Identifier: MIT
 * Scalar nodes: each op computes its value and its local partials at record
 * time and appends one 24-byte record, so the sweep never dispatches.
 * Constants are not recorded at all: they are handles with index 0. */
#include "tape.h"

#include "alloc.h"

#include <math.h>

/* Everything off the fast path: a NULL or failed tape, a stale or foreign
 * handle, evaluation mode, or a full record array. */
static ad_scalar slow_push(ad_scalar a, ad_scalar b, bool binary, double v, double da, double db,
                           const char *fn)
{
    ad_tape *t = a.tape_ ? a.tape_ : b.tape_;
    if (!t) return ad_invalid_scalar(NULL);
    if (t->err != AD_OK) return ad_invalid_scalar(t);
    const ad_scalar *h[2] = {&a, &b};
    for (int k = 0; k < (binary ? 2 : 1); k++) {
        const ad_scalar *x = h[k];
        if (x->tape_ != t) {
            ad_tape_fail(t, AD_ERR_FOREIGN, "%s: operand %d belongs to a different tape", fn,
                         k + 1);
            return ad_invalid_scalar(t);
        }
        if (x->index_ == AD_INVALID_INDEX || x->gen_ == 0) {
            ad_tape_fail(t, AD_ERR_INVALID,
                         "%s: operand %d is an invalid scalar (the result of a failed op)", fn,
                         k + 1);
            return ad_invalid_scalar(t);
        }
        if (x->gen_ != t->gen) {
            ad_tape_fail(t, AD_ERR_STALE,
                         "%s: operand %d was recorded before the last ad_tape_reset", fn, k + 1);
            return ad_invalid_scalar(t);
        }
    }
    ad_scalar out = {t, 0, t->gen, v};
    if (!t->recording) return out; /* evaluation mode: a value, no record */
    if (a.index_ == 0 && (!binary || b.index_ == 0)) return out; /* constant in, constant out */
    if (t->ns == t->scap && !ad_srec_next_segment(t, fn)) return ad_invalid_scalar(t);
    ad_srec *r = &t->srec[t->ns - t->seg_base];
    r->a = a.index_;
    r->b = binary ? b.index_ : 0;
    r->da = da;
    r->db = binary ? db : 0.0;
    out.index_ = (uint32_t)t->ns++;
    return out;
}

/* The fast path: both handles current on a healthy recording tape (live_gen
 * is AD_DEAD_GEN otherwise, which no handle carries), and room for a record. */
static inline ad_scalar push2(ad_scalar a, ad_scalar b, double v, double da, double db,
                              const char *fn)
{
    ad_tape *t = a.tape_;
    if (AD_LIKELY(t && t == b.tape_ && a.gen_ == t->live_gen && b.gen_ == t->live_gen &&
                  t->ns < t->scap && (a.index_ | b.index_) != 0)) {
        ad_srec *r = &t->srec[t->ns - t->seg_base];
        r->a = a.index_;
        r->b = b.index_;
        r->da = da;
        r->db = db;
        ad_scalar out = {t, (uint32_t)t->ns++, a.gen_, v};
        return out;
    }
    return slow_push(a, b, true, v, da, db, fn);
}

static inline ad_scalar push1(ad_scalar a, double v, double da, const char *fn)
{
    ad_tape *t = a.tape_;
    if (AD_LIKELY(t && a.gen_ == t->live_gen && t->ns < t->scap && a.index_ != 0)) {
        ad_srec *r = &t->srec[t->ns - t->seg_base];
        r->a = a.index_;
        r->b = 0;
        r->da = da;
        r->db = 0.0;
        ad_scalar out = {t, (uint32_t)t->ns++, a.gen_, v};
        return out;
    }
    return slow_push(a, a, false, v, da, 0.0, fn);
}

ad_scalar ad_scalar_leaf(ad_tape *t, double value, const char *fn)
{
    if (!t) return ad_invalid_scalar(NULL);
    if (t->err != AD_OK) return ad_invalid_scalar(t);
    ad_scalar out = {t, 0, t->gen, value};
    if (!t->recording) return out;
    if (t->ns == t->scap && !ad_srec_next_segment(t, fn)) return ad_invalid_scalar(t);
    /* a leaf is a record whose inputs are the dummy */
    t->srec[t->ns - t->seg_base] = (ad_srec){0, 0, 0.0, 0.0};
    out.index_ = (uint32_t)t->ns++;
    return out;
}

ad_scalar ad_variable(ad_tape *t, double value)
{
    return ad_scalar_leaf(t, value, "ad_variable");
}

ad_scalar ad_constant(ad_tape *t, double value)
{
    if (!t) return ad_invalid_scalar(NULL);
    if (t->err != AD_OK) return ad_invalid_scalar(t);
    ad_scalar out = {t, 0, t->gen, value};
    return out;
}

double ad_value(ad_scalar x)
{
    return x.index_ == AD_INVALID_INDEX ? (double)NAN : x.value_;
}

double ad_grad(ad_scalar x)
{
    ad_tape *t = x.tape_;
    if (!t || x.index_ == 0 || x.index_ == AD_INVALID_INDEX || x.gen_ != t->gen) return 0.0;
    if (x.index_ >= t->ns || !t->adj || x.index_ >= t->adj_cap) return 0.0;
    return t->adj[x.index_];
}

ad_tape *ad_scalar_tape(ad_scalar x)
{
    return x.tape_;
}

bool ad_scalar_ok(ad_scalar x)
{
    return x.tape_ && x.index_ != AD_INVALID_INDEX && x.gen_ != 0;
}

/* ------------------------------------------------------- arithmetic */

ad_scalar ad_add(ad_scalar a, ad_scalar b)
{
    return push2(a, b, a.value_ + b.value_, 1.0, 1.0, "ad_add");
}

ad_scalar ad_sub(ad_scalar a, ad_scalar b)
{
    return push2(a, b, a.value_ - b.value_, 1.0, -1.0, "ad_sub");
}

ad_scalar ad_mul(ad_scalar a, ad_scalar b)
{
    return push2(a, b, a.value_ * b.value_, b.value_, a.value_, "ad_mul");
}

/* d(a/b) = 1/b da - (a/b)/b db */
ad_scalar ad_div(ad_scalar a, ad_scalar b)
{
    double inv = 1.0 / b.value_;
    double v = a.value_ * inv;
    return push2(a, b, v, inv, -v * inv, "ad_div");
}

ad_scalar ad_neg(ad_scalar a)
{
    return push1(a, -a.value_, -1.0, "ad_neg");
}

ad_scalar ad_addc(ad_scalar a, double c)
{
    return push1(a, a.value_ + c, 1.0, "ad_addc");
}

ad_scalar ad_subc(ad_scalar a, double c)
{
    return push1(a, a.value_ - c, 1.0, "ad_subc");
}

ad_scalar ad_rsub(double c, ad_scalar a)
{
    return push1(a, c - a.value_, -1.0, "ad_rsub");
}

ad_scalar ad_scale(ad_scalar a, double c)
{
    return push1(a, a.value_ * c, c, "ad_scale");
}

ad_scalar ad_divc(ad_scalar a, double c)
{
    return push1(a, a.value_ / c, 1.0 / c, "ad_divc");
}

/* d(c/a) = -c/a^2 */
ad_scalar ad_rdiv(double c, ad_scalar a)
{
    double v = c / a.value_;
    return push1(a, v, -v / a.value_, "ad_rdiv");
}

ad_scalar ad_square(ad_scalar a)
{
    return push1(a, a.value_ * a.value_, 2.0 * a.value_, "ad_square");
}

/* ------------------------------------------------------- powers */

/* d(a^b) = b a^(b-1) da + a^b log(a) db. The b-partial is only defined for
 * a > 0; at a == 0 we use 0 (the limit from the right when b > 0), and for
 * a < 0 NaN, as the real function has no derivative in b there. */
ad_scalar ad_pow(ad_scalar a, ad_scalar b)
{
    double v = pow(a.value_, b.value_);
    double da = b.value_ == 0.0 ? 0.0 : b.value_ * pow(a.value_, b.value_ - 1.0);
    double db = a.value_ > 0.0 ? v * log(a.value_) : a.value_ == 0.0 ? 0.0 : (double)NAN;
    if (b.index_ == 0) db = 0.0; /* a constant exponent needs no log */
    return push2(a, b, v, da, db, "ad_pow");
}

ad_scalar ad_powc(ad_scalar a, double p)
{
    double v = pow(a.value_, p);
    double da = p == 0.0 ? 0.0 : p * pow(a.value_, p - 1.0);
    return push1(a, v, da, "ad_powc");
}

ad_scalar ad_powi(ad_scalar a, int p)
{
    /* repeated squaring keeps integer powers exact and defined for a < 0 */
    double base = a.value_, acc = 1.0, prev = 1.0;
    unsigned long e = p < 0 ? (unsigned long)(-(long)p) : (unsigned long)p;
    unsigned long em1 = e ? e - 1 : 0;
    double b2 = base;
    for (unsigned long k = e; k; k >>= 1, b2 *= b2)
        if (k & 1) acc *= b2;
    b2 = base;
    for (unsigned long k = em1; k; k >>= 1, b2 *= b2)
        if (k & 1) prev *= b2;
    double v, da;
    if (p >= 0) {
        v = acc;
        da = p == 0 ? 0.0 : (double)p * prev; /* p a^(p-1) */
    } else {
        v = 1.0 / acc;
        da = (double)p / (acc * base); /* p a^(p-1) = p / a^(|p|+1) */
    }
    return push1(a, v, da, "ad_powi");
}

ad_scalar ad_rpow(double c, ad_scalar a)
{
    double v = pow(c, a.value_);
    return push1(a, v, v * log(c), "ad_rpow");
}

ad_scalar ad_sqrt(ad_scalar a)
{
    double v = sqrt(a.value_);
    return push1(a, v, 0.5 / v, "ad_sqrt");
}

ad_scalar ad_cbrt(ad_scalar a)
{
    double v = cbrt(a.value_);
    return push1(a, v, 1.0 / (3.0 * v * v), "ad_cbrt");
}

/* ------------------------------------------------------- exp and log */

ad_scalar ad_exp(ad_scalar a)
{
    double v = exp(a.value_);
    return push1(a, v, v, "ad_exp");
}

ad_scalar ad_expm1(ad_scalar a)
{
    double v = expm1(a.value_);
    return push1(a, v, v + 1.0, "ad_expm1");
}

ad_scalar ad_log(ad_scalar a)
{
    return push1(a, log(a.value_), 1.0 / a.value_, "ad_log");
}

ad_scalar ad_log1p(ad_scalar a)
{
    return push1(a, log1p(a.value_), 1.0 / (1.0 + a.value_), "ad_log1p");
}

/* ------------------------------------------------------- trigonometry */

ad_scalar ad_sin(ad_scalar a)
{
    return push1(a, sin(a.value_), cos(a.value_), "ad_sin");
}

ad_scalar ad_cos(ad_scalar a)
{
    return push1(a, cos(a.value_), -sin(a.value_), "ad_cos");
}

/* tan' = 1 + tan^2 */
ad_scalar ad_tan(ad_scalar a)
{
    double v = tan(a.value_);
    return push1(a, v, 1.0 + v * v, "ad_tan");
}

ad_scalar ad_asin(ad_scalar a)
{
    return push1(a, asin(a.value_), 1.0 / sqrt(1.0 - a.value_ * a.value_), "ad_asin");
}

ad_scalar ad_acos(ad_scalar a)
{
    return push1(a, acos(a.value_), -1.0 / sqrt(1.0 - a.value_ * a.value_), "ad_acos");
}

ad_scalar ad_atan(ad_scalar a)
{
    return push1(a, atan(a.value_), 1.0 / (1.0 + a.value_ * a.value_), "ad_atan");
}

/* d atan2(y, x) = (x dy - y dx) / (x^2 + y^2) */
ad_scalar ad_atan2(ad_scalar y, ad_scalar x)
{
    double r2 = x.value_ * x.value_ + y.value_ * y.value_;
    return push2(y, x, atan2(y.value_, x.value_), x.value_ / r2, -y.value_ / r2, "ad_atan2");
}

ad_scalar ad_sinh(ad_scalar a)
{
    return push1(a, sinh(a.value_), cosh(a.value_), "ad_sinh");
}

ad_scalar ad_cosh(ad_scalar a)
{
    return push1(a, cosh(a.value_), sinh(a.value_), "ad_cosh");
}

ad_scalar ad_tanh(ad_scalar a)
{
    double v = tanh(a.value_);
    return push1(a, v, 1.0 - v * v, "ad_tanh");
}

/* erf' = 2/sqrt(pi) e^(-x^2) */
ad_scalar ad_erf(ad_scalar a)
{
    const double two_over_sqrt_pi = 1.1283791670955126;
    return push1(a, erf(a.value_), two_over_sqrt_pi * exp(-a.value_ * a.value_), "ad_erf");
}

/* ------------------------------------------------------- kinks */

/* fabs'(0) = 0: the subgradient that ReLU'(0) = 0 also uses */
ad_scalar ad_fabs(ad_scalar a)
{
    double x = a.value_;
    return push1(a, fabs(x), x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : 0.0, "ad_fabs");
}

/* ties pass the whole adjoint to the first operand */
ad_scalar ad_fmin(ad_scalar a, ad_scalar b)
{
    bool first = !(b.value_ < a.value_) || isnan(b.value_);
    return push2(a, b, fmin(a.value_, b.value_), first ? 1.0 : 0.0, first ? 0.0 : 1.0, "ad_fmin");
}

ad_scalar ad_fmax(ad_scalar a, ad_scalar b)
{
    bool first = !(b.value_ > a.value_) || isnan(b.value_);
    return push2(a, b, fmax(a.value_, b.value_), first ? 1.0 : 0.0, first ? 0.0 : 1.0, "ad_fmax");
}

/* d hypot = (a da + b db) / hypot; at the origin we use 0 (a subgradient) */
ad_scalar ad_hypot(ad_scalar a, ad_scalar b)
{
    double v = hypot(a.value_, b.value_);
    double da = v > 0.0 ? a.value_ / v : 0.0, db = v > 0.0 ? b.value_ / v : 0.0;
    return push2(a, b, v, da, db, "ad_hypot");
}

/* sigmoid' = s (1 - s); the two branches avoid overflow of exp */
ad_scalar ad_sigmoid(ad_scalar a)
{
    double x = a.value_, s;
    if (x >= 0) {
        s = 1.0 / (1.0 + exp(-x));
    } else {
        double e = exp(x);
        s = e / (1.0 + e);
    }
    return push1(a, s, s * (1.0 - s), "ad_sigmoid");
}

ad_scalar ad_custom2(ad_scalar a, ad_scalar b, double v, double da, double db)
{
    if (!ad_scalar_ok(b) || b.index_ == 0) return push1(a, v, da, "ad_custom2");
    return push2(a, b, v, da, db, "ad_custom2");
}
