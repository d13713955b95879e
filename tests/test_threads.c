/* SPDX-License-Identifier: MIT
 * Threads: one tape per thread needs no locks. Four threads train the same
 * float32 MLP from the same seed at once and must match a sequential run bit
 * for bit; several threads run large matmuls at once, so the kernel thread
 * pool is shared between tapes. `make tsan` runs these under ThreadSanitizer. */
#include "common.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

enum { NTHREADS = 4, STEPS = 20, B = 16, IN = 8, H = 16, C = 4, NPARAM = 4 };

/* Everything a training run produces: the loss of every step and the final
 * parameters. Compared with memcmp, so it must start zeroed. */
typedef struct trained {
    float loss[STEPS];
    float w1[H * IN], b1[H], w2[C * H], b2[C];
    ad_status status;
} trained;

static void train(trained *out)
{
    static const size_t shapes[NPARAM][2] = {{H, IN}, {H, 0}, {C, H}, {C, 0}};
    float *dst[NPARAM] = {out->w1, out->b1, out->w2, out->b2};
    int32_t labels[B];
    for (int i = 0; i < B; i++)
        labels[i] = (int32_t)((i * 7 + 3) % C);
    ad_param *p[NPARAM];
    for (int i = 0; i < NPARAM; i++) {
        p[i] = ad_param_new(AD_F32, shapes[i][1] ? 2 : 1, shapes[i]);
        ad_param_uniform(p[i], -0.5, 0.5, (uint64_t)(100 + i));
    }
    ad_tape *t = ad_tape_new();
    out->status = AD_OK;
    for (int s = 0; s < STEPS && out->status == AD_OK; s++) {
        ad_tape_reset(t);
        ad_tensor x = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){B, IN}, -1, 1, 42);
        ad_tensor h = ad_relu(ad_linear(x, ad_param_use(t, p[0]), ad_param_use(t, p[1])));
        ad_tensor z = ad_linear(h, ad_param_use(t, p[2]), ad_param_use(t, p[3]));
        ad_tensor loss = ad_softmax_cross_entropy(z, labels, B);
        out->status = ad_backward(loss);
        out->loss[s] = (float)ad_tensor_get(loss, 0);
        for (int i = 0; i < NPARAM; i++) { /* plain SGD */
            float *v = ad_param_value(p[i]);
            const float *g = ad_param_grad(p[i]);
            for (size_t k = 0; k < ad_param_numel(p[i]); k++)
                v[k] -= 0.3f * g[k];
            ad_param_zero_grad(p[i]);
        }
    }
    for (int i = 0; i < NPARAM; i++) {
        memcpy(dst[i], ad_param_value(p[i]), ad_param_numel(p[i]) * sizeof(float));
        ad_param_free(p[i]);
    }
    ad_tape_free(t);
}

static void *train_thread(void *arg)
{
    train(arg);
    return NULL;
}

Test(threads, four_threads_training_one_model_each_match_a_sequential_run_bit_for_bit)
{
    trained seq, par[NTHREADS];
    memset(&seq, 0, sizeof seq);
    memset(par, 0, sizeof par);
    train(&seq);
    cr_assert_eq(seq.status, AD_OK);
    cr_assert(seq.loss[STEPS - 1] < 0.8f * seq.loss[0], "loss %g -> %g", (double)seq.loss[0],
              (double)seq.loss[STEPS - 1]);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, train_thread, &par[i]), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NTHREADS; i++) {
        cr_assert_eq(par[i].status, AD_OK);
        cr_assert(memcmp(&par[i], &seq, sizeof seq) == 0,
                  "thread %d differs from the sequential run: final loss %.9g vs %.9g", i,
                  (double)par[i].loss[STEPS - 1], (double)seq.loss[STEPS - 1]);
    }
}

/* ---- large matmuls from several tapes at once */

/* about 28 MFLOP per product: enough work for the pool to split it four ways */
enum { M = 320, K = 288, N = 304, MM_THREADS = 3 };

typedef struct mm_job {
    uint64_t seed;
    double max_err; /* largest |value or gradient - reference| */
    ad_status status;
} mm_job;

/* y = a . b, then sum(y) swept back: da = 1 . b^T (row sums of b), db = a^T . 1 */
static void *mm_thread(void *arg)
{
    mm_job *j = arg;
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){M, K}, -1, 1, j->seed);
    ad_tensor b = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){K, N}, -1, 1, j->seed + 1);
    /* the same values as variables, so that the sweep computes gradients */
    ad_tensor av = ad_tensor_variable(t, AD_F32, 2, (size_t[]){M, K}, ad_tensor_data(a));
    ad_tensor bv = ad_tensor_variable(t, AD_F32, 2, (size_t[]){K, N}, ad_tensor_data(b));
    ad_tensor y = ad_matmul(av, bv);
    j->status = ad_backward(ad_sum(y));
    const float *A = ad_tensor_data(a), *Bm = ad_tensor_data(b), *Y = ad_tensor_data(y);
    const float *gA = ad_tensor_grad(av), *gB = ad_tensor_grad(bv);
    double err = 0;
    if (j->status == AD_OK && Y && gA && gB) {
        for (size_t i = 0; i < M; i += 7) /* a sample of entries, in double */
            for (size_t c = 0; c < N; c += 5) {
                double s = 0;
                for (size_t k = 0; k < K; k++)
                    s += (double)A[i * K + k] * (double)Bm[k * N + c];
                err = fmax(err, fabs(s - (double)Y[i * N + c]));
            }
        for (size_t i = 0; i < M; i++)
            for (size_t k = 0; k < K; k += 3) {
                double s = 0;
                for (size_t c = 0; c < N; c++)
                    s += (double)Bm[k * N + c];
                err = fmax(err, fabs(s - (double)gA[i * K + k]));
            }
        for (size_t k = 0; k < K; k += 3)
            for (size_t c = 0; c < N; c += 11) {
                double s = 0;
                for (size_t i = 0; i < M; i++)
                    s += (double)A[i * K + k];
                err = fmax(err, fabs(s - (double)gB[k * N + c]));
            }
    } else {
        err = (double)INFINITY;
    }
    j->max_err = err;
    ad_tape_free(t);
    return NULL;
}

Test(threads, large_matmuls_on_several_tapes_at_once_are_all_correct)
{
    ad_set_num_threads(4); /* the pool runs even on a small machine */
    mm_job jobs[MM_THREADS];
    pthread_t th[MM_THREADS];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < MM_THREADS; i++) {
            jobs[i] = (mm_job){(uint64_t)(10 * i + round), 0, AD_OK};
            cr_assert_eq(pthread_create(&th[i], NULL, mm_thread, &jobs[i]), 0);
        }
        for (int i = 0; i < MM_THREADS; i++)
            pthread_join(th[i], NULL);
        for (int i = 0; i < MM_THREADS; i++) {
            cr_assert_eq(jobs[i].status, AD_OK);
            /* float32 sums of up to 320 products of magnitude <= 1 */
            cr_assert(jobs[i].max_err < 1e-3, "thread %d: error %g", i, jobs[i].max_err);
        }
    }
    ad_set_num_threads(0);
}

/* ADTAPE_NUM_THREADS is read once per process, at the first use of the pool;
 * Criterion runs each test in a process of its own. */
static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

Test(threads, a_whole_number_in_the_environment_sets_the_default)
{
    cr_assert_eq(setenv("ADTAPE_NUM_THREADS", " 3\n", 1), 0);
    cr_assert_eq(ad_get_num_threads(), 3);
    ad_set_num_threads(1000); /* capped, not 1000 threads */
    cr_assert_eq(ad_get_num_threads(), 256);
    ad_set_num_threads(0); /* back to the default */
    cr_assert_eq(ad_get_num_threads(), 3);
}

Test(threads, a_number_with_trailing_garbage_in_the_environment_is_ignored)
{
    cr_assert_eq(setenv("ADTAPE_NUM_THREADS", "7abc", 1), 0);
    cr_assert_eq(ad_get_num_threads(), cores());
}

Test(threads, an_overflowing_number_in_the_environment_is_ignored)
{
    cr_assert_eq(setenv("ADTAPE_NUM_THREADS", "99999999999999999999", 1), 0);
    cr_assert_eq(ad_get_num_threads(), cores());
}

Test(threads, an_exponent_in_the_environment_is_ignored)
{
    cr_assert_eq(setenv("ADTAPE_NUM_THREADS", "1e3", 1), 0);
    cr_assert_eq(ad_get_num_threads(), cores());
}
