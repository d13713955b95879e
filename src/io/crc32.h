/* SPDX-License-Identifier: MIT
 * CRC-32 as zlib computes it, for the parameter-file checksum. */
#ifndef AD_CRC32_H
#define AD_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32 (reflected polynomial 0xEDB88320, init and final xor ~0) of buf,
 * continued from crc (start with 0), as zlib's crc32(crc, buf, n). */
uint32_t ad_crc32(uint32_t crc, const void *buf, size_t n);

#endif
