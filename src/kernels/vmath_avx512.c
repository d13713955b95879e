/* SPDX-License-Identifier: MIT
 * The vector math kernels compiled for AVX-512 (16 floats, 8 doubles per
 * register); chosen at run time by vmath.c. */
#include "cpu.h"
#include "vmath_kernels.h"

#if AD_X86
#define VM_ATTR        AD_TARGET("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")
#define VM_FMA         1
#define VM_PREFER_LIBM 0
#define VM_TABLE       ad_vmath_avx512
#include "vmath_tmpl.h"
#else
const ad_vmath_impl ad_vmath_avx512 = {0};
#endif
