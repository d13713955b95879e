/* SPDX-License-Identifier: MIT
 * Parameter files, internal entry points: the in-memory half of
 * ad_params_load, so the file fuzzer (tests/fuzz) can feed bytes directly. */
#ifndef AD_PARAMFILE_H
#define AD_PARAMFILE_H

#include "adtape.h"

#include <stddef.h>
#include <stdint.h>

/* Format v1, all integers little-endian:
 *   u8[8] magic "ADTPARAM"   u32 version (1)   u64 count
 *   count x { u32 dtype (0 f32, 1 f64)  u32 ndim (1..4)  u64 dims[ndim]
 *             numel x (f32 | f64) data, IEEE bits little-endian }
 *   u64 meta_len   u8 meta[meta_len]
 *   u32 CRC-32 (IEEE, as zlib's crc32) of every byte before it */
#define AD_PARAMFILE_MAGIC   "ADTPARAM"
#define AD_PARAMFILE_VERSION 1u

/* Validates a whole file image buf[0..size) against params and meta_cap, and
 * only if all of it is good copies it into params, meta and *meta_len.
 * path only labels the messages (ad_last_error), which start with fn. */
ad_status ad_paramfile_parse(const uint8_t *buf, size_t size, const char *fn, const char *path,
                             ad_param *const *params, size_t n, void *meta, size_t meta_cap,
                             size_t *meta_len);
/* The same checks without parameters to match (ad_params_info): *count
 * receives the file's parameter count; meta is filled as far as meta_cap. */
ad_status ad_paramfile_parse_info(const uint8_t *buf, size_t size, const char *fn, const char *path,
                                  uint64_t *count, void *meta, size_t meta_cap, size_t *meta_len);

#endif
