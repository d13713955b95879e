/* SPDX-License-Identifier: MIT
 * Regressions for findings of the fuzzers in tests/fuzz, each written as a
 * failing test before its fix. */
#include "adtape/nn.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ad_nn *tiny_model(void)
{
    static const ad_nn_layer_spec hidden = {3, AD_ACT_TANH, 0, false, 0, false};
    ad_nn_spec spec = {2,      1, &hidden, 2, AD_HEAD_SOFTMAX, AD_LOSS_DEFAULT, AD_INIT_DEFAULT,
                       AD_F32, 7, 0};
    ad_nn *m = ad_nn_new(&spec);
    cr_assert_not_null(m);
    return m;
}

/* fuzz_files: a checkpoint the parameter-file layer refuses was reported as
 * "ad_params_load: ...", not under the name of the function the user called. */
Test(fuzz_regress, nn_load_and_save_errors_from_the_parameter_file_layer_start_with_their_own_name)
{
    char dir[] = "/tmp/adtape-regress-XXXXXX", path[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/model.adt", dir);
    static const unsigned char junk[] = {0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x60,
                                         0x00, 0x00, 0x00, 0xab, 0x40, 0x40, 0x30,
                                         0x49, 0x00, 0x28, 0x00, 0x77, 0x98, 0x22};
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fwrite(junk, 1, sizeof junk, f);
    fclose(f);
    ad_nn *m = tiny_model();
    cr_assert_eq(ad_nn_load(path, m, NULL), AD_ERR_FORMAT);
    cr_assert(strncmp(ad_last_error(), "ad_nn_load: ", 12) == 0, "%s", ad_last_error());
    cr_assert(strstr(ad_last_error(), "wrong magic"), "the cause is kept: %s", ad_last_error());
    char missing[96];
    snprintf(missing, sizeof missing, "%s/no/such/dir/model.adt", dir);
    cr_assert_eq(ad_nn_save(missing, m, NULL), AD_ERR_IO);
    cr_assert(strncmp(ad_last_error(), "ad_nn_save: ", 12) == 0, "%s", ad_last_error());
    ad_nn_free(m);
    remove(path);
    rmdir(dir);
}
