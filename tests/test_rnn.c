/* SPDX-License-Identifier: MIT
 * The recurrent layers (ops/rnn.c): float64 gradchecks of ad_rnn_tanh and
 * ad_gru over sizes (1, odd, with and without biases, sequences and single
 * steps), values and gradients against the same equations composed from
 * elementwise ops, float32 against float64, one thread against two, and
 * the shape errors. */
#include "op_helpers.h"

typedef struct rnn_case {
    size_t T, B, In, H; /* T = 0: x is [B,In], one step */
    bool bias;
} rnn_case;

typedef ad_tensor (*rnn_op)(ad_tensor, ad_tensor, ad_tensor, ad_tensor, ad_tensor, ad_tensor);

typedef struct rnn_ctx {
    rnn_case c;
    rnn_op op;
} rnn_ctx;

static ad_tensor rnn_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    const rnn_ctx *g = ctx;
    ad_tensor in[6];
    for (size_t k = 0; k < np; k++)
        in[k] = ad_param_use(t, p[k]);
    ad_tensor none = AD_TENSOR_NONE;
    ad_tensor y = g->op(in[0], in[1], in[2], in[3], np == 6 ? in[4] : none, np == 6 ? in[5] : none);
    return weighted_sum(y, 17);
}

/* x, h0, w_ih, w_hh, b_ih, b_hh as float64 parameters uniform on [-1, 1). */
static size_t rnn_params(rnn_case c, size_t gates, ad_param **p, uint64_t seed)
{
    size_t GH = gates * c.H;
    if (c.T)
        p[0] = test_param(3, (size_t[]){c.T, c.B, c.In}, -1, 1, seed);
    else
        p[0] = test_param(2, (size_t[]){c.B, c.In}, -1, 1, seed);
    p[1] = test_param(2, (size_t[]){c.B, c.H}, -1, 1, seed + 1);
    p[2] = test_param(2, (size_t[]){GH, c.In}, -1, 1, seed + 2);
    p[3] = test_param(2, (size_t[]){GH, c.H}, -1, 1, seed + 3);
    if (!c.bias) return 4;
    p[4] = test_param(1, &GH, -1, 1, seed + 4);
    p[5] = test_param(1, &GH, -1, 1, seed + 5);
    return 6;
}

static const rnn_case grad_cases[] = {
    {3, 2, 3, 4, true},
    {1, 1, 1, 1, true},
    {4, 3, 5, 3, true},
    {2, 1, 2, 5, false},
    {0, 2, 3, 5, true},
    {0, 1, 1, 1, false},
    {5, 2, 1, 2, true},
    /* empty dimensions: In 0, H 0, B 0 (zero gradients where nothing flows) */
    {2, 2, 0, 3, true},
    {2, 2, 3, 0, true},
    {2, 0, 3, 2, true},
};

static void check_rnn_gradients(rnn_op op, size_t gates)
{
    for (size_t k = 0; k < sizeof grad_cases / sizeof grad_cases[0]; k++) {
        ad_param *p[6];
        size_t np = rnn_params(grad_cases[k], gates, p, 100 + 10 * k);
        rnn_ctx g = {grad_cases[k], op};
        ASSERT_GRADCHECK(rnn_graph, p, np, &g, NULL);
        for (size_t i = 0; i < np; i++)
            ad_param_free(p[i]);
    }
}

GRADCHECK_TEST(rnn, rnn_tanh_gradient_matches_central_differences_over_sizes, AD_OP_RNN_TANH)
{
    check_rnn_gradients(ad_rnn_tanh, 1);
}

GRADCHECK_TEST(rnn, gru_gradient_matches_central_differences_over_sizes, AD_OP_GRU)
{
    check_rnn_gradients(ad_gru, 3);
}

/* ---- the same equations from elementwise ops, one step at a time */

static ad_tensor ref_rnn(bool gru, ad_tensor x, ad_tensor h, ad_tensor wi, ad_tensor wh,
                         ad_tensor bi, ad_tensor bh, size_t T, size_t H)
{
    ad_tensor out[8];
    for (size_t s = 0; s < T; s++) {
        ad_tensor gi = ad_linear(ad_select(x, 0, s), wi, bi), gh = ad_linear(h, wh, bh);
        if (!gru) {
            h = ad_ttanh(ad_tadd(gi, gh));
        } else {
            ad_tensor r = ad_tsigmoid(ad_tadd(ad_slice(gi, 1, 0, H), ad_slice(gh, 1, 0, H)));
            ad_tensor z =
                ad_tsigmoid(ad_tadd(ad_slice(gi, 1, H, 2 * H), ad_slice(gh, 1, H, 2 * H)));
            ad_tensor n = ad_ttanh(
                ad_tadd(ad_slice(gi, 1, 2 * H, 3 * H), ad_tmul(r, ad_slice(gh, 1, 2 * H, 3 * H))));
            h = ad_tadd(n, ad_tmul(z, ad_tsub(h, n)));
        }
        out[s] = h;
    }
    return ad_stack(out, T, 0);
}

/* The values (into v) and the gradients of every input (into g[k]) of a
 * weighted sum of the fused op or of its composed reference, in float64. */
static void run_rnn(bool gru, bool fused, rnn_case c, ad_param **p, size_t np, double **v,
                    double **g)
{
    ad_tape *t = ad_tape_new();
    ad_tensor in[6], none = AD_TENSOR_NONE;
    for (size_t k = 0; k < np; k++) {
        size_t dims[4], nd = ad_param_shape(p[k], dims);
        in[k] = ad_tensor_variable(t, AD_F64, nd, dims, ad_param_value(p[k]));
    }
    ad_tensor bi = np == 6 ? in[4] : none, bh = np == 6 ? in[5] : none;
    ad_tensor y = fused ? (gru ? ad_gru : ad_rnn_tanh)(in[0], in[1], in[2], in[3], bi, bh)
                        : ref_rnn(gru, in[0], in[1], in[2], in[3], bi, bh, c.T, c.H);
    cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
    cr_assert_eq(ad_backward(weighted_sum(y, 5)), AD_OK, "%s", test_tape_msg(t));
    *v = malloc(ad_tensor_numel(y) * sizeof **v);
    memcpy(*v, ad_tensor_data(y), ad_tensor_numel(y) * sizeof **v);
    for (size_t k = 0; k < np; k++) {
        g[k] = malloc(ad_tensor_numel(in[k]) * sizeof(double));
        grad_as_double(in[k], g[k]);
    }
    ad_tape_free(t);
}

static void check_against_reference(bool gru, rnn_case c)
{
    ad_param *p[6];
    size_t np = rnn_params(c, gru ? 3 : 1, p, 7);
    double *va, *vb, *ga[6], *gb[6];
    run_rnn(gru, true, c, p, np, &va, ga);
    run_rnn(gru, false, c, p, np, &vb, gb);
    ASSERT_CLOSE_ARRAY(va, vb, c.T * c.B * c.H, 1e-14, 1e-12);
    for (size_t k = 0; k < np; k++) {
        ASSERT_CLOSE_ARRAY(ga[k], gb[k], ad_param_numel(p[k]), 1e-13, 1e-10);
        free(ga[k]);
        free(gb[k]);
        ad_param_free(p[k]);
    }
    free(va);
    free(vb);
}

Test(rnn, gru_matches_its_equations_composed_from_elementwise_ops)
{
    check_against_reference(true, (rnn_case){4, 3, 5, 7, true});
    check_against_reference(true, (rnn_case){3, 2, 4, 33, false});
}

Test(rnn, rnn_tanh_matches_its_equations_composed_from_elementwise_ops)
{
    check_against_reference(false, (rnn_case){4, 3, 5, 7, true});
    check_against_reference(false, (rnn_case){2, 1, 1, 1, false});
}

/* ---- against torch.nn.GRU and torch.nn.RNN themselves: T 3, B 2, In 3,
 * H 2, float64, every input and weight value(i, seed) = ((7 i + seed) mod
 * 11 - 5) / 10, loss sum(y * c) with c = value(i, 8). The expected numbers
 * were printed by this script (python3-torch 1.13):
 *   import torch; torch.set_default_dtype(torch.float64); T,B,In,H = 3,2,3,2
 *   def v(n, s): return torch.tensor([((i*7+s)%11-5)/10 for i in range(n)])
 *   m = torch.nn.GRU(In, H)  # or torch.nn.RNN(In, H, nonlinearity="tanh"), G = 1
 *   with torch.no_grad():
 *       m.weight_ih_l0.copy_(v(3*H*In, 1).reshape(3*H, In))
 *       m.weight_hh_l0.copy_(v(3*H*H, 2).reshape(3*H, H))
 *       m.bias_ih_l0.copy_(v(3*H, 3)); m.bias_hh_l0.copy_(v(3*H, 4))
 *   x = v(T*B*In, 5).reshape(T, B, In).requires_grad_()
 *   h0 = v(B*H, 6).reshape(1, B, H).requires_grad_()
 *   y, _ = m(x, h0); (y.reshape(-1) * v(T*B*H, 8)).sum().backward()
 *   print(y, h0.grad, x.grad, m.weight_hh_l0.grad, m.bias_hh_l0.grad) */

static const double torch_gru_y[] = {
    0.22656768857200613, 0.11677456611101136,   0.41791706083266239, 0.16797557776654387,
    0.32255542616826322, 0.0094996025444015336, 0.43855777217691533, -0.010000206273249504,
    0.38534414438815368, -0.076464144011248902, 0.4548472980832417,  -0.11006337397445591};
static const double torch_gru_dh0[] = {0.15818443950381444, 0.030690430918051397,
                                       -0.284703772811914, -0.018341516235239538};
static const double torch_gru_dx[] = {
    0.021795686501319127,   -0.013717260975589955, -0.045603648344271788, -0.035011096858238722,
    -0.0023182203565771144, 0.14297280722138053,   0.076093400962084362,  -0.070701435602679913,
    0.17058955507055842,    -0.050630883091288888, 0.040075530530024252,  -0.072752329463039306,
    0.027910016097415398,   -0.010583800627160717, -0.065539863195740233, 0.0078422953347235189,
    -0.029744350850354664,  0.16477106937375424};
static const double torch_gru_dwhh[] = {
    -0.0095684280575136539, -0.0030674515543585431, 0.0044229034201281291,  -8.4442252668319998e-05,
    -0.0024478281834526988, 0.0066002040554152975,  -0.0012696443578795948, 0.00035986702971479837,
    -0.037477297369480175,  -0.013848154099969794,  0.069300090397818773,   0.0017933995467381942};
static const double torch_gru_dbhh[] = {-0.012796570253043208, 0.014441868897733141,
                                        -0.025851177213041858, 0.0027790804313572743,
                                        -0.043163507696776175, 0.25462905840837163};
static const double torch_rnn_y[] = {
    -0.5370495669980353,  -0.019997333759930951, -0.50052021119023526, -0.089757784747160133,
    0.072985923464147312, 0.1858149512600315,    0.054199782991908266, 0.25980857461544038,
    0.012429563307593488, 0.2028221384404415,    0.067560421352596933, 0.22230208045634522};
static const double torch_rnn_dh0[] = {-0.084425089801222888, 0.30536407673257066,
                                       0.12718119132326372, -0.36851061312167921};
static const double torch_rnn_dx[] = {
    0.1284298265120446,    -0.011973555364247171, 0.068256948565062425,  -0.079094692432307795,
    -0.027713345644599929, -0.057074115237575877, -0.19128331767336015,  0.031954555880269464,
    -0.095609943293233204, 0.17979636216574027,   -0.041285480288136958, 0.085047001114078619,
    -0.15997528095295721,  0.11998146071471791,   -0.039993820238239303, 0.016682426560948455,
    -0.062417363634512314, -0.017217483522820452};
static const double torch_rnn_dwhh[] = {-0.072411460299989266, -0.12683466856078179,
                                        0.091588656772254293, 0.25393468754491355};
static const double torch_rnn_dbhh[] = {-0.2402257047461841, 0.40306991543673093};

static ad_tensor torch_value(ad_tape *t, size_t nd, const size_t *dims, size_t seed, bool var)
{
    double v[64];
    size_t n = 1;
    for (size_t d = 0; d < nd; d++)
        n *= dims[d];
    for (size_t i = 0; i < n; i++)
        v[i] = (double)((int)((i * 7 + seed) % 11) - 5) / 10.0;
    return tensor_from(t, AD_F64, nd, dims, v, var);
}

static void check_against_torch(bool gru, const double *y_want, const double *dh0, const double *dx,
                                const double *dwhh, const double *dbhh)
{
    size_t T = 3, B = 2, In = 3, H = 2, GH = (gru ? 3 : 1) * H;
    ad_tape *t = ad_tape_new();
    ad_tensor x = torch_value(t, 3, (size_t[]){T, B, In}, 5, true);
    ad_tensor h0 = torch_value(t, 2, (size_t[]){B, H}, 6, true);
    ad_tensor wi = torch_value(t, 2, (size_t[]){GH, In}, 1, true);
    ad_tensor wh = torch_value(t, 2, (size_t[]){GH, H}, 2, true);
    ad_tensor bi = torch_value(t, 1, &GH, 3, true), bh = torch_value(t, 1, &GH, 4, true);
    ad_tensor c = torch_value(t, 1, (size_t[]){T * B * H}, 8, false);
    ad_tensor y = (gru ? ad_gru : ad_rnn_tanh)(x, h0, wi, wh, bi, bh);
    ad_tensor loss = ad_sum(ad_tmul(ad_reshape(y, 1, (size_t[]){T * B * H}), c));
    cr_assert_eq(ad_backward(loss), AD_OK, "%s", test_tape_msg(t));
    ASSERT_CLOSE_ARRAY((const double *)ad_tensor_data(y), y_want, T * B * H, 1e-15, 1e-13);
    ASSERT_CLOSE_ARRAY((const double *)ad_tensor_grad(h0), dh0, B * H, 1e-15, 1e-13);
    ASSERT_CLOSE_ARRAY((const double *)ad_tensor_grad(x), dx, T * B * In, 1e-15, 1e-13);
    ASSERT_CLOSE_ARRAY((const double *)ad_tensor_grad(wh), dwhh, GH * H, 1e-15, 1e-13);
    ASSERT_CLOSE_ARRAY((const double *)ad_tensor_grad(bh), dbhh, GH, 1e-15, 1e-13);
    ad_tape_free(t);
}

Test(rnn, gru_values_and_gradients_match_torch_nn_gru)
{
    check_against_torch(true, torch_gru_y, torch_gru_dh0, torch_gru_dx, torch_gru_dwhh,
                        torch_gru_dbhh);
}

Test(rnn, rnn_tanh_values_and_gradients_match_torch_nn_rnn)
{
    check_against_torch(false, torch_rnn_y, torch_rnn_dh0, torch_rnn_dx, torch_rnn_dwhh,
                        torch_rnn_dbhh);
}

/* y of op on random inputs in dtype dt, as doubles (numel into *n). */
static double *rnn_values(rnn_op op, size_t G, rnn_case c, ad_dtype dt, size_t *n)
{
    ad_tape *t = ad_tape_new();
    size_t GH = G * c.H,
           dims[6][3] = {{c.T, c.B, c.In}, {c.B, c.H}, {GH, c.In}, {GH, c.H}, {GH}, {GH}};
    size_t nd[6] = {3, 2, 2, 2, 1, 1};
    ad_tensor in[6];
    for (size_t k = 0; k < 6; k++) {
        size_t m = 1;
        for (size_t d = 0; d < nd[k]; d++)
            m *= dims[k][d];
        double *v = random_values(m, 50 + k);
        in[k] = tensor_from(t, dt, nd[k], dims[k], v, false);
        free(v);
    }
    ad_tensor y = op(in[0], in[1], in[2], in[3], in[4], in[5]);
    cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
    *n = ad_tensor_numel(y);
    double *out = malloc(*n * sizeof *out);
    for (size_t i = 0; i < *n; i++)
        out[i] = ad_tensor_get(y, i);
    ad_tape_free(t);
    return out;
}

Test(rnn, float32_forward_matches_float64)
{
    rnn_op ops[2] = {ad_rnn_tanh, ad_gru};
    for (int k = 0; k < 2; k++) {
        rnn_case c = {6, 5, 9, 37, true};
        size_t n32, n64;
        double *a = rnn_values(ops[k], k ? 3 : 1, c, AD_F32, &n32);
        double *b = rnn_values(ops[k], k ? 3 : 1, c, AD_F64, &n64);
        cr_assert_eq(n32, n64);
        ASSERT_CLOSE_ARRAY(a, b, n64, 2e-5, 1e-4);
        free(a);
        free(b);
    }
}

/* The gradients of all six inputs of sum(y * c) in dtype dt, concatenated
 * as doubles (count into *n); inputs as rnn_values. */
static double *rnn_grads(rnn_op op, size_t G, rnn_case c, ad_dtype dt, size_t *n)
{
    ad_tape *t = ad_tape_new();
    size_t GH = G * c.H,
           dims[6][3] = {{c.T, c.B, c.In}, {c.B, c.H}, {GH, c.In}, {GH, c.H}, {GH}, {GH}};
    size_t nd[6] = {3, 2, 2, 2, 1, 1}, total = 0, m[6];
    ad_tensor in[6];
    for (size_t k = 0; k < 6; k++) {
        m[k] = 1;
        for (size_t d = 0; d < nd[k]; d++)
            m[k] *= dims[k][d];
        double *v = random_values(m[k], 50 + k);
        in[k] = tensor_from(t, dt, nd[k], dims[k], v, true);
        free(v);
        total += m[k];
    }
    ad_tensor y = op(in[0], in[1], in[2], in[3], in[4], in[5]);
    cr_assert_eq(ad_backward(weighted_sum(y, 21)), AD_OK, "%s", test_tape_msg(t));
    double *out = malloc(total * sizeof *out), *w = out;
    for (size_t k = 0; k < 6; k++) {
        grad_as_double(in[k], w);
        w += m[k];
    }
    *n = total;
    ad_tape_free(t);
    return out;
}

Test(rnn, float32_gradients_match_float64)
{
    rnn_op ops[2] = {ad_rnn_tanh, ad_gru};
    for (int k = 0; k < 2; k++) {
        rnn_case c = {6, 5, 9, 37, true};
        size_t n32, n64;
        double *a = rnn_grads(ops[k], k ? 3 : 1, c, AD_F32, &n32);
        double *b = rnn_grads(ops[k], k ? 3 : 1, c, AD_F64, &n64);
        cr_assert_eq(n32, n64);
        ASSERT_CLOSE_ARRAY(a, b, n64, 1e-4, 1e-3);
        free(a);
        free(b);
    }
}

/* The steps are cut into bands of hidden units across threads: results of
 * one and of two threads agree (large enough to be cut: B G H^2 >= 2^20). */
static void grads_at_threads(rnn_op op, size_t G, int threads, double **out, size_t *n)
{
    rnn_case c = {3, 16, 7, 170, true}; /* bands of 80 and 90 units */
    ad_param *p[6];
    rnn_params(c, G, p, 31);
    ad_set_num_threads(threads);
    ad_tape *t = ad_tape_new();
    ad_tensor in[6];
    for (size_t k = 0; k < 6; k++) {
        size_t dims[4], nd = ad_param_shape(p[k], dims);
        in[k] = ad_tensor_variable(t, AD_F64, nd, dims, ad_param_value(p[k]));
    }
    ad_tensor y = op(in[0], in[1], in[2], in[3], in[4], in[5]);
    cr_assert_eq(ad_backward(weighted_sum(y, 9)), AD_OK, "%s", test_tape_msg(t));
    *n = 0;
    for (size_t k = 0; k < 6; k++)
        *n += ad_tensor_numel(in[k]);
    *n += ad_tensor_numel(y);
    double *v = malloc(*n * sizeof *v), *w = v;
    for (size_t k = 0; k < 6; k++) {
        grad_as_double(in[k], w);
        w += ad_tensor_numel(in[k]);
    }
    for (size_t i = 0; i < ad_tensor_numel(y); i++)
        w[i] = ad_tensor_get(y, i);
    *out = v;
    ad_tape_free(t);
    for (size_t k = 0; k < 6; k++)
        ad_param_free(p[k]);
    ad_set_num_threads(0);
}

Test(rnn, two_threads_give_the_values_and_gradients_of_one)
{
    rnn_op ops[2] = {ad_rnn_tanh, ad_gru};
    for (int k = 0; k < 2; k++) {
        double *a, *b;
        size_t na, nb;
        grads_at_threads(ops[k], k ? 3 : 1, 1, &a, &na);
        grads_at_threads(ops[k], k ? 3 : 1, 2, &b, &nb);
        cr_assert_eq(na, nb);
        ASSERT_CLOSE_ARRAY(b, a, na, 1e-12, 1e-10);
        free(a);
        free(b);
    }
}

Test(rnn, an_empty_sequence_gives_an_empty_output_and_no_gradient)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 3, (size_t[]){0, 2, 3}, NULL);
    ad_tensor h = ad_tensor_variable(t, AD_F64, 2, (size_t[]){2, 4}, NULL);
    ad_tensor wi = ad_tensor_ones(t, AD_F64, 2, (size_t[]){12, 3});
    ad_tensor wh = ad_tensor_ones(t, AD_F64, 2, (size_t[]){12, 4});
    ad_tensor none = AD_TENSOR_NONE;
    ad_tensor y = ad_gru(x, h, wi, wh, none, none);
    size_t dims[4];
    cr_assert_eq(ad_tensor_shape(y, dims), 3);
    cr_assert(dims[0] == 0 && dims[1] == 2 && dims[2] == 4);
    ad_tensor loss = ad_tadd(ad_sum(y), ad_sum(h));
    cr_assert_eq(ad_backward(loss), AD_OK, "%s", test_tape_msg(t));
    const double *g = ad_tensor_grad(h);
    for (size_t i = 0; i < 8; i++)
        cr_assert_eq(g[i], 1.0); /* only the direct path */
    ad_tape_free(t);
}

/* ---- errors name the function and the shapes */

typedef struct bad_shapes {
    size_t x[3], xnd, h[2], wi[2], wh[2], b[2];
    const char *needle;
} bad_shapes;

static void expect_shape_error(rnn_op op, const bad_shapes *c)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F32, c->xnd, c->x);
    ad_tensor h = ad_tensor_zeros(t, AD_F32, 2, c->h);
    ad_tensor wi = ad_tensor_zeros(t, AD_F32, 2, c->wi);
    ad_tensor wh = ad_tensor_zeros(t, AD_F32, 2, c->wh);
    ad_tensor bi = ad_tensor_zeros(t, AD_F32, 1, &c->b[0]);
    ad_tensor bh = ad_tensor_zeros(t, AD_F32, 1, &c->b[1]);
    cr_assert(!ad_tensor_ok(op(x, h, wi, wh, bi, bh)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, c->needle);
    ad_tape_free(t);
}

Test(rnn, gru_rejects_bad_shapes_and_names_them)
{
    const bad_shapes cases[] = {
        {{2, 3, 4},
         1,
         {3, 5},
         {15, 4},
         {15, 5},
         {15, 15},
         "ad_gru: x must be [T,B,In] or [B,In], got [2]"},
        {{2, 3, 4},
         3,
         {2, 5},
         {15, 4},
         {15, 5},
         {15, 15},
         "ad_gru: h0 must be [B,H] with B = 3 (from x [2,3,4]), got [2,5]"},
        {{2, 3, 4},
         3,
         {3, 5},
         {15, 3},
         {15, 5},
         {15, 15},
         "ad_gru: w_ih must be [3H,In] = [15,4] (h0 [3,5], x [2,3,4]), got [15,3]"},
        {{2, 3, 4},
         3,
         {3, 5},
         {15, 4},
         {5, 5},
         {15, 15},
         "ad_gru: w_hh must be [3H,H] = [15,5] (h0 [3,5]), got [5,5]"},
        {{2, 3, 4},
         3,
         {3, 5},
         {15, 4},
         {15, 5},
         {15, 5},
         "ad_gru: b_hh must be [3H] = [15] (h0 [3,5]), got [5]"},
        {{2, 3, 4}, 3, {3, 5}, {15, 4}, {15, 5}, {14, 15}, "ad_gru: b_ih must be [3H] = [15]"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        expect_shape_error(ad_gru, &cases[k]);
}

Test(rnn, rnn_tanh_rejects_bad_shapes_and_names_them)
{
    const bad_shapes cases[] = {
        {{3, 4},
         2,
         {3, 5},
         {5, 3},
         {5, 5},
         {5, 5},
         "ad_rnn_tanh: w_ih must be [H,In] = [5,4] (h0 [3,5], x [3,4]), got [5,3]"},
        {{3, 4},
         2,
         {3, 5},
         {5, 4},
         {5, 4},
         {5, 5},
         "ad_rnn_tanh: w_hh must be [H,H] = [5,5] (h0 [3,5]), got [5,4]"},
        {{3, 4}, 2, {4, 5}, {5, 4}, {5, 5}, {5, 5}, "ad_rnn_tanh: h0 must be [B,H] with B = 3"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        expect_shape_error(ad_rnn_tanh, &cases[k]);
}

Test(rnn, one_bias_without_the_other_is_refused)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 3});
    ad_tensor h = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 4});
    ad_tensor wi = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){12, 3});
    ad_tensor wh = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){12, 4});
    ad_tensor b = ad_tensor_zeros(t, AD_F64, 1, (size_t[]){12});
    cr_assert(!ad_tensor_ok(ad_gru(x, h, wi, wh, b, AD_TENSOR_NONE)));
    ASSERT_TAPE_ERROR(
        t, AD_ERR_INVALID,
        "ad_gru: b_ih is given but b_hh is AD_TENSOR_NONE: give both biases or neither");
    ad_tape_free(t);
    cr_assert(!ad_tensor_ok(ad_rnn_tanh(AD_TENSOR_NONE, AD_TENSOR_NONE, AD_TENSOR_NONE,
                                        AD_TENSOR_NONE, AD_TENSOR_NONE, AD_TENSOR_NONE)));
    cr_assert(strstr(ad_last_error(), "ad_rnn_tanh") != NULL, "%s", ad_last_error());
}

Test(rnn, inputs_of_another_dtype_are_refused)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){2, 3});
    ad_tensor h = ad_tensor_zeros(t, AD_F64, 2, (size_t[]){2, 4});
    ad_tensor wi = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 3});
    ad_tensor wh = ad_tensor_zeros(t, AD_F32, 2, (size_t[]){4, 4});
    cr_assert(!ad_tensor_ok(ad_rnn_tanh(x, h, wi, wh, AD_TENSOR_NONE, AD_TENSOR_NONE)));
    ASSERT_TAPE_ERROR(t, AD_ERR_DTYPE, "ad_rnn_tanh: dtypes differ");
    ad_tape_free(t);
}

/* ---- the pool runs a job started from inside a part inline (a step's GEMM
 * may be large enough to want threads of its own); before, the part waited
 * for the job lock its own job held, and never returned. */

#include "kernels/pool.h"

#include <stdatomic.h>

typedef struct nested_count {
    atomic_int inner, outer;
} nested_count;

static void inner_part(void *ctx, size_t i, size_t n)
{
    (void)i;
    (void)n;
    atomic_fetch_add(&((nested_count *)ctx)->inner, 1);
}

static void outer_part(void *ctx, size_t i, size_t n)
{
    (void)i;
    (void)n;
    ad_pool_run(2, 3, inner_part, ctx);
    atomic_fetch_add(&((nested_count *)ctx)->outer, 1);
}

Test(rnn, a_pool_job_started_inside_a_part_runs_inline, .timeout = 20)
{
    nested_count c;
    atomic_init(&c.inner, 0);
    atomic_init(&c.outer, 0);
    for (int rep = 0; rep < 50; rep++)
        ad_pool_run(2, 4, outer_part, &c);
    cr_assert_eq(atomic_load(&c.outer), 50 * 4);
    cr_assert_eq(atomic_load(&c.inner), 50 * 4 * 3);
}

/* ---- evaluation mode and running out of memory */

Test(rnn, evaluation_mode_gives_the_same_values_and_refuses_a_sweep)
{
    ad_tape *t = ad_tape_new();
    ad_tensor in[6];
    size_t dims[6][3] = {{3, 2, 4}, {2, 5}, {15, 4}, {15, 5}, {15}, {15}};
    size_t nd[6] = {3, 2, 2, 2, 1, 1};
    for (int pass = 0; pass < 2; pass++) {
        ad_tape_set_recording(t, pass == 0);
        for (size_t k = 0; k < 6; k++)
            in[k] = ad_tensor_uniform(t, AD_F64, nd[k], dims[k], -1, 1, 60 + k);
        in[2] = ad_tensor_variable(t, AD_F64, 2, dims[2], ad_tensor_data(in[2]));
        ad_tensor y = ad_gru(in[0], in[1], in[2], in[3], in[4], in[5]);
        cr_assert(ad_tensor_ok(y), "%s", test_tape_msg(t));
        static double first[30];
        if (pass == 0) {
            memcpy(first, ad_tensor_data(y), sizeof first);
            cr_assert_eq(ad_backward(ad_sum(y)), AD_OK);
        } else {
            cr_assert_arr_eq(first, ad_tensor_data(y), sizeof first);
            ad_tensor s = ad_sum(y);
            cr_assert_eq(ad_backward(s), AD_ERR_INVALID);
            ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "recording off");
        }
        ad_tape_reset(t);
    }
    ad_tape_free(t);
}

/* A GRU forward and backward with the k-th allocation failing, for every k
 * until it completes: each run ends in AD_OK or AD_ERR_NOMEM and frees all. */
Test(rnn, running_out_of_memory_anywhere_fails_cleanly)
{
    size_t live = 0;
    long failed_runs = 0;
    ad_status s = AD_ERR_NOMEM;
    /* k = -1 first: a run without failures leaves the GEMM's per-thread
     * packing buffers in place, which later runs reuse */
    for (long k = -1; (s != AD_OK || k == 0) && k < 200; k++) {
        if (k == 0) live = ad_debug_live_allocs();
        ad_debug_fail_alloc_after(k);
        ad_tape *t = ad_tape_new();
        if (!t) {
            ad_debug_fail_alloc_after(-1);
            s = AD_ERR_NOMEM;
            failed_runs++;
            continue;
        }
        size_t d[6][3] = {{5, 8, 40}, {8, 64}, {192, 40}, {192, 64}, {192}, {192}};
        size_t nd[6] = {3, 2, 2, 2, 1, 1};
        ad_tensor in[6];
        for (size_t i = 0; i < 6; i++)
            in[i] = ad_tensor_variable(t, AD_F32, nd[i], d[i], NULL);
        ad_tensor y = ad_gru(in[0], in[1], in[2], in[3], in[4], in[5]);
        ad_tensor e = ad_rnn_tanh(ad_select(y, 0, 3), in[1], ad_slice(in[3], 0, 0, 64),
                                  ad_slice(in[3], 0, 64, 128), AD_TENSOR_NONE, AD_TENSOR_NONE);
        s = ad_backward(ad_sum(e));
        const char *m;
        cr_assert(s == AD_OK || s == AD_ERR_NOMEM, "k %ld: %s (%s)", k, ad_status_name(s),
                  (ad_tape_error(t, &m), m));
        ad_tape_free(t);
        ad_debug_fail_alloc_after(-1);
        if (k >= 0) cr_assert_eq(ad_debug_live_allocs(), live, "k %ld leaks", k);
        failed_runs += k >= 0 && s != AD_OK;
    }
    ad_debug_fail_alloc_after(-1);
    cr_assert_eq(s, AD_OK, "never completed");
    cr_assert_gt(failed_runs, 3, "%ld", failed_runs); /* the tape, its node array, arena blocks */
}
