/* SPDX-License-Identifier: MIT
 * The reductions of the vector math kernels (vmath_tmpl.h): max, argmax and
 * the shifted exp sum. Included by vmath_tmpl.h once per dtype, after
 * VM_FN and VM_LANES, with VR_T (float or double), VR_SUF (f32 or f64), VR_U
 * (an unsigned integer as wide as VR_T) and VR_EXP1 (the one-element exp)
 * defined; defines max_<SUF>, argmax_<SUF>, exp_shift_sum_<SUF> and
 * undefines the parameters. */

#define VR_CAT_(a, b) a##b
#define VR_CAT(a, b)  VR_CAT_(a, b)
#define VR_FN(name)   VR_CAT(name, VR_SUF)

/* The largest of x[0..n), n >= 1; a NaN in x[0] survives, later ones are
 * skipped (the compares are false). */
static VM_FN VR_T VR_FN(max_)(const VR_T *x, size_t n)
{
    VR_T acc[VM_LANES];
    for (size_t j = 0; j < VM_LANES; j++)
        acc[j] = x[0];
    size_t i = 0;
    for (; i + VM_LANES <= n; i += VM_LANES)
        for (size_t j = 0; j < VM_LANES; j++)
            acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
    VR_T m = acc[0];
    for (size_t j = 1; j < VM_LANES; j++)
        m = acc[j] > m ? acc[j] : m;
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    return m;
}

/* The index of the first maximum of x[0..n), n >= 1, where a NaN beats
 * every number and the first NaN wins: the max pass above (a NaN only in
 * x[0] survives it), a NaN scan, then a search 16 at a time for the block
 * holding the first maximum (or NaN). Flags as wide as an element (VR_U) keep the
 * compares in vector lanes. */
static VM_FN size_t VR_FN(argmax_)(const VR_T *x, size_t n)
{
    VR_T m = VR_FN(max_)(x, n);
    if (m != m) return 0;
    VR_U nan = 0;
    for (size_t i = 0; i < n; i++)
        nan |= (VR_U)(x[i] != x[i]);
    size_t j = 0;
    if (nan) {
        while (x[j] == x[j])
            j++;
        return j;
    }
    for (; j + 16 <= n; j += 16) {
        VR_U hit = 0;
        for (size_t k = 0; k < 16; k++)
            hit |= (VR_U)(x[j + k] == m);
        if (hit) break;
    }
    while (x[j] != m)
        j++;
    return j;
}

/* y = e^(x - m) and its sum, in one pass (softmax's exp and normaliser). */
static VM_FN VR_T VR_FN(exp_shift_sum_)(const VR_T *x, VR_T m, VR_T *y, size_t n)
{
    VR_T acc[VM_LANES] = {0};
    size_t i = 0;
    for (; i + VM_LANES <= n; i += VM_LANES)
        for (size_t j = 0; j < VM_LANES; j++) {
            VR_T v = VR_EXP1(x[i + j] - m);
            y[i + j] = v;
            acc[j] += v;
        }
    VR_T s = 0;
    for (; i < n; i++) {
        y[i] = VR_EXP1(x[i] - m);
        s += y[i];
    }
    for (size_t j = 0; j < VM_LANES; j++)
        s += acc[j];
    return s;
}

#undef VR_FN
#undef VR_CAT
#undef VR_CAT_
#undef VR_T
#undef VR_SUF
#undef VR_U
#undef VR_EXP1
