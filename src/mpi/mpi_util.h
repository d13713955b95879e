/* SPDX-License-Identifier: MIT
 * Shared by the MPI module's files: the status agreement with a shape
 * signature, messages in ad_last_error, and MPI datatypes of our dtypes. */
#ifndef AD_MPI_UTIL_H
#define AD_MPI_UTIL_H

#include "adtape/mpi.h"

#include <stdint.h>

#if defined(__GNUC__)
#define AD_MPI_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define AD_MPI_PRINTF(fmt, first)
#endif

/* Sets ad_last_error to the formatted message; returns code. */
ad_status ad_mpi_fail(ad_status code, const char *fmt, ...) AD_MPI_PRINTF(2, 3);

/* ad_mpi_agree that also checks sig (a digest of what the ranks pass:
 * counts, dtypes, shapes) is the same on every rank, else AD_ERR_INVALID on
 * all, naming fn and what differs (`what`). One allreduce. */
ad_status ad_mpi_check(ad_status local, uint64_t sig, const char *fn, const char *what,
                       MPI_Comm comm);

/* A digest of the count, dtypes and shapes of params (0 for a NULL entry). */
uint64_t ad_mpi_params_sig(ad_param *const *params, size_t n);

static inline MPI_Datatype ad_mpi_type(ad_dtype dt)
{
    return dt == AD_F32 ? MPI_FLOAT : MPI_DOUBLE;
}

static inline size_t ad_mpi_dsize(ad_dtype dt)
{
    return dt == AD_F32 ? sizeof(float) : sizeof(double);
}

/* buf[0..n) of dtype dt divided by p (the mean from a sum). */
void ad_mpi_divide(void *buf, ad_dtype dt, size_t n, int p);

#endif
