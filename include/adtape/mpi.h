/* SPDX-License-Identifier: MIT
 * adtape/mpi: data-parallel training and distributed gradients over MPI
 * (Open MPI), in the optional library libadtape_mpi (`make MPI=1`; link
 * with `pkg-config --libs adtape-mpi` and build with mpicc). This is the
 * one public header that includes more than the C library: it needs
 * <mpi.h> for MPI_Comm.
 *
 * Every call here is collective over its communicator: all ranks call it,
 * in the same order, with parameters of the same count, dtypes and shapes.
 * Errors follow the rule of adtape.h for tapeless calls, across ranks: a
 * call first agrees on a status (one small allreduce), so a failure on one
 * rank (a bad argument, memory, a NaN found by the caller) returns the
 * same code on every rank with the failing rank named in ad_last_error
 * ("ad_mpi_grads_finish: rank 1 of 2: ad_nn_train: epoch 2, batch 7: ..."),
 * instead of leaving the others waiting in a collective. MPI errors
 * themselves follow the communicator's error handler (by default MPI ends
 * the job). Use MPI from one thread (MPI_THREAD_FUNNELED is enough). */
#ifndef ADTAPE_MPI_H
#define ADTAPE_MPI_H

#include "adtape.h"
#include "adtape/nn.h"

#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How gradients from the ranks combine: their mean (each rank computed the
 * mean over its share of a batch of equal shares) or their sum (each rank
 * computed a part of a sum, or scaled its gradient by its share). */
typedef enum ad_mpi_op { AD_MPI_AVERAGE = 0, AD_MPI_SUM } ad_mpi_op;

/* The status every rank agrees on: AD_OK when local is AD_OK on all ranks,
 * else the code of the lowest failing rank, whose ad_last_error message is
 * sent to all and becomes theirs, with its rank named after the function
 * name it starts with. Call it before a collective that a failed rank would
 * skip. One allreduce of three integers when all is well. */
AD_API ad_status ad_mpi_agree(ad_status local, MPI_Comm comm);

/* Reduces the gradients of params[0..n) across the ranks in place (mean or
 * sum), one blocking allreduce per parameter. Every rank passes the same
 * count, dtypes and shapes (else AD_ERR_INVALID on all, naming the
 * mismatch). The order in which MPI adds is its own: use ad_mpi_grads with
 * deterministic set for results bit-identical from run to run. */
AD_API ad_status ad_mpi_allreduce_grads(ad_param *const *params, size_t n, MPI_Comm comm,
                                        ad_mpi_op op);
/* Copies the values of params[0..n) from rank root to all others, so every
 * rank starts from the same weights. */
AD_API ad_status ad_mpi_broadcast_params(ad_param *const *params, size_t n, int root,
                                         MPI_Comm comm);
/* Reduces n doubles across ranks in place (mean or sum): the gradient
 * buffer of a scalar function, a loss, a count. Every rank passes the same n. */
AD_API ad_status ad_mpi_allreduce_doubles(double *buf, size_t n, MPI_Comm comm, ad_mpi_op op);
/* f(x) = the sum over ranks of f_r(x): each rank records its own part f
 * (f_r, ctx its own data) at the same x with ad_gradient; the values and
 * the gradients (n doubles into grad) are summed. Returns f(x) on every
 * rank, or NaN when a rank failed (then *status, when not NULL, is the
 * agreed code and ad_last_error names the rank). */
AD_API double ad_mpi_gradient(ad_scalar_fn f, size_t n, const double *x, double *grad, void *ctx,
                              MPI_Comm comm, ad_status *status);

/* ------------------------------------------- bucketed, overlapped reduction
 * Like DDP: the gradients are packed into buckets (later parameters first,
 * the order in which a sweep finishes them) and each bucket is reduced
 * with a non-blocking collective as soon as all its gradients are final,
 * while the sweep goes on with earlier layers. Per step:
 *     ad_mpi_grads_attach(g, t, 1.0);   (after recording or before it)
 *     st = ad_backward(loss);
 *     st = ad_mpi_grads_finish(g, st);  (every rank, whatever st is)
 * attach installs a gradient-ready hook on t (ad_tape_set_grad_ready);
 * finish reduces whatever the sweep did not hand over, waits, agrees on
 * the status and only then writes the reduced gradients back. */

typedef struct ad_mpi_opts {
    ad_mpi_op op;
    size_t bucket_bytes; /* bucket size; 0: 1 MiB. A parameter larger than this is a bucket */
    /* Reduce in one fixed order: a ring (reduce-scatter, then allgather) over
     * point-to-point messages in which each element is summed by one rank,
     * in rank order starting from its chunk's owner, and copied to all. Two
     * runs with the same number of ranks give bit-identical gradients, and
     * every rank holds the same bits. Off: MPI_Iallreduce, whose order MPI
     * does not promise. */
    bool deterministic;
} ad_mpi_opts;

typedef struct ad_mpi_grads ad_mpi_grads; /* opaque */

/* A reducer for the gradients of params[0..n) (borrowed: they must outlive
 * it). Collective: it duplicates comm (its messages never mix with yours)
 * and checks that every rank passed the same parameters. opts may be NULL
 * (average, 1 MiB buckets, MPI's order). NULL on every rank when one rank
 * fails (ad_last_error names it). */
AD_API ad_mpi_grads *ad_mpi_grads_new(ad_param *const *params, size_t n, MPI_Comm comm,
                                      const ad_mpi_opts *opts);
/* Collective (it frees the duplicated communicator). NULL is allowed. */
AD_API void ad_mpi_grads_free(ad_mpi_grads *g);
/* Starts a step: the next sweep on t hands each gradient over as it becomes
 * final, multiplied by scale (the rank's weight: its share of the global
 * batch under AD_MPI_SUM; 1 for a plain mean). Local: no message. Without
 * attach, finish reduces the gradients as they stand (scale 1). Not
 * collective; AD_ERR_INVALID for a NULL g or t or a step already attached. */
AD_API ad_status ad_mpi_grads_attach(ad_mpi_grads *g, ad_tape *t, double scale);
/* Ends the step on every rank: reduces the gradients not yet handed over,
 * waits for all buckets, removes the hook, and agrees on the status with
 * local (what the sweep returned, or the caller's own verdict). AD_OK: each
 * parameter's gradient is the mean or sum over the ranks. Otherwise the
 * agreed error (the gradients stay as this rank had them). */
AD_API ad_status ad_mpi_grads_finish(ad_mpi_grads *g, ad_status local);

typedef struct ad_mpi_grads_stats {
    size_t steps;         /* finished steps */
    size_t buckets;       /* buckets per step */
    size_t bytes;         /* bytes reduced per step */
    size_t early;         /* buckets started during sweeps (not by finish), over all steps */
    double wait_seconds;  /* time blocked in finish, waiting for the reductions, over all steps */
    double hook_seconds;  /* time in the sweep's hand-overs: packing, starting, testing buckets */
    double total_seconds; /* time from each attach to the end of its finish */
} ad_mpi_grads_stats;
/* Counters since the reducer was made; zeros for NULL. */
AD_API ad_mpi_grads_stats ad_mpi_grads_stats_get(const ad_mpi_grads *g);

/* ------------------------------------------------------------- nn client
 * Data-parallel ad_nn_train and ad_lm_train: fills an ad_nn_dist (see
 * adtape/nn.h) that shards every global batch over the ranks of comm and
 * reduces through an ad_mpi_grads over the model's parameters (opts as
 * for ad_mpi_grads_new; op is set by the trainer). Collective. Free it
 * with ad_mpi_nn_dist_free (collective). */
AD_API ad_nn_dist *ad_mpi_nn_dist_new(ad_nn *m, MPI_Comm comm, const ad_mpi_opts *opts);
AD_API void ad_mpi_nn_dist_free(ad_nn_dist *d);
/* Its reducer, for ad_mpi_grads_stats_get (time waiting per step); NULL for
 * NULL. */
AD_API ad_mpi_grads *ad_mpi_nn_dist_grads(const ad_nn_dist *d);
/* ad_nn_save on rank root (atomic: a temporary file renamed), the status
 * shared by all ranks: so a checkpoint is written once, whole. */
AD_API ad_status ad_mpi_nn_save(const char *path, const ad_nn *m, const ad_opt *o, int root,
                                MPI_Comm comm);
/* ad_nn_load on rank root, the status shared, then the model's parameters
 * and the optimizer's state (when o is not NULL) broadcast from root: a
 * checkpoint written with any number of ranks resumes with any other. */
AD_API ad_status ad_mpi_nn_load(const char *path, ad_nn *m, ad_opt *o, int root, MPI_Comm comm);

#ifdef __cplusplus
}
#endif

#endif /* ADTAPE_MPI_H */
