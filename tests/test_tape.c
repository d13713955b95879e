/* SPDX-License-Identifier: MIT
 * The tape itself: memory reuse across resets, stats, evaluation mode,
 * mixed scalar/tensor graphs through the bridges, and every error class of
 * the sticky error model. */
#include "common.h"
#include "core/tape.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* A mixed graph: tensor variable -> elements as scalars -> scalar math ->
 * stacked back into a tensor -> element -> output scalar. */
static ad_scalar mixed(ad_tape *t, ad_tensor x)
{
    ad_scalar a = ad_tensor_to_scalar(x, 0), b = ad_tensor_to_scalar(x, 2);
    ad_scalar s[2] = {ad_mul(a, b), ad_sin(a)};
    ad_tensor st = ad_stack_scalars(s, 2, 1, (size_t[]){2});
    ad_scalar u = ad_tensor_to_scalar(st, 0), v = ad_tensor_to_scalar(st, 1);
    (void)t;
    return ad_add(ad_mul(u, u), v); /* (ab)^2 + sin a */
}

Test(tape, mixed_scalar_tensor_graph_gets_the_chain_rule_right)
{
    ad_tape *t = ad_tape_new();
    double xv[3] = {0.7, -1.0, 1.3};
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, xv);
    ad_scalar y = mixed(t, x);
    cr_assert_eq(ad_backward_scalar(y), AD_OK);
    const double *g = ad_tensor_grad(x);
    cr_assert_not_null(g);
    double a = 0.7, b = 1.3;
    cr_assert_float_eq(ad_value(y), a * a * b * b + sin(a), 1e-14);
    cr_assert_float_eq(g[0], 2 * a * b * b + cos(a), 1e-14);
    cr_assert_float_eq(g[1], 0.0, 1e-14);
    cr_assert_float_eq(g[2], 2 * a * a * b, 1e-14);
    ad_tape_free(t);
}

Test(tape, mixed_graph_through_a_parameter_accumulates_into_its_gradient)
{
    ad_param *p = ad_param_new(AD_F32, 1, (size_t[]){3});
    float *pv = ad_param_value(p);
    pv[0] = 0.5f, pv[1] = 2.0f, pv[2] = -1.0f;
    ad_tape *t = ad_tape_new();
    for (int step = 0; step < 2; step++) {
        ad_tape_reset(t);
        ad_tensor x = ad_param_use(t, p);
        ad_scalar y = ad_mul(ad_tensor_to_scalar(x, 1), ad_tensor_to_scalar(x, 2));
        cr_assert_eq(ad_backward_scalar(y), AD_OK);
    }
    const float *g = ad_param_grad(p);
    cr_assert_float_eq(g[1], 2 * -1.0f, 1e-6, "two sweeps accumulate");
    cr_assert_float_eq(g[2], 2 * 2.0f, 1e-6);
    cr_assert_float_eq(g[0], 0.0f, 1e-6);
    ad_param_zero_grad(p);
    cr_assert_eq(((const float *)ad_param_grad(p))[2], 0.0f);
    ad_tape_free(t);
    ad_param_free(p);
}

static void record_step(ad_tape *t, ad_param *p)
{
    ad_tensor x = ad_param_use(t, p);
    ad_scalar s = ad_constant(t, 0.0);
    for (size_t i = 0; i < 64; i++) {
        ad_scalar e = ad_tensor_to_scalar(x, i);
        s = ad_add(s, ad_mul(e, ad_exp(ad_scale(e, 0.1))));
    }
    ad_tensor extra = ad_tensor_uniform(t, AD_F64, 2, (size_t[]){16, 16}, -1, 1, 7);
    (void)extra;
    cr_assert_eq(ad_backward_scalar(s), AD_OK);
}

Test(tape, re_recording_the_same_graph_after_reset_allocates_nothing)
{
    ad_param *p = ad_param_new(AD_F64, 1, (size_t[]){64});
    ad_param_uniform(p, -1, 1, 3);
    ad_tape *t = ad_tape_new();
    record_step(t, p);
    ad_tape_reset(t);
    record_step(t, p); /* warm-up: the adjoint array may grow once */
    ad_tape_stats before = ad_tape_stats_get(t);
    size_t heap_before = ad_debug_alloc_count();
    for (int i = 0; i < 10; i++) {
        ad_tape_reset(t);
        record_step(t, p);
    }
    ad_tape_stats after = ad_tape_stats_get(t);
    cr_assert_eq(after.allocations, before.allocations, "tape allocated %zu more times",
                 after.allocations - before.allocations);
    cr_assert_eq(ad_debug_alloc_count(), heap_before, "heap allocations during steady state");
    cr_assert_eq(after.bytes_reserved, before.bytes_reserved);
    cr_assert_eq(after.scalar_nodes, before.scalar_nodes);
    /* e * exp(0.1 e) folds into e's record; the sum records an add from the
     * second element on */
    cr_assert_eq(after.scalar_nodes, 64 * 2 - 1);
    cr_assert(after.tensor_nodes >= 65);
    cr_assert(after.bytes_used > 0 && after.bytes_used <= after.bytes_reserved);
    ad_tape_free(t);
    ad_param_free(p);
}

Test(tape, reset_keeps_capacity_and_forgets_nodes)
{
    ad_tape *t = ad_tape_new();
    for (int i = 0; i < 5000; i++)
        (void)ad_variable(t, i);
    ad_tape_stats s = ad_tape_stats_get(t);
    cr_assert_eq(s.scalar_nodes, 5000);
    ad_tape_reset(t);
    ad_tape_stats r = ad_tape_stats_get(t);
    cr_assert_eq(r.scalar_nodes, 0);
    cr_assert_eq(r.bytes_reserved, s.bytes_reserved);
    ad_tape_free(t);
}

/* Records land in segments of 1024, 2048, 4096, ... slots; after a reset the
 * next recording walks the same segments again. Every variable must still
 * get its own gradient back, in the first segment and in the later ones. */
Test(tape, records_spanning_several_segments_sweep_right_after_a_reset)
{
    enum { N = 6000 }; /* the variable and (from the second on) the add: four segments */
    ad_tape *t = ad_tape_new();
    static ad_scalar x[N];
    for (int round = 0; round < 3; round++) {
        ad_tape_reset(t);
        ad_scalar s = ad_constant(t, 0.0);
        for (int i = 0; i < N; i++) {
            x[i] = ad_variable(t, 0.001 * i + round);
            s = ad_add(s, ad_scale(x[i], (double)(i % 7) - 3.0));
        }
        cr_assert_eq(ad_backward_scalar(s), AD_OK);
        cr_assert_eq(ad_tape_stats_get(t).scalar_nodes, 2 * N - 1);
        for (int i = 0; i < N; i++)
            cr_assert_eq(ad_grad(x[i]), (double)(i % 7) - 3.0, "round %d, x[%d]: %g", round, i,
                         ad_grad(x[i]));
    }
    ad_tape_free(t);
}

/* s = sum x[i] x[i-1], so ds/dx[i] = x[i-1] + x[i+1]: every record has two
 * distinct operands (or none), small integers keep the sums exact. */
static ad_scalar chain_of_products(ad_tape *t, ad_scalar *x, size_t n, size_t *streamed_from)
{
    ad_scalar s = ad_constant(t, 0.0);
    *streamed_from = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (t->hot.stream && *streamed_from == SIZE_MAX) *streamed_from = t->hot.ns;
        x[i] = ad_variable(t, (double)(i % 13) - 6.0);
        if (i) s = ad_add(s, ad_mul(x[i], x[i - 1]));
    }
    return s;
}

static void assert_chain_gradient(const ad_scalar *x, size_t n, const char *round)
{
    for (size_t i = 0; i < n; i++) {
        double want = (i ? ad_value(x[i - 1]) : 0.0) + (i + 1 < n ? ad_value(x[i + 1]) : 0.0);
        if (ad_grad(x[i]) != want)
            cr_assert_fail("%s: x[%zu] gradient %g, want %g", round, i, ad_grad(x[i]), want);
    }
}

Test(tape, records_past_the_caches_are_streamed_and_sweep_the_same)
{
    /* 3 records an element: 3.6 M records, 86 MB, past AD_STREAM_ALL_BYTES */
    const size_t n = 1200000, small = 1000;
    ad_scalar *x = malloc(n * sizeof *x);
    ad_tape *t = ad_tape_new();
    cr_assert(x && t);
    size_t from;
    ad_scalar s = chain_of_products(t, x, n, &from);
    /* the first product is folded into the sum, which starts as a constant */
    cr_assert_eq(ad_tape_stats_get(t).scalar_nodes, 3 * n - 3);
    /* the first recording streams from the first segment that starts past
     * AD_STREAM_FROM_BYTES, so both kinds of store are on this tape */
    cr_assert(from != SIZE_MAX && from * sizeof(ad_srec) >= AD_STREAM_FROM_BYTES &&
                  from * sizeof(ad_srec) < 2 * AD_STREAM_FROM_BYTES,
              "streaming began at record %zu", from);
    cr_assert_eq(ad_backward_scalar(s), AD_OK);
    assert_chain_gradient(x, n, "first recording");

    /* after a reset, a recording that size is streamed from its first record */
    ad_tape_reset(t);
    s = chain_of_products(t, x, n, &from);
    cr_assert_eq(from, AD_DUMMIES_, "streaming began at record %zu", from);
    cr_assert_eq(ad_backward_scalar(s), AD_OK);
    assert_chain_gradient(x, n, "second recording");
    /* a second sweep of the streamed records gives the same */
    cr_assert_eq(ad_backward_scalar(s), AD_OK);
    assert_chain_gradient(x, n, "second sweep");

    /* a small recording after the big one streams too, and is right; the one
     * after that is back to ordinary stores */
    ad_tape_reset(t);
    s = chain_of_products(t, x, small, &from);
    cr_assert_eq(from, AD_DUMMIES_);
    cr_assert_eq(ad_backward_scalar(s), AD_OK);
    assert_chain_gradient(x, small, "small, streamed");
    ad_tape_reset(t);
    s = chain_of_products(t, x, small, &from);
    cr_assert_eq(from, SIZE_MAX, "a small recording after a small one streamed");
    cr_assert_eq(ad_backward_scalar(s), AD_OK);
    assert_chain_gradient(x, small, "small");
    ad_tape_free(t);
    free(x);
}

/* Overwrites the slots of records [lo, hi) with an operand and partials
 * that would show in any gradient or graph that read them. */
static void poison_records(ad_tape *t, size_t lo, size_t hi)
{
    for (size_t k = 0; ad_seg_start(k) < hi; k++) {
        size_t base = ad_seg_start(k), end = ad_seg_start(k + 1);
        for (size_t i = lo > base ? lo : base; i < hi && i < end; i++)
            t->seg[k][i - base] = (ad_srec){(uint32_t)hi - 1, (uint32_t)lo, 1e300, -1e300};
    }
}

/* s = sum x[i] (i mod 7) over variables that all come first, then one more
 * variable z after the ops: s += z x[0]. With poison, the variables' record
 * slots are overwritten before the ops. */
static ad_scalar leading_variables(ad_tape *t, ad_scalar *x, size_t n, ad_scalar *z, bool poison)
{
    for (size_t i = 0; i < n; i++)
        x[i] = ad_variable(t, (double)(i % 11) - 5.0);
    cr_assert_eq(t->hot.leaf_run, t->hot.ns, "the %zu variables are one leading run", n);
    if (poison) poison_records(t, AD_DUMMIES_, t->hot.ns);
    ad_scalar s = ad_constant(t, 0.0);
    for (size_t i = 0; i < n; i++)
        s = ad_add(s, ad_scale(x[i], (double)(i % 7)));
    *z = ad_variable(t, 2.0); /* after an op: a record of its own */
    cr_assert_eq(t->hot.leaf_run, n + AD_DUMMIES_, "the run ends at the first op");
    return ad_add(s, ad_mul(*z, x[0]));
}

Test(tape, leading_variables_write_no_record_and_the_sweep_never_reads_one)
{
    /* past two segment ends, where ad_variable takes the slow path */
    const size_t n = 5000;
    ad_scalar *x = malloc(n * sizeof *x), z;
    ad_tape *t = ad_tape_new();
    cr_assert(x && t);
    for (int round = 0; round < 2; round++) { /* a reset starts a new run */
        size_t m = round ? n / 3 : n;
        ad_tape_reset(t);
        ad_scalar s = leading_variables(t, x, m, &z, true);
        cr_assert_eq(ad_backward_scalar(s), AD_OK);
        for (size_t i = 0; i < m; i++) {
            double want = (double)(i % 7) + (i == 0 ? 2.0 : 0.0);
            if (ad_grad(x[i]) != want)
                cr_assert_fail("round %d: x[%zu] gradient %g, want %g", round, i, ad_grad(x[i]),
                               want);
        }
        cr_assert_eq(ad_grad(z), ad_value(x[0]));
        cr_assert_eq(ad_tape_stats_get(t).scalar_nodes, 2 * m + 2, "every variable counts");
    }
    ad_tape_free(t);
    free(x);
}

static bool append_text(const char *data, size_t len, void *user)
{
    char *buf = user;
    size_t have = strlen(buf);
    if (have + len >= 8192) return false;
    memcpy(buf + have, data, len);
    buf[have + len] = '\0';
    return true;
}

Test(tape, leading_variables_export_as_variables_whatever_their_slots_hold)
{
    static char plain[8192], poisoned[8192];
    ad_scalar x[3], z;
    for (int k = 0; k < 2; k++) {
        ad_tape *t = ad_tape_new();
        (void)leading_variables(t, x, 3, &z, k == 1);
        cr_assert_eq(ad_tape_export_dot_fn(t, append_text, k ? poisoned : plain), AD_OK);
        ad_tape_free(t);
    }
    cr_assert_str_eq(plain, poisoned);
    size_t variables = 0;
    for (const char *p = plain; (p = strstr(p, "scalar variable")); p++)
        variables++;
    cr_assert_eq(variables, 4, "%s", plain);
}

Test(tape, random_tensors_are_reproducible_from_their_seed)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_normal(t, AD_F64, 1, (size_t[]){1000}, 1.0, 2.0, 42);
    ad_tensor b = ad_tensor_normal(t, AD_F64, 1, (size_t[]){1000}, 1.0, 2.0, 42);
    ad_tensor u = ad_tensor_uniform(t, AD_F32, 1, (size_t[]){1000}, -3, 5, 9);
    double mean = 0, var = 0;
    for (size_t i = 0; i < 1000; i++) {
        cr_assert_eq(ad_tensor_get(a, i), ad_tensor_get(b, i));
        mean += ad_tensor_get(a, i) / 1000;
        double v = ad_tensor_get(u, i);
        cr_assert(v >= -3 && v < 5);
    }
    for (size_t i = 0; i < 1000; i++)
        var += pow(ad_tensor_get(a, i) - mean, 2) / 999;
    cr_assert(fabs(mean - 1.0) < 0.2 && fabs(sqrt(var) - 2.0) < 0.2, "mean %g std %g", mean,
              sqrt(var));
    /* the stream is fixed across machines: pin the first value */
    ad_tensor c = ad_tensor_uniform(t, AD_F64, 1, (size_t[]){1}, 0, 1, 1);
    double first = ad_tensor_get(c, 0);
    ad_tensor d = ad_tensor_uniform(t, AD_F64, 1, (size_t[]){1}, 0, 1, 1);
    cr_assert_eq(first, ad_tensor_get(d, 0));
    ad_tape_free(t);
}

Test(tape, filled_tensors_hold_their_values)
{
    ad_tape *t = ad_tape_new();
    size_t d[2] = {2, 3};
    ad_tensor z = ad_tensor_zeros(t, AD_F32, 2, d), o = ad_tensor_ones(t, AD_F64, 2, d),
              f = ad_tensor_fill(t, AD_F32, 2, d, 2.5);
    size_t dims[AD_MAX_DIMS];
    cr_assert_eq(ad_tensor_shape(f, dims), 2);
    cr_assert_eq(dims[0], 2);
    cr_assert_eq(dims[1], 3);
    cr_assert_eq(ad_tensor_numel(f), 6);
    cr_assert_eq(ad_tensor_dtype(o), AD_F64);
    for (size_t i = 0; i < 6; i++) {
        cr_assert_eq(ad_tensor_get(z, i), 0.0);
        cr_assert_eq(ad_tensor_get(o, i), 1.0);
        cr_assert_eq(ad_tensor_get(f, i), 2.5);
    }
    cr_assert(isnan(ad_tensor_get(f, 6)));
    ad_tape_free(t);
}

/* ---------------------------------------------------------------- errors */

Test(errors, a_handle_from_another_tape_fails_with_foreign)
{
    ad_tape *t1 = ad_tape_new(), *t2 = ad_tape_new();
    ad_scalar a = ad_variable(t1, 1.0), b = ad_variable(t2, 2.0);
    ad_scalar c = ad_mul(a, b);
    cr_assert(!ad_scalar_ok(c));
    ASSERT_TAPE_ERROR(t1, AD_ERR_FOREIGN, "ad_mul");
    ad_tensor x = ad_tensor_zeros(t2, AD_F64, 1, (size_t[]){2});
    ad_scalar s[1] = {a};
    (void)ad_stack_scalars(s, 1, 1, (size_t[]){1});
    cr_assert_eq(ad_tape_error(t2, NULL), AD_OK);
    ad_scalar xs[2] = {b, ad_variable(t1, 3.0)};
    ad_tensor st = ad_stack_scalars(xs, 2, 1, (size_t[]){2});
    cr_assert(!ad_tensor_ok(st));
    ASSERT_TAPE_ERROR(t2, AD_ERR_FOREIGN, "ad_stack_scalars");
    (void)x;
    ad_tape_free(t1);
    ad_tape_free(t2);
}

Test(errors, a_handle_used_after_reset_fails_with_stale)
{
    ad_tape *t = ad_tape_new();
    ad_scalar a = ad_variable(t, 1.0);
    ad_tensor x = ad_tensor_ones(t, AD_F64, 1, (size_t[]){2});
    ad_tape_reset(t);
    ad_scalar b = ad_exp(a);
    cr_assert(!ad_scalar_ok(b));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_exp");
    ad_tape_reset(t);
    cr_assert(!ad_scalar_ok(ad_tensor_to_scalar(x, 0)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "before the last ad_tape_reset");
    ad_tape_free(t);
}

Test(errors, the_first_error_sticks_and_later_ops_do_nothing)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_ones(t, AD_F64, 1, (size_t[]){2});
    ad_scalar bad = ad_tensor_to_scalar(x, 5);
    cr_assert(!ad_scalar_ok(bad));
    cr_assert(isnan(ad_value(bad)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "element 5 out of range for shape [2]");
    size_t before = ad_tape_stats_get(t).scalar_nodes;
    ad_scalar v = ad_variable(t, 1.0);
    ad_scalar w = ad_sin(ad_mul(v, bad));
    cr_assert(!ad_scalar_ok(v) && !ad_scalar_ok(w));
    cr_assert_eq(ad_tape_stats_get(t).scalar_nodes, before, "no work after the error");
    cr_assert_eq(ad_backward_scalar(w), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "element 5"); /* still the first message */
    ad_tape_clear_error(t);
    cr_assert_eq(ad_tape_error(t, NULL), AD_OK);
    ad_tape_free(t);
}

Test(errors, an_invalid_handle_is_refused_even_on_a_healthy_tape)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_ones(t, AD_F64, 1, (size_t[]){2});
    (void)ad_tensor_to_scalar(x, 9);
    ad_scalar bad = ad_tensor_to_scalar(x, 0); /* invalid: tape already failed */
    ad_tape_clear_error(t);
    ad_scalar y = ad_add(ad_variable(t, 1.0), bad);
    cr_assert(!ad_scalar_ok(y));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "invalid scalar");
    ad_tape_free(t);
}

Test(errors, backward_on_a_tensor_with_many_elements_needs_a_seed)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){3, 4}, NULL);
    cr_assert_eq(ad_backward(x), AD_ERR_SHAPE);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "[3,4]");
    ad_tape_reset(t);
    x = ad_tensor_variable(t, AD_F64, 2, (size_t[]){3, 4}, NULL);
    double seed[12];
    for (int i = 0; i < 12; i++)
        seed[i] = i;
    cr_assert_eq(ad_backward_seeded(x, seed), AD_OK);
    const double *g = ad_tensor_grad(x);
    for (int i = 0; i < 12; i++)
        cr_assert_eq(g[i], (double)i);
    cr_assert_eq(ad_backward_seeded(x, NULL), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "seed is NULL");
    ad_tape_free(t);
}

Test(errors, bad_shapes_and_dtypes_at_creation_are_refused)
{
    ad_tape *t = ad_tape_new();
    cr_assert(!ad_tensor_ok(ad_tensor_zeros(t, AD_F32, 5, (size_t[]){1, 1, 1, 1, 1})));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tensor_zeros: 5 dimensions");
    ad_tape_reset(t);
    cr_assert(!ad_tensor_ok(ad_tensor_zeros(t, AD_F32, 0, (size_t[]){1})));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "0 dimensions");
    ad_tape_reset(t);
    cr_assert(!ad_tensor_ok(ad_tensor_new(t, (ad_dtype)7, 1, (size_t[]){1}, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_tensor_new");
    ad_tape_reset(t);
    cr_assert(!ad_tensor_ok(ad_tensor_zeros(t, AD_F32, 2, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "dims is NULL");
    ad_tape_reset(t);
    size_t huge[4] = {SIZE_MAX / 2, 4, 1, 1};
    cr_assert(!ad_tensor_ok(ad_tensor_zeros(t, AD_F32, 4, huge)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "too many elements");
    ad_tape_reset(t);
    cr_assert(
        !ad_tensor_ok(ad_stack_scalars((ad_scalar[]){ad_variable(t, 1)}, 1, 1, (size_t[]){2})));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "1 scalars do not fill shape [2]");
    ad_tape_reset(t);
    cr_assert(!ad_scalar_ok(ad_tensor_item(ad_tensor_ones(t, AD_F32, 1, (size_t[]){2}))));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_tensor_item: shape [2]");
    ad_tape_free(t);
}

Test(errors, null_arguments_are_refused_without_crashing)
{
    cr_assert_null(ad_param_new(AD_F32, 1, NULL));
    cr_assert_null(ad_param_new(AD_F32, 0, (size_t[]){1}));
    cr_assert(!ad_tensor_ok(ad_tensor_zeros(NULL, AD_F32, 1, (size_t[]){1})));
    cr_assert(!ad_scalar_ok(ad_variable(NULL, 1.0)));
    cr_assert(!ad_scalar_ok(ad_add((ad_scalar){0}, (ad_scalar){0})));
    cr_assert_eq(ad_backward((ad_tensor){0}), AD_ERR_INVALID);
    cr_assert_eq(ad_backward_scalar((ad_scalar){0}), AD_ERR_INVALID);
    cr_assert_eq(ad_tape_error(NULL, NULL), AD_ERR_INVALID);
    ad_tape *t = ad_tape_new();
    cr_assert(!ad_tensor_ok(ad_param_use(t, NULL)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_param_use: parameter is NULL");
    ad_tape_free(t);
    ad_tape_free(NULL);
    ad_param_free(NULL);
    double g;
    cr_assert(isnan(ad_gradient(NULL, 1, &g, &g, NULL)));
    cr_assert_eq(ad_jacobian(NULL, 1, 1, &g, &g, NULL, NULL), AD_ERR_INVALID);
    cr_assert_eq(ad_gradcheck(NULL, 1, &g, NULL, NULL, NULL), AD_ERR_INVALID);
}

static ad_scalar sum_of_squares(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)ctx;
    ad_scalar s = ad_constant(t, 0.0);
    for (size_t i = 0; i < n; i++)
        s = ad_add(s, ad_mul(x[i], x[i]));
    return s;
}

Test(errors, every_failed_allocation_ends_in_nomem_and_leaks_nothing)
{
    double x[300], g[300];
    for (int i = 0; i < 300; i++)
        x[i] = i * 0.01;
    size_t live = ad_debug_live_allocs();
    int saw_nomem = 0;
    for (long k = 0; k < 40; k++) {
        ad_debug_fail_alloc_after(k);
        ad_status st;
        double f = ad_gradient_status(sum_of_squares, 300, x, g, NULL, &st);
        ad_debug_fail_alloc_after(-1);
        cr_assert(st == AD_OK || st == AD_ERR_NOMEM, "k=%ld: %s", k, ad_status_name(st));
        if (st == AD_ERR_NOMEM) saw_nomem++;
        if (st == AD_OK) cr_assert_float_eq(g[299], 2 * x[299], 1e-12);
        (void)f;
        cr_assert_eq(ad_debug_live_allocs(), live, "k=%ld leaked", k);
    }
    cr_assert(saw_nomem > 0);
}

Test(errors, a_failed_allocation_on_a_tape_names_the_op)
{
    ad_tape *t = ad_tape_new();
    ad_debug_fail_alloc_after(0);
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){1 << 20});
    ad_debug_fail_alloc_after(-1);
    cr_assert(!ad_tensor_ok(x));
    ASSERT_TAPE_ERROR(t, AD_ERR_NOMEM, "ad_tensor_zeros: out of memory");
    ad_tape_free(t);
}

Test(errors, status_names_are_stable)
{
    cr_assert_str_eq(ad_status_name(AD_OK), "AD_OK");
    cr_assert_str_eq(ad_status_name(AD_ERR_STALE), "AD_ERR_STALE");
    cr_assert_str_eq(ad_status_name(AD_ERR_GRADCHECK), "AD_ERR_GRADCHECK");
    cr_assert_str_eq(ad_status_name((ad_status)99), "AD_ERR_UNKNOWN");
    cr_assert_str_eq(ad_version(), ADTAPE_VERSION_STRING);
}

Test(errors, a_zeroed_tensor_handle_among_the_inputs_fails_the_other_inputs_tape)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_ones(t, AD_F32, 1, (size_t[]){2});
    ad_tensor y = ad_tadd((ad_tensor){0}, x);
    cr_assert(!ad_tensor_ok(y));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tadd: input 0 is not a tensor handle");
    ad_tape_free(t);
}

/* After a sweep every tensor variable reports a gradient, zeros when the
 * output does not depend on it, also when the output depends on no
 * variable at all (a tensor of constants, a constant scalar). */
Test(tape, variables_read_zero_gradients_after_a_sweep_from_an_output_that_needs_none)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){1, 2});
    ad_tensor u = ad_tensor_new(t, AD_F64, 1, (size_t[]){1}, (double[]){5});
    cr_assert_eq(ad_backward(ad_tsquare(u)), AD_OK);
    const double *g = ad_tensor_grad(x);
    cr_assert(g != NULL && g[0] == 0.0 && g[1] == 0.0);
    ad_tape_reset(t);
    x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){1, 2});
    cr_assert_eq(ad_backward_scalar(ad_constant(t, 3.0)), AD_OK);
    g = ad_tensor_grad(x);
    cr_assert(g != NULL && g[0] == 0.0 && g[1] == 0.0);
    ad_tape_free(t);
}

Test(errors, a_shape_too_long_to_print_whole_ends_in_an_ellipsis)
{
    char buf[AD_SHAPE_STR], want[96];
    size_t huge[4] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 2, SIZE_MAX - 3};
    /* 4 dimensions of 20 digits need 86 bytes: what fits, then ",...]" */
    snprintf(want, sizeof want, "[%zu,%zu,...]", huge[0], huge[1]);
    cr_assert_str_eq(ad_shape_str(4, huge, buf), want);
    /* the public messages show the cut too */
    ad_tape *t = ad_tape_new();
    cr_assert(!ad_tensor_ok(ad_tensor_zeros(t, AD_F32, 4, huge)));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, want);
    ad_tape_free(t);
    /* short dimensions after long ones still print whole when they fit */
    snprintf(want, sizeof want, "[%zu,%zu,3,4]", huge[0], huge[1]);
    cr_assert_str_eq(ad_shape_str(4, (size_t[]){huge[0], huge[1], 3, 4}, buf), want);
    cr_assert_str_eq(ad_shape_str(2, (size_t[]){3, 4}, buf), "[3,4]");
    cr_assert_str_eq(ad_shape_str(1, (size_t[]){0}, buf), "[0]");
    /* every cut keeps the string inside the buffer and closed */
    for (size_t d = 0; d < 4; d++)
        for (size_t n = 1; n <= 4; n++) {
            size_t dims[4] = {7, 7, 7, 7};
            for (size_t k = d; k < 4; k++)
                dims[k] = SIZE_MAX / (k + 1);
            const char *s = ad_shape_str(n, dims, buf);
            size_t len = strlen(s);
            cr_assert_lt(len, (size_t)AD_SHAPE_STR);
            cr_assert_eq(s[0], '[');
            cr_assert_eq(s[len - 1], ']');
        }
}

/* A shape with a 0 has no elements, but its other dimensions must still
 * multiply to a size the library could hold (as NumPy requires): the answer
 * must not depend on where the 0 is. */
Test(errors, an_empty_shape_with_huge_other_dimensions_is_refused_wherever_the_zero_is)
{
    ad_tape *t = ad_tape_new();
    const size_t h = SIZE_MAX / 2;
    const size_t bad[][4] = {{0, h, 4, 1},        {h, 0, 4, 1},       {h, 4, 0, 1},
                             {h, 4, 1, 0},        {0, h / 4, 3, 1},   {h / 4, 3, 1, 0},
                             {SIZE_MAX, 0, 1, 1}, {0, SIZE_MAX, 1, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ad_tensor x = ad_tensor_zeros(t, AD_F32, 4, bad[i]);
        cr_assert(!ad_tensor_ok(x), "case %zu accepted", i);
        ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tensor_zeros: shape [");
        ad_tape_reset(t);
    }
    /* the same dimensions with a 0 anywhere, when they are small enough, are fine */
    const size_t m = (size_t)1 << 20;
    const size_t good[][4] = {{0, m, m, 1}, {m, 0, m, 1}, {m, m, 1, 0}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ad_tensor x = ad_tensor_zeros(t, AD_F32, 4, good[i]);
        cr_assert(ad_tensor_ok(x), "case %zu: %s", i, test_tape_msg(t));
        cr_assert_eq(ad_tensor_numel(x), 0);
    }
    ad_tape_free(t);
}

Test(errors, code_built_on_the_api_fails_a_tape_with_its_own_message)
{
    ad_tape *t = ad_tape_new();
    cr_assert_eq(ad_tape_set_error(t, AD_OK, "ignored"), AD_OK);
    cr_assert_eq(ad_tape_error(t, NULL), AD_OK);
    cr_assert_eq(ad_tape_set_error(t, AD_ERR_SHAPE, "my_layer: input is [3], want [4]"),
                 AD_ERR_SHAPE);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "my_layer: input is [3], want [4]");
    cr_assert(!ad_tensor_ok(ad_tensor_zeros(t, AD_F32, 1, (size_t[]){1})), "the tape is failed");
    /* the first error wins */
    cr_assert_eq(ad_tape_set_error(t, AD_ERR_INVALID, "second"), AD_ERR_SHAPE);
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "my_layer:");
    ad_tape_clear_error(t);
    cr_assert_eq(ad_tape_set_error(t, AD_ERR_INVALID, NULL), AD_ERR_INVALID);
    cr_assert_eq(ad_tape_set_error(NULL, AD_ERR_INVALID, "x"), AD_ERR_INVALID);
    ad_tape_free(t);
}

/* A code that is no ad_status used to be stored as the tape's error, so
 * ad_backward and the rest returned it ("AD_ERR_UNKNOWN"). */
Test(errors, set_error_with_a_code_that_is_no_status_fails_with_invalid_and_names_it)
{
    ad_tape *t = ad_tape_new();
    cr_assert_eq(ad_tape_set_error(t, (ad_status)99, "my_layer: oops"), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tape_set_error: unknown status code 99");
    const char *msg;
    ad_tape_error(t, &msg);
    cr_assert(strstr(msg, "my_layer: oops"), "the caller's message is kept: %s", msg);
    ad_tape_clear_error(t);
    cr_assert_eq(ad_tape_set_error(t, (ad_status)-1, NULL), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tape_set_error: unknown status code -1");
    ad_tape_free(t);
}

/* Parameters follow the tensors' rule for empty shapes, wherever the 0 is
 * ([SIZE_MAX,0] used to be accepted, [SIZE_MAX,4,0] refused). */
Test(errors, an_empty_parameter_with_huge_other_dimensions_is_refused_wherever_the_zero_is)
{
    size_t h = SIZE_MAX / 8;
    cr_assert_null(ad_param_new(AD_F32, 2, (size_t[]){SIZE_MAX, 0}));
    cr_assert_null(ad_param_new(AD_F32, 2, (size_t[]){0, SIZE_MAX}));
    cr_assert_null(ad_param_new(AD_F64, 3, (size_t[]){h, 4, 0}));
    cr_assert_null(ad_param_new(AD_F64, 3, (size_t[]){0, h, 4}));
    ad_param *p = ad_param_new(AD_F32, 2, (size_t[]){1000, 0});
    cr_assert_not_null(p, "an ordinary empty parameter is fine");
    cr_assert_eq(ad_param_numel(p), 0);
    ad_param_free(p);
}
