/* SPDX-License-Identifier: MIT
 * adtape: reverse-mode automatic differentiation in C11.
 *
 * This header is the manual. Read it top to bottom: version, status codes,
 * types, tape, scalars, tensors, random numbers, parameters, tensor ops
 * (then casts, reductions and indexing; normalisation and regularisation;
 * convolution and pooling; recurrent networks), backward, the gradient-ready
 * hook, drivers and gradient checking, detach, custom ops and external
 * functions, checkpointing, parameter files, graph export, errors, threads
 * and memory.
 *
 * The model in one paragraph: a tape (ad_tape) records every operation your
 * code performs on ad_scalar and ad_tensor handles, in execution order. A
 * backward sweep (ad_backward*) walks that record from last to first and
 * accumulates adjoints (gradients) into every input. Parameters (ad_param)
 * live outside tapes, enter them as leaves, and accumulate gradients until you
 * zero them. Errors are sticky: the first bad call puts the tape into an error
 * state with a message; later calls on it do nothing and return an invalid
 * handle; the functions that return ad_status report it. */
#ifndef ADTAPE_H
#define ADTAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(AD_BUILDING_SHARED)
#define AD_API __declspec(dllexport)
#elif defined(__GNUC__)
#define AD_API __attribute__((visibility("default")))
#else
#define AD_API
#endif
/* AD_INLINE_API declares the scalar ops that are inline for speed, as
 * AD_API declares the rest: static inline in your program (always inline
 * with GCC and clang). The library defines AD_BUILDING_SCALAR_OPS when it
 * builds its exported copies of them (for other languages and debuggers). */
#if defined(AD_BUILDING_SCALAR_OPS)
#define AD_INLINE_API AD_API
#elif defined(__GNUC__) && !defined(__TINYC__)
#define AD_INLINE_API static inline __attribute__((always_inline))
#else
#define AD_INLINE_API static inline
#endif

/* ---------------------------------------------------------------- version */

#define ADTAPE_VERSION_MAJOR  0
#define ADTAPE_VERSION_MINOR  1
#define ADTAPE_VERSION_PATCH  0
#define ADTAPE_VERSION_STRING "0.1.0"

/* The version of the library actually linked, as "MAJOR.MINOR.PATCH". */
AD_API const char *ad_version(void);

/* ----------------------------------------------------------- status codes */

typedef enum ad_status {
    AD_OK = 0,
    AD_ERR_INVALID,  /* a bad argument: NULL, out-of-range axis, empty where not allowed */
    AD_ERR_SHAPE,    /* shapes that the op cannot combine */
    AD_ERR_DTYPE,    /* float32 and float64 mixed in one op */
    AD_ERR_FOREIGN,  /* a handle recorded on a different tape */
    AD_ERR_STALE,    /* a handle recorded before the last ad_tape_reset */
    AD_ERR_NOMEM,    /* an allocation failed */
    AD_ERR_NUMERIC,  /* anomaly mode found a NaN or Inf */
    AD_ERR_IO,       /* a file could not be read or written */
    AD_ERR_FORMAT,   /* a file is damaged, truncated, or of the wrong version or shape */
    AD_ERR_GRADCHECK /* a gradient check found a mismatch */
} ad_status;

/* A short constant name for a status code ("AD_ERR_SHAPE"). */
AD_API const char *ad_status_name(ad_status s);

/* ------------------------------------------------------------------ types */

typedef struct ad_tape ad_tape;   /* opaque; one per thread */
typedef struct ad_param ad_param; /* opaque; persists across tapes */

typedef enum ad_dtype { AD_F32 = 0, AD_F64 = 1 } ad_dtype;

#define AD_MAX_DIMS 4

/* A scalar on a tape: a small value handle. The fields are private; read the
 * value with ad_value and the adjoint with ad_grad. The value rides in the
 * handle, and so does its derivative with respect to one tape record. An op
 * whose result depends on one record only (a unary op, an op with a
 * constant, x * x) folds its partial into that derivative and records
 * nothing; an op on two records costs one 24-byte record. A folded result
 * has no adjoint of its own: ad_keep gives it one (see ad_grad). */
typedef struct ad_scalar {
    ad_tape *tape_;
    uint32_t index_; /* the record the value depends on; 0: a constant; UINT32_MAX: invalid */
    uint32_t gen_;   /* tape generation (catches use after reset); the top bit: folded */
    double value_;
    double mult_; /* d value / d (record index_): 1 for the record itself */
} ad_scalar;

/* A tensor on a tape: a small handle. The fields are private. */
typedef struct ad_tensor {
    ad_tape *tape_;
    uint32_t index_; /* UINT32_MAX: invalid */
    uint32_t gen_;
} ad_tensor;
/* No tensor: the invalid handle on no tape, for an absent optional operand
 * (ad_linear's bias) and as an initial value. ad_tensor_ok says false. */
#ifdef __cplusplus
#define AD_TENSOR_NONE (ad_tensor{NULL, UINT32_MAX, 0})
#else
#define AD_TENSOR_NONE ((ad_tensor){NULL, UINT32_MAX, 0})
#endif

/* ------------------------------------------------------------------- tape */

/* A new empty tape, or NULL when memory runs out. Free it with ad_tape_free. */
AD_API ad_tape *ad_tape_new(void);
/* Frees the tape and everything recorded on it. NULL is allowed. */
AD_API void ad_tape_free(ad_tape *t);
/* Forgets everything recorded (handles from before become stale) and clears
 * the error, but keeps the memory: re-recording the same graph then makes no
 * heap allocation. Parameters are untouched. */
AD_API void ad_tape_reset(ad_tape *t);
/* Recording on (default) or off. Off is evaluation mode: ops compute values
 * but record nothing, so no gradients flow. Returns the previous setting. */
AD_API bool ad_tape_set_recording(ad_tape *t, bool on);
/* Anomaly mode: every recorded value and every gradient is checked for
 * NaN/Inf; the first offender fails the tape with AD_ERR_NUMERIC, naming the
 * op, its node index, its input shapes and the sweep (forward/backward).
 * Scalar records are checked too (value and partials when recorded, adjoints
 * after a sweep); every scalar op then makes a record (none folds, see
 * ad_scalar), so scalar arithmetic runs slower while it is on. Leaves are
 * checked as they enter: tensor variables and constants when made,
 * parameters at each ad_param_use (the message names the element). */
AD_API void ad_tape_set_anomaly(ad_tape *t, bool on);

typedef struct ad_tape_stats {
    size_t scalar_nodes;   /* scalar records since the last reset (folded ops make none) */
    size_t tensor_nodes;   /* tensor nodes since the last reset */
    size_t bytes_used;     /* bytes of tape memory in use */
    size_t bytes_reserved; /* bytes of tape memory held, used or not */
    size_t allocations;    /* heap allocations this tape has made in its life */
} ad_tape_stats;
AD_API ad_tape_stats ad_tape_stats_get(const ad_tape *t); /* zeros for NULL */

/* ---------------------------------------------------------------- scalars
 * Scalars are double precision. Every op takes its tape from its operands;
 * operands from different tapes, or from before a reset, fail the tape.
 *
 * Non-differentiable points follow one convention, for scalars and tensors
 * alike: at a kink the derivative from the left is used, so relu'(0) = 0 and
 * leaky_relu'(0) = slope; |x| uses the subgradient 0 at 0 (sign(0) = 0);
 * ties of fmin/fmax (and of tensor minimum/maximum/max) pass the whole
 * adjoint to the first operand (the first maximum); points where the
 * derivative is infinite give IEEE results (sqrt'(0) = +Inf).
 *
 * The functions declared AD_INLINE_API are inline: a call into the library
 * would pass and return the 32-byte handles through memory, which costs more
 * than the op itself. Their bodies are in adtape/inline.h, which this header
 * includes at its end; the library exports a copy of each as well. Link with
 * -lm. */

/* An independent variable: a leaf whose gradient ad_grad reports. */
AD_INLINE_API ad_scalar ad_variable(ad_tape *t, double value);
/* A constant: costs nothing on the tape and receives no gradient. */
AD_API ad_scalar ad_constant(ad_tape *t, double value);
/* The value (NaN for an invalid or zero-initialised handle). */
AD_API double ad_value(ad_scalar x);
/* The adjoint of x after the last sweep: 0 for constants, for records the
 * sweep did not reach and for handles from before the last reset. NaN for
 * a folded result (see ad_scalar), which has no adjoint of its own:
 * variables always have one, and y = ad_keep(y) gives one to y. */
AD_INLINE_API double ad_grad(ad_scalar x);
/* The tape the handle belongs to. */
AD_API ad_tape *ad_scalar_tape(ad_scalar x);
/* false for the invalid handle that failed ops return. */
AD_API bool ad_scalar_ok(ad_scalar x);
/* x with a record of its own, so that ad_grad(x) reports its adjoint after a
 * sweep: ops that fold (see ad_scalar) make results without one. Keep a
 * value before using it: y = ad_keep(ad_sin(x)); ops on y then pass their
 * adjoint through y's record. Handles that have a record, constants and
 * invalid handles come back as they are. */
AD_API ad_scalar ad_keep(ad_scalar x);

/* Arithmetic. Each returns what its comment says. */
AD_INLINE_API ad_scalar ad_add(ad_scalar a, ad_scalar b); /* a + b */
AD_INLINE_API ad_scalar ad_sub(ad_scalar a, ad_scalar b); /* a - b */
AD_INLINE_API ad_scalar ad_mul(ad_scalar a, ad_scalar b); /* a * b */
/* a / b, the value C's a / b gives (rounded once, not as a * (1/b));
 * d(a/b) = da/b - (a/b) db/b. */
AD_INLINE_API ad_scalar ad_div(ad_scalar a, ad_scalar b);
AD_INLINE_API ad_scalar ad_neg(ad_scalar a);             /* -a */
AD_INLINE_API ad_scalar ad_addc(ad_scalar a, double c);  /* a + c */
AD_INLINE_API ad_scalar ad_subc(ad_scalar a, double c);  /* a - c */
AD_INLINE_API ad_scalar ad_rsub(double c, ad_scalar a);  /* c - a */
AD_INLINE_API ad_scalar ad_scale(ad_scalar a, double c); /* a * c */
AD_INLINE_API ad_scalar ad_divc(ad_scalar a, double c);  /* a / c */
AD_INLINE_API ad_scalar ad_rdiv(double c, ad_scalar a);  /* c / a; d = -c/a^2 */
AD_INLINE_API ad_scalar ad_square(ad_scalar a);          /* a^2 */

/* Elementary functions. The values come from libm, except tanh's. */
AD_API ad_scalar ad_pow(ad_scalar a, ad_scalar b); /* a^b, a > 0 for the b-gradient */
AD_API ad_scalar ad_powc(ad_scalar a, double p);   /* a^p, real exponent */
AD_API ad_scalar ad_powi(ad_scalar a, int p);      /* a^p, integer exponent (any sign of a) */
AD_API ad_scalar ad_rpow(double c, ad_scalar a);   /* c^a */
AD_INLINE_API ad_scalar ad_sqrt(ad_scalar a);      /* sqrt'(0) = sqrt'(-0) = +Inf */
AD_INLINE_API ad_scalar ad_cbrt(ad_scalar a);
AD_INLINE_API ad_scalar ad_exp(ad_scalar a);
AD_INLINE_API ad_scalar ad_expm1(ad_scalar a); /* e^a - 1, accurate for small a */
AD_INLINE_API ad_scalar ad_log(ad_scalar a);   /* natural log; IEEE -Inf/NaN at a <= 0 */
AD_INLINE_API ad_scalar ad_log1p(ad_scalar a); /* log(1 + a), accurate for small a */
AD_INLINE_API ad_scalar ad_sin(ad_scalar a);
AD_INLINE_API ad_scalar ad_cos(ad_scalar a);
AD_INLINE_API ad_scalar ad_tan(ad_scalar a);
AD_INLINE_API ad_scalar ad_asin(ad_scalar a);
AD_INLINE_API ad_scalar ad_acos(ad_scalar a);
AD_INLINE_API ad_scalar ad_atan(ad_scalar a);
/* The angle of the point (x, y), y first as in C's atan2. The partials
 * (x, -y) / (x^2 + y^2) are computed as (x / r) / r with r = hypot(x, y),
 * so they stay finite where x^2 + y^2 would overflow or underflow; NaN at
 * the origin. */
AD_INLINE_API ad_scalar ad_atan2(ad_scalar y, ad_scalar x);
AD_INLINE_API ad_scalar ad_sinh(ad_scalar a);
AD_INLINE_API ad_scalar ad_cosh(ad_scalar a);
/* The value and the slope 1 - tanh^2 within a few ulp, also where tanh
 * nears +-1 (the slope is not computed by cancellation). */
AD_INLINE_API ad_scalar ad_tanh(ad_scalar a);
AD_INLINE_API ad_scalar ad_erf(ad_scalar a);  /* erf' = 2/sqrt(pi) e^(-a^2) */
AD_INLINE_API ad_scalar ad_fabs(ad_scalar a); /* fabs'(0) = 0, the subgradient relu'(0) uses */
AD_API ad_scalar ad_fmin(ad_scalar a, ad_scalar b);
AD_API ad_scalar ad_fmax(ad_scalar a, ad_scalar b);
AD_API ad_scalar ad_hypot(ad_scalar a, ad_scalar b);
AD_API ad_scalar ad_sigmoid(ad_scalar a);
/* A user-defined elementary function: value v with local partials da, db.
 * Pass b as an invalid handle (or a constant) for a unary function; like any
 * operand, a constant b from another tape or from before a reset fails the
 * tape. */
AD_API ad_scalar ad_custom2(ad_scalar a, ad_scalar b, double v, double da, double db);

/* ---------------------------------------------------------------- tensors
 * Tensors are float32 or float64, 1 to 4 dimensions, row-major. Shapes are
 * given as (ndim, dims). A dimension may be 0 (an empty tensor) where the op
 * allows it. Values and gradients live in tape memory until the next reset. */

/* A constant tensor copied from `data` (which may be NULL: zeros). A shape
 * with a 0 is empty, but its other dimensions must still multiply to a size
 * a tensor could hold. In anomaly mode a NaN or Inf in data (or, for the
 * filled and random tensors below, in their values) fails the tape with
 * AD_ERR_NUMERIC, naming the element. */
AD_API ad_tensor ad_tensor_new(ad_tape *t, ad_dtype dt, size_t ndim, const size_t *dims,
                               const void *data);
/* Like ad_tensor_new, but a variable: its gradient is computed by the sweep
 * and read with ad_tensor_grad. */
AD_API ad_tensor ad_tensor_variable(ad_tape *t, ad_dtype dt, size_t ndim, const size_t *dims,
                                    const void *data);
AD_API ad_tensor ad_tensor_zeros(ad_tape *t, ad_dtype dt, size_t ndim, const size_t *dims);
AD_API ad_tensor ad_tensor_ones(ad_tape *t, ad_dtype dt, size_t ndim, const size_t *dims);
AD_API ad_tensor ad_tensor_fill(ad_tape *t, ad_dtype dt, size_t ndim, const size_t *dims,
                                double value);
/* Seeded random constants from the library's own PRNG (identical on every
 * machine for the same seed): uniform on [lo, hi), normal(mean, std). */
AD_API ad_tensor ad_tensor_uniform(ad_tape *t, ad_dtype dt, size_t ndim, const size_t *dims,
                                   double lo, double hi, uint64_t seed);
AD_API ad_tensor ad_tensor_normal(ad_tape *t, ad_dtype dt, size_t ndim, const size_t *dims,
                                  double mean, double std, uint64_t seed);

AD_API bool ad_tensor_ok(ad_tensor x);        /* false for the invalid handle failed ops return */
AD_API ad_tape *ad_tensor_tape(ad_tensor x);  /* the tape the handle belongs to */
AD_API ad_dtype ad_tensor_dtype(ad_tensor x); /* AD_F32 for an invalid handle */
/* Number of dimensions (0 for an invalid handle); dims copied into `dims`
 * (AD_MAX_DIMS entries) when not NULL. */
AD_API size_t ad_tensor_shape(ad_tensor x, size_t *dims);
AD_API size_t ad_tensor_numel(ad_tensor x);
/* The value buffer (float* or double* by dtype), owned by the tape, valid
 * until reset; NULL for an invalid handle. */
AD_API const void *ad_tensor_data(ad_tensor x);
/* The gradient buffer after a sweep, same layout as the value; NULL when the
 * tensor needs no gradient or no sweep has run. Owned by the tape. */
AD_API const void *ad_tensor_grad(ad_tensor x);
/* Element i (row-major flat index) of the value, as a double; NaN for an
 * invalid or stale handle or i >= numel (the tape is not failed). */
AD_API double ad_tensor_get(ad_tensor x, size_t i);

/* --------------------------------------------------------- random numbers
 * The library's own PRNG, xoshiro256** seeded through splitmix64: integer
 * arithmetic only, so a seed gives the same stream on every machine (normal
 * numbers add libm's log and cos). A generator is a plain value: copy it to
 * fork a stream, keep one per thread. */
typedef struct ad_rng {
    uint64_t s[4];
} ad_rng;
AD_API void ad_rng_seed(ad_rng *r, uint64_t seed);   /* any seed, 0 included */
AD_API uint64_t ad_rng_next(ad_rng *r);              /* 64 random bits */
AD_API double ad_rng_uniform(ad_rng *r);             /* [0, 1), 53 random bits */
AD_API double ad_rng_normal(ad_rng *r);              /* standard normal (Box-Muller) */
AD_API uint64_t ad_rng_below(ad_rng *r, uint64_t n); /* [0, n), unbiased; 0 when n is 0 */

/* ------------------------------------------------------------- parameters
 * A parameter owns its value and gradient buffers on the heap. It enters a
 * tape with ad_param_use (no copy: the tape reads the parameter's buffer).
 * Sweeps add into its gradient until ad_param_zero_grad. */

/* A zero-filled parameter, or NULL when memory runs out or the shape is bad. */
AD_API ad_param *ad_param_new(ad_dtype dt, size_t ndim, const size_t *dims);
AD_API void ad_param_free(ad_param *p);
/* The parameter as a leaf on tape t. Its value must not change until the
 * sweeps of this recording are done. */
AD_API ad_tensor ad_param_use(ad_tape *t, ad_param *p);
AD_API ad_dtype ad_param_dtype(const ad_param *p);
AD_API size_t ad_param_shape(const ad_param *p, size_t *dims);
AD_API size_t ad_param_numel(const ad_param *p);
/* The value and gradient buffers (float* or double*), owned by the parameter. */
AD_API void *ad_param_value(ad_param *p);
AD_API void *ad_param_grad(ad_param *p);
AD_API void ad_param_zero_grad(ad_param *p);
/* Fills the value with seeded uniform [lo, hi) or normal(mean, std) numbers. */
AD_API void ad_param_uniform(ad_param *p, double lo, double hi, uint64_t seed);
AD_API void ad_param_normal(ad_param *p, double mean, double std, uint64_t seed);

/* -------------------------------------------------------------- tensor ops
 * Every op returns a new tensor on the tape of its inputs, or an invalid
 * handle after setting the tape's error (message names the op and shapes).
 * Elementwise binary ops broadcast like NumPy (dimensions aligned from the
 * right; a 1 stretches). Both inputs must share a dtype. */

AD_API ad_tensor ad_tadd(ad_tensor a, ad_tensor b); /* a + b */
AD_API ad_tensor ad_tsub(ad_tensor a, ad_tensor b); /* a - b */
AD_API ad_tensor ad_tmul(ad_tensor a, ad_tensor b); /* a * b elementwise */
AD_API ad_tensor ad_tdiv(ad_tensor a, ad_tensor b); /* a / b elementwise (IEEE at b = 0) */
AD_API ad_tensor ad_tpow(ad_tensor a, ad_tensor b); /* a^b elementwise; a > 0 for the b-gradient */
AD_API ad_tensor ad_tmaximum(ad_tensor a, ad_tensor b); /* ties: gradient to a */
AD_API ad_tensor ad_tminimum(ad_tensor a, ad_tensor b); /* ties: gradient to a */
/* atan2(a, b): the angle of the point (b, a), a first as in C's atan2;
 * gradient NaN at the origin */
AD_API ad_tensor ad_tatan2(ad_tensor a, ad_tensor b);

AD_API ad_tensor ad_tneg(ad_tensor x);             /* -x */
AD_API ad_tensor ad_texp(ad_tensor x);             /* e^x */
AD_API ad_tensor ad_tlog(ad_tensor x);             /* natural log; IEEE -Inf/NaN at x <= 0 */
AD_API ad_tensor ad_tsqrt(ad_tensor x);            /* sqrt'(0) = +Inf */
AD_API ad_tensor ad_tsquare(ad_tensor x);          /* x^2 */
AD_API ad_tensor ad_tabs(ad_tensor x);             /* abs'(0) = 0 */
AD_API ad_tensor ad_tscale(ad_tensor x, double c); /* x * c */
AD_API ad_tensor ad_taddc(ad_tensor x, double c);  /* x + c */
AD_API ad_tensor ad_tlog1p(ad_tensor x);           /* log(1 + x), accurate for small x */
AD_API ad_tensor ad_texpm1(ad_tensor x);           /* e^x - 1, accurate for small x */
AD_API ad_tensor ad_tlog2(ad_tensor x);            /* base-2 log, exact at powers of 2 */
AD_API ad_tensor ad_tlog10(ad_tensor x);           /* base-10 log */
AD_API ad_tensor ad_terf(ad_tensor x);             /* the error function */
AD_API ad_tensor ad_terfc(ad_tensor x);            /* 1 - erf x, without its cancellation */
AD_API ad_tensor ad_treciprocal(ad_tensor x);      /* 1 / x; slope -Inf at +-0 */
/* x^c for a constant c (C's pow: NaN for x < 0 and non-integer c); the
 * slope is 0 for c = 0 and +-Inf at x = 0 for 0 < c < 1 */
AD_API ad_tensor ad_tpowc(ad_tensor x, double c);

/* Trigonometric and hyperbolic functions and their inverses (radians).
 * Outside an inverse's domain the value and the slope are NaN (data, not an
 * error); at its edges the slope is the IEEE infinity: asin'(+-1) = +Inf,
 * acos'(+-1) = -Inf, acosh'(1) = +Inf, atanh'(+-1) = +Inf. */
AD_API ad_tensor ad_tsin(ad_tensor x);
AD_API ad_tensor ad_tcos(ad_tensor x);
AD_API ad_tensor ad_ttan(ad_tensor x);
AD_API ad_tensor ad_tasin(ad_tensor x);
AD_API ad_tensor ad_tacos(ad_tensor x);
AD_API ad_tensor ad_tatan(ad_tensor x);
AD_API ad_tensor ad_tsinh(ad_tensor x);
AD_API ad_tensor ad_tcosh(ad_tensor x);
AD_API ad_tensor ad_tasinh(ad_tensor x);
AD_API ad_tensor ad_tacosh(ad_tensor x);
AD_API ad_tensor ad_tatanh(ad_tensor x);

/* Steps, with slope 0 everywhere (at their jumps too) and NaN at NaN.
 * sign: -1, 0 or 1 (-0 at -0); round: to the nearest integer, halves to
 * even as in PyTorch and NumPy (2.5 -> 2). */
AD_API ad_tensor ad_tsign(ad_tensor x);
AD_API ad_tensor ad_tfloor(ad_tensor x);
AD_API ad_tensor ad_tceil(ad_tensor x);
AD_API ad_tensor ad_tround(ad_tensor x);
/* min(max(x, lo), hi): -INFINITY for lo or INFINITY for hi is no bound; a
 * NaN bound fails with AD_ERR_INVALID; lo > hi gives hi (as PyTorch). The
 * slope is 1 for lo <= x <= hi, the bounds included (PyTorch's convention:
 * an element on a bound still follows x), else 0. */
AD_API ad_tensor ad_tclamp(ad_tensor x, double lo, double hi);
/* a's element where cond is nonzero (NaN counts as nonzero), else b's; cond
 * is a 0/1 mask of the same dtype as a and b, and the three broadcast
 * together. The gradient goes to a where cond holds, to b elsewhere; cond
 * gets none. */
AD_API ad_tensor ad_where(ad_tensor cond, ad_tensor a, ad_tensor b);

/* Activations. relu'(0) = 0; leaky_relu(x) = x > 0 ? x : slope * x;
 * softplus(x) = log(1 + e^x) computed without overflow; swish = x sigmoid(x);
 * mish = x tanh(softplus(x)); gelu uses the exact erf form. At +-Inf values
 * and slopes are the limits (swish'(+Inf) = 1, swish(-Inf) = 0). NaN in
 * gives NaN out, in the value and in the gradient (relu and abs included,
 * as for the scalar ops). */
AD_API ad_tensor ad_tsigmoid(ad_tensor x);
AD_API ad_tensor ad_ttanh(ad_tensor x);
AD_API ad_tensor ad_relu(ad_tensor x);
AD_API ad_tensor ad_leaky_relu(ad_tensor x, double slope);
AD_API ad_tensor ad_softplus(ad_tensor x);
AD_API ad_tensor ad_swish(ad_tensor x);
AD_API ad_tensor ad_mish(ad_tensor x);
AD_API ad_tensor ad_gelu(ad_tensor x);

/* Matrix products. matmul: a [M,K] . b [K,N] -> [M,N], or batched
 * a [B,M,K] . b [B,K,N] -> [B,M,N]; up to two batch dimensions in front,
 * which broadcast like NumPy's ([M,K] . [B,K,N] -> [B,M,N],
 * [B,1,M,K] . [C,K,N] -> [B,C,M,N]); an operand shared by several
 * batches gets the sum of their gradients. linear: x [B,In] . w[Out,In]^T + b[Out]
 * -> [B,Out] (bias AD_TENSOR_NONE: none); x may also be [In]. */
AD_API ad_tensor ad_matmul(ad_tensor a, ad_tensor b);
AD_API ad_tensor ad_linear(ad_tensor x, ad_tensor w, ad_tensor bias);
/* ad_relu(ad_linear(x, w, bias)) recorded as one node: the same values and
 * gradients for less recording, sweeping and memory. */
AD_API ad_tensor ad_linear_relu(ad_tensor x, ad_tensor w, ad_tensor bias);

/* Shape ops. transpose swaps two axes; reshape keeps the element count;
 * slice takes [start, stop) along one axis; concat joins n tensors along an
 * axis (all other dimensions equal). Negative axes count from the end. */
AD_API ad_tensor ad_transpose(ad_tensor x, int axis0, int axis1);
AD_API ad_tensor ad_reshape(ad_tensor x, size_t ndim, const size_t *dims);
AD_API ad_tensor ad_slice(ad_tensor x, int axis, size_t start, size_t stop);
/* With no input that has a tape (n 0, xs NULL, zeroed handles) there is no
 * tape to fail: the invalid handle's reason goes to ad_last_error(). */
AD_API ad_tensor ad_concat(const ad_tensor *xs, size_t n, int axis);

/* Reductions over all elements (-> shape [1]) or one axis. keepdim keeps the
 * reduced axis as size 1. max passes the gradient to the first maximum. */
AD_API ad_tensor ad_sum(ad_tensor x);
AD_API ad_tensor ad_mean(ad_tensor x);
AD_API ad_tensor ad_max(ad_tensor x);
AD_API ad_tensor ad_sum_axis(ad_tensor x, int axis, bool keepdim);
AD_API ad_tensor ad_mean_axis(ad_tensor x, int axis, bool keepdim);
AD_API ad_tensor ad_max_axis(ad_tensor x, int axis, bool keepdim);

/* softmax and log_softmax along one axis (stable: the max is subtracted). */
AD_API ad_tensor ad_softmax(ad_tensor x, int axis);
AD_API ad_tensor ad_log_softmax(ad_tensor x, int axis);

/* Losses, each a [1] tensor averaged over the batch (the first dimension of
 * 2-D inputs; a 1-D input is one sample):
 * mse = mean over all elements of (y - t)^2;
 * half_sse = (1/B) sum 1/2 (y - t)^2, the classic backpropagation error;
 * bce_with_logits(z, t) = mean of softplus(z) - t z, stable for large |z|;
 * softmax_cross_entropy(z [B,C], labels) = mean over rows of -log softmax(z)[label].
 * Targets are usually constants; a target that needs a gradient gets the
 * correct one. A mean over no elements (an empty batch) is NaN, as 0/0 is. */
AD_API ad_tensor ad_mse_loss(ad_tensor y, ad_tensor target);
AD_API ad_tensor ad_half_sse_loss(ad_tensor y, ad_tensor target);
AD_API ad_tensor ad_bce_with_logits(ad_tensor logits, ad_tensor target);
AD_API ad_tensor ad_softmax_cross_entropy(ad_tensor logits, const int32_t *labels, size_t n);

/* Bridges between scalars and tensors, so one graph can mix both. */
AD_API ad_scalar ad_tensor_to_scalar(ad_tensor x, size_t i); /* element i as a scalar node */
AD_API ad_scalar ad_tensor_item(ad_tensor x);                /* the one element of a [1] tensor */
/* n scalars stacked into a tensor of shape dims (numel n); dtype float64.
 * With no scalar that has a tape (n 0, xs NULL, zeroed handles) there is no
 * tape to fail: the invalid handle's reason goes to ad_last_error(). */
AD_API ad_tensor ad_stack_scalars(const ad_scalar *xs, size_t n, size_t ndim, const size_t *dims);

/* ------------------------------------- casts, more reductions, indexing
 * Casts between float32 and float64, reductions beyond sum/mean/max,
 * cumulative sums, and ops driven by integer indices (int64_t arrays the
 * op copies to the tape, so the caller's array may go away). An index
 * outside its bound fails the op with AD_ERR_INVALID naming the index, its
 * position and the bound ("ad_embedding: index 12 (position 3) is out of
 * range [0, 10) for the 10 rows of weight [10,4]"). */

/* x converted to dtype dt (AD_F32 or AD_F64; the same dtype gives a copy).
 * float64 -> float32 rounds to nearest, overflowing to +-Inf; the gradient
 * is converted back the other way and added, so a float32 network can take
 * a float64 penalty back. Another dt fails with AD_ERR_DTYPE. */
AD_API ad_tensor ad_cast(ad_tensor x, ad_dtype dt);

/* min, like ad_max: over all elements (-> [1]) or along an axis (keepdim
 * keeps it as size 1). The gradient goes to the first minimum of each group
 * (ties: the first takes it all, as ad_max's first maximum does); a NaN
 * wins over every number. An empty group fails with AD_ERR_INVALID
 * ("ad_min: empty tensor [0,3] has no minimum"), as for ad_max and
 * ad_logsumexp. */
AD_API ad_tensor ad_min(ad_tensor x);
AD_API ad_tensor ad_min_axis(ad_tensor x, int axis, bool keepdim);
/* The product of the elements (an empty product is 1), accumulated in
 * double. Its gradient (the product of the others) is computed from prefix
 * and suffix products, never by division: exact when some x are zero. */
AD_API ad_tensor ad_prod(ad_tensor x);
AD_API ad_tensor ad_prod_axis(ad_tensor x, int axis, bool keepdim);
/* log(sum(e^x)), stable (the group's maximum is subtracted first); its
 * gradient is the group's softmax. A group whose maximum is +-Inf gives that
 * infinity (all -Inf: -Inf) and a NaN gradient; empty groups fail. */
AD_API ad_tensor ad_logsumexp(ad_tensor x);
AD_API ad_tensor ad_logsumexp_axis(ad_tensor x, int axis, bool keepdim);
/* Variance sum((x - mean)^2) / (n - correction), n the group's size:
 * correction 1 is the unbiased sample variance (PyTorch's default), 0 the
 * population's. A correction that is negative or not finite, or that
 * leaves n - correction <= 0, fails with AD_ERR_INVALID naming n and the
 * correction. std = sqrt(var); where std is 0 (all elements equal) its
 * gradient is taken as 0, the subgradient |x| gets at 0 (PyTorch: NaN). */
AD_API ad_tensor ad_var(ad_tensor x, double correction);
AD_API ad_tensor ad_var_axis(ad_tensor x, int axis, bool keepdim, double correction);
AD_API ad_tensor ad_std(ad_tensor x, double correction);
AD_API ad_tensor ad_std_axis(ad_tensor x, int axis, bool keepdim, double correction);
/* The L1 (p = 1, sum |x|) or L2 (p = 2, sqrt(sum x^2), without overflow
 * or underflow in between) norm; other p fail with AD_ERR_INVALID. An empty
 * group's norm is 0. Gradients: L1 sign(x) (0 at x = 0); L2 x / norm, taken
 * as 0 where the norm is 0 (as PyTorch). */
AD_API ad_tensor ad_norm(ad_tensor x, double p);
AD_API ad_tensor ad_norm_axis(ad_tensor x, double p, int axis, bool keepdim);
/* Running sums along an axis, shaped like x: y[.., j, ..] = sum over k <= j
 * of x[.., k, ..] (accumulated in double). */
AD_API ad_tensor ad_cumsum(ad_tensor x, int axis);

/* The (flat) index of the first maximum or minimum of x into *idx, or
 * along an axis one index per group into idx[0..n), n the number of groups
 * (numel(x) / dims[axis], row-major over the other dimensions; another n
 * fails with AD_ERR_SHAPE). A NaN wins, as in ad_max. They record nothing
 * (a scratch of one word per group comes from the tape until its next
 * reset) and have no gradient; errors (bad handle or axis, an empty group)
 * go to x's tape like an op's, and the call returns the tape's error. */
AD_API ad_status ad_argmax(ad_tensor x, int64_t *idx);
AD_API ad_status ad_argmin(ad_tensor x, int64_t *idx);
AD_API ad_status ad_argmax_axis(ad_tensor x, int axis, int64_t *idx, size_t n);
AD_API ad_status ad_argmin_axis(ad_tensor x, int axis, int64_t *idx, size_t n);

/* Slices of x along an axis at idx[0..n), in that order (repeats allowed):
 * x's shape with dims[axis] = n. The backward scatter-adds, so a repeated
 * index collects the gradient of every copy. */
AD_API ad_tensor ad_index_select(ad_tensor x, int axis, const int64_t *idx, size_t n);
/* torch.gather: idx has shape (ndim, dims), x's number of dimensions and,
 * off the axis, dimensions no larger than x's; y has idx's shape and
 * y[p] = x[p with its axis coordinate replaced by idx[p]]. The backward
 * scatter-adds. */
AD_API ad_tensor ad_gather(ad_tensor x, int axis, const int64_t *idx, size_t ndim,
                           const size_t *dims);
/* Embedding lookup: the rows of weight [V,D] at idx (shape (ndim, dims),
 * 1 to 3 dimensions) -> dims + [D]. The backward scatter-adds into the
 * weight's rows, so a token seen k times collects k gradients. */
AD_API ad_tensor ad_embedding(ad_tensor weight, const int64_t *idx, size_t ndim,
                              const size_t *dims);
/* A constant of dtype dt and shape dims + [classes] (idx has shape (ndim,
 * dims), 1 to 3 dimensions): 1 at each index's class, 0 elsewhere. No
 * gradient. A NULL t returns the invalid handle, its reason in
 * ad_last_error(). */
AD_API ad_tensor ad_one_hot(ad_tape *t, ad_dtype dt, const int64_t *idx, size_t ndim,
                            const size_t *dims, size_t classes);
/* ---------------------------------------- normalisation and regularisation
 * Training and evaluation differ for batch_norm and dropout, and each takes
 * an explicit `training` flag (as PyTorch's functional forms do) rather than
 * reading the tape's recording switch: a gradient check evaluates with
 * recording off, and must see the same function it differentiates. The
 * affine weight and bias are optional: pass AD_TENSOR_NONE for either. The
 * statistics are computed in double for both dtypes, two-pass (the mean,
 * then the squares about it), and the backwards are fused (one node, no
 * intermediate tensors). eps must be > 0 and finite (else AD_ERR_INVALID). */

/* Layer normalisation over the last k dims of x (1 <= k <= ndim): each
 * group of those dims is shifted to mean 0 and scaled to variance 1 (the
 * biased variance, plus eps), then multiplied by weight and shifted by
 * bias, both shaped like the last k dims of x. Gives x's shape. Errors name
 * the op and the values: "ad_layer_norm: weight has shape [3]; expected [4]
 * (the last 1 dims of x [2,4])". */
AD_API ad_tensor ad_layer_norm(ad_tensor x, size_t k, ad_tensor weight, ad_tensor bias, double eps);
/* Batch normalisation of x [N,C] or [N,C,...] (NCHW) per channel c:
 * (x - mean_c) / sqrt(var_c + eps) * weight[c] + bias[c], weight and bias
 * [C]. In training the statistics are the batch's (the biased variance over
 * the N x (H x W ...) values of each channel; fewer than two values fails
 * with AD_ERR_INVALID) and, when given, the running statistics are updated
 * as PyTorch does: running = (1 - momentum) running + momentum batch, the
 * variance unbiased (m / (m - 1)); momentum in [0, 1] (PyTorch's default is
 * 0.1). In evaluation (training false) running_mean and running_var are
 * used and must be given. They are parameters [C] of x's dtype, read or
 * written when the op is recorded (not by the sweep); they are never
 * recorded and receive no gradient. Pass both or neither (NULL). */
AD_API ad_tensor ad_batch_norm(ad_tensor x, ad_tensor weight, ad_tensor bias,
                               ad_param *running_mean, ad_param *running_var, bool training,
                               double momentum, double eps);
/* Inverted dropout: in training each element is kept with probability
 * 1 - p and scaled by 1/(1 - p), or set to 0 (a dropped NaN or Inf too),
 * the mask drawn from rng (which advances; the same state gives the same
 * mask) and held for the backward. With training false or p = 0 it is the
 * identity: x itself comes back and rng (then allowed NULL) is not touched.
 * p outside [0, 1), NaN included, fails with AD_ERR_INVALID. */
AD_API ad_tensor ad_dropout(ad_tensor x, double p, bool training, ad_rng *rng);

/* ------------------------------------------------ convolution and pooling
 * Images are NCHW: x [N,C,H,W] (conv1d: [N,C,L]), row-major, batch first;
 * the batch must be present (N may be 1). Geometry pairs are [height,
 * width]; conv1d reads element [0] of each. Values that do not fit (a
 * stride, dilation or group count of 0, groups that do not divide the
 * channels, a channel count w does not expect, a window larger than the
 * padded input, pooling padding over half the window) fail the tape with
 * AD_ERR_INVALID or AD_ERR_SHAPE naming the op and the values. */

/* Convolution geometry. Unlike other option structs, 0 is not a default
 * here: start from AD_CONV_OPTS_DEFAULT (or pass NULL for it). */
typedef struct ad_conv_opts {
    size_t stride[2];   /* >= 1 */
    size_t padding[2];  /* zeros added on both sides; any size */
    size_t dilation[2]; /* >= 1: spacing of the kernel taps */
    size_t groups;      /* >= 1, divides the input and output channels */
} ad_conv_opts;
#define AD_CONV_OPTS_DEFAULT                                                                       \
    {                                                                                              \
        {1, 1}, {0, 0}, {1, 1}, 1                                                                  \
    }

/* Cross-correlation, as PyTorch's conv2d: x [N,C,H,W], w [OC,C/groups,KH,KW],
 * bias [OC] (AD_TENSOR_NONE: none) -> [N,OC,OH,OW], OH = (H + 2 padding -
 * dilation (KH - 1) - 1) / stride + 1 (rounded down), OW likewise. Output
 * channel o of group g = o / (OC/groups) sees input channels g C/groups
 * .. (g+1) C/groups - 1. Runs im2col and GEMM per image, images split over
 * ad_set_num_threads threads. */
AD_API ad_tensor ad_conv2d(ad_tensor x, ad_tensor w, ad_tensor bias, const ad_conv_opts *opts);
/* The same along one axis: x [N,C,L], w [OC,C/groups,K], bias [OC] -> [N,OC,OL]. */
AD_API ad_tensor ad_conv1d(ad_tensor x, ad_tensor w, ad_tensor bias, const ad_conv_opts *opts);

/* Pooling windows: kernel and stride >= 1, padding <= kernel / 2 (as PyTorch
 * requires). exclude_padding: avg_pool2d divides by the window's elements
 * inside the input only; 0 (the default, as PyTorch's count_include_pad)
 * divides by KH KW, padding counted as zeros. */
typedef struct ad_pool_opts {
    size_t kernel[2];
    size_t stride[2];
    size_t padding[2];
    bool exclude_padding;
} ad_pool_opts;

/* x [N,C,H,W] -> [N,C,OH,OW], OH = (H + 2 padding - KH) / stride + 1
 * (rounded down). max_pool2d: the window's largest element; padding never
 * wins; a NaN wins and propagates. Ties: the whole gradient goes to the
 * first maximal element in row-major window order (as PyTorch's CPU kernel).
 * avg_pool2d: the window's mean (see exclude_padding). */
AD_API ad_tensor ad_max_pool2d(ad_tensor x, const ad_pool_opts *opts);
AD_API ad_tensor ad_avg_pool2d(ad_tensor x, const ad_pool_opts *opts);
/* The mean over each channel's H x W plane: x [N,C,H,W] -> [N,C], ready
 * for a linear head (PyTorch's adaptive_avg_pool2d(x, 1) then flatten). */
AD_API ad_tensor ad_global_avg_pool2d(ad_tensor x);

/* ---------------------------------------------------- recurrent networks
 * Sequences are [T,B,...]: time first, then the batch. ad_select takes one
 * time step (or any slice along an axis) as one node, ad_stack builds a
 * sequence from its steps as one node, and the recurrent layers run a whole
 * sequence (or one step) as one node, with PyTorch's shapes and gate order
 * so weights and results carry over from torch.nn.RNN / torch.nn.GRU.
 * Errors as for every tensor op: the tape fails with a message naming the
 * function and the shapes ("ad_gru: w_hh must be [3H,H] = [12,4] (h0
 * [2,4]), got [12,5]"). */

/* The slice of x at `index` along `axis`, with that axis dropped: x
 * [T,B,H], axis 0, index t gives step t, [B,H]. A 1-D x gives shape [1].
 * Negative axes count from the end; an index past the axis fails the tape
 * (AD_ERR_INVALID). The gradient adds into that slice of x only. */
AD_API ad_tensor ad_select(ad_tensor x, int axis, size_t index);
/* n tensors of one shape (and dtype) stacked along a new axis: n steps of
 * [B,H] with axis 0 give [n,B,H]. axis runs from 0 to ndim of the inputs
 * (negative: from the end, -1 is a new last axis); the result has at most
 * AD_MAX_DIMS dimensions. With no input that has a tape (n 0, xs NULL,
 * zeroed handles) there is no tape to fail: the reason goes to
 * ad_last_error(). */
AD_API ad_tensor ad_stack(const ad_tensor *xs, size_t n, int axis);

/* An Elman RNN layer, h(t) = tanh(x(t) w_ih^T + b_ih + h(t-1) w_hh^T + b_hh),
 * as torch.nn.RNN (nonlinearity tanh) computes it.
 * x [T,B,In] gives all hidden states h(1) .. h(T) as [T,B,H] (the last one,
 * to carry into the next chunk of a sequence, is ad_select(y, 0, T - 1));
 * x [B,In] is one step and gives h(1) [B,H]. h0 [B,H] is the initial state,
 * w_ih [H,In], w_hh [H,H], b_ih and b_hh [H]; pass both biases or neither
 * (AD_TENSOR_NONE). T, B, H or In may be 0. One node for the whole
 * sequence: the input projection and all weight gradients are single
 * products over the T B rows, and each step's product runs on the
 * library's threads (ad_set_num_threads) in bands of hidden units. */
AD_API ad_tensor ad_rnn_tanh(ad_tensor x, ad_tensor h0, ad_tensor w_ih, ad_tensor w_hh,
                             ad_tensor b_ih, ad_tensor b_hh);
/* A GRU layer with torch.nn.GRU's equations and gate order (r, z, n):
 *   r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
 *   z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
 *   n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn))
 *   h' = (1 - z) n + z h
 * where w_ih [3H,In] stacks W_ir, W_iz, W_in by rows, w_hh [3H,H] stacks
 * W_hr, W_hz, W_hn, and b_ih, b_hh are [3H] (both or neither). Shapes,
 * sequences and threads otherwise as ad_rnn_tanh. It keeps the gates of
 * every step (4 T B H elements) on the tape for the sweep. */
AD_API ad_tensor ad_gru(ad_tensor x, ad_tensor h0, ad_tensor w_ih, ad_tensor w_hh, ad_tensor b_ih,
                        ad_tensor b_hh);

/* --------------------------------------------------------------- backward
 * A sweep zeroes the adjoints of all tape nodes, seeds the output and walks
 * the tape backwards, adding into parameter gradients (+=). A tape may be
 * swept any number of times. Each returns the tape's error, if any.
 * Nodes the output does not depend on pass nothing on, whatever their
 * partials: log(0) computed on the side cannot turn a gradient into NaN.
 * On the output's path IEEE rules apply (d sqrt(x)/dx at 0 is +inf). */

/* y must hold exactly one element; its seed is 1. */
AD_API ad_status ad_backward(ad_tensor y);
/* A vector-Jacobian product: seed has numel(y) doubles, the output cotangent. */
AD_API ad_status ad_backward_seeded(ad_tensor y, const double *seed);
/* Sweep from a scalar output with seed 1 (or the given seed). */
AD_API ad_status ad_backward_scalar(ad_scalar y);
AD_API ad_status ad_backward_scalar_seeded(ad_scalar y, double seed);

/* ------------------------------------------------------ gradient-ready hook
 * For code that ships gradients elsewhere while the sweep still runs (the
 * MPI module, adtape/mpi.h, reduces them across ranks in buckets): during
 * every sweep on t, fn(p, user) is called once for each parameter that
 * entered t (ad_param_use), as soon as p's gradient holds the whole of
 * this sweep's contribution, that is when the sweep has passed the first
 * op that read p. Later layers' parameters come first, in the reverse of
 * the order they entered the tape. fn must not record on t, reset it or
 * sweep it; it may read and change p's gradient. A sweep from an output that
 * depends on no parameter calls it for none. A parameter that enters t
 * only inside checkpointed functions (ad_checkpoint, ad_checkpoint_loop:
 * the sweep re-records them) is not announced: its gradient is final when
 * the sweep returns (the MPI reducer ships such leftovers then). No hook (the default) costs
 * the sweep one test per leaf. The hook stays through ad_tape_reset; fn
 * NULL removes it. A NULL t leaves its message in ad_last_error. */
typedef void (*ad_grad_ready_fn)(ad_param *p, void *user);
AD_API void ad_tape_set_grad_ready(ad_tape *t, ad_grad_ready_fn fn, void *user);

/* ------------------------------------------------ drivers and gradient check */

/* A user function of n scalars to one scalar, recorded on tape t. */
typedef ad_scalar (*ad_scalar_fn)(ad_tape *t, const ad_scalar *x, size_t n, void *ctx);
/* A user function of n scalars to m scalars (written into y). */
typedef void (*ad_vector_fn)(ad_tape *t, const ad_scalar *x, size_t n, ad_scalar *y, size_t m,
                             void *ctx);

/* f(x) and its gradient (n doubles into grad) in one recording and one sweep.
 * Returns f(x), or NaN on error (then *status, when not NULL, says why).
 * The drivers and ad_gradcheck differentiate with respect to x only:
 * parameters f uses (ad_param_use) keep their gradients as they were. */
AD_API double ad_gradient(ad_scalar_fn f, size_t n, const double *x, double *grad, void *ctx);
AD_API double ad_gradient_status(ad_scalar_fn f, size_t n, const double *x, double *grad, void *ctx,
                                 ad_status *status);
/* The m x n Jacobian (row-major into J) of a vector function: one recording
 * and m sweeps. y (m doubles) receives f(x) when not NULL. On an error J and
 * y may be partly written. The drivers fail with AD_ERR_STALE when f resets
 * the tape they pass it. */
AD_API ad_status ad_jacobian(ad_vector_fn f, size_t m, size_t n, const double *x, double *J,
                             double *y, void *ctx);

typedef struct ad_gradcheck_opts {
    double step; /* relative central-difference step h = step * max(1, |x_i|); 0: 1e-6 */
    double atol; /* pass when |a - n| <= atol + rtol * max(|a|, |n|); 0: 1e-6 */
    double rtol; /* 0: 1e-5 */
} ad_gradcheck_opts;
#define AD_GRADCHECK_OPTS_DEFAULT                                                                  \
    {                                                                                              \
        1e-6, 1e-6, 1e-5                                                                           \
    }

/* How many failing elements a report lists by position. */
#define AD_GRADCHECK_FIRST 8

typedef struct ad_gradcheck_report {
    bool passed;
    size_t checked; /* elements compared */
    size_t failed;  /* elements that did not pass (a NaN or Inf on either side counts) */
    /* the first min(failed, AD_GRADCHECK_FIRST) failing elements in the
     * order they were checked: input (parameter) and flat index */
    size_t first_input[AD_GRADCHECK_FIRST];
    size_t first_index[AD_GRADCHECK_FIRST];
    size_t index;    /* the worst element: flat index within its input */
    size_t input;    /* the input (parameter) it belongs to; 0 for scalar functions */
    double analytic; /* at the worst element */
    double numeric;
    double abs_err;
    double rel_err;
} ad_gradcheck_report;

/* Compares the gradient of f at x with central differences, evaluated in
 * double. opts may be NULL (defaults). Returns AD_OK when all elements pass,
 * AD_ERR_GRADCHECK when one does not, or the error that stopped the check
 * (then report->passed is false too). A NaN or infinite value on either
 * side never passes: nothing was compared. The report counts every failed
 * element and lists the first ones; the message in ad_last_error says how
 * many failed, which (input:index) came first, and the worst. */
AD_API ad_status ad_gradcheck(ad_scalar_fn f, size_t n, const double *x, void *ctx,
                              const ad_gradcheck_opts *opts, ad_gradcheck_report *report);

/* Builds a tensor graph on t from float64 parameters and returns its output
 * (one element). Called many times: it must compute the same graph each time. */
typedef ad_tensor (*ad_graph_fn)(ad_tape *t, ad_param *const *params, size_t n_params, void *ctx);
/* Checks d(output)/d(params) of a graph against central differences. The
 * params must be float64; their values are restored and their gradients left
 * as they were, as are the gradients of parameters the graph uses but the
 * check was not given. A parameter listed twice is checked once. */
AD_API ad_status ad_gradcheck_graph(ad_graph_fn f, ad_param *const *params, size_t n_params,
                                    void *ctx, const ad_gradcheck_opts *opts,
                                    ad_gradcheck_report *report);

/* ------------------------------- detach, custom ops and external functions
 * Code that is not written against ad_scalar / ad_tensor (a LAPACK solve, an
 * ODE integrator, a hand-optimised kernel) joins a tape here, with the
 * derivative its author supplies; ad_detach cuts a path instead. */

/* x's value with no path back: a constant that receives no gradient and
 * passes none to x, in evaluation mode too (a sweep from it is no error:
 * it depends on nothing). An invalid or stale x fails its tape as any op
 * does; a handle with no tape leaves the reason in ad_last_error. */
AD_API ad_scalar ad_detach(ad_scalar x);
/* ad_detach for tensors (ad_t*, as the scalar op owns the name): a copy of
 * x's value, recorded as a "tdetach" node that passes no gradient back, so
 * the sweep treats it as a constant. Like every op it fails the tape on a
 * bad handle. */
AD_API ad_tensor ad_tdetach(ad_tensor x);

/* ---- custom tensor ops
 * A custom op is a user function on float32/float64 buffers with a
 * vector-Jacobian product for the sweep: any number of inputs (of either
 * dtype, mixed), one or more outputs whose dtypes and shapes it declares.
 * It records ONE node, which holds the op's first output; each further
 * output is a view node that only gives that output a handle (its buffer
 * is written by the one forward call, and its gradient is read by the one
 * backward call, so nothing is copied and the user's callbacks run once per
 * recording and once per sweep, whatever the number of outputs). Graph
 * export and error messages name the op by def->name, its outputs after
 * the first "name[j]". (Packing all outputs into one node's buffer would
 * need one dtype for all of them and a copy per output in each direction;
 * views cost a node record each and nothing per element.) A sweep may
 * start from any output. Works in evaluation mode (values only; a sweep
 * from the result is refused as for every op), in anomaly mode (every
 * output and every input gradient checked) and with ad_gradcheck_graph.
 * Callbacks run on the thread that records or sweeps, and must not record
 * on the op's own tape (tapes of their own are fine, custom ops included).
 * Broadcasting is the op's own business: the engine passes shapes as they
 * are. */

/* One input or output as a callback sees it: dtype, shape (numel elements)
 * and data, float * or double * by dtype (NULL where the comments below say
 * so). The buffers belong to the tape. */
typedef struct ad_custom_tensor {
    ad_dtype dtype;
    size_t ndim;
    size_t dims[AD_MAX_DIMS];
    size_t numel;
    void *data;
} ad_custom_tensor;

/* What every callback receives, valid only during the call.
 * forward: reads in[i].data, writes every element of out[j].data.
 * backward: reads in, out and grad_out[j].data (dLoss/dout_j; zeros for
 *   an output the loss does not use), and ADDS (+=) the product
 *   grad_out . d out / d in_i into grad_in[i].data; grad_in[i].data is
 *   NULL when input i needs no gradient (skip it).
 * jvp (forward mode): reads in, out and tangent_in[i].data (NULL: a zero
 *   tangent), writes tangent_out[j].data. The fields a callback does not
 *   use are NULL. */
typedef struct ad_custom_args {
    const char *name; /* def->name */
    void *ctx;        /* def->ctx */
    size_t n_in, n_out;
    const ad_custom_tensor *in;
    const ad_custom_tensor *out;
    const ad_custom_tensor *grad_out;
    const ad_custom_tensor *grad_in;
    const ad_custom_tensor *tangent_in;
    const ad_custom_tensor *tangent_out;
} ad_custom_args;

/* A callback returns true when it worked. false fails the tape with a
 * message naming the op; call ad_custom_fail first to say why. */
typedef bool (*ad_custom_fn)(const ad_custom_args *a);

/* A declared dtype and shape. For an input, dtype AD_CUSTOM_ANY_DTYPE, ndim
 * 0 and a dimension AD_CUSTOM_ANY each accept anything; an output's
 * declaration is exact (1 to AD_MAX_DIMS dimensions, a 0 dimension is an
 * empty output). */
typedef struct ad_custom_shape {
    int dtype; /* AD_F32, AD_F64, or (inputs) AD_CUSTOM_ANY_DTYPE */
    size_t ndim;
    size_t dims[AD_MAX_DIMS];
} ad_custom_shape;
#define AD_CUSTOM_ANY_DTYPE (-1)
#define AD_CUSTOM_ANY       SIZE_MAX

typedef struct ad_custom_def {
    const char *name; /* required: messages and graph export (copied, up to 63 bytes) */
    size_t n_in;      /* inputs, at least 1 (the op takes its tape from them) */
    size_t n_out;     /* outputs, at least 1 */
    /* n_in declarations the inputs must match, or NULL: any input */
    const ad_custom_shape *in;
    /* the n_out outputs' dtypes and shapes, or NULL: shape computes them */
    const ad_custom_shape *out;
    /* fills out[0..n_out) from a->in (a->out and the buffers are NULL); may
     * refuse inputs with ad_custom_fail. Used only when out is NULL. */
    bool (*shape)(const ad_custom_args *a, ad_custom_shape *out);
    ad_custom_fn forward;  /* required */
    ad_custom_fn backward; /* the VJP; NULL: a sweep that reaches the op fails */
    /* the JVP, kept on the node for forward mode, which the engine does not
     * have yet (it is planned): nothing calls it today. May be NULL. */
    ad_custom_fn jvp;
    void *ctx; /* handed to every callback; must outlive the tape's sweeps */
} ad_custom_def;

/* Records def's op on inputs in[0..def->n_in) (one tape) and returns its
 * first output; when out is not NULL, out[0..def->n_out) receive every
 * output (out may be NULL for one output). def is copied; the callbacks
 * and def->ctx must outlive the sweeps. The forward callback runs now.
 * Fails the tape, naming the op ("ad_custom_op: tridiag: input 1 is
 * [4,3] float32, declared [4] float64"), for a bad def (AD_ERR_INVALID),
 * inputs that do not match their declarations (AD_ERR_SHAPE,
 * AD_ERR_DTYPE), a failing callback (its ad_custom_fail code, else
 * AD_ERR_INVALID), and a forward that leaves an output element unset
 * (AD_ERR_INVALID, naming the output and element: outputs are prefilled
 * with a NaN of a private payload that is checked for after the call, one
 * extra write and read of each output, about 20% of the time of a cheap
 * elementwise op and nothing next to a solve). Declared dimensions
 * AD_CUSTOM_ANY print as "*".
 * During a sweep, a backward callback that fails ends the sweep with its
 * error ("ad_backward: tridiag (custom op, node 7): backward: ..."), the
 * gradients then partial. On failure every out[j] is invalid. */
AD_API ad_tensor ad_custom_op(const ad_custom_def *def, const ad_tensor *in, ad_tensor *out);

/* Fails the custom op or external function whose callback is running on
 * the calling thread, with code (AD_OK or an unknown code: AD_ERR_INVALID)
 * and a printf-style message; the tape's message puts the public function,
 * the op's name and the callback in front ("ad_custom_op: tridiag:
 * forward: pivot 3 is zero"). Returns false, for `return
 * ad_custom_fail(...);`. Called outside a callback it only sets
 * ad_last_error. The first error wins, as always. */
AD_API bool ad_custom_fail(ad_status code, const char *fmt, ...);

/* ---- external scalar functions
 * y = f(x) for a C function f: R^n -> R^m on plain doubles, recorded as one
 * unit from ad_scalar inputs to ad_scalar outputs: the inputs are stacked
 * into a float64 tensor, one custom op (named def->name) calls f, and its
 * outputs become scalars again, so the tape holds a few nodes, not f's
 * arithmetic. The gradient comes from def->vjp, or, when vjp is NULL, from
 * central differences of f: the first sweep that reaches the function
 * evaluates f at x +- h_i e_i for every input (2n calls), with h_i =
 * cbrt(DBL_EPSILON) max(1, |x_i|) ~ 6.1e-6 max(1, |x_i|), and keeps the
 * m x n Jacobian for later sweeps. Its error is O(h^2 f''') + O(eps |f| /
 * h), about eps^(2/3) ~ 4e-11 relative to the scale of f and its
 * derivatives: 1e-10 to 1e-9 for smooth f of moderate size (gradcheck's
 * default tolerances pass), worse near a kink or where f is noisy or
 * computed in lower precision. A failure of f at a shifted point fails the
 * sweep ("ad_backward: name (external function, node 5): backward: ...").
 * Messages name the outputs as "output 0 ... element j" (y[j]). */

/* f: writes y[0..m) from x[0..n); returns false (after ad_custom_fail, to
 * say why) when it cannot. vjp: writes (or adds into; it arrives zeroed)
 * xbar[0..n) = sum_j ybar[j] d y_j / d x_i. */
typedef bool (*ad_external_fn)(const double *x, size_t n, double *y, size_t m, void *ctx);
typedef bool (*ad_external_vjp)(const double *x, size_t n, const double *y, size_t m,
                                const double *ybar, double *xbar, void *ctx);
typedef struct ad_external_def {
    const char *name;    /* required, as a custom op's */
    size_t n, m;         /* the dimensions f takes and gives, both at least 1 */
    ad_external_fn f;    /* required */
    ad_external_vjp vjp; /* NULL: central differences (above) */
    void *ctx;           /* handed to f and vjp; must outlive the sweeps */
} ad_external_def;

/* y[0..m) = f(x[0..n)) on the inputs' tape (n and m must equal def->n and
 * def->m). Returns the tape's error: AD_OK, or the reason, which the tape
 * keeps, every y[j] then invalid; a failing f, an output f left unset,
 * and in anomaly mode a NaN or Inf it produced, name the function. With no
 * input that has a tape (n 0, x NULL, zeroed handles) the reason goes to
 * ad_last_error (AD_ERR_INVALID). */
AD_API ad_status ad_external(const ad_external_def *def, const ad_scalar *x, size_t n, ad_scalar *y,
                             size_t m);

/* ---------------------------------------------------------- checkpointing
 * Memory for time. ad_checkpoint runs a function of tensors and scalars and
 * keeps only its inputs and outputs on the tape; the backward sweep, when
 * it reaches the checkpoint, runs the function again with recording on, at
 * the end of the same tape, sweeps that piece seeded with the outputs'
 * adjoints (the inputs and the parameters the function uses receive what
 * they would without the checkpoint), and forgets it: its memory is reused
 * by the next piece, so the tape's peak is what it keeps plus the largest
 * single piece (ad_tape_peak_bytes). The same tape rather than a scratch
 * one: the re-run records on the caller's own handles, so the sweep of the
 * piece adds straight into the adjoints of the inputs, the parameters and
 * anything else recorded before that the function reads, with nothing
 * copied in or out; a nested checkpoint is one more piece on top; and the
 * memory is the tape's own, kept across pieces and freed with the tape.
 * ad_checkpoint_loop does the same for T steps of a step function with a
 * state, keeping about sqrt(T) states.
 *
 * The gradients equal those of the same code recorded without checkpoints:
 * the same operations run on the same values, and only the order in which
 * several contributions to one adjoint are added can differ (a few ulp at
 * most; often none, as in examples/ode_adjoint.c). The price is
 * running the function twice (in the forward pass and in the sweep; each
 * further sweep runs it again), and a promise: given the same inputs the
 * function computes the same thing every time. The sweep checks it: the
 * re-run must make as many scalar records and the same sequence of tensor
 * ops and shapes, and outputs equal bit for bit to the first run's. If not
 * (a branch on a global, an unseeded random number), the sweep fails the
 * tape with AD_ERR_INVALID and a message naming the checkpoint and what
 * differs ("ad_checkpoint 'cell': the re-run in the backward sweep gave
 * output tensor 0 element 3 = 0.25, the forward pass 0.5; ..."), never a
 * wrong gradient. (The record count is not compared when anomaly mode was
 * switched between the forward pass and the sweep: it changes folding.)
 *
 * The function may use its inputs, parameters (ad_param_use), constants,
 * and tensors or scalars recorded before the checkpoint that it reaches
 * through ctx: all of them receive their gradients. It may call
 * ad_checkpoint itself: checkpoints nest. Handles it makes are valid only
 * during the call (their memory is reused); it must not reset the tape. It
 * reports failure by failing the tape (an op that fails, ad_tape_set_error)
 * or by returning a code other than AD_OK; the checkpoint then fails the
 * tape with a message that names it and carries the function's own.
 *
 * With recording off (evaluation mode) both calls just run the function on
 * the inputs: nothing is kept or checked. Anomaly mode checks the re-run's
 * values and gradients as it checks everything recorded. An allocation
 * that fails during the re-run fails the tape with AD_ERR_NOMEM; the
 * memory stays the tape's, freed with it. */

/* Tensors and scalars on one tape: a checkpoint's inputs, outputs or state.
 * An array may be NULL when its count is 0. */
typedef struct ad_checkpoint_io {
    ad_tensor *tensors;
    size_t n_tensors;
    ad_scalar *scalars;
    size_t n_scalars;
} ad_checkpoint_io;

/* A checkpointed function. in holds the inputs (read them; the arrays are
 * not the function's to change). out's counts are fixed by the caller: the
 * function sets out->tensors[0 .. n_tensors) and out->scalars[0 ..
 * n_scalars) to handles on t (an input passed through is fine). Returns
 * AD_OK, or another code when it failed. */
typedef ad_status (*ad_checkpoint_fn)(ad_tape *t, const ad_checkpoint_io *in, ad_checkpoint_io *out,
                                      void *ctx);

/* Runs f(t, in, out, ctx) and puts its outputs into out (out's arrays and
 * counts are the caller's; on failure every entry is an invalid handle on
 * t). name (may be NULL; copied) names the checkpoint in messages:
 * "ad_checkpoint 'name'", else "ad_checkpoint at node K". in may be NULL
 * (no inputs). Returns the tape's error: AD_ERR_INVALID for NULL t (then in
 * ad_last_error), f or out, a count without its array, an input handle
 * that is invalid, stale or from another tape (AD_ERR_FOREIGN,
 * AD_ERR_STALE), an output f left unset, and whatever f's failure or an
 * allocation (AD_ERR_NOMEM) gives. Outputs that depend on nothing recorded
 * are kept as constants, with nothing to re-run. */
AD_API ad_status ad_checkpoint(ad_tape *t, const char *name, ad_checkpoint_fn f,
                               const ad_checkpoint_io *in, ad_checkpoint_io *out, void *ctx);

/* One step of a loop: from state (step is 0 .. T-1) the next state, with
 * the same counts (set by the caller), dtypes and shapes; returns AD_OK or
 * another code when it failed, as an ad_checkpoint_fn. */
typedef ad_status (*ad_step_fn)(ad_tape *t, size_t step, const ad_checkpoint_io *state,
                                ad_checkpoint_io *next, void *ctx);

/* Runs T steps of step from state (copied; not changed) and puts the final
 * state into final_state (the caller's arrays, with the same counts as
 * state), keeping on the tape only the two states and the states at the
 * starts of segments of `segment` steps (0: ceil(sqrt(T)), which needs the
 * least memory when a step records about as much as a state holds; more
 * recording per step favours shorter segments: sqrt(T * state / step)).
 * The sweep runs the segments again from last to first, each once,
 * recording one at a time, so a step runs twice in all, and peak memory
 * is about (T / segment) states plus one segment's recording instead of T
 * steps' recording. This is the two-level sqrt(T) schedule rather than
 * revolve's binomial one: revolve needs fewer states (O(log T)) but runs
 * steps O(log T) times; with sqrt(T) states, which at T = 10^5 is a few
 * hundred, the tape already shrinks a hundredfold, and recomputation stays
 * the minimum any checkpointing needs (one re-run). Nest a loop inside a
 * step for T^(1/3) memory.
 * Each re-run segment's final state must equal the forward pass's bit for
 * bit (else AD_ERR_INVALID naming the loop, the step it ends with and the
 * element; the record counts are not compared, as a segment re-run from a
 * kept state may fold differently than the steps did); every step's next state must match state in
 * counts, dtypes and shapes (AD_ERR_SHAPE naming the step and both shapes). Errors as for
 * ad_checkpoint, and AD_ERR_INVALID for T = 0, NULL step, state or
 * final_state, counts that differ. Messages name "ad_checkpoint_loop
 * 'name'" (or "at node K") and, for a step's failure, the step. In
 * evaluation mode the steps simply run. */
AD_API ad_status ad_checkpoint_loop(ad_tape *t, const char *name, ad_step_fn step, size_t T,
                                    size_t segment, const ad_checkpoint_io *state,
                                    ad_checkpoint_io *final_state, void *ctx);

/* The most tape memory in use (ad_tape_stats' bytes_used: tensor memory,
 * scalar records and tensor nodes) at any moment since the tape was made
 * or last reset, backward sweeps and the checkpoints' re-runs included.
 * 0 (and ad_last_error says why) for a NULL tape. */
AD_API size_t ad_tape_peak_bytes(const ad_tape *t);

/* -------------------------------------------------------- parameter files
 * A parameter file holds the values of n parameters (dtype, shape, data) and
 * an optional opaque blob `meta` (optimizer step counters, epoch, ...), in a
 * versioned little-endian format with a CRC-32 over the whole file. It is
 * untrusted input on load. Errors as for every tapeless call (see errors):
 * the message names the path and the problem. */

/* Writes params[0..n) and meta (meta_len bytes; meta may be NULL when
 * meta_len is 0) to path atomically: to a new temporary file in the same
 * directory (path ".tmp.<pid>.<count>", unique to the call, so concurrent
 * saves to one path each land whole and the last rename wins), flushed and
 * fsynced, then renamed over path, then the directory is fsynced. On failure
 * the temporary file is removed and an existing file at path is left as it
 * was. The new file gets the default permissions (0666 less the umask), not
 * those of the file it replaces; a symbolic link at path is replaced, not
 * followed. AD_ERR_IO for file errors (with strerror),
 * AD_ERR_NOMEM, AD_ERR_INVALID for bad arguments. */
AD_API ad_status ad_params_save(const char *path, ad_param *const *params, size_t n,
                                const void *meta, size_t meta_len);
/* Reads a file written by ad_params_save into params[0..n), whose count,
 * dtypes and shapes must match the file exactly, and its meta blob into
 * meta (meta_cap bytes; *meta_len receives its length when meta_len is not
 * NULL). The whole file is validated (magic, version, CRC, count, every
 * dtype and shape, meta fits meta_cap) before anything is written, so a
 * failed load changes nothing. AD_ERR_IO when the file cannot be read,
 * AD_ERR_FORMAT when it is damaged, truncated, of another version, or does
 * not match the params ("wrong shape: file has [3,4], parameter 2 is [4,3]")
 * or meta_cap. A path that is not a regular file (a directory, a FIFO, a
 * device) is refused with AD_ERR_IO without waiting on it or reading it. */
AD_API ad_status ad_params_load(const char *path, ad_param *const *params, size_t n, void *meta,
                                size_t meta_cap, size_t *meta_len);
/* Reads what a parameter file holds without parameters to load it into: the
 * number of parameters into *count and its meta blob, for a caller that
 * must see the meta (a model description, a format tag) before it knows
 * what to load. The whole file is validated as ad_params_load does (magic,
 * version, CRC, every record well formed). The first min(meta length,
 * meta_cap) bytes of meta are copied and *meta_len receives the full
 * length, so a call with meta_cap 0 sizes the buffer. count and meta_len
 * may be NULL. */
AD_API ad_status ad_params_info(const char *path, size_t *count, void *meta, size_t meta_cap,
                                size_t *meta_len);

/* ----------------------------------------------------------- graph export
 * The recorded tape as a Graphviz DOT digraph (render it with
 * `dot -Tpng graph.dot -o graph.png`): one box per tensor node with its op,
 * shape and dtype; an arrow per data flow, labelled with the input's position
 * when an op has several; parameters (gold), variables (blue) and constants
 * (dashed) told apart; outputs (non-leaf nodes nobody consumes) drawn red with
 * a double border; after a sweep, each gradient's L2 norm as "|grad| = ...".
 * Scalar records are drawn one by one (with their inputs) when there are at
 * most 50 of them, else summarised as one node with their count.
 * A tape in the error state is exported too, with the message as the graph's
 * label: the graph up to the failed op shows where it went wrong. Exporting
 * never changes the recording, and allocates only a scratch array of one byte
 * per record (freed before returning). */

/* Receives the text in pieces; return false to stop the export (AD_ERR_IO). */
typedef bool (*ad_write_fn)(const char *data, size_t len, void *user);

/* Writes the DOT text to the file at path (created or truncated). Returns
 * AD_OK; the tape's error if it was already failed (the file is written all
 * the same); AD_ERR_INVALID for a NULL tape or path; AD_ERR_IO when the file
 * cannot be opened or written, with a message naming the path and the reason
 * ("ad_tape_export_dot: cannot open 'x/g.dot': No such file or directory");
 * AD_ERR_NOMEM. Failures set the tape's sticky error (ad_tape_clear_error
 * lets you go on) and, like the drivers, leave their message in
 * ad_last_error ("" after an export that worked): on an already failed tape,
 * which keeps its first error, that is where the export's own is told.
 *     ad_tape_export_dot(t, "graph.dot");
 * The header cannot take a FILE * (it includes no stdio.h); for a stream,
 * a buffer or a socket use ad_tape_export_dot_fn. */
AD_API ad_status ad_tape_export_dot(ad_tape *t, const char *path);
/* The same text handed to write(data, len, user) in pieces, in order; the
 * pieces are valid only during the call. Errors as above; a write that
 * returns false gives AD_ERR_IO ("ad_tape_export_dot_fn: the write callback
 * failed"). For a FILE *: write = fwrite(data, 1, len, user) == len. */
AD_API ad_status ad_tape_export_dot_fn(ad_tape *t, ad_write_fn write, void *user);

/* ----------------------------------------------------------------- errors
 * Two channels, one per kind of call:
 * - Tape ops (everything that takes or returns handles on a tape, sweeps,
 *   graph building) report on the tape: its sticky error, read with
 *   ad_tape_error.
 * - Every tapeless call that can fail returns an ad_status (constructors:
 *   NULL) and sets ad_last_error() for the calling thread: "" when it
 *   succeeds, else a message that starts with the public function's name
 *   ("ad_params_load: x.adt: wrong shape: file has [3,4], parameter 2 is
 *   [4,3]"). The message is valid until the thread's next tapeless call.
 *   These are the parameter files (ad_params_save, ad_params_load,
 *   ad_params_info), the drivers and gradient checks (ad_gradient*,
 *   ad_jacobian, ad_gradcheck*), graph export,
 *   ad_tape_new and ad_param_new, ad_concat, ad_stack_scalars,
 *   ad_custom_op and ad_external when no input has a tape to fail,
 *   ad_custom_fail called outside a callback, and the MLP client and data readers
 *   (adtape/nn.h, adtape/data.h) except where their comments name a tape.
 * A tape op handed no tape at all (a NULL tape, zero-initialised handles, a
 * NULL parameter or generator) has none to fail: it returns its invalid
 * handle or documented default and leaves its message in ad_last_error(),
 * which tape ops otherwise leave alone. Inputs are counted from 0 in every
 * message, scalar and tensor ("ad_add: input 1 belongs to a different tape").
 * Graph export does both: it fails its tape and leaves the message here.
 * The drivers record on tapes of their own, which they free, so what
 * stopped them is told here too ("ad_log: ..." from the user's function,
 * "ad_gradcheck: 2 of 5 elements failed (input:index 0:1, 0:3); worst: ..."). */

/* The tape's sticky error (AD_OK when healthy); *message, when not NULL,
 * receives a description owned by the tape ("" when healthy). */
AD_API ad_status ad_tape_error(const ad_tape *t, const char **message);
/* Clears the error without forgetting the recording. */
AD_API void ad_tape_clear_error(ad_tape *t);
/* Fails t with code and message (copied; start it with your function's
 * name, as the library does), so code built on this API, such as layers and
 * data loaders, reports bad input the same way. The first error wins: a
 * failed tape keeps its own. Returns the tape's error afterwards; code
 * AD_OK changes nothing; a NULL tape gives AD_ERR_INVALID; a code that is no
 * ad_status fails the tape with AD_ERR_INVALID, naming the code. */
AD_API ad_status ad_tape_set_error(ad_tape *t, ad_status code, const char *message);
/* Puts "fn: " in front of a failed t's message (code unchanged; the message
 * is cut to the tape's 512 bytes), so a function built on engine ops names
 * itself: call it when an op you called failed a tape that was healthy
 * before ("ad_nn_gather: ad_tensor_new: ..."). Returns t's error; a healthy
 * t, or a NULL fn, is left alone; a NULL t gives AD_ERR_INVALID. */
AD_API ad_status ad_tape_error_context(ad_tape *t, const char *fn);
/* The invalid handle a failed op returns: it names t, so the ops it flows
 * into do nothing and a sweep from it returns t's error. Return it from your
 * own ops after ad_tape_set_error. ad_tensor_invalid(NULL) is AD_TENSOR_NONE. */
AD_API ad_tensor ad_tensor_invalid(ad_tape *t);
/* The calling thread's message from its last tapeless call (see above):
 * "" after success. Never NULL. */
AD_API const char *ad_last_error(void);
/* Sets the calling thread's ad_last_error to a copy of message (NULL: ""; cut
 * to 4095 bytes), so code built on this API follows the same rule. */
AD_API void ad_set_last_error(const char *message);

/* ------------------------------------------------------- threads and memory
 * A tape belongs to one thread at a time; tapes on different threads need
 * no locks. Hand a tape to another thread through a mutex (or another lock
 * or fence): a large tape is recorded with streaming stores, which other
 * threads are sure to see only after one. */

/* Threads used by large kernels (GEMM), at most 256. n <= 0 means the cores
 * available, which is also the default, overridden by the ADTAPE_NUM_THREADS
 * variable when it holds a whole number 1..256 (anything else is ignored). */
AD_API void ad_set_num_threads(int n);
AD_API int ad_get_num_threads(void);

/* All heap memory passes through one allocator. alloc must return 64-byte
 * aligned blocks. realloc is optional (NULL: alloc, copy, free); it resizes
 * blocks that need only 16-byte alignment (a tape's tensor-node and scalar
 * adjoint arrays), which lets a large tape grow without copying. Set it before any other call;
 * NULL restores malloc. */
typedef struct ad_allocator {
    void *(*alloc)(size_t size, void *user_data);
    void (*free)(void *p, void *user_data);
    void *user_data;
    void *(*realloc)(void *p, size_t old_size, size_t new_size, void *user_data);
} ad_allocator;
AD_API void ad_set_allocator(const ad_allocator *a); /* copies *a */

/* The library's own allocation calls, for code built on the API that hands
 * memory to users, and for releasing what the library hands out: every
 * buffer a call returns for the caller to free (the arrays of the IDX
 * readers, ad_nn_gather's scratch) is released with ad_free, and comes from
 * the configured allocator like all the rest.
 * ad_alloc: size bytes, 64-byte aligned, or NULL when memory runs out (size
 * 0 gives a unique pointer to free). ad_realloc: a new block of new_size
 * bytes holding the first min(old_size, new_size) bytes of p (p from
 * ad_alloc or NULL; old_size its size), p freed; NULL on failure with p
 * untouched. ad_free: releases a block from either; NULL is allowed. */
AD_API void *ad_alloc(size_t size);
AD_API void *ad_realloc(void *p, size_t old_size, size_t new_size);
AD_API void ad_free(void *p);

/* Testing aids: after n more successful allocations, every allocation fails
 * (n < 0: never). Counters of allocations made and blocks live. */
AD_API void ad_debug_fail_alloc_after(long n);
AD_API size_t ad_debug_alloc_count(void);
AD_API size_t ad_debug_live_allocs(void);

#ifdef __cplusplus
}
#endif

/* The bodies of the inline scalar ops, and the private machinery they use. */
#include "adtape/inline.h"

#endif /* ADTAPE_H */
