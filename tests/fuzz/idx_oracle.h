/* SPDX-License-Identifier: MIT
 * The fuzzers' own verdict on an IDX file, written apart from the library's
 * reader so the two can be compared (fuzz_files.c, fuzz_gzip.c). */
#ifndef AD_FUZZ_IDX_ORACLE_H
#define AD_FUZZ_IDX_ORACLE_H

#include <stddef.h>
#include <stdint.h>

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An independent decision: is this a valid IDX file of ndim dimensions?
 * Then *total is the number of payload bytes. */
static int idx_valid(const uint8_t *b, size_t n, unsigned ndim, size_t *dims, size_t *total)
{
    size_t h = 4 + 4 * (size_t)ndim;
    if (n < h || b[0] || b[1] || b[2] != 0x08 || b[3] != ndim) return 0;
    unsigned __int128 nz = 1, all = 1;
    for (unsigned k = 0; k < ndim; k++) {
        dims[k] = be32(b + 4 + 4 * k);
        all *= dims[k];
        if (dims[k]) nz *= dims[k];
    }
    if (nz > (unsigned __int128)(SIZE_MAX / 4)) return 0;
    if (ndim == 3 && (dims[1] == 0 || dims[2] == 0)) return 0;
    if ((unsigned __int128)(n - h) != all) return 0;
    *total = (size_t)all;
    return 1;
}

#endif
