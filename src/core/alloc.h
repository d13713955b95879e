/* SPDX-License-Identifier: MIT
 * The one path to the heap. Every allocation in the library goes through these
 * functions so a test can fail the n-th allocation (ad_debug_fail_alloc_after)
 * and count what is live. */
#ifndef AD_ALLOC_H
#define AD_ALLOC_H

#include "adtape.h" /* ad_alloc, ad_realloc, ad_free: public, for the nn client and users */

#include <stddef.h>

/* Resizes a block that needs only 16-byte alignment (record arrays), in
 * place when the allocator can (realloc). NULL on failure, p untouched. */
void *ad_grow(void *p, size_t old_size, size_t new_size);
/* a * b, or SIZE_MAX when it overflows (so the allocation then fails cleanly). */
size_t ad_mul_size(size_t a, size_t b);

#endif
