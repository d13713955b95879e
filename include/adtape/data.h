/* SPDX-License-Identifier: MIT
 * adtape data readers for the MLP client: IDX files, the format of MNIST and
 * Fashion-MNIST (big-endian header, unsigned-byte payload). Files are
 * untrusted input: magic, dimension count, sizes against the file length and
 * size overflow are all checked, and anything else is refused. */
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
 * [0,1] (b / 255). The caller frees *pixels with ad_idx_free. Regular files,
 * pipes and FIFOs are all read. On error returns AD_ERR_IO (the file cannot
 * be read), AD_ERR_FORMAT (bad magic or dtype, wrong dimension count, a
 * truncated header or payload, trailing bytes, sizes that overflow),
 * AD_ERR_NOMEM or AD_ERR_INVALID (a NULL argument); sets *pixels to NULL and
 * the counts to 0; and writes "ad_idx_read_images: <path>: <problem>" into
 * err (err_len bytes, truncated) when err is not NULL. The pixels come from
 * malloc, not from the ad_set_allocator allocator. */
AD_API ad_status ad_idx_read_images(const char *path, float **pixels, size_t *count, size_t *rows,
                                    size_t *cols, char *err, size_t err_len);
/* Reads an IDX label file (magic 0x00000801: count unsigned bytes) into
 * *labels: count int32 values 0..255, freed with ad_idx_free. Errors as for
 * ad_idx_read_images (*labels NULL, *count 0). */
AD_API ad_status ad_idx_read_labels(const char *path, int32_t **labels, size_t *count, char *err,
                                    size_t err_len);
/* Frees a buffer returned by the readers (free()); NULL is allowed. */
AD_API void ad_idx_free(void *p);

#ifdef __cplusplus
}
#endif

#endif /* ADTAPE_DATA_H */
