/* SPDX-License-Identifier: MIT
 * Allocation-failure sweep: one representative program (scalar and tensor
 * graphs, sweeps, reset and re-record, both gradient checks, drivers, a
 * parameter save and load) runs with the k-th heap allocation failing, for
 * every k until it completes. Each run must end in AD_OK or AD_ERR_NOMEM,
 * with no other error, no crash, no leak, and no damage to a saved file. */
#include "adtape/nn.h"
#include "common.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* What one run saw: the first failure (AD_OK if none) and the first status
 * that was neither AD_OK nor AD_ERR_NOMEM, with where it came from. */
typedef struct run {
    ad_status first;
    ad_status bad;
    char where[600];
} run;

static void note(run *r, ad_status s, const char *step, const char *msg)
{
    if (s == AD_OK) return;
    if (r->first == AD_OK) r->first = s;
    bool msg_ok = !msg || (strncmp(msg, "ad_", 3) == 0 && strstr(msg, "memory"));
    if ((s != AD_ERR_NOMEM || !msg_ok) && r->bad == AD_OK) {
        r->bad = s == AD_ERR_NOMEM ? AD_ERR_INVALID : s;
        snprintf(r->where, sizeof r->where, "%s: %s (%s)", step, ad_status_name(s),
                 msg ? msg : "no message");
    }
}

/* A broken promise other than a status: a wrong value, a damaged file. The
 * program runs on its own thread, where Criterion cannot assert. */
static void broken(run *r, const char *step, const char *what)
{
    if (r->bad != AD_OK) return;
    r->bad = AD_ERR_INVALID;
    snprintf(r->where, sizeof r->where, "%s: %s", step, what);
}

static void note_tape(run *r, ad_tape *t, const char *step)
{
    const char *m;
    ad_status s = ad_tape_error(t, &m);
    note(r, s, step, m);
}

/* ---- the scalar part: Rosenbrock, long enough to need a second record
 * segment (the first holds 1024 records) */

enum { NX = 8 };

static ad_scalar rosen(ad_tape *t, const ad_scalar *x, size_t n, void *ctx)
{
    size_t reps = ctx ? *(const size_t *)ctx : 1;
    ad_scalar s = ad_constant(t, 0.0);
    for (size_t r = 0; r < reps; r++)
        for (size_t i = 0; i + 1 < n; i++) {
            ad_scalar a = ad_sub(x[i + 1], ad_mul(x[i], x[i]));
            ad_scalar b = ad_rsub(1.0, x[i]);
            s = ad_add(s, ad_add(ad_scale(ad_mul(a, a), 100.0), ad_mul(b, b)));
        }
    return s;
}

static void two_outputs(ad_tape *t, const ad_scalar *x, size_t n, ad_scalar *y, size_t m, void *ctx)
{
    (void)t;
    (void)n;
    (void)m;
    (void)ctx;
    y[0] = ad_mul(ad_sin(x[0]), x[1]);
    y[1] = ad_exp(ad_add(x[0], x[1]));
}

static void scalar_part(run *r, ad_tape *t, const char *step)
{
    ad_scalar x[NX];
    for (size_t i = 0; i < NX; i++)
        x[i] = ad_variable(t, 0.1 * (double)i - 0.3);
    size_t reps = 60; /* about 60 * 7 * 7 = 2940 records: two segments */
    ad_scalar y = rosen(t, x, NX, &reps);
    note(r, ad_backward_scalar(y), step, NULL);
    note_tape(r, t, step);
    if (r->first == AD_OK && ad_grad(x[0]) == 0.0) broken(r, step, "no gradient");
}

/* ---- the tensor part: an MLP with a softmax cross-entropy loss, a matmul,
 * log_softmax, a concat of more than three inputs (its input list lives in
 * the arena) and enough nodes to grow the node array past 64 */

enum { B = 5, IN = 6, H = 8, C = 4, NPARAM = 4 };
static const int32_t labels[B] = {0, 3, 1, 2, 1};

static ad_tensor mlp_loss(ad_tape *t, ad_param *const *p, size_t n, void *ctx)
{
    (void)n;
    ad_dtype dt = ad_param_dtype(p[0]);
    ad_tensor x = ad_tensor_uniform(t, dt, 2, (size_t[]){B, IN}, -1, 1, 7);
    ad_tensor w1 = ad_param_use(t, p[0]), b1 = ad_param_use(t, p[1]);
    ad_tensor h = ad_ttanh(ad_linear(x, w1, b1));
    ad_tensor z = ad_linear(h, ad_param_use(t, p[2]), ad_param_use(t, p[3]));
    ad_tensor loss = ad_softmax_cross_entropy(z, labels, B);
    if (!ctx) return loss;                              /* the small graph, for gradcheck */
    ad_tensor m = ad_matmul(x, ad_transpose(w1, 0, 1)); /* [B,H] */
    ad_tensor cat = ad_concat((ad_tensor[]){m, h, m, h, ad_relu(m)}, 5, 1);
    ad_tensor extra = ad_mean(ad_log_softmax(cat, 1));
    for (int i = 0; i < 40; i++)
        extra = ad_tadd(extra, ad_tscale(ad_sum(h), 1e-3));
    return ad_tadd(loss, ad_tscale(extra, 0.01));
}

static void tensor_part(run *r, ad_tape *t, ad_param *const *p, const char *step)
{
    ad_tensor loss = mlp_loss(t, p, NPARAM, (void *)1);
    /* the bridges: a scalar graph on top of a tensor graph */
    ad_scalar s = ad_mul(ad_tensor_item(loss), ad_variable(t, 2.0));
    ad_tensor back = ad_stack_scalars(&s, 1, 1, (size_t[]){1});
    note(r, ad_backward(back), step, NULL);
    note_tape(r, t, step);
}

/* ---- a matmul large enough for the packed GEMM path, whose per-thread
 * packing buffer is heap memory: when it cannot be had, the product falls
 * back to the unpacked loops, and must still be right */

enum { MM = 48, MK = 64, MN = 40 };

static void matmul_part(run *r, ad_tape *t, const char *step)
{
    ad_tensor a = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){MM, MK}, -1, 1, 3);
    ad_tensor b = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){MK, MN}, -1, 1, 4);
    ad_tensor av = ad_tensor_variable(t, AD_F32, 2, (size_t[]){MM, MK}, ad_tensor_data(a));
    ad_tensor y = ad_matmul(av, b);
    note(r, ad_backward(ad_sum(y)), step, NULL);
    note_tape(r, t, step);
    if (r->first != AD_OK) return;
    const float *A = ad_tensor_data(a), *Bm = ad_tensor_data(b), *Y = ad_tensor_data(y);
    const float *gA = ad_tensor_grad(av);
    for (size_t i = 0; i < MM; i += 5)
        for (size_t j = 0; j < MN; j += 3) {
            double s = 0;
            for (size_t k = 0; k < MK; k++)
                s += (double)A[i * MK + k] * (double)Bm[k * MN + j];
            if (fabs(s - (double)Y[i * MN + j]) > 1e-4) broken(r, step, "wrong product");
        }
    for (size_t k = 0; k < MK; k++) { /* d sum(a b) / d a[i,k] = sum_j b[k,j] */
        double s = 0;
        for (size_t j = 0; j < MN; j++)
            s += (double)Bm[k * MN + j];
        if (!gA || fabs(s - (double)gA[k]) > 1e-4) broken(r, step, "wrong gradient");
    }
}

static void make_params(ad_param **p, ad_dtype dt)
{
    static const size_t shapes[NPARAM][2] = {{H, IN}, {H, 0}, {C, H}, {C, 0}};
    for (int i = 0; i < NPARAM; i++) {
        p[i] = ad_param_new(dt, shapes[i][1] ? 2 : 1, shapes[i]);
        if (p[i]) ad_param_uniform(p[i], -0.7, 0.7, (uint64_t)(20 + i));
    }
}

static bool all_made(ad_param *const *p)
{
    for (int i = 0; i < NPARAM; i++)
        if (!p[i]) return false;
    return true;
}

static void free_params(ad_param **p)
{
    for (int i = 0; i < NPARAM; i++)
        ad_param_free(p[i]);
}

/* ---- saving: the second save may fail, but the first file must survive
 * it intact, and no temporary file may be left behind */

static char dir[64];

static size_t entries_in(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return SIZE_MAX;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void save_part(run *r, ad_param *const *p, const char *path)
{
    remove(path);
    ad_status s = ad_params_save(path, p, NPARAM, "meta", 4);
    note(r, s, "first save", s ? ad_last_error() : NULL);
    bool first_saved = s == AD_OK;
    float before = ((const float *)ad_param_value(p[0]))[0];
    ((float *)ad_param_value(p[0]))[0] = before + 1.0f;
    s = ad_params_save(path, p, NPARAM, "meta", 4);
    note(r, s, "second save", s ? ad_last_error() : NULL);
    bool second_saved = s == AD_OK;
    if (entries_in(dir) != (first_saved || second_saved ? 1u : 0u))
        broken(r, "save", "a failed save left a temporary file behind");
    if (!first_saved && !second_saved) return;
    /* load into fresh zeros: the file holds the last successful save */
    ((float *)ad_param_value(p[0]))[0] = 0.0f;
    char meta[8];
    size_t meta_len = 0;
    s = ad_params_load(path, p, NPARAM, meta, sizeof meta, &meta_len);
    note(r, s, "load", s ? ad_last_error() : NULL);
    if (s == AD_OK) {
        float got = ((const float *)ad_param_value(p[0]))[0];
        if (got != (second_saved ? before + 1.0f : before) || meta_len != 4)
            broken(r, "load", "the saved file was damaged");
    }
}

/* ---- the MLP client: a model with a skip projection, an Adam step, and a
 * checkpoint saved and loaded (its scratch parameters come from the heap) */

static void nn_part(run *r, ad_tape *t, const char *path)
{
    static const ad_nn_layer_spec hidden[2] = {{5, AD_ACT_TANH, 0, false, 0, false},
                                               {4, AD_ACT_GELU, 1, true, 0, false}};
    ad_nn_spec spec = {.inputs = 3,
                       .n_hidden = 2,
                       .hidden = hidden,
                       .outputs = C,
                       .head = AD_HEAD_SOFTMAX,
                       .seed = 5};
    ad_nn *m = ad_nn_new(&spec);
    if (!m) {
        note(r, AD_ERR_NOMEM, "ad_nn_new", ad_last_error());
        return;
    }
    size_t np;
    ad_param *const *p = ad_nn_params(m, &np);
    ad_opt *o = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_ADAM}, p, np);
    if (!o) note(r, AD_ERR_NOMEM, "ad_opt_new", ad_last_error());
    if (o) {
        ad_tensor x = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){B, 3}, -1, 1, 8);
        ad_tensor loss = ad_nn_loss(m, ad_nn_forward(m, x), AD_TENSOR_NONE, labels);
        ad_backward(loss);
        note_tape(r, t, "MLP step");
        ad_opt_step(o);
        ad_opt_zero_grad(o);
        ad_status s = ad_nn_save(path, m, o);
        note(r, s, "ad_nn_save", s ? ad_last_error() : NULL);
        if (s == AD_OK) {
            s = ad_nn_load(path, m, o);
            note(r, s, "ad_nn_load", s ? ad_last_error() : NULL);
        }
        remove(path);
    }
    ad_opt_free(o);
    ad_nn_free(m);
}

/* ---- the whole program */

static run program(void)
{
    run r = {AD_OK, AD_OK, ""};
    char path[128];
    snprintf(path, sizeof path, "%s/params.adt", dir);

    ad_tape *t = ad_tape_new();
    ad_param *p64[NPARAM], *p32[NPARAM];
    make_params(p64, AD_F64);
    make_params(p32, AD_F32);
    if (!t || !all_made(p64) || !all_made(p32)) note(&r, AD_ERR_NOMEM, "setup", NULL);
    if (t) {
        matmul_part(&r, t, "packed matmul");
        scalar_part(&r, t, "scalar graph");
        if (all_made(p32)) tensor_part(&r, t, p32, "tensor graph on a scalar tape");
        /* reset, then the same recording again, float64 this time */
        ad_tape_reset(t);
        scalar_part(&r, t, "scalar graph after reset");
        if (all_made(p64)) tensor_part(&r, t, p64, "tensor graph after reset");
        /* a handle from before the next reset must still be refused cleanly */
        ad_tape_reset(t);
        note_tape(&r, t, "reset");
    }
    double x[4] = {-1.2, 1.0, 0.5, 0.3}, g[4], J[2 * 2], y[2];
    ad_status s;
    ad_gradient_status(rosen, 4, x, g, NULL, &s);
    note(&r, s, "ad_gradient", NULL);
    note(&r, ad_jacobian(two_outputs, 2, 2, x, J, y, NULL), "ad_jacobian", NULL);
    ad_gradcheck_report rep;
    s = ad_gradcheck(rosen, 4, x, NULL, NULL, &rep);
    note(&r, s, "ad_gradcheck", NULL);
    if (all_made(p64)) {
        s = ad_gradcheck_graph(mlp_loss, p64, NPARAM, NULL, NULL, &rep);
        note(&r, s, "ad_gradcheck_graph", NULL);
    }
    if (all_made(p32)) save_part(&r, p32, path);
    remove(path);
    if (t) {
        ad_tape_reset(t);
        nn_part(&r, t, path);
    }

    ad_tape_free(t);
    free_params(p64);
    free_params(p32);
    return r;
}

/* The program on a fresh thread, so that the GEMM's per-thread packing
 * buffer is allocated inside every run and freed when the thread ends. */
static void *program_thread(void *arg)
{
    *(run *)arg = program();
    return NULL;
}

static run program_on_a_thread(void)
{
    run r = {AD_OK, AD_OK, ""};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, program_thread, &r), 0);
    pthread_join(th, NULL);
    return r;
}

static void dir_setup(void)
{
    strcpy(dir, "/tmp/adtape-oom-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void dir_teardown(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/params.adt", dir);
    remove(path);
    rmdir(dir);
}

TestSuite(oom, .init = dir_setup, .fini = dir_teardown);

Test(oom, the_program_runs_clean_without_injected_failures)
{
    size_t live = ad_debug_live_allocs();
    run r = program_on_a_thread();
    cr_assert_eq(r.first, AD_OK, "%s", r.where);
    cr_assert_eq(r.bad, AD_OK, "%s", r.where);
    cr_assert_eq(ad_debug_live_allocs(), live);
}

Test(oom, failing_every_kth_allocation_ends_in_nomem_without_leaks_for_every_k)
{
    size_t live = ad_debug_live_allocs();
    size_t a0 = ad_debug_alloc_count();
    run clean = program_on_a_thread();
    size_t needed = ad_debug_alloc_count() - a0;
    cr_assert_eq(clean.first, AD_OK, "%s", clean.where);
    cr_assert_gt(needed, 20u, "the program should allocate: %zu", needed);
    size_t k = 0;
    for (;; k++) {
        ad_debug_fail_alloc_after((long)k);
        run r = program_on_a_thread();
        ad_debug_fail_alloc_after(-1);
        cr_assert_eq(r.bad, AD_OK, "k = %zu: %s", k, r.where);
        cr_assert_eq(ad_debug_live_allocs(), live, "k = %zu: %zu blocks leaked", k,
                     ad_debug_live_allocs() - live);
        if (r.first == AD_OK) break;
        cr_assert_eq(r.first, AD_ERR_NOMEM, "k = %zu", k);
    }
    /* the program is deterministic: it needs exactly as many allocations as
     * the clean run made, and every smaller budget was reported */
    cr_assert_eq(k, needed, "completed with %zu of %zu allocations", k, needed);
}
