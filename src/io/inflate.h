/* SPDX-License-Identifier: MIT
 * gzip (RFC 1952) and deflate (RFC 1951) decompression of a whole file held
 * in memory, for readers of compressed data files (idx.c). Our own, so the
 * library needs no zlib at run time; the input is untrusted. */
#ifndef AD_INFLATE_H
#define AD_INFLATE_H

#include "adtape.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What ad_gunzip made of its input. */
typedef struct ad_gunzip_result {
    uint8_t *data;   /* the output, from ad_alloc; the caller frees it with ad_free */
    size_t len;      /* its length in bytes */
    bool over_limit; /* the output would pass the limit: data holds its first limit bytes */
    char msg[160];   /* when not AD_OK, the problem ("damaged gzip stream: ...") */
} ad_gunzip_result;

/* Decompresses the gzip file in[0, n): one member or several concatenated
 * (their outputs joined, as gzip -dc does), each with its header flags,
 * optional fields, header CRC, trailer CRC-32 and ISIZE checked. At most
 * limit bytes of output are ever held. Returns AD_OK with res->data and
 * res->len; AD_ERR_FORMAT when the input is not a whole, valid gzip file
 * (res->data NULL) or when it decompresses to more than limit bytes (then
 * res->over_limit is set and res->data holds the first limit bytes: a
 * reader can look at a header without inflating the rest); AD_ERR_NOMEM.
 * res->msg says what is wrong, without a function name or path; it does not
 * touch ad_last_error. */
ad_status ad_gunzip(const uint8_t *in, size_t n, size_t limit, ad_gunzip_result *res);

#endif
