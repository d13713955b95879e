/* SPDX-License-Identifier: MIT
 * The library's own thread pool for large kernels (GEMM). One job runs at a
 * time; a caller that finds the pool busy does its job alone on its own
 * thread, so tapes on several threads never oversubscribe the cores. */
#ifndef AD_POOL_H
#define AD_POOL_H

/* Part `i` of `n` parts of a job. */
typedef void (*ad_pool_fn)(void *ctx, int i, int n);

/* Runs fn(ctx, i, n') for every i < n' and returns when all are done, where
 * n' <= n is the number of threads actually available (the caller is one of
 * them; n' is 1 when the pool is busy or threads cannot be started). */
void ad_pool_run(int n, ad_pool_fn fn, void *ctx);

#endif
