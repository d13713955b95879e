/* SPDX-License-Identifier: MIT
 * A bump-pointer arena: a chain of blocks, each at least twice the last.
 * Rewinding keeps every block, and the same sequence of requests lands in
 * the same places again, so a re-recorded graph allocates nothing. */
#ifndef AD_ARENA_H
#define AD_ARENA_H

#include <stddef.h>

typedef struct ad_arena_block {
    struct ad_arena_block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
} ad_arena_block;

typedef struct ad_arena {
    ad_arena_block *first;
    ad_arena_block *cur;
    size_t reserved;    /* bytes held in all blocks */
    size_t used_before; /* bytes used in blocks before cur */
    size_t allocations; /* blocks ever allocated */
} ad_arena;

/* 64-byte aligned memory of `bytes`, or NULL when the heap says no. */
void *ad_arena_alloc(ad_arena *a, size_t bytes);

#define AD_ARENA_ALIGN 64
/* The block header, padded to AD_ARENA_ALIGN so block data stays aligned. */
#define AD_ARENA_HEADER                                                                            \
    ((sizeof(ad_arena_block) + AD_ARENA_ALIGN - 1) / AD_ARENA_ALIGN * AD_ARENA_ALIGN)

/* The common case of ad_arena_alloc, inline: when the current block has
 * room, the same memory ad_arena_alloc would return; else NULL (and nothing
 * changed: call ad_arena_alloc). */
static inline void *ad_arena_bump(ad_arena *a, size_t bytes)
{
    ad_arena_block *b = a->cur;
    size_t need = (bytes + AD_ARENA_ALIGN - 1) & ~(size_t)(AD_ARENA_ALIGN - 1);
    /* bytes - 1 wraps for 0, which ad_arena_alloc rounds up to one unit */
    if (!b || bytes - 1 >= (size_t)-1 - AD_ARENA_ALIGN || b->size - b->used < need) return NULL;
    void *p = (char *)b + AD_ARENA_HEADER + b->used;
    b->used += need;
    return p;
}

/* Where the arena stood: ad_arena_truncate(a, m) forgets everything
 * allocated after ad_arena_mark_take(a, m) and keeps the blocks, so the same
 * requests land in the same memory again (checkpoints record a tape's tail
 * and forget it). */
typedef struct ad_arena_mark {
    ad_arena_block *cur;
    size_t used, used_before;
} ad_arena_mark;
void ad_arena_mark_take(const ad_arena *a, ad_arena_mark *m);
void ad_arena_truncate(ad_arena *a, const ad_arena_mark *m);

/* Forgets all allocations, keeps the blocks. */
void ad_arena_rewind(ad_arena *a);
void ad_arena_release(ad_arena *a);
size_t ad_arena_used(const ad_arena *a);

#endif
