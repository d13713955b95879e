/* SPDX-License-Identifier: MIT
 * gemm group: square row-major C = A B (alpha 1, beta 0) in GFLOP/s
 * (2 n^3 per call), with the inputs and protocol of the peer script
 * ../shared/peers/gemm_bench.c: 2 warm-up calls, then >= 5 calls and
 * >= 0.5 s, median. Each result is checked against a naive product on a
 * sample of entries. Then the skinny shapes of skinny_shapes.h (MLP layers),
 * named after the shape, which peers/blas_skinny.c times on OpenBLAS. */
#include "adtape.h"
#include "bench.h"
#include "kernels/gemm.h"
#include "skinny_shapes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { MAX_REP = 400, SAMPLES = 64 };

typedef struct shape {
    size_t m, n, k;
    int ta, tb;
} shape;

static void fill(void *x, size_t len, int dbl, double sign)
{
    for (size_t i = 0; i < len; i++) {
        double v = sign * ((double)((i * 2654435761u) % 1000) / 1000.0 - 0.5);
        if (dbl)
            ((double *)x)[i] = v;
        else
            ((float *)x)[i] = (float)v;
    }
}

static double at(const void *x, int dbl, size_t i)
{
    return dbl ? ((const double *)x)[i] : (double)((const float *)x)[i];
}

/* Compares SAMPLES entries of C with a double-precision dot product; the
 * bound is the classic k eps sum |a||b| error bound of a float dot product. */
static int check(const shape *s, int dbl, const void *a, const void *b, const void *c)
{
    size_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    double eps = dbl ? 2.2e-16 : 1.2e-7;
    for (size_t q = 0; q < SAMPLES; q++) {
        size_t i = (q * 7919u + 13u) % s->m, j = (q * 104729u + 7u) % s->n;
        double sum = 0, mag = 0;
        for (size_t p = 0; p < s->k; p++) {
            double x = at(a, dbl, s->ta ? p * lda + i : i * lda + p);
            double y = at(b, dbl, s->tb ? j * ldb + p : p * ldb + j);
            sum += x * y;
            mag += fabs(x * y);
        }
        double got = at(c, dbl, i * s->n + j);
        if (!(fabs(got - sum) <= 2.0 * (double)s->k * eps * mag + 1e-300)) {
            bench_fail("gemm %s %zux%zux%zu: C[%zu,%zu] = %.9g, naive %.9g", dbl ? "f64" : "f32",
                       s->m, s->n, s->k, i, j, got, sum);
            return 1;
        }
    }
    return 0;
}

/* Median GFLOP/s of one shape, or -1 when the answer is wrong. */
static double run(const shape *s, int dbl)
{
    size_t es = dbl ? sizeof(double) : sizeof(float);
    size_t na = s->m * s->k, nb = s->k * s->n, nc = s->m * s->n;
    void *a = aligned_alloc(64, (na * es + 63) / 64 * 64);
    void *b = aligned_alloc(64, (nb * es + 63) / 64 * 64);
    void *c = aligned_alloc(64, (nc * es + 63) / 64 * 64);
    if (!a || !b || !c) {
        bench_fail("gemm: out of memory");
        free(a), free(b), free(c);
        return -1;
    }
    fill(a, na, dbl, 1.0);
    fill(b, nb, dbl, -1.0);
    fill(c, nc, dbl, 0.0);
    size_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    static double t[MAX_REP];
    size_t r = 0;
    double total = 0;
    for (int w = -2; r < MAX_REP && (r < 5 || total < 0.5); w++) {
        double t0 = bench_now();
        if (dbl)
            ad_gemm_f64(s->ta, s->tb, s->m, s->n, s->k, 1.0, a, lda, b, ldb, 0.0, c, s->n);
        else
            ad_gemm_f32(s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, s->n);
        double dt = bench_now() - t0;
        if (w >= 0) t[r++] = dt, total += dt;
    }
    double gf = check(s, dbl, a, b, c)
                    ? -1
                    : 2.0 * (double)s->m * (double)s->n * (double)s->k / 1e9 / bench_median(t, r);
    free(a), free(b), free(c);
    return gf;
}

int bench_gemm(void)
{
    static const size_t sizes[] = {128, 256, 512, 1024, 2048};
    static const char *isa_names[] = {"auto", "generic", "avx2", "avx512"};
    int bad = 0;
    bench_note("gemm: kernels %s, square C = A B, GFLOP/s = 2 n^3 / median time",
               isa_names[ad_gemm_isa()]);
    for (int dbl = 0; dbl <= 1; dbl++)
        for (int th = 1; th <= 2; th++) {
            ad_set_num_threads(th);
            for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                shape s = {sizes[i], sizes[i], sizes[i], 0, 0};
                double gf = run(&s, dbl);
                if (gf < 0) {
                    bad = 1;
                    continue;
                }
                char name[64];
                snprintf(name, sizeof name, "gemm.%s.t%d.n%zu.gflops", dbl ? "f64" : "f32", th,
                         sizes[i]);
                bench_emit(name, gf, "GFLOP/s");
            }
        }
    for (int dbl = 0; dbl <= 1; dbl++)
        for (int th = 1; th <= 2; th++) {
            ad_set_num_threads(th);
            for (size_t i = 0; i < N_SKINNY; i++) {
                const skinny_shape *k = &skinny_shapes[i];
                shape s = {k->m, k->n, k->k, k->ta, k->tb};
                double gf = run(&s, dbl);
                if (gf < 0) {
                    bad = 1;
                    continue;
                }
                char name[96];
                snprintf(name, sizeof name, "gemm.%s.t%d.%s.gflops", dbl ? "f64" : "f32", th,
                         k->name);
                bench_emit(name, gf, "GFLOP/s");
            }
        }
    ad_set_num_threads(0);
    return bad;
}
