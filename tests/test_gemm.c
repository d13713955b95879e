/* SPDX-License-Identifier: MIT
 * GEMM against a naive double-precision product: every transpose pair, both
 * dtypes, every kernel family this CPU runs (and the portable one), edge
 * sizes, padded leading dimensions, alpha/beta cases, threads. */
#include "common.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"
#include "kernels/gemm_kernels.h"
#include "kernels/pool.h"
#include "matrix_helpers.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

static const size_t odd_sizes[] = {1, 2, 3, 5, 7, 13, 17, 31, 33, 63, 65, 127, 129};
enum { N_ODD = sizeof odd_sizes / sizeof odd_sizes[0] };

/* One product: shapes, transposes, scalars, and the padding added to every
 * leading dimension. */
typedef struct gcase {
    int dbl;
    bool ta, tb;
    size_t m, n, k, pad;
    double alpha, beta;
} gcase;

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static void *new_matrix(int dbl, size_t rows, size_t ld, bool nan)
{
    return test_matrix(dbl, rows, ld, nan, &rng_state);
}

static void call(const gcase *g, const void *a, size_t lda, const void *b, size_t ldb, void *c,
                 size_t ldc)
{
    if (g->dbl)
        ad_gemm_f64(g->ta, g->tb, g->m, g->n, g->k, g->alpha, a, lda, b, ldb, g->beta, c, ldc);
    else
        ad_gemm_f32(g->ta, g->tb, g->m, g->n, g->k, (float)g->alpha, a, lda, b, ldb, (float)g->beta,
                    c, ldc);
}

/* Runs one case and compares every entry of C (and C's padding, which must
 * be untouched) with the reference, within k eps sum|a b| + eps |beta c|. */
static void check_case(const gcase *g)
{
    size_t ar = g->ta ? g->k : g->m, ac = g->ta ? g->m : g->k;
    size_t br = g->tb ? g->n : g->k, bc = g->tb ? g->k : g->n;
    size_t lda = ac + g->pad, ldb = bc + g->pad, ldc = g->n + g->pad;
    void *a = new_matrix(g->dbl, ar, lda, false), *b = new_matrix(g->dbl, br, ldb, false);
    void *c = new_matrix(g->dbl, g->m, ldc, g->beta == 0);
    void *c0 = new_matrix(g->dbl, g->m, ldc, false);
    size_t csize = (g->m * ldc > 0 ? g->m * ldc : 1) * (g->dbl ? sizeof(double) : sizeof(float));
    memcpy(c0, c, csize);
    call(g, a, lda, b, ldb, c, ldc);
    double eps = g->dbl ? 2.3e-16 : 1.2e-7;
    for (size_t i = 0; i < g->m; i++)
        for (size_t j = 0; j < ldc; j++) {
            double got = test_get(c, g->dbl, i * ldc + j), old = test_get(c0, g->dbl, i * ldc + j);
            if (j >= g->n) { /* padding: never written */
                cr_assert(got == old || (isnan(got) && isnan(old)),
                          "padding C[%zu,%zu] changed (m %zu n %zu k %zu)", i, j, g->m, g->n, g->k);
                continue;
            }
            double s = 0, mag = 0;
            for (size_t p = 0; p < g->k; p++) {
                double x = test_get(a, g->dbl, g->ta ? p * lda + i : i * lda + p);
                double y = test_get(b, g->dbl, g->tb ? j * ldb + p : p * ldb + j);
                s += x * y, mag += fabs(x * y);
            }
            double sc = g->beta == 0 ? 0 : g->beta * old; /* old may be NaN when beta = 0 */
            double want = g->alpha * s + sc;
            double tol = 4 * eps * ((double)g->k * fabs(g->alpha) * mag + fabs(sc)) + 1e-300;
            cr_assert(fabs(got - want) <= tol,
                      "%s ta=%d tb=%d m=%zu n=%zu k=%zu pad=%zu alpha=%g beta=%g isa=%d: "
                      "C[%zu,%zu] = %.10g, want %.10g",
                      g->dbl ? "f64" : "f32", g->ta, g->tb, g->m, g->n, g->k, g->pad, g->alpha,
                      g->beta, ad_gemm_isa(), i, j, got, want);
        }
    free(a), free(b), free(c), free(c0);
}

static const double scalars[][2] = {{1, 0}, {1, 1}, {-0.7, 0.3}, {2.5, 0}, {0.5, 1}, {1, -2}};
enum { N_SCALARS = sizeof scalars / sizeof scalars[0] };

/* Every (m, n) pair of the odd sizes, k cycling through them (and 0), with
 * the scalar pairs and paddings rotating, for one family, dtype and transposes. */
static void sweep(int isa, int dbl, bool ta, bool tb)
{
    ad_gemm_force_isa(isa);
    size_t idx = 0;
    for (size_t mi = 0; mi < N_ODD; mi++)
        for (size_t ni = 0; ni < N_ODD; ni++, idx++) {
            size_t ki = (mi * 5 + ni * 3) % (N_ODD + 1);
            gcase g = {dbl,
                       ta,
                       tb,
                       odd_sizes[mi],
                       odd_sizes[ni],
                       ki == N_ODD ? 0 : odd_sizes[ki],
                       idx % 3 == 0   ? 0
                       : idx % 3 == 1 ? 3
                                      : 17,
                       scalars[idx % N_SCALARS][0],
                       scalars[idx % N_SCALARS][1]};
            check_case(&g);
        }
    ad_gemm_force_isa(AD_ISA_AUTO);
}

static void sweep_all_transposes(int isa, int dbl)
{
    for (int t = 0; t < 4; t++)
        sweep(isa, dbl, t & 1, t & 2);
}

Test(gemm, generic_kernels_match_naive_product_f32_all_transposes_and_odd_sizes)
{
    sweep_all_transposes(AD_ISA_GENERIC, 0);
}

Test(gemm, generic_kernels_match_naive_product_f64_all_transposes_and_odd_sizes)
{
    sweep_all_transposes(AD_ISA_GENERIC, 1);
}

Test(gemm, avx2_kernels_match_naive_product_f32_all_transposes_and_odd_sizes)
{
    if (!ad_cpu_has_avx2_fma()) return; /* this CPU cannot run them; the fallback is tested */
    sweep_all_transposes(AD_ISA_AVX2, 0);
}

Test(gemm, avx2_kernels_match_naive_product_f64_all_transposes_and_odd_sizes)
{
    if (!ad_cpu_has_avx2_fma()) return;
    sweep_all_transposes(AD_ISA_AVX2, 1);
}

Test(gemm, avx512_kernels_match_naive_product_f32_all_transposes_and_odd_sizes)
{
    if (!ad_cpu_has_avx512()) return;
    sweep_all_transposes(AD_ISA_AVX512, 0);
}

Test(gemm, avx512_kernels_match_naive_product_f64_all_transposes_and_odd_sizes)
{
    if (!ad_cpu_has_avx512()) return;
    sweep_all_transposes(AD_ISA_AVX512, 1);
}

static const ad_gemm_impl_f32 *const impls_f32[] = {&ad_gemm_generic_f32, &ad_gemm_avx2_f32,
                                                    &ad_gemm_avx512_f32};
static const ad_gemm_impl_f64 *const impls_f64[] = {&ad_gemm_generic_f64, &ad_gemm_avx2_f64,
                                                    &ad_gemm_avx512_f64};

/* The packers fill whole micro-panels: a block of rows (columns) that is
 * not a multiple of the register tile would spill its last panel of A into
 * the B buffer, which the next packing of B overwrites. */
Test(gemm, every_block_size_is_a_whole_number_of_register_tiles)
{
    for (size_t i = 0; i < 3; i++) {
        const ad_gemm_impl_f32 *f = impls_f32[i];
        const ad_gemm_impl_f64 *d = impls_f64[i];
        if (!f->mr) continue; /* a family this build has no kernels for */
        cr_assert(f->mc % f->mr == 0 && f->nc % f->nr == 0, "f32 family %zu: mc %zu nc %zu", i,
                  f->mc, f->nc);
        cr_assert(d->mc % d->mr == 0 && d->nc % d->nr == 0, "f64 family %zu: mc %zu nc %zu", i,
                  d->mc, d->nc);
    }
}

/* Rows, depth and columns past every family's blocking sizes: several
 * depth blocks accumulate into C, and edge tiles sit at every block
 * boundary. 2 mc rows take the largest row block there is. One thread
 * packs B once per row block (two threads share one packing of it). */
Test(gemm, products_spanning_several_cache_blocks_match_naive_product)
{
    size_t mc = 0, kc = 0, nc = 0;
    for (size_t i = 0; i < 3; i++) {
        const ad_gemm_impl_f32 *f = impls_f32[i];
        mc = f->mc > mc ? f->mc : mc, kc = f->kc > kc ? f->kc : kc, nc = f->nc > nc ? f->nc : nc;
    }
    for (int isa = AD_ISA_GENERIC; isa <= AD_ISA_AVX512; isa++) {
        ad_gemm_force_isa(isa);
        if (ad_gemm_isa() != isa) continue;
        for (int th = 1; th <= 2; th++)
            for (int dbl = 0; dbl <= 1; dbl++)
                for (int t = 0; t < 4; t++) {
                    ad_set_num_threads(th);
                    size_t m = t == 0 ? 2 * mc : mc + 13;
                    gcase g = {dbl,  t & 1,        t & 2, m, nc + 13, kc + 17, t == 3 ? 5 : 0,
                               0.75, t ? 1.0 : 0.0};
                    check_case(&g);
                }
    }
    ad_set_num_threads(0);
    ad_gemm_force_isa(AD_ISA_AUTO);
}

Test(gemm, skinny_layer_shapes_and_their_backward_products_match_naive_product)
{
    /* x [64,784] . w^T (w [128,784]); dW = dy^T [128,64] . x; dx = dy . w */
    static const gcase cases[] = {
        {0, false, true, 64, 128, 784, 0, 1, 0},  {0, true, false, 128, 784, 64, 0, 1, 1},
        {0, false, false, 64, 784, 128, 0, 1, 0}, {0, false, true, 1, 1024, 1024, 0, 1, 0},
        {1, false, true, 4, 16, 2, 0, 1, 1},      {1, true, false, 16, 2, 4, 0, 1, 1},
        {0, false, false, 1, 1, 1000, 0, 1, 0},   {0, false, false, 1000, 1, 1, 0, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
}

Test(gemm, empty_depth_scales_c_by_beta_and_zeroes_it_for_beta_zero)
{
    for (int dbl = 0; dbl <= 1; dbl++) {
        gcase g0 = {dbl, false, false, 5, 7, 0, 2, 1.0, 0.0}; /* NaN-filled C becomes 0 */
        gcase g1 = {dbl, true, true, 5, 7, 0, 0, 1.0, -1.5};  /* C scaled */
        check_case(&g0);
        check_case(&g1);
    }
}

Test(gemm, zero_alpha_ignores_nan_inputs_and_beta_zero_ignores_nan_c)
{
    float a[6] = {NAN, NAN, NAN, NAN, NAN, NAN}, b[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    float c[4] = {1, 2, 3, 4};
    ad_gemm_f32(false, false, 2, 2, 3, 0.0f, a, 3, b, 2, 2.0f, c, 2);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(c[i], 2.0f * (float)(i + 1));
    double a2[4] = {1, 2, 3, 4}, b2[4] = {1, 0, 0, 1},
           c2[4] = {(double)NAN, (double)NAN, (double)NAN, (double)NAN};
    ad_gemm_f64(false, false, 2, 2, 2, 1.0, a2, 2, b2, 2, 0.0, c2, 2);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(c2[i], a2[i]);
}

Test(gemm, empty_rows_or_columns_leave_c_untouched)
{
    float c[4] = {1, 2, 3, 4}, a[4] = {0}, b[4] = {0};
    ad_gemm_f32(false, false, 0, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    ad_gemm_f32(false, false, 2, 0, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(c[i], (float)(i + 1));
}

Test(gemm, forcing_a_family_the_cpu_lacks_falls_back_to_one_it_has)
{
    for (int isa = AD_ISA_AUTO; isa <= AD_ISA_AVX512; isa++) {
        ad_gemm_force_isa(isa);
        int got = ad_gemm_isa();
        cr_assert(got != AD_ISA_AUTO);
        if (got == AD_ISA_AVX512) cr_assert(ad_cpu_has_avx512());
        if (got == AD_ISA_AVX2) cr_assert(ad_cpu_has_avx2_fma());
        if (isa == AD_ISA_GENERIC) cr_assert_eq(got, AD_ISA_GENERIC);
        gcase g = {0, false, true, 37, 41, 43, 1, 1, 0};
        check_case(&g);
    }
    ad_gemm_force_isa(AD_ISA_AUTO);
}

/* Two threads split C into bands; each entry sums the same products in the
 * same order, so the results agree to rounding (in practice exactly). */
Test(gemm, two_threads_give_the_single_thread_result)
{
    for (int dbl = 0; dbl <= 1; dbl++)
        for (int t = 0; t < 4; t++) {
            /* every dimension >= 256: thinner products stay on one thread */
            size_t m = t & 1 ? 260 : 400, n = t & 1 ? 500 : 270, k = 300;
            size_t es = dbl ? sizeof(double) : sizeof(float);
            void *a = new_matrix(dbl, m, k, false), *b = new_matrix(dbl, k, n, false);
            void *c1 = new_matrix(dbl, m, n, false), *c2 = new_matrix(dbl, m, n, false);
            memcpy(c2, c1, m * n * es);
            gcase g = {dbl, t & 2, t & 2, m, n, k, 0, 1.0, 0.5};
            size_t lda = g.ta ? m : k, ldb = g.tb ? k : n;
            ad_set_num_threads(1);
            call(&g, a, lda, b, ldb, c1, n);
            ad_set_num_threads(2);
            call(&g, a, lda, b, ldb, c2, n);
            ad_set_num_threads(0);
            double eps = dbl ? 1e-13 : 1e-5;
            for (size_t i = 0; i < m * n; i++)
                cr_assert(fabs(test_get(c1, dbl, i) - test_get(c2, dbl, i)) <= eps * (double)k,
                          "[%zu] %g vs %g", i, test_get(c1, dbl, i), test_get(c2, dbl, i));
            free(a), free(b), free(c1), free(c2);
        }
}

/* Narrow products with A not transposed take the dot-product path (no
 * packing; B copied as B^T when not transposed): 4 x 3 tiles with repeated
 * rows at the edges and a scalar tail of k. Every family, both dtypes. */
Test(gemm, narrow_products_through_the_dot_path_match_naive_product_for_every_family)
{
    /* n covers the column tilings 3, 5, 5 + 3 (+ 3) and short last tiles */
    static const size_t ms[] = {1, 3, 5, 7, 130}, ns[] = {1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 13, 16};
    static const size_t ks[] = {32, 33, 100, 1024};
    for (int isa = AD_ISA_GENERIC; isa <= AD_ISA_AVX512; isa++) {
        ad_gemm_force_isa(isa);
        if (ad_gemm_isa() != isa) continue;
        size_t idx = 0;
        for (int dbl = 0; dbl <= 1; dbl++)
            for (int tb = 0; tb <= 1; tb++)
                for (size_t mi = 0; mi < 5; mi++)
                    for (size_t ni = 0; ni < 12; ni++, idx++) {
                        gcase g = {dbl,
                                   false,
                                   tb,
                                   ms[mi],
                                   ns[ni],
                                   ks[idx % 4],
                                   idx % 3,
                                   scalars[idx % N_SCALARS][0],
                                   scalars[idx % N_SCALARS][1]};
                        check_case(&g);
                    }
    }
    ad_gemm_force_isa(AD_ISA_AUTO);
}

/* Every family, both dtypes, A plain and transposed, B not transposed,
 * over the grid ms x ns x ks, scalars and padding rotating. */
static void sweep_b_not_transposed(const size_t *ms, size_t nm, const size_t *ns, size_t nn,
                                   const size_t *ks, size_t nk)
{
    for (int isa = AD_ISA_GENERIC; isa <= AD_ISA_AVX512; isa++) {
        ad_gemm_force_isa(isa);
        if (ad_gemm_isa() != isa) continue;
        size_t idx = 0;
        for (int dbl = 0; dbl <= 1; dbl++)
            for (int ta = 0; ta <= 1; ta++)
                for (size_t mi = 0; mi < nm; mi++)
                    for (size_t ni = 0; ni < nn; ni++)
                        for (size_t ki = 0; ki < nk; ki++, idx++) {
                            gcase g = {dbl,
                                       ta,
                                       false,
                                       ms[mi],
                                       ns[ni],
                                       ks[ki],
                                       idx % 3,
                                       scalars[idx % N_SCALARS][0],
                                       scalars[idx % N_SCALARS][1]};
                            check_case(&g);
                        }
    }
    ad_gemm_force_isa(AD_ISA_AUTO);
}

/* A product with few row tiles reads B (not transposed) in place, packing
 * only its edge panel: rows up to 8 tiles of every family, columns of full
 * and partial panels, depth across a block boundary, ldb padded. */
Test(gemm, few_row_products_reading_b_in_place_match_naive_product_for_every_family)
{
    static const size_t ms[] = {5, 13, 47, 96}, ns[] = {33, 70}, ks[] = {17, 400};
    sweep_b_not_transposed(ms, 4, ns, 2, ks, 2);
}

/* With a depth of 16 or less B (not transposed) is read in place whatever
 * the number of rows: its panels are a few cache lines. */
Test(gemm, short_depth_products_reading_b_in_place_match_naive_product_for_every_family)
{
    static const size_t ms[] = {130, 200}, ns[] = {33, 70}, ks[] = {1, 10, 16};
    sweep_b_not_transposed(ms, 2, ns, 2, ks, 3);
}

/* Two threads: the operand both parts share (B when C is split by rows, A
 * by columns) is packed once; the dot path splits rows. Every family,
 * every transpose pair, odd sizes, against the naive product. */
Test(gemm, two_thread_products_with_a_shared_packed_operand_match_naive_product)
{
    static const size_t shapes[][3] = {{301, 263, 257}, {263, 301, 257}, {2003, 10, 1031}};
    ad_set_num_threads(2);
    for (int isa = AD_ISA_GENERIC; isa <= AD_ISA_AVX512; isa++) {
        ad_gemm_force_isa(isa);
        if (ad_gemm_isa() != isa) continue;
        for (int dbl = 0; dbl <= 1; dbl++)
            for (size_t s = 0; s < 3; s++)
                for (int t = 0; t < 4; t++) {
                    gcase g = {dbl,          t & 1,         t & 2, shapes[s][0],      shapes[s][1],
                               shapes[s][2], (size_t)t % 2, 1.25,  t == 1 ? 0.5 : 0.0};
                    check_case(&g);
                }
    }
    ad_gemm_force_isa(AD_ISA_AUTO);
    ad_set_num_threads(0);
}

/* Two threads on products that are thin but still split: a few rows
 * against a B of 4 MiB or more (columns of C in bands, unpacked), a thin
 * product past THIN_WORK multiply-adds, and a thin one whose larger operand
 * is 4 MiB or more (packed bands). */
Test(gemm, two_thread_few_row_and_big_thin_products_match_naive_product)
{
    static const size_t shapes[][4] = {
        /* m, n, k, transposes (bit 0: A, bit 1: B) */
        {1, 1031, 1030, 0}, {1, 1031, 1030, 3},  {3, 1100, 1000, 2},
        {4, 1029, 1040, 1}, {7, 1000, 1000, 2},  {40, 1024, 820, 0},
        {40, 1024, 820, 3}, {16, 1030, 1030, 0}, {16, 1030, 1030, 2},
    };
    ad_set_num_threads(2);
    for (int dbl = 0; dbl <= 1; dbl++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int t = (int)shapes[s][3];
            gcase g = {dbl,          t & 1, t & 2, shapes[s][0],          shapes[s][1],
                       shapes[s][2], s % 2, 1.25,  s % 3 == 1 ? 0.5 : 0.0};
            check_case(&g);
        }
    ad_set_num_threads(0);
}

static void *fresh_thread_gemm(void *p);

/* On a fresh thread no buffer exists yet: the first allocation (the shared
 * packed operand) or the second (the thread's own panels) fails, and the
 * product still comes out right, on two threads. */
Test(gemm, a_failed_shared_buffer_allocation_on_two_threads_falls_back_to_a_correct_result)
{
    gcase g = {1, false, true, 301, 263, 257, 0, 1.0, 0.0};
    ad_set_num_threads(2);
    for (int after = 0; after <= 1; after++) {
        ad_debug_fail_alloc_after(after);
        pthread_t th;
        cr_assert_eq(pthread_create(&th, NULL, fresh_thread_gemm, &g), 0);
        pthread_join(th, NULL);
        ad_debug_fail_alloc_after(-1);
    }
    ad_set_num_threads(0);
}

static void count_part(void *ctx, size_t i, size_t n)
{
    atomic_int *runs = ctx;
    cr_assert_lt(i, n);
    atomic_fetch_add(&runs[i], 1);
}

/* The pool hands out every part exactly once, however parts and threads
 * compare (a late worker finds nothing left and touches nothing). */
Test(gemm, the_pool_runs_every_part_exactly_once_for_any_thread_and_part_count)
{
    static const size_t part_counts[] = {0, 1, 2, 3, 37};
    for (int threads = 1; threads <= 4; threads++)
        for (size_t q = 0; q < 5; q++)
            for (int rep = 0; rep < 50; rep++) {
                atomic_int runs[37];
                for (size_t i = 0; i < 37; i++)
                    atomic_init(&runs[i], 0);
                ad_pool_run(threads, part_counts[q], count_part, runs);
                for (size_t i = 0; i < 37; i++)
                    cr_assert_eq(atomic_load(&runs[i]), i < part_counts[q] ? 1 : 0,
                                 "threads %d parts %zu: part %zu ran %d times", threads,
                                 part_counts[q], i, atomic_load(&runs[i]));
            }
}

/* Four threads (each its own "tape") multiply at once through the shared
 * pool; each checks its own result. */
typedef struct worker_arg {
    int seed;
    int bad;
} worker_arg;

static void *concurrent_worker(void *argp)
{
    worker_arg *w = argp;
    enum { M = 150, N = 170, K = 190 };
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
    float *c = malloc(sizeof(float) * M * N);
    if (!a || !b || !c) {
        w->bad = 1;
        free(a), free(b), free(c);
        return NULL;
    }
    for (size_t i = 0; i < M * K; i++)
        a[i] = (float)((i * 37 + (size_t)w->seed) % 11) - 5.0f;
    for (size_t i = 0; i < K * N; i++)
        b[i] = (float)((i * 53 + (size_t)w->seed * 3) % 7) - 3.0f;
    for (int rep = 0; rep < 20 && !w->bad; rep++) {
        ad_gemm_f32(false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
        /* small integers: the float result is exact */
        for (size_t q = 0; q < 200; q++) {
            size_t i = (q * 31 + (size_t)rep) % M, j = (q * 17 + (size_t)w->seed) % N;
            float s = 0;
            for (size_t p = 0; p < K; p++)
                s += a[i * K + p] * b[p * N + j];
            if (s != c[i * N + j]) w->bad = 1;
        }
    }
    free(a), free(b), free(c);
    return NULL;
}

Test(gemm, concurrent_calls_from_four_threads_each_get_their_own_result)
{
    ad_set_num_threads(2);
    pthread_t th[4];
    worker_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (worker_arg){i + 1, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, concurrent_worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(args[i].bad, 0, "thread %d got a wrong product", i);
    }
    ad_set_num_threads(0);
}

static void *fresh_thread_gemm(void *p)
{
    gcase *g = p;
    check_case(g);
    return NULL;
}

Test(gemm, a_failed_packing_buffer_allocation_falls_back_to_a_correct_result)
{
    /* a fresh thread has no packing buffer yet, so it must allocate one */
    gcase g = {0, true, false, 70, 90, 110, 1, 1.0, 0.0};
    ad_debug_fail_alloc_after(0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, fresh_thread_gemm, &g), 0);
    pthread_join(th, NULL);
    ad_debug_fail_alloc_after(-1);
}

Test(gemm, thread_count_setting_round_trips_and_nonpositive_restores_the_default)
{
    int def = ad_get_num_threads();
    cr_assert_geq(def, 1);
    ad_set_num_threads(3);
    cr_assert_eq(ad_get_num_threads(), 3);
    ad_set_num_threads(-1);
    cr_assert_eq(ad_get_num_threads(), def);
    /* more threads than cores still computes the right product */
    ad_set_num_threads(5);
    gcase g = {1, false, false, 300, 200, 250, 0, 1.0, 0.0};
    check_case(&g);
    ad_set_num_threads(0);
    cr_assert_eq(ad_get_num_threads(), def);
}
