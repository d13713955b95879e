/* SPDX-License-Identifier: MIT
 * libFuzzer target for the file readers: parameter files (ad_paramfile_parse
 * on bytes in memory, and ad_params_load on the same bytes in a file), IDX
 * image and label files, and MLP checkpoints (ad_nn_load). The first input
 * byte picks the reader and options; the rest is the file. Every file is
 * either refused cleanly (the right code, a message naming the function,
 * outputs untouched or NULL) or loaded correctly (a parameter file or a
 * checkpoint that loads is exactly what the saver writes for the loaded
 * values; IDX data match an independent decoding). */
#include "adtape.h"
#include "adtape/data.h"
#include "adtape/nn.h"
#include "io/crc32.h"
#include "io/paramfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void finding(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_files finding: %s: %s\n", what, detail ? detail : "");
    abort();
}

/* ---- a private temporary directory for the whole run */

static char dir[64], file[96], saved[96];

static void cleanup(void)
{
    remove(file);
    remove(saved);
    rmdir(dir);
}

static void setup(void)
{
    if (dir[0]) return;
    strcpy(dir, "/tmp/adtape-fuzz-XXXXXX");
    if (!mkdtemp(dir)) finding("mkdtemp", dir);
    snprintf(file, sizeof file, "%s/in", dir);
    snprintf(saved, sizeof saved, "%s/saved", dir);
    atexit(cleanup);
}

static void write_file(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) finding("cannot write", path);
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) finding("cannot read", path);
    uint8_t *b = malloc(1 << 16);
    *n = fread(b, 1, 1 << 16, f);
    fclose(f);
    return b;
}

static uint64_t le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* ================================================== parameter files */

enum { MAXP = 8, MAXEL = 4096 };

/* Parameters shaped after what the file claims (as far as it is sane), so
 * that the fuzzer gets past the count, dtype and shape checks. */
static size_t params_from_header(const uint8_t *b, size_t n, ad_param **p)
{
    if (n < 20 || memcmp(b, AD_PARAMFILE_MAGIC, 8) != 0) return 0;
    uint64_t count = le(b + 12, 8);
    if (count > MAXP) return 0;
    size_t off = 20, np = 0;
    for (; np < count; np++) {
        uint32_t dt = off + 8 <= n ? (uint32_t)le(b + off, 4) : 0;
        uint32_t nd = off + 8 <= n ? (uint32_t)le(b + off + 4, 4) : 1;
        if (dt > 1 || nd < 1 || nd > AD_MAX_DIMS) dt = 0, nd = 1;
        off += 8;
        size_t dims[AD_MAX_DIMS] = {1, 1, 1, 1}, el = 1;
        for (uint32_t k = 0; k < nd; k++, off += 8) {
            uint64_t d = off + 8 <= n ? le(b + off, 8) : 1;
            dims[k] = d <= 64 ? (size_t)d : 1;
            el *= dims[k];
        }
        if (el > MAXEL) dims[0] = 1, dims[1] = 1;
        p[np] = ad_param_new((ad_dtype)dt, nd, dims);
        if (!p[np]) finding("ad_param_new", NULL);
        off += ad_param_numel(p[np]) * (dt ? 8 : 4);
    }
    return np;
}

/* The shapes of the seed corpus: float32 [2,3] and float64 [3]. */
static size_t params_fixed(ad_param **p)
{
    p[0] = ad_param_new(AD_F32, 2, (size_t[]){2, 3});
    p[1] = ad_param_new(AD_F64, 1, (size_t[]){3});
    return 2;
}

static size_t bytes_of(ad_param *p)
{
    return ad_param_numel(p) * (ad_param_dtype(p) == AD_F32 ? 4 : 8);
}

static void fuzz_paramfile(unsigned mode, const uint8_t *data, size_t size)
{
    uint8_t *b = malloc(size ? size : 1);
    memcpy(b, data, size);
    /* usually a correct checksum, so the structure behind it gets fuzzed */
    if ((mode & 8) && size >= 4) {
        uint32_t c = ad_crc32(0, b, size - 4);
        for (int i = 0; i < 4; i++)
            b[size - 4 + i] = (uint8_t)(c >> (8 * i));
    }
    ad_param *p[MAXP];
    size_t np = (mode & 16) ? params_fixed(p) : params_from_header(b, size, p);
    static const size_t caps[4] = {0, 4, 16, 1024};
    size_t cap = caps[(mode >> 5) & 3];
    /* a recognisable pattern: a refused file must leave it as it was */
    uint8_t *before = malloc(MAXP * MAXEL * 8 + 1);
    size_t off = 0;
    for (size_t i = 0; i < np; i++) {
        memset(ad_param_value(p[i]), 0xA5, bytes_of(p[i]));
        memcpy(before + off, ad_param_value(p[i]), bytes_of(p[i]));
        off += bytes_of(p[i]);
    }
    uint8_t meta[1024];
    size_t meta_len = 7777;
    char err[300];
    ad_status s = ad_paramfile_parse(b, size, "ad_params_load", file, p, np, cap ? meta : NULL, cap,
                                     &meta_len);
    snprintf(err, sizeof err, "%s", ad_last_error());
    if (s != AD_OK) {
        if (s != AD_ERR_FORMAT) finding("parse: unexpected status", ad_status_name(s));
        if (strncmp(err, "ad_params_load: ", 16) != 0) finding("parse: message", err);
        off = 0;
        for (size_t i = 0; i < np; i++) {
            if (memcmp(before + off, ad_param_value(p[i]), bytes_of(p[i])) != 0)
                finding("a refused file changed a parameter", err);
            off += bytes_of(p[i]);
        }
        if (meta_len != 7777) finding("a refused file set meta_len", err);
    } else {
        /* loaded: saving what was loaded must give back the same bytes */
        if (meta_len > cap) finding("meta_len beyond meta_cap", NULL);
        ad_status w = ad_params_save(saved, p, np, meta, meta_len);
        if (w != AD_OK) finding("cannot save what was loaded", ad_last_error());
        size_t n;
        uint8_t *again = read_file(saved, &n);
        if (n != size || memcmp(again, b, size) != 0) finding("load/save roundtrip differs", NULL);
        free(again);
    }
    /* the same bytes through a real file: the same verdict */
    write_file(file, b, size);
    for (size_t i = 0; i < np; i++)
        memset(ad_param_value(p[i]), 0xA5, bytes_of(p[i]));
    char err2[300];
    ad_status s2 = ad_params_load(file, p, np, cap ? meta : NULL, cap, &meta_len);
    snprintf(err2, sizeof err2, "%s", ad_last_error());
    if (s2 != s) finding("ad_params_load and ad_paramfile_parse disagree", err2);
    if (s2 != AD_OK && strcmp(err, err2) != 0) finding("different messages", err2);
    /* ad_params_info accepts every file a load accepts, with its count and
     * meta; what it refuses no load accepts */
    size_t count = 7777, info_len = 7777;
    uint8_t info_meta[1024];
    ad_status si = ad_params_info(file, &count, info_meta, cap, &info_len);
    snprintf(err2, sizeof err2, "%s", ad_last_error());
    if (si != AD_OK && si != AD_ERR_FORMAT) finding("info: unexpected status", ad_status_name(si));
    if (si != AD_OK && strncmp(err2, "ad_params_info: ", 16) != 0) finding("info: message", err2);
    if (s == AD_OK && si != AD_OK) finding("info refuses a file the load accepts", err2);
    if (s == AD_OK && (count != np || info_len != meta_len || memcmp(info_meta, meta, meta_len)))
        finding("info and load disagree on count or meta", NULL);
    if (si != AD_OK && (count != 7777 || info_len != 7777))
        finding("a refused file set outputs", err2);
    for (size_t i = 0; i < np; i++)
        ad_param_free(p[i]);
    free(before);
    free(b);
}

/* ===================================================== MLP checkpoints */

/* Every parameter of the model and of the optimizer, in order. */
static size_t all_params(ad_nn *m, ad_opt *o, ad_param **out)
{
    size_t n = 0, k;
    ad_param *const *p = ad_nn_params(m, &k);
    for (size_t i = 0; i < k && n < 64; i++)
        out[n++] = p[i];
    if (o) {
        p = ad_opt_state(o, &k);
        for (size_t i = 0; i < k && n < 64; i++)
            out[n++] = p[i];
    }
    return n;
}

/* A 2-3 tanh-2 softmax float32 model, with an Adam optimizer when bit 16 of
 * mode is set: a refused checkpoint leaves both untouched, and one that
 * loads is exactly what ad_nn_save writes for what was loaded. */
static void fuzz_nn(unsigned mode, const uint8_t *data, size_t size)
{
    uint8_t *b = malloc(size ? size : 1);
    memcpy(b, data, size);
    if ((mode & 8) && size >= 4) {
        uint32_t c = ad_crc32(0, b, size - 4);
        for (int i = 0; i < 4; i++)
            b[size - 4 + i] = (uint8_t)(c >> (8 * i));
    }
    write_file(file, b, size);
    ad_nn_layer_spec hidden = {3, AD_ACT_TANH, 0, false, 0, false};
    ad_nn_spec spec = {2,      1, &hidden, 2, AD_HEAD_SOFTMAX, AD_LOSS_DEFAULT, AD_INIT_DEFAULT,
                       AD_F32, 7, 0};
    ad_nn *m = ad_nn_new(&spec);
    if (!m) finding("ad_nn_new", ad_last_error());
    ad_opt *o = NULL;
    if (mode & 16) {
        ad_opt_config cfg = {.kind = AD_OPT_ADAM};
        size_t n;
        ad_param *const *mp = ad_nn_params(m, &n);
        o = ad_opt_new(&cfg, mp, n);
        if (!o) finding("ad_opt_new", ad_last_error());
    }
    ad_param *p[64];
    size_t np = all_params(m, o, p), total = 0;
    for (size_t i = 0; i < np; i++)
        total += bytes_of(p[i]);
    uint8_t *before = malloc(total + 1);
    for (size_t i = 0, off = 0; i < np; off += bytes_of(p[i]), i++)
        memcpy(before + off, ad_param_value(p[i]), bytes_of(p[i]));
    uint64_t steps = o ? ad_opt_steps(o) : 0, epoch = o ? ad_opt_epoch(o) : 0;
    ad_status s = ad_nn_load(file, m, o);
    if (s != AD_OK) {
        if (s != AD_ERR_FORMAT) finding("ad_nn_load: unexpected status", ad_status_name(s));
        if (strncmp(ad_last_error(), "ad_nn_load", 10) != 0)
            finding("ad_nn_load: message", ad_last_error());
        for (size_t i = 0, off = 0; i < np; off += bytes_of(p[i]), i++)
            if (memcmp(before + off, ad_param_value(p[i]), bytes_of(p[i])) != 0)
                finding("a refused checkpoint changed the model", ad_last_error());
        if (o && (ad_opt_steps(o) != steps || ad_opt_epoch(o) != epoch))
            finding("a refused checkpoint changed the optimizer", ad_last_error());
    } else {
        if (ad_nn_save(saved, m, o) != AD_OK) finding("ad_nn_save", ad_last_error());
        size_t n;
        uint8_t *again = read_file(saved, &n);
        if (n != size || memcmp(again, b, size) != 0) finding("checkpoint roundtrip differs", NULL);
        free(again);
    }
    free(before);
    ad_opt_free(o);
    ad_nn_free(m);
    free(b);
}

/* ========================================================= IDX files */

#include "idx_oracle.h"

static void fuzz_idx(bool images, const uint8_t *b, size_t size)
{
    write_file(file, b, size);
    size_t dims[3], total = 0;
    int valid = idx_valid(b, size, images ? 3 : 1, dims, &total);
    const char *fn = images ? "ad_idx_read_images: " : "ad_idx_read_labels: ";
    ad_status s;
    if (images) {
        float *px = (float *)1;
        size_t c = 9, r = 9, w = 9;
        s = ad_idx_read_images(file, &px, &c, &r, &w);
        if (s == AD_OK) {
            if (!valid) finding("an invalid image file was accepted", NULL);
            if (c != dims[0] || r != dims[1] || w != dims[2]) finding("wrong image dims", NULL);
            for (size_t i = 0; i < total; i++)
                if (px[i] != (float)b[16 + i] / 255.0f) finding("wrong pixel", NULL);
        } else if (px || c || r || w) {
            finding("a refused image file left outputs set", ad_last_error());
        }
        ad_free(s == AD_OK ? px : NULL);
    } else {
        int32_t *lab = (int32_t *)1;
        size_t c = 9;
        s = ad_idx_read_labels(file, &lab, &c);
        if (s == AD_OK) {
            if (!valid) finding("an invalid label file was accepted", NULL);
            if (c != dims[0]) finding("wrong label count", NULL);
            for (size_t i = 0; i < total; i++)
                if (lab[i] != b[8 + i]) finding("wrong label", NULL);
        } else if (lab || c) {
            finding("a refused label file left outputs set", ad_last_error());
        }
        ad_free(s == AD_OK ? lab : NULL);
    }
    if (s != AD_OK) {
        if (valid) finding("a valid IDX file was refused", ad_last_error());
        if (s != AD_ERR_FORMAT) finding("IDX: unexpected status", ad_last_error());
        if (strncmp(ad_last_error(), fn, strlen(fn)) != 0) finding("IDX: message", ad_last_error());
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    setup();
    unsigned mode = data[0];
    switch (mode % 4) {
    case 0:
        fuzz_paramfile(mode, data + 1, size - 1);
        break;
    case 1:
        if (mode & 0x80)
            fuzz_nn(mode, data + 1, size - 1);
        else
            fuzz_paramfile(mode, data + 1, size - 1);
        break;
    case 2:
        fuzz_idx(true, data + 1, size - 1);
        break;
    default:
        fuzz_idx(false, data + 1, size - 1);
        break;
    }
    return 0;
}
