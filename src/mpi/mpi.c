/* SPDX-License-Identifier: MIT
 * The MPI module's collectives on whole buffers: the status agreement that
 * keeps a failed rank from leaving the others in a collective, parameter
 * broadcast and blocking gradient reduction, sums of plain doubles and the
 * distributed gradient of a sum of scalar functions, and checkpoints. */
#include "adtape/mpi.h"
#include "mpi_util.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { MSG_LEN = 1024 };

ad_status ad_mpi_fail(ad_status code, const char *fmt, ...)
{
    char msg[MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ad_set_last_error(msg);
    return code;
}

/* FNV-1a over 64-bit words: equal on ranks that pass the same shapes. */
static uint64_t mix(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 1099511628211u;
    }
    return h;
}

uint64_t ad_mpi_params_sig(ad_param *const *params, size_t n)
{
    uint64_t h = mix(14695981039346656037u, n);
    for (size_t i = 0; params && i < n; i++) {
        size_t dims[AD_MAX_DIMS] = {0};
        if (!params[i]) return 0;
        size_t nd = ad_param_shape(params[i], dims);
        h = mix(mix(h, (uint64_t)ad_param_dtype(params[i])), nd);
        for (size_t d = 0; d < nd; d++)
            h = mix(h, dims[d]);
    }
    return h;
}

/* The failing rank's message, with its rank put after the function name it
 * starts with ("ad_nn_train: rank 1 of 2: epoch 2, ..."), else in front. */
static void name_rank(const char *msg, int rank, int size, char *out, size_t len)
{
    size_t k = strspn(msg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    if (strncmp(msg + k, ": ", 2) != 0) k = 0;
    if (k)
        snprintf(out, len, "%.*s: rank %d of %d: %s", (int)k, msg, rank, size, msg + k + 2);
    else
        snprintf(out, len, "rank %d of %d: %s", rank, size, msg);
}

ad_status ad_mpi_check(ad_status local, uint64_t sig, const char *fn, const char *what,
                       MPI_Comm comm)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    /* min over ranks of: the first failing rank, the digest, minus the digest */
    int64_t v[3] = {local != AD_OK ? rank : size, (int64_t)(sig >> 1), -(int64_t)(sig >> 1)};
    int64_t r[3];
    MPI_Allreduce(v, r, 3, MPI_INT64_T, MPI_MIN, comm);
    if (r[0] < size) {
        int root = (int)r[0];
        struct {
            int code;
            char msg[MSG_LEN];
        } m = {(int)local, ""};
        if (rank == root) snprintf(m.msg, sizeof m.msg, "%s", ad_last_error());
        MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, root, comm);
        char out[MSG_LEN + 64];
        if (!m.msg[0])
            snprintf(m.msg, sizeof m.msg, "failed with %s", ad_status_name((ad_status)m.code));
        name_rank(m.msg, root, size, out, sizeof out);
        ad_set_last_error(out);
        return (ad_status)m.code;
    }
    if (r[1] != -r[2])
        return ad_mpi_fail(AD_ERR_INVALID, "%s: the ranks pass different %s", fn, what);
    return AD_OK;
}

ad_status ad_mpi_agree(ad_status local, MPI_Comm comm)
{
    ad_status st = ad_mpi_check(local, 0, "ad_mpi_agree", "", comm);
    if (st == AD_OK) ad_set_last_error(NULL);
    return st;
}

void ad_mpi_divide(void *buf, ad_dtype dt, size_t n, int p)
{
    if (p == 1) return;
    if (dt == AD_F32) {
        float *f = buf, d = (float)p;
        for (size_t i = 0; i < n; i++)
            f[i] /= d;
    } else {
        double *f = buf, d = (double)p;
        for (size_t i = 0; i < n; i++)
            f[i] /= d;
    }
}

/* NULL params with n > 0, a NULL entry, or a parameter too large for one
 * MPI count: a local verdict, agreed on before any collective. */
static ad_status params_ok(ad_param *const *params, size_t n, const char *fn)
{
    if (n && !params) return ad_mpi_fail(AD_ERR_INVALID, "%s: params is NULL", fn);
    for (size_t i = 0; i < n; i++) {
        if (!params[i]) return ad_mpi_fail(AD_ERR_INVALID, "%s: parameter %zu is NULL", fn, i);
        if (ad_param_numel(params[i]) > INT_MAX)
            return ad_mpi_fail(AD_ERR_INVALID,
                               "%s: parameter %zu has %zu elements, more than one MPI message "
                               "holds (%d)",
                               fn, i, ad_param_numel(params[i]), INT_MAX);
    }
    return AD_OK;
}

ad_status ad_mpi_allreduce_grads(ad_param *const *params, size_t n, MPI_Comm comm, ad_mpi_op op)
{
    static const char *fn = "ad_mpi_allreduce_grads";
    ad_status st = params_ok(params, n, fn);
    if (st == AD_OK && op != AD_MPI_AVERAGE && op != AD_MPI_SUM)
        st = ad_mpi_fail(AD_ERR_INVALID, "%s: op %d is neither AD_MPI_AVERAGE nor AD_MPI_SUM", fn,
                         (int)op);
    uint64_t sig = st == AD_OK ? ad_mpi_params_sig(params, n) : 0;
    st = ad_mpi_check(st, sig, fn, "parameters (count, dtypes or shapes)", comm);
    if (st != AD_OK) return st;
    int size;
    MPI_Comm_size(comm, &size);
    for (size_t i = 0; i < n; i++) {
        ad_dtype dt = ad_param_dtype(params[i]);
        size_t k = ad_param_numel(params[i]);
        void *g = ad_param_grad(params[i]);
        MPI_Allreduce(MPI_IN_PLACE, g, (int)k, ad_mpi_type(dt), MPI_SUM, comm);
        if (op == AD_MPI_AVERAGE) ad_mpi_divide(g, dt, k, size);
    }
    ad_set_last_error(NULL);
    return AD_OK;
}

ad_status ad_mpi_broadcast_params(ad_param *const *params, size_t n, int root, MPI_Comm comm)
{
    static const char *fn = "ad_mpi_broadcast_params";
    int size;
    MPI_Comm_size(comm, &size);
    ad_status st = params_ok(params, n, fn);
    if (st == AD_OK && (root < 0 || root >= size))
        st = ad_mpi_fail(AD_ERR_INVALID, "%s: root %d is not a rank of the %d", fn, root, size);
    uint64_t sig = st == AD_OK ? mix(ad_mpi_params_sig(params, n), (uint64_t)root) : 0;
    st = ad_mpi_check(st, sig, fn, "parameters (count, dtypes or shapes) or roots", comm);
    if (st != AD_OK) return st;
    for (size_t i = 0; i < n; i++)
        MPI_Bcast(ad_param_value(params[i]), (int)ad_param_numel(params[i]),
                  ad_mpi_type(ad_param_dtype(params[i])), root, comm);
    ad_set_last_error(NULL);
    return AD_OK;
}

ad_status ad_mpi_allreduce_doubles(double *buf, size_t n, MPI_Comm comm, ad_mpi_op op)
{
    static const char *fn = "ad_mpi_allreduce_doubles";
    ad_status st = AD_OK;
    if (n && !buf) st = ad_mpi_fail(AD_ERR_INVALID, "%s: buf is NULL", fn);
    if (n > INT_MAX)
        st = ad_mpi_fail(AD_ERR_INVALID, "%s: n = %zu is more than one MPI message holds", fn, n);
    if (op != AD_MPI_AVERAGE && op != AD_MPI_SUM)
        st = ad_mpi_fail(AD_ERR_INVALID, "%s: op %d is neither AD_MPI_AVERAGE nor AD_MPI_SUM", fn,
                         (int)op);
    st = ad_mpi_check(st, mix(0, n), fn, "lengths n", comm);
    if (st != AD_OK) return st;
    int size;
    MPI_Comm_size(comm, &size);
    MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, comm);
    if (op == AD_MPI_AVERAGE) ad_mpi_divide(buf, AD_F64, n, size);
    ad_set_last_error(NULL);
    return AD_OK;
}

double ad_mpi_gradient(ad_scalar_fn f, size_t n, const double *x, double *grad, void *ctx,
                       MPI_Comm comm, ad_status *status)
{
    static const char *fn = "ad_mpi_gradient";
    ad_status st = AD_OK;
    double v = (double)NAN;
    if (n > INT_MAX)
        st = ad_mpi_fail(AD_ERR_INVALID, "%s: n = %zu is more than one MPI message holds", fn, n);
    else
        v = ad_gradient_status(f, n, x, grad, ctx, &st);
    st = ad_mpi_check(st, mix(0, n), fn, "lengths n", comm);
    if (st == AD_OK) {
        MPI_Allreduce(MPI_IN_PLACE, grad, (int)n, MPI_DOUBLE, MPI_SUM, comm);
        MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_DOUBLE, MPI_SUM, comm);
        ad_set_last_error(NULL);
    } else {
        v = (double)NAN;
    }
    if (status) *status = st;
    return v;
}

/* ---- checkpoints: one writer, every rank told */

static ad_status root_ok(int root, MPI_Comm comm, const char *fn)
{
    int size;
    MPI_Comm_size(comm, &size);
    if (root < 0 || root >= size)
        return ad_mpi_fail(AD_ERR_INVALID, "%s: root %d is not a rank of the %d", fn, root, size);
    return AD_OK;
}

ad_status ad_mpi_nn_save(const char *path, const ad_nn *m, const ad_opt *o, int root, MPI_Comm comm)
{
    static const char *fn = "ad_mpi_nn_save";
    int rank;
    MPI_Comm_rank(comm, &rank);
    ad_status st = root_ok(root, comm, fn);
    st = ad_mpi_check(st, (uint64_t)root, fn, "roots", comm);
    if (st != AD_OK) return st;
    if (rank == root) st = ad_nn_save(path, m, o);
    st = ad_mpi_agree(st, comm);
    return st;
}

ad_status ad_mpi_nn_load(const char *path, ad_nn *m, ad_opt *o, int root, MPI_Comm comm)
{
    static const char *fn = "ad_mpi_nn_load";
    int rank;
    MPI_Comm_rank(comm, &rank);
    ad_status st = root_ok(root, comm, fn);
    if (st == AD_OK && !m) st = ad_mpi_fail(AD_ERR_INVALID, "%s: the model is NULL", fn);
    st = ad_mpi_check(st, (uint64_t)root, fn, "roots", comm);
    if (st != AD_OK) return st;
    if (rank == root) st = ad_nn_load(path, m, o);
    if ((st = ad_mpi_agree(st, comm)) != AD_OK) return st;
    size_t np, ns = 0;
    ad_param *const *ps = ad_nn_params(m, &np);
    if ((st = ad_mpi_broadcast_params(ps, np, root, comm)) != AD_OK) return st;
    if (o) {
        ad_param *const *os = ad_opt_state(o, &ns);
        if ((st = ad_mpi_broadcast_params(os, ns, root, comm)) != AD_OK) return st;
    }
    return AD_OK;
}
