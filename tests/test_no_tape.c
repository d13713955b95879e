/* SPDX-License-Identifier: MIT
 * Every public call handed no tape (a NULL tape, zero-initialised handles,
 * a NULL parameter or generator) fails with a message that starts with its
 * own name: with no tape to fail, the message goes to ad_last_error. Calls
 * used to return an invalid handle or AD_ERR_INVALID and say nothing.
 * Left out, as documented: the free functions (NULL is allowed, as for
 * free), the questions that a zeroed handle answers (ad_scalar_ok,
 * ad_tensor_ok, ad_scalar_tape, ad_tensor_tape), ad_grad (inline, 0 for
 * anything without an adjoint), ad_tensor_invalid(NULL) (AD_TENSOR_NONE)
 * and the process-wide settings. */
#include "common.h"

#include "adtape/data.h"
#include "adtape/nn.h"

/* Runs call with the message cleared and checks it now names fn. */
#define NAMED(fn, call)                                                                            \
    do {                                                                                           \
        ad_set_last_error("");                                                                     \
        (void)(call);                                                                              \
        expect_named(fn, #call);                                                                   \
    } while (0)

static void expect_named(const char *fn, const char *call)
{
    const char *m = ad_last_error();
    size_t n = strlen(fn);
    cr_expect(strncmp(m, fn, n) == 0 && m[n] == ':' && m[n + 1] == ' ' && m[n + 2] != '\0',
              "%s left \"%s\", not a message naming %s", call, m, fn);
}

static const size_t D[1] = {2};

Test(no_tape, tape_calls_with_a_null_tape_name_themselves)
{
    ad_tape *t = NULL;
    const char *msg;
    NAMED("ad_tape_reset", (ad_tape_reset(t), 0));
    NAMED("ad_tape_set_recording", ad_tape_set_recording(t, true));
    NAMED("ad_tape_set_anomaly", (ad_tape_set_anomaly(t, true), 0));
    NAMED("ad_tape_stats_get", ad_tape_stats_get(t));
    NAMED("ad_tape_error", ad_tape_error(t, &msg));
    NAMED("ad_tape_clear_error", (ad_tape_clear_error(t), 0));
    NAMED("ad_tape_set_error", ad_tape_set_error(t, AD_ERR_SHAPE, "x"));
    NAMED("ad_tape_error_context", ad_tape_error_context(t, "f"));
    NAMED("ad_tape_export_dot", ad_tape_export_dot(t, "/nonexistent/g.dot"));
    NAMED("ad_tape_export_dot_fn", ad_tape_export_dot_fn(t, NULL, NULL));
    NAMED("ad_variable", ad_variable(t, 1.0));
    NAMED("ad_constant", ad_constant(t, 1.0));
    NAMED("ad_tensor_new", ad_tensor_new(t, AD_F64, 1, D, NULL));
    NAMED("ad_tensor_variable", ad_tensor_variable(t, AD_F64, 1, D, NULL));
    NAMED("ad_tensor_zeros", ad_tensor_zeros(t, AD_F64, 1, D));
    NAMED("ad_tensor_ones", ad_tensor_ones(t, AD_F64, 1, D));
    NAMED("ad_tensor_fill", ad_tensor_fill(t, AD_F64, 1, D, 2.0));
    NAMED("ad_tensor_uniform", ad_tensor_uniform(t, AD_F64, 1, D, 0, 1, 1));
    NAMED("ad_tensor_normal", ad_tensor_normal(t, AD_F64, 1, D, 0, 1, 1));
    ad_param *p = ad_param_new(AD_F64, 1, D);
    NAMED("ad_param_use", ad_param_use(t, p));
    ad_param_free(p);
    void *scratch = NULL;
    size_t scratch_len = 0;
    NAMED("ad_nn_gather",
          ad_nn_gather(t, AD_F32, (const float[2]){0, 0}, 2, NULL, 1, &scratch, &scratch_len));
    ad_free(scratch);
}

Test(no_tape, scalar_ops_on_zeroed_handles_name_themselves)
{
    ad_scalar z = {0};
    NAMED("ad_value", ad_value(z));
    NAMED("ad_keep", ad_keep(z));
    NAMED("ad_add", ad_add(z, z));
    NAMED("ad_sub", ad_sub(z, z));
    NAMED("ad_mul", ad_mul(z, z));
    NAMED("ad_div", ad_div(z, z));
    NAMED("ad_neg", ad_neg(z));
    NAMED("ad_addc", ad_addc(z, 1));
    NAMED("ad_subc", ad_subc(z, 1));
    NAMED("ad_rsub", ad_rsub(1, z));
    NAMED("ad_scale", ad_scale(z, 2));
    NAMED("ad_divc", ad_divc(z, 2));
    NAMED("ad_rdiv", ad_rdiv(2, z));
    NAMED("ad_square", ad_square(z));
    NAMED("ad_pow", ad_pow(z, z));
    NAMED("ad_powc", ad_powc(z, 2.5));
    NAMED("ad_powi", ad_powi(z, 3));
    NAMED("ad_rpow", ad_rpow(2, z));
    NAMED("ad_sqrt", ad_sqrt(z));
    NAMED("ad_cbrt", ad_cbrt(z));
    NAMED("ad_exp", ad_exp(z));
    NAMED("ad_expm1", ad_expm1(z));
    NAMED("ad_log", ad_log(z));
    NAMED("ad_log1p", ad_log1p(z));
    NAMED("ad_sin", ad_sin(z));
    NAMED("ad_cos", ad_cos(z));
    NAMED("ad_tan", ad_tan(z));
    NAMED("ad_asin", ad_asin(z));
    NAMED("ad_acos", ad_acos(z));
    NAMED("ad_atan", ad_atan(z));
    NAMED("ad_atan2", ad_atan2(z, z));
    NAMED("ad_sinh", ad_sinh(z));
    NAMED("ad_cosh", ad_cosh(z));
    NAMED("ad_tanh", ad_tanh(z));
    NAMED("ad_erf", ad_erf(z));
    NAMED("ad_fabs", ad_fabs(z));
    NAMED("ad_fmin", ad_fmin(z, z));
    NAMED("ad_fmax", ad_fmax(z, z));
    NAMED("ad_hypot", ad_hypot(z, z));
    NAMED("ad_sigmoid", ad_sigmoid(z));
    NAMED("ad_custom2", ad_custom2(z, z, 1, 1, 1));
    NAMED("ad_backward_scalar", ad_backward_scalar(z));
    NAMED("ad_backward_scalar", ad_backward_scalar_seeded(z, 2.0));
    NAMED("ad_stack_scalars", ad_stack_scalars(&z, 1, 1, (size_t[]){1}));
}

Test(no_tape, tensor_ops_on_zeroed_handles_name_themselves)
{
    ad_tensor z = {0};
    size_t dims[AD_MAX_DIMS];
    NAMED("ad_tensor_dtype", ad_tensor_dtype(z));
    NAMED("ad_tensor_shape", ad_tensor_shape(z, dims));
    NAMED("ad_tensor_numel", ad_tensor_numel(z));
    NAMED("ad_tensor_data", ad_tensor_data(z));
    NAMED("ad_tensor_grad", ad_tensor_grad(z));
    NAMED("ad_tensor_get", ad_tensor_get(z, 0));
    NAMED("ad_tensor_to_scalar", ad_tensor_to_scalar(z, 0));
    NAMED("ad_tensor_item", ad_tensor_item(z));
    NAMED("ad_tadd", ad_tadd(z, z));
    NAMED("ad_tsub", ad_tsub(z, z));
    NAMED("ad_tmul", ad_tmul(z, z));
    NAMED("ad_tdiv", ad_tdiv(z, z));
    NAMED("ad_tpow", ad_tpow(z, z));
    NAMED("ad_tmaximum", ad_tmaximum(z, z));
    NAMED("ad_tminimum", ad_tminimum(z, z));
    NAMED("ad_tneg", ad_tneg(z));
    NAMED("ad_texp", ad_texp(z));
    NAMED("ad_tlog", ad_tlog(z));
    NAMED("ad_tsqrt", ad_tsqrt(z));
    NAMED("ad_tsquare", ad_tsquare(z));
    NAMED("ad_tabs", ad_tabs(z));
    NAMED("ad_tscale", ad_tscale(z, 2));
    NAMED("ad_taddc", ad_taddc(z, 2));
    NAMED("ad_tsigmoid", ad_tsigmoid(z));
    NAMED("ad_ttanh", ad_ttanh(z));
    NAMED("ad_relu", ad_relu(z));
    NAMED("ad_leaky_relu", ad_leaky_relu(z, 0.1));
    NAMED("ad_softplus", ad_softplus(z));
    NAMED("ad_swish", ad_swish(z));
    NAMED("ad_mish", ad_mish(z));
    NAMED("ad_gelu", ad_gelu(z));
    NAMED("ad_matmul", ad_matmul(z, z));
    NAMED("ad_linear", ad_linear(z, z, z));
    NAMED("ad_linear_relu", ad_linear_relu(z, z, z));
    NAMED("ad_transpose", ad_transpose(z, 0, 1));
    NAMED("ad_reshape", ad_reshape(z, 1, D));
    NAMED("ad_slice", ad_slice(z, 0, 0, 1));
    NAMED("ad_concat", ad_concat(&z, 1, 0));
    NAMED("ad_sum", ad_sum(z));
    NAMED("ad_mean", ad_mean(z));
    NAMED("ad_max", ad_max(z));
    NAMED("ad_sum_axis", ad_sum_axis(z, 0, false));
    NAMED("ad_mean_axis", ad_mean_axis(z, 0, false));
    NAMED("ad_max_axis", ad_max_axis(z, 0, false));
    NAMED("ad_softmax", ad_softmax(z, 0));
    NAMED("ad_log_softmax", ad_log_softmax(z, 0));
    NAMED("ad_mse_loss", ad_mse_loss(z, z));
    NAMED("ad_half_sse_loss", ad_half_sse_loss(z, z));
    NAMED("ad_bce_with_logits", ad_bce_with_logits(z, z));
    NAMED("ad_softmax_cross_entropy", ad_softmax_cross_entropy(z, (const int32_t[]){0}, 1));
    NAMED("ad_backward", ad_backward(z));
    NAMED("ad_backward_seeded", ad_backward_seeded(z, (const double[]){1}));
    NAMED("ad_backward_seeded", ad_backward_seeded(z, NULL));
}

Test(no_tape, parameter_and_generator_calls_with_null_name_themselves)
{
    ad_param *p = NULL;
    size_t dims[AD_MAX_DIMS];
    ad_rng *r = NULL;
    NAMED("ad_param_new", ad_param_new(AD_F64, 1, NULL));
    NAMED("ad_param_dtype", ad_param_dtype(p));
    NAMED("ad_param_shape", ad_param_shape(p, dims));
    NAMED("ad_param_numel", ad_param_numel(p));
    NAMED("ad_param_value", ad_param_value(p));
    NAMED("ad_param_grad", ad_param_grad(p));
    NAMED("ad_param_zero_grad", (ad_param_zero_grad(p), 0));
    NAMED("ad_param_uniform", (ad_param_uniform(p, 0, 1, 1), 0));
    NAMED("ad_param_normal", (ad_param_normal(p, 0, 1, 1), 0));
    NAMED("ad_rng_seed", (ad_rng_seed(r, 1), 0));
    NAMED("ad_rng_next", ad_rng_next(r));
    NAMED("ad_rng_uniform", ad_rng_uniform(r));
    NAMED("ad_rng_normal", ad_rng_normal(r));
    NAMED("ad_rng_below", ad_rng_below(r, 10));
}

/* Tapeless calls given NULL arguments (drivers, files, the MLP client). */
Test(no_tape, tapeless_calls_with_null_arguments_name_themselves)
{
    double x[1] = {1}, g[1], J[1];
    ad_gradcheck_report rep;
    NAMED("ad_gradient", ad_gradient(NULL, 1, x, g, NULL));
    NAMED("ad_gradient", ad_gradient_status(NULL, 1, x, g, NULL, NULL));
    NAMED("ad_jacobian", ad_jacobian(NULL, 1, 1, x, J, NULL, NULL));
    NAMED("ad_gradcheck", ad_gradcheck(NULL, 1, x, NULL, NULL, &rep));
    NAMED("ad_gradcheck_graph", ad_gradcheck_graph(NULL, NULL, 0, NULL, NULL, &rep));
    NAMED("ad_params_save", ad_params_save(NULL, NULL, 0, NULL, 0));
    NAMED("ad_params_load", ad_params_load(NULL, NULL, 0, NULL, 0, NULL));
    NAMED("ad_params_info", ad_params_info(NULL, NULL, NULL, 0, NULL));
    NAMED("ad_nn_new", ad_nn_new(NULL));
    NAMED("ad_nn_forward", ad_nn_forward(NULL, AD_TENSOR_NONE));
    NAMED("ad_opt_new", ad_opt_new(NULL, NULL, 0));
    NAMED("ad_nn_save", ad_nn_save(NULL, NULL, NULL));
    NAMED("ad_nn_load", ad_nn_load(NULL, NULL, NULL));
    NAMED("ad_nn_train", ad_nn_train(NULL, NULL, NULL, NULL, NULL, NULL));
    NAMED("ad_lm_train", ad_lm_train(NULL, NULL, NULL, NULL));
    NAMED("ad_nn_evaluate", ad_nn_evaluate(NULL, NULL, NULL, 1, NULL, NULL));
    float *px;
    int32_t *lab;
    size_t c, rows, cols;
    NAMED("ad_idx_read_images", ad_idx_read_images(NULL, &px, &c, &rows, &cols));
    NAMED("ad_idx_read_labels", ad_idx_read_labels(NULL, &lab, &c));
}
