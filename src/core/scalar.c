/* SPDX-License-Identifier: MIT
 * Scalar nodes: each op computes its value and its local partials at record
 * time. An op on two records appends one 24-byte record, so the sweep never
 * dispatches; an op on one record folds its partial into the handle (see
 * ad_scalar in adtape.h) and records nothing. Constants are not recorded at
 * all: they are handles with index 0. */
/* This file also builds the library's exported copies of the inline scalar
 * ops (adtape.h declares them AD_API under AD_BUILDING_SCALAR_OPS, and
 * adtape/inline.h defines them), and checks the layout that inline code
 * relies on. */
#define AD_BUILDING_SCALAR_OPS
#include "tape.h"

#include "alloc.h"
#include "last_error.h"

#include <math.h>
#include <stddef.h>

/* ------------------------------------------------- the inline code's contract
 * adtape/inline.h reads and writes the engine's memory through its own view
 * of it; each fact that view relies on is checked here. */

/* It casts the ad_tape * in a handle to ad_tape_hot_ *. */
_Static_assert(offsetof(struct ad_tape, hot) == 0, "struct ad_tape starts with its hot part");
/* The sweep (backward.c), the segments (tape.c) and ad_srec_slot_ take
 * records as 24-byte ad_srec_ at origin + 24 i; ad_srec_write_'s streaming
 * store writes a and b as one 8-byte word (a in the low half: x86-64 is
 * little-endian) and da, db as 8-byte words, so each field must sit where
 * those stores land and every record keep 8-byte alignment. */
_Static_assert(sizeof(ad_srec_) == 24, "a scalar record is 24 bytes");
_Static_assert(offsetof(ad_srec_, a) == 0 && offsetof(ad_srec_, b) == 4,
               "operands a, b are one 8-byte word at offset 0, a in its low half");
_Static_assert(offsetof(ad_srec_, da) == 8 && offsetof(ad_srec_, db) == 16,
               "partials at offsets 8 and 16");
_Static_assert(sizeof(ad_srec_) % _Alignof(ad_srec_) == 0 && _Alignof(ad_srec_) == 8,
               "records stay 8-byte aligned at origin + 24 i (movnti needs it)");
#if defined(__x86_64__) && defined(__BYTE_ORDER__)
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "a | b << 32 puts a at offset 0");
#endif
/* Streaming stores write doubles as long long words (0LL for 0.0). */
_Static_assert(sizeof(double) == 8 && sizeof(long long) == 8, "8-byte doubles and words");
/* Handles: 32 bytes (DESIGN.md), index and generation packed into one
 * uint64_t for the slow path (ad_index_gen_, ad_from_slow_), and the
 * invalid index the fast path tests for is the engine's. */
_Static_assert(sizeof(ad_scalar) == 32, "a scalar handle is 32 bytes");
_Static_assert(sizeof(((ad_scalar *)0)->index_) == 4 && sizeof(((ad_scalar *)0)->gen_) == 4,
               "index and generation pack into one uint64_t");
_Static_assert(AD_INVALID_INDEX == UINT32_MAX, "ad_from_slow_ tests index UINT32_MAX");
/* Generations: the folded bit and the generation bits split the word, and
 * a dead tape's live_gen equals no masked generation, so every handle
 * misses the fast path while the tape is failed or not recording. */
_Static_assert((AD_FOLDED_ & AD_GEN_MASK_) == 0 && (AD_FOLDED_ | AD_GEN_MASK_) == UINT32_MAX,
               "the folded bit and the generation bits split gen_");
_Static_assert(AD_DEAD_GEN > AD_GEN_MASK_, "no masked generation equals AD_DEAD_GEN");
/* Dummies: index 0 (constants) is one, ad_grad's index >= AD_DUMMIES_
 * skips them, they fit in the first segment, and ns % AD_DUMMIES_ on the
 * fast path is a mask. */
_Static_assert(AD_DUMMIES_ >= 1 && AD_DUMMIES_ < AD_SEG0, "the dummies fill the first records");
_Static_assert((AD_DUMMIES_ & (AD_DUMMIES_ - 1)) == 0, "AD_DUMMIES_ is a power of two");
/* Record indices are uint32_t below the invalid index, and every segment
 * the tape can reach keeps them so. */
_Static_assert((uint64_t)AD_SEG0 *((UINT64_C(1) << AD_MAX_SEGS) - 1) <= UINT32_MAX,
               "every record index fits below AD_INVALID_INDEX");
/* ad_tanh_slope_ returns two doubles in registers. */
_Static_assert(sizeof(ad_value_slope_) == 16, "value and slope, two doubles");
/* Scalars computed with recording off point at a dummy, not at 0. */
_Static_assert(AD_UNRECORDED != 0 && AD_UNRECORDED < AD_DUMMIES_, "AD_UNRECORDED is a dummy");

static ad_scalar push_slow(ad_scalar a, ad_scalar b, int binary, double v, double da, double db,
                           const char *fn)
{
    ad_tape *t = a.tape_ ? a.tape_ : b.tape_;
    if (!t) {
        ad_no_tape("%s: input 0 is not a scalar handle (no tape: zero-initialised?)", fn);
        return ad_invalid_scalar(NULL);
    }
    if (t->err != AD_OK) return ad_invalid_scalar(t);
    /* inputs count from 0, as the tensor ops' do */
    const ad_scalar *h[2] = {&a, &b};
    for (int k = 0; k < (binary ? 2 : 1); k++) {
        const ad_scalar *x = h[k];
        if (!x->tape_) {
            ad_tape_fail(t, AD_ERR_INVALID,
                         "%s: input %d is not a scalar handle (no tape: zero-initialised?)", fn, k);
            return ad_invalid_scalar(t);
        }
        if (x->tape_ != t) {
            ad_tape_fail(t, AD_ERR_FOREIGN, "%s: input %d belongs to a different tape", fn, k);
            return ad_invalid_scalar(t);
        }
        if (x->index_ == AD_INVALID_INDEX || x->gen_ == 0) {
            ad_tape_fail(t, AD_ERR_INVALID,
                         "%s: input %d is an invalid scalar (the result of a failed op)", fn, k);
            return ad_invalid_scalar(t);
        }
        if ((x->gen_ & AD_GEN_MASK_) != t->hot.gen) {
            ad_tape_fail(t, AD_ERR_STALE, "%s: input %d was recorded before the last ad_tape_reset",
                         fn, k);
            return ad_invalid_scalar(t);
        }
    }
    /* a constant operand's partial is never used: an infinite one is no anomaly */
    bool da_ok = a.index_ == 0 || isfinite(da), db_ok = !binary || b.index_ == 0 || isfinite(db);
    if (t->anomaly && !(isfinite(v) && da_ok && db_ok)) {
        ad_tape_fail(t, AD_ERR_NUMERIC,
                     "%s: anomaly in the forward sweep: scalar record %zu (operands %zu, %zu) "
                     "produced %g with partials %g, %g",
                     fn, ad_srec_number(t->hot.ns), ad_srec_number(a.index_),
                     binary ? ad_srec_number(b.index_) : 0, v, da, binary ? db : 0.0);
        return ad_invalid_scalar(t);
    }
    ad_scalar out = {t, 0, t->hot.gen, v, 1.0};
    if (!t->recording) { /* evaluation mode: a value, no record */
        if (a.index_ != 0 || (binary && b.index_ != 0)) out.index_ = AD_UNRECORDED;
        return out;
    }
    if (a.index_ == 0 && (!binary || b.index_ == 0)) return out; /* constant in, constant out */
    if (t->hot.ns == t->hot.scap && !ad_srec_next_segment(t, fn)) return ad_invalid_scalar(t);
    uint32_t dummy = (uint32_t)t->hot.ns % AD_DUMMIES_;
    ad_srec_write_(&t->hot, a.index_ ? a.index_ : dummy, binary && b.index_ ? b.index_ : dummy, da,
                   binary ? db : 0.0);
    out.index_ = (uint32_t)t->hot.ns++;
    return out;
}

/* Everything off the inline fast path (adtape/inline.h): a NULL or failed
 * tape, a stale or foreign handle, evaluation or anomaly mode, constants
 * only, a full segment. da and db already include the operands' own derivatives
 * (ad_chain_); this path never folds, so anomaly mode sees every partial. */
uint64_t ad_scalar_push_slow_(ad_tape *ta, uint64_t a, ad_tape *tb, uint64_t b, int binary,
                              double v, double da, double db, const char *fn)
{
    ad_scalar ha = {ta, (uint32_t)a, (uint32_t)(a >> 32), 0.0, 1.0};
    ad_scalar hb = {tb, (uint32_t)b, (uint32_t)(b >> 32), 0.0, 1.0};
    return ad_index_gen_(push_slow(ha, hb, binary, v, da, db, fn));
}

ad_scalar ad_keep(ad_scalar x)
{
    const ad_tape *t = x.tape_;
    if (!t) ad_no_tape("ad_keep: the scalar handle has no tape (zero-initialised?)");
    if (!t || x.index_ == AD_INVALID_INDEX || !(x.gen_ & AD_FOLDED_)) return x;
    return push_slow(x, x, 0, x.value_, x.mult_, 0.0, "ad_keep");
}

ad_scalar ad_scalar_leaf(ad_tape *t, double value, const char *fn)
{
    if (!t) {
        ad_no_tape("%s: the tape is NULL", fn);
        return ad_invalid_scalar(NULL);
    }
    if (t->err != AD_OK) return ad_invalid_scalar(t);
    ad_scalar out = {t, AD_UNRECORDED, t->hot.gen, value, 1.0};
    if (!t->recording) return out; /* evaluation mode: no record, no gradient */
    if (t->hot.ns == t->hot.scap && !ad_srec_next_segment(t, fn)) return ad_invalid_scalar(t);
    ad_leaf_write_(&t->hot);
    out.index_ = (uint32_t)t->hot.ns++;
    return out;
}

uint64_t ad_variable_slow_(ad_tape *t, double value)
{
    if (t && t->err == AD_OK && t->recording && t->anomaly && !isfinite(value)) {
        ad_tape_fail(t, AD_ERR_NUMERIC,
                     "ad_variable: anomaly in the forward sweep: variable %zu has value %g",
                     ad_srec_number(t->hot.ns), value);
        return ad_index_gen_(ad_invalid_scalar(t));
    }
    return ad_index_gen_(ad_scalar_leaf(t, value, "ad_variable"));
}

ad_scalar ad_constant(ad_tape *t, double value)
{
    if (!t) {
        ad_no_tape("ad_constant: the tape is NULL");
        return ad_invalid_scalar(NULL);
    }
    if (t->err != AD_OK) return ad_invalid_scalar(t);
    ad_scalar out = {t, 0, t->hot.gen, value, 0.0};
    return out;
}

double ad_value(ad_scalar x)
{
    if (!x.tape_) ad_no_tape("ad_value: the scalar handle has no tape (zero-initialised?)");
    return ad_scalar_ok(x) ? x.value_ : (double)NAN; /* zeroed handles too */
}

ad_tape *ad_scalar_tape(ad_scalar x)
{
    return x.tape_;
}

bool ad_scalar_ok(ad_scalar x)
{
    return x.tape_ && x.index_ != AD_INVALID_INDEX && x.gen_ != 0;
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
    return ad_push2_(a, b, v, da, db, "ad_pow");
}

ad_scalar ad_powc(ad_scalar a, double p)
{
    double v = pow(a.value_, p);
    double da = p == 0.0 ? 0.0 : p * pow(a.value_, p - 1.0);
    return ad_push1_(a, v, da, "ad_powc");
}

/* libm's pow, as the plain C pow(x, n) the user would write: repeated
 * squaring compounds a rounding per square (1e-11 relative at n = 10^6).
 * pow is defined for a < 0 and integral exponents. */
ad_scalar ad_powi(ad_scalar a, int p)
{
    double v = pow(a.value_, (double)p);
    double da = p == 0 ? 0.0 : (double)p * pow(a.value_, (double)p - 1.0);
    return ad_push1_(a, v, da, "ad_powi");
}

/* d(c^a) = c^a log(c); at c == 0 we use 0, as ad_pow does (c^a is 0 for
 * a > 0, and 0 * log(0) would be NaN) */
ad_scalar ad_rpow(double c, ad_scalar a)
{
    double v = pow(c, a.value_);
    return ad_push1_(a, v, c == 0.0 ? 0.0 : v * log(c), "ad_rpow");
}

/* ------------------------------------------------------- kinks */

/* Ties pass the whole adjoint to the first operand. fmin and fmax return
 * the other operand when one is NaN, and so does the adjoint. */
static bool first_wins(double a, double b, bool b_better)
{
    if (isnan(b)) return true; /* a, or NaN if both are */
    if (isnan(a)) return false;
    return !b_better;
}

ad_scalar ad_fmin(ad_scalar a, ad_scalar b)
{
    bool first = first_wins(a.value_, b.value_, b.value_ < a.value_);
    return ad_push2_(a, b, fmin(a.value_, b.value_), first ? 1.0 : 0.0, first ? 0.0 : 1.0,
                     "ad_fmin");
}

ad_scalar ad_fmax(ad_scalar a, ad_scalar b)
{
    bool first = first_wins(a.value_, b.value_, b.value_ > a.value_);
    return ad_push2_(a, b, fmax(a.value_, b.value_), first ? 1.0 : 0.0, first ? 0.0 : 1.0,
                     "ad_fmax");
}

/* d hypot = (a da + b db) / hypot: the slopes a / hypot(a, b) and
 * b / hypot(a, b), from the legs scaled by the larger one: a / v is 0 when
 * v overflows (a = b = 1.5e308) and NaN for an infinite leg. An infinite
 * leg's slope is its sign and the other's 0 (both infinite: the diagonal);
 * at the origin both are 0 (a subgradient). */
static void hypot_slopes(double a, double b, double *da, double *db)
{
    double s = fmax(fabs(a), fabs(b));
    if (isinf(s)) {
        double w = isinf(a) && isinf(b) ? sqrt(0.5) : 1.0;
        *da = isinf(a) ? copysign(w, a) : 0.0 * a; /* 0 * NaN stays NaN */
        *db = isinf(b) ? copysign(w, b) : 0.0 * b;
    } else if (s == 0.0) {
        *da = *db = 0.0;
    } else {
        double as = a / s, bs = b / s, r = hypot(as, bs);
        *da = as / r;
        *db = bs / r;
    }
}

ad_scalar ad_hypot(ad_scalar a, ad_scalar b)
{
    double da, db;
    hypot_slopes(a.value_, b.value_, &da, &db);
    return ad_push2_(a, b, hypot(a.value_, b.value_), da, db, "ad_hypot");
}

/* sigmoid' = s (1 - s); the two branches avoid overflow of exp */
ad_scalar ad_sigmoid(ad_scalar a)
{
    double x = a.value_, e = exp(-fabs(x)); /* never overflows */
    double s = x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    /* s' = s (1 - s) = e / (1 + e)^2: the second form keeps full precision
     * where s rounds to 1 (x = 40: 4.2e-18, not 0) */
    return ad_push1_(a, s, e / ((1.0 + e) * (1.0 + e)), "ad_sigmoid");
}

/* Only a b that is no handle at all makes it unary: a constant b goes
 * through the binary checks (its tape and generation), and its partial,
 * like any constant's, reaches no adjoint but a dummy's. */
ad_scalar ad_custom2(ad_scalar a, ad_scalar b, double v, double da, double db)
{
    if (!ad_scalar_ok(b)) return ad_push1_(a, v, da, "ad_custom2");
    return ad_push2_(a, b, v, da, db, "ad_custom2");
}
