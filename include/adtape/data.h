/* SPDX-License-Identifier: MIT
 * adtape data readers for the MLP client: IDX files, the format of MNIST and
 * Fashion-MNIST (big-endian header, unsigned-byte payload), plain or
 * gzip-compressed. Files are untrusted input: magic, dimension count, sizes
 * against the file length, size overflow and every part of a gzip stream are
 * checked, and anything else is refused. */
#ifndef ADTAPE_DATA_H
#define ADTAPE_DATA_H

#include "adtape.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads an IDX image file (magic 0x00000803: count x rows x cols unsigned
 * bytes) into *pixels: count*rows*cols floats, row-major, each byte scaled to
 * [0,1] (b / 255). *pixels comes from the library's allocator (see
 * ad_set_allocator) and belongs to the caller, who frees it with ad_free.
 * Regular files, pipes and FIFOs are all read. A file that starts with the
 * gzip magic (1f 8b), whatever its name, is decompressed as it is read (the
 * library's own inflater, no zlib): the IDX file inside may hold at most
 * 1 GiB, and the decompression never goes past the size its header
 * declares. On error returns AD_ERR_IO (the file cannot be read),
 * AD_ERR_FORMAT (bad magic or dtype, wrong dimension count, a truncated
 * header or payload, trailing bytes, sizes that overflow, a damaged gzip
 * stream: "damaged gzip stream: <what>"), AD_ERR_NOMEM or AD_ERR_INVALID (a
 * NULL argument); sets *pixels
 * to NULL and the counts to 0; and leaves "ad_idx_read_images: <path>:
 * <problem>" in ad_last_error() (the rule of the errors section of adtape.h;
 * "" on success). */
AD_API ad_status ad_idx_read_images(const char *path, float **pixels, size_t *count, size_t *rows,
                                    size_t *cols);
/* Reads an IDX label file (magic 0x00000801: count unsigned bytes) into
 * *labels: count int32 values 0..255, the caller's to free with ad_free.
 * Errors as for ad_idx_read_images (*labels NULL, *count 0). */
AD_API ad_status ad_idx_read_labels(const char *path, int32_t **labels, size_t *count);

#ifdef __cplusplus
}
#endif

#endif /* ADTAPE_DATA_H */
