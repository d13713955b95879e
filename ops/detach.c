/* SPDX-License-Identifier: MIT
 * Stop-gradient: a value with no path back, for scalars (a constant) and
 * tensors (a tdetach node whose output needs no gradient, so the sweep
 * treats it as a constant and never visits what it was computed from). */
#include "ops.h"

#include "core/last_error.h"

#include <string.h>

ad_scalar ad_detach(ad_scalar x)
{
    const char *fn = __func__;
    ad_tape *t = x.tape_;
    if (!t) {
        ad_no_tape("%s: input 0 is not a scalar handle (no tape: zero-initialised?)", fn);
        return ad_invalid_scalar(NULL);
    }
    if (t->err != AD_OK) return ad_invalid_scalar(t);
    if (x.index_ == AD_INVALID_INDEX || x.gen_ == 0) {
        ad_tape_fail(t, AD_ERR_INVALID,
                     "%s: input 0 is an invalid scalar (the result of a failed op)", fn);
        return ad_invalid_scalar(t);
    }
    if ((x.gen_ & AD_GEN_MASK_) != t->hot.gen) {
        ad_tape_fail(t, AD_ERR_STALE, "%s: input 0 was recorded before the last ad_tape_reset", fn);
        return ad_invalid_scalar(t);
    }
    /* index 0: a constant, in evaluation mode too (where x may point at the
     * unrecorded dummy): what is detached needs no gradient, so a sweep
     * from it is no error */
    ad_scalar c = {t, 0, t->hot.gen, x.value_, 1.0};
    return c;
}

/* ---- tdetach: y = x, dy/dx treated as 0 */

void ad_tdetach_forward(ad_tape *t, ad_node *y)
{
    const ad_node *x = ad_node_input(t, y, 0);
    memcpy(y->value, x->value, y->numel * ad_dtype_size((ad_dtype)y->dtype));
}

/* Never called: the node needs no gradient (ad_tdetach clears the flag). */
void ad_tdetach_backward(ad_tape *t, ad_node *y)
{
    (void)t;
    (void)y;
}

ad_tensor ad_tdetach(ad_tensor x)
{
    ad_tensor y = ad_op_record(__func__, AD_OP_DETACH, &x, 1, NULL);
    if (!ad_tensor_ok(y)) return y;
    /* a constant: no gradient reaches x through it, and a sweep from it
     * (or from what it feeds alone) is no error, in evaluation mode too */
    ad_node *n = &y.tape_->nodes[y.index_];
    n->needs_grad = 0;
    n->unrecorded = 0;
    return y;
}
