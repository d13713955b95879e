/* SPDX-License-Identifier: MIT
 * IDX reader: well-formed image and label files (regular files and pipes)
 * read exactly; every kind of malformed header or payload refused with
 * AD_ERR_FORMAT and a message saying what is wrong; missing files AD_ERR_IO. */
#include "adtape/data.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static void dir_setup(void)
{
    strcpy(dir, "/tmp/adtape-idx-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void dir_teardown(void)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char sub[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
            remove(sub);
        }
    closedir(d);
    rmdir(dir);
}

TestSuite(idx, .init = dir_setup, .fini = dir_teardown);

static const char *in_dir(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

/* An IDX image: magic 00 00 08 ndim, dims big-endian, payload. */
typedef struct blob {
    unsigned char b[4096];
    size_t len;
} blob;

static void put_be32(blob *x, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        x->b[x->len++] = (unsigned char)(v >> (8 * i));
}

static blob idx_blob(unsigned char dtype, unsigned ndim, const uint32_t *dims, size_t payload)
{
    blob x = {{0, 0, dtype, (unsigned char)ndim}, 4};
    for (unsigned k = 0; k < ndim; k++)
        put_be32(&x, dims[k]);
    for (size_t i = 0; i < payload; i++)
        x.b[x.len++] = (unsigned char)(i * 37 + 11);
    return x;
}

static const char *spit(const char *name, const void *b, size_t len)
{
    const char *path = in_dir(name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    return path;
}

#define ASSERT_MSG(msg, needle)                                                                    \
    cr_assert(strstr((msg), (needle)) != NULL, "message \"%s\" lacks \"%s\"", (msg), (needle))

/* Reads path as images and asserts a refusal with code and needle, outputs
 * cleared and the message naming function and path. */
static void refuse_images(const char *path, ad_status code, const char *needle)
{
    float *px = (float *)(uintptr_t)1;
    size_t n = 9, r = 9, c = 9;
    ad_status s = ad_idx_read_images(path, &px, &n, &r, &c);
    cr_assert_eq(s, code, "got %s (%s), wanted %s", ad_status_name(s), ad_last_error(),
                 ad_status_name(code));
    cr_assert(px == NULL && n == 0 && r == 0 && c == 0);
    cr_assert(strncmp(ad_last_error(), "ad_idx_read_images: ", 20) == 0, "%s", ad_last_error());
    ASSERT_MSG(ad_last_error(), path);
    ASSERT_MSG(ad_last_error(), needle);
}

static void refuse_labels(const char *path, ad_status code, const char *needle)
{
    int32_t *lab = (int32_t *)(uintptr_t)1;
    size_t n = 9;
    ad_status s = ad_idx_read_labels(path, &lab, &n);
    cr_assert_eq(s, code, "got %s (%s), wanted %s", ad_status_name(s), ad_last_error(),
                 ad_status_name(code));
    cr_assert(lab == NULL && n == 0);
    cr_assert(strncmp(ad_last_error(), "ad_idx_read_labels: ", 20) == 0, "%s", ad_last_error());
    ASSERT_MSG(ad_last_error(), path);
    ASSERT_MSG(ad_last_error(), needle);
}

/* ---- well-formed files */

Test(idx, reads_a_well_formed_image_file_with_bytes_scaled_to_the_unit_interval)
{
    blob x = idx_blob(0x08, 3, (uint32_t[]){3, 2, 4}, 24);
    x.b[16] = 0;
    x.b[17] = 255;
    const char *path = spit("img", x.b, x.len);
    float *px;
    size_t n, r, c;
    cr_assert_eq(ad_idx_read_images(path, &px, &n, &r, &c), AD_OK, "%s", ad_last_error());
    cr_assert(n == 3 && r == 2 && c == 4);
    cr_assert_eq(ad_last_error()[0], '\0');
    cr_assert_eq(px[0], 0.0f);
    cr_assert_eq(px[1], 1.0f);
    for (size_t i = 0; i < 24; i++)
        cr_assert_eq(px[i], (float)x.b[16 + i] / 255.0f, "pixel %zu", i);
    ad_free(px);
}

Test(idx, reads_a_well_formed_label_file)
{
    unsigned char lab[] = {0, 0, 8, 1, 0, 0, 0, 5, 9, 0, 3, 255, 7};
    int32_t *l;
    size_t n;
    cr_assert_eq(ad_idx_read_labels(spit("lab", lab, sizeof lab), &l, &n), AD_OK);
    cr_assert_eq(n, 5);
    int32_t want[] = {9, 0, 3, 255, 7};
    cr_assert_arr_eq(l, want, sizeof want);
    ad_free(l);
    ad_free(NULL);
}

Test(idx, reads_files_with_no_items)
{
    blob x = idx_blob(0x08, 3, (uint32_t[]){0, 28, 28}, 0);
    float *px;
    size_t n, r, c;
    cr_assert_eq(ad_idx_read_images(spit("e", x.b, x.len), &px, &n, &r, &c), AD_OK);
    cr_assert(n == 0 && r == 28 && c == 28);
    cr_assert_not_null(px);
    ad_free(px);
    blob y = idx_blob(0x08, 1, (uint32_t[]){0}, 0);
    int32_t *l;
    cr_assert_eq(ad_idx_read_labels(spit("f", y.b, y.len), &l, &n), AD_OK);
    cr_assert_eq(n, 0);
    ad_free(l);
}

/* Feeds len bytes of b through a FIFO from a child process. */
static const char *fifo_with(const void *b, size_t len, pid_t *child)
{
    const char *path = in_dir("fifo");
    cr_assert_eq(mkfifo(path, 0600), 0);
    *child = fork();
    cr_assert_neq(*child, -1);
    if (*child == 0) {
        FILE *f = fopen(path, "wb");
        size_t w = f ? fwrite(b, 1, len, f) : 0;
        _exit(f && w == len && fclose(f) == 0 ? 0 : 1);
    }
    return path;
}

Test(idx, reads_images_from_a_pipe_larger_than_its_read_chunk)
{
    /* 30 images of 28 x 28: 23520 bytes, more than one 16 KiB chunk */
    size_t len = 16 + 30 * 28 * 28;
    unsigned char *b = malloc(len);
    memcpy(b, (unsigned char[]){0, 0, 8, 3, 0, 0, 0, 30, 0, 0, 0, 28, 0, 0, 0, 28}, 16);
    for (size_t i = 16; i < len; i++)
        b[i] = (unsigned char)(i * 7);
    pid_t child;
    const char *path = fifo_with(b, len, &child);
    float *px;
    size_t n, r, c;
    cr_assert_eq(ad_idx_read_images(path, &px, &n, &r, &c), AD_OK, "%s", ad_last_error());
    int st;
    waitpid(child, &st, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cr_assert(n == 30 && r == 28 && c == 28);
    for (size_t i = 0; i < len - 16; i++)
        cr_assert_eq(px[i], (float)b[16 + i] / 255.0f, "pixel %zu", i);
    ad_free(px);
    free(b);
}

Test(idx, refuses_short_and_long_payloads_from_a_pipe)
{
    blob x = idx_blob(0x08, 1, (uint32_t[]){40000}, 100);
    pid_t child;
    int st;
    refuse_labels(fifo_with(x.b, x.len, &child), AD_ERR_FORMAT,
                  "truncated data: the header promises 40000 bytes, the file holds 100");
    waitpid(child, &st, 0);
    remove(in_dir("fifo"));
    blob y = idx_blob(0x08, 1, (uint32_t[]){10}, 11);
    refuse_labels(fifo_with(y.b, y.len, &child), AD_ERR_FORMAT,
                  "trailing garbage after the 10 bytes of data");
    waitpid(child, &st, 0);
}

/* ---- malformed files */

Test(idx, refuses_a_wrong_magic)
{
    blob x = idx_blob(0x08, 3, (uint32_t[]){1, 1, 1}, 1);
    x.b[1] = 1;
    refuse_images(spit("m", x.b, x.len), AD_ERR_FORMAT,
                  "wrong magic 0x00010803: not an IDX file (image files start 0x00000803)");
    /* the gzip magic makes it a gzip file, whatever its name */
    x.b[0] = 0x1f;
    x.b[1] = 0x8b;
    refuse_images(spit("m", x.b, x.len), AD_ERR_FORMAT,
                  "damaged gzip stream: header CRC 0x0100 does not match");
    refuse_labels(spit("m", x.b, x.len), AD_ERR_FORMAT, "damaged gzip stream");
}

Test(idx, refuses_a_data_type_other_than_unsigned_byte)
{
    blob x = idx_blob(0x0d, 3, (uint32_t[]){1, 1, 1}, 4);
    refuse_images(spit("f", x.b, x.len), AD_ERR_FORMAT,
                  "wrong magic 0x00000d03: data type 0x0d is not unsigned byte (0x08)");
    blob y = idx_blob(0x09, 1, (uint32_t[]){1}, 1);
    refuse_labels(spit("s", y.b, y.len), AD_ERR_FORMAT, "data type 0x09");
}

Test(idx, refuses_the_wrong_number_of_dimensions)
{
    blob lab = idx_blob(0x08, 1, (uint32_t[]){3}, 3);
    refuse_images(spit("l", lab.b, lab.len), AD_ERR_FORMAT,
                  "wrong magic 0x00000801: 1 dimensions, but image files have 3 (0x00000803)");
    blob img = idx_blob(0x08, 3, (uint32_t[]){1, 1, 1}, 1);
    refuse_labels(spit("i", img.b, img.len), AD_ERR_FORMAT,
                  "3 dimensions, but label files have 1 (0x00000801)");
    blob two = idx_blob(0x08, 2, (uint32_t[]){1, 1}, 1);
    refuse_images(spit("t", two.b, two.len), AD_ERR_FORMAT, "2 dimensions");
}

Test(idx, refuses_every_truncation_of_the_header_and_data)
{
    blob x = idx_blob(0x08, 3, (uint32_t[]){2, 2, 3}, 12);
    char want[96];
    for (size_t k = 0; k < x.len; k++) {
        const char *path = spit("cut", x.b, k);
        if (k < 16)
            snprintf(want, sizeof want, "truncated header: %zu of 16 bytes", k);
        else
            snprintf(want, sizeof want, "the header promises 12 bytes, the file holds %zu", k - 16);
        refuse_images(path, AD_ERR_FORMAT, want);
    }
    blob y = idx_blob(0x08, 1, (uint32_t[]){4}, 4);
    for (size_t k = 0; k < y.len; k++)
        refuse_labels(spit("cut", y.b, k), AD_ERR_FORMAT, "truncated");
}

Test(idx, refuses_trailing_garbage)
{
    blob x = idx_blob(0x08, 3, (uint32_t[]){2, 2, 3}, 15);
    refuse_images(spit("g", x.b, x.len), AD_ERR_FORMAT,
                  "3 bytes of trailing garbage after the data");
    blob y = idx_blob(0x08, 1, (uint32_t[]){4}, 5);
    refuse_labels(spit("g", y.b, y.len), AD_ERR_FORMAT, "1 bytes of trailing garbage");
}

Test(idx, refuses_huge_dimensions_that_overflow_or_exceed_the_file)
{
    blob x = idx_blob(0x08, 3, (uint32_t[]){0xffffffffu, 0xffffffffu, 0xffffffffu}, 4);
    refuse_images(spit("o", x.b, x.len), AD_ERR_FORMAT,
                  "dimensions 4294967295 x 4294967295 x 4294967295 overflow the address space");
    /* no images, but one image's size alone overflows */
    blob z = idx_blob(0x08, 3, (uint32_t[]){0, 0xffffffffu, 0xffffffffu}, 0);
    refuse_images(spit("z", z.b, z.len), AD_ERR_FORMAT, "overflow the address space");
    /* fits in memory arithmetic, but the file is far too short: refused
     * before anything that size is allocated */
    blob b = idx_blob(0x08, 3, (uint32_t[]){60000, 65536, 65536}, 8);
    refuse_images(spit("b", b.b, b.len), AD_ERR_FORMAT,
                  "truncated data: the header promises 257698037760000 bytes, the file holds 8");
    blob l = idx_blob(0x08, 1, (uint32_t[]){0xffffffffu}, 2);
    refuse_labels(spit("l", l.b, l.len), AD_ERR_FORMAT,
                  "the header promises 4294967295 bytes, the file holds 2");
}

Test(idx, refuses_images_with_no_pixels)
{
    blob x = idx_blob(0x08, 3, (uint32_t[]){5, 0, 28}, 0);
    refuse_images(spit("p", x.b, x.len), AD_ERR_FORMAT, "images of 0 x 28 pixels");
}

/* ---- gzip-compressed files (the system's gzip writes them: Debian's is
 * Essential, so these never skip; without gzip they fail) */

/* name holding b[0, len), compressed by `gzip -n opts`: returns name.gz */
static const char *gzipped(const char *name, const void *b, size_t len, const char *opts)
{
    static char out[300];
    char cmd[700];
    const char *path = spit(name, b, len);
    snprintf(cmd, sizeof cmd, "gzip -n -f %s '%s'", opts, path);
    cr_assert_eq(system(cmd), 0, "`%s` failed: gzip must be installed", cmd);
    snprintf(out, sizeof out, "%s.gz", path);
    return out;
}

Test(idx, reads_gzip_files_as_their_plain_contents)
{
    blob x = idx_blob(0x08, 3, (uint32_t[]){4, 28, 28}, 4 * 28 * 28 - 1000);
    memset(x.b + x.len, 0, 1000); /* repetitive, so deflate uses matches */
    x.len += 1000;
    const char *path = gzipped("img", x.b, x.len, "-9");
    float *px;
    size_t n, r, c;
    cr_assert_eq(ad_idx_read_images(path, &px, &n, &r, &c), AD_OK, "%s", ad_last_error());
    cr_assert_str_empty(ad_last_error());
    cr_assert(n == 4 && r == 28 && c == 28);
    for (size_t i = 0; i < 4 * 28 * 28; i++)
        cr_assert_eq(px[i], (float)x.b[16 + i] / 255.0f, "pixel %zu", i);
    ad_free(px);
    blob y = idx_blob(0x08, 1, (uint32_t[]){9}, 9);
    int32_t *l;
    cr_assert_eq(ad_idx_read_labels(gzipped("lab", y.b, y.len, "-1"), &l, &n), AD_OK, "%s",
                 ad_last_error());
    cr_assert_eq(n, 9);
    for (size_t i = 0; i < 9; i++)
        cr_assert_eq(l[i], y.b[8 + i]);
    ad_free(l);
    blob e = idx_blob(0x08, 1, (uint32_t[]){0}, 0);
    cr_assert_eq(ad_idx_read_labels(gzipped("empty", e.b, e.len, ""), &l, &n), AD_OK, "%s",
                 ad_last_error());
    cr_assert_eq(n, 0);
    ad_free(l);
}

Test(idx, reads_a_gzip_file_from_a_pipe)
{
    blob y = idx_blob(0x08, 1, (uint32_t[]){300}, 300);
    const char *gz = gzipped("lab", y.b, y.len, "-6");
    FILE *f = fopen(gz, "rb");
    unsigned char z[4096];
    size_t zn = fread(z, 1, sizeof z, f);
    fclose(f);
    pid_t child;
    int32_t *l;
    size_t n;
    cr_assert_eq(ad_idx_read_labels(fifo_with(z, zn, &child), &l, &n), AD_OK, "%s",
                 ad_last_error());
    int st;
    waitpid(child, &st, 0);
    cr_assert_eq(n, 300);
    for (size_t i = 0; i < 300; i++)
        cr_assert_eq(l[i], y.b[8 + i]);
    ad_free(l);
}

static size_t slurp_file(const char *path, unsigned char *b, size_t cap)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    size_t n = fread(b, 1, cap, f);
    cr_assert_lt(n, cap);
    fclose(f);
    return n;
}

Test(idx, refuses_a_damaged_gzip_file_naming_the_problem)
{
    blob y = idx_blob(0x08, 1, (uint32_t[]){2000}, 2000);
    unsigned char z[8192];
    size_t zn = slurp_file(gzipped("lab", y.b, y.len, "-9"), z, sizeof z);
    z[zn - 6] ^= 1; /* the CRC */
    refuse_labels(spit("crc.gz", z, zn), AD_ERR_FORMAT, "damaged gzip stream: CRC-32 0x");
    z[zn - 6] ^= 1;
    refuse_labels(spit("cut.gz", z, zn / 2), AD_ERR_FORMAT,
                  "damaged gzip stream: truncated in the middle of a deflate block");
    refuse_labels(spit("cut.gz", z, 5), AD_ERR_FORMAT,
                  "damaged gzip stream: truncated gzip header");
    refuse_labels(spit("cut.gz", z, zn - 1), AD_ERR_FORMAT, "truncated gzip trailer");
    z[zn] = 'x';
    refuse_labels(spit("more.gz", z, zn + 1), AD_ERR_FORMAT,
                  "damaged gzip stream: 1 bytes of trailing garbage after the gzip data");
}

Test(idx, refuses_gzip_data_longer_or_shorter_than_the_header_says)
{
    /* a zip bomb in miniature: the header promises 10 labels, the stream
     * holds a megabyte; inflation stops at the promised size */
    size_t big = 1 << 20;
    unsigned char *b = calloc(big, 1);
    memcpy(b, (unsigned char[]){0, 0, 8, 1, 0, 0, 0, 10}, 8);
    refuse_labels(gzipped("bomb", b, big, "-9"), AD_ERR_FORMAT,
                  "trailing garbage: the gzip data decompress to more than the 10 bytes the "
                  "header promises");
    memcpy(b, (unsigned char[]){0, 0, 8, 1, 0, 0, 0x9c, 0x40}, 8);
    refuse_labels(gzipped("short", b, 108, "-9"), AD_ERR_FORMAT,
                  "truncated data: the header promises 40000 bytes, the gzip data hold 100");
    /* more than 1 GiB promised: refused before inflating */
    memcpy(b, (unsigned char[]){0, 0, 8, 3, 0x40, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1}, 16);
    refuse_images(gzipped("huge", b, 4096, "-9"), AD_ERR_FORMAT,
                  "the header promises 1073741824 bytes, more than a gzip IDX file may hold "
                  "(1073741808)");
    free(b);
}

Test(idx, a_gzip_file_inside_a_gzip_file_is_refused_with_a_hint)
{
    blob y = idx_blob(0x08, 1, (uint32_t[]){2}, 2);
    unsigned char z[4096];
    size_t zn = slurp_file(gzipped("lab", y.b, y.len, ""), z, sizeof z);
    refuse_labels(gzipped("twice", z, zn, ""), AD_ERR_FORMAT,
                  "the gzip data hold another gzip file (compressed twice?)");
}

/* ---- I/O and arguments */

Test(idx, a_missing_file_is_an_io_error_naming_the_path)
{
    refuse_images(in_dir("absent-images"), AD_ERR_IO, "cannot open: No such file or directory");
    refuse_labels(in_dir("absent-labels"), AD_ERR_IO, "No such file or directory");
    refuse_labels(dir, AD_ERR_IO, "read failed: Is a directory");
}

Test(idx, null_arguments_are_refused_as_invalid)
{
    float *px;
    int32_t *l;
    size_t n, r, c;
    cr_assert_eq(ad_idx_read_images(NULL, &px, &n, &r, &c), AD_ERR_INVALID);
    ASSERT_MSG(ad_last_error(), "must not be NULL");
    cr_assert_eq(ad_idx_read_images("x", &px, &n, NULL, &c), AD_ERR_INVALID);
    cr_assert_eq(ad_idx_read_labels("x", NULL, &n), AD_ERR_INVALID);
    cr_assert_eq(ad_idx_read_labels("x", &l, NULL), AD_ERR_INVALID);
    ASSERT_MSG(ad_last_error(), "ad_idx_read_labels: x: ");
}
