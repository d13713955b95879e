/* SPDX-License-Identifier: MIT
 * One array loop of the vector math kernels (vmath_tmpl.h): y[i] = f(x[i]),
 * with the element function inlined so the loop vectorises. Included once
 * per kernel, after VM_FN, with VM_MAP_NAME (the function to define),
 * VM_MAP_T (the element type) and VM_MAP_F(v) (the value for element v)
 * defined; undefines them. Optionally VM_MAP_BIG(v), true for an argument
 * the kernel does not cover, and VM_MAP_LIBM(v), its value from libm: a
 * block holding such an argument is computed by VM_MAP_LIBM, one element at
 * a time (the test reads x before any y of the block is written, so x may
 * be y). */

#ifdef VM_MAP_BIG
static VM_FN void VM_MAP_NAME(const VM_MAP_T *x, VM_MAP_T *y, size_t n)
{
    enum { BLOCK = 256 };
    for (size_t i = 0; i < n; i += BLOCK) {
        size_t m = n - i < BLOCK ? n - i : BLOCK;
        const VM_MAP_T *xb = x + i;
        VM_MAP_T *yb = y + i;
        int big = 0;
        for (size_t j = 0; j < m; j++)
            big |= VM_MAP_BIG(xb[j]);
        if (big)
            for (size_t j = 0; j < m; j++)
                yb[j] = (VM_MAP_LIBM(xb[j]));
        else
            for (size_t j = 0; j < m; j++)
                yb[j] = (VM_MAP_F(xb[j]));
    }
}
#undef VM_MAP_BIG
#undef VM_MAP_LIBM
#else
static VM_FN void VM_MAP_NAME(const VM_MAP_T *x, VM_MAP_T *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (VM_MAP_F(x[i]));
}
#endif

#undef VM_MAP_NAME
#undef VM_MAP_T
#undef VM_MAP_F
