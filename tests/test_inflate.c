/* SPDX-License-Identifier: MIT
 * The gzip reader (src/io/inflate.c): round trips against the system's gzip
 * (an Essential package on Debian, so these never skip: a missing gzip fails
 * them), hand-made streams for what gzip does not write (stored blocks,
 * fixed codes, a distance of 32768, every header flag) and one test per kind
 * of damage, each with its code and message. */
#include "adtape.h"
#include "io/crc32.h"
#include "io/inflate.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ASSERT_MSG(msg, needle)                                                                    \
    cr_assert(strstr((msg), (needle)) != NULL, "message \"%s\" lacks \"%s\"", (msg), (needle))

/* ---- a bit writer for hand-made deflate streams */

typedef struct bw {
    uint8_t *b;
    size_t len, cap;
    uint32_t acc;
    unsigned n;
} bw;

static void bw_byte(bw *w, uint8_t v)
{
    if (w->len == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 256;
        w->b = realloc(w->b, w->cap);
        cr_assert_not_null(w->b);
    }
    w->b[w->len++] = v;
}

/* n bits of v, lowest first (header fields and extra bits) */
static void put(bw *w, uint32_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        w->acc |= ((v >> i) & 1u) << w->n;
        if (++w->n == 8) {
            bw_byte(w, (uint8_t)w->acc);
            w->acc = 0;
            w->n = 0;
        }
    }
}

/* a Huffman code of len bits, highest first */
static void put_code(bw *w, uint32_t code, unsigned len)
{
    for (unsigned i = len; i-- > 0;)
        put(w, (code >> i) & 1u, 1);
}

static void flush(bw *w)
{
    if (w->n) put(w, 0, 8 - w->n);
}

static void bytes(bw *w, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bw_byte(w, ((const uint8_t *)p)[i]);
}

/* the fixed code of RFC 1951 3.2.6 for a literal/length symbol */
static void fixed_sym(bw *w, unsigned sym)
{
    if (sym < 144)
        put_code(w, 0x30 + sym, 8);
    else if (sym < 256)
        put_code(w, 0x190 + sym - 144, 9);
    else if (sym < 280)
        put_code(w, sym - 256, 7);
    else
        put_code(w, 0xc0 + sym - 280, 8);
}

/* a length-258 match (symbol 285) at distance dist, in a fixed block */
static void fixed_match258(bw *w, unsigned dist)
{
    static const unsigned base[30] = {
        1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
        193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    static const unsigned extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    fixed_sym(w, 285);
    unsigned d = 29;
    while (base[d] > dist)
        d--;
    put_code(w, d, 5);
    put(w, dist - base[d], extra[d]);
}

static void stored_block(bw *w, bool last, const void *p, uint16_t n)
{
    put(w, last, 1);
    put(w, 0, 2);
    flush(w);
    uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)~n, (uint8_t)(~n >> 8)};
    bytes(w, h, 4);
    bytes(w, p, n);
}

static void gz_header(bw *w)
{
    bytes(w, (uint8_t[]){0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, 10);
}

/* the trailer for data[0, n) */
static void gz_trailer(bw *w, const uint8_t *data, size_t n)
{
    flush(w);
    uint32_t c = ad_crc32(0, data, n), s = (uint32_t)n;
    for (int i = 0; i < 4; i++)
        bw_byte(w, (uint8_t)(c >> (8 * i)));
    for (int i = 0; i < 4; i++)
        bw_byte(w, (uint8_t)(s >> (8 * i)));
}

/* ---- running ad_gunzip */

static void expect_output(const uint8_t *in, size_t n, const uint8_t *want, size_t want_len)
{
    ad_gunzip_result r;
    ad_status s = ad_gunzip(in, n, SIZE_MAX, &r);
    cr_assert_eq(s, AD_OK, "%s: %s", ad_status_name(s), r.msg);
    cr_assert_eq(r.len, want_len);
    cr_assert_not_null(r.data);
    cr_assert(want_len == 0 || memcmp(r.data, want, want_len) == 0, "the output differs");
    cr_assert_str_empty(r.msg);
    cr_assert(!r.over_limit);
    ad_free(r.data);
}

static void expect_damage(const uint8_t *in, size_t n, const char *needle)
{
    ad_gunzip_result r;
    ad_status s = ad_gunzip(in, n, SIZE_MAX, &r);
    cr_assert_eq(s, AD_ERR_FORMAT, "got %s (%s)", ad_status_name(s), r.msg);
    cr_assert_null(r.data);
    cr_assert(!r.over_limit);
    cr_assert(strncmp(r.msg, "damaged gzip stream: ", 21) == 0, "%s", r.msg);
    ASSERT_MSG(r.msg, needle);
}

/* ---- the system's gzip */

static char dir[64];

static void dir_setup(void)
{
    strcpy(dir, "/tmp/adtape-gz-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void dir_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(inflate, .init = dir_setup, .fini = dir_teardown);

/* data[0, n) compressed by `gzip opts`: the file's bytes, malloc'd */
static uint8_t *gzip_of(const uint8_t *data, size_t n, const char *opts, size_t *len)
{
    char path[128], cmd[512];
    snprintf(path, sizeof path, "%s/data", dir);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "gzip %s -c '%s' > '%s.gz'", opts, path, path);
    cr_assert_eq(system(cmd), 0, "`%s` failed: gzip (Debian: Essential) must be installed", cmd);
    snprintf(cmd, sizeof cmd, "%s.gz", path);
    f = fopen(cmd, "rb");
    cr_assert_not_null(f);
    size_t cap = n + n / 8 + 1024;
    uint8_t *b = malloc(cap);
    *len = fread(b, 1, cap, f);
    cr_assert(*len<cap && * len> 18);
    fclose(f);
    return b;
}

/* n bytes that deflate uses all its tools on: runs, repeats near and far,
 * and incompressible stretches. */
static uint8_t *mixed_data(size_t n, uint32_t seed)
{
    uint8_t *b = malloc(n ? n : 1);
    uint32_t x = seed;
    for (size_t i = 0; i < n;) {
        x = x * 1664525u + 1013904223u;
        size_t run = 1 + (x >> 8) % 300;
        unsigned kind = x >> 29;
        for (size_t k = 0; k < run && i < n; k++, i++) {
            if (kind < 3) { /* noise */
                x = x * 1664525u + 1013904223u;
                b[i] = (uint8_t)(x >> 24);
            } else if (kind < 5) { /* a run of one byte */
                b[i] = (uint8_t)(x >> 16);
            } else { /* a copy from up to 40000 bytes back */
                size_t d = 1 + (x >> 3) % 40000;
                b[i] = i >= d ? b[i - d] : (uint8_t)k;
            }
        }
    }
    return b;
}

Test(inflate, reads_what_gzip_writes_at_levels_1_6_and_9_with_and_without_a_name)
{
    size_t n = 3 << 20, zn;
    uint8_t *data = mixed_data(n, 42);
    static const char *const opts[] = {"-1", "-6", "-9", "-9 -n", "-6 -N"};
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
        uint8_t *z = gzip_of(data, n, opts[i], &zn);
        bool named = strstr(opts[i], "-n") == NULL;
        cr_assert_eq((z[3] & 8) != 0, named, "gzip %s: FNAME flag", opts[i]);
        expect_output(z, zn, data, n);
        free(z);
    }
    free(data);
}

Test(inflate, reads_small_and_empty_files_from_gzip)
{
    size_t zn;
    uint8_t *z = gzip_of((const uint8_t *)"", 0, "-9", &zn);
    expect_output(z, zn, NULL, 0);
    free(z);
    z = gzip_of((const uint8_t *)"a", 1, "-1", &zn);
    expect_output(z, zn, (const uint8_t *)"a", 1);
    free(z);
}

Test(inflate, joins_concatenated_members_as_gzip_does)
{
    size_t an, bn;
    uint8_t *a = gzip_of((const uint8_t *)"hello, ", 7, "-6", &an);
    uint8_t *b = gzip_of((const uint8_t *)"world", 5, "-6", &bn);
    uint8_t *both = malloc(an + bn);
    memcpy(both, a, an);
    memcpy(both + an, b, bn);
    expect_output(both, an + bn, (const uint8_t *)"hello, world", 12);
    free(a), free(b), free(both);
}

/* ---- hand-made streams */

Test(inflate, reads_stored_fixed_and_multi_block_streams)
{
    bw w = {0};
    gz_header(&w);
    stored_block(&w, true, "stored", 6);
    gz_trailer(&w, (const uint8_t *)"stored", 6);
    expect_output(w.b, w.len, (const uint8_t *)"stored", 6);

    /* three blocks: stored, fixed with a match into the stored bytes, and an
     * empty final stored block */
    w.len = 0;
    gz_header(&w);
    stored_block(&w, false, "abc", 3);
    put(&w, 0, 1);
    put(&w, 1, 2);
    fixed_sym(&w, 'x');
    fixed_sym(&w, 257); /* length 3 */
    put_code(&w, 3, 5); /* distance 4 */
    fixed_sym(&w, 256);
    stored_block(&w, true, "", 0);
    gz_trailer(&w, (const uint8_t *)"abcxabc", 7);
    expect_output(w.b, w.len, (const uint8_t *)"abcxabc", 7);
    free(w.b);
}

Test(inflate, copies_from_the_full_32768_byte_window)
{
    size_t n = 32768 + 258;
    uint8_t *want = malloc(n);
    for (size_t i = 0; i < 32768; i++)
        want[i] = (uint8_t)(i * 31 + (i >> 9));
    memcpy(want + 32768, want, 258);
    bw w = {0};
    gz_header(&w);
    stored_block(&w, false, want, 32768);
    put(&w, 1, 1);
    put(&w, 1, 2);
    fixed_match258(&w, 32768);
    fixed_sym(&w, 256);
    gz_trailer(&w, want, n);
    expect_output(w.b, w.len, want, n);
    free(w.b);
    free(want);
}

Test(inflate, handles_every_header_flag)
{
    bw w = {0};
    /* FTEXT, FHCRC, FEXTRA (6 bytes), FNAME, FCOMMENT */
    bytes(&w, (uint8_t[]){0x1f, 0x8b, 8, 0x1f, 1, 2, 3, 4, 0, 3}, 10);
    bytes(&w, (uint8_t[]){6, 0, 'A', 'B', 2, 0, 'x', 'y'}, 8);
    bytes(&w, "name.idx", 9);
    bytes(&w, "a comment", 10);
    uint32_t hc = ad_crc32(0, w.b, w.len);
    bytes(&w, (uint8_t[]){(uint8_t)hc, (uint8_t)(hc >> 8)}, 2);
    stored_block(&w, true, "flags", 5);
    gz_trailer(&w, (const uint8_t *)"flags", 5);
    expect_output(w.b, w.len, (const uint8_t *)"flags", 5);
    w.b[w.len - 20] ^= 1; /* the header CRC, before 10 bytes of block and 8 of trailer */
    expect_damage(w.b, w.len, "header CRC");
    free(w.b);
}

/* ---- damage */

Test(inflate, refuses_bad_magic_method_flags_and_block_type)
{
    bw w = {0};
    gz_header(&w);
    stored_block(&w, true, "x", 1);
    gz_trailer(&w, (const uint8_t *)"x", 1);
    expect_damage(w.b, 0, "not a gzip file");
    expect_damage(w.b, 5, "truncated gzip header");
    w.b[1] = 0x8c;
    expect_damage(w.b, w.len, "not a gzip file");
    w.b[1] = 0x8b;
    w.b[2] = 7;
    expect_damage(w.b, w.len, "compression method 7 is not deflate (8)");
    w.b[2] = 8;
    w.b[3] = 0x40;
    expect_damage(w.b, w.len, "reserved header flags 0x40 are set");
    w.b[3] = 0;
    w.b[10] = 7; /* final, type 3 */
    expect_damage(w.b, w.len, "block type 3 is reserved");
    free(w.b);
}

Test(inflate, refuses_a_wrong_crc_or_length_and_trailing_garbage)
{
    size_t zn;
    const uint8_t *text = (const uint8_t *)"a line of text, a line of text, a line of text\n";
    uint8_t *z = gzip_of(text, strlen((const char *)text), "-9", &zn);
    z = realloc(z, zn + 3);
    z[zn - 8] ^= 0x10;
    expect_damage(z, zn, "CRC-32 0x");
    expect_damage(z, zn, "of the data does not match the trailer's");
    z[zn - 8] ^= 0x10;
    z[zn - 4]++;
    expect_damage(z, zn, "47 bytes of data, but the trailer says 48 (modulo 2^32)");
    z[zn - 4]--;
    memcpy(z + zn, "abc", 3);
    expect_damage(z, zn + 3, "3 bytes of trailing garbage after the gzip data");
    z[zn] = 0x1f;
    z[zn + 1] = 0x8b;
    expect_damage(z, zn + 3, "truncated gzip header"); /* a second member, cut */
    free(z);
}

Test(inflate, refuses_every_truncation)
{
    size_t n = 20000, zn;
    uint8_t *data = mixed_data(n, 7);
    uint8_t *z = gzip_of(data, n, "-6", &zn);
    for (size_t k = 1; k < zn; k++) {
        ad_gunzip_result r;
        cr_assert_eq(ad_gunzip(z, k, SIZE_MAX, &r), AD_ERR_FORMAT, "cut at %zu", k);
        cr_assert_null(r.data);
        ASSERT_MSG(r.msg, "truncated");
    }
    expect_damage(z, zn - 4, "truncated gzip trailer");
    expect_damage(z, 30, "truncated in the middle of a deflate block");
    free(z);
    free(data);
}

Test(inflate, refuses_a_distance_before_the_start_of_the_output)
{
    bw w = {0};
    gz_header(&w);
    stored_block(&w, false, "0123456789", 10);
    put(&w, 1, 1);
    put(&w, 1, 2);
    fixed_match258(&w, 11);
    fixed_sym(&w, 256);
    gz_trailer(&w, (const uint8_t *)"", 0);
    expect_damage(w.b, w.len, "distance 11 reaches before the start of the output");
    free(w.b);
}

Test(inflate, a_second_member_cannot_reach_into_the_first)
{
    bw w = {0};
    gz_header(&w);
    stored_block(&w, true, "first", 5);
    gz_trailer(&w, (const uint8_t *)"first", 5);
    gz_header(&w);
    put(&w, 1, 1);
    put(&w, 1, 2);
    fixed_match258(&w, 1);
    fixed_sym(&w, 256);
    gz_trailer(&w, (const uint8_t *)"", 0);
    expect_damage(w.b, w.len, "distance 1 reaches before the start of the output");
    free(w.b);
}

Test(inflate, refuses_a_stored_length_that_does_not_match_its_complement)
{
    bw w = {0};
    gz_header(&w);
    stored_block(&w, true, "x", 1);
    gz_trailer(&w, (const uint8_t *)"x", 1);
    w.b[13] = 0;
    expect_damage(w.b, w.len, "stored block length 1 does not match its complement 65280");
    free(w.b);
}

Test(inflate, refuses_invalid_fixed_length_and_distance_symbols)
{
    bw w = {0};
    gz_header(&w);
    put(&w, 1, 1);
    put(&w, 1, 2);
    fixed_sym(&w, 286);
    put(&w, 0, 32);
    expect_damage(w.b, w.len, "invalid length symbol 286");
    w.len = 0, w.n = 0, w.acc = 0;
    gz_header(&w);
    put(&w, 1, 1);
    put(&w, 1, 2);
    fixed_sym(&w, 'a');
    fixed_sym(&w, 257);
    put_code(&w, 30, 5);
    put(&w, 0, 32);
    expect_damage(w.b, w.len, "invalid distance symbol 30");
    free(w.b);
}

/* A dynamic block's header: HLIT, HDIST, and the code-length code given by
 * its lengths in symbol order (0..18). */
static void dyn_header(bw *w, unsigned nlit, unsigned ndist, const uint8_t clen[19])
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                      11, 4,  12, 3, 13, 2, 14, 1, 15};
    put(w, 1, 1);
    put(w, 2, 2);
    put(w, nlit - 257, 5);
    put(w, ndist - 1, 5);
    put(w, 19 - 4, 4);
    for (int i = 0; i < 19; i++)
        put(w, clen[order[i]], 3);
}

Test(inflate, refuses_bad_code_length_codes)
{
    bw w = {0};
    uint8_t all1[19];
    memset(all1, 1, sizeof all1);
    gz_header(&w);
    dyn_header(&w, 257, 1, all1);
    put(&w, 0, 32);
    expect_damage(w.b, w.len, "the code-length code is over-subscribed");
    w.len = 0, w.n = 0, w.acc = 0;
    gz_header(&w);
    dyn_header(&w, 257, 1, (uint8_t[19]){[3] = 2});
    put(&w, 0, 32);
    expect_damage(w.b, w.len, "the code-length code is incomplete");
    w.len = 0, w.n = 0, w.acc = 0;
    gz_header(&w);
    put(&w, 1, 1);
    put(&w, 2, 2);
    put(&w, 30, 5); /* 287 literal/length codes */
    for (int i = 0; i < 3; i++)
        put(&w, 0, 32);
    expect_damage(w.b, w.len, "287 literal/length codes (at most 286)");
    free(w.b);
}

/* The code-length code {1: 00, 2: 01, 17: 10, 18: 11} (complete). */
static const uint8_t clen_1_2_17_18[19] = {[1] = 2, [2] = 2, [17] = 2, [18] = 2};

static void zeros(bw *w, unsigned k) /* k in 11..138 */
{
    put_code(w, 3, 2);
    put(w, k - 11, 7);
}

Test(inflate, refuses_bad_literal_and_distance_codes)
{
    bw w = {0};
    /* 257 literal/length codes of 1 bit: over-subscribed */
    gz_header(&w);
    dyn_header(&w, 257, 1, clen_1_2_17_18);
    for (int i = 0; i < 258; i++)
        put_code(&w, 0, 2);
    put(&w, 0, 32);
    expect_damage(w.b, w.len, "the literal/length code is over-subscribed");
    /* two codes of 2 bits (0 and 256): incomplete */
    w.len = 0, w.n = 0, w.acc = 0;
    gz_header(&w);
    dyn_header(&w, 257, 1, clen_1_2_17_18);
    put_code(&w, 1, 2);
    zeros(&w, 138);
    zeros(&w, 117);
    put_code(&w, 1, 2);
    put_code(&w, 0, 2);
    put(&w, 0, 32);
    expect_damage(w.b, w.len, "the literal/length code is incomplete");
    /* no length for symbol 256 */
    w.len = 0, w.n = 0, w.acc = 0;
    gz_header(&w);
    dyn_header(&w, 257, 1, clen_1_2_17_18);
    put_code(&w, 0, 2);
    put_code(&w, 0, 2);
    zeros(&w, 138);
    zeros(&w, 117);
    put_code(&w, 0, 2);
    put(&w, 0, 32);
    expect_damage(w.b, w.len, "a block without an end-of-block code");
    /* a repeat (16) with nothing before it */
    w.len = 0, w.n = 0, w.acc = 0;
    gz_header(&w);
    dyn_header(&w, 257, 1, (uint8_t[19]){[16] = 1, [18] = 1});
    put_code(&w, 0, 1);
    put(&w, 0, 32);
    expect_damage(w.b, w.len, "a repeat of the previous code length with none before it");
    /* zeros past the 258 lengths */
    w.len = 0, w.n = 0, w.acc = 0;
    gz_header(&w);
    dyn_header(&w, 257, 1, clen_1_2_17_18);
    zeros(&w, 138);
    zeros(&w, 121);
    put(&w, 0, 32);
    expect_damage(w.b, w.len, "code lengths run past the 258 codes of the block");
    free(w.b);
}

Test(inflate, reads_a_block_with_a_one_bit_code_and_no_distances)
{
    /* literal/length: only 256, one bit (allowed incomplete); no distance
     * codes at all (allowed: a block of literals) */
    bw w = {0};
    gz_header(&w);
    dyn_header(&w, 257, 1, (uint8_t[19]){[0] = 1, [1] = 2, [18] = 2});
    zeros(&w, 138); /* 18: code 11 */
    zeros(&w, 118);
    put_code(&w, 2, 2); /* 1: code 10 */
    put_code(&w, 0, 1); /* distance: 0 */
    put_code(&w, 0, 1); /* the end of the block */
    gz_trailer(&w, (const uint8_t *)"", 0);
    expect_output(w.b, w.len, (const uint8_t *)"", 0);
    free(w.b);
}

/* ---- the limit */

Test(inflate, stops_at_the_limit_and_keeps_the_first_bytes)
{
    size_t n = 1 << 20, zn;
    uint8_t *data = calloc(n, 1); /* a megabyte of zeros: about 1 KB of gzip */
    data[3] = 9;
    uint8_t *z = gzip_of(data, n, "-9", &zn);
    cr_assert_lt(zn, 2000);
    ad_gunzip_result r;
    cr_assert_eq(ad_gunzip(z, zn, 16, &r), AD_ERR_FORMAT);
    cr_assert(r.over_limit);
    cr_assert_eq(r.len, 16);
    cr_assert_not_null(r.data);
    cr_assert(memcmp(r.data, data, 16) == 0);
    ASSERT_MSG(r.msg, "the gzip data decompress to more than 16 bytes");
    ad_free(r.data);
    cr_assert_eq(ad_gunzip(z, zn, n - 1, &r), AD_ERR_FORMAT);
    cr_assert(r.over_limit && r.len == n - 1);
    ad_free(r.data);
    cr_assert_eq(ad_gunzip(z, zn, n, &r), AD_OK, "%s", r.msg); /* exactly the limit */
    cr_assert_eq(r.len, n);
    ad_free(r.data);
    free(z);
    free(data);
}

Test(inflate, a_limit_of_zero_bytes_takes_empty_data_only)
{
    bw w = {0};
    gz_header(&w);
    stored_block(&w, true, "", 0);
    gz_trailer(&w, (const uint8_t *)"", 0);
    ad_gunzip_result r;
    cr_assert_eq(ad_gunzip(w.b, w.len, 0, &r), AD_OK, "%s", r.msg);
    cr_assert(r.len == 0 && r.data != NULL);
    ad_free(r.data);
    w.len = 0;
    gz_header(&w);
    stored_block(&w, true, "x", 1);
    gz_trailer(&w, (const uint8_t *)"x", 1);
    cr_assert_eq(ad_gunzip(w.b, w.len, 0, &r), AD_ERR_FORMAT);
    cr_assert(r.over_limit && r.len == 0 && r.data != NULL);
    ad_free(r.data);
    w.len = 0, w.n = 0, w.acc = 0;
    gz_header(&w);
    put(&w, 1, 1);
    put(&w, 1, 2);
    fixed_sym(&w, 'x');
    fixed_sym(&w, 256);
    gz_trailer(&w, (const uint8_t *)"x", 1);
    cr_assert_eq(ad_gunzip(w.b, w.len, 0, &r), AD_ERR_FORMAT);
    cr_assert(r.over_limit && r.len == 0 && r.data != NULL);
    ad_free(r.data);
    free(w.b);
}

Test(inflate, a_cut_stored_block_past_the_limit_is_reported_as_the_limit)
{
    /* zlib outputs what the input holds of a cut stored block; so does
     * ad_gunzip, so that the first problem reached is the one reported */
    uint8_t body[100];
    memset(body, 'z', sizeof body);
    bw w = {0};
    gz_header(&w);
    stored_block(&w, true, body, 100);
    size_t cut = w.len - 60; /* 40 of the 100 bytes */
    ad_gunzip_result r;
    cr_assert_eq(ad_gunzip(w.b, cut, 30, &r), AD_ERR_FORMAT);
    cr_assert(r.over_limit && r.len == 30, "%s", r.msg);
    ad_free(r.data);
    expect_damage(w.b, cut, "truncated in the middle of a deflate block");
    free(w.b);
}

Test(inflate, out_of_memory_is_reported_and_leaks_nothing)
{
    size_t n = 1 << 20, zn;
    uint8_t *data = malloc(n); /* compresses well: the output buffer must grow */
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i % 251 + i / 4096);
    uint8_t *z = gzip_of(data, n, "-6", &zn);
    size_t live = ad_debug_live_allocs();
    for (long k = 0; k < 4; k++) {
        ad_gunzip_result r;
        ad_debug_fail_alloc_after(k);
        ad_status s = ad_gunzip(z, zn, SIZE_MAX, &r);
        ad_debug_fail_alloc_after(-1);
        cr_assert_eq(s, AD_ERR_NOMEM, "failing after %ld: %s", k, ad_status_name(s));
        cr_assert_null(r.data);
        ASSERT_MSG(r.msg, "out of memory");
        cr_assert_eq(ad_debug_live_allocs(), live);
    }
    free(z);
    free(data);
}
