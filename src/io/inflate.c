/* SPDX-License-Identifier: MIT
 * An inflater (RFC 1951: stored, fixed- and dynamic-Huffman blocks) and the
 * gzip wrapper around it (RFC 1952). Canonical Huffman codes decode through
 * a table indexed by the next FAST_BITS input bits, with a bit-by-bit walk
 * for the rare longer codes. No recursion; every count, length and distance
 * is checked against the input and the output before it is used. */
#include "inflate.h"

#include "crc32.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define INF_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define INF_PRINTF(fmt, first)
#endif

enum {
    MAX_BITS = 15,  /* the longest deflate code */
    FAST_BITS = 10, /* codes this short decode with one table lookup */
    MAX_LITLEN = 288,
    MAX_DIST = 32,
    N_CLEN = 19,
    GROW_MIN = 4096
};

/* A canonical Huffman code. fast[b], b the next FAST_BITS bits (first bit
 * lowest), is len << 9 | symbol for a code of len <= FAST_BITS bits, or 0:
 * a longer code (or none), found by decode_slow from count and symbol. */
typedef struct huff {
    uint16_t fast[1 << FAST_BITS];
    uint16_t count[MAX_BITS + 1]; /* codes of each length */
    uint16_t symbol[MAX_LITLEN];  /* symbols in code order: by length, then value */
} huff;

typedef struct state {
    const uint8_t *in;
    size_t n, pos; /* the input and its next unread byte */
    uint64_t bits; /* bits read but not used, the next one lowest */
    unsigned nbits;
    size_t pad; /* zero bytes fed into bits past the end of the input */
    uint8_t *out;
    size_t len, cap, limit;
    size_t start; /* this member's first output byte: distances stop there */
    bool over;
    ad_status err;
    char *msg;
    size_t msg_cap;
    huff lit, dist, clen;
} state;

static bool fail(state *s, const char *fmt, ...) INF_PRINTF(2, 3);

/* "damaged gzip stream: problem" into the result; always false. */
static bool fail(state *s, const char *fmt, ...)
{
    int k = snprintf(s->msg, s->msg_cap, "damaged gzip stream: ");
    size_t off = k < 0 ? 0 : (size_t)k;
    if (off < s->msg_cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->msg + off, s->msg_cap - off, fmt, ap);
        va_end(ap);
    }
    s->err = AD_ERR_FORMAT;
    return false;
}

static bool truncated(state *s)
{
    return fail(s, "truncated in the middle of a deflate block (input ends at byte %zu)", s->n);
}

/* ---- bits: at least 57 buffered after refill; past the end of the input
 * zeros come in and are counted, so using one is caught as a truncation. */

static inline void refill(state *s)
{
    while (s->nbits <= 56) {
        uint64_t b = 0;
        if (s->pos < s->n)
            b = s->in[s->pos++];
        else
            s->pad++;
        s->bits |= b << s->nbits;
        s->nbits += 8;
    }
}

static inline bool past_end(const state *s)
{
    return s->nbits < 8 * s->pad;
}

static inline unsigned take(state *s, unsigned k)
{
    unsigned v = (unsigned)(s->bits & ((1u << k) - 1));
    s->bits >>= k;
    s->nbits -= k;
    return v;
}

/* Drops the bits up to the next byte boundary and hands the whole bytes
 * still buffered back to the input, so s->pos is the next byte to read. */
static bool to_byte_boundary(state *s)
{
    if (past_end(s)) return truncated(s);
    take(s, s->nbits & 7);
    s->pos -= s->nbits / 8 - s->pad; /* nbits >= 8 * pad: not past the end */
    s->bits = 0;
    s->nbits = 0;
    s->pad = 0;
    return true;
}

/* ---- Huffman codes */

/* Builds h from the code lengths lens[0, n) (0: symbol unused). NULL, or
 * what is wrong. A complete code is required, except a single code of one
 * bit, which RFC 1951 allows, and no codes at all when allow_empty
 * (distances in a block of literals only); decode fails on the gaps. */
static const char *build(huff *h, const uint8_t *lens, unsigned n, bool allow_empty)
{
    memset(h->count, 0, sizeof h->count);
    memset(h->fast, 0, sizeof h->fast);
    for (unsigned i = 0; i < n; i++)
        h->count[lens[i]]++;
    unsigned used = n - h->count[0];
    h->count[0] = 0;
    if (used == 0) return allow_empty ? NULL : "has no codes";
    int left = 1; /* codes of the current length still free */
    for (unsigned len = 1; len <= MAX_BITS; len++) {
        left = 2 * left - h->count[len];
        if (left < 0) return "is over-subscribed";
    }
    if (left > 0 && !(used == 1 && h->count[1] == 1)) return "is incomplete";
    uint16_t offs[MAX_BITS + 2];
    offs[1] = 0;
    for (unsigned len = 1; len <= MAX_BITS; len++)
        offs[len + 1] = (uint16_t)(offs[len] + h->count[len]);
    for (unsigned i = 0; i < n; i++)
        if (lens[i]) h->symbol[offs[lens[i]]++] = (uint16_t)i;
    /* canonical codes: consecutive within a length, in symbol order; deflate
     * sends them first bit first, so the table index is the code reversed */
    unsigned code = 0, k = 0;
    for (unsigned len = 1; len <= FAST_BITS; len++, code <<= 1)
        for (unsigned j = 0; j < h->count[len]; j++, code++) {
            unsigned rev = 0;
            for (unsigned b = 0; b < len; b++)
                rev |= ((code >> b) & 1u) << (len - 1 - b);
            uint16_t e = (uint16_t)(len << 9 | h->symbol[k++]);
            for (unsigned r = rev; r < (1u << FAST_BITS); r += 1u << len)
                h->fast[r] = e;
        }
    return NULL;
}

/* A code longer than FAST_BITS (or none): walk the lengths, one bit each. */
static int decode_slow(state *s, const huff *h)
{
    int code = 0, first = 0, index = 0;
    uint64_t b = s->bits;
    for (unsigned len = 1; len <= MAX_BITS; len++) {
        code |= (int)(b & 1);
        b >>= 1;
        int count = h->count[len];
        if (code - first < count) {
            take(s, len);
            return h->symbol[index + code - first];
        }
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -1;
}

/* The next symbol of h, or -1 for a bit pattern that is no code. Needs
 * MAX_BITS bits buffered. */
static inline int decode(state *s, const huff *h)
{
    unsigned e = h->fast[s->bits & ((1u << FAST_BITS) - 1)];
    if (e) {
        take(s, e >> 9);
        return (int)(e & 511);
    }
    return decode_slow(s, h);
}

/* ---- output */

/* Room for need more bytes, growing by doubling up to the limit. Past the
 * limit: the buffer grows to the limit (so a caller can fill it up) and this
 * fails with over set. */
static bool grow(state *s, size_t need)
{
    bool over = need > s->limit - s->len;
    size_t target = over ? s->limit : s->len + need;
    if (target > s->cap) {
        size_t nc = target;
        if (s->cap <= SIZE_MAX / 2 && 2 * s->cap > nc) nc = 2 * s->cap;
        if (nc < GROW_MIN) nc = GROW_MIN;
        if (nc > s->limit) nc = s->limit;
        uint8_t *p = ad_realloc(s->out, s->cap, nc);
        if (!p) {
            snprintf(s->msg, s->msg_cap, "out of memory for %zu bytes of decompressed data", nc);
            s->err = AD_ERR_NOMEM;
            return false;
        }
        s->out = p;
        s->cap = nc;
    }
    if (over) {
        snprintf(s->msg, s->msg_cap, "the gzip data decompress to more than %zu bytes", s->limit);
        s->over = true;
        s->err = AD_ERR_FORMAT;
        return false;
    }
    return true;
}

/* ---- blocks */

static const uint16_t len_base[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                      15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                      67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* The symbols of one Huffman block up to its end-of-block code. */
static bool codes(state *s)
{
    for (;;) {
        refill(s); /* 57 bits: a length (15 + 5) and a distance (15 + 13) fit */
        int sym = decode(s, &s->lit);
        if (past_end(s)) return truncated(s);
        if (sym < 256) {
            if (sym < 0) return fail(s, "invalid literal/length code");
            if (s->len == s->cap && !grow(s, 1)) return false;
            s->out[s->len++] = (uint8_t)sym;
            continue;
        }
        if (sym == 256) return true;
        if (sym > 285) return fail(s, "invalid length symbol %d", sym);
        unsigned li = (unsigned)sym - 257;
        size_t mlen = len_base[li] + take(s, len_extra[li]);
        int ds = decode(s, &s->dist);
        if (past_end(s)) return truncated(s);
        if (ds < 0) return fail(s, "invalid distance code");
        if (ds > 29) return fail(s, "invalid distance symbol %d", ds);
        size_t dist = dist_base[ds] + take(s, dist_extra[ds]);
        if (past_end(s)) return truncated(s);
        if (dist > s->len - s->start)
            return fail(s, "distance %zu reaches before the start of the output", dist);
        bool ok = true;
        if (s->cap - s->len < mlen && !grow(s, mlen)) {
            if (!s->over) return false;
            mlen = s->limit - s->len; /* what fits: the first limit bytes are kept */
            ok = false;
        }
        uint8_t *d = s->out + s->len;
        const uint8_t *from = d - dist;
        if (dist >= mlen)
            memcpy(d, from, mlen);
        else /* overlapping: a run that repeats the last dist bytes */
            for (size_t i = 0; i < mlen; i++)
                d[i] = from[i];
        s->len += mlen;
        if (!ok) return false;
    }
}

static bool stored(state *s)
{
    if (!to_byte_boundary(s)) return false;
    if (s->n - s->pos < 4) return truncated(s);
    const uint8_t *p = s->in + s->pos;
    unsigned len = p[0] | (unsigned)p[1] << 8, nlen = p[2] | (unsigned)p[3] << 8;
    if (len != (~nlen & 0xffffu))
        return fail(s, "stored block length %u does not match its complement %u", len, nlen);
    s->pos += 4;
    /* what the input holds of the block is output before a cut is reported,
     * as zlib does, so a cut past the limit is reported as the limit */
    size_t have = s->n - s->pos < len ? s->n - s->pos : len, n = have;
    bool ok = true;
    if (s->cap - s->len < n && !grow(s, n)) {
        if (!s->over) return false;
        n = s->limit - s->len;
        ok = false;
    }
    memcpy(s->out + s->len, s->in + s->pos, n);
    s->len += n;
    s->pos += n;
    if (!ok) return false;
    return have == len ? true : truncated(s);
}

static bool fixed(state *s)
{
    uint8_t lens[MAX_LITLEN];
    memset(lens, 8, 144);
    memset(lens + 144, 9, 112);
    memset(lens + 256, 7, 24);
    memset(lens + 280, 8, 8);
    build(&s->lit, lens, MAX_LITLEN, false); /* complete codes: cannot fail */
    memset(lens, 5, MAX_DIST);
    build(&s->dist, lens, MAX_DIST, false);
    return true;
}

static bool dynamic(state *s)
{
    static const uint8_t order[N_CLEN] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                          11, 4,  12, 3, 13, 2, 14, 1, 15};
    refill(s);
    unsigned nlit = take(s, 5) + 257, ndist = take(s, 5) + 1, nclen = take(s, 4) + 4;
    if (past_end(s)) return truncated(s);
    if (nlit > 286) return fail(s, "%u literal/length codes (at most 286)", nlit);
    if (ndist > 30) return fail(s, "%u distance codes (at most 30)", ndist);
    uint8_t lens[286 + 30] = {0};
    for (unsigned i = 0; i < nclen; i++) {
        refill(s);
        lens[order[i]] = (uint8_t)take(s, 3);
    }
    if (past_end(s)) return truncated(s);
    const char *why = build(&s->clen, lens, N_CLEN, false);
    if (why) return fail(s, "the code-length code %s", why);
    memset(lens, 0, N_CLEN);
    for (unsigned i = 0; i < nlit + ndist;) {
        refill(s);
        int sym = decode(s, &s->clen);
        if (past_end(s)) return truncated(s); /* before blaming bits that never came */
        if (sym < 0) return fail(s, "invalid code-length code");
        if (sym < 16) {
            lens[i++] = (uint8_t)sym;
            continue;
        }
        uint8_t val = 0;
        unsigned rep;
        if (sym == 16) {
            if (i == 0) return fail(s, "a repeat of the previous code length with none before it");
            val = lens[i - 1];
            rep = 3 + take(s, 2);
        } else if (sym == 17) {
            rep = 3 + take(s, 3);
        } else {
            rep = 11 + take(s, 7);
        }
        if (past_end(s)) return truncated(s);
        if (rep > nlit + ndist - i)
            return fail(s, "code lengths run past the %u codes of the block", nlit + ndist);
        memset(lens + i, val, rep);
        i += rep;
    }
    if (past_end(s)) return truncated(s);
    if (lens[256] == 0) return fail(s, "a block without an end-of-block code");
    why = build(&s->lit, lens, nlit, false);
    if (why) return fail(s, "the literal/length code %s", why);
    why = build(&s->dist, lens + nlit, ndist, true);
    if (why) return fail(s, "the distance code %s", why);
    return true;
}

/* One deflate stream from s->pos to its final block; s->pos ends on the
 * byte after it. */
static bool inflate_stream(state *s)
{
    s->bits = 0;
    s->nbits = 0;
    s->pad = 0;
    for (;;) {
        refill(s);
        unsigned last = take(s, 1), type = take(s, 2);
        if (past_end(s)) return truncated(s);
        bool ok;
        if (type == 0)
            ok = stored(s);
        else if (type == 1)
            ok = fixed(s) && codes(s);
        else if (type == 2)
            ok = dynamic(s) && codes(s);
        else
            ok = fail(s, "block type 3 is reserved");
        if (!ok) return false;
        if (last) return to_byte_boundary(s);
    }
}

/* ---- gzip */

enum { FTEXT = 1, FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16 };

static uint32_t le32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The member at s->pos: header, deflate stream, trailer. */
static bool member(state *s, bool first)
{
    const uint8_t *p = s->in + s->pos;
    size_t left = s->n - s->pos, h = 10;
    bool magic = left >= 1 && p[0] == 0x1f && (left < 2 || p[1] == 0x8b);
    if (!magic && !first) return fail(s, "%zu bytes of trailing garbage after the gzip data", left);
    if (!magic) return fail(s, "not a gzip file (it does not start with 1f 8b)");
    if (left < h) return fail(s, "truncated gzip header");
    if (p[2] != 8) return fail(s, "compression method %u is not deflate (8)", p[2]);
    unsigned flg = p[3];
    if (flg & 0xe0) return fail(s, "reserved header flags 0x%02x are set", flg & 0xe0);
    if (flg & FEXTRA) {
        if (left - h < 2) return fail(s, "truncated gzip header");
        size_t xlen = p[h] | (size_t)p[h + 1] << 8;
        h += 2;
        if (left - h < xlen) return fail(s, "truncated gzip header");
        h += xlen;
    }
    for (unsigned f = FNAME; f <= FCOMMENT; f <<= 1)
        if (flg & f) { /* a zero-terminated file name, then comment */
            const uint8_t *z = memchr(p + h, 0, left - h);
            if (!z) return fail(s, "truncated gzip header");
            h = (size_t)(z - p) + 1;
        }
    if (flg & FHCRC) {
        if (left - h < 2) return fail(s, "truncated gzip header");
        unsigned want = p[h] | (unsigned)p[h + 1] << 8, got = ad_crc32(0, p, h) & 0xffffu;
        if (want != got)
            return fail(s, "header CRC 0x%04x does not match the header (0x%04x)", want, got);
        h += 2;
    }
    s->pos += h;
    s->start = s->len;
    if (!inflate_stream(s)) return false;
    if (s->n - s->pos < 8) return fail(s, "truncated gzip trailer");
    size_t out = s->len - s->start;
    uint32_t crc = ad_crc32(0, s->out + s->start, out), want = le32(s->in + s->pos);
    if (crc != want)
        return fail(s, "CRC-32 0x%08x of the data does not match the trailer's 0x%08x",
                    (unsigned)crc, (unsigned)want);
    uint32_t isize = le32(s->in + s->pos + 4);
    if (isize != (uint32_t)out)
        return fail(s, "%zu bytes of data, but the trailer says %u (modulo 2^32)", out,
                    (unsigned)isize);
    s->pos += 8;
    return true;
}

ad_status ad_gunzip(const uint8_t *in, size_t n, size_t limit, ad_gunzip_result *res)
{
    memset(res, 0, sizeof *res);
    state *s = ad_alloc(sizeof *s); /* ~7 KB of tables: off the caller's stack */
    if (!s) {
        snprintf(res->msg, sizeof res->msg, "out of memory");
        return AD_ERR_NOMEM;
    }
    memset(s, 0, sizeof *s);
    s->in = in ? in : (const uint8_t *)""; /* no arithmetic on a null pointer */
    n = in ? n : 0;
    s->n = n;
    s->limit = limit;
    s->msg = res->msg;
    s->msg_cap = sizeof res->msg;
    /* a first guess: typical data shrink 2-4 times; doubling does the rest */
    size_t guess = n < (SIZE_MAX - GROW_MIN) / 4 ? 4 * n + GROW_MIN : SIZE_MAX;
    if (guess > limit) guess = limit;
    s->out = ad_alloc(guess); /* never NULL, even for a limit of 0: no arithmetic on NULL */
    if (!s->out) {
        ad_free(s);
        snprintf(res->msg, sizeof res->msg, "out of memory for %zu bytes of decompressed data",
                 guess);
        return AD_ERR_NOMEM;
    }
    s->cap = guess;
    for (bool first = true; s->err == AD_OK && (first || s->pos < n); first = false)
        member(s, first);
    ad_status st = s->err;
    if (st == AD_OK || s->over) {
        res->data = s->out;
        res->len = s->len;
        res->over_limit = s->over;
    } else {
        ad_free(s->out);
    }
    ad_free(s);
    return st;
}
