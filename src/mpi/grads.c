/* SPDX-License-Identifier: MIT
 * Bucketed gradient reduction overlapped with the backward sweep. Buckets
 * are launched strictly in index order (bucket k only after bucket k-1), so
 * every rank issues the same collectives in the same order whatever order
 * its sweep finishes gradients in, and finish launches the rest before it
 * agrees on a status: a rank whose sweep failed still matches the others'
 * collectives, and nobody waits forever. */
#include "adtape/mpi.h"
#include "mpi_util.h"
#include "ring.h"

#include <limits.h>
#include <string.h>

typedef struct bucket {
    ad_dtype dtype;
    size_t lo, hi;  /* params[lo..hi) */
    size_t count;   /* elements */
    size_t pending; /* params not yet packed this step */
    void *buf;
    bool launched, done;
    MPI_Request req;  /* MPI_Iallreduce */
    ad_mpi_ring ring; /* deterministic mode */
} bucket;

struct ad_mpi_grads {
    MPI_Comm comm;
    int rank, size;
    ad_mpi_opts opts;
    ad_param **params;
    size_t n;
    size_t *where;  /* params[i]'s bucket */
    size_t *offset; /* and its first element there */
    bool *packed;
    bucket *b;
    size_t nb, next; /* buckets; the next one to launch */
    size_t hint;     /* where the last handed-over parameter was found */
    ad_tape *tape;   /* attached to, or NULL */
    double scale, t_attach;
    ad_mpi_grads_stats stats;
};

static void launch(ad_mpi_grads *g, bucket *b)
{
    b->launched = true;
    if (g->opts.deterministic) {
        ad_mpi_ring_start(&b->ring, b->buf, b->dtype, b->count, (int)(b - g->b), g->rank, g->size,
                          g->comm);
    } else if (g->size > 1) {
        MPI_Iallreduce(MPI_IN_PLACE, b->buf, (int)b->count, ad_mpi_type(b->dtype), MPI_SUM, g->comm,
                       &b->req);
    } else {
        b->done = true;
    }
}

/* Drives launched buckets on: MPI moves non-blocking collectives forward
 * only inside MPI calls, so each hand-over tests them (no waiting). */
static void progress(ad_mpi_grads *g)
{
    for (size_t k = 0; k < g->next; k++) {
        bucket *b = &g->b[k];
        if (b->done) continue;
        if (g->opts.deterministic) {
            b->done = ad_mpi_ring_advance(&b->ring, false);
        } else {
            int flag = 0;
            MPI_Test(&b->req, &flag, MPI_STATUS_IGNORE);
            b->done = flag != 0;
        }
    }
}

static void pack(ad_mpi_grads *g, size_t i)
{
    bucket *b = &g->b[g->where[i]];
    ad_param *p = g->params[i];
    size_t k = ad_param_numel(p), ds = ad_mpi_dsize(b->dtype);
    void *dst = (char *)b->buf + g->offset[i] * ds;
    const void *src = ad_param_grad(p);
    if (g->scale == 1.0) {
        memcpy(dst, src, k * ds);
    } else if (b->dtype == AD_F32) {
        float s = (float)g->scale, *d = dst;
        const float *f = src;
        for (size_t j = 0; j < k; j++)
            d[j] = f[j] * s;
    } else {
        double *d = dst;
        const double *f = src;
        for (size_t j = 0; j < k; j++)
            d[j] = f[j] * g->scale;
    }
    g->packed[i] = true;
    b->pending--;
    while (g->next < g->nb && g->b[g->next].pending == 0) {
        g->stats.early += g->tape != NULL; /* finish detaches first */
        launch(g, &g->b[g->next++]);
    }
}

/* The gradient-ready hook: p is final; pack it, launch what is complete. */
static void ready(ad_param *p, void *user)
{
    ad_mpi_grads *g = user;
    size_t i = g->hint;
    /* a sweep hands parameters over in reverse list order, so the one
     * before the last is nearly always the next; else search */
    if (i >= g->n || g->params[i] != p)
        for (i = 0; i < g->n && g->params[i] != p; i++)
            ;
    if (i == g->n || g->packed[i]) return; /* not ours, or seen */
    double t0 = MPI_Wtime();
    g->hint = i ? i - 1 : 0;
    pack(g, i);
    progress(g);
    g->stats.hook_seconds += MPI_Wtime() - t0;
}

/* Buckets over the parameters from the last to the first (the order a
 * sweep finishes them); a new one when the dtype changes or the next
 * parameter would pass bucket_bytes. */
static bool plan(ad_mpi_grads *g)
{
    size_t cap = g->opts.bucket_bytes;
    g->nb = 0;
    for (size_t i = g->n; i-- > 0;) {
        ad_dtype dt = ad_param_dtype(g->params[i]);
        size_t bytes = ad_param_numel(g->params[i]) * ad_mpi_dsize(dt);
        bucket *b = g->nb ? &g->b[g->nb - 1] : NULL;
        if (!b || b->dtype != dt || (b->count * ad_mpi_dsize(dt) + bytes > cap && b->count) ||
            b->count + ad_param_numel(g->params[i]) > INT_MAX) {
            b = &g->b[g->nb++];
            memset(b, 0, sizeof *b);
            b->dtype = dt;
            b->hi = i + 1;
        }
        b->lo = i;
        g->where[i] = (size_t)(b - g->b);
        g->offset[i] = b->count;
        b->count += ad_param_numel(g->params[i]);
    }
    for (size_t k = 0; k < g->nb; k++) {
        bucket *b = &g->b[k];
        b->buf = ad_alloc(b->count * ad_mpi_dsize(b->dtype));
        if (!b->buf) return false;
        if (g->opts.deterministic &&
            !ad_mpi_ring_init(&b->ring, b->count, ad_mpi_dsize(b->dtype), g->size))
            return false;
    }
    return true;
}

ad_mpi_grads *ad_mpi_grads_new(ad_param *const *params, size_t n, MPI_Comm comm,
                               const ad_mpi_opts *opts)
{
    static const char *fn = "ad_mpi_grads_new";
    ad_status st = AD_OK;
    ad_mpi_opts o = opts ? *opts : (ad_mpi_opts){0};
    if (o.bucket_bytes == 0) o.bucket_bytes = (size_t)1 << 20;
    if (n && !params) st = ad_mpi_fail(AD_ERR_INVALID, "%s: params is NULL", fn);
    for (size_t i = 0; st == AD_OK && i < n; i++)
        if (!params[i]) st = ad_mpi_fail(AD_ERR_INVALID, "%s: parameter %zu is NULL", fn, i);
    if (o.op != AD_MPI_AVERAGE && o.op != AD_MPI_SUM)
        st = ad_mpi_fail(AD_ERR_INVALID, "%s: op %d is neither AD_MPI_AVERAGE nor AD_MPI_SUM", fn,
                         (int)o.op);
    ad_mpi_grads *g = NULL;
    if (st == AD_OK) {
        g = ad_alloc(sizeof *g);
        if (g) {
            memset(g, 0, sizeof *g);
            g->n = n;
            g->opts = o;
            g->comm = MPI_COMM_NULL;
            g->params = ad_alloc((n ? n : 1) * sizeof *g->params);
            g->where = ad_alloc((n ? n : 1) * sizeof *g->where);
            g->offset = ad_alloc((n ? n : 1) * sizeof *g->offset);
            g->packed = ad_alloc((n ? n : 1) * sizeof *g->packed);
            g->b = ad_alloc((n ? n : 1) * sizeof *g->b);
            MPI_Comm_size(comm, &g->size);
            MPI_Comm_rank(comm, &g->rank);
        }
        if (!g || !g->params || !g->where || !g->offset || !g->packed || !g->b) {
            st = ad_mpi_fail(AD_ERR_NOMEM, "%s: out of memory", fn);
        } else {
            memcpy(g->params, params, n * sizeof *params);
            if (!plan(g)) st = ad_mpi_fail(AD_ERR_NOMEM, "%s: out of memory", fn);
            /* the ring tags its messages with the bucket; MPI promises tags
             * up to 32767 */
            else if (o.deterministic && g->nb > 32767)
                st = ad_mpi_fail(AD_ERR_INVALID,
                                 "%s: %zu buckets; deterministic mode takes at most 32767 (raise "
                                 "bucket_bytes)",
                                 fn, g->nb);
        }
    }
    uint64_t sig = st == AD_OK ? ad_mpi_params_sig(params, n) ^ (uint64_t)o.deterministic : 0;
    st = ad_mpi_check(st, sig, fn, "parameters (count, dtypes or shapes) or modes", comm);
    if (st == AD_OK) {
        MPI_Comm_dup(comm, &g->comm);
        g->stats.buckets = g->nb;
        for (size_t i = 0; i < n; i++)
            g->stats.bytes += ad_param_numel(params[i]) * ad_mpi_dsize(ad_param_dtype(params[i]));
        ad_set_last_error(NULL);
        return g;
    }
    ad_mpi_grads_free(g);
    return NULL;
}

void ad_mpi_grads_free(ad_mpi_grads *g)
{
    if (!g) return;
    if (g->tape) ad_tape_set_grad_ready(g->tape, NULL, NULL);
    for (size_t k = 0; g->b && k < g->nb; k++) {
        ad_free(g->b[k].buf);
        ad_mpi_ring_free(&g->b[k].ring);
    }
    if (g->comm != MPI_COMM_NULL) MPI_Comm_free(&g->comm);
    ad_free(g->params);
    ad_free(g->where);
    ad_free(g->offset);
    ad_free(g->packed);
    ad_free(g->b);
    ad_free(g);
}

static void begin(ad_mpi_grads *g, double scale)
{
    g->scale = scale;
    g->next = 0;
    g->hint = g->n ? g->n - 1 : 0;
    g->t_attach = MPI_Wtime();
    memset(g->packed, 0, g->n * sizeof *g->packed);
    for (size_t k = 0; k < g->nb; k++) {
        g->b[k].pending = g->b[k].hi - g->b[k].lo;
        g->b[k].launched = g->b[k].done = false;
    }
}

ad_status ad_mpi_grads_attach(ad_mpi_grads *g, ad_tape *t, double scale)
{
    static const char *fn = "ad_mpi_grads_attach";
    if (!g || !t) return ad_mpi_fail(AD_ERR_INVALID, "%s: %s is NULL", fn, g ? "the tape" : "g");
    if (g->tape)
        return ad_mpi_fail(AD_ERR_INVALID, "%s: a step is attached already (finish it first)", fn);
    begin(g, scale);
    g->tape = t;
    ad_tape_set_grad_ready(t, ready, g);
    ad_set_last_error(NULL);
    return AD_OK;
}

ad_status ad_mpi_grads_finish(ad_mpi_grads *g, ad_status local)
{
    static const char *fn = "ad_mpi_grads_finish";
    if (!g) return ad_mpi_fail(AD_ERR_INVALID, "%s: g is NULL", fn);
    if (g->tape) {
        ad_tape_set_grad_ready(g->tape, NULL, NULL);
        g->tape = NULL;
    } else {
        begin(g, 1.0);
    }
    /* whatever the sweep did not hand over (unused parameters, a sweep that
     * stopped): every rank then has launched every bucket, in order */
    for (size_t i = g->n; i-- > 0;)
        if (!g->packed[i]) pack(g, i);
    double t0 = MPI_Wtime();
    for (size_t k = 0; k < g->nb; k++) {
        bucket *b = &g->b[k];
        if (b->done) continue;
        if (g->opts.deterministic)
            ad_mpi_ring_advance(&b->ring, true);
        else
            MPI_Wait(&b->req, MPI_STATUS_IGNORE);
        b->done = true;
    }
    double t1 = MPI_Wtime();
    ad_status st = ad_mpi_check(local, 0, fn, "", g->comm);
    g->stats.steps++;
    g->stats.wait_seconds += t1 - t0;
    g->stats.total_seconds += MPI_Wtime() - g->t_attach;
    if (st != AD_OK) return st;
    for (size_t i = 0; i < g->n; i++) {
        bucket *b = &g->b[g->where[i]];
        ad_param *p = g->params[i];
        size_t k = ad_param_numel(p), ds = ad_mpi_dsize(b->dtype);
        memcpy(ad_param_grad(p), (char *)b->buf + g->offset[i] * ds, k * ds);
        if (g->opts.op == AD_MPI_AVERAGE) ad_mpi_divide(ad_param_grad(p), b->dtype, k, g->size);
    }
    ad_set_last_error(NULL);
    return AD_OK;
}

ad_mpi_grads_stats ad_mpi_grads_stats_get(const ad_mpi_grads *g)
{
    return g ? g->stats : (ad_mpi_grads_stats){0};
}
