/* SPDX-License-Identifier: MIT
 * Loss and accuracy curves as a self-contained SVG: panels side by side, each
 * with axes, "nice" ticks (1, 2, 5 times a power of ten, or powers of ten on
 * a log axis), labels, a grid and a legend. No fonts or scripts are embedded,
 * so any browser or rsvg-convert renders it. Memory: ad_alloc/ad_free. */
#include "adtape/nn.h"
#include "nn_util.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PW = 520, PH = 360, ML = 70, MR = 20, MT = 36, MB = 52, TITLE_H = 34 };
/* grid lines per axis at most (nice steps give 5-10) */
enum { MAX_TICKS = 64 };

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c",
                                     "#ff7f0e", "#9467bd", "#8c564b"};

/* Length of the valid UTF-8 sequence at s and its code point in *cp, or 0:
 * overlong forms, surrogates and code points past U+10FFFF are not valid. */
static size_t utf8_char(const unsigned char *s, uint32_t *cp)
{
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n = s[0] < 0x80   ? 1
               : s[0] < 0xC2 ? 0
               : s[0] < 0xE0 ? 2
               : s[0] < 0xF0 ? 3
               : s[0] < 0xF5 ? 4
                             : 0;
    if (!n) return 0;
    uint32_t c = n == 1 ? s[0] : s[0] & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0; /* also stops at the terminating NUL */
        c = c << 6 | (s[i] & 0x3Fu);
    }
    if (c < least[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return n;
}

/* Names come from users and may hold anything, but XML 1.0 text must be
 * UTF-8 without C0 controls (bar tab, newline) or U+FFFE/U+FFFF: each such
 * character, and each byte that starts no valid UTF-8 sequence, is written
 * as U+FFFD, the Unicode replacement character, so the file always parses.
 * Quotes are escaped too, so the text is safe inside attributes as well. */
static void put_text(FILE *f, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (u && *u) {
        uint32_t c = 0;
        size_t n = utf8_char(u, &c);
        if (!n || (c < 0x20 && c != '\t' && c != '\n') || c == 0xFFFE || c == 0xFFFF)
            fputs("\xEF\xBF\xBD", f); /* U+FFFD */
        else if (c == '&')
            fputs("&amp;", f);
        else if (c == '<')
            fputs("&lt;", f);
        else if (c == '>')
            fputs("&gt;", f);
        else if (c == '"')
            fputs("&quot;", f);
        else if (c == '\'')
            fputs("&apos;", f);
        else
            fwrite(u, 1, n, f);
        u += n ? n : 1;
    }
}

/* A step of 1, 2 or 5 times a power of ten giving about `want` intervals
 * over [lo, hi]; halves, since hi - lo overflows when both are near DBL_MAX. */
static double nice_step(double lo, double hi, int want)
{
    double raw = (hi / 2 - lo / 2) / want * 2, p = pow(10.0, floor(log10(raw))), r = raw / p;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * p;
}

typedef struct axis {
    double lo, hi; /* in plotted units (log10 of the value on a log axis) */
    bool log;
} axis;

static bool usable(double v, bool log)
{
    return isfinite(v) && (!log || v > 0);
}

static double plotted(double v, bool log)
{
    return log ? log10(v) : v;
}

/* Where v sits on the axis, 0 at lo and 1 at hi; in halves as nice_step. */
static double axis_frac(const axis *a, double v)
{
    return (v / 2 - a->lo / 2) / (a->hi / 2 - a->lo / 2);
}

/* The y range over all series; false when nothing is plottable. */
static bool y_range(const ad_nn_panel *p, axis *a, size_t *nmax)
{
    double lo = (double)INFINITY, hi = -(double)INFINITY;
    *nmax = 1;
    for (size_t s = 0; s < p->n_series; s++) {
        const ad_nn_series *se = &p->series[s];
        if (se->n > *nmax) *nmax = se->n;
        for (size_t i = 0; i < se->n; i++)
            if (usable(se->y[i], p->log_y)) {
                double v = plotted(se->y[i], p->log_y);
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
    }
    if (lo > hi) return false;
    /* The axis must stay within the doubles, or coordinates become NaN: the
     * half range is finite, and widened ends are clamped to +-DBL_MAX. */
    double half = hi / 2 - lo / 2;
    if (half < 0.5e-12 * (fabs(hi) + 1)) { /* flat: widen by an amount hi can hold */
        double w = fmax(0.5, 1e-3 * fabs(hi));
        lo = fmax(lo - w, -DBL_MAX), hi = fmin(hi + w, DBL_MAX);
        half = hi / 2 - lo / 2;
    }
    a->log = p->log_y;
    if (a->log) { /* whole decades read better, but 1e309 and 1e-324 are no doubles */
        a->hi = fmin(fmax(ceil(hi), floor(lo) + 1), log10(DBL_MAX));
        a->lo = fmax(fmin(floor(lo), a->hi - 1), log10(DBL_TRUE_MIN));
    } else {
        a->lo = fmax(lo - 0.1 * half, -DBL_MAX);
        a->hi = fmin(hi + 0.1 * half, DBL_MAX);
    }
    return true;
}

static void draw_panel(FILE *f, const ad_nn_panel *p, double ox, double oy)
{
    double x0 = ox + ML, y0 = oy + MT, w = PW - ML - MR, h = PH - MT - MB;
    size_t nmax;
    axis ya = {0, 1, false};
    bool any = y_range(p, &ya, &nmax);
    bool lx = p->log_x;
    double xlo = lx ? 0 : 1, xhi = nmax > 1 ? (double)nmax : 2;
    if (lx) xhi = ceil(log10(xhi) - 1e-9) > 0 ? ceil(log10(xhi) - 1e-9) : 1;
#define SX(x) (x0 + ((lx ? log10(x) : (x)) - xlo) / (xhi - xlo) * w)
#define SY(y) (y0 + h - axis_frac(&ya, (y)) * h)
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"15\" "
            "font-weight=\"bold\">",
            x0 + w / 2, oy + 22);
    put_text(f, p->title);
    fputs("</text>\n", f);
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fcfcfc\" "
            "stroke=\"#333\"/>\n",
            x0, y0, w, h);
    /* x ticks: whole epochs, or powers of ten on a log axis */
    double xs = lx ? 1 : nice_step(xlo, xhi, 6);
    if (xs < 1) xs = 1;
    /* at most MAX_TICKS: a step below the values' rounding would never end */
    int ticks = 0;
    for (double xt = ceil(xlo / xs) * xs; xt <= xhi + 1e-9 && ticks < MAX_TICKS;
         xt += xs, ticks++) {
        if (xt < xlo) continue;
        double x = lx ? pow(10.0, xt) : xt;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>\n",
                SX(x), y0, SX(x), y0 + h);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                SX(x), y0 + h, SX(x), y0 + h + 5);
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">%g</text>\n",
                SX(x), y0 + h + 19, x);
    }
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\">epoch%s</text>\n",
            x0 + w / 2, y0 + h + 40, lx ? " (log scale)" : "");
    if (any) {
        double ys = ya.log ? ceil((ya.hi - ya.lo) / 6) : nice_step(ya.lo, ya.hi, 6);
        /* Labels are multiples of ys, so they differ in the digit of ys's
         * leading place: print down to it (at least 4 digits as before, at
         * most 17, which tell any two doubles apart). */
        double big = fmax(fabs(ya.lo), fabs(ya.hi));
        int digits = (int)fmin(fmax(floor(log10(big)) - floor(log10(ys)) + 1, 4), 17);
        ticks = 0;
        /* isfinite: near DBL_MAX the last step overflows while hi + 1e-9 ys is inf */
        for (double y = ceil(ya.lo / ys - 1e-9) * ys;
             isfinite(y) && y <= ya.hi + 1e-9 * ys && ticks < MAX_TICKS; y += ys, ticks++) {
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>\n",
                    x0, SY(y), x0 + w, SY(y));
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                    x0 - 5, SY(y), x0, SY(y));
            double label = ya.log ? pow(10.0, y) : (fabs(y) < 1e-12 * ys ? 0.0 : y);
            fprintf(
                f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\">%.*g</text>\n",
                x0 - 8, SY(y) + 4, ya.log ? 4 : digits, label);
        }
    }
    fprintf(f,
            "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\" "
            "font-size=\"13\">",
            ox + 16, y0 + h / 2);
    put_text(f, p->ylabel);
    if (ya.log) fputs(" (log scale)", f);
    fputs("</text>\n", f);
    if (!any) {
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\" "
                "fill=\"#888\">no data</text>\n",
                x0 + w / 2, y0 + h / 2);
        return;
    }
    for (size_t s = 0; s < p->n_series; s++) {
        const ad_nn_series *se = &p->series[s];
        const char *col = colors[s % (sizeof colors / sizeof colors[0])];
        bool open = false;
        for (size_t i = 0; i < se->n; i++) {
            if (!usable(se->y[i], ya.log)) { /* a gap ends the polyline */
                if (open) fputs("\"/>\n", f);
                open = false;
                continue;
            }
            if (!open)
                fprintf(f,
                        "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                        "stroke-linejoin=\"round\" points=\"",
                        col);
            fprintf(f, "%s%.1f,%.1f", open ? " " : "", SX((double)(i + 1)),
                    SY(plotted(se->y[i], ya.log)));
            open = true;
        }
        if (open) fputs("\"/>\n", f);
        if (se->n == 1 && usable(se->y[0], ya.log))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", SX(1.0),
                    SY(plotted(se->y[0], ya.log)), col);
    }
    /* legend: top right inside the frame */
    size_t longest = 0;
    for (size_t s = 0; s < p->n_series; s++) {
        size_t l = p->series[s].name ? strlen(p->series[s].name) : 0;
        longest = l > longest ? l : longest;
    }
    /* the legend goes to the top right unless the curves end up high there */
    double right = 0, cnt = 0, mid = ya.lo / 2 + ya.hi / 2;
    for (size_t s = 0; s < p->n_series; s++)
        for (size_t i = 2 * p->series[s].n / 3; i < p->series[s].n; i++)
            if (usable(p->series[s].y[i], ya.log))
                right += plotted(p->series[s].y[i], ya.log) > mid ? 1 : -1, cnt++;
    double lw = 40 + 7.0 * (double)longest, lh = 8 + 18.0 * (double)p->n_series;
    double gx = x0 + w - lw - 8, ly = right > 0 ? y0 + h - lh - 8 : y0 + 8;
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" "
            "fill-opacity=\"0.85\" stroke=\"#999\"/>\n",
            gx, ly, lw, lh);
    for (size_t s = 0; s < p->n_series; s++) {
        double yy = ly + 16 + 18.0 * (double)s;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"2\"/>\n",
                gx + 8, yy - 4, gx + 30, yy - 4, colors[s % (sizeof colors / sizeof colors[0])]);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">", gx + 36, yy);
        put_text(f, p->series[s].name);
        fputs("</text>\n", f);
    }
#undef SX
#undef SY
}

/* ad_nn_plot_svg for the public function fn, which its messages name. */
static ad_status write_svg(const char *fn, const char *path, const char *title,
                           const ad_nn_panel *panels, size_t n_panels)
{
    ad_set_last_error(NULL);
    if (!path || (!panels && n_panels))
        return ad_nn_errf("%s: path or panels is NULL", fn), AD_ERR_INVALID;
    FILE *f = fopen(path, "w");
    if (!f) return ad_nn_errf("%s: cannot write %s: %s", fn, path, strerror(errno)), AD_ERR_IO;
    double top = title ? TITLE_H : 0;
    double width = (double)PW * (double)(n_panels ? n_panels : 1), height = PH + top;
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Helvetica, Arial, "
            "sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            width, height, width, height);
    if (title) {
        fprintf(f,
                "<text x=\"%.1f\" y=\"24\" text-anchor=\"middle\" font-size=\"17\" "
                "font-weight=\"bold\">",
                width / 2);
        put_text(f, title);
        fputs("</text>\n", f);
    }
    for (size_t i = 0; i < n_panels; i++)
        draw_panel(f, &panels[i], (double)PW * (double)i, top);
    fputs("</svg>\n", f);
    /* errno only after a failing call: the math above may have set it. A
     * failed write the flush does not repeat leaves no reason: say EIO. */
    int e = fflush(f) != 0 ? errno : ferror(f) ? EIO : 0;
    if (fclose(f) != 0 && !e) e = errno;
    if (e) return ad_nn_errf("%s: writing %s failed: %s", fn, path, strerror(e)), AD_ERR_IO;
    return AD_OK;
}

ad_status ad_nn_plot_svg(const char *path, const char *title, const ad_nn_panel *panels,
                         size_t n_panels)
{
    return write_svg("ad_nn_plot_svg", path, title, panels, n_panels);
}

static bool any_finite(const double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isfinite(y[i])) return true;
    return false;
}

ad_status ad_nn_history_svg(const ad_nn_history *h, const char *path, const char *title)
{
    ad_set_last_error(NULL);
    if (!h) return ad_nn_errf("ad_nn_history_svg: history is NULL"), AD_ERR_INVALID;
    ad_nn_series loss[2], acc[2];
    size_t nl = 0, na = 0;
    loss[nl++] = (ad_nn_series){"train loss", h->train_loss, h->n};
    if (any_finite(h->val_loss, h->n))
        loss[nl++] = (ad_nn_series){"validation loss", h->val_loss, h->n};
    double lo = (double)INFINITY, hi = 0;
    for (size_t i = 0; i < h->n; i++)
        for (int k = 0; k < 2; k++) {
            double v = k ? h->val_loss[i] : h->train_loss[i];
            if (isfinite(v) && v > 0) lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
    double *pct = ad_alloc(2 * (h->n ? h->n : 1) * sizeof *pct);
    if (!pct) return ad_nn_errf("ad_nn_history_svg: out of memory"), AD_ERR_NOMEM;
    for (size_t i = 0; i < h->n; i++) {
        pct[i] = 100 * h->train_acc[i];
        pct[h->n + i] = 100 * h->val_acc[i];
    }
    if (any_finite(h->train_acc, h->n)) acc[na++] = (ad_nn_series){"train accuracy", pct, h->n};
    if (any_finite(h->val_acc, h->n))
        acc[na++] = (ad_nn_series){"validation accuracy", pct + h->n, h->n};
    ad_nn_panel panels[2] = {{"Loss", "loss", loss, nl, hi > 0 && hi / lo > 30, false},
                             {"Accuracy", "accuracy (%)", acc, na, false, false}};
    ad_status st = write_svg("ad_nn_history_svg", path, title, panels, na ? 2 : 1);
    ad_free(pct);
    return st;
}
