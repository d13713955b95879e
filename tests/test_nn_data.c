/* SPDX-License-Identifier: MIT
 * Shuffling is reproducible from (seed, epoch) and a permutation; the PRNG's
 * bounded draws stay in range. */
#include "adtape/nn.h"

#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

Test(nn_data, shuffling_is_a_permutation_reproducible_from_seed_and_epoch)
{
    enum { N = 1000 };
    static size_t a[N], b[N], c[N], d[N];
    ad_nn_shuffle(a, N, 42, 3);
    ad_nn_shuffle(b, N, 42, 3);
    ad_nn_shuffle(c, N, 42, 4);
    ad_nn_shuffle(d, N, 43, 3);
    cr_assert(memcmp(a, b, sizeof a) == 0);
    cr_assert(memcmp(a, c, sizeof a) != 0);
    cr_assert(memcmp(a, d, sizeof a) != 0);
    static char seen[N];
    size_t moved = 0;
    for (size_t i = 0; i < N; i++) {
        cr_assert_lt(a[i], N);
        cr_assert_not(seen[a[i]], "%zu twice", a[i]);
        seen[a[i]] = 1;
        moved += a[i] != i;
    }
    cr_assert_gt(moved, N / 2);
}

Test(nn_data, the_first_draws_of_a_seed_are_fixed_across_machines)
{
    /* pinned: the stream is integer-only, so these never change */
    size_t p[5];
    ad_nn_shuffle(p, 5, 1, 0);
    size_t q[5];
    ad_nn_shuffle(q, 5, 1, 0);
    cr_assert(memcmp(p, q, sizeof p) == 0);
    ad_rng r;
    ad_rng_seed(&r, 0);
    /* splitmix64(0) seeds xoshiro256**: first output is fixed */
    uint64_t first = ad_rng_next(&r);
    ad_rng_seed(&r, 0);
    cr_assert_eq(ad_rng_next(&r), first);
    cr_assert_eq(first, 0x99EC5F36CB75F2B4ull, "first draw %llx", (unsigned long long)first);
}

Test(nn_data, bounded_draws_cover_the_range_and_stay_inside)
{
    ad_rng r;
    ad_rng_seed(&r, 5);
    int count[7] = {0};
    for (int i = 0; i < 7000; i++) {
        uint64_t k = ad_rng_below(&r, 7);
        cr_assert_lt(k, 7);
        count[k]++;
    }
    for (int k = 0; k < 7; k++)
        cr_assert(count[k] > 800 && count[k] < 1200, "%d: %d", k, count[k]);
    cr_assert_eq(ad_rng_below(&r, 0), 0);
    double u = ad_rng_uniform(&r);
    cr_assert(u >= 0 && u < 1);
}

Test(nn_data, gather_picks_rows_in_order_and_converts_to_float64)
{
    const float src[] = {0, 1, 10, 11, 20, 21, 30, 31};
    ad_tape *t = ad_tape_new();
    void *scratch = NULL;
    size_t len = 0;
    ad_tensor a = ad_nn_gather(t, AD_F64, src, 2, (size_t[]){3, 0, 2}, 3, &scratch, &len);
    size_t dims[AD_MAX_DIMS];
    cr_assert_eq(ad_tensor_shape(a, dims), 2);
    cr_assert(dims[0] == 3 && dims[1] == 2);
    cr_assert_eq(ad_tensor_dtype(a), AD_F64);
    double want[] = {30, 31, 0, 1, 20, 21};
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(ad_tensor_get(a, i), want[i]);
    ad_tensor b = ad_nn_gather(t, AD_F32, src, 2, NULL, 2, &scratch, &len);
    cr_assert_eq(ad_tensor_get(b, 3), 11.0);
    cr_assert_eq(len, 6 * sizeof(double)); /* grown once, reused */
    free(scratch);
    ad_tape_free(t);
}

Test(nn_data, accuracy_counts_argmax_hits_and_logistic_thresholds)
{
    ad_tape *t = ad_tape_new();
    ad_tensor z = ad_tensor_new(t, AD_F64, 2, (size_t[]){3, 2}, (double[]){1, 2, 3, -1, 0, 5});
    ad_nn *sm = ad_nn_new(&(ad_nn_spec){.inputs = 1, .outputs = 2, .head = AD_HEAD_SOFTMAX});
    cr_assert_float_eq(ad_nn_accuracy(sm, z, NULL, (int32_t[]){1, 0, 0}), 2.0 / 3, 1e-15);
    ad_nn *lg = ad_nn_new(&(ad_nn_spec){.inputs = 1, .outputs = 2, .head = AD_HEAD_LOGISTIC});
    /* logits > 0 predict 1: [1 1; 1 0; 0 1] vs targets */
    const float tg[] = {1, 0, 1, 0, 0, 0};
    cr_assert_float_eq(ad_nn_accuracy(lg, z, tg, NULL), 4.0 / 6, 1e-15);
    ad_nn *id = ad_nn_new(&(ad_nn_spec){.inputs = 1, .outputs = 2});
    cr_assert(isnan(ad_nn_accuracy(id, z, tg, NULL)));
    ad_nn_free(sm), ad_nn_free(lg), ad_nn_free(id);
    ad_tape_free(t);
}

Test(nn_data, evaluation_of_a_regression_gives_the_mean_loss_and_no_accuracy)
{
    /* a linear model 1 -> 1 with w = 2, b = 0.5: y = 2 x + 0.5 */
    ad_nn *m = ad_nn_new(&(ad_nn_spec){.inputs = 1, .outputs = 1, .dtype = AD_F64});
    ad_param *const *p = ad_nn_params(m, NULL);
    ((double *)ad_param_value(p[0]))[0] = 2.0;
    ((double *)ad_param_value(p[1]))[0] = 0.5;
    const float x[] = {0, 1, 2}, y[] = {0.5f, 3.5f, 4.5f}; /* errors 0, 1, 0 */
    ad_nn_data d = {3, 1, x, 1, y, NULL};
    ad_tape *t = ad_tape_new();
    double loss, acc;
    cr_assert_eq(ad_nn_evaluate(m, t, &d, 2, &loss, &acc), AD_OK); /* batches 2 + 1 */
    cr_assert_float_eq(loss, 1.0 / 3, 1e-12);
    cr_assert(isnan(acc));
    /* a 1-D input is one sample */
    ad_tensor one = ad_tensor_new(t, AD_F64, 1, (size_t[]){1}, (double[]){3});
    cr_assert_float_eq(ad_tensor_get(ad_nn_forward(m, one), 0), 6.5, 1e-12);
    ad_tape_free(t);
    ad_nn_free(m);
}

/* The gather's argument errors fail the tape without touching memory. */
static void assert_gather_refused(ad_tape *t, ad_status code, ad_tensor x, const char *msg)
{
    cr_assert(!ad_tensor_ok(x));
    const char *m;
    cr_assert_eq(ad_tape_error(t, &m), code, "%s (%s)", ad_status_name(ad_tape_error(t, NULL)), m);
    cr_assert(strstr(m, msg) != NULL, "message \"%s\" lacks \"%s\"", m, msg);
    ad_tape_reset(t);
}

Test(nn_data, gather_refuses_null_pointers_without_crashing)
{
    const float src[] = {0, 1, 10, 11};
    ad_tape *t = ad_tape_new();
    void *scratch = NULL;
    size_t len = 0;
    assert_gather_refused(t, AD_ERR_INVALID,
                          ad_nn_gather(t, AD_F32, NULL, 2, NULL, 2, &scratch, &len),
                          "ad_nn_gather: src is NULL");
    assert_gather_refused(t, AD_ERR_INVALID,
                          ad_nn_gather(t, AD_F32, src, 2, (size_t[]){1}, 1, NULL, &len),
                          "ad_nn_gather: scratch is NULL");
    assert_gather_refused(t, AD_ERR_INVALID,
                          ad_nn_gather(t, AD_F64, src, 2, (size_t[]){1}, 1, &scratch, NULL),
                          "ad_nn_gather: scratch_len is NULL");
    /* no tape: an invalid handle and nothing read */
    cr_assert(!ad_tensor_ok(ad_nn_gather(NULL, AD_F32, NULL, 2, NULL, 2, &scratch, &len)));
    /* an unknown dtype is the tape's AD_ERR_DTYPE, before anything is copied */
    assert_gather_refused(t, AD_ERR_DTYPE,
                          ad_nn_gather(t, (ad_dtype)7, src, 2, NULL, 2, &scratch, &len), "dtype");
    cr_assert_null(scratch);
    cr_assert_eq(len, 0);
    ad_tape_free(t);
}

Test(nn_data, gather_refuses_a_batch_whose_byte_size_overflows_and_names_the_sizes)
{
    const float src[] = {0, 1, 10, 11};
    ad_tape *t = ad_tape_new();
    void *scratch = NULL;
    size_t len = 0;
    /* b * cols * 8 wraps to 0 (2^61 * 2 * 8 = 2^65): the old code reallocated 0 bytes and wrote
     * past them */
    size_t b = (size_t)1 << (sizeof(size_t) * 8 - 3);
    ad_tensor x = ad_nn_gather(t, AD_F64, src, 2, NULL, b, &scratch, &len);
    cr_assert(!ad_tensor_ok(x));
    char shape[64];
    snprintf(shape, sizeof shape, "[%zu,2]", b);
    const char *m;
    ad_status st = ad_tape_error(t, &m);
    cr_assert(st == AD_ERR_NOMEM || st == AD_ERR_INVALID, "%s (%s)", ad_status_name(st), m);
    cr_assert(strstr(m, shape) != NULL, "message \"%s\" lacks %s", m, shape);
    ad_tape_reset(t);
    x = ad_nn_gather(t, AD_F32, src, SIZE_MAX / 2, NULL, 3, &scratch, &len);
    cr_assert(!ad_tensor_ok(x));
    cr_assert_neq(ad_tape_error(t, NULL), AD_OK);
    cr_assert_eq(len, 0);
    free(scratch);
    ad_tape_free(t);
}

Test(nn_data, gather_refuses_a_row_index_past_any_buffer)
{
    const float src[] = {0, 1, 10, 11};
    ad_tape *t = ad_tape_new();
    void *scratch = NULL;
    size_t len = 0;
    /* SIZE_MAX * 2 wraps to -2: the old code read src[-2] and src[-1] */
    ad_tensor x = ad_nn_gather(t, AD_F32, src, 2, (size_t[]){0, SIZE_MAX}, 2, &scratch, &len);
    assert_gather_refused(t, AD_ERR_INVALID, x,
                          "ad_nn_gather: idx[1] = 18446744073709551615 is past any buffer");
    free(scratch);
    ad_tape_free(t);
}

Test(nn_data, gather_of_an_empty_batch_or_empty_rows_copies_nothing)
{
    const float src[] = {0, 1};
    ad_tape *t = ad_tape_new();
    void *scratch = NULL;
    size_t len = 0;
    size_t dims[AD_MAX_DIMS];
    ad_tensor x = ad_nn_gather(t, AD_F32, src, 2, NULL, 0, &scratch, &len);
    cr_assert(ad_tensor_ok(x), "%s", test_tape_msg(t));
    cr_assert_eq(ad_tensor_shape(x, dims), 2);
    cr_assert(dims[0] == 0 && dims[1] == 2);
    /* rows of width 0: nothing to copy, and the scratch buffer (NULL) is never touched (the old
     * code passed it to memcpy, undefined even for 0 bytes: UBSan stops there) */
    x = ad_nn_gather(t, AD_F32, src, 0, (size_t[]){0, 0, 0}, 3, &scratch, &len);
    cr_assert(ad_tensor_ok(x));
    cr_assert_eq(ad_tensor_shape(x, dims), 2);
    cr_assert(dims[0] == 3 && dims[1] == 0);
    cr_assert_null(scratch);
    ad_tape_free(t);
}

/* The old code looped over the SIZE_MAX rows, copying nothing each time. */
Test(nn_data, gather_of_a_huge_batch_of_empty_rows_is_refused_at_once, .timeout = 10)
{
    const float src[] = {0, 1};
    ad_tape *t = ad_tape_new();
    void *scratch = NULL;
    size_t len = 0;
    ad_tensor x = ad_nn_gather(t, AD_F32, src, 0, NULL, SIZE_MAX, &scratch, &len);
    cr_assert(!ad_tensor_ok(x));
    const char *m;
    cr_assert_neq(ad_tape_error(t, &m), AD_OK);
    cr_assert(strncmp(m, "ad_nn_gather: ", 14) == 0, "the message names the gather: %s", m);
    cr_assert(strstr(m, "[18446744073709551615,0]") != NULL, "and the shape: %s", m);
    cr_assert_null(scratch);
    ad_tape_free(t);
}

Test(nn_data, shuffle_spirals_and_accuracy_refuse_null_arguments_without_crashing)
{
    ad_nn_shuffle(NULL, 5, 1, 0);
    int32_t labels[4];
    float x[8];
    ad_nn_make_spirals(2, 1.0, 0.0, 1, NULL, labels);
    ad_nn_make_spirals(2, 1.0, 0.0, 1, x, NULL);
    ad_tape *t = ad_tape_new();
    ad_tensor z = ad_tensor_new(t, AD_F64, 2, (size_t[]){1, 2}, (double[]){1, 2});
    cr_assert(isnan(ad_nn_accuracy(NULL, z, NULL, (int32_t[]){1})));
    ad_tape_free(t);
}

Test(nn_data, accuracy_of_logits_whose_width_is_not_the_outputs_is_nan)
{
    /* a logistic head of 2 outputs, targets [2,2]: logits [2,3] would read targets[4..5] */
    ad_nn *lg = ad_nn_new(&(ad_nn_spec){.inputs = 1, .outputs = 2, .head = AD_HEAD_LOGISTIC});
    ad_nn *sm = ad_nn_new(&(ad_nn_spec){.inputs = 1, .outputs = 2, .head = AD_HEAD_SOFTMAX});
    ad_tape *t = ad_tape_new();
    const float tg[] = {1, 0, 1, 0};
    ad_tensor z = ad_tensor_new(t, AD_F64, 2, (size_t[]){2, 3}, (double[]){1, 2, 3, 4, 5, 6});
    cr_assert(isnan(ad_nn_accuracy(lg, z, tg, NULL)), "%g", ad_nn_accuracy(lg, z, tg, NULL));
    cr_assert(isnan(ad_nn_accuracy(sm, z, NULL, (int32_t[]){0, 1})));
    /* one sample as a 1-D [outputs] tensor is still fine */
    ad_tensor one = ad_tensor_new(t, AD_F64, 1, (size_t[]){2}, (double[]){1, -1});
    cr_assert_float_eq(ad_nn_accuracy(lg, one, tg, NULL), 1.0, 1e-15);
    ad_tape_free(t);
    ad_nn_free(lg);
    ad_nn_free(sm);
}
