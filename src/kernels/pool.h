/* SPDX-License-Identifier: MIT
 * The library's own thread pool for large kernels (GEMM). One job runs at a
 * time: callers on several threads queue, so the pool's threads plus the
 * caller never exceed ad_get_num_threads() and the cores are not
 * oversubscribed. Jobs with one thread or one part bypass it entirely. */
#ifndef AD_POOL_H
#define AD_POOL_H

#include <stddef.h>

/* Part `i` of `n` parts of a job. */
typedef void (*ad_pool_fn)(void *ctx, size_t i, size_t n);

/* Runs fn(ctx, i, parts) once for every i < parts and returns when all are
 * done. The caller and up to threads - 1 workers claim parts one at a time,
 * in no fixed order and on no fixed thread, so parts must be independent;
 * more parts than threads balance the load, and a worker that starts late
 * (or cannot be started) leaves its parts to the others. Called from
 * inside fn (a part whose GEMM would thread), it runs the parts inline. */
void ad_pool_run(int threads, size_t parts, ad_pool_fn fn, void *ctx);

#endif
