/* SPDX-License-Identifier: MIT
 * The SVG writer: a complete document with curves, ticks, labels and a
 * legend; an unwritable path is an AD_ERR_IO with the path in the message. */
#include "adtape/nn.h"

#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc((size_t)n + 1, 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return s;
}

static size_t count(const char *s, const char *needle)
{
    size_t k = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++)
        k++;
    return k;
}

Test(nn_plot, history_svg_has_both_panels_curves_ticks_and_legend)
{
    ad_nn_history h = {0};
    for (int i = 0; i < 12; i++)
        cr_assert(ad_nn_history_push(&h, exp(-i / 3.0), 0.5 + 0.04 * i,
                                     i == 4 ? (double)NAN : exp(-i / 4.0), 0.5 + 0.03 * i, 0.01));
    char path[] = "/tmp/adtape_plot_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    char err[256];
    cr_assert_eq(ad_nn_history_svg(&h, path, "a <test> & more", err, sizeof err), AD_OK, "%s", err);
    char *s = slurp(path);
    cr_assert(strncmp(s, "<?xml", 5) == 0);
    cr_assert(strstr(s, "</svg>\n") != NULL);
    cr_assert(strstr(s, "a &lt;test&gt; &amp; more") != NULL);
    /* train loss: one line; validation loss: broken by the NaN into two; two accuracy lines */
    cr_assert_eq(count(s, "<polyline"), 5, "%zu polylines", count(s, "<polyline"));
    cr_assert(strstr(s, ">validation accuracy</text>") && strstr(s, ">train loss</text>"));
    cr_assert(strstr(s, ">epoch</text>") && strstr(s, "accuracy (%)"));
    cr_assert(strstr(s, "log scale")); /* loss spans more than a decade and a half */
    cr_assert_geq(count(s, "text-anchor=\"end\""), 6); /* y tick labels */
    free(s);
    unlink(path);
    ad_nn_history_free(&h);
    cr_assert_eq(h.n, 0);
}

Test(nn_plot, an_unwritable_path_is_an_io_error_naming_it)
{
    ad_nn_series s = {"x", (double[]){1, 2}, 2};
    ad_nn_panel p = {"t", "y", &s, 1, false, false};
    char err[256];
    cr_assert_eq(ad_nn_plot_svg("/nonexistent-dir/x.svg", NULL, &p, 1, err, sizeof err), AD_ERR_IO);
    cr_assert(strstr(err, "ad_nn_plot_svg: cannot write /nonexistent-dir/x.svg"), "%s", err);
}

/* Curves far from 0 whose range is below the values' rounding step: the
 * tick loop must end and every coordinate be a number. */
Test(nn_plot, flat_or_nearly_flat_curves_at_1e20_give_a_finite_svg)
{
    for (int flat = 0; flat <= 1; flat++) {
        ad_nn_history h = {0};
        ad_nn_history_push(&h, 1e20, (double)NAN, (double)NAN, (double)NAN, 0.1);
        ad_nn_history_push(&h, flat ? 1e20 : 1e20 + 32768.0, (double)NAN, (double)NAN, (double)NAN,
                           0.1);
        char path[] = "/tmp/adtape_plot_XXXXXX";
        int fd = mkstemp(path);
        cr_assert(fd >= 0);
        close(fd);
        char err[256] = "";
        cr_assert_eq(ad_nn_history_svg(&h, path, "run", err, sizeof err), AD_OK, "%s", err);
        char *svg = slurp(path);
        cr_assert(strlen(svg) < 100000, "%zu bytes", strlen(svg));
        cr_assert_null(strstr(svg, "nan"), "flat %d", flat);
        cr_assert_null(strstr(svg, "inf"), "flat %d", flat);
        free(svg);
        unlink(path);
        ad_nn_history_free(&h);
    }
}
