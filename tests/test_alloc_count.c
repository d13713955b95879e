/* SPDX-License-Identifier: MIT
 * ad_set_allocator covers every byte the library hands out: a counting
 * allocator sees a whole nn training run (model, optimizer, training, save,
 * load) and an IDX read, each allocation and each free, and nothing is left
 * live. Blocks the counter did not hand out would show up as foreign frees. */
#include "adtape.h"
#include "adtape/data.h"
#include "adtape/nn.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_LIVE = 1 << 14 };

/* The live blocks, so a free of a pointer this allocator never returned
 * (a malloc'd buffer freed through ad_free) is caught. */
static struct {
    pthread_mutex_t mu;
    void *live[MAX_LIVE];
    size_t n_live, allocs, frees, foreign;
} cnt = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *count_alloc(size_t size, void *ud)
{
    (void)ud;
    size_t rounded = (size + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) return NULL;
    pthread_mutex_lock(&cnt.mu);
    if (cnt.n_live < MAX_LIVE) cnt.live[cnt.n_live++] = p;
    cnt.allocs++;
    pthread_mutex_unlock(&cnt.mu);
    return p;
}

static void count_free(void *p, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&cnt.mu);
    size_t i = 0;
    while (i < cnt.n_live && cnt.live[i] != p)
        i++;
    if (i < cnt.n_live)
        cnt.live[i] = cnt.live[--cnt.n_live];
    else
        cnt.foreign++;
    cnt.frees++;
    pthread_mutex_unlock(&cnt.mu);
    free(p);
}

static void counting_on(void)
{
    ad_allocator a = {count_alloc, count_free, NULL, NULL}; /* no realloc: resizes count too */
    ad_set_allocator(&a);
    ad_set_num_threads(1); /* no thread pool to keep blocks past the test */
}

static char dir[64];

static void setup(void)
{
    counting_on();
    strcpy(dir, "/tmp/adtape-alloc-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/model.adp", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/images.idx", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/labels.idx", dir);
    remove(path);
    rmdir(dir);
    ad_set_allocator(NULL);
}

TestSuite(alloc_count, .init = setup, .fini = teardown);

/* Allocations since the last call, after checking that no free was foreign. */
static size_t phase(const char *what)
{
    static size_t seen;
    pthread_mutex_lock(&cnt.mu);
    size_t n = cnt.allocs - seen, foreign = cnt.foreign;
    seen = cnt.allocs;
    pthread_mutex_unlock(&cnt.mu);
    cr_assert_eq(foreign, 0, "%s: %zu frees of blocks the allocator never gave", what, foreign);
    cr_assert_gt(n, 0, "%s: no allocation went through the allocator", what);
    return n;
}

Test(alloc_count, a_whole_training_run_allocates_and_frees_only_through_the_allocator)
{
    enum { N = 32 };
    float x[2 * N * 2];
    int32_t labels[2 * N];
    ad_nn_make_spirals(N, 1.0, 0.05, 7, x, labels);
    ad_nn_layer_spec hidden[1] = {{8, AD_ACT_TANH, 0, false, 0, false}};
    ad_nn_spec spec = {.inputs = 2,
                       .n_hidden = 1,
                       .hidden = hidden,
                       .outputs = 2,
                       .head = AD_HEAD_SOFTMAX,
                       .seed = 3};
    ad_nn *m = ad_nn_new(&spec);
    cr_assert_not_null(m, "%s", ad_last_error());
    phase("ad_nn_new");

    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt_config oc = {.kind = AD_OPT_ADAM};
    ad_opt *o = ad_opt_new(&oc, ps, np);
    cr_assert_not_null(o, "%s", ad_last_error());
    phase("ad_opt_new");

    ad_nn_data d = {.n = 2 * N, .in = 2, .x = x, .labels = labels};
    ad_nn_train_opts to = {.epochs = 2, .batch_size = 16, .seed = 1, .quiet = true};
    ad_nn_history h = {0};
    cr_assert_eq(ad_nn_train(m, o, &d, &d, &to, &h), AD_OK, "%s", ad_last_error());
    cr_assert_eq(h.n, 2);
    phase("ad_nn_train");

    char path[128];
    snprintf(path, sizeof path, "%s/model.adp", dir);
    cr_assert_eq(ad_nn_save(path, m, o), AD_OK, "%s", ad_last_error());
    phase("ad_nn_save");
    cr_assert_eq(ad_nn_load(path, m, o), AD_OK, "%s", ad_last_error());
    phase("ad_nn_load");

    ad_nn_history_free(&h);
    ad_opt_free(o);
    ad_nn_free(m);
    cr_assert_eq(cnt.foreign, 0);
    cr_assert_eq(cnt.n_live, 0, "%zu blocks left live", cnt.n_live);
    cr_assert_eq(cnt.frees, cnt.allocs);
    cr_assert_eq(ad_debug_live_allocs(), 0);
}

static void write_bytes(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

Test(alloc_count, the_idx_readers_buffers_come_from_the_allocator_and_go_back_with_ad_free)
{
    /* two 2 x 3 images and their labels */
    const unsigned char images[16 + 12] = {0, 0, 8, 3,  0,   0,   0,   2,   0, 0, 0, 2, 0, 0,
                                           0, 3, 0, 51, 102, 153, 204, 255, 1, 2, 3, 4, 5, 6};
    const unsigned char labels[8 + 2] = {0, 0, 8, 1, 0, 0, 0, 2, 7, 9};
    char ipath[128], lpath[128];
    snprintf(ipath, sizeof ipath, "%s/images.idx", dir);
    snprintf(lpath, sizeof lpath, "%s/labels.idx", dir);
    write_bytes(ipath, images, sizeof images);
    write_bytes(lpath, labels, sizeof labels);

    float *px;
    size_t count, rows, cols;
    cr_assert_eq(ad_idx_read_images(ipath, &px, &count, &rows, &cols), AD_OK, "%s",
                 ad_last_error());
    cr_assert(count == 2 && rows == 2 && cols == 3);
    cr_assert_float_eq(px[5], 1.0f, 1e-7f);
    int32_t *lab;
    cr_assert_eq(ad_idx_read_labels(lpath, &lab, &count), AD_OK, "%s", ad_last_error());
    cr_assert(count == 2 && lab[0] == 7 && lab[1] == 9);
    phase("the IDX readers");
    cr_assert_eq(cnt.n_live, 2, "the pixels and the labels, nothing else");

    ad_free(px);
    ad_free(lab);
    cr_assert_eq(cnt.foreign, 0);
    cr_assert_eq(cnt.n_live, 0);
    cr_assert_eq(ad_debug_live_allocs(), 0);
}

Test(alloc_count, ad_alloc_is_64_byte_aligned_and_ad_realloc_keeps_the_prefix)
{
    unsigned char *p = ad_alloc(10);
    cr_assert_not_null(p);
    cr_assert_eq((uintptr_t)p % 64, 0);
    memcpy(p, "abcdefghij", 10);
    unsigned char *q = ad_realloc(p, 10, 1000);
    cr_assert_not_null(q);
    cr_assert_eq((uintptr_t)q % 64, 0);
    cr_assert_eq(memcmp(q, "abcdefghij", 10), 0);
    cr_assert_eq(cnt.n_live, 1, "the old block went back");
    ad_debug_fail_alloc_after(0);
    cr_assert_null(ad_realloc(q, 1000, 2000));
    ad_debug_fail_alloc_after(-1);
    cr_assert_eq(memcmp(q, "abcdefghij", 10), 0, "a failed resize leaves the block as it was");
    void *z = ad_alloc(0);
    cr_assert_not_null(z, "size 0 gives a pointer to free");
    ad_free(q);
    ad_free(z);
    ad_free(NULL);
    cr_assert_eq(cnt.n_live, 0);
    cr_assert_eq(cnt.foreign, 0);
}
