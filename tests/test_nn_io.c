/* SPDX-License-Identifier: MIT
 * Model files at the edges: descriptions of any length, a file of another
 * optimizer named by its description, messages from the parameter-file
 * layer passed on whole; and ad_params_info, which reads a file's count and
 * meta without parameters to load into. */
#include "adtape/nn.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void temp_path(char *path)
{
    strcpy(path, "/tmp/adtape_nn_io_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
}

/* depth hidden layers of width 3, leaky (its slope is in the description)
 * with a skip from two layers back */
static ad_nn *deep_model(size_t depth, uint64_t seed)
{
    ad_nn_layer_spec *h = calloc(depth, sizeof *h);
    for (size_t i = 0; i < depth; i++)
        h[i] = (ad_nn_layer_spec){3, AD_ACT_LEAKY_RELU, i >= 2 ? 2 : 0, false, 0, false};
    ad_nn_spec s = {.inputs = 2,
                    .n_hidden = depth,
                    .hidden = h,
                    .outputs = 1,
                    .head = AD_HEAD_IDENTITY,
                    .seed = seed,
                    .leaky_slope = 0.125};
    ad_nn *m = ad_nn_new(&s);
    cr_assert_not_null(m, "%s", ad_last_error());
    free(h);
    return m;
}

Test(nn_io, a_deep_model_with_a_long_description_saves_and_loads)
{
    ad_nn *a = deep_model(80, 1), *b = deep_model(80, 2);
    cr_assert_gt(ad_nn_describe(a, NULL, 0), 1500, "the description should be long");
    char path[64];
    temp_path(path);
    cr_assert_eq(ad_nn_save(path, a, NULL), AD_OK, "%s", ad_last_error());
    cr_assert_eq(ad_nn_load(path, b, NULL), AD_OK, "%s", ad_last_error());
    size_t np;
    ad_param *const *pa = ad_nn_params(a, &np), *const *pb = ad_nn_params(b, NULL);
    for (size_t i = 0; i < np; i++)
        cr_assert(memcmp(ad_param_value(pa[i]), ad_param_value(pb[i]),
                         ad_param_numel(pa[i]) * sizeof(float)) == 0,
                  "parameter %zu differs", i);
    /* one layer less: named by the descriptions, not by a parameter count */
    ad_nn *c = deep_model(79, 3);
    cr_assert_eq(ad_nn_load(path, c, NULL), AD_ERR_FORMAT);
    cr_assert(strstr(ad_last_error(), "ad_nn_load: ") == ad_last_error() &&
                  strstr(ad_last_error(), " holds \"2-3 leaky_relu"),
              "%s", ad_last_error());
    unlink(path);
    ad_nn_free(a), ad_nn_free(b), ad_nn_free(c);
}

static ad_nn *small_model(void)
{
    static const ad_nn_layer_spec h[] = {{5, AD_ACT_TANH, 0, false, 0, false}};
    ad_nn_spec s = {
        .inputs = 2, .n_hidden = 1, .hidden = h, .outputs = 2, .head = AD_HEAD_SOFTMAX, .seed = 4};
    ad_nn *m = ad_nn_new(&s);
    cr_assert_not_null(m);
    return m;
}

Test(nn_io, a_file_of_another_optimizer_is_named_by_its_description)
{
    ad_nn *m = small_model();
    size_t np;
    ad_param *const *ps = ad_nn_params(m, &np);
    ad_opt *adam = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_ADAM}, ps, np);
    ad_opt *sgd = ad_opt_new(&(ad_opt_config){.kind = AD_OPT_SGD}, ps, np);
    char path[64];
    temp_path(path);
    cr_assert_eq(ad_nn_save(path, m, adam), AD_OK, "%s", ad_last_error());
    float before = ((float *)ad_param_value(ps[0]))[0];
    /* the Adam file has more state than SGD or no optimizer can take */
    cr_assert_eq(ad_nn_load(path, m, sgd), AD_ERR_FORMAT);
    cr_assert(strstr(ad_last_error(), "opt=adam\"") && strstr(ad_last_error(), "opt=sgd\""), "%s",
              ad_last_error());
    cr_assert_eq(ad_nn_load(path, m, NULL), AD_ERR_FORMAT);
    cr_assert(strstr(ad_last_error(), "opt=adam\"") && strstr(ad_last_error(), "opt=none\""), "%s",
              ad_last_error());
    cr_assert_eq(((float *)ad_param_value(ps[0]))[0], before);
    unlink(path);
    ad_opt_free(adam), ad_opt_free(sgd);
    ad_nn_free(m);
}

Test(nn_io, a_long_message_from_the_file_layer_is_passed_on_whole)
{
    ad_nn *m = small_model();
    char path[800];
    /* 600 bytes of missing directories, each a legal name */
    int k = snprintf(path, sizeof path, "/tmp/adtape-no-such-dir");
    for (int i = 0; i < 6; i++) {
        path[k++] = '/';
        memset(path + k, 'd', 99);
        k += 99;
    }
    strcpy(path + k, "/model.adp");
    cr_assert_eq(ad_nn_save(path, m, NULL), AD_ERR_IO);
    cr_assert(strncmp(ad_last_error(), "ad_nn_save: ", 12) == 0, "%s", ad_last_error());
    cr_assert(strstr(ad_last_error(), path) && strstr(ad_last_error(), "No such file or directory"),
              "%s", ad_last_error());
    cr_assert_eq(ad_nn_load(path, m, NULL), AD_ERR_IO);
    cr_assert(strncmp(ad_last_error(), "ad_nn_load: ", 12) == 0, "%s", ad_last_error());
    cr_assert(strstr(ad_last_error(), path) && strstr(ad_last_error(), "No such file or directory"),
              "%s", ad_last_error());
    ad_nn_free(m);
}

/* ---- ad_params_info */

Test(nn_io, params_info_reads_the_count_and_the_meta_of_a_file)
{
    ad_param *p[3] = {ad_param_new(AD_F32, 2, (size_t[]){3, 4}),
                      ad_param_new(AD_F64, 1, (size_t[]){5}),
                      ad_param_new(AD_F32, 4, (size_t[]){1, 2, 1, 3})};
    char path[64];
    temp_path(path);
    cr_assert_eq(ad_params_save(path, p, 3, "hello meta", 10), AD_OK, "%s", ad_last_error());
    size_t count = 0, ml = 0;
    char meta[16] = {0};
    cr_assert_eq(ad_params_info(path, &count, NULL, 0, &ml), AD_OK, "%s", ad_last_error());
    cr_assert_eq(count, 3);
    cr_assert_eq(ml, 10);
    cr_assert_eq(ad_params_info(path, NULL, meta, sizeof meta, &ml), AD_OK);
    cr_assert_eq(memcmp(meta, "hello meta", 10), 0);
    /* a short buffer takes the start, and the full length is still told */
    memset(meta, '#', sizeof meta);
    cr_assert_eq(ad_params_info(path, NULL, meta, 4, &ml), AD_OK);
    cr_assert_eq(memcmp(meta, "hell#", 5), 0);
    cr_assert_eq(ml, 10);
    /* no parameters, no meta */
    cr_assert_eq(ad_params_save(path, NULL, 0, NULL, 0), AD_OK, "%s", ad_last_error());
    cr_assert_eq(ad_params_info(path, &count, meta, sizeof meta, &ml), AD_OK);
    cr_assert_eq(count, 0);
    cr_assert_eq(ml, 0);
    unlink(path);
    for (int i = 0; i < 3; i++)
        ad_param_free(p[i]);
}

Test(nn_io, params_info_refuses_damaged_files_and_bad_arguments_by_name)
{
    ad_param *p = ad_param_new(AD_F64, 1, (size_t[]){7});
    char path[64];
    temp_path(path);
    cr_assert_eq(ad_params_save(path, &p, 1, "m", 1), AD_OK, "%s", ad_last_error());
    FILE *f = fopen(path, "rb");
    unsigned char buf[256];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    /* every truncation and every flipped bit is refused, and leaves count alone */
    for (size_t cut = 0; cut < len; cut++) {
        f = fopen(path, "wb");
        fwrite(buf, 1, cut, f);
        fclose(f);
        size_t count = 99;
        cr_assert_eq(ad_params_info(path, &count, NULL, 0, NULL), AD_ERR_FORMAT,
                     "prefix of %zu bytes", cut);
        cr_assert(strncmp(ad_last_error(), "ad_params_info: ", 16) == 0, "%s", ad_last_error());
        cr_assert_eq(count, 99);
    }
    for (size_t bit = 0; bit < 8 * len; bit++) {
        buf[bit / 8] ^= (unsigned char)(1u << bit % 8);
        f = fopen(path, "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
        buf[bit / 8] ^= (unsigned char)(1u << bit % 8);
        cr_assert_eq(ad_params_info(path, NULL, NULL, 0, NULL), AD_ERR_FORMAT, "bit %zu", bit);
    }
    cr_assert_eq(ad_params_info(NULL, NULL, NULL, 0, NULL), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(), "ad_params_info: path is NULL");
    char m[4];
    cr_assert_eq(ad_params_info(path, NULL, NULL, sizeof m, NULL), AD_ERR_INVALID);
    cr_assert(strstr(ad_last_error(), "meta is NULL but meta_cap is 4"), "%s", ad_last_error());
    cr_assert_eq(ad_params_info("/tmp", NULL, m, sizeof m, NULL), AD_ERR_IO);
    cr_assert(strstr(ad_last_error(), "not a regular file"), "%s", ad_last_error());
    unlink(path);
    cr_assert_eq(ad_params_info(path, NULL, m, sizeof m, NULL), AD_ERR_IO);
    cr_assert(strstr(ad_last_error(), "No such file or directory"), "%s", ad_last_error());
    ad_param_free(p);
}
