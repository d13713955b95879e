/* SPDX-License-Identifier: MIT
 * The nn client's data-parallel hooks (ad_nn_dist) over an MPI
 * communicator: each step's gradients go through an ad_mpi_grads reducer
 * (bucketed, overlapped with the sweep), weighted by the rank's share of
 * the batch and summed; the epoch's sums and every agreement are small
 * allreduces on a communicator of the module's own. */
#include "adtape/mpi.h"
#include "mpi_util.h"

#include <limits.h>
#include <string.h>

typedef struct dist {
    ad_nn_dist d; /* first: the handle users hold is &dist->d */
    ad_mpi_grads *g;
    MPI_Comm comm;
} dist;

static ad_status step_begin(void *ctx, ad_tape *t, double weight)
{
    return ad_mpi_grads_attach(((dist *)ctx)->g, t, weight);
}

static ad_status step_end(void *ctx, ad_status local)
{
    return ad_mpi_grads_finish(((dist *)ctx)->g, local);
}

/* Summed on rank 0 and sent to all: every rank gets the same bits, so the
 * decisions taken from them (Levenberg-Marquardt's accept or reject) are
 * the same everywhere and the ranks never drift into different
 * collectives. */
static ad_status sum(void *ctx, double *buf, size_t n, ad_status local)
{
    dist *D = ctx;
    if (local == AD_OK && n > INT_MAX)
        local = ad_mpi_fail(AD_ERR_INVALID,
                            "ad_nn_dist: %zu numbers to sum, more than one MPI "
                            "message holds",
                            n);
    ad_status st = ad_mpi_agree(local, D->comm);
    if (st != AD_OK || !n) return st;
    if (D->d.rank == 0)
        MPI_Reduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, 0, D->comm);
    else
        MPI_Reduce(buf, NULL, (int)n, MPI_DOUBLE, MPI_SUM, 0, D->comm);
    MPI_Bcast(buf, (int)n, MPI_DOUBLE, 0, D->comm);
    return AD_OK;
}

ad_nn_dist *ad_mpi_nn_dist_new(ad_nn *m, MPI_Comm comm, const ad_mpi_opts *opts)
{
    static const char *fn = "ad_mpi_nn_dist_new";
    ad_status st = AD_OK;
    if (!m) st = ad_mpi_fail(AD_ERR_INVALID, "%s: the model is NULL", fn);
    dist *D = st == AD_OK ? ad_alloc(sizeof *D) : NULL;
    if (st == AD_OK && !D) st = ad_mpi_fail(AD_ERR_NOMEM, "%s: out of memory", fn);
    if ((st = ad_mpi_agree(st, comm)) != AD_OK) {
        ad_free(D);
        return NULL;
    }
    memset(D, 0, sizeof *D);
    ad_mpi_opts o = opts ? *opts : (ad_mpi_opts){0};
    o.op = AD_MPI_SUM; /* the trainer weighs each rank's share */
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    D->g = ad_mpi_grads_new(ps, np, comm, &o);
    if (!D->g) { /* NULL on every rank, so this is collective too */
        ad_free(D);
        return NULL;
    }
    int rank, size;
    MPI_Comm_dup(comm, &D->comm);
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    D->d = (ad_nn_dist){(size_t)rank, (size_t)size, D, step_begin, step_end, sum};
    ad_set_last_error(NULL);
    return &D->d;
}

void ad_mpi_nn_dist_free(ad_nn_dist *d)
{
    if (!d) return;
    dist *D = d->ctx;
    ad_mpi_grads_free(D->g);
    MPI_Comm_free(&D->comm);
    ad_free(D);
}

ad_mpi_grads *ad_mpi_nn_dist_grads(const ad_nn_dist *d)
{
    return d ? ((const dist *)d->ctx)->g : NULL;
}
