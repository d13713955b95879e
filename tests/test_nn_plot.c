/* SPDX-License-Identifier: MIT
 * The SVG writer: a complete document with curves, ticks, labels and a
 * legend; an unwritable path is an AD_ERR_IO with the path in the message. */
#include "adtape/nn.h"

#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* y tick labels a test reads at most */
enum { MAX_LABELS = 70 };

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
    cr_assert_eq(ad_nn_history_svg(&h, path, "a <test> & more"), AD_OK, "%s", ad_last_error());
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
    cr_assert_eq(ad_nn_plot_svg("/nonexistent-dir/x.svg", NULL, &p, 1), AD_ERR_IO);
    cr_assert(strstr(ad_last_error(), "ad_nn_plot_svg: cannot write /nonexistent-dir/x.svg"), "%s",
              ad_last_error());
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
        cr_assert_eq(ad_nn_history_svg(&h, path, "run"), AD_OK, "%s", ad_last_error());
        char *svg = slurp(path);
        cr_assert(strlen(svg) < 100000, "%zu bytes", strlen(svg));
        cr_assert_null(strstr(svg, "nan"), "flat %d", flat);
        cr_assert_null(strstr(svg, "inf"), "flat %d", flat);
        free(svg);
        unlink(path);
        ad_nn_history_free(&h);
    }
}

/* A fresh temporary file's name in path (a char[] of the template). */
static void temp_path(char *path)
{
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
}

/* Length of the valid UTF-8 sequence at s, 0 if it is not one: overlong
 * forms, surrogates and code points past U+10FFFF are invalid. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80   ? 1
               : s[0] < 0xC2 ? 0
               : s[0] < 0xE0 ? 2
               : s[0] < 0xF0 ? 3
               : s[0] < 0xF5 ? 4
                             : 0;
    unsigned long c = n == 1 ? s[0] : s[0] & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = c << 6 | (s[i] & 0x3Fu);
    }
    if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10FFFF ||
        (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    return n;
}

/* Names come from users (run names, file names): control characters and
 * bytes that are not UTF-8 must not make the document invalid XML. */
Test(nn_plot, control_characters_and_invalid_utf8_in_names_give_valid_xml_text)
{
    const char *nasty =
        "run\x01 \x1b[31m \xff\xfe \xc0\xaf \xed\xa0\x80 \xe2\x82 \"q\" 'a' \xc3\xa9\r";
    ad_nn_series s = {nasty, (double[]){1, 2, 3}, 3};
    ad_nn_panel p = {nasty, nasty, &s, 1, false, false};
    char path[] = "/tmp/adtape_plot_XXXXXX";
    temp_path(path);
    cr_assert_eq(ad_nn_plot_svg(path, nasty, &p, 1), AD_OK, "%s", ad_last_error());
    char *svg = slurp(path);
    for (const unsigned char *u = (const unsigned char *)svg; *u;) {
        cr_assert(*u >= 0x20 || *u == '\n' || *u == '\t' || *u == '\r',
                  "control byte 0x%02x at offset %td", *u, (const char *)u - svg);
        size_t n = utf8_len(u);
        cr_assert_neq(n, 0, "invalid UTF-8 at offset %td", (const char *)u - svg);
        u += n;
    }
    cr_assert(strstr(svg, "&quot;q&quot; &apos;a&apos; \xc3\xa9"), "%s", svg);
    free(svg);
    unlink(path);
}

/* Losses near the largest doubles: hi - lo and (lo + hi) / 2 overflow, so
 * a naive range turns every coordinate into NaN. */
Test(nn_plot, values_near_dbl_max_give_finite_coordinates_and_labels)
{
    /* the last three on a log axis, whose decades must stay within the doubles */
    const double cases[][2] = {{DBL_MAX, -DBL_MAX},   {1e308, -1e308},  {DBL_MAX, DBL_MAX},
                               {-DBL_MAX, -DBL_MAX},  {1e305, DBL_MAX}, {DBL_TRUE_MIN, DBL_MAX},
                               {DBL_TRUE_MIN, 1e-318}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        bool log = c >= 4;
        ad_nn_series s = {"run", cases[c], 2};
        ad_nn_panel p = {"Loss", "loss", &s, 1, log, false};
        char path[] = "/tmp/adtape_plot_XXXXXX";
        temp_path(path);
        cr_assert_eq(ad_nn_plot_svg(path, "big", &p, 1), AD_OK, "%s", ad_last_error());
        char *svg = slurp(path);
        for (char *q = svg; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        cr_assert_null(strstr(svg, "nan"), "case %zu: %s", c, svg);
        cr_assert_null(strstr(svg, "inf"), "case %zu: %s", c, svg);
        cr_assert_geq(count(svg, "text-anchor=\"end\""), 2, "case %zu: y tick labels", c);
        if (log) cr_assert_null(strstr(svg, ">0</text>"), "case %zu: 1e-324 is 0", c);
        free(svg);
        unlink(path);
    }
}

/* A range small next to the values (1000.001 .. 1000.002) needs more than
 * four significant digits, or every tick reads "1000". */
Test(nn_plot, y_tick_labels_differ_when_the_range_is_small_next_to_the_values)
{
    const double cases[][2] = {
        {1000.001, 1000.002}, {1 + 1e-9, 1 + 2e-9}, {-5e6, -5e6 + 3}, {0, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ad_nn_series s = {"run", cases[c], 2};
        ad_nn_panel p = {"Loss", "loss", &s, 1, false, false};
        char path[] = "/tmp/adtape_plot_XXXXXX";
        temp_path(path);
        cr_assert_eq(ad_nn_plot_svg(path, NULL, &p, 1), AD_OK, "%s", ad_last_error());
        char *svg = slurp(path);
        /* y tick labels are the only right-aligned texts */
        const char *tag = "text-anchor=\"end\" font-size=\"12\">";
        char labels[MAX_LABELS][64];
        size_t n = 0;
        for (const char *q = svg; (q = strstr(q, tag)) && n < MAX_LABELS; q++) {
            const char *b = q + strlen(tag), *e = strstr(b, "</text>");
            cr_assert(e && (size_t)(e - b) < sizeof labels[0]);
            memcpy(labels[n], b, (size_t)(e - b));
            labels[n++][e - b] = '\0';
        }
        cr_assert_geq(n, 3, "case %zu: %zu y tick labels", c, n);
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                cr_assert_str_neq(labels[i], labels[j], "case %zu: ticks %zu and %zu", c, i, j);
        free(svg);
        unlink(path);
    }
}

/* ad_nn_history_svg draws through ad_nn_plot_svg, but its messages must
 * name the function the caller called. */
Test(nn_plot, history_svg_errors_name_history_svg)
{
    ad_nn_history h = {0};
    cr_assert(ad_nn_history_push(&h, 1, 0.5, 1, 0.5, 0.1));
    cr_assert_eq(ad_nn_history_svg(&h, "/nonexistent-dir/h.svg", "run"), AD_ERR_IO);
    cr_assert(strncmp(ad_last_error(), "ad_nn_history_svg: ", 19) == 0, "%s", ad_last_error());
    cr_assert(strstr(ad_last_error(), "/nonexistent-dir/h.svg"), "%s", ad_last_error());
    cr_assert_eq(ad_nn_history_svg(&h, NULL, "run"), AD_ERR_INVALID);
    cr_assert(strncmp(ad_last_error(), "ad_nn_history_svg: ", 19) == 0, "%s", ad_last_error());
    ad_nn_history_free(&h);
}

/* Both ways a write fails, opening and writing (a full disk: /dev/full),
 * name the path and the system's reason. */
Test(nn_plot, a_failed_write_names_the_path_and_the_system_error)
{
    ad_nn_series s = {"x", (double[]){1, 2}, 2};
    ad_nn_panel p = {"t", "y", &s, 1, false, false};
    cr_assert_eq(ad_nn_plot_svg("/nonexistent-dir/x.svg", NULL, &p, 1), AD_ERR_IO);
    cr_assert(strstr(ad_last_error(), "/nonexistent-dir/x.svg") &&
                  strstr(ad_last_error(), strerror(ENOENT)),
              "%s", ad_last_error());
    if (access("/dev/full", W_OK) != 0) cr_skip_test("no writable /dev/full");
    cr_assert_eq(ad_nn_plot_svg("/dev/full", NULL, &p, 1), AD_ERR_IO);
    cr_assert(strstr(ad_last_error(), "ad_nn_plot_svg: ") && strstr(ad_last_error(), "/dev/full") &&
                  strstr(ad_last_error(), strerror(ENOSPC)),
              "%s", ad_last_error());
}
