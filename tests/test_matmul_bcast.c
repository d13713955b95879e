/* SPDX-License-Identifier: MIT
 * matmul with batch dimensions that broadcast (ops/matmul.c): gradients
 * against central differences (an operand shared by several batches sums
 * their gradients), values against naive loops in both dtypes, the shared
 * right-hand matrix that runs as one product, empty batches, and errors. */
#include "common.h"
#include "op_helpers.h"

#include <math.h>
#include <stdlib.h>

typedef struct bc_case {
    size_t na, a[4], nb, b[4];
} bc_case;

static const bc_case bc_cases[] = {
    {2, {3, 4}, 3, {2, 4, 5}},          /* a shared by every batch */
    {3, {2, 3, 4}, 2, {4, 5}},          /* b shared: one [6,4] x [4,5] product */
    {3, {1, 3, 4}, 3, {3, 4, 2}},       /* batch 1 stretches */
    {3, {3, 2, 4}, 3, {1, 4, 3}},       /* b's batch 1 stretches */
    {4, {2, 1, 3, 2}, 3, {3, 2, 2}},    /* [2,1] x [3] -> [2,3] */
    {4, {1, 2, 2, 3}, 4, {3, 1, 3, 1}}, /* both stretch: [1,2] x [3,1] -> [3,2] */
    {4, {2, 3, 1, 5}, 2, {5, 1}},       /* 4-D with a shared matrix */
    {3, {0, 2, 3}, 2, {3, 2}},          /* empty batch */
    {2, {2, 3}, 4, {2, 0, 3, 2}},       /* empty broadcast batch */
};
#define N_BC (sizeof bc_cases / sizeof bc_cases[0])

static ad_tensor bc_graph(ad_tape *t, ad_param *const *p, size_t np, void *ctx)
{
    (void)np;
    (void)ctx;
    return weighted_sum(ad_matmul(ad_param_use(t, p[0]), ad_param_use(t, p[1])), 19);
}

GRADCHECK_TEST(matmul_bcast, gradient_matches_central_differences_for_broadcast_batches,
               AD_OP_MATMUL)
{
    for (size_t k = 0; k < N_BC; k++) {
        const bc_case *c = &bc_cases[k];
        ad_param *p[2] = {test_param(c->na, c->a, -1, 1, 60 + k),
                          test_param(c->nb, c->b, -1, 1, 80 + k)};
        ASSERT_GRADCHECK(bc_graph, p, 2, NULL, NULL);
        ad_param_free(p[0]);
        ad_param_free(p[1]);
    }
}

/* The output's shape and values by naive loops over the padded 4-D
 * coordinates, each operand indexed with 0 where its batch dimension is 1. */
static size_t pad4(size_t n, const size_t *d, size_t out[4])
{
    size_t numel = 1;
    for (size_t i = 0; i < 4; i++) {
        out[i] = i < 4 - n ? 1 : d[i - (4 - n)];
        numel *= out[i];
    }
    return numel;
}

static void naive(const bc_case *c, const double *a, const double *b, double *y, size_t yd[4])
{
    size_t pa[4], pb[4];
    pad4(c->na, c->a, pa);
    pad4(c->nb, c->b, pb);
    size_t m = pa[2], k = pa[3], n = pb[3];
    for (size_t d = 0; d < 2; d++)
        yd[d] = pa[d] == 1 ? pb[d] : pa[d];
    yd[2] = m;
    yd[3] = n;
    for (size_t i0 = 0; i0 < yd[0]; i0++)
        for (size_t i1 = 0; i1 < yd[1]; i1++) {
            size_t ba = ((pa[0] == 1 ? 0 : i0) * pa[1] + (pa[1] == 1 ? 0 : i1)) * m * k;
            size_t bb = ((pb[0] == 1 ? 0 : i0) * pb[1] + (pb[1] == 1 ? 0 : i1)) * k * n;
            size_t by = (i0 * yd[1] + i1) * m * n;
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++) {
                    double s = 0;
                    for (size_t q = 0; q < k; q++)
                        s += a[ba + i * k + q] * b[bb + q * n + j];
                    y[by + i * n + j] = s;
                }
        }
}

Test(matmul_bcast, matches_naive_loops_in_both_dtypes_with_the_broadcast_shape)
{
    for (size_t kc = 0; kc < N_BC; kc++) {
        const bc_case *c = &bc_cases[kc];
        size_t pa[4], pb[4], yd[4];
        size_t na = pad4(c->na, c->a, pa), nb = pad4(c->nb, c->b, pb);
        double *a = random_values(na, 5 + kc), *b = random_values(nb, 9 + kc);
        double y[256];
        naive(c, a, b, y, yd);
        size_t rank = c->na > c->nb ? c->na : c->nb, ny = 1;
        for (size_t d = 0; d < 4; d++)
            ny *= yd[d];
        for (int dbl = 0; dbl < 2; dbl++) {
            ad_tape *t = ad_tape_new();
            ad_dtype dt = dbl ? AD_F64 : AD_F32;
            ad_tensor r = ad_matmul(tensor_from(t, dt, c->na, c->a, a, false),
                                    tensor_from(t, dt, c->nb, c->b, b, false));
            cr_assert(ad_tensor_ok(r), "case %zu: %s", kc, test_tape_msg(t));
            size_t d[4];
            cr_assert_eq(ad_tensor_shape(r, d), rank, "case %zu", kc);
            for (size_t i = 0; i < rank; i++)
                cr_assert_eq(d[i], yd[4 - rank + i], "case %zu dim %zu", kc, i);
            cr_assert_eq(ad_tensor_numel(r), ny);
            for (size_t i = 0; i < ny; i++)
                cr_assert(fabs(ad_tensor_get(r, i) - y[i]) <= (dbl ? 1e-14 : 1e-5),
                          "case %zu %s [%zu]: %.9g vs %.9g", kc, dbl ? "f64" : "f32", i,
                          ad_tensor_get(r, i), y[i]);
            ad_tape_free(t);
        }
        free(a);
        free(b);
    }
}

/* A [M,K] . [B,K,N] product's a-gradient is the sum over the batches; the
 * same product written as B separate matmuls gives the same numbers. */
Test(matmul_bcast, a_shared_operand_collects_the_sum_of_the_batch_gradients)
{
    double *av = random_values(6, 1), *bv = random_values(3 * 3 * 4, 2);
    ad_tape *t = ad_tape_new();
    ad_tensor a = tensor_from(t, AD_F64, 2, (size_t[]){2, 3}, av, true);
    ad_tensor b = tensor_from(t, AD_F64, 3, (size_t[]){3, 3, 4}, bv, true);
    cr_assert_eq(ad_backward(ad_sum(ad_matmul(a, b))), AD_OK);
    double ga[6], gb[36];
    grad_as_double(a, ga);
    grad_as_double(b, gb);
    ad_tape *u = ad_tape_new();
    ad_tensor a2 = tensor_from(u, AD_F64, 2, (size_t[]){2, 3}, av, true);
    ad_tensor b2 = tensor_from(u, AD_F64, 3, (size_t[]){3, 3, 4}, bv, true);
    ad_tensor s = ad_tensor_zeros(u, AD_F64, 1, (size_t[]){1});
    for (size_t p = 0; p < 3; p++) {
        ad_tensor bp = ad_reshape(ad_slice(b2, 0, p, p + 1), 2, (size_t[]){3, 4});
        s = ad_tadd(s, ad_sum(ad_matmul(a2, bp)));
    }
    cr_assert_eq(ad_backward(s), AD_OK);
    double wa[6], wb[36];
    grad_as_double(a2, wa);
    grad_as_double(b2, wb);
    ASSERT_CLOSE_ARRAY(ga, wa, 6, 1e-14, 1e-13);
    ASSERT_CLOSE_ARRAY(gb, wb, 36, 1e-14, 1e-13);
    ad_tape_free(t);
    ad_tape_free(u);
    free(av);
    free(bv);
}

Test(matmul_bcast, rejects_batches_that_do_not_broadcast_and_naming_both_shapes)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_zeros(t, AD_F64, 4, (size_t[]){2, 3, 2, 4});
    ad_tensor b = ad_tensor_zeros(t, AD_F64, 3, (size_t[]){2, 4, 5});
    cr_assert(!ad_tensor_ok(ad_matmul(a, b)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_matmul: batch sizes differ: [2,3,2,4] x [2,4,5]");
    ad_tape_clear_error(t);
    ad_tensor c = ad_tensor_zeros(t, AD_F64, 3, (size_t[]){3, 4, 5});
    cr_assert(ad_tensor_ok(ad_matmul(a, c)), "[2,3] and [3] broadcast: %s", test_tape_msg(t));
    ad_tensor d = ad_tensor_zeros(t, AD_F64, 3, (size_t[]){3, 5, 5});
    cr_assert(!ad_tensor_ok(ad_matmul(a, d)));
    ASSERT_TAPE_ERROR(t, AD_ERR_SHAPE, "ad_matmul: inner dimensions differ: [2,3,2,4] x [3,5,5]");
    ad_tape_free(t);
}
