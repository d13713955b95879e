/* SPDX-License-Identifier: MIT
 * Heap access for the whole library: aligned allocation through the user's
 * allocator (ad_set_allocator), with counters and failure injection for tests. */
#define _DEFAULT_SOURCE /* madvise */
#include "alloc.h"

#include "adtape.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

enum { ALIGN = 64 };

enum { HUGE_PAGE = 2 << 20 };

/* Large blocks (tapes of millions of records) ask for transparent huge
 * pages: on a VM a 4 KiB page fault costs microseconds, and a 200 MB tape
 * faults 50,000 of them on its first recording. Advice only: harmless when
 * the kernel says no. */
static void advise_huge(void *p, size_t size)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (!p || size < HUGE_PAGE) return;
    uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t hi = ((uintptr_t)p + size) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)size;
#endif
}

static void *default_alloc(size_t size, void *ud)
{
    (void)ud;
    /* aligned_alloc wants a multiple of the alignment */
    size_t align = size >= HUGE_PAGE ? HUGE_PAGE : ALIGN;
    size_t rounded = (size + align - 1) / align * align;
    void *p = aligned_alloc(align, rounded ? rounded : align);
    advise_huge(p, rounded);
    return p;
}

static void default_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

/* glibc's realloc moves large blocks with mremap: no copy */
static void *default_realloc(void *p, size_t old_size, size_t new_size, void *ud)
{
    (void)ud;
    (void)old_size;
    void *q = realloc(p, new_size ? new_size : 1);
    advise_huge(q, new_size);
    return q;
}

/* The allocator is process-wide configuration, set before use; the counters
 * are atomics because tapes on different threads allocate concurrently. */
static ad_allocator current = {default_alloc, default_free, NULL, default_realloc};
static atomic_long fail_after = -1; /* -1: never fail */
static atomic_size_t n_allocs;
static atomic_size_t n_live;

void ad_set_allocator(const ad_allocator *a)
{
    if (a && a->alloc && a->free)
        current = *a;
    else
        current = (ad_allocator){default_alloc, default_free, NULL, default_realloc};
}

void ad_debug_fail_alloc_after(long n)
{
    atomic_store(&fail_after, n);
}

size_t ad_debug_alloc_count(void)
{
    return atomic_load(&n_allocs);
}

size_t ad_debug_live_allocs(void)
{
    return atomic_load(&n_live);
}

size_t ad_mul_size(size_t a, size_t b)
{
    if (a != 0 && b > SIZE_MAX / a) return SIZE_MAX;
    return a * b;
}

void *ad_alloc(size_t size)
{
    if (size > SIZE_MAX - ALIGN) return NULL;
    long budget = atomic_load(&fail_after);
    if (budget >= 0) {
        /* count down; at zero every further allocation fails */
        while (budget > 0 && !atomic_compare_exchange_weak(&fail_after, &budget, budget - 1)) {
        }
        if (budget == 0) return NULL;
    }
    void *p = current.alloc(size, current.user_data);
    if (!p) return NULL;
    if (((uintptr_t)p & (ALIGN - 1)) != 0) {
        /* a user allocator must honour the alignment contract */
        current.free(p, current.user_data);
        return NULL;
    }
    atomic_fetch_add(&n_allocs, 1);
    atomic_fetch_add(&n_live, 1);
    return p;
}

void *ad_realloc(void *p, size_t old_size, size_t new_size)
{
    void *q = ad_alloc(new_size);
    if (!q) return NULL;
    if (p) {
        memcpy(q, p, old_size < new_size ? old_size : new_size);
        ad_free(p);
    }
    return q;
}

/* The failure budget counts like ad_alloc's; a resize is one allocation. */
void *ad_grow(void *p, size_t old_size, size_t new_size)
{
    if (!p || !current.realloc) return ad_realloc(p, old_size, new_size);
    long budget = atomic_load(&fail_after);
    if (budget >= 0) {
        while (budget > 0 && !atomic_compare_exchange_weak(&fail_after, &budget, budget - 1)) {
        }
        if (budget == 0) return NULL;
    }
    void *q = current.realloc(p, old_size, new_size, current.user_data);
    if (q) atomic_fetch_add(&n_allocs, 1);
    return q;
}

void ad_free(void *p)
{
    if (!p) return;
    atomic_fetch_sub(&n_live, 1);
    current.free(p, current.user_data);
}
