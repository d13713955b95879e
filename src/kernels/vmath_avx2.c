/* SPDX-License-Identifier: MIT
 * The vector math kernels compiled for AVX2 + FMA (8 floats, 4 doubles per
 * register); chosen at run time by vmath.c. */
#include "cpu.h"
#include "vmath_kernels.h"

#if AD_X86
#define VM_ATTR        AD_TARGET("avx2,fma")
#define VM_FMA         1
#define VM_PREFER_LIBM 0
#define VM_TABLE       ad_vmath_avx2
#include "vmath_tmpl.h"
#else
/* Not x86: the generic kernels, never selected. */
const ad_vmath_impl ad_vmath_avx2 = {0};
#endif
