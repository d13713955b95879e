/* SPDX-License-Identifier: MIT
 * The OpenBLAS peer of the gemm group's skinny figures (for measurement only;
 * adtape never links a BLAS). Built by peers.sh when libopenblas is there:
 *   cc -O2 -Itests/bench -o build/blas_skinny tests/bench/peers/blas_skinny.c -lopenblas
 *   OPENBLAS_NUM_THREADS=T build/blas_skinny T
 * prints `blas.<dtype>.t<T>.<name>.gflops value GFLOP/s`, with the protocol of
 * bench_gemm.c: same inputs, 2 warm-up calls, then >= 5 calls and >= 0.5 s,
 * median time. */
#define _POSIX_C_SOURCE 200809L
#include "skinny_shapes.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { MAX_REP = 400 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

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

static double run(const skinny_shape *s, int dbl)
{
    size_t es = dbl ? sizeof(double) : sizeof(float);
    size_t na = s->m * s->k, nb = s->k * s->n, nc = s->m * s->n;
    void *a = aligned_alloc(64, (na * es + 63) / 64 * 64);
    void *b = aligned_alloc(64, (nb * es + 63) / 64 * 64);
    void *c = aligned_alloc(64, (nc * es + 63) / 64 * 64);
    if (!a || !b || !c) return -1;
    fill(a, na, dbl, 1.0);
    fill(b, nb, dbl, -1.0);
    fill(c, nc, dbl, 0.0);
    int m = (int)s->m, n = (int)s->n, k = (int)s->k;
    int lda = s->ta ? m : k, ldb = s->tb ? k : n;
    enum CBLAS_TRANSPOSE ta = s->ta ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = s->tb ? CblasTrans : CblasNoTrans;
    static double t[MAX_REP];
    int r = 0;
    double total = 0;
    for (int w = -2; r < MAX_REP && (r < 5 || total < 0.5); w++) {
        double t0 = now();
        if (dbl)
            cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, n);
        else
            cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
        double dt = now() - t0;
        if (w >= 0) t[r++] = dt, total += dt;
    }
    qsort(t, (size_t)r, sizeof t[0], cmp);
    free(a), free(b), free(c);
    return 2.0 * (double)s->m * (double)s->n * (double)s->k / 1e9 / t[r / 2];
}

int main(int argc, char **argv)
{
    int th = argc > 1 ? atoi(argv[1]) : 1;
    for (int dbl = 0; dbl <= 1; dbl++)
        for (size_t i = 0; i < N_SKINNY; i++)
            printf("blas.%s.t%d.%s.gflops %.4g GFLOP/s\n", dbl ? "f64" : "f32", th,
                   skinny_shapes[i].name, run(&skinny_shapes[i], dbl));
    return 0;
}
