/* SPDX-License-Identifier: MIT
 * adtape/inline.h: the scalar fast path, inline. adtape.h includes this file
 * at its end; include adtape.h, not this file.
 *
 * PRIVATE. Nothing here is API: every name in this file ends in `_` and, with
 * the layout of every struct here, may change in any release (see STYLE.md,
 * "Headers"). The public scalar ops defined below are declared and documented
 * in adtape.h. The engine checks every layout fact this file relies on at
 * compile time (src/core/scalar.c). */
#ifndef ADTAPE_INLINE_H
#define ADTAPE_INLINE_H

/* Included on its own (a build that force-includes every header), this pulls
 * in the manual first, which includes this file again at its end: the guard
 * above stops that, and the definitions below follow the declarations. */
#include "adtape.h"

#include <stdint.h>
#if !defined(__GNUC__)
#include <math.h> /* NAN and libm; GCC and clang use their builtins instead */
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* This file must compile without a warning under the strictest flags a user
 * may build with (tests/strict_headers.c, `make check-strict-headers`): gcc
 * -Wconversion -Wfloat-equal -Wcast-align..., clang -Weverything, C++ with
 * -Wold-style-cast. Hence the named casts in C++, the quiet comparison
 * macros for floating-point equality and no declaration after a statement.
 *
 * Casts: C's in C, C++'s named casts in C++. AD_CAST_ converts a value,
 * AD_PTR_CAST_ reinterprets a pointer (or the integer the record origin is
 * kept in). Both compile to what the C cast does. */
#ifdef __cplusplus
#define AD_CAST_(T, x)     static_cast<T>(x)
#define AD_PTR_CAST_(T, x) reinterpret_cast<T>(x)
#else
#define AD_CAST_(T, x)     ((T)(x))
#define AD_PTR_CAST_(T, x) ((T)(x))
#endif

/* ---------------------------------------------- the tape, as the fast path sees it
 * A scalar record, and the part of a tape (struct ad_tape starts with it)
 * that the inline arithmetic reads and writes. */
typedef struct ad_srec_ {
    uint32_t a, b; /* operand records (a dummy for leaves, constants and unary ops) */
    double da, db; /* local partials d(out)/d(a), d(out)/d(b) */
} ad_srec_;
/* Records 0 .. AD_DUMMIES_-1 are dummies whose adjoints soak up the products
 * of missing operands, so the sweep needs no branch. A record points at dummy
 * (its index mod AD_DUMMIES_), not always at 0: the sweep's read-add-write
 * of one shared slot would chain every unary record to the one before. */
#define AD_DUMMIES_ 8u
/* The bit of ad_scalar.gen_ that marks a folded handle: one whose value
 * depends on record index_ through mult_ but that has no record of its own
 * (see ad_scalar and ad_keep in adtape.h). The other bits are the tape's
 * generation. */
#define AD_FOLDED_   0x80000000u
#define AD_GEN_MASK_ 0x7fffffffu
typedef struct ad_tape_hot_ {
    uint32_t gen;      /* current generation */
    uint32_t live_gen; /* == gen while healthy and recording, else a value no handle has */
    /* where record 0 would be if the current segment reached down to it:
     * record i of the segment is at srec_origin + 24 i, one multiply-add
     * and no segment base to load and subtract */
    uintptr_t srec_origin;
    size_t ns;   /* records in use */
    size_t scap; /* one past the last index the current segment holds */
    double *adj; /* adjoints, at least scap of them; each record zeroes its own */
    /* nonzero once the tape has outgrown the caches: records and their zero
     * adjoints are then written with streaming stores (see ad_srec_write_) */
    size_t stream;
    /* records AD_DUMMIES_ .. leaf_run-1 are all leaves: the variables a
     * recording starts with. The sweep stops above them, so their records
     * are never read and the fast path does not write them */
    size_t leaf_run;
} ad_tape_hot_;

/* ------------------------------------------------------- the slow path's ABI
 * Everything the inline fast path does not handle: errors, stale or foreign
 * handles, evaluation mode, a full segment. Operands travel as (tape, index
 * | generation << 32) and the result as index | generation << 32, all in
 * registers: a handle passed or returned by value would make the compiler
 * keep a copy of every handle on the stack, fast path included. The result's
 * value is v, or NaN for the invalid handle (index UINT32_MAX). */
AD_API uint64_t ad_scalar_push_slow_(ad_tape *ta, uint64_t a, ad_tape *tb, uint64_t b, int binary,
                                     double v, double da, double db, const char *fn);
AD_API uint64_t ad_variable_slow_(ad_tape *t, double value);
#if defined(__GNUC__)
#define AD_NAN_ __builtin_nan("")
#else
#define AD_NAN_ NAN
#endif
/* <math.h>'s functions and classification macros. GCC and clang reach them
 * through their builtins, so this header needs no <math.h> there. */
#if defined(__GNUC__)
#define AD_LIBM_(f) __builtin_##f
#else
#define AD_LIBM_(f) f
#endif
static inline uint64_t ad_index_gen_(ad_scalar x)
{
    return AD_CAST_(uint64_t, x.index_) | AD_CAST_(uint64_t, x.gen_) << 32;
}
static inline ad_scalar ad_from_slow_(ad_tape *t, uint64_t index_gen, double v)
{
    ad_scalar out = {t, AD_CAST_(uint32_t, index_gen), AD_CAST_(uint32_t, index_gen >> 32), v, 1.0};
    if (out.index_ == UINT32_MAX) out.value_ = AD_NAN_;
    return out;
}

#if defined(__GNUC__)
#define AD_LIKELY_(x) __builtin_expect(!!(x), 1)
#else
#define AD_LIKELY_(x) (x)
#endif

/* ------------------------------------------------------------ recording
 * Always inline: with 32-byte handles gcc's -O2 heuristics would otherwise
 * call the larger ops out of line, passing every handle through memory
 * (1.5x slower on the benchmark functions). The public ops are declared the
 * same way in adtape.h (AD_INLINE_API), except in the library's exported
 * copies (src/core/scalar.c, built with AD_BUILDING_SCALAR_OPS). */
#if defined(__GNUC__) && !defined(__TINYC__)
#define AD_INLINE_ static inline __attribute__((always_inline))
#else
#define AD_INLINE_ static inline
#endif

/* The record slot of index t->ns (which the caller has checked < t->scap). */
static inline ad_srec_ *ad_srec_slot_(const ad_tape_hot_ *t)
{
    return AD_PTR_CAST_(ad_srec_ *, t->srec_origin + t->ns * sizeof(ad_srec_));
}

/* Streaming (non-temporal) 8-byte stores, on x86-64 with GCC or clang. A
 * tape larger than the caches is only read again by the sweep, after other
 * records have pushed it out: an ordinary store first reads each line it
 * fills from memory, a streaming store does not, which halves the memory
 * traffic of recording. Small tapes keep ordinary stores, so their sweep
 * finds them in cache. Streamed records reach other threads at the next
 * lock or fence: hand a tape to another thread through a mutex. */
#if defined(__x86_64__) && defined(__clang__)
#define AD_STREAM_STORE_(p, v) __builtin_nontemporal_store((v), AD_PTR_CAST_(long long *, p))
#elif defined(__x86_64__) && defined(__GNUC__) && !defined(__TINYC__)
#define AD_STREAM_STORE_(p, v) __builtin_ia32_movnti64(AD_PTR_CAST_(long long *, p), (v))
#endif

/* Zeroes the adjoint of record t->ns. */
AD_INLINE_ void ad_adj_zero_(const ad_tape_hot_ *t)
{
#ifdef AD_STREAM_STORE_
    if (t->stream) {
        AD_STREAM_STORE_(&t->adj[t->ns], 0LL);
        return;
    }
#endif
    t->adj[t->ns] = 0.0;
}

/* Writes record t->ns = (a, b, da, db) and zeroes its adjoint. */
AD_INLINE_ void ad_srec_write_(const ad_tape_hot_ *t, uint32_t a, uint32_t b, double da, double db)
{
    ad_srec_ *r = ad_srec_slot_(t);
#ifdef AD_STREAM_STORE_
    if (t->stream) {
        /* unions, not pointer casts, to read the bits of the partials */
        union {
            double d;
            long long i;
        } pa = {da}, pb = {db};
        /* a and b, the record's first 8-byte word (a in the low half, as
         * x86-64 is little-endian), stored through the record's own pointer:
         * &r->a is only 4-byte aligned as far as its type tells */
        uint64_t ab = AD_CAST_(uint64_t, a) | AD_CAST_(uint64_t, b) << 32;
        AD_STREAM_STORE_(r, AD_CAST_(long long, ab));
        AD_STREAM_STORE_(&r->da, pa.i);
        AD_STREAM_STORE_(&r->db, pb.i);
    } else
#endif
    {
        r->a = a;
        r->b = b;
        r->da = da;
        r->db = db;
    }
    ad_adj_zero_(t);
}

/* Makes record t->ns a leaf (its operands dummies). In the leading run of
 * leaves nothing is written but the zero adjoint: the sweep stops above
 * the run (leaf_run). */
AD_INLINE_ void ad_leaf_write_(ad_tape_hot_ *t)
{
    if (t->ns == t->leaf_run) {
        ad_adj_zero_(t);
        t->leaf_run++;
    } else {
        uint32_t dummy = AD_CAST_(uint32_t, t->ns) % AD_DUMMIES_;
        ad_srec_write_(t, dummy, dummy, 0.0, 0.0);
    }
}

/* The partial of a result with respect to an operand's record: the op's
 * partial d times the operand's own m. A zero d passes nothing on, as the
 * sweep passes nothing from a zero adjoint: 0 * sqrt(x) at x = 0 has the
 * gradient 0, not 0 * inf. */
AD_INLINE_ double ad_chain_(double d, double m)
{
    /* d == 0.0 (neither less, greater nor unordered), in the quiet
     * comparison macros, which -Wfloat-equal leaves alone: GCC and clang
     * compile this to the instructions of d == 0.0 */
    return !(AD_LIBM_(islessgreater)(d, 0.0) || AD_LIBM_(isunordered)(d, 0.0)) ? 0.0 : d * m;
}

/* A handle (a function, so that the ops need no declaration after a
 * statement to return one). */
AD_INLINE_ ad_scalar ad_handle_(ad_tape *tape, uint32_t index, uint32_t gen, double v, double mult)
{
    ad_scalar out = {tape, index, gen, v, mult};
    return out;
}

AD_INLINE_ ad_scalar ad_folded_(ad_scalar a, uint32_t index, double v, double mult)
{
    return ad_handle_(a.tape_, index, a.gen_ | AD_FOLDED_, v, mult);
}

/* out = f(a, b) with partials da, db. When a and b depend on two different
 * records, one 24-byte record; otherwise a folded handle and no record. */
AD_INLINE_ ad_scalar ad_push2_(ad_scalar a, ad_scalar b, double v, double da, double db,
                               const char *fn)
{
    ad_tape_hot_ *t = AD_PTR_CAST_(ad_tape_hot_ *, a.tape_);
    double ga = ad_chain_(da, a.mult_), gb = ad_chain_(db, b.mult_);
    if (AD_LIKELY_(t && a.tape_ == b.tape_ && (a.gen_ & AD_GEN_MASK_) == t->live_gen &&
                   (b.gen_ & AD_GEN_MASK_) == t->live_gen && (a.index_ | b.index_) != 0)) {
        if (a.index_ == b.index_) return ad_folded_(a, a.index_, v, ga + gb);
        if (b.index_ == 0) return ad_folded_(a, a.index_, v, ga);
        if (a.index_ == 0) return ad_folded_(a, b.index_, v, gb);
        if (AD_LIKELY_(t->ns < t->scap)) { /* else the slow path starts a segment */
            ad_srec_write_(t, a.index_, b.index_, ga, gb);
            return ad_handle_(a.tape_, AD_CAST_(uint32_t, t->ns++), a.gen_ & AD_GEN_MASK_, v, 1.0);
        }
    }
    return ad_from_slow_(a.tape_ ? a.tape_ : b.tape_,
                         ad_scalar_push_slow_(a.tape_, ad_index_gen_(a), b.tape_, ad_index_gen_(b),
                                              1, v, ga, gb, fn),
                         v);
}

/* out = f(a) with partial da: always folded, never a record. */
AD_INLINE_ ad_scalar ad_push1_(ad_scalar a, double v, double da, const char *fn)
{
    ad_tape_hot_ *t = AD_PTR_CAST_(ad_tape_hot_ *, a.tape_);
    double ga = ad_chain_(da, a.mult_);
    if (AD_LIKELY_(t && (a.gen_ & AD_GEN_MASK_) == t->live_gen && a.index_ != 0))
        return ad_folded_(a, a.index_, v, ga);
    return ad_from_slow_(a.tape_,
                         ad_scalar_push_slow_(a.tape_, ad_index_gen_(a), a.tape_, ad_index_gen_(a),
                                              0, v, ga, 0.0, fn),
                         v);
}

/* ------------------------------------------------------ the public scalar ops
 * Declared and documented in adtape.h, in the same order. */

/* A leaf record (none in the leading run of variables, ad_leaf_write_). */
AD_INLINE_API ad_scalar ad_variable(ad_tape *tape, double value)
{
    ad_tape_hot_ *t = AD_PTR_CAST_(ad_tape_hot_ *, tape);
    if (AD_LIKELY_(t && t->live_gen == t->gen && t->ns < t->scap)) {
        ad_leaf_write_(t);
        return ad_handle_(tape, AD_CAST_(uint32_t, t->ns++), t->gen, value, 1.0);
    }
    return ad_from_slow_(tape, ad_variable_slow_(tape, value), value);
}

/* Only a record of the current generation has an adjoint (the dummies below
 * AD_DUMMIES_ are no one's); a folded handle has none (NaN). */
AD_INLINE_API double ad_grad(ad_scalar x)
{
    const ad_tape_hot_ *t = AD_PTR_CAST_(const ad_tape_hot_ *, x.tape_);
    if (t && x.gen_ == t->gen && x.index_ >= AD_DUMMIES_ && x.index_ < t->ns)
        return t->adj[x.index_];
    if (t && x.gen_ == (t->gen | AD_FOLDED_)) return AD_NAN_; /* invalid handles have gen 0 */
    return 0.0;
}

AD_INLINE_API ad_scalar ad_add(ad_scalar a, ad_scalar b)
{
    return ad_push2_(a, b, a.value_ + b.value_, 1.0, 1.0, "ad_add");
}
AD_INLINE_API ad_scalar ad_sub(ad_scalar a, ad_scalar b)
{
    return ad_push2_(a, b, a.value_ - b.value_, 1.0, -1.0, "ad_sub");
}
AD_INLINE_API ad_scalar ad_mul(ad_scalar a, ad_scalar b)
{
    return ad_push2_(a, b, a.value_ * b.value_, b.value_, a.value_, "ad_mul");
}
/* d(a/b) = da/b - (a/b) db/b. The value is C's a / b: a * (1/b) rounds
 * twice, and 1/b overflows for |b| < 5.6e-309. */
AD_INLINE_API ad_scalar ad_div(ad_scalar a, ad_scalar b)
{
    double v = a.value_ / b.value_;
    return ad_push2_(a, b, v, 1.0 / b.value_, -v / b.value_, "ad_div");
}
AD_INLINE_API ad_scalar ad_neg(ad_scalar a)
{
    return ad_push1_(a, -a.value_, -1.0, "ad_neg");
}
AD_INLINE_API ad_scalar ad_addc(ad_scalar a, double c) /* a + c */
{
    return ad_push1_(a, a.value_ + c, 1.0, "ad_addc");
}
AD_INLINE_API ad_scalar ad_subc(ad_scalar a, double c) /* a - c */
{
    return ad_push1_(a, a.value_ - c, 1.0, "ad_subc");
}
AD_INLINE_API ad_scalar ad_rsub(double c, ad_scalar a) /* c - a */
{
    return ad_push1_(a, c - a.value_, -1.0, "ad_rsub");
}
AD_INLINE_API ad_scalar ad_scale(ad_scalar a, double c) /* a * c */
{
    return ad_push1_(a, a.value_ * c, c, "ad_scale");
}
AD_INLINE_API ad_scalar ad_divc(ad_scalar a, double c) /* a / c */
{
    return ad_push1_(a, a.value_ / c, 1.0 / c, "ad_divc");
}
AD_INLINE_API ad_scalar ad_rdiv(double c, ad_scalar a) /* c / a; d = -c/a^2 */
{
    double v = c / a.value_;
    return ad_push1_(a, v, -v / a.value_, "ad_rdiv");
}
AD_INLINE_API ad_scalar ad_square(ad_scalar a)
{
    return ad_push1_(a, a.value_ * a.value_, 2.0 * a.value_, "ad_square");
}

/* The one-line elementary functions are inline too: a call into the library
 * would pass and return the 32-byte handles through memory, which cost more
 * than the op itself. */
AD_INLINE_API ad_scalar ad_sqrt(ad_scalar a)
{
    double v = AD_LIBM_(sqrt)(a.value_);
    return ad_push1_(a, v, 0.5 / (v + 0.0), "ad_sqrt"); /* + 0.0: sqrt(-0) = -0, sqrt' = +inf */
}
AD_INLINE_API ad_scalar ad_cbrt(ad_scalar a)
{
    double v = AD_LIBM_(cbrt)(a.value_);
    return ad_push1_(a, v, 1.0 / (3.0 * v * v), "ad_cbrt");
}
AD_INLINE_API ad_scalar ad_exp(ad_scalar a)
{
    double v = AD_LIBM_(exp)(a.value_);
    return ad_push1_(a, v, v, "ad_exp");
}
AD_INLINE_API ad_scalar ad_expm1(ad_scalar a)
{
    double v = AD_LIBM_(expm1)(a.value_);
    return ad_push1_(a, v, v + 1.0, "ad_expm1");
}
AD_INLINE_API ad_scalar ad_log(ad_scalar a)
{
    return ad_push1_(a, AD_LIBM_(log)(a.value_), 1.0 / a.value_, "ad_log");
}
AD_INLINE_API ad_scalar ad_log1p(ad_scalar a)
{
    return ad_push1_(a, AD_LIBM_(log1p)(a.value_), 1.0 / (1.0 + a.value_), "ad_log1p");
}
AD_INLINE_API ad_scalar ad_sin(ad_scalar a) /* the compiler fuses sin and cos into one call */
{
    return ad_push1_(a, AD_LIBM_(sin)(a.value_), AD_LIBM_(cos)(a.value_), "ad_sin");
}
AD_INLINE_API ad_scalar ad_cos(ad_scalar a)
{
    return ad_push1_(a, AD_LIBM_(cos)(a.value_), -AD_LIBM_(sin)(a.value_), "ad_cos");
}
AD_INLINE_API ad_scalar ad_tan(ad_scalar a) /* tan' = 1 + tan^2 */
{
    double v = AD_LIBM_(tan)(a.value_);
    return ad_push1_(a, v, 1.0 + v * v, "ad_tan");
}
AD_INLINE_API ad_scalar ad_asin(ad_scalar a)
{
    double d = 1.0 / AD_LIBM_(sqrt)(1.0 - a.value_ * a.value_);
    return ad_push1_(a, AD_LIBM_(asin)(a.value_), d, "ad_asin");
}
AD_INLINE_API ad_scalar ad_acos(ad_scalar a)
{
    double d = -1.0 / AD_LIBM_(sqrt)(1.0 - a.value_ * a.value_);
    return ad_push1_(a, AD_LIBM_(acos)(a.value_), d, "ad_acos");
}
AD_INLINE_API ad_scalar ad_atan(ad_scalar a)
{
    return ad_push1_(a, AD_LIBM_(atan)(a.value_), 1.0 / (1.0 + a.value_ * a.value_), "ad_atan");
}
/* (x dy - y dx) / r^2 with r = hypot(x, y), as (x / r) / r: x^2 + y^2
 * overflows above 1e154 and underflows below 1e-154 (NaN at the origin) */
AD_INLINE_API ad_scalar ad_atan2(ad_scalar y, ad_scalar x)
{
    double r = AD_LIBM_(hypot)(x.value_, y.value_);
    return ad_push2_(y, x, AD_LIBM_(atan2)(y.value_, x.value_), x.value_ / r / r, -y.value_ / r / r,
                     "ad_atan2");
}
AD_INLINE_API ad_scalar ad_sinh(ad_scalar a)
{
    return ad_push1_(a, AD_LIBM_(sinh)(a.value_), AD_LIBM_(cosh)(a.value_), "ad_sinh");
}
AD_INLINE_API ad_scalar ad_cosh(ad_scalar a)
{
    return ad_push1_(a, AD_LIBM_(cosh)(a.value_), AD_LIBM_(sinh)(a.value_), "ad_cosh");
}
/* tanh and its slope in one call to the library's own (src/kernels/vmath.c):
 * glibc's tanh goes through expm1, which alone takes longer, and the slope
 * 1 - v^2 would cancel where v nears +-1. Both come back in registers. */
typedef struct ad_value_slope_ {
    double v, d;
} ad_value_slope_;
AD_API ad_value_slope_ ad_tanh_slope_(double x);
AD_INLINE_API ad_scalar ad_tanh(ad_scalar a)
{
    ad_value_slope_ r = ad_tanh_slope_(a.value_);
    return ad_push1_(a, r.v, r.d, "ad_tanh");
}
AD_INLINE_API ad_scalar ad_erf(ad_scalar a) /* erf' = 2/sqrt(pi) e^(-x^2) */
{
    double d = 1.1283791670955126 * AD_LIBM_(exp)(-a.value_ * a.value_);
    return ad_push1_(a, AD_LIBM_(erf)(a.value_), d, "ad_erf");
}
AD_INLINE_API ad_scalar ad_fabs(ad_scalar a) /* fabs'(0) = 0, the subgradient relu'(0) uses */
{
    double x = a.value_;
    /* x >= 0.0 after x > 0.0 is x == 0.0 (which -Wfloat-equal flags); NaN stays NaN */
    double d = x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : x >= 0.0 ? 0.0 : x;
    return ad_push1_(a, AD_LIBM_(fabs)(x), d, "ad_fabs");
}

#ifdef __cplusplus
}
#endif

#endif /* ADTAPE_INLINE_H */
