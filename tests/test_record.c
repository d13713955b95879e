/* SPDX-License-Identifier: MIT
 * Recording tensor nodes: the one-pass input check of ad_op_record and the
 * one-by-one checks it falls back to (same codes, same messages, same
 * order), the overflow-free element count and its checked fallback, node
 * slots reused after a reset, and the sweep numbers that say which
 * gradients are live. */
#include "common.h"

#include "core/tape.h"
#include "ops/ops.h"

#include <stdint.h>

static ad_tensor f32_ones(ad_tape *t, size_t n)
{
    return ad_tensor_ones(t, AD_F32, 1, (size_t[]){n});
}

/* ---- the input check: every failure of the fast pass reaches the message */

Test(record, a_foreign_second_or_third_input_fails_with_foreign_and_names_its_position)
{
    ad_tape *t = ad_tape_new(), *u = ad_tape_new();
    ad_tensor x = ad_tensor_ones(t, AD_F32, 2, (size_t[]){2, 3});
    ad_tensor w = ad_tensor_ones(t, AD_F32, 2, (size_t[]){4, 3});
    ad_tensor b = f32_ones(u, 4);
    ad_tensor y = ad_linear(x, w, b);
    cr_assert(!ad_tensor_ok(y));
    cr_assert_eq(ad_tensor_tape(y), t, "the invalid handle names the first input's tape");
    ASSERT_TAPE_ERROR(t, AD_ERR_FOREIGN, "ad_linear: input 2 belongs to a different tape");
    cr_assert_eq(ad_tape_error(u, NULL), AD_OK, "the other tape is not failed");
    ad_tape_clear_error(t);
    y = ad_tadd(x, ad_tensor_ones(u, AD_F32, 2, (size_t[]){2, 3}));
    ASSERT_TAPE_ERROR(t, AD_ERR_FOREIGN, "ad_tadd: input 1 belongs to a different tape");
    ad_tape_free(t);
    ad_tape_free(u);
}

Test(record, a_stale_input_in_any_position_fails_with_stale)
{
    for (int pos = 0; pos < 3; pos++) {
        ad_tape *t = ad_tape_new();
        ad_tensor old = f32_ones(t, 4);
        ad_tape_reset(t);
        ad_tensor ins[3] = {ad_tensor_ones(t, AD_F32, 2, (size_t[]){2, 3}),
                            ad_tensor_ones(t, AD_F32, 2, (size_t[]){4, 3}), f32_ones(t, 4)};
        ins[pos] = old;
        ad_tensor y = ad_linear(ins[0], ins[1], ins[2]);
        cr_assert(!ad_tensor_ok(y));
        ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_linear: tensor handle #0 was recorded before");
        ad_tape_free(t);
    }
}

Test(record, an_invalid_input_with_a_tape_fails_with_invalid)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = f32_ones(t, 3);
    ad_tensor bad = ad_invalid_tensor(t); /* what a failed op returns */
    ad_tensor y = ad_tmul(x, bad);
    cr_assert(!ad_tensor_ok(y));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tmul: invalid tensor handle");
    ad_tape_clear_error(t);
    y = ad_relu(bad);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_relu: invalid tensor handle");
    ad_tape_free(t);
}

Test(record, a_handle_past_the_last_node_fails_as_not_on_this_tape)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = f32_ones(t, 3);
    ad_tensor beyond = x;
    beyond.index_ = 7; /* right tape and generation, but no such node */
    ad_tensor y = ad_tadd(x, beyond);
    cr_assert(!ad_tensor_ok(y));
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tadd: tensor handle #7 is not on this tape");
    ad_tape_clear_error(t);
    (void)ad_relu(beyond);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_relu: tensor handle #7 is not on this tape");
    ad_tape_free(t);
}

Test(record, a_third_input_of_another_dtype_fails_with_dtype_and_names_both)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_ones(t, AD_F32, 2, (size_t[]){2, 3});
    ad_tensor w = ad_tensor_ones(t, AD_F32, 2, (size_t[]){4, 3});
    ad_tensor b = ad_tensor_ones(t, AD_F64, 1, (size_t[]){4});
    ad_tensor y = ad_linear(x, w, b);
    cr_assert(!ad_tensor_ok(y));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE,
                      "ad_linear: dtypes differ: input 0 is float32, input 2 is float64");
    ad_tape_free(t);
}

Test(record, checks_run_in_order_no_tape_first_then_input_by_input)
{
    ad_tape *t = ad_tape_new(), *u = ad_tape_new();
    ad_tensor old = f32_ones(t, 2);
    ad_tape_reset(t);
    ad_tensor x = f32_ones(t, 2), other = f32_ones(u, 2);
    /* input 1 foreign, input 2 invalid: input 1 comes first */
    (void)ad_linear(x, other, (ad_tensor){t, AD_INVALID_INDEX, 0});
    ASSERT_TAPE_ERROR(t, AD_ERR_FOREIGN, "ad_linear: input 1");
    ad_tape_clear_error(t);
    /* input 1 foreign, input 2 without a tape: the missing tape is reported */
    (void)ad_concat((ad_tensor[]){x, other, (ad_tensor){0}}, 3, 0);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_concat: input 2 is not a tensor handle (no tape)");
    ad_tape_clear_error(t);
    /* input 0 stale, input 1 foreign: input 0 comes first */
    (void)ad_tadd(old, other);
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_tadd");
    ad_tape_clear_error(t);
    /* input 0 fine, input 1 foreign, input 2 stale: input 1 comes first */
    (void)ad_concat((ad_tensor[]){x, other, old}, 3, 0);
    ASSERT_TAPE_ERROR(t, AD_ERR_FOREIGN, "ad_concat: input 1");
    ad_tape_free(t);
    ad_tape_free(u);
}

Test(record, an_op_on_a_failed_tape_records_nothing_and_keeps_the_first_message)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = f32_ones(t, 3);
    (void)ad_tensor_to_scalar(x, 9);
    size_t before = ad_tape_stats_get(t).tensor_nodes;
    ad_tensor y = ad_relu(x);
    cr_assert(!ad_tensor_ok(y));
    cr_assert_eq(ad_tensor_tape(y), t);
    cr_assert_eq(ad_tape_stats_get(t).tensor_nodes, before);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "element 9");
    ad_tape_free(t);
}

Test(record, a_zeroed_first_input_reports_on_the_second_inputs_tape)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = f32_ones(t, 2);
    ad_tensor y = ad_tmul((ad_tensor){0}, x);
    cr_assert(!ad_tensor_ok(y));
    cr_assert_eq(ad_tensor_tape(y), t);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tmul: input 0 is not a tensor handle (no tape)");
    ad_tape_free(t);
}

Test(record, more_inputs_than_fit_in_the_node_are_checked_and_recorded)
{
    ad_tape *t = ad_tape_new();
    ad_tensor xs[5];
    for (size_t k = 0; k < 5; k++)
        xs[k] = ad_tensor_fill(t, AD_F64, 1, (size_t[]){1}, (double)k);
    ad_tensor y = ad_concat(xs, 5, 0);
    cr_assert(ad_tensor_ok(y));
    for (size_t k = 0; k < 5; k++)
        cr_assert_eq(ad_tensor_get(y, k), (double)k);
    ad_tensor old = xs[4];
    ad_tape_reset(t);
    for (size_t k = 0; k < 4; k++)
        xs[k] = ad_tensor_fill(t, AD_F64, 1, (size_t[]){1}, (double)k);
    xs[4] = old;
    cr_assert(!ad_tensor_ok(ad_concat(xs, 5, 0)));
    ASSERT_TAPE_ERROR(t, AD_ERR_STALE, "ad_concat: tensor handle #4");
    ad_tape_reset(t);
    for (size_t k = 0; k < 5; k++)
        xs[k] = ad_tensor_fill(t, k == 3 ? AD_F32 : AD_F64, 1, (size_t[]){1}, (double)k);
    cr_assert(!ad_tensor_ok(ad_concat(xs, 5, 0)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "input 0 is float64, input 3 is float32");
    ad_tape_free(t);
}

/* ---- element counts: the unchecked product and its checked fallback */

Test(record, shapes_with_a_dimension_past_the_fast_limit_get_the_right_count)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_ones(t, AD_F32, 2, (size_t[]){1, 70000});
    cr_assert_eq(ad_tensor_numel(x), 70000);
    ad_tensor y = ad_tadd(x, ad_tensor_ones(t, AD_F32, 2, (size_t[]){3, 1}));
    cr_assert(ad_tensor_ok(y));
    cr_assert_eq(ad_tensor_numel(y), 210000);
    cr_assert_eq(ad_tensor_get(y, 209999), 2.0);
    ad_tensor z = ad_tensor_ones(t, AD_F32, 4, (size_t[]){32767, 1, 1, 3});
    cr_assert_eq(ad_tensor_numel(z), 98301);
    ad_tensor e = ad_tensor_zeros(t, AD_F32, 3, (size_t[]){5, 0, 40000});
    cr_assert_eq(ad_tensor_numel(e), 0);
    cr_assert_eq(ad_tape_error(t, NULL), AD_OK);
    ad_tape_free(t);
}

Test(record, shapes_whose_count_overflows_or_is_too_large_are_refused_as_before)
{
    ad_tape *t = ad_tape_new();
    (void)ad_tensor_zeros(t, AD_F32, 2, (size_t[]){SIZE_MAX / 2, 4});
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tensor_zeros: shape [");
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "has too many elements");
    ad_tape_clear_error(t);
    (void)ad_tensor_zeros(t, AD_F32, 4, (size_t[]){1u << 20, 1u << 20, 1u << 20, 2});
    ASSERT_TAPE_ERROR(t, AD_ERR_NOMEM, "is too large");
    ad_tape_clear_error(t);
    (void)ad_tensor_zeros(t, AD_F32, 0, (size_t[]){1});
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "0 dimensions; tensors have 1 to 4");
    ad_tape_clear_error(t);
    (void)ad_tensor_zeros(t, AD_F32, 5, (size_t[]){1, 1, 1, 1, 1});
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "5 dimensions");
    ad_tape_free(t);
}

/* ---- node slots reused after a reset start from zero */

Test(record, a_slot_reused_after_reset_forgets_the_parameter_and_gradient_it_held)
{
    ad_param *p = ad_param_new(AD_F64, 1, (size_t[]){3});
    ad_param_uniform(p, 0.5, 1.5, 3);
    ad_tape *t = ad_tape_new();
    ad_tensor w = ad_param_use(t, p);
    cr_assert_eq(ad_backward(ad_sum(ad_tmul(w, w))), AD_OK);
    ad_tape_reset(t);
    /* slot 0 is now a constant, slot 2 a relu (formerly sum, with a grad) */
    ad_tensor c = ad_tensor_fill(t, AD_F64, 1, (size_t[]){3}, 2.0);
    ad_tensor v = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, (double[]){1, -1, 2});
    ad_tensor r = ad_relu(ad_tmul(c, v));
    cr_assert_null(ad_tensor_grad(c), "a fresh constant has no gradient");
    cr_assert_null(ad_tensor_grad(r), "no sweep has run since the reset");
    double before[3];
    memcpy(before, ad_param_grad(p), sizeof before);
    cr_assert_eq(ad_backward(ad_sum(r)), AD_OK);
    cr_assert_null(ad_tensor_grad(c));
    const double *gv = ad_tensor_grad(v);
    cr_assert_not_null(gv);
    cr_assert(gv[0] == 2.0 && gv[1] == 0.0 && gv[2] == 2.0);
    cr_assert_arr_eq(ad_param_grad(p), before, sizeof before, "the old parameter is untouched");
    ad_tape_free(t);
    ad_param_free(p);
}

/* ---- sweep numbers */

Test(record, a_second_sweep_forgets_gradients_of_nodes_off_its_path)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){1, 2});
    ad_tensor a = ad_texp(x), b = ad_tmul(x, x);
    ad_tensor la = ad_sum(a), lb = ad_sum(b);
    cr_assert_null(ad_tensor_grad(x), "no sweep yet");
    cr_assert_eq(ad_backward(la), AD_OK);
    cr_assert_not_null(ad_tensor_grad(a));
    cr_assert_null(ad_tensor_grad(b), "nothing flowed into b");
    cr_assert_eq(ad_backward(lb), AD_OK);
    cr_assert_null(ad_tensor_grad(a), "a was live only in the first sweep");
    cr_assert_not_null(ad_tensor_grad(b));
    const double *gx = ad_tensor_grad(x);
    cr_assert(gx[0] == 2.0 && gx[1] == 4.0, "the sum starts from zero each sweep");
    ad_tape_free(t);
}

Test(record, sweep_numbers_wrapping_around_leave_no_stale_gradient_live)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, (double[]){1, 2});
    ad_tensor a = ad_texp(x), b = ad_tmul(x, x);
    ad_tensor la = ad_sum(a), lb = ad_sum(b);
    t->sweep = UINT32_MAX - 1;
    cr_assert_eq(ad_backward(la), AD_OK); /* sweep UINT32_MAX: a is live */
    cr_assert_not_null(ad_tensor_grad(a));
    cr_assert_eq(ad_backward(lb), AD_OK); /* wraps: the old numbers are wiped */
    cr_assert_eq(t->sweep, 1u);
    cr_assert_null(ad_tensor_grad(a));
    cr_assert_not_null(ad_tensor_grad(b));
    const double *gx = ad_tensor_grad(x);
    cr_assert(gx[0] == 2.0 && gx[1] == 4.0);
    /* one more sweep after the wrap, so number 1 is not mistaken for live */
    cr_assert_eq(ad_backward(la), AD_OK);
    cr_assert_null(ad_tensor_grad(b));
    cr_assert_not_null(ad_tensor_grad(a));
    ad_tape_free(t);
}

Test(record, the_node_table_grows_past_its_first_capacity_without_losing_nodes)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){1}, (double[]){0.5});
    ad_tensor y = x;
    for (int i = 0; i < 300; i++) /* the first node table holds 64 */
        y = ad_tadd(y, x);
    cr_assert_eq(ad_tensor_get(y, 0), 150.5);
    cr_assert_eq(ad_backward(y), AD_OK);
    cr_assert_eq(((const double *)ad_tensor_grad(x))[0], 301.0);
    ad_tape_free(t);
}

/* ---- the arena's inline bump */

Test(record, the_inline_arena_bump_matches_the_full_allocator_and_declines_what_it_cannot_do)
{
    ad_arena a = {0};
    cr_assert_null(ad_arena_bump(&a, 8), "no block yet: the caller takes the full path");
    char *p = ad_arena_alloc(&a, 8);
    cr_assert_not_null(p);
    char *q = ad_arena_bump(&a, 1);
    cr_assert_eq(q, p + AD_ARENA_ALIGN, "one aligned unit after the first");
    cr_assert_eq((uintptr_t)q % AD_ARENA_ALIGN, 0);
    cr_assert_null(ad_arena_bump(&a, 0), "zero bytes go to the full path, which rounds up");
    char *r = ad_arena_alloc(&a, 0);
    cr_assert_eq(r, q + AD_ARENA_ALIGN);
    cr_assert_null(ad_arena_bump(&a, SIZE_MAX), "sizes near SIZE_MAX never wrap");
    size_t left = a.cur->size - a.cur->used;
    char *s = ad_arena_bump(&a, left);
    cr_assert_eq(s, r + AD_ARENA_ALIGN, "an exact fit is taken");
    cr_assert_null(ad_arena_bump(&a, 1), "a full block declines");
    cr_assert_not_null(ad_arena_alloc(&a, 1), "and the full path opens the next block");
    ad_arena_release(&a);
}
