/* SPDX-License-Identifier: MIT
 * Bump allocation over a chain of doubling blocks (see arena.h). */
#include "arena.h"

#include "alloc.h"

#include <stdint.h>

enum { ALIGN = AD_ARENA_ALIGN, FIRST_BLOCK = 64 * 1024 };

#define HEADER AD_ARENA_HEADER

static size_t round_up(size_t n)
{
    return (n + ALIGN - 1) / ALIGN * ALIGN;
}

static ad_arena_block *new_block(ad_arena *a, size_t need)
{
    size_t size = FIRST_BLOCK;
    if (a->cur && a->cur->size <= SIZE_MAX / 2) size = 2 * a->cur->size;
    while (size < need && size <= SIZE_MAX / 2)
        size *= 2;
    if (size < need || size > SIZE_MAX - HEADER) return NULL;
    ad_arena_block *b = ad_alloc(HEADER + size);
    if (!b) return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    a->reserved += size;
    a->allocations++;
    return b;
}

void *ad_arena_alloc(ad_arena *a, size_t bytes)
{
    if (bytes > SIZE_MAX - ALIGN) return NULL;
    size_t need = round_up(bytes ? bytes : 1);
    /* walk forward through kept blocks first: after a rewind the same
     * requests find the same blocks */
    while (a->cur && a->cur->size - a->cur->used < need && a->cur->next) {
        a->used_before += a->cur->used;
        a->cur = a->cur->next;
        a->cur->used = 0;
    }
    if (!a->cur || a->cur->size - a->cur->used < need) {
        ad_arena_block *b = new_block(a, need);
        if (!b) return NULL;
        if (a->cur) {
            a->used_before += a->cur->used;
            /* splice in after cur so later kept blocks are not lost */
            b->next = a->cur->next;
            a->cur->next = b;
        } else {
            a->first = b;
        }
        a->cur = b;
    }
    void *p = (char *)a->cur + HEADER + a->cur->used;
    a->cur->used += need;
    return p;
}

void ad_arena_rewind(ad_arena *a)
{
    a->cur = a->first;
    if (a->cur) a->cur->used = 0;
    a->used_before = 0;
}

void ad_arena_mark_take(const ad_arena *a, ad_arena_mark *m)
{
    m->cur = a->cur;
    m->used = a->cur ? a->cur->used : 0;
    m->used_before = a->used_before;
}

/* Blocks after the mark's keep a stale `used`: ad_arena_alloc zeroes it when
 * it walks into them. An arena that had no block at the mark starts over
 * at its first. */
void ad_arena_truncate(ad_arena *a, const ad_arena_mark *m)
{
    if (!m->cur) {
        ad_arena_rewind(a);
        return;
    }
    a->cur = m->cur;
    a->cur->used = m->used;
    a->used_before = m->used_before;
}

void ad_arena_release(ad_arena *a)
{
    ad_arena_block *b = a->first;
    while (b) {
        ad_arena_block *n = b->next;
        ad_free(b);
        b = n;
    }
    *a = (ad_arena){0};
}

size_t ad_arena_used(const ad_arena *a)
{
    return a->cur ? a->used_before + a->cur->used : 0;
}
