/* SPDX-License-Identifier: MIT
 * The deterministic reduction: a ring reduce-scatter then allgather over
 * point-to-point messages, driven step by step without blocking, so it can
 * overlap the sweep as MPI_Iallreduce does, but with one fixed order of
 * additions per element. */
#ifndef AD_MPI_RING_H
#define AD_MPI_RING_H

#include "adtape/mpi.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct ad_mpi_ring {
    void *buf, *tmp; /* the data; a chunk's worth of incoming sums */
    ad_dtype dtype;
    size_t count, dsize;
    int tag, rank, size;
    int step; /* 0 .. 2 (size - 1); the last is done */
    bool posted;
    MPI_Request req[2];
    MPI_Comm comm;
} ad_mpi_ring;

/* Allocates the scratch chunk for count elements of dsize bytes over size
 * ranks; false when memory runs out. */
bool ad_mpi_ring_init(ad_mpi_ring *r, size_t count, size_t dsize, int size);
void ad_mpi_ring_free(ad_mpi_ring *r);
/* Starts summing buf (count elements of dtype) over the ranks of comm. */
void ad_mpi_ring_start(ad_mpi_ring *r, void *buf, ad_dtype dt, size_t count, int tag, int rank,
                       int size, MPI_Comm comm);
/* Moves the ring on as far as it can (wait: to the end); true when done. */
bool ad_mpi_ring_advance(ad_mpi_ring *r, bool wait);

#endif
