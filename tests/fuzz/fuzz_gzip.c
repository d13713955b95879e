/* SPDX-License-Identifier: MIT
 * libFuzzer target for the gzip reader (src/io/inflate.c) and the IDX
 * readers on gzip files. zlib is the oracle (a test-only dependency: the
 * library never links it): every input gets the same verdict and the same
 * output from ad_gunzip as from zlib, and a gzip IDX file is read exactly
 * when zlib's output is a valid IDX file. The first input byte picks the
 * mode; the rest is a gzip file, a raw deflate stream that the target wraps
 * in a gzip header and a correct trailer (so the fuzzer explores deflate
 * without having to forge CRCs), or the contents of an IDX file. */
#include "adtape.h"
#include "adtape/data.h"
#include "io/crc32.h"
#include "io/inflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

enum { CAP = 1 << 20 }; /* the most output compared in full */

static void finding(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_gzip finding: %s: %s\n", what, detail ? detail : "");
    abort();
}

/* ---- the oracle */

enum { BAD, GOOD, OVER };

/* zlib's verdict on in[0, n) as a gzip file (members joined, nothing after
 * them), decompressing at most cap bytes into out: GOOD (*len bytes), BAD,
 * or OVER (more than cap bytes before the end or any damage; out holds the
 * first cap). */
static int zlib_gunzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *len)
{
    static uint8_t spill[1];
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) finding("inflateInit2", NULL);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int verdict = BAD;
    bool spilled = false;
    for (;;) {
        int r = inflate(&z, Z_NO_FLUSH);
        if (r == Z_STREAM_END) {
            if (z.avail_in == 0) {
                verdict = GOOD;
                break;
            }
            inflateReset(&z); /* another member: its window starts empty */
            continue;
        }
        if ((r == Z_OK || r == Z_BUF_ERROR) && z.avail_out == 0) {
            if (spilled) {
                verdict = OVER;
                break;
            }
            /* full: one more byte says whether there is more */
            *len = cap;
            z.next_out = spill;
            z.avail_out = 1;
            spilled = true;
            continue;
        }
        if (r == Z_OK) continue;
        break; /* Z_BUF_ERROR with room left: the input ended early; or damage */
    }
    if (!spilled) *len = cap - z.avail_out;
    /* more than cap bytes came before any damage zlib found later: the
     * limit is what a bounded reader must report */
    if (spilled && z.avail_out == 0) verdict = OVER;
    inflateEnd(&z);
    return verdict;
}

/* raw deflate in[0, n) as zlib reads it: how many bytes the stream takes
 * (0 when it is damaged or longer than CAP), its output in out */
static size_t zlib_raw(const uint8_t *in, size_t n, uint8_t *out, size_t *len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) finding("inflateInit2", NULL);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = CAP;
    int r = inflate(&z, Z_FINISH);
    size_t used = r == Z_STREAM_END ? n - z.avail_in : 0;
    *len = CAP - z.avail_out;
    inflateEnd(&z);
    return used;
}

/* ---- ad_gunzip against zlib */

static uint8_t want[CAP + 1];

static void check_gunzip(const uint8_t *in, size_t n, size_t limit)
{
    size_t wlen = 0;
    int v = zlib_gunzip(in, n, want, limit < CAP ? limit : CAP, &wlen);
    if (limit > CAP && v == OVER) limit = CAP; /* compare what can be compared */
    ad_gunzip_result r;
    ad_status s = ad_gunzip(in, n, limit, &r);
    if (s == AD_ERR_NOMEM) finding("out of memory", r.msg);
    if (v == GOOD) {
        if (s != AD_OK) finding("a file zlib reads was refused", r.msg);
        if (r.len != wlen || memcmp(r.data, want, wlen) != 0) finding("output differs", NULL);
        if (r.msg[0]) finding("a message on success", r.msg);
    } else if (v == OVER) {
        if (s != AD_ERR_FORMAT || !r.over_limit) finding("the limit was not enforced", r.msg);
        if (r.len != limit || memcmp(r.data, want, limit) != 0)
            finding("the bytes kept at the limit differ", NULL);
        if (!strstr(r.msg, "decompress to more than")) finding("limit message", r.msg);
    } else {
        if (s != AD_ERR_FORMAT) finding("a file zlib refuses was accepted", ad_status_name(s));
        if (r.over_limit || r.data) finding("a refusal left data", r.msg);
        if (strncmp(r.msg, "damaged gzip stream: ", 21) != 0) finding("damage message", r.msg);
    }
    ad_free(r.data);
}

/* raw deflate wrapped in a gzip header (flags from mode) and the trailer of
 * what zlib makes of it; the bytes after the stream stay after the trailer */
static void check_wrapped(unsigned mode, const uint8_t *raw, size_t n)
{
    static uint8_t out[CAP];
    size_t olen = 0, used = zlib_raw(raw, n, out, &olen);
    if (!used) used = n; /* damaged: wrap it all, the verdict must still agree */
    uint8_t *b = malloc(n + 64);
    uint8_t h[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    size_t k = 0;
    unsigned flg = (mode >> 3) & (8 | 16 | 2); /* FNAME, FCOMMENT, FHCRC */
    h[3] = (uint8_t)flg;
    memcpy(b, h, 10), k = 10;
    if (flg & 8) memcpy(b + k, "n.idx", 6), k += 6;
    if (flg & 16) memcpy(b + k, "c", 2), k += 2;
    if (flg & 2) {
        uint32_t c = ad_crc32(0, b, k);
        b[k++] = (uint8_t)c, b[k++] = (uint8_t)(c >> 8);
    }
    memcpy(b + k, raw, used), k += used;
    uint32_t c = ad_crc32(0, out, olen), s = (uint32_t)olen;
    for (int i = 0; i < 4; i++)
        b[k++] = (uint8_t)(c >> (8 * i));
    for (int i = 0; i < 4; i++)
        b[k++] = (uint8_t)(s >> (8 * i));
    memcpy(b + k, raw + used, n - used), k += n - used;
    check_gunzip(b, k, (mode & 4) ? 1 + olen / 2 : SIZE_MAX);
    free(b);
}

/* ---- gzip IDX files */

static char dir[64], file[96];

static void cleanup(void)
{
    remove(file);
    rmdir(dir);
}

static void setup(void)
{
    if (dir[0]) return;
    strcpy(dir, "/tmp/adtape-fuzzgz-XXXXXX");
    if (!mkdtemp(dir)) finding("mkdtemp", dir);
    snprintf(file, sizeof file, "%s/in.gz", dir);
    atexit(cleanup);
}

#include "idx_oracle.h"

/* contents compressed by zlib as gzip at a level from mode */
static uint8_t *zlib_gzip(const uint8_t *in, size_t n, int level, size_t *len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        finding("deflateInit2", NULL);
    size_t cap = deflateBound(&z, (uLong)n);
    uint8_t *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) finding("deflate", NULL);
    *len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static void check_idx(unsigned mode, const uint8_t *data, size_t size)
{
    setup();
    bool images = mode & 4;
    size_t zn = size;
    uint8_t *z = NULL;
    const uint8_t *gz = data;
    if (mode & 8) { /* the input is the IDX file: compress it */
        z = zlib_gzip(data, size, (int)((mode >> 4) % 10), &zn);
        gz = z;
    }
    FILE *f = fopen(file, "wb");
    if (!f || fwrite(gz, 1, zn, f) != zn || fclose(f) != 0) finding("cannot write", file);
    size_t plen = 0;
    int v = zlib_gunzip(gz, zn, want, CAP, &plen);
    /* judged here: gzip files zlib reads in full or refuses (plain files are
     * fuzz_files' job; beyond CAP the oracle has no verdict) */
    bool judge = zn >= 2 && gz[0] == 0x1f && gz[1] == 0x8b && v != OVER;
    size_t dims[3], total = 0;
    int valid = v == GOOD && idx_valid(want, plen, images ? 3 : 1, dims, &total);
    const char *fn = images ? "ad_idx_read_images: " : "ad_idx_read_labels: ";
    ad_status s;
    if (images) {
        float *px = NULL;
        size_t c, rr, w;
        s = ad_idx_read_images(file, &px, &c, &rr, &w);
        if (s == AD_OK && judge) {
            if (!valid) finding("an invalid gzip image file was accepted", NULL);
            if (c != dims[0] || rr != dims[1] || w != dims[2]) finding("wrong image dims", NULL);
            for (size_t i = 0; i < total; i++)
                if (px[i] != (float)want[16 + i] / 255.0f) finding("wrong pixel", NULL);
        }
        ad_free(px);
    } else {
        int32_t *lab = NULL;
        size_t c;
        s = ad_idx_read_labels(file, &lab, &c);
        if (s == AD_OK && judge) {
            if (!valid) finding("an invalid gzip label file was accepted", NULL);
            if (c != dims[0]) finding("wrong label count", NULL);
            for (size_t i = 0; i < total; i++)
                if (lab[i] != want[8 + i]) finding("wrong label", NULL);
        }
        ad_free(lab);
    }
    if (s == AD_ERR_NOMEM) finding("out of memory", ad_last_error());
    if (s != AD_OK) {
        if (valid) finding("a valid gzip IDX file was refused", ad_last_error());
        if (s != AD_ERR_FORMAT) finding("unexpected status", ad_last_error());
        if (strncmp(ad_last_error(), fn, strlen(fn)) != 0) finding("message", ad_last_error());
    }
    free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned mode = data[0];
    switch (mode % 4) {
    case 0: /* a gzip file; a small limit when bit 2 is set */
        check_gunzip(data + 1, size - 1, (mode & 4) ? (size_t)(mode >> 3) * 8 : SIZE_MAX);
        break;
    case 1:
        check_wrapped(mode, data + 1, size - 1);
        break;
    default:
        check_idx(mode, data + 1, size - 1);
        break;
    }
    return 0;
}
