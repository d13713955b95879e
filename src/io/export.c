/* SPDX-License-Identifier: MIT
 * Graph export: the recorded tape as Graphviz DOT, for looking at what a
 * program actually built. It only reads the tape; op names come from the op
 * table, so a new op shows up here without a change. */
#include "core/alloc.h"
#include "core/last_error.h"
#include "core/op.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Above this many scalar records (a user function can record millions) the
 * records become one summary node. */
enum { MAX_DRAWN_SCALARS = 50, OUT_BUF = 4096 };

/* Per-entry flags in one scratch array: tensor nodes first, then records. */
enum { USED = 1, HIDDEN = 2, ELEMENT = 4 };

typedef struct writer {
    ad_write_fn fn;
    void *user;
    bool failed; /* the callback said no: write nothing more */
    size_t len;
    char buf[OUT_BUF];
} writer;

static void flush(writer *w)
{
    if (!w->failed && w->len && !w->fn(w->buf, w->len, w->user)) w->failed = true;
    w->len = 0;
}

static void emit(writer *w, const char *fmt, ...) AD_PRINTF(2, 3);

/* Every formatted piece is short (a node line without its free text), so
 * it fits the buffer once the buffer is flushed. */
static void emit(writer *w, const char *fmt, ...)
{
    for (int pass = 0; pass < 2; pass++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(w->buf + w->len, OUT_BUF - w->len, fmt, ap);
        va_end(ap);
        assert(n >= 0 && n < OUT_BUF);
        if (w->len + (size_t)n < OUT_BUF) {
            w->len += (size_t)n;
            return;
        }
        flush(w);
    }
}

/* Free text inside a DOT quoted string: quotes and backslashes escaped,
 * line breaks as \n, other control characters as spaces. */
static void emit_escaped(writer *w, const char *s)
{
    for (; *s; s++) {
        if (w->len + 2 >= OUT_BUF) flush(w);
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            w->buf[w->len++] = '\\';
            w->buf[w->len++] = (char)c;
        } else if (c == '\n') {
            w->buf[w->len++] = '\\';
            w->buf[w->len++] = 'n';
        } else {
            w->buf[w->len++] = (char)(c < 0x20 ? ' ' : c);
        }
    }
}

/* Walks records 1, 2, ... segment by segment (searching for the segment on
 * every call would add up over millions of records). */
typedef struct rec_cursor {
    const ad_tape *t;
    size_t seg, base, next_base;
} rec_cursor;

/* Record i; the leading leaves (hot.leaf_run) are not written, so for
 * them a leaf record stands in. */
static const ad_srec *rec_get(rec_cursor *c, size_t i)
{
    static const ad_srec leaf = {0, 0, 0.0, 0.0};
    if (i < c->t->hot.leaf_run) return &leaf;
    while (i >= c->next_base) {
        c->seg++;
        c->base = c->next_base;
        c->next_base = ad_seg_start(c->seg + 1);
    }
    return &c->t->seg[c->seg][i - c->base];
}

static rec_cursor rec_cursor_new(const ad_tape *t)
{
    rec_cursor c = {t, 0, 0, ad_seg_start(1)};
    return c;
}

/* The scalar records a node reads (ad_stack_scalars), or NULL. */
static const uint32_t *scalar_inputs(const ad_node *y)
{
    const ad_op_def *d = ad_op_table[y->op];
    return d->scalar_inputs ? d->scalar_inputs(y) : NULL;
}

static double grad_norm(const ad_node *x)
{
    double s = 0.0;
    for (size_t i = 0; i < x->numel; i++) {
        double g =
            x->dtype == AD_F32 ? (double)((const float *)x->grad)[i] : ((const double *)x->grad)[i];
        s += g * g;
    }
    return sqrt(s);
}

/* Which entries someone consumes, which tensor nodes are internal (the
 * one-element leaf a stack records as its input 0 only to have a tape and a
 * dtype), which scalar records are tensor elements (to_scalar targets). */
static void mark(const ad_tape *t, uint8_t *tf, uint8_t *sf)
{
    for (size_t k = 0; k < t->nn; k++) {
        const ad_node *y = &t->nodes[k];
        for (size_t i = 0; i < y->n_in; i++)
            tf[ad_node_input_index(y, i)] |= USED;
        const uint32_t *idx = scalar_inputs(y);
        if (idx) {
            tf[ad_node_input_index(y, 0)] |= HIDDEN;
            for (size_t i = 0; i < y->numel; i++)
                sf[idx[i]] |= USED;
        } else if (y->grad_from_scalar) {
            sf[y->attr_i[1]] |= ELEMENT;
        }
    }
    rec_cursor c = rec_cursor_new(t);
    for (size_t k = AD_DUMMIES_; k < t->hot.ns; k++) {
        const ad_srec *r = rec_get(&c, k);
        sf[r->a] |= USED;
        sf[r->b] |= USED;
    }
}

static bool is_leaf_rec(const ad_srec *r)
{
    return r->a < AD_DUMMIES_ && r->b < AD_DUMMIES_;
}

static void emit_tensor_node(writer *w, const ad_tape *t, size_t k, uint8_t flags)
{
    const ad_node *y = &t->nodes[k];
    char s[AD_SHAPE_STR];
    const char *dt = ad_dtype_name((ad_dtype)y->dtype);
    ad_shape_str(y->ndim, y->dims, s);
    bool output = false;
    emit(w, "  t%zu [", k);
    if (y->op == AD_OP_LEAF && y->param)
        emit(w, "label=\"param\\n%s %s", s, dt);
    else if (y->op == AD_OP_LEAF && y->needs_grad)
        emit(w, "label=\"variable\\n%s %s", s, dt);
    else if (y->op == AD_OP_LEAF)
        emit(w, "label=\"constant\\n%s %s", s, dt);
    else if (y->grad_from_scalar)
        emit(w, "label=\"%s\\nelement %lld", ad_node_op_name(y), (long long)y->attr_i[0]);
    else {
        emit(w, "label=\"");
        emit_escaped(w, ad_node_op_name(y)); /* a custom op's name is the user's text */
        emit(w, "\\n%s %s", s, dt);
        output = !(flags & USED);
    }
    if (ad_grad_live(t, y) && y->grad && y->numel) emit(w, "\\n|grad| = %.4g", grad_norm(y));
    if (output) emit(w, "\\n(output)");
    emit(w, "\"");
    if (y->op == AD_OP_LEAF && y->param)
        emit(w, ", style=filled, fillcolor=\"#f5d76e\"");
    else if (y->op == AD_OP_LEAF && y->needs_grad)
        emit(w, ", style=filled, fillcolor=\"#aed6f1\"");
    else if (y->op == AD_OP_LEAF)
        emit(w, ", style=dashed");
    if (output) emit(w, ", color=red, penwidth=2, peripheries=2");
    emit(w, "];\n");
}

static void emit_tensor_edges(writer *w, const ad_tape *t, size_t k, const uint8_t *tf,
                              bool draw_scalars)
{
    const ad_node *y = &t->nodes[k];
    size_t shown = 0;
    for (size_t i = 0; i < y->n_in; i++)
        shown += !(tf[ad_node_input_index(y, i)] & HIDDEN);
    for (size_t i = 0; i < y->n_in; i++) {
        uint32_t x = ad_node_input_index(y, i);
        if (tf[x] & HIDDEN) continue;
        if (shown > 1)
            emit(w, "  t%u -> t%zu [label=\"%zu\"];\n", x, k, i);
        else
            emit(w, "  t%u -> t%zu;\n", x, k);
    }
    const uint32_t *idx = scalar_inputs(y);
    if (y->grad_from_scalar) {
        if (draw_scalars)
            emit(w, "  t%zu -> s%zu;\n", k, ad_srec_number((size_t)y->attr_i[1]));
        else
            emit(w, "  t%zu -> scalars;\n", k);
    } else if (idx) {
        size_t n = 0;
        for (size_t i = 0; i < y->numel; i++) {
            if (!idx[i]) continue; /* a constant: not on the tape */
            n++;
            if (draw_scalars) emit(w, "  s%zu -> t%zu;\n", ad_srec_number(idx[i]), k);
        }
        if (!draw_scalars && n) emit(w, "  scalars -> t%zu [label=\"%zu scalars\"];\n", k, n);
    }
}

static void emit_scalars(writer *w, const ad_tape *t, const uint8_t *sf, bool draw)
{
    size_t ns = t->hot.ns, leaves = 0, outputs = 0;
    rec_cursor c = rec_cursor_new(t);
    for (size_t k = AD_DUMMIES_; k < ns; k++) {
        const ad_srec *r = rec_get(&c, k);
        bool leaf = is_leaf_rec(r), output = !leaf && !(sf[k] & USED);
        leaves += leaf;
        outputs += output;
        if (!draw) continue;
        size_t num = ad_srec_number(k);
        emit(w, "  s%zu [shape=ellipse, label=\"%s #%zu%s\"", num,
             leaf && !(sf[k] & ELEMENT) ? "scalar variable" : "scalar", num,
             output ? "\\n(output)" : "");
        if (leaf && !(sf[k] & ELEMENT)) emit(w, ", style=filled, fillcolor=\"#aed6f1\"");
        if (output) emit(w, ", color=red, penwidth=2, peripheries=2");
        emit(w, "];\n");
        if (r->a >= AD_DUMMIES_) emit(w, "  s%zu -> s%zu;\n", ad_srec_number(r->a), num);
        if (r->b >= AD_DUMMIES_ && r->b != r->a)
            emit(w, "  s%zu -> s%zu;\n", ad_srec_number(r->b), num);
    }
    if (draw || ns <= AD_DUMMIES_) return;
    emit(w, "  scalars [shape=box3d, label=\"%zu scalar records\\n%zu leaves", ns - AD_DUMMIES_,
         leaves);
    if (outputs) emit(w, "\\n%zu output%s", outputs, outputs == 1 ? "" : "s");
    emit(w, "\"%s];\n", outputs ? ", color=red, penwidth=2, peripheries=2" : "");
}

/* Fails t with the message and leaves it in ad_last_error as well: a tape
 * that had already failed keeps its first error, and exporting is how one
 * looks at such a tape, so the export's own failure must be told too. */
static ad_status export_fail(ad_tape *t, ad_status code, const char *fmt, ...) AD_PRINTF(3, 4);
static ad_status export_fail(ad_tape *t, ad_status code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ad_last_error_set("%s", msg);
    return t ? ad_tape_fail(t, code, "%s", msg) : code;
}

/* The whole graph through w. AD_OK, or AD_ERR_NOMEM (tape failed). */
static ad_status write_dot(ad_tape *t, writer *w, const char *fn)
{
    size_t n = t->nn + t->hot.ns;
    uint8_t *flags = ad_alloc(n ? n : 1);
    if (!flags)
        return export_fail(t, AD_ERR_NOMEM, "%s: out of memory for %zu bytes of scratch", fn, n);
    memset(flags, 0, n);
    uint8_t *tf = flags, *sf = flags + t->nn;
    mark(t, tf, sf);
    bool draw_scalars = t->hot.ns - AD_DUMMIES_ <= MAX_DRAWN_SCALARS;

    emit(w, "digraph adtape {\n");
    emit(w,
         "  graph [fontname=\"Helvetica\", labelloc=t, label=\"adtape: %zu tensor nodes, "
         "%zu scalar records",
         t->nn, t->hot.ns - AD_DUMMIES_);
    if (t->err != AD_OK) {
        emit(w, "\\ntape error: %s: ", ad_status_name(t->err));
        emit_escaped(w, t->msg);
        emit(w, "\", fontcolor=red];\n");
    } else {
        emit(w, "\"];\n");
    }
    emit(w, "  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n");
    emit(w, "  edge [fontname=\"Helvetica\", fontsize=8];\n");
    for (size_t k = 0; k < t->nn; k++) {
        if (tf[k] & HIDDEN) continue;
        emit_tensor_node(w, t, k, tf[k]);
        emit_tensor_edges(w, t, k, tf, draw_scalars);
    }
    emit_scalars(w, t, sf, draw_scalars);
    emit(w, "}\n");
    flush(w);
    ad_free(flags);
    return AD_OK;
}

ad_status ad_tape_export_dot_fn(ad_tape *t, ad_write_fn write_fn, void *user)
{
    const char *fn = "ad_tape_export_dot_fn";
    if (!t) return export_fail(t, AD_ERR_INVALID, "%s: tape is NULL", fn);
    if (!write_fn) return export_fail(t, AD_ERR_INVALID, "%s: write callback is NULL", fn);
    writer w = {write_fn, user, false, 0, {0}};
    ad_status s = write_dot(t, &w, fn);
    if (s != AD_OK) return s;
    if (w.failed) return export_fail(t, AD_ERR_IO, "%s: the write callback failed", fn);
    ad_last_error_clear();
    return t->err;
}

static bool file_write(const char *data, size_t len, void *f)
{
    return fwrite(data, 1, len, f) == len;
}

ad_status ad_tape_export_dot(ad_tape *t, const char *path)
{
    const char *fn = "ad_tape_export_dot";
    if (!t) return export_fail(t, AD_ERR_INVALID, "%s: tape is NULL", fn);
    if (!path) return export_fail(t, AD_ERR_INVALID, "%s: path is NULL", fn);
    FILE *f = fopen(path, "w");
    if (!f) return export_fail(t, AD_ERR_IO, "%s: cannot open '%s': %s", fn, path, strerror(errno));
    writer w = {file_write, f, false, 0, {0}};
    ad_status s = write_dot(t, &w, fn);
    int err = w.failed ? (errno ? errno : EIO) : 0;
    if (fclose(f) != 0 && !err) err = errno ? errno : EIO; /* a full disk shows at close */
    if (s != AD_OK) return s;
    if (w.failed || err)
        return export_fail(t, AD_ERR_IO, "%s: cannot write '%s': %s", fn, path, strerror(err));
    ad_last_error_clear();
    return t->err;
}
