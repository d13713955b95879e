/* SPDX-License-Identifier: MIT
 * IDX reader (MNIST, Fashion-MNIST): a big-endian header (magic, dims) and an
 * unsigned-byte payload, plain or gzip-compressed (told by the gzip magic,
 * not by the name). Buffers come from ad_alloc (the library's allocator) and
 * the caller frees them with ad_free. Files are untrusted input. */
#include "adtape/data.h"

#include "inflate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__GNUC__)
#define IDX_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define IDX_PRINTF(fmt, first)
#endif

enum { IDX_UBYTE = 0x08, CHUNK = 1 << 14 };

/* A gzip IDX file may decompress to at most this many bytes, and be at most
 * this large plus 1 MiB (headers, names, stored-block overhead): a small
 * file claiming a huge payload (a zip bomb) is refused before memory runs
 * out. 1 GiB holds every IDX data set in use (EMNIST ByClass: 547 MB). */
#define IDX_GZ_MAX ((size_t)1 << 30)

/* What a call expects and where it reports. */
typedef struct idx_req {
    const char *fn, *path, *kind; /* kind: "image" or "label" */
    unsigned ndim;                /* 3 for images, 1 for labels */
    bool to_float;                /* pixels b / 255 as float; labels as int32 */
} idx_req;

static ad_status fail(const idx_req *r, ad_status code, const char *fmt, ...) IDX_PRINTF(3, 4);

/* "fn: path: problem" into ad_last_error; returns code. */
static ad_status fail(const idx_req *r, ad_status code, const char *fmt, ...)
{
    char msg[4096]; /* ad_last_error's size */
    int k = snprintf(msg, sizeof msg, "%s: %s: ", r->fn, r->path ? r->path : "(null path)");
    size_t off = k < 0 ? 0 : (size_t)k;
    if (off < sizeof msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg + off, sizeof msg - off, fmt, ap);
        va_end(ap);
    }
    ad_set_last_error(msg);
    return code;
}

/* strerror is not thread-safe; this is the XSI strerror_r (returns int). */
static const char *errstr(int e, char *buf, size_t len)
{
    if (strerror_r(e, buf, len) != 0) snprintf(buf, len, "error %d", e);
    return buf;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Bytes [0, n) of src into element `at` on of out, as float b/255 or int32. */
static void convert(const idx_req *r, void *out, size_t at, const uint8_t *src, size_t n)
{
    if (r->to_float) {
        float *x = (float *)out + at;
        for (size_t i = 0; i < n; i++)
            x[i] = (float)src[i] / 255.0f;
    } else {
        int32_t *x = (int32_t *)out + at;
        for (size_t i = 0; i < n; i++)
            x[i] = src[i];
    }
}

/* The header in h[0, got): magic 00 00 08 ndim, then ndim big-endian u32
 * dims. Fills dims and *total (their product) or fails. */
static ad_status parse_header(const idx_req *r, const uint8_t *h, size_t got, size_t *dims,
                              size_t *total)
{
    size_t hlen = 4 + 4 * (size_t)r->ndim;
    uint32_t want = (uint32_t)IDX_UBYTE << 8 | r->ndim;
    if (got < 4) return fail(r, AD_ERR_FORMAT, "truncated header: %zu of %zu bytes", got, hlen);
    uint32_t magic = be32(h);
    if (h[0] == 0x1f && h[1] == 0x8b) /* only inside a gzip file: plain ones go to read_gzip */
        return fail(r, AD_ERR_FORMAT,
                    "wrong magic 0x%08" PRIx32 ": the gzip data hold another gzip file "
                    "(compressed twice?)",
                    magic);
    if (h[0] || h[1])
        return fail(r, AD_ERR_FORMAT,
                    "wrong magic 0x%08" PRIx32 ": not an IDX file (%s files start 0x%08" PRIx32 ")",
                    magic, r->kind, want);
    if (h[2] != IDX_UBYTE)
        return fail(r, AD_ERR_FORMAT,
                    "wrong magic 0x%08" PRIx32 ": data type 0x%02x is not unsigned byte (0x08)",
                    magic, h[2]);
    if (h[3] != r->ndim)
        return fail(r, AD_ERR_FORMAT,
                    "wrong magic 0x%08" PRIx32 ": %u dimensions, but %s files have %u (0x%08" PRIx32
                    ")",
                    magic, h[3], r->kind, r->ndim, want);
    if (got < hlen) return fail(r, AD_ERR_FORMAT, "truncated header: %zu of %zu bytes", got, hlen);

    /* The payload becomes total 4-byte elements: both products must fit. */
    size_t n = 1, nz = 1;
    bool overflow = false;
    char ds[48];
    size_t o = 0;
    for (unsigned k = 0; k < r->ndim; k++) {
        uint32_t d = be32(h + 4 + 4 * k);
        o += (size_t)snprintf(ds + o, sizeof ds - o, k ? " x %" PRIu32 : "%" PRIu32, d);
        dims[k] = (size_t)d; /* size_t has at least 32 bits on every POSIX system */
        /* nz skips zeros, so [0, 2^32-1, 2^32-1] is refused too: its
         * per-image size would overflow a caller's rows * cols */
        if (dims[k] != 0 && nz > SIZE_MAX / 4 / dims[k])
            overflow = true;
        else if (dims[k] != 0)
            nz *= dims[k];
        n *= dims[k];
    }
    if (overflow) return fail(r, AD_ERR_FORMAT, "dimensions %s overflow the address space", ds);
    if (r->ndim == 3 && (dims[1] == 0 || dims[2] == 0))
        return fail(r, AD_ERR_FORMAT, "images of %zu x %zu pixels", dims[1], dims[2]);
    *total = n;
    return AD_OK;
}

/* The payload of `total` bytes into an ad_alloc'd buffer of 4-byte elements.
 * A regular file's length is checked against the header before anything is
 * allocated; a pipe's buffer grows with the bytes that actually arrive, so a
 * lying header never reserves more memory than the data it sends. */
static ad_status read_payload(const idx_req *r, FILE *f, size_t total, void **out)
{
    char es[128];
    size_t hlen = 4 + 4 * (size_t)r->ndim, cap = total < CHUNK ? total : CHUNK;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        uintmax_t size = (uintmax_t)st.st_size, data = size > hlen ? size - hlen : 0;
        if (data < total)
            return fail(r, AD_ERR_FORMAT,
                        "truncated data: the header promises %zu bytes, the file holds %ju", total,
                        data);
        if (data > total)
            return fail(r, AD_ERR_FORMAT, "%ju bytes of trailing garbage after the data",
                        data - total);
        cap = total;
    }
    void *data = ad_alloc((cap ? cap : 1) * 4);
    if (!data) return fail(r, AD_ERR_NOMEM, "out of memory for %zu elements", cap);
    uint8_t chunk[CHUNK];
    size_t done = 0;
    while (done < total) {
        size_t n = fread(chunk, 1, total - done < CHUNK ? total - done : CHUNK, f);
        if (n == 0) break;
        if (done + n > cap) {
            /* cap >= CHUNK here, so doubling always makes room */
            size_t nc = cap > total / 2 ? total : cap * 2;
            void *q = ad_realloc(data, cap * 4, nc * 4);
            if (!q) {
                ad_free(data);
                return fail(r, AD_ERR_NOMEM, "out of memory for %zu elements", nc);
            }
            data = q;
            cap = nc;
        }
        convert(r, data, done, chunk, n);
        done += n;
    }
    ad_status s = AD_OK;
    if (ferror(f))
        s = fail(r, AD_ERR_IO, "read failed: %s", errstr(errno, es, sizeof es));
    else if (done < total)
        s = fail(r, AD_ERR_FORMAT,
                 "truncated data: the header promises %zu bytes, the file holds %zu", total, done);
    else if (fgetc(f) != EOF)
        s = fail(r, AD_ERR_FORMAT, "trailing garbage after the %zu bytes of data", total);
    if (s != AD_OK) {
        ad_free(data);
        return s;
    }
    *out = data;
    return AD_OK;
}

/* The rest of f after the head[0, got) already read, all in memory: a gzip
 * file to inflate. */
static ad_status slurp(const idx_req *r, FILE *f, const uint8_t *head, size_t got, uint8_t **buf,
                       size_t *len)
{
    char es[128];
    const size_t max = IDX_GZ_MAX + ((size_t)1 << 20);
    size_t cap = CHUNK, n = got;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        cap = (uintmax_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1; /* +1: sees EOF */
    uint8_t *b = ad_alloc(cap);
    if (!b) return fail(r, AD_ERR_NOMEM, "out of memory for %zu bytes of gzip data", cap);
    memcpy(b, head, got);
    for (;;) {
        if (n == cap) {
            size_t nc = cap > max / 2 ? max + 1 : cap * 2;
            uint8_t *q = n > max ? NULL : ad_realloc(b, cap, nc);
            if (!q) {
                ad_free(b);
                if (n > max)
                    return fail(r, AD_ERR_FORMAT, "a gzip file larger than %zu bytes", max);
                return fail(r, AD_ERR_NOMEM, "out of memory for %zu bytes of gzip data", nc);
            }
            b = q;
            cap = nc;
        }
        size_t k = fread(b + n, 1, cap - n, f);
        if (k == 0) break;
        n += k;
    }
    if (ferror(f)) {
        ad_free(b);
        return fail(r, AD_ERR_IO, "read failed: %s", errstr(errno, es, sizeof es));
    }
    if (n > max) {
        ad_free(b);
        return fail(r, AD_ERR_FORMAT, "a gzip file larger than %zu bytes", max);
    }
    *buf = b;
    *len = n;
    return AD_OK;
}

/* A gzip-compressed IDX file: inflated once as far as the header, which
 * then bounds the output of the full inflation to exactly the size it
 * declares, so a lying header or a zip bomb never holds more memory than
 * the data it promises (and at most IDX_GZ_MAX). */
static ad_status read_gzip(const idx_req *r, FILE *f, const uint8_t *head, size_t got, size_t *dims,
                           void **out)
{
    uint8_t *z = NULL;
    size_t zn = 0, hlen = 4 + 4 * (size_t)r->ndim, total = 0;
    ad_status s = slurp(r, f, head, got, &z, &zn);
    if (s != AD_OK) return s;
    ad_gunzip_result g;
    s = ad_gunzip(z, zn, hlen, &g);
    if (s == AD_OK || g.over_limit)
        s = parse_header(r, g.data, g.len, dims, &total);
    else
        s = fail(r, s, "%s", g.msg);
    ad_free(g.data);
    if (s == AD_OK && total > IDX_GZ_MAX - hlen)
        s = fail(r, AD_ERR_FORMAT,
                 "the header promises %zu bytes, more than a gzip IDX file may hold (%zu)", total,
                 IDX_GZ_MAX - hlen);
    if (s == AD_OK) {
        s = ad_gunzip(z, zn, hlen + total, &g);
        if (g.over_limit)
            s = fail(r, AD_ERR_FORMAT,
                     "trailing garbage: the gzip data decompress to more than the %zu bytes the "
                     "header promises",
                     total);
        else if (s != AD_OK)
            s = fail(r, s, "%s", g.msg);
        else if (g.len < hlen + total)
            s = fail(r, AD_ERR_FORMAT,
                     "truncated data: the header promises %zu bytes, the gzip data hold %zu", total,
                     g.len - hlen);
        if (s == AD_OK) {
            void *data = ad_alloc((total ? total : 1) * 4);
            if (data) {
                convert(r, data, 0, g.data + hlen, total);
                *out = data;
            } else {
                s = fail(r, AD_ERR_NOMEM, "out of memory for %zu elements", total);
            }
        }
        ad_free(g.data);
    }
    ad_free(z);
    return s;
}

static ad_status read_idx(const idx_req *r, size_t *dims, void **out)
{
    char es[128];
    FILE *f = fopen(r->path, "rb");
    if (!f) return fail(r, AD_ERR_IO, "cannot open: %s", errstr(errno, es, sizeof es));
    uint8_t h[4 + 4 * 3];
    size_t hlen = 4 + 4 * (size_t)r->ndim, total = 0;
    size_t got = fread(h, 1, hlen, f);
    ad_status s;
    if (ferror(f))
        s = fail(r, AD_ERR_IO, "read failed: %s", errstr(errno, es, sizeof es));
    else if (got >= 2 && h[0] == 0x1f && h[1] == 0x8b)
        s = read_gzip(r, f, h, got, dims, out);
    else if ((s = parse_header(r, h, got, dims, &total)) == AD_OK)
        s = read_payload(r, f, total, out);
    fclose(f);
    return s;
}

ad_status ad_idx_read_images(const char *path, float **pixels, size_t *count, size_t *rows,
                             size_t *cols)
{
    idx_req r = {"ad_idx_read_images", path, "image", 3, true};
    ad_set_last_error(NULL);
    if (pixels) *pixels = NULL;
    if (count) *count = 0;
    if (rows) *rows = 0;
    if (cols) *cols = 0;
    if (!path || !pixels || !count || !rows || !cols)
        return fail(&r, AD_ERR_INVALID, "path, pixels, count, rows and cols must not be NULL");
    size_t dims[3];
    void *data = NULL;
    ad_status s = read_idx(&r, dims, &data);
    if (s != AD_OK) return s;
    *pixels = data;
    *count = dims[0];
    *rows = dims[1];
    *cols = dims[2];
    return AD_OK;
}

ad_status ad_idx_read_labels(const char *path, int32_t **labels, size_t *count)
{
    idx_req r = {"ad_idx_read_labels", path, "label", 1, false};
    ad_set_last_error(NULL);
    if (labels) *labels = NULL;
    if (count) *count = 0;
    if (!path || !labels || !count)
        return fail(&r, AD_ERR_INVALID, "path, labels and count must not be NULL");
    size_t dims[1];
    void *data = NULL;
    ad_status s = read_idx(&r, dims, &data);
    if (s != AD_OK) return s;
    *labels = data;
    *count = dims[0];
    return AD_OK;
}
