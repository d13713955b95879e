/* SPDX-License-Identifier: MIT
 * The library's own thread pool for large kernels (GEMM). One job runs at a
 * time: callers on several threads queue, so the pool's threads plus the
 * caller never exceed ad_get_num_threads() and the cores are not
 * oversubscribed. Small jobs (n = 1) bypass it entirely. */
#ifndef AD_POOL_H
#define AD_POOL_H

/* Part `i` of `n` parts of a job. */
typedef void (*ad_pool_fn)(void *ctx, int i, int n);

/* Runs fn(ctx, i, n') for every i < n' and returns when all are done, where
 * n' <= n is the number of threads actually available (the caller is one of
 * them; n' is smaller only when threads cannot be started). Must not be
 * called from inside fn. */
void ad_pool_run(int n, ad_pool_fn fn, void *ctx);

#endif
