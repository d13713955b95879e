/* SPDX-License-Identifier: MIT
 * Parameter files: bit-exact roundtrips, an explicit byte layout, and refusal
 * of every truncation, every bit flip and every kind of mismatch with the
 * parameters left untouched; atomic saves that never damage the old file. */
#include "common.h"
#include "io/crc32.h"
#include "io/paramfile.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- per-test temporary directory */

static char dir[64];

static void dir_setup(void)
{
    strcpy(dir, "/tmp/adtape-paramfile-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        remove(path);
        return;
    }
    struct dirent *e;
    char sub[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
    closedir(d);
    rmdir(path);
}

static void dir_teardown(void)
{
    remove_tree(dir);
}

TestSuite(paramfile, .init = dir_setup, .fini = dir_teardown);

static const char *in_dir(const char *name)
{
    static char buf[2][256];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static size_t entries_in(const char *path)
{
    DIR *d = opendir(path);
    cr_assert_not_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const void *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* Rewrites the trailing CRC so a hand-edited file passes the checksum and
 * reaches the check the test is about. */
static void fix_crc(unsigned char *b, size_t len)
{
    uint32_t c = ad_crc32(0, b, len - 4);
    for (int i = 0; i < 4; i++)
        b[len - 4 + i] = (unsigned char)(c >> (8 * i));
}

/* ---- parameter sets */

typedef struct pset {
    ad_param *p[4];
    size_t n;
} pset;

static ad_param *mk(ad_dtype dt, size_t nd, const size_t *dims, uint64_t seed)
{
    ad_param *p = ad_param_new(dt, nd, dims);
    cr_assert_not_null(p);
    ad_param_uniform(p, -2, 2, seed);
    return p;
}

static pset four_params(uint64_t seed)
{
    pset s = {{mk(AD_F32, 2, (size_t[]){3, 4}, seed), mk(AD_F64, 1, (size_t[]){5}, seed + 1),
               mk(AD_F32, 3, (size_t[]){2, 1, 3}, seed + 2),
               mk(AD_F64, 4, (size_t[]){1, 2, 2, 2}, seed + 3)},
              4};
    return s;
}

static void pset_free(pset *s)
{
    for (size_t i = 0; i < s->n; i++)
        ad_param_free(s->p[i]);
}

static size_t pbytes(ad_param *p)
{
    return ad_param_numel(p) * (ad_param_dtype(p) == AD_F32 ? 4 : 8);
}

static bool same_values(const pset *a, const pset *b)
{
    for (size_t i = 0; i < a->n; i++)
        if (memcmp(ad_param_value(a->p[i]), ad_param_value(b->p[i]), pbytes(a->p[i])) != 0)
            return false;
    return true;
}

#define ASSERT_MSG(msg, needle)                                                                    \
    cr_assert(strstr((msg), (needle)) != NULL, "message \"%s\" lacks \"%s\"", (msg), (needle))

/* ---- roundtrips and layout */

Test(paramfile, crc32_matches_the_standard_check_value)
{
    cr_assert_eq(ad_crc32(0, "123456789", 9), 0xCBF43926u);
    cr_assert_eq(ad_crc32(ad_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
    cr_assert_eq(ad_crc32(0, "", 0), 0u);
}

Test(paramfile, roundtrip_is_bit_exact_for_float32_and_float64_params_of_several_shapes_with_meta)
{
    pset a = four_params(11), b = four_params(99);
    /* values that a lossy or text path would mangle */
    float *f = ad_param_value(a.p[0]);
    double *d = ad_param_value(a.p[1]);
    uint32_t nan32 = 0x7fc12345u;
    uint64_t nan64 = 0x7ff8000000abcdefu;
    memcpy(&f[0], &nan32, 4);
    f[1] = -0.0f;
    f[2] = INFINITY;
    f[3] = 1e-45f;
    memcpy(&d[0], &nan64, 8);
    d[1] = -(double)INFINITY;
    d[2] = 4.9e-324;
    const char meta[] = "step=1234 epoch=7";
    char got[64] = {0};
    size_t got_len = 0;
    cr_assert_eq(ad_params_save(in_dir("w.adp"), a.p, 4, meta, sizeof meta), AD_OK, "%s",
                 ad_last_error());
    cr_assert_eq(ad_last_error()[0], '\0');
    cr_assert(!same_values(&a, &b));
    cr_assert_eq(ad_params_load(in_dir("w.adp"), b.p, 4, got, sizeof got, &got_len), AD_OK, "%s",
                 ad_last_error());
    cr_assert(same_values(&a, &b));
    cr_assert_eq(got_len, sizeof meta);
    cr_assert_str_eq(got, meta);
    cr_assert_eq(entries_in(dir), 1, "a temporary file was left behind");
    pset_free(&a);
    pset_free(&b);
}

Test(paramfile, roundtrip_works_without_meta_and_with_no_params)
{
    pset a = four_params(1), b = four_params(2);
    size_t ml = 77;
    cr_assert_eq(ad_params_save(in_dir("a"), a.p, 4, NULL, 0), AD_OK, "%s", ad_last_error());
    cr_assert_eq(ad_params_load(in_dir("a"), b.p, 4, NULL, 0, &ml), AD_OK, "%s", ad_last_error());
    cr_assert(same_values(&a, &b));
    cr_assert_eq(ml, 0);
    cr_assert_eq(ad_params_save(in_dir("e"), NULL, 0, "x", 1), AD_OK);
    char m = 0;
    cr_assert_eq(ad_params_load(in_dir("e"), NULL, 0, &m, 1, NULL), AD_OK);
    cr_assert_eq(m, 'x');
    pset_free(&a);
    pset_free(&b);
}

Test(paramfile, writes_the_documented_little_endian_layout)
{
    ad_param *p = ad_param_new(AD_F32, 2, (size_t[]){1, 2});
    float *v = ad_param_value(p);
    v[0] = 1.0f;  /* 0x3f800000 */
    v[1] = -2.0f; /* 0xc0000000 */
    cr_assert_eq(ad_params_save(in_dir("l"), &p, 1, "M", 1), AD_OK);
    const unsigned char want[] = {
        'A',  'D',  'T',  'P',  'A',  'R',  'A',  'M', /* magic */
        1,    0,    0,    0,                           /* version */
        1,    0,    0,    0,    0,    0,    0,    0,   /* count */
        0,    0,    0,    0,    2,    0,    0,    0,   /* dtype f32, ndim 2 */
        1,    0,    0,    0,    0,    0,    0,    0,    2,   0, 0, 0, 0, 0, 0, 0, /* dims */
        0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,                           /* data */
        1,    0,    0,    0,    0,    0,    0,    0,    'M',                      /* meta */
    };
    size_t len;
    unsigned char *got = slurp(in_dir("l"), &len);
    cr_assert_eq(len, sizeof want + 4);
    cr_assert_eq(memcmp(got, want, sizeof want), 0);
    uint32_t c = ad_crc32(0, want, sizeof want);
    cr_assert_eq(
        got[len - 4] | got[len - 3] << 8 | got[len - 2] << 16 | (uint32_t)got[len - 1] << 24, c);
    free(got);
    ad_param_free(p);
}

/* ---- damaged files */

/* A small file (one [2,2] float32 param, 3 bytes of meta) and a parameter
 * holding different values that every failed load must leave alone. */
static unsigned char *small_file(ad_param **target, size_t *len)
{
    ad_param *src = mk(AD_F32, 2, (size_t[]){2, 2}, 5);
    cr_assert_eq(ad_params_save(in_dir("src"), &src, 1, "abc", 3), AD_OK);
    ad_param_free(src);
    *target = mk(AD_F32, 2, (size_t[]){2, 2}, 6);
    return slurp(in_dir("src"), len);
}

static void assert_refused_unchanged(const char *path, ad_param *p, const float *before,
                                     const char *what, const char *needle)
{
    char meta[8] = "zzzzzzz";
    size_t ml = 42;
    ad_status s = ad_params_load(path, &p, 1, meta, sizeof meta, &ml);
    cr_assert_eq(s, AD_ERR_FORMAT, "%s: got %s (%s)", what, ad_status_name(s), ad_last_error());
    cr_assert(strstr(ad_last_error(), "ad_params_load: ") == ad_last_error() &&
                  strstr(ad_last_error(), path),
              "%s: %s", what, ad_last_error());
    if (needle) ASSERT_MSG(ad_last_error(), needle);
    cr_assert_eq(memcmp(ad_param_value(p), before, 4 * sizeof(float)), 0, "%s changed values",
                 what);
    cr_assert_str_eq(meta, "zzzzzzz", "%s changed meta", what);
    cr_assert_eq(ml, 42, "%s changed meta_len", what);
}

Test(paramfile, every_truncated_prefix_is_refused_and_changes_nothing)
{
    ad_param *p;
    size_t len;
    unsigned char *b = small_file(&p, &len);
    float before[4];
    memcpy(before, ad_param_value(p), sizeof before);
    char what[64];
    for (size_t k = 0; k < len; k++) {
        spit(in_dir("cut"), b, k);
        snprintf(what, sizeof what, "prefix of %zu/%zu bytes", k, len);
        assert_refused_unchanged(in_dir("cut"), p, before, what, NULL);
    }
    free(b);
    ad_param_free(p);
}

Test(paramfile, every_single_bit_flip_is_refused_and_changes_nothing)
{
    ad_param *p;
    size_t len;
    unsigned char *b = small_file(&p, &len);
    float before[4];
    memcpy(before, ad_param_value(p), sizeof before);
    char what[64];
    for (size_t bit = 0; bit < 8 * len; bit++) {
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        spit(in_dir("flip"), b, len);
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        snprintf(what, sizeof what, "bit %zu of byte %zu", bit % 8, bit / 8);
        assert_refused_unchanged(in_dir("flip"), p, before, what, NULL);
    }
    free(b);
    ad_param_free(p);
}

/* Edits byte `at` of the small file to v (CRC fixed up) and checks the load
 * is refused with `needle` in the message. */
static void refuse_edited(size_t at, unsigned char v, bool recrc, const char *needle)
{
    ad_param *p;
    size_t len;
    unsigned char *b = small_file(&p, &len);
    float before[4];
    memcpy(before, ad_param_value(p), sizeof before);
    b[at] = v;
    if (recrc) fix_crc(b, len);
    spit(in_dir("edit"), b, len);
    assert_refused_unchanged(in_dir("edit"), p, before, needle, needle);
    free(b);
    ad_param_free(p);
}

Test(paramfile, wrong_magic_is_refused_by_name)
{
    refuse_edited(0, 'X', false, "wrong magic: not an adtape parameter file");
    refuse_edited(7, 'm', true, "wrong magic");
}

Test(paramfile, wrong_version_is_refused_by_name)
{
    refuse_edited(8, 2, true, "unsupported format version 2 (this library reads version 1)");
    refuse_edited(11, 1, false, "unsupported format version 16777217");
}

Test(paramfile, damaged_checksum_is_refused_by_name)
{
    refuse_edited(30, 0xee, false, "checksum mismatch");
}

Test(paramfile, unknown_dtype_and_bad_dimension_count_are_refused_by_name)
{
    refuse_edited(20, 7, true, "parameter 0: unknown dtype 7");
    refuse_edited(24, 5, true, "parameter 0: 5 dimensions; parameters have 1 to 4");
    refuse_edited(24, 0, true, "parameter 0: 0 dimensions");
}

Test(paramfile, wrong_count_is_refused_by_name)
{
    pset a = four_params(3);
    cr_assert_eq(ad_params_save(in_dir("c"), a.p, 3, NULL, 0), AD_OK);
    cr_assert_eq(ad_params_load(in_dir("c"), a.p, 4, NULL, 0, NULL), AD_ERR_FORMAT);
    ASSERT_MSG(ad_last_error(), "wrong parameter count: file has 3, expected 4");
    cr_assert_eq(ad_params_load(in_dir("c"), a.p, 2, NULL, 0, NULL), AD_ERR_FORMAT);
    ASSERT_MSG(ad_last_error(), "wrong parameter count: file has 3, expected 2");
    pset_free(&a);
}

Test(paramfile, wrong_dtype_is_refused_by_name_and_changes_nothing)
{
    pset a = four_params(3), b = four_params(4);
    ad_param *f64 = mk(AD_F64, 2, (size_t[]){3, 4}, 8);
    ad_param *saved = a.p[0];
    a.p[0] = f64;
    cr_assert_eq(ad_params_save(in_dir("d"), a.p, 4, NULL, 0), AD_OK);
    a.p[0] = saved;
    pset c = four_params(4);
    cr_assert_eq(ad_params_load(in_dir("d"), b.p, 4, NULL, 0, NULL), AD_ERR_FORMAT);
    ASSERT_MSG(ad_last_error(), "ad_params_load: ");
    ASSERT_MSG(ad_last_error(), in_dir("d"));
    ASSERT_MSG(ad_last_error(), "wrong dtype: file has float64, parameter 0 is float32");
    cr_assert(same_values(&b, &c));
    ad_param_free(f64);
    pset_free(&a);
    pset_free(&b);
    pset_free(&c);
}

Test(paramfile, wrong_shape_is_refused_naming_both_shapes_and_changes_nothing)
{
    pset a = four_params(3), b = four_params(4), c = four_params(4);
    ad_param *p34 = mk(AD_F32, 2, (size_t[]){3, 4}, 8), *p43 = mk(AD_F32, 2, (size_t[]){4, 3}, 9);
    ad_param *sa = a.p[2], *sb = b.p[2];
    a.p[2] = p34;
    b.p[2] = p43;
    cr_assert_eq(ad_params_save(in_dir("s"), a.p, 4, NULL, 0), AD_OK);
    float keep[12];
    memcpy(keep, ad_param_value(p43), sizeof keep);
    cr_assert_eq(ad_params_load(in_dir("s"), b.p, 4, NULL, 0, NULL), AD_ERR_FORMAT);
    ASSERT_MSG(ad_last_error(), "wrong shape: file has [3,4], parameter 2 is [4,3]");
    cr_assert_eq(memcmp(keep, ad_param_value(p43), sizeof keep), 0);
    /* the earlier parameters, which matched, were not written either */
    b.p[2] = sb;
    cr_assert(same_values(&b, &c));
    /* a different rank with the same element count */
    ad_param *p12 = mk(AD_F32, 1, (size_t[]){12}, 10);
    b.p[2] = p12;
    cr_assert_eq(ad_params_load(in_dir("s"), b.p, 4, NULL, 0, NULL), AD_ERR_FORMAT);
    ASSERT_MSG(ad_last_error(), "wrong shape: file has [3,4], parameter 2 is [12]");
    b.p[2] = sb;
    a.p[2] = sa;
    ad_param_free(p34);
    ad_param_free(p43);
    ad_param_free(p12);
    pset_free(&a);
    pset_free(&b);
    pset_free(&c);
}

Test(paramfile, meta_larger_than_the_buffer_is_refused_by_name)
{
    pset a = four_params(3);
    char meta[4] = "xyz";
    size_t ml = 5;
    cr_assert_eq(ad_params_save(in_dir("m"), a.p, 4, "0123456789", 10), AD_OK);
    cr_assert_eq(ad_params_load(in_dir("m"), a.p, 4, meta, sizeof meta, &ml), AD_ERR_FORMAT);
    ASSERT_MSG(ad_last_error(), "meta is 10 bytes; the buffer holds 4");
    cr_assert_str_eq(meta, "xyz");
    cr_assert_eq(ml, 5);
    pset_free(&a);
}

Test(paramfile, trailing_bytes_are_refused_by_name)
{
    ad_param *p;
    size_t len;
    unsigned char *b = small_file(&p, &len);
    float before[4];
    memcpy(before, ad_param_value(p), sizeof before);
    unsigned char *longer = malloc(len + 3);
    memcpy(longer, b, len - 4);
    memcpy(longer + len - 4, "!!!", 3);
    fix_crc(longer, len + 3);
    spit(in_dir("t"), longer, len + 3);
    assert_refused_unchanged(in_dir("t"), p, before, "trailing bytes",
                             "3 unexpected bytes after the meta data");
    free(longer);
    free(b);
    ad_param_free(p);
}

Test(paramfile, a_file_far_larger_than_the_params_is_refused_without_reading_it)
{
    ad_param *p = mk(AD_F32, 1, (size_t[]){1}, 1);
    size_t len = 200000;
    unsigned char *b = calloc(len, 1);
    memcpy(b, "ADTPARAM\1", 9);
    spit(in_dir("big"), b, len);
    cr_assert_eq(ad_params_load(in_dir("big"), &p, 1, NULL, 0, NULL), AD_ERR_FORMAT);
    ASSERT_MSG(ad_last_error(), "file is 200000 bytes, more than 1 parameters");
    free(b);
    ad_param_free(p);
}

/* ---- I/O errors */

Test(paramfile, loading_a_missing_file_fails_with_io_error_naming_the_path)
{
    ad_param *p = mk(AD_F32, 1, (size_t[]){1}, 1);
    cr_assert_eq(ad_params_load(in_dir("nope"), &p, 1, NULL, 0, NULL), AD_ERR_IO);
    ASSERT_MSG(ad_last_error(), "ad_params_load: ");
    ASSERT_MSG(ad_last_error(), in_dir("nope"));
    ASSERT_MSG(ad_last_error(), "No such file or directory");
    cr_assert_eq(ad_params_load(dir, &p, 1, NULL, 0, NULL), AD_ERR_IO);
    ASSERT_MSG(ad_last_error(), "not a regular file");
    ad_param_free(p);
}

Test(paramfile, saving_into_a_missing_directory_fails_with_io_error_naming_the_path)
{
    ad_param *p = mk(AD_F32, 1, (size_t[]){1}, 1);
    const char *path = in_dir("missing/w.adp");
    cr_assert_eq(ad_params_save(path, &p, 1, NULL, 0), AD_ERR_IO);
    ASSERT_MSG(ad_last_error(), "ad_params_save: ");
    ASSERT_MSG(ad_last_error(), path);
    ASSERT_MSG(ad_last_error(), "No such file or directory");
    cr_assert_eq(entries_in(dir), 0);
    ad_param_free(p);
}

Test(paramfile, a_save_failing_on_memory_leaves_the_previous_file_byte_identical)
{
    pset a = four_params(1), b = four_params(2);
    const char *path = in_dir("w");
    cr_assert_eq(ad_params_save(path, a.p, 4, "old", 3), AD_OK);
    size_t len0, len1;
    unsigned char *old = slurp(path, &len0);
    ad_status s = AD_ERR_NOMEM;
    long k;
    for (k = 0; k < 100; k++) {
        size_t live = ad_debug_live_allocs();
        ad_debug_fail_alloc_after(k);
        s = ad_params_save(path, b.p, 4, "new", 3);
        ad_debug_fail_alloc_after(-1);
        cr_assert_eq(ad_debug_live_allocs(), live, "leak after failing allocation %ld", k);
        cr_assert_eq(entries_in(dir), 1, "a temporary file was left behind");
        if (s == AD_OK) break;
        cr_assert_eq(s, AD_ERR_NOMEM, "%s", ad_last_error());
        ASSERT_MSG(ad_last_error(), path);
        unsigned char *now = slurp(path, &len1);
        cr_assert(len1 == len0 && memcmp(now, old, len0) == 0, "file changed at k=%ld", k);
        free(now);
    }
    cr_assert_eq(s, AD_OK);
    cr_assert_gt(k, 0, "the save never allocated, so nothing was injected");
    free(old);
    pset_free(&a);
    pset_free(&b);
}

Test(paramfile, a_save_failing_on_write_leaves_the_previous_file_byte_identical)
{
    pset a = four_params(1);
    ad_param *big = mk(AD_F64, 2, (size_t[]){100, 100}, 3);
    const char *path = in_dir("w");
    cr_assert_eq(ad_params_save(path, a.p, 4, NULL, 0), AD_OK);
    size_t len0, len1;
    unsigned char *old = slurp(path, &len0);
    /* a file size limit makes the write itself fail with EFBIG, as a full
     * disk would (and works when the tests run as root) */
    struct rlimit lim, small = {.rlim_cur = 4096};
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &lim), 0);
    small.rlim_max = lim.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    ad_status s = ad_params_save(path, &big, 1, NULL, 0);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    signal(SIGXFSZ, SIG_DFL);
    cr_assert_eq(s, AD_ERR_IO, "%s", ad_last_error());
    ASSERT_MSG(ad_last_error(), path);
    ASSERT_MSG(ad_last_error(), "cannot write temporary file");
    ASSERT_MSG(ad_last_error(), "File too large");
    unsigned char *now = slurp(path, &len1);
    cr_assert(len1 == len0 && memcmp(now, old, len0) == 0);
    cr_assert_eq(entries_in(dir), 1, "a temporary file was left behind");
    free(old);
    free(now);
    ad_param_free(big);
    pset_free(&a);
}

Test(paramfile, a_save_failing_on_rename_removes_its_temporary_file)
{
    ad_param *p = mk(AD_F32, 1, (size_t[]){3}, 1);
    /* the target is a non-empty directory, so the rename over it fails */
    const char *target = in_dir("sub");
    cr_assert_eq(mkdir(target, 0700), 0);
    spit(in_dir("sub/keep"), "k", 1);
    cr_assert_eq(ad_params_save(target, &p, 1, NULL, 0), AD_ERR_IO);
    ASSERT_MSG(ad_last_error(), "cannot rename");
    ASSERT_MSG(ad_last_error(), target);
    cr_assert_eq(entries_in(dir), 1, "a temporary file was left behind");
    cr_assert_eq(entries_in(target), 1);
    ad_param_free(p);
}

Test(paramfile, bad_arguments_are_refused_as_invalid)
{
    ad_param *p[2] = {mk(AD_F32, 1, (size_t[]){3}, 1), NULL};
    cr_assert_eq(ad_params_save(NULL, p, 1, NULL, 0), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(), "ad_params_save: path is NULL");
    cr_assert_eq(ad_params_load(NULL, p, 1, NULL, 0, NULL), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(), "ad_params_load: path is NULL");
    cr_assert_eq(ad_params_save("", p, 1, NULL, 0), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(), "ad_params_save: path is empty");
    cr_assert_eq(ad_params_save(in_dir("x"), p, 2, NULL, 0), AD_ERR_INVALID);
    ASSERT_MSG(ad_last_error(), "parameter 1 is NULL");
    cr_assert_eq(ad_params_save(in_dir("x"), NULL, 1, NULL, 0), AD_ERR_INVALID);
    cr_assert_eq(ad_params_save(in_dir("x"), p, 1, NULL, 4), AD_ERR_INVALID);
    ASSERT_MSG(ad_last_error(), "meta is NULL but meta_len is 4");
    cr_assert_eq(ad_params_load(in_dir("x"), p, 1, NULL, 4, NULL), AD_ERR_INVALID);
    cr_assert_eq(entries_in(dir), 0);
    cr_assert_eq(ad_params_save(NULL, p, 1, NULL, 0), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(), "ad_params_save: path is NULL");
    ad_param_free(p[0]);
}

/* ---- concurrency and hostile file system entries */

typedef struct saver {
    const char *path;
    double value;
    int failures;
    char err[256]; /* the thread's last message: ad_last_error is per thread */
} saver;

static void *save_many(void *arg)
{
    saver *sv = arg;
    ad_param *p = ad_param_new(AD_F64, 1, (size_t[]){20000});
    double *x = ad_param_value(p);
    for (size_t i = 0; i < 20000; i++)
        x[i] = sv->value;
    for (int k = 0; k < 40; k++)
        if (ad_params_save(sv->path, &p, 1, NULL, 0) != AD_OK) {
            sv->failures++;
            snprintf(sv->err, sizeof sv->err, "%s", ad_last_error());
        }
    ad_param_free(p);
    return NULL;
}

Test(paramfile, concurrent_saves_to_one_path_each_land_whole)
{
    /* each thread's save writes a file of its own, so none fails and the
     * survivor is one thread's file, whole (they shared one temporary name) */
    saver sv[2] = {{in_dir("w"), 1.0, 0, ""}, {in_dir("w"), 2.0, 0, ""}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, save_many, &sv[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(sv[i].failures, 0, "thread %d: %d saves failed, last: %s", i, sv[i].failures,
                     sv[i].err);
    ad_param *p = ad_param_new(AD_F64, 1, (size_t[]){20000});
    cr_assert_eq(ad_params_load(in_dir("w"), &p, 1, NULL, 0, NULL), AD_OK, "%s", ad_last_error());
    const double *x = ad_param_value(p);
    cr_assert(x[0] == 1.0 || x[0] == 2.0);
    for (size_t i = 1; i < 20000; i++)
        cr_assert_eq(x[i], x[0]);
    cr_assert_eq(entries_in(dir), 1, "a temporary file was left behind");
    ad_param_free(p);
}

Test(paramfile, a_file_name_near_the_length_limit_can_be_saved)
{
    /* 250 bytes is a legal name; the temporary name beside it must be too */
    char path[400], name[251];
    memset(name, 'n', 250);
    name[250] = '\0';
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ad_param *p = mk(AD_F32, 1, (size_t[]){3}, 1), *q = mk(AD_F32, 1, (size_t[]){3}, 2);
    cr_assert_eq(ad_params_save(path, &p, 1, NULL, 0), AD_OK, "%s", ad_last_error());
    cr_assert_eq(ad_params_load(path, &q, 1, NULL, 0, NULL), AD_OK, "%s", ad_last_error());
    cr_assert_eq(memcmp(ad_param_value(p), ad_param_value(q), 12), 0);
    cr_assert_eq(entries_in(dir), 1);
    ad_param_free(p);
    ad_param_free(q);
}

Test(paramfile, a_save_never_writes_through_a_link_planted_at_a_temporary_name)
{
    /* links at the old fixed temporary name and at the first few new ones,
     * all pointing at a file the save must not touch */
    char victim[300];
    snprintf(victim, sizeof victim, "%s", in_dir("victim"));
    spit(victim, "precious", 8);
    char link[300];
    snprintf(link, sizeof link, "%s.tmp.%ld", in_dir("w"), (long)getpid());
    cr_assert_eq(symlink(victim, link), 0);
    for (int i = 0; i < 4; i++) {
        snprintf(link, sizeof link, "%s.tmp.%ld.%d", in_dir("w"), (long)getpid(), i);
        cr_assert_eq(symlink(victim, link), 0);
    }
    ad_param *p = mk(AD_F32, 1, (size_t[]){3}, 1);
    cr_assert_eq(ad_params_save(in_dir("w"), &p, 1, NULL, 0), AD_OK, "%s", ad_last_error());
    size_t len;
    unsigned char *b = slurp(victim, &len);
    cr_assert(len == 8 && memcmp(b, "precious", 8) == 0, "the save wrote through a link");
    free(b);
    struct stat st;
    cr_assert_eq(lstat(in_dir("w"), &st), 0);
    cr_assert(S_ISREG(st.st_mode));
    cr_assert_eq(entries_in(dir), 7, "the save left a temporary file or removed a link");
    ad_param_free(p);
}

Test(paramfile, a_saved_file_has_the_default_permissions)
{
    mode_t old = umask(022);
    ad_param *p = mk(AD_F32, 1, (size_t[]){3}, 1);
    cr_assert_eq(ad_params_save(in_dir("w"), &p, 1, NULL, 0), AD_OK);
    umask(old);
    struct stat st;
    cr_assert_eq(stat(in_dir("w"), &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0644, "mode %o", (unsigned)(st.st_mode & 0777));
    ad_param_free(p);
}

Test(paramfile, loading_a_fifo_is_refused_without_waiting_for_a_writer, .timeout = 20)
{
    const char *path = in_dir("fifo");
    cr_assert_eq(mkfifo(path, 0600), 0);
    ad_param *p = mk(AD_F32, 1, (size_t[]){3}, 1);
    cr_assert_eq(ad_params_load(path, &p, 1, NULL, 0, NULL), AD_ERR_IO);
    ASSERT_MSG(ad_last_error(), path);
    ASSERT_MSG(ad_last_error(), "not a regular file");
    ad_param_free(p);
}
