/* SPDX-License-Identifier: MIT
 * ad_last_error: the drivers free their tapes, so their messages reach the
 * caller through a per-thread buffer. */
#include "common.h"

#include "adtape/data.h"
#include "adtape/nn.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

/* Fails its tape with a shape error, then returns x[0]. */
static ad_scalar bad_shapes(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    ad_tensor a = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){2});
    ad_tensor b = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3});
    (void)ad_tadd(a, b);
    return x[0];
}

static ad_scalar square_sum(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)ctx;
    ad_scalar s = ad_constant(t, 0.0);
    for (size_t i = 0; i < n; i++)
        s = ad_add(s, ad_square(x[i]));
    return s;
}

/* x0^2 + x1^2 with a wrong partial for x1 (3 x1 instead of 2 x1) */
static ad_scalar wrong_partial(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)t, (void)n, (void)ctx;
    double a = ad_value(x[0]), b = ad_value(x[1]);
    return ad_custom2(x[0], x[1], a * a + b * b, 2 * a, 3 * b);
}

Test(last_error, a_failing_gradient_reports_the_message_of_the_users_function)
{
    double x[1] = {1.0}, g[1];
    ad_status st;
    double v = ad_gradient_status(bad_shapes, 1, x, g, NULL, &st);
    cr_assert(isnan(v));
    cr_assert_eq(st, AD_ERR_SHAPE);
    cr_assert(strstr(ad_last_error(), "ad_tadd") != NULL, "%s", ad_last_error());
    cr_assert(strstr(ad_last_error(), "[2]") && strstr(ad_last_error(), "[3]"), "%s",
              ad_last_error());
}

Test(last_error, a_successful_call_clears_the_previous_message)
{
    double x[2] = {1.0, 2.0}, g[2];
    ad_gradient(bad_shapes, 1, x, g, NULL);
    cr_assert_neq(ad_last_error()[0], '\0');
    cr_assert_eq(ad_gradient(square_sum, 2, x, g, NULL), 5.0);
    cr_assert_str_eq(ad_last_error(), "");
}

Test(last_error, null_arguments_are_named)
{
    double x[1] = {1.0}, g[1];
    cr_assert(isnan(ad_gradient(NULL, 1, x, g, NULL)));
    cr_assert_str_eq(ad_last_error(), "ad_gradient: the function is NULL");
    cr_assert(isnan(ad_gradient(square_sum, 1, x, NULL, NULL)));
    cr_assert_str_eq(ad_last_error(), "ad_gradient: grad is NULL");
    cr_assert_eq(ad_gradcheck(square_sum, 1, NULL, NULL, NULL, NULL), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(), "ad_gradcheck: x is NULL");
}

Test(last_error, a_failed_gradient_check_names_the_worst_element_and_both_values)
{
    double x[2] = {1.0, 2.0};
    ad_gradcheck_report r;
    cr_assert_eq(ad_gradcheck(wrong_partial, 2, x, NULL, NULL, &r), AD_ERR_GRADCHECK);
    const char *m = ad_last_error();
    cr_assert(strstr(m, "ad_gradcheck: 1 of 2 elements failed (input:index 0:1); worst: element "
                        "1 of input 0: analytic 6 vs numeric 4") != NULL,
              "%s", m);
    cr_assert_eq(ad_gradcheck(square_sum, 2, x, NULL, NULL, &r), AD_OK);
    cr_assert_str_eq(ad_last_error(), "");
}

static ad_tensor sum_graph(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    (void)n, (void)ctx;
    return ad_sum(ad_param_use(t, ps[0]));
}

Test(last_error, a_float32_parameter_in_a_graph_check_is_named_with_its_dtype)
{
    ad_param *p = ad_param_new(AD_F32, 1, (size_t[]){3});
    cr_assert_eq(ad_gradcheck_graph(sum_graph, &p, 1, NULL, NULL, NULL), AD_ERR_DTYPE);
    cr_assert_str_eq(ad_last_error(),
                     "ad_gradcheck_graph: params[0] is float32; gradient checks need float64");
    ad_param_free(p);
}

static void bad_vector(ad_tape *t, const ad_scalar *x, size_t n, ad_scalar *y, size_t m, void *ctx)
{
    (void)m, (void)ctx;
    y[0] = bad_shapes(t, x, n, NULL);
}

Test(last_error, a_failing_jacobian_reports_the_message_of_the_users_function)
{
    double x[1] = {1.0}, J[1];
    cr_assert_eq(ad_jacobian(bad_vector, 1, 1, x, J, NULL, NULL), AD_ERR_SHAPE);
    cr_assert(strstr(ad_last_error(), "ad_tadd") != NULL, "%s", ad_last_error());
}

static void *other_thread(void *arg)
{
    (void)arg;
    return (void *)ad_last_error();
}

Test(last_error, each_thread_has_its_own_message)
{
    double x[1] = {1.0}, g[1];
    ad_gradient(bad_shapes, 1, x, g, NULL);
    pthread_t th;
    void *seen;
    cr_assert_eq(pthread_create(&th, NULL, other_thread, NULL), 0);
    cr_assert_eq(pthread_join(th, &seen), 0);
    cr_assert_str_eq((const char *)seen, "", "the other thread made no call");
    cr_assert(strstr(ad_last_error(), "ad_tadd") != NULL);
}

static ad_tape *other_tape; /* a user mistake: recording on a tape of one's own */

static ad_scalar on_other_tape(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)t, (void)n, (void)ctx;
    return ad_square(ad_variable(other_tape, ad_value(x[0])));
}

static void vector_on_other_tape(ad_tape *t, const ad_scalar *x, size_t n, ad_scalar *y, size_t m,
                                 void *ctx)
{
    (void)n, (void)m, (void)ctx;
    y[0] = ad_square(x[0]);
    y[1] = ad_square(ad_variable(other_tape, ad_value(x[0])));
    (void)t;
}

static ad_scalar zero_handle(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)t, (void)x, (void)n, (void)ctx;
    ad_scalar h = {0};
    return h;
}

Test(last_error, drivers_reject_an_output_recorded_on_another_tape_or_no_tape)
{
    other_tape = ad_tape_new();
    double x[1] = {3.0}, g[1] = {-1.0}, J[2] = {-1.0, -1.0};
    ad_status st;
    double v = ad_gradient_status(on_other_tape, 1, x, g, NULL, &st);
    cr_assert_eq(st, AD_ERR_FOREIGN, "%s", ad_status_name(st));
    cr_assert(isnan(v));
    cr_assert(strstr(ad_last_error(), "ad_gradient: the function's result was recorded on another "
                                      "tape") != NULL,
              "%s", ad_last_error());
    cr_assert_eq(ad_jacobian(vector_on_other_tape, 2, 1, x, J, NULL, NULL), AD_ERR_FOREIGN);
    cr_assert(strstr(ad_last_error(), "ad_jacobian: output 1 was recorded on another tape") != NULL,
              "%s", ad_last_error());
    ad_gradient_status(zero_handle, 1, x, g, NULL, &st);
    cr_assert_eq(st, AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "ad_gradient: the function's result is not a scalar "
                                      "handle") != NULL,
              "%s", ad_last_error());
    ad_tape_free(other_tape);
}

/* Fails (adds a zero handle) only above x = 2, so only the x + h evaluation of
 * a check at 2 fails; the x - h one that follows must not hide it. */
static ad_scalar fails_above_two(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    (void)t, (void)n, (void)ctx;
    if (ad_value(x[0]) > 2.0) {
        ad_scalar bad = {0};
        return ad_add(x[0], bad);
    }
    return ad_square(x[0]);
}

Test(last_error, gradcheck_reports_an_error_of_the_function_at_x_plus_h)
{
    double x[1] = {2.0};
    ad_gradcheck_report r;
    ad_status st = ad_gradcheck(fails_above_two, 1, x, NULL, NULL, &r);
    cr_assert_eq(st, AD_ERR_INVALID, "%s: %s", ad_status_name(st), ad_last_error());
    cr_assert(strstr(ad_last_error(), "ad_add: input 1 is not a scalar handle") != NULL, "%s",
              ad_last_error());
}

/* ---- the tapeless rule: a success clears what a failure left */

Test(last_error, a_successful_params_save_and_load_clear_the_message_of_a_failed_one)
{
    char dir[] = "/tmp/adtape-lasterr-XXXXXX", path[64], bad[96];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/p.adt", dir);
    snprintf(bad, sizeof bad, "%s/no/such/dir/p.adt", dir);
    ad_param *p = ad_param_new(AD_F32, 1, (size_t[]){3});
    cr_assert_eq(ad_params_save(bad, &p, 1, NULL, 0), AD_ERR_IO);
    cr_assert(strncmp(ad_last_error(), "ad_params_save: ", 16) == 0, "%s", ad_last_error());
    cr_assert_eq(ad_params_save(path, &p, 1, NULL, 0), AD_OK, "%s", ad_last_error());
    cr_assert_str_eq(ad_last_error(), "");
    cr_assert_eq(ad_params_load(bad, &p, 1, NULL, 0, NULL), AD_ERR_IO);
    cr_assert(strncmp(ad_last_error(), "ad_params_load: ", 16) == 0, "%s", ad_last_error());
    cr_assert(strstr(ad_last_error(), bad), "%s", ad_last_error());
    cr_assert_eq(ad_params_load(path, &p, 1, NULL, 0, NULL), AD_OK, "%s", ad_last_error());
    cr_assert_str_eq(ad_last_error(), "");
    cr_assert_eq(ad_params_info(bad, NULL, NULL, 0, NULL), AD_ERR_IO);
    cr_assert(strncmp(ad_last_error(), "ad_params_info: ", 16) == 0, "%s", ad_last_error());
    cr_assert_eq(ad_params_info(path, NULL, NULL, 0, NULL), AD_OK, "%s", ad_last_error());
    cr_assert_str_eq(ad_last_error(), "");
    ad_param_free(p);
    remove(path);
    rmdir(dir);
}

Test(last_error, a_successful_nn_new_clears_the_message_of_a_failed_one)
{
    ad_nn_spec spec = {.inputs = 0, .outputs = 2};
    cr_assert_null(ad_nn_new(&spec));
    cr_assert_str_eq(ad_last_error(), "ad_nn_new: inputs is 0");
    spec.inputs = 3;
    ad_nn *m = ad_nn_new(&spec);
    cr_assert_not_null(m, "%s", ad_last_error());
    cr_assert_str_eq(ad_last_error(), "");
    ad_nn_free(m);
}

Test(last_error, a_successful_idx_read_clears_the_message_of_a_failed_one)
{
    char dir[] = "/tmp/adtape-lasterr-XXXXXX", path[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/l.idx", dir);
    const unsigned char b[10] = {0, 0, 8, 1, 0, 0, 0, 2, 4, 5};
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, sizeof b, f), sizeof b);
    fclose(f);
    int32_t *lab;
    size_t n;
    cr_assert_eq(ad_idx_read_labels("/nonexistent/l.idx", &lab, &n), AD_ERR_IO);
    cr_assert_str_eq(
        ad_last_error(),
        "ad_idx_read_labels: /nonexistent/l.idx: cannot open: No such file or directory");
    cr_assert_eq(ad_idx_read_labels(path, &lab, &n), AD_OK, "%s", ad_last_error());
    cr_assert_str_eq(ad_last_error(), "");
    cr_assert(n == 2 && lab[1] == 5);
    ad_free(lab);
    remove(path);
    rmdir(dir);
}

Test(last_error, tape_and_param_constructors_follow_the_rule)
{
    cr_assert_null(ad_param_new(AD_F64, 0, (size_t[]){1}));
    cr_assert_str_eq(ad_last_error(), "ad_param_new: ndim is not 1..4");
    cr_assert_null(ad_param_new((ad_dtype)7, 1, (size_t[]){1}));
    cr_assert_str_eq(ad_last_error(), "ad_param_new: dtype 7 is neither AD_F32 nor AD_F64");
    ad_tape *t = ad_tape_new();
    cr_assert_str_eq(ad_last_error(), "");
    ad_debug_fail_alloc_after(0);
    cr_assert_null(ad_tape_new());
    cr_assert_str_eq(ad_last_error(), "ad_tape_new: out of memory");
    cr_assert_null(ad_param_new(AD_F64, 1, (size_t[]){4}));
    cr_assert_str_eq(ad_last_error(), "ad_param_new: out of memory");
    ad_debug_fail_alloc_after(-1);
    ad_param *p = ad_param_new(AD_F64, 1, (size_t[]){4});
    cr_assert_str_eq(ad_last_error(), "");
    ad_param_free(p);
    ad_tape_free(t);
}

Test(last_error, ad_set_last_error_copies_and_null_clears)
{
    char msg[] = "my_loader: bad row 3";
    ad_set_last_error(msg);
    msg[0] = 'X';
    cr_assert_str_eq(ad_last_error(), "my_loader: bad row 3");
    ad_set_last_error(NULL);
    cr_assert_str_eq(ad_last_error(), "");
}

/* ---- AD_TENSOR_NONE, ad_tensor_invalid, ad_tape_error_context */

Test(last_error, ad_tensor_none_is_no_tensor_and_serves_as_no_bias)
{
    ad_tensor none = AD_TENSOR_NONE;
    cr_assert_not(ad_tensor_ok(none));
    cr_assert_null(ad_tensor_tape(none));
    cr_assert_eq(ad_backward(AD_TENSOR_NONE), AD_ERR_INVALID);
    ad_tape *t = ad_tape_new();
    /* x [1,2] . w [3,2]^T: no bias, so each output is a row sum of w */
    ad_tensor x = ad_tensor_ones(t, AD_F64, 2, (size_t[]){1, 2});
    ad_tensor w = ad_tensor_new(t, AD_F64, 2, (size_t[]){3, 2}, (double[]){1, 2, 3, 4, 5, 6});
    ad_tensor y = ad_linear(x, w, AD_TENSOR_NONE);
    cr_assert(ad_tensor_ok(y), "%s", ad_tape_error(t, NULL) ? "failed" : "");
    cr_assert_eq(ad_tensor_get(y, 0), 3.0);
    cr_assert_eq(ad_tensor_get(y, 2), 11.0);
    ad_tape_free(t);
}

Test(last_error, ad_tensor_invalid_carries_the_tape_so_a_sweep_reports_its_error)
{
    ad_tape *t = ad_tape_new();
    ad_tape_set_error(t, AD_ERR_SHAPE, "my_layer: x is [2,3], want [2,4]");
    ad_tensor bad = ad_tensor_invalid(t);
    cr_assert_not(ad_tensor_ok(bad));
    cr_assert_eq(ad_tensor_tape(bad), t);
    cr_assert_eq(ad_backward(ad_relu(bad)), AD_ERR_SHAPE, "the op on it does nothing");
    const char *msg;
    ad_tape_error(t, &msg);
    cr_assert_str_eq(msg, "my_layer: x is [2,3], want [2,4]");
    ad_tensor none = ad_tensor_invalid(NULL), want = AD_TENSOR_NONE;
    cr_assert(memcmp(&none, &want, sizeof none) == 0);
    ad_tape_free(t);
}

Test(last_error, ad_tape_error_context_names_the_caller_and_keeps_the_code)
{
    ad_tape *t = ad_tape_new();
    cr_assert_eq(ad_tape_error_context(t, "my_layer"), AD_OK);
    const char *msg;
    ad_tape_error(t, &msg);
    cr_assert_str_eq(msg, "", "a healthy tape is left alone");
    (void)ad_tadd(ad_tensor_zeros(t, AD_F64, 1, (size_t[]){2}),
                  ad_tensor_zeros(t, AD_F64, 1, (size_t[]){3}));
    cr_assert_eq(ad_tape_error_context(t, "my_layer"), AD_ERR_SHAPE);
    ad_tape_error(t, &msg);
    cr_assert(strncmp(msg, "my_layer: ad_tadd: ", 19) == 0, "%s", msg);
    cr_assert_eq(ad_tape_error_context(t, NULL), AD_ERR_SHAPE);
    cr_assert(strncmp(msg, "my_layer: ad_tadd: ", 19) == 0, "NULL fn changes nothing: %s", msg);
    cr_assert_eq(ad_tape_error_context(NULL, "my_layer"), AD_ERR_INVALID);
    /* a long prefix cuts the end of the message, never overruns */
    char fn[600];
    memset(fn, 'f', sizeof fn - 1);
    fn[sizeof fn - 1] = '\0';
    cr_assert_eq(ad_tape_error_context(t, fn), AD_ERR_SHAPE);
    ad_tape_error(t, &msg);
    cr_assert_eq(strlen(msg), 511);
    cr_assert_eq(strncmp(msg, fn, 509), 0);
    cr_assert_eq(strcmp(msg + 509, ": "), 0);
    ad_tape_free(t);
}
