/* SPDX-License-Identifier: MIT
 * Training end to end: XOR and the two spirals train deterministically to
 * stated bounds from fixed seeds; evaluation records nothing; training
 * resumed from a model file continues bit-exactly; bad input is refused. */
#include "adtape/nn.h"

#include "common.h"

#include <criterion/redirect.h>

#include <math.h>
#include <stdio.h>
#include <unistd.h>

static const float xor_x[] = {0, 0, 0, 1, 1, 0, 1, 1};
static const float xor_y[] = {0, 1, 1, 0};

/* 2-2-1, sigmoid hidden units, logistic head: the classic problem */
static ad_nn *xor_model(uint64_t seed)
{
    static const ad_nn_layer_spec h[] = {{2, AD_ACT_TANH, 0, false, 0, false}};
    ad_nn_spec s = {.inputs = 2,
                    .n_hidden = 1,
                    .hidden = h,
                    .outputs = 1,
                    .head = AD_HEAD_LOGISTIC,
                    .seed = seed};
    ad_nn *m = ad_nn_new(&s);
    cr_assert_not_null(m);
    return m;
}

/* A default optimizer over m's parameters. */
static ad_opt *default_opt(const ad_nn *m)
{
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt *o = ad_opt_new(&(ad_opt_config){0}, ps, np);
    cr_assert_not_null(o);
    return o;
}

static void train_xor(ad_nn *m, ad_nn_history *h)
{
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt *o = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_ADAM, .lr = 0.05}, ps, np);
    ad_nn_data d = {4, 2, xor_x, 1, xor_y, NULL};
    ad_nn_train_opts to = {.epochs = 400, .batch_size = 4, .seed = 1, .quiet = true};
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &to, h), AD_OK, "%s", ad_last_error());
    ad_opt_free(o);
}

Test(nn_train, xor_trains_to_full_accuracy_and_a_small_loss_from_a_fixed_seed)
{
    ad_nn *m = xor_model(3);
    ad_nn_history h = {0};
    train_xor(m, &h);
    cr_assert_eq(h.n, 400);
    cr_assert_eq(h.train_acc[h.n - 1], 1.0, "accuracy %g", h.train_acc[h.n - 1]);
    cr_assert_lt(h.train_loss[h.n - 1], 0.05, "loss %g", h.train_loss[h.n - 1]);
    /* deterministic: the same seed gives the same final loss, bit for bit */
    ad_nn *m2 = xor_model(3);
    ad_nn_history h2 = {0};
    train_xor(m2, &h2);
    cr_assert_eq(h.train_loss[h.n - 1], h2.train_loss[h2.n - 1]);
    ad_nn_history_free(&h), ad_nn_history_free(&h2);
    ad_nn_free(m), ad_nn_free(m2);
}

enum { SPIRAL_N = 200 }; /* per class */
static float sp_x[4 * SPIRAL_N];
static int32_t sp_l[2 * SPIRAL_N];

Test(nn_train, residual_mlp_separates_two_spirals_above_95_percent)
{
    ad_nn_make_spirals(SPIRAL_N, 1.5, 0.01, 5, sp_x, sp_l);
    static const ad_nn_layer_spec h[] = {{32, AD_ACT_RELU, 0, false, 0, false},
                                         {32, AD_ACT_RELU, 1, false, 0, false},
                                         {32, AD_ACT_RELU, 1, false, 0, false}};
    ad_nn_spec s = {
        .inputs = 2, .n_hidden = 3, .hidden = h, .outputs = 2, .head = AD_HEAD_SOFTMAX, .seed = 9};
    ad_nn *m = ad_nn_new(&s);
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt *o = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_ADAM, .lr = 0.01}, ps, np);
    ad_nn_data d = {2 * SPIRAL_N, 2, sp_x, 0, NULL, sp_l};
    ad_nn_train_opts to = {.epochs = 40, .batch_size = 32, .seed = 3, .quiet = true};
    ad_nn_history hist = {0};
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &to, &hist), AD_OK, "%s", ad_last_error());
    ad_tape *t = ad_tape_new();
    double loss, acc;
    cr_assert_eq(ad_nn_evaluate(m, t, &d, 0, &loss, &acc), AD_OK, "%s", ad_last_error());
    cr_assert_gt(acc, 0.95, "spirals accuracy %g (loss %g)", acc, loss);
    cr_assert_lt(loss, hist.train_loss[0]);
    ad_tape_free(t);
    ad_nn_history_free(&hist);
    ad_opt_free(o);
    ad_nn_free(m);
}

Test(nn_train, evaluation_records_nothing_and_restores_recording)
{
    ad_nn *m = xor_model(1);
    ad_tape *t = ad_tape_new();
    ad_nn_data d = {4, 2, xor_x, 1, xor_y, NULL};
    double loss, acc;
    cr_assert_eq(ad_nn_evaluate(m, t, &d, 3, &loss, &acc), AD_OK);
    cr_assert(isfinite(loss) && acc >= 0 && acc <= 1);
    /* recording is back on and the tape is reset */
    cr_assert(ad_tape_set_recording(t, true));
    cr_assert_eq(ad_tape_stats_get(t).tensor_nodes, 0);
    /* no gradient reached the parameters */
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < ad_param_numel(ps[i]); j++)
            cr_assert_eq(((float *)ad_param_grad(ps[i]))[j], 0.0f);
    /* the same loss as a recorded forward in one batch */
    ad_tensor x = ad_tensor_new(t, AD_F32, 2, (size_t[]){4, 2}, xor_x);
    ad_tensor y = ad_tensor_new(t, AD_F32, 2, (size_t[]){4, 1}, xor_y);
    ad_tensor l = ad_nn_loss(m, ad_nn_forward(m, x), y, NULL);
    cr_assert_float_eq(ad_tensor_get(l, 0), loss, 1e-6);
    ad_tape_free(t);
    ad_nn_free(m);
}

/* Trains `epochs` more epochs of the spirals with Adam + cosine schedule. */
static void train_more(ad_nn *m, ad_opt *o, size_t epochs)
{
    ad_nn_data d = {2 * SPIRAL_N, 2, sp_x, 0, NULL, sp_l};
    ad_nn_train_opts to = {.epochs = epochs, .batch_size = 50, .seed = 8, .quiet = true};
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &to, NULL), AD_OK, "%s", ad_last_error());
}

static ad_nn *small_model(void)
{
    static const ad_nn_layer_spec h[] = {{16, AD_ACT_RELU, 0, false, 0, false},
                                         {12, AD_ACT_GELU, 1, true, 0, false}};
    ad_nn_spec s = {
        .inputs = 2, .n_hidden = 2, .hidden = h, .outputs = 2, .head = AD_HEAD_SOFTMAX, .seed = 21};
    return ad_nn_new(&s);
}

static ad_opt *small_opt(ad_nn *m)
{
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt_config c = {.kind = AD_OPT_ADAMW,
                       .lr = 0.01,
                       .weight_decay = 1e-3,
                       .clip_norm = 1,
                       .schedule = AD_LR_COSINE,
                       .total_epochs = 6};
    return ad_opt_new(&c, ps, np);
}

static void temp_path(char *path)
{
    strcpy(path, "/tmp/adtape_nn_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
}

Test(nn_train, training_resumed_from_a_file_continues_bit_exactly)
{
    ad_nn_make_spirals(SPIRAL_N, 1.5, 0.01, 5, sp_x, sp_l);
    ad_nn *a = small_model(), *b = small_model(), *c = small_model();
    ad_opt *oa = small_opt(a), *ob = small_opt(b), *oc = small_opt(c);
    train_more(a, oa, 6); /* uninterrupted */
    train_more(b, ob, 3); /* interrupted after 3 epochs, saved, loaded into fresh c */
    char path[64];
    temp_path(path);
    cr_assert_eq(ad_nn_save(path, b, ob), AD_OK, "%s", ad_last_error());
    cr_assert_eq(ad_nn_load(path, c, oc), AD_OK, "%s", ad_last_error());
    cr_assert_eq(ad_opt_epoch(oc), 3);
    cr_assert_eq(ad_opt_steps(oc), ad_opt_steps(ob));
    train_more(c, oc, 3);
    size_t np;
    ad_param *const *pa = ad_nn_params(a, &np), *const *pc = ad_nn_params(c, NULL);
    for (size_t i = 0; i < np; i++)
        cr_assert(memcmp(ad_param_value(pa[i]), ad_param_value(pc[i]),
                         ad_param_numel(pa[i]) * sizeof(float)) == 0,
                  "parameter %zu differs", i);
    size_t ns;
    ad_param *const *sa = ad_opt_state(oa, &ns), *const *sc = ad_opt_state(oc, NULL);
    for (size_t i = 0; i < ns; i++)
        cr_assert(memcmp(ad_param_value(sa[i]), ad_param_value(sc[i]),
                         ad_param_numel(sa[i]) * (i == 0 ? 8 : 4)) == 0,
                  "state %zu differs", i);
    unlink(path);
    ad_opt_free(oa), ad_opt_free(ob), ad_opt_free(oc);
    ad_nn_free(a), ad_nn_free(b), ad_nn_free(c);
}

Test(nn_train, loading_into_another_architecture_is_refused_and_changes_nothing)
{
    ad_nn *a = small_model();
    char path[64];
    temp_path(path);
    cr_assert_eq(ad_nn_save(path, a, NULL), AD_OK, "%s", ad_last_error());
    /* same shapes, other activation: only the description tells them apart */
    static const ad_nn_layer_spec h[] = {{16, AD_ACT_TANH, 0, false, 0, false},
                                         {12, AD_ACT_GELU, 1, true, 0, false}};
    ad_nn *b = ad_nn_new(&(ad_nn_spec){.inputs = 2,
                                       .n_hidden = 2,
                                       .hidden = h,
                                       .outputs = 2,
                                       .head = AD_HEAD_SOFTMAX,
                                       .seed = 99});
    float before = ((float *)ad_param_value(ad_nn_params(b, NULL)[0]))[0];
    cr_assert_eq(ad_nn_load(path, b, NULL), AD_ERR_FORMAT);
    cr_assert(strstr(ad_last_error(), "ad_nn_load:") && strstr(ad_last_error(), "16 relu") &&
                  strstr(ad_last_error(), "16 tanh"),
              "%s", ad_last_error());
    cr_assert_eq(((float *)ad_param_value(ad_nn_params(b, NULL)[0]))[0], before);
    /* an AdamW file does not load into an Adam optimizer of the same size */
    ad_opt *oa = small_opt(a);
    cr_assert_eq(ad_nn_save(path, a, oa), AD_OK, "%s", ad_last_error());
    size_t np;
    ad_param *const *pa = ad_nn_params(a, &np);
    ad_opt *adam = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_ADAM}, pa, np);
    cr_assert_eq(ad_nn_load(path, a, adam), AD_ERR_FORMAT);
    cr_assert(strstr(ad_last_error(), "opt=adamw") && strstr(ad_last_error(), "opt=adam\""), "%s",
              ad_last_error());
    ad_opt_free(adam);
    ad_opt_free(oa);
    cr_assert_eq(ad_nn_save(path, a, NULL), AD_OK, "%s", ad_last_error());
    /* a file without optimizer state cannot fill an optimizer */
    ad_opt *o = small_opt(b);
    cr_assert_neq(ad_nn_load(path, a, o), AD_OK);
    /* a truncated file */
    FILE *f = fopen(path, "r+b");
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fclose(f);
    cr_assert_eq(truncate(path, len / 2), 0);
    cr_assert_eq(ad_nn_load(path, a, NULL), AD_ERR_FORMAT, "%s", ad_last_error());
    unlink(path);
    cr_assert_eq(ad_nn_load(path, a, NULL), AD_ERR_IO);
    ad_opt_free(o);
    ad_nn_free(a), ad_nn_free(b);
}

Test(nn_train, describe_names_widths_activations_skips_and_head)
{
    ad_nn *m = small_model();
    char buf[128];
    size_t n = ad_nn_describe(m, buf, sizeof buf);
    cr_assert_str_eq(buf, "2-16 relu-12 gelu +1P-2 softmax/ce f32");
    cr_assert_eq(n, strlen(buf));
    char tiny[5];
    cr_assert_eq(ad_nn_describe(m, tiny, sizeof tiny), n);
    cr_assert_str_eq(tiny, "2-16");
    /* a NULL buffer only measures, whatever len says (it crashed) */
    cr_assert_eq(ad_nn_describe(m, NULL, 64), n);
    ad_nn_free(m);
}

Test(nn_train, refuses_data_that_does_not_fit_the_model)
{
    ad_nn *m = small_model();
    ad_opt *o = small_opt(m);
    ad_nn_data d = {4, 3, xor_x, 0, NULL, (int32_t[]){0, 1, 0, 1}};
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, NULL, NULL), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "training data has 3 features, the model takes 2"), "%s",
              ad_last_error());
    d = (ad_nn_data){4, 2, xor_x, 1, xor_y, NULL};
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, NULL, NULL), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "lacks the softmax head's targets"), "%s", ad_last_error());
    ad_tape *t = ad_tape_new();
    d = (ad_nn_data){4, 2, xor_x, 0, NULL, (int32_t[]){0, 1, 2, 1}};
    cr_assert_eq(ad_nn_evaluate(m, t, &d, 0, NULL, NULL), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "label 2 of sample 2 is not in [0, 2)"), "%s",
              ad_last_error());
    /* training checks every label before its first step, so the model is untouched */
    cr_assert_eq(
        ad_nn_train(m, o, &d, NULL, &(ad_nn_train_opts){.batch_size = 1, .quiet = 1}, NULL),
        AD_ERR_INVALID);
    cr_assert(
        strstr(ad_last_error(), "ad_nn_train: training data: label 2 of sample 2 is not in [0, 2)"),
        "%s", ad_last_error());
    cr_assert_eq(ad_opt_steps(o), 0);
    ad_tape_free(t);
    ad_opt_free(o);
    ad_nn_free(m);
}

/* The progress line has 256 bytes; a long run name is cut, not overflowed. */
Test(nn_train, a_long_run_name_is_cut_in_the_progress_line, .init = cr_redirect_stderr)
{
    char name[400];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    ad_nn *m = xor_model(3);
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt *o = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_SGD, .lr = 0.1}, ps, np);
    ad_nn_data d = {4, 2, xor_x, 1, xor_y, NULL};
    cr_assert_eq(ad_nn_train(m, o, &d, &d, &(ad_nn_train_opts){.epochs = 2, .name = name}, NULL),
                 AD_OK, "%s", ad_last_error());
    fflush(stderr);
    ad_opt_free(o);
    ad_nn_free(m);
}

Test(nn_train, prints_one_progress_line_per_epoch_with_its_fields_and_none_when_quiet,
     .init = cr_redirect_stderr)
{
    ad_nn *m = xor_model(3);
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt *o = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_SGD, .lr = 0.1}, ps, np);
    ad_nn_data d = {4, 2, xor_x, 1, xor_y, NULL};
    ad_nn_train_opts to = {.epochs = 3, .batch_size = 2, .name = "xortest"};
    cr_assert_eq(ad_nn_train(m, o, &d, &d, &to, NULL), AD_OK);
    to.quiet = true;
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &to, NULL), AD_OK);
    to = (ad_nn_train_opts){.epochs = 4, .print_every = 3, .name = "every3"};
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &to, NULL), AD_OK);
    fflush(stderr);
    FILE *f = cr_get_redirected_stderr();
    char line[512];
    int n = 0, every = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "every3 epoch ", 13) == 0) {
            every++;
            continue;
        }
        n++;
        char want[64];
        snprintf(want, sizeof want, "xortest epoch %d/3  loss ", n);
        cr_assert(strncmp(line, want, strlen(want)) == 0, "line \"%s\"", line);
        cr_assert(strstr(line, "  acc ") && strstr(line, "  val loss ") &&
                      strstr(line, "  val acc ") && strstr(line, " s  ") &&
                      strstr(line, " samples/s\n"),
                  "line \"%s\"", line);
    }
    cr_assert_eq(n, 3);
    cr_assert_eq(every, 2); /* epochs 9 (a multiple of 3) and 10 (the last) of 7..10 */
    cr_assert_eq(ad_opt_epoch(o), 10);
    ad_opt_free(o);
    ad_nn_free(m);
}

Test(nn_train, history_push_refuses_a_null_history)
{
    cr_assert_not(ad_nn_history_push(NULL, 1, 2, 3, 4, 5));
    ad_nn_history_free(NULL);
}

Test(nn_train, refuses_an_optimizer_built_over_another_models_parameters)
{
    ad_nn *m = xor_model(3), *other = xor_model(4);
    ad_opt *o = default_opt(other);
    ad_nn_data d = {4, 2, xor_x, 1, xor_y, NULL};
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &(ad_nn_train_opts){.epochs = 2, .quiet = true}, NULL),
                 AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(),
                     "ad_nn_train: the optimizer does not update the model's parameter 0"),
              "%s", ad_last_error());
    cr_assert_eq(ad_opt_steps(o), 0);
    ad_opt_free(o);
    ad_nn_free(other);
    ad_nn_free(m);
}

Test(nn_train, refuses_a_sample_count_or_epoch_count_that_overflows)
{
    ad_nn *m = xor_model(3);
    ad_opt *o = default_opt(m);
    ad_nn_train_opts q = {.epochs = 2, .quiet = true};
    /* n x sizeof(size_t) wraps: the permutation would be a few bytes */
    ad_nn_data d = {SIZE_MAX / 4 + 1, 2, xor_x, 1, xor_y, NULL};
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &q, NULL), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "ad_nn_train: training data has 4611686018427387904 samples"),
              "%s", ad_last_error());
    /* epoch + epochs wraps: nothing ran, and AD_OK said it had */
    d.n = 4;
    ad_opt_set_epoch(o, 5);
    q.epochs = SIZE_MAX - 2;
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, &q, NULL), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "ad_nn_train: 18446744073709551613 epochs from epoch 5"),
              "%s", ad_last_error());
    cr_assert_eq(ad_opt_steps(o), 0);
    ad_opt_free(o);
    ad_nn_free(m);
}

Test(nn_train, names_missing_inputs_instead_of_a_width_mismatch)
{
    ad_nn *m = xor_model(3);
    ad_opt *o = default_opt(m);
    ad_nn_data d = {4, 2, NULL, 1, xor_y, NULL};
    cr_assert_eq(ad_nn_train(m, o, &d, NULL, NULL, NULL), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "ad_nn_train: training data has no inputs (x is NULL)"), "%s",
              ad_last_error());
    ad_opt_free(o);
    ad_nn_free(m);
}
