/* SPDX-License-Identifier: MIT
 * Parameters: heap-owned value and gradient buffers that outlive tapes. */
#include "tape.h"

#include "alloc.h"

#include <string.h>

ad_param *ad_param_new(ad_dtype dt, size_t ndim, const size_t *dims)
{
    if ((dt != AD_F32 && dt != AD_F64) || ndim < 1 || ndim > AD_MAX_DIMS || !dims) return NULL;
    size_t n = 1;
    for (size_t i = 0; i < ndim; i++)
        n = ad_mul_size(n, dims[i]);
    size_t bytes = ad_mul_size(n, ad_dtype_size(dt));
    if (bytes == SIZE_MAX) return NULL;
    ad_param *p = ad_alloc(sizeof *p);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->value = ad_alloc(bytes);
    p->grad = ad_alloc(bytes);
    if (!p->value || !p->grad) {
        ad_param_free(p);
        return NULL;
    }
    memset(p->value, 0, bytes);
    memset(p->grad, 0, bytes);
    p->dtype = (uint8_t)dt;
    p->ndim = (uint8_t)ndim;
    memcpy(p->dims, dims, ndim * sizeof *dims);
    p->numel = n;
    return p;
}

void ad_param_free(ad_param *p)
{
    if (!p) return;
    ad_free(p->value);
    ad_free(p->grad);
    ad_free(p);
}

ad_dtype ad_param_dtype(const ad_param *p)
{
    return p ? (ad_dtype)p->dtype : AD_F32;
}

size_t ad_param_shape(const ad_param *p, size_t *dims)
{
    if (!p) return 0;
    if (dims) memcpy(dims, p->dims, p->ndim * sizeof *dims);
    return p->ndim;
}

size_t ad_param_numel(const ad_param *p)
{
    return p ? p->numel : 0;
}

void *ad_param_value(ad_param *p)
{
    return p ? p->value : NULL;
}

void *ad_param_grad(ad_param *p)
{
    return p ? p->grad : NULL;
}

void ad_param_zero_grad(ad_param *p)
{
    if (p) memset(p->grad, 0, p->numel * ad_dtype_size((ad_dtype)p->dtype));
}

void ad_param_uniform(ad_param *p, double lo, double hi, uint64_t seed)
{
    if (p) ad_fill_uniform(p->value, (ad_dtype)p->dtype, p->numel, lo, hi, seed);
}

void ad_param_normal(ad_param *p, double mean, double std, uint64_t seed)
{
    if (p) ad_fill_normal(p->value, (ad_dtype)p->dtype, p->numel, mean, std, seed);
}
