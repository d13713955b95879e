/* SPDX-License-Identifier: MIT
 * Ring allreduce with a fixed order of additions. The data is cut into
 * `size` chunks. Reduce-scatter, step s = 0 .. size-2: rank r sends chunk
 * (r - s) to r + 1 and adds chunk (r - s - 1) from r - 1 into its own; after
 * it, rank r holds the whole sum of chunk r + 1, formed as
 * ((g[c] + g[c+1]) + g[c+2]) + ... for chunk c, always in that order.
 * Allgather, step s = 0 .. size-2: rank r sends chunk (r + 1 - s) and
 * receives chunk (r - s) as it is. So every element is summed once, in an
 * order fixed by the rank count, and every rank gets the same bits:
 * bandwidth 2 (p-1)/p of the data per rank, as MPI's ring. */
#include "ring.h"

#include <string.h>

static size_t chunk_lo(const ad_mpi_ring *r, int c)
{
    return r->count * (size_t)c / (size_t)r->size;
}

static int mod(int a, int p)
{
    return ((a % p) + p) % p;
}

bool ad_mpi_ring_init(ad_mpi_ring *r, size_t count, size_t dsize, int size)
{
    memset(r, 0, sizeof *r);
    size_t chunk = count / (size_t)size + 1;
    r->tmp = ad_alloc(chunk * dsize);
    return r->tmp != NULL;
}

void ad_mpi_ring_free(ad_mpi_ring *r)
{
    ad_free(r->tmp);
    r->tmp = NULL;
}

static void post(ad_mpi_ring *r)
{
    int p = r->size, me = r->rank, s = r->step;
    int right = mod(me + 1, p), left = mod(me - 1, p);
    int send, recv;
    if (s < p - 1) {
        send = mod(me - s, p);
        recv = mod(me - s - 1, p);
    } else {
        send = mod(me + 1 - (s - (p - 1)), p);
        recv = mod(me - (s - (p - 1)), p);
    }
    MPI_Datatype t = r->dtype == AD_F32 ? MPI_FLOAT : MPI_DOUBLE;
    size_t slo = chunk_lo(r, send), shi = chunk_lo(r, send + 1);
    size_t rlo = chunk_lo(r, recv), rhi = chunk_lo(r, recv + 1);
    char *into = s < p - 1 ? (char *)r->tmp : (char *)r->buf + rlo * r->dsize;
    MPI_Irecv(into, (int)(rhi - rlo), t, left, r->tag, r->comm, &r->req[0]);
    MPI_Isend((char *)r->buf + slo * r->dsize, (int)(shi - slo), t, right, r->tag, r->comm,
              &r->req[1]);
    r->posted = true;
}

/* The received partial sum of chunk c, plus this rank's own part. */
static void accumulate(ad_mpi_ring *r, int c)
{
    size_t lo = chunk_lo(r, c), n = chunk_lo(r, c + 1) - lo;
    if (r->dtype == AD_F32) {
        float *d = (float *)r->buf + lo;
        const float *in = r->tmp;
        for (size_t i = 0; i < n; i++)
            d[i] = in[i] + d[i];
    } else {
        double *d = (double *)r->buf + lo;
        const double *in = r->tmp;
        for (size_t i = 0; i < n; i++)
            d[i] = in[i] + d[i];
    }
}

void ad_mpi_ring_start(ad_mpi_ring *r, void *buf, ad_dtype dt, size_t count, int tag, int rank,
                       int size, MPI_Comm comm)
{
    r->buf = buf;
    r->dtype = dt;
    r->count = count;
    r->dsize = dt == AD_F32 ? sizeof(float) : sizeof(double);
    r->tag = tag;
    r->rank = rank;
    r->size = size;
    r->comm = comm;
    r->step = 0;
    r->posted = false;
    if (size > 1) post(r);
}

bool ad_mpi_ring_advance(ad_mpi_ring *r, bool wait)
{
    int last = 2 * (r->size - 1);
    while (r->step < last) {
        if (wait) {
            MPI_Waitall(2, r->req, MPI_STATUSES_IGNORE);
        } else {
            int flag = 0;
            MPI_Testall(2, r->req, &flag, MPI_STATUSES_IGNORE);
            if (!flag) return false;
        }
        if (r->step < r->size - 1) accumulate(r, mod(r->rank - r->step - 1, r->size));
        r->step++;
        r->posted = false;
        if (r->step < last) post(r);
    }
    return true;
}
