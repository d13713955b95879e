/* SPDX-License-Identifier: MIT
 * One array loop of the vector math kernels (vmath_tmpl.h): y[i] = f(x[i]),
 * with the element function inlined so the loop vectorises. Included once
 * per kernel, after VM_FN, with VM_MAP_NAME (the function to define),
 * VM_MAP_T (the element type) and VM_MAP_F(v) (the value for element v)
 * defined; undefines them. */

static VM_FN void VM_MAP_NAME(const VM_MAP_T *x, VM_MAP_T *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (VM_MAP_F(x[i]));
}

#undef VM_MAP_NAME
#undef VM_MAP_T
#undef VM_MAP_F
