/* SPDX-License-Identifier: MIT
 * Thread pool: workers started lazily, sleeping on a condition variable
 * between jobs, joined at exit. Also the thread-count setting
 * (ad_set_num_threads / ADTAPE_NUM_THREADS / the cores online). */
#include "pool.h"

#include "adtape.h"
#include "cpu.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

enum { MAX_THREADS = 256 };
/* Polls before sleeping (~50-100 us): back-to-back products (the layers of
 * one training step) then find their workers awake, while an idle pool
 * still sleeps on its condition variable within a fraction of a ms. */
enum { SPIN_POLLS = 2000 };

static atomic_int requested; /* 0: not set, use the environment or the cores */
static int default_threads;  /* set once by init_default */
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

/* ADTAPE_NUM_THREADS as a whole decimal number 1 .. MAX_THREADS, else 0:
 * "7abc", "1e3", "-3", "" or 10^20 are not a thread count, so the cores
 * decide rather than whatever prefix strtol could read. */
static long env_threads(const char *env)
{
    if (!env) return 0;
    char *end;
    errno = 0;
    long v = strtol(env, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\n')
        end++;
    if (end == env || *end != '\0' || errno == ERANGE || v < 1 || v > MAX_THREADS) return 0;
    return v;
}

static void init_default(void)
{
    long v = env_threads(getenv("ADTAPE_NUM_THREADS"));
    if (v <= 0) v = sysconf(_SC_NPROCESSORS_ONLN);
    default_threads = v > 0 ? (int)(v < MAX_THREADS ? v : MAX_THREADS) : 1;
}

void ad_set_num_threads(int n)
{
    atomic_store(&requested, n > 0 ? (n < MAX_THREADS ? n : MAX_THREADS) : 0);
}

int ad_get_num_threads(void)
{
    int n = atomic_load(&requested);
    if (n > 0) return n;
    pthread_once(&default_once, init_default);
    return default_threads;
}

/* ---- the pool. job_lock admits one job at a time; mu guards the rest.
 * A job is `parts` pieces claimed one at a time from next_part by the
 * caller and whichever workers join, so the caller never waits for a worker
 * to wake up (on a busy or virtual machine that can take longer than the
 * job): a worker that arrives late finds nothing left, or the job closed. */

static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER; /* a new job or stop */
static pthread_cond_t done = PTHREAD_COND_INITIALIZER; /* the last busy worker left */
static pthread_t workers[MAX_THREADS];
static unsigned long worker_start_gen[MAX_THREADS]; /* generation when started */
static int n_workers;
static atomic_ulong generation; /* bumped for every job (under mu) */
static atomic_int stop;
static ad_pool_fn job_fn;
static void *job_ctx;
static size_t job_parts;
static int job_threads;
static bool job_open;           /* workers may still join (under mu) */
static atomic_size_t next_part; /* the next unclaimed part */
static atomic_int busy;         /* workers inside the job (changed under mu) */
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

/* Set while this thread runs a part: a job whose parts call kernels that
 * would start a job of their own (an RNN step's GEMM) runs those inline,
 * where waiting for job_lock, held by this very job, would never end. */
static _Thread_local bool in_part;

static void run_parts(ad_pool_fn fn, void *ctx, size_t parts)
{
    in_part = true;
    for (;;) {
        size_t i = atomic_fetch_add(&next_part, 1);
        if (i >= parts) break;
        fn(ctx, i, parts);
    }
    in_part = false;
}

static void *worker_main(void *arg)
{
    int idx = (int)(size_t)arg; /* thread idx + 1 of each job */
    pthread_mutex_lock(&mu);
    /* not `generation`: a job may have been posted before this thread ran */
    unsigned long seen = worker_start_gen[idx];
    for (;;) {
        if (!stop && generation == seen) {
            pthread_mutex_unlock(&mu);
            for (int i = 0; i < SPIN_POLLS && !stop && generation == seen; i++)
                AD_CPU_RELAX();
            pthread_mutex_lock(&mu);
        }
        while (!stop && generation == seen)
            pthread_cond_wait(&wake, &mu);
        if (stop) break;
        seen = generation;
        /* closed: the caller has finished it alone; or it wants fewer threads */
        if (!job_open || idx + 1 >= job_threads) continue;
        ad_pool_fn fn = job_fn;
        void *ctx = job_ctx;
        size_t parts = job_parts;
        busy++;
        pthread_mutex_unlock(&mu);
        run_parts(fn, ctx, parts);
        pthread_mutex_lock(&mu);
        if (--busy == 0) pthread_cond_signal(&done);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

/* Joins every worker; their thread-exit hooks free their GEMM buffers. */
static void pool_shutdown(void)
{
    pthread_mutex_lock(&job_lock);
    pthread_mutex_lock(&mu);
    stop = 1;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < n_workers; i++)
        pthread_join(workers[i], NULL);
    n_workers = 0;
    stop = 0;
    pthread_mutex_unlock(&job_lock);
}

/* A forked child has none of the parent's threads: start afresh. */
static void pool_after_fork_child(void)
{
    pthread_mutex_init(&job_lock, NULL);
    pthread_mutex_init(&mu, NULL);
    pthread_cond_init(&wake, NULL);
    pthread_cond_init(&done, NULL);
    n_workers = 0;
    stop = 0;
    busy = 0;
    job_open = false;
}

static void install_hooks(void)
{
    atexit(pool_shutdown);
    pthread_atfork(NULL, NULL, pool_after_fork_child);
}

/* Starts workers until there are `want` (job_lock held); returns how many run. */
static int grow(int want)
{
    pthread_once(&hooks_once, install_hooks);
    while (n_workers < want) {
        worker_start_gen[n_workers] = generation; /* only changes under job_lock */
        if (pthread_create(&workers[n_workers], NULL, worker_main, (void *)(size_t)n_workers))
            break;
        n_workers++;
    }
    return n_workers;
}

void ad_pool_run(int threads, size_t parts, ad_pool_fn fn, void *ctx)
{
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if ((size_t)threads > parts) threads = (int)parts;
    if (threads <= 1 || in_part) {
        for (size_t i = 0; i < parts; i++)
            fn(ctx, i, parts);
        return;
    }
    /* jobs from several threads queue here: each then gets every core */
    pthread_mutex_lock(&job_lock);
    grow(threads - 1); /* with fewer workers the caller does more parts */
    pthread_mutex_lock(&mu);
    job_fn = fn;
    job_ctx = ctx;
    job_parts = parts;
    job_threads = threads;
    job_open = true;
    atomic_store(&next_part, 0);
    generation++;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&mu);

    run_parts(fn, ctx, parts);

    pthread_mutex_lock(&mu);
    job_open = false; /* from here no worker joins, so none touches ctx after we return */
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < SPIN_POLLS && busy > 0; i++)
        AD_CPU_RELAX();
    pthread_mutex_lock(&mu);
    while (busy > 0)
        pthread_cond_wait(&done, &mu);
    pthread_mutex_unlock(&mu);
    pthread_mutex_unlock(&job_lock);
}
