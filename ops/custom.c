/* SPDX-License-Identifier: MIT
 * Custom tensor ops: the user's forward and vector-Jacobian product on
 * plain buffers, recorded as one node (the first output) plus a view node
 * per further output, and ad_custom_fail, the callbacks' error channel. */
#include "custom.h"

#include "core/last_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- the callback running on this thread
 * ad_custom_fail has no handle: callbacks run on the thread that records or
 * sweeps, so the innermost running one is the op to fail. Frames chain,
 * for a callback that runs a custom op on a tape of its own. */

typedef struct frame {
    ad_tape *t;
    const ad_custom_node *c;
    const char *phase; /* "shape", "forward", "backward", "finite differences" */
    size_t node;       /* the node, in sweep messages */
    bool sweep;        /* during ad_backward*: the message starts with ad_backward */
    bool failed;
    struct frame *prev;
} frame;

static _Thread_local frame *current;

/* "ad_custom_op: tridiag: forward" or "ad_backward: tridiag (custom op,
 * node 7): backward" */
static void frame_prefix(const frame *f, char *buf, size_t cap)
{
    if (f->sweep)
        snprintf(buf, cap, "ad_backward: %s (%s, node %zu): %s", f->c->name, f->c->kind, f->node,
                 f->phase);
    else
        snprintf(buf, cap, "%s: %s: %s", f->c->fn, f->c->name, f->phase);
}

bool ad_custom_fail(ad_status code, const char *fmt, ...) AD_PRINTF(2, 3);

bool ad_custom_fail(ad_status code, const char *fmt, ...)
{
    frame *f = current;
    if (!f) {
        ad_last_error_set("ad_custom_fail: called outside the callback of a custom op or "
                          "external function (nothing to fail)");
        return false;
    }
    char msg[384] = "(no message)", pre[128];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    if (code == AD_OK || strcmp(ad_status_name(code), "AD_ERR_UNKNOWN") == 0) code = AD_ERR_INVALID;
    frame_prefix(f, pre, sizeof pre);
    ad_tape_fail(f->t, code, "%s: %s", pre, msg);
    f->failed = true;
    return false;
}

static void frame_push(frame *f, ad_tape *t, const ad_custom_node *c, const char *phase,
                       size_t node, bool sweep)
{
    *f = (frame){t, c, phase, node, sweep, false, current};
    current = f;
}

/* Pops f; true when the callback worked (returned ok, failed nothing). A
 * callback that returned false without a reason gets one. */
static bool frame_pop(frame *f, bool ok)
{
    current = f->prev;
    if (ok && !f->failed && f->t->err == AD_OK) return true;
    if (f->t->err == AD_OK) {
        char pre[128];
        frame_prefix(f, pre, sizeof pre);
        ad_tape_fail(f->t, AD_ERR_INVALID,
                     "%s: the callback returned false (call ad_custom_fail to say why)", pre);
    }
    return false;
}

/* ---- the unset-output check: outputs are prefilled with a quiet NaN of
 * this payload, which no arithmetic produces (a NaN from arithmetic has the
 * default payload, or the payload of a NaN operand) */

#define UNSET64 UINT64_C(0x7ff8ad7a9ec0de19)
#define UNSET32 UINT32_C(0x7fc0de19)

static void prefill(ad_custom_tensor *o)
{
    if (o->dtype == AD_F64) {
        uint64_t *p = o->data; /* a store gives arena memory its type */
        for (size_t i = 0; i < o->numel; i++)
            p[i] = UNSET64;
    } else {
        uint32_t *p = o->data;
        for (size_t i = 0; i < o->numel; i++)
            p[i] = UNSET32;
    }
}

/* The first element still holding the prefill, or SIZE_MAX. Blocks of 256
 * are tested without an early exit, so the compiler vectorises the scan:
 * it costs one read of the output, a fraction of any forward. */
#define UNSET_BLOCK 256
static size_t first_unset_slow(const ad_custom_tensor *o)
{
    const unsigned char *p = o->data;
    for (size_t i = 0; i < o->numel; i++) {
        uint64_t v = 0;
        uint32_t w = 0;
        if (o->dtype == AD_F64 ? (memcpy(&v, p + 8 * i, 8), v == UNSET64)
                               : (memcpy(&w, p + 4 * i, 4), w == UNSET32))
            return i;
    }
    return SIZE_MAX;
}

static size_t first_unset(const ad_custom_tensor *o)
{
    /* a filter over 32-bit words in blocks of 256, without an early exit so
     * that the compiler vectorises it (one compare per word, SSE2 has no
     * 64-bit one): a float32 prefill, or a word equal to the float64
     * prefill's low half; a hit is then checked exactly */
    size_t n = o->numel * (o->dtype == AD_F64 ? 2 : 1);
    uint32_t low = o->dtype == AD_F64 ? (uint32_t)(UNSET64 & 0xffffffffu) : UNSET32;
    const unsigned char *p = o->data;
    for (size_t b = 0; b < n; b += UNSET_BLOCK) {
        size_t e = n - b < UNSET_BLOCK ? n : b + UNSET_BLOCK;
        int hit = 0;
        for (size_t i = b; i < e; i++) {
            uint32_t v; /* the callback wrote floats or doubles: memcpy reads their bits */
            memcpy(&v, p + 4 * i, 4);
            hit |= v == low;
        }
        if (hit) {
            size_t k = first_unset_slow(o);
            if (k != SIZE_MAX) return k;
        }
    }
    return SIZE_MAX;
}

/* ---- the node: output 0 */

bool ad_shape_custom(ad_tape *t, ad_node *y, const char *fn)
{
    (void)t;
    (void)fn;
    const ad_custom_node *c = y->ctx; /* the shape was fixed when the op was declared */
    y->dtype = (uint8_t)c->out[0].dtype;
    y->ndim = (uint8_t)c->out[0].ndim;
    memcpy(y->dims, c->out[0].dims, sizeof y->dims);
    return true;
}

/* Runs the user's forward into every output's buffer (the node's value is
 * output 0's). Fails the tape when the callback fails or leaves an element
 * unset. */
void ad_custom_op_forward(ad_tape *t, ad_node *y)
{
    ad_custom_node *c = y->ctx;
    for (size_t j = 0; j < c->n_out; j++)
        prefill(&c->out[j]);
    ad_custom_args a = {c->name, c->user, c->n_in, c->n_out, c->in, c->out, NULL, NULL, NULL, NULL};
    frame f;
    frame_push(&f, t, c, "forward", (size_t)(y - t->nodes), false);
    if (!frame_pop(&f, c->forward(&a))) return;
    for (size_t j = 0; j < c->n_out; j++) {
        size_t i = first_unset(&c->out[j]);
        if (i == SIZE_MAX) continue;
        char s[AD_SHAPE_STR];
        ad_tape_fail(t, AD_ERR_INVALID,
                     "%s: %s: forward left output %zu (shape %s) unset at element %zu: every "
                     "element must be written",
                     c->fn, c->name, j, ad_shape_str(c->out[j].ndim, c->out[j].dims, s), i);
        return;
    }
}

/* The gradient buffer of output j's node, zeros when no gradient reached
 * it in this sweep (the loss does not use that output). */
static void *output_grad(ad_tape *t, const ad_custom_node *c, size_t j)
{
    ad_node *v = &t->nodes[c->node[j]];
    if (ad_grad_live(t, v)) return v->grad;
    size_t bytes = v->numel * ad_dtype_size((ad_dtype)v->dtype);
    if (!v->grad) v->grad = ad_tape_alloc(t, bytes, "ad_backward");
    if (!v->grad) return NULL;
    memset(v->grad, 0, bytes);
    v->grad_sweep = t->sweep;
    return v->grad;
}

/* One call of the user's VJP for all outputs: it reads every output's
 * gradient and adds into the inputs that need one. */
void ad_custom_op_backward(ad_tape *t, ad_node *y)
{
    ad_custom_node *c = y->ctx;
    if (!c->backward) {
        ad_tape_fail(t, AD_ERR_INVALID,
                     "ad_backward: %s (%s, node %zu) has no backward callback, but a gradient "
                     "reached it (give def->backward, or ad_tdetach its inputs)",
                     c->name, c->kind, (size_t)(y - t->nodes));
        return;
    }
    for (size_t j = 0; j < c->n_out; j++) {
        c->grad_out[j] = c->out[j];
        c->grad_out[j].data = output_grad(t, c, j);
        if (!c->grad_out[j].data) return;
    }
    for (size_t i = 0; i < c->n_in; i++) {
        c->grad_in[i] = c->in[i];
        c->grad_in[i].data = ad_input_grad(t, y, i);
    }
    ad_custom_args a = {c->name, c->user,     c->n_in,    c->n_out, c->in,
                        c->out,  c->grad_out, c->grad_in, NULL,     NULL};
    frame f;
    frame_push(&f, t, c, "backward", (size_t)(y - t->nodes), true);
    frame_pop(&f, c->backward(&a));
}

/* ---- views: outputs 1.. (attr_i[0] = j). Their buffers are written by the
 * op's forward and their gradients read by its backward, so their own rules
 * do nothing; the sweep reaches the op through them as through any input. */

bool ad_shape_custom_output(ad_tape *t, ad_node *y, const char *fn)
{
    (void)fn;
    const ad_custom_node *c = ad_node_input(t, y, 0)->ctx;
    const ad_custom_tensor *o = &c->out[y->attr_i[0]];
    y->dtype = (uint8_t)o->dtype;
    y->ndim = (uint8_t)o->ndim;
    memcpy(y->dims, o->dims, sizeof y->dims);
    return true;
}

void ad_custom_output_forward(ad_tape *t, ad_node *y)
{
    (void)t;
    (void)y;
}

void ad_custom_output_backward(ad_tape *t, ad_node *y)
{
    (void)t;
    (void)y;
}

/* ---- recording */

/* Checks input k against its declaration; false with the tape failed. */
static bool check_decl(ad_tape *t, const ad_custom_node *c, size_t k, const ad_custom_shape *d)
{
    const ad_custom_tensor *x = &c->in[k];
    bool ok = d->dtype == AD_CUSTOM_ANY_DTYPE || d->dtype == (int)x->dtype;
    bool dt_ok = ok;
    ok = ok && (d->ndim == 0 || d->ndim == x->ndim);
    for (size_t i = 0; ok && d->ndim && i < d->ndim && i < AD_MAX_DIMS; i++)
        ok = d->dims[i] == AD_CUSTOM_ANY || d->dims[i] == x->dims[i];
    if (ok) return true;
    char s[AD_SHAPE_STR], want[AD_MAX_DIMS * 24 + 8] = "any shape";
    if (d->ndim) {
        size_t off = (size_t)snprintf(want, sizeof want, "[");
        for (size_t i = 0; i < d->ndim && i < AD_MAX_DIMS; i++) {
            if (d->dims[i] == AD_CUSTOM_ANY)
                off += (size_t)snprintf(want + off, sizeof want - off, "%s*", i ? "," : "");
            else
                off += (size_t)snprintf(want + off, sizeof want - off, "%s%zu", i ? "," : "",
                                        d->dims[i]);
        }
        snprintf(want + off, sizeof want - off, "]");
    }
    const char *wdt = d->dtype == AD_CUSTOM_ANY_DTYPE ? "any dtype"
                      : d->dtype == AD_F32            ? "float32"
                      : d->dtype == AD_F64            ? "float64"
                                                      : "an unknown dtype";
    ad_tape_fail(t, dt_ok ? AD_ERR_SHAPE : AD_ERR_DTYPE,
                 "%s: %s: input %zu is %s %s, declared %s %s", c->fn, c->name, k,
                 ad_shape_str(x->ndim, x->dims, s), ad_dtype_name(x->dtype), want, wdt);
    return false;
}

/* An output's declared dtype and shape, checked and copied into o. */
static bool take_output(ad_tape *t, const ad_custom_node *c, size_t j, const ad_custom_shape *d,
                        ad_custom_tensor *o)
{
    if (d->dtype != AD_F32 && d->dtype != AD_F64) {
        ad_tape_fail(t, AD_ERR_DTYPE,
                     "%s: %s: output %zu has dtype %d; outputs are AD_F32 or AD_F64", c->fn,
                     c->name, j, d->dtype);
        return false;
    }
    if (d->ndim < 1 || d->ndim > AD_MAX_DIMS) {
        ad_tape_fail(t, AD_ERR_INVALID,
                     "%s: %s: output %zu has %zu dimensions; tensors have 1 to %d", c->fn, c->name,
                     j, d->ndim, AD_MAX_DIMS);
        return false;
    }
    o->dtype = (ad_dtype)d->dtype;
    o->ndim = d->ndim;
    memset(o->dims, 0, sizeof o->dims);
    memcpy(o->dims, d->dims, d->ndim * sizeof *d->dims);
    /* as for every tensor: the nonzero dimensions multiply to a size a
     * tensor could hold, empty shapes included */
    size_t n = ad_shape_nonzero_product(o->ndim, o->dims);
    bool empty = false;
    for (size_t i = 0; i < o->ndim; i++)
        empty |= o->dims[i] == 0;
    if (n >= SIZE_MAX / 16) {
        char s[AD_SHAPE_STR];
        ad_tape_fail(t, AD_ERR_INVALID, "%s: %s: output %zu: shape %s is too large", c->fn, c->name,
                     j, ad_shape_str(o->ndim, o->dims, s));
        return false;
    }
    o->numel = empty ? 0 : n;
    o->data = ad_tape_alloc(t, o->numel * ad_dtype_size(o->dtype), c->fn);
    return o->data != NULL;
}

/* The def's own faults, before anything is allocated. */
static bool check_def(ad_tape *t, const char *fn, const ad_custom_def *d)
{
    const char *why = !d->name || !d->name[0] ? "def->name is NULL or empty"
                      : !d->forward           ? "def->forward is NULL"
                      : d->n_out == 0         ? "def->n_out is 0 (an op has at least one output)"
                      : !d->out && !d->shape  ? "def->out and def->shape are both NULL"
                      : d->n_in > UINT32_MAX / 2 || d->n_out > UINT32_MAX / 2
                          ? "def->n_in or def->n_out is too large"
                          : NULL;
    if (!why) return true;
    ad_tape_fail(t, AD_ERR_INVALID, "%s: %s: %s", fn, d->name && d->name[0] ? d->name : "(unnamed)",
                 why);
    return false;
}

/* The tape of the inputs, checked one by one; NULL when there is none or
 * the tape failed. Fills c->in and idx. */
static ad_tape *take_inputs(const char *fn, const ad_custom_def *def, const ad_tensor *in)
{
    ad_tape *t = NULL;
    for (size_t k = 0; k < def->n_in && !t; k++)
        t = in[k].tape_;
    if (!t)
        ad_no_tape("%s: %s: none of the %zu inputs has a tape (zero-initialised handles?)", fn,
                   def->name ? def->name : "(unnamed)", def->n_in);
    return t;
}

static bool fill_inputs(ad_tape *t, ad_custom_node *c, const ad_tensor *in, uint32_t *idx,
                        uint8_t *want)
{
    char who[96];
    snprintf(who, sizeof who, "%s: %s", c->fn, c->name);
    for (size_t k = 0; k < c->n_in; k++) {
        if (in[k].tape_ != t) {
            ad_tape_fail(
                t, in[k].tape_ ? AD_ERR_FOREIGN : AD_ERR_INVALID, "%s: input %zu %s", who, k,
                in[k].tape_ ? "belongs to a different tape" : "is not a tensor handle (no tape)");
            return false;
        }
        const ad_node *x = ad_tensor_node(in[k], who);
        if (!x) return false;
        ad_custom_tensor *d = &c->in[k];
        d->dtype = (ad_dtype)x->dtype;
        d->ndim = x->ndim;
        memcpy(d->dims, x->dims, sizeof d->dims);
        d->numel = x->numel;
        d->data = x->value;
        idx[k] = in[k].index_;
        *want |= (uint8_t)(x->needs_grad | x->unrecorded << 1);
    }
    return true;
}

/* The output shapes: declared, or from the shape callback. */
static bool take_outputs(ad_tape *t, ad_custom_node *c, const ad_custom_def *def)
{
    const ad_custom_shape *decl = def->out;
    if (!decl) {
        ad_custom_shape *s = ad_tape_alloc(t, c->n_out * sizeof *s, c->fn);
        if (!s) return false;
        memset(s, 0, c->n_out * sizeof *s);
        ad_custom_args a = {c->name, c->user, c->n_in, c->n_out, c->in,
                            NULL,    NULL,    NULL,    NULL,     NULL};
        frame f;
        frame_push(&f, t, c, "shape", t->nn, false);
        if (!frame_pop(&f, def->shape(&a, s))) return false;
        decl = s;
    }
    for (size_t j = 0; j < c->n_out; j++)
        if (!take_output(t, c, j, &decl[j], &c->out[j])) return false;
    return true;
}

/* Allocates the node's saved state from the arena. */
static ad_custom_node *new_state(ad_tape *t, const char *fn, const char *kind,
                                 const ad_custom_def *def)
{
    ad_custom_node *c = ad_tape_alloc(t, sizeof *c, fn);
    size_t len = strlen(def->name);
    if (len > 63) len = 63;
    char *name = ad_tape_alloc(t, len + 1, fn);
    size_t ni = def->n_in, no = def->n_out;
    ad_custom_tensor *ts = ad_tape_alloc(t, (2 * ni + 2 * no) * sizeof *ts, fn);
    uint32_t *node = ad_tape_alloc(t, no * sizeof *node, fn);
    if (!c || !name || !ts || !node) return NULL;
    memcpy(name, def->name, len);
    name[len] = '\0';
    *c = (ad_custom_node){name, fn, kind, def->forward, def->backward, def->jvp,         def->ctx,
                          ni,   no, ts,   ts + ni,      ts + ni + no,  ts + 2 * ni + no, node};
    return c;
}

/* The next node slot, every field zero but the ones all nodes set. */
static ad_node *new_node(ad_tape *t, const char *fn, uint16_t op, const ad_custom_tensor *o)
{
    if (!ad_node_reserve(t, fn)) return NULL;
    ad_node *y = &t->nodes[t->nn];
    memset(y, 0, sizeof *y);
    y->op = op;
    y->dtype = (uint8_t)o->dtype;
    y->ndim = (uint8_t)o->ndim;
    memcpy(y->dims, o->dims, sizeof y->dims);
    y->numel = o->numel;
    y->value = o->data;
    y->scalar_mark = (uint32_t)t->hot.ns;
    y->named = 1;
    return y;
}

/* View j: a named node ("name[j]") on the op's node that holds output j. */
static ad_tensor record_view(ad_tape *t, ad_custom_node *c, ad_tensor op, size_t j)
{
    const ad_node *p = &t->nodes[op.index_];
    bool needs = p->needs_grad, lost = p->unrecorded;
    char buf[80];
    int len = snprintf(buf, sizeof buf, "%s[%zu]", c->name, j);
    const char **vc = ad_tape_alloc(t, sizeof *vc, c->fn);
    char *name = ad_tape_alloc(t, (size_t)len + 1, c->fn);
    if (!vc || !name) return ad_invalid_tensor(t);
    memcpy(name, buf, (size_t)len + 1);
    *vc = name;
    ad_node *v = new_node(t, c->fn, AD_OP_CUSTOM_OUTPUT, &c->out[j]);
    if (!v) return ad_invalid_tensor(t);
    v->n_in = 1;
    v->in_inline[0] = op.index_;
    v->ctx = vc;
    v->attr_i[0] = (int64_t)j;
    ad_node_set_grad(t, v, needs, lost); /* as the op's node */
    if (t->anomaly && !ad_anomaly_check(t, v, v->value, v->numel, false))
        return ad_invalid_tensor(t);
    c->node[j] = (uint32_t)t->nn;
    return ad_node_commit(t);
}

ad_tensor ad_custom_record(const char *fn, const char *kind, const ad_custom_def *def,
                           const ad_tensor *in, ad_tensor *out)
{
    if (!def) {
        ad_no_tape("%s: def is NULL", fn);
        return ad_invalid_tensor(NULL);
    }
    if (out)
        for (size_t j = 0; j < def->n_out; j++)
            out[j] = ad_invalid_tensor(NULL);
    if (def->n_in == 0 || !in) {
        ad_no_tape("%s: %s: %s, so no tape to record on", fn, def->name ? def->name : "(unnamed)",
                   !in ? "in is NULL" : "def->n_in is 0");
        return ad_invalid_tensor(NULL);
    }
    ad_tape *t = take_inputs(fn, def, in);
    if (!t) return ad_invalid_tensor(NULL);
    if (out)
        for (size_t j = 0; j < def->n_out; j++)
            out[j] = ad_invalid_tensor(t);
    if (t->err != AD_OK || !check_def(t, fn, def)) return ad_invalid_tensor(t);
    ad_custom_node *c = new_state(t, fn, kind, def);
    uint32_t *idx = NULL;
    if (c && def->n_in > AD_NODE_INLINE_INPUTS) idx = ad_tape_alloc(t, def->n_in * sizeof *idx, fn);
    uint32_t small[AD_NODE_INLINE_INPUTS];
    if (c && def->n_in <= AD_NODE_INLINE_INPUTS) idx = small;
    uint8_t want = 0;
    if (!c || !idx || !fill_inputs(t, c, in, idx, &want)) return ad_invalid_tensor(t);
    for (size_t k = 0; def->in && k < c->n_in; k++)
        if (!check_decl(t, c, k, &def->in[k])) return ad_invalid_tensor(t);
    if (!take_outputs(t, c, def)) return ad_invalid_tensor(t);

    ad_node *y = new_node(t, fn, AD_OP_CUSTOM, &c->out[0]);
    if (!y) return ad_invalid_tensor(t);
    y->n_in = (uint32_t)c->n_in;
    if (c->n_in > AD_NODE_INLINE_INPUTS)
        y->in_ext = idx;
    else
        memcpy(y->in_inline, idx, c->n_in * sizeof *idx);
    y->ctx = c;
    ad_node_set_grad(t, y, want & 1, (want & 2) != 0);
    c->node[0] = (uint32_t)t->nn;
    ad_custom_op_forward(t, y);
    if (t->err != AD_OK) return ad_invalid_tensor(t);
    if (t->anomaly && !ad_anomaly_check(t, y, y->value, y->numel, false))
        return ad_invalid_tensor(t);
    ad_tensor h = ad_node_commit(t);
    if (out) out[0] = h;
    for (size_t j = 1; j < c->n_out; j++) {
        ad_tensor v = record_view(t, c, h, j);
        if (!ad_tensor_ok(v)) break;
        if (out) out[j] = v;
    }
    if (t->err != AD_OK) {
        for (size_t j = 0; out && j < c->n_out; j++)
            out[j] = ad_invalid_tensor(t);
        return ad_invalid_tensor(t);
    }
    return h;
}

ad_tensor ad_custom_op(const ad_custom_def *def, const ad_tensor *in, ad_tensor *out)
{
    return ad_custom_record(__func__, "custom op", def, in, out);
}
