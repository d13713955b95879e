/* SPDX-License-Identifier: MIT
 * The per-element optimiser rules (optim.c) for one element type, included
 * once per dtype after the rule type with T (float or double) and SQRT
 * (sqrtf or sqrt) defined. Defines static update_<T> (update_float) and
 * undefines the parameters. */

#define OU_CAT_(a, b) a##b
#define OU_CAT(a, b)  OU_CAT_(a, b)

static void OU_CAT(update_, T)(const rule *r, T *w, const T *grad, T *m, T *v, size_t n)
{
    const T lr = (T)r->lr, s = (T)r->scale, wd = (T)r->wd, mu = (T)r->mu;
    const T b1 = (T)r->b1, b2 = (T)r->b2, eps = (T)r->eps, one = (T)1;
    const T step = (T)(r->lr / r->bc1), rbc2 = (T)(1.0 / sqrt(r->bc2));
    switch (r->kind) {
    case AD_OPT_SGD:
        if (r->scale == 1.0 && r->wd == 0.0) /* plain SGD: w -= lr g, half the work */
            for (size_t i = 0; i < n; i++)
                w[i] -= lr * grad[i];
        else
            for (size_t i = 0; i < n; i++)
                w[i] -= lr * (grad[i] * s + wd * w[i]);
        break;
    case AD_OPT_MOMENTUM:
        for (size_t i = 0; i < n; i++) {
            m[i] = mu * m[i] + (grad[i] * s + wd * w[i]);
            w[i] -= lr * m[i];
        }
        break;
    case AD_OPT_NESTEROV:
        for (size_t i = 0; i < n; i++) {
            T g = grad[i] * s + wd * w[i];
            m[i] = mu * m[i] + g;
            w[i] -= lr * (g + mu * m[i]);
        }
        break;
    default: { /* Adam; AdamW decays w itself instead of adding wd w to g */
        const T l2 = r->kind == AD_OPT_ADAMW ? (T)0 : wd;
        const T shrink = r->kind == AD_OPT_ADAMW ? one - lr * wd : one;
        for (size_t i = 0; i < n; i++) {
            T g = grad[i] * s + l2 * w[i];
            w[i] *= shrink;
            m[i] = b1 * m[i] + (one - b1) * g;
            v[i] = b2 * v[i] + (one - b2) * g * g;
            w[i] -= step * m[i] / (SQRT(v[i]) * rbc2 + eps);
        }
        break;
    }
    }
}

#undef OU_CAT
#undef OU_CAT_
#undef T
#undef SQRT
