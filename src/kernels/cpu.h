/* SPDX-License-Identifier: MIT
 * Run-time CPU feature checks and the one macro through which code asks the
 * compiler for an instruction set (AD_TARGET). The shipped build targets the
 * baseline ISA; faster kernels are compiled per function and chosen here. */
#ifndef AD_CPU_H
#define AD_CPU_H

#include <stdbool.h>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define AD_X86 1
/* Compiles one function for a wider instruction set than the build's. */
#define AD_TARGET(isa) __attribute__((target(isa)))
/* A pause hint inside a polling loop. */
#define AD_CPU_RELAX() __builtin_ia32_pause()
#else
#define AD_X86 0
#define AD_TARGET(isa)
#define AD_CPU_RELAX() ((void)0)
#endif

/* Kernel families (GEMM, vector math). AUTO picks the widest the CPU runs. */
enum { AD_ISA_AUTO = 0, AD_ISA_GENERIC = 1, AD_ISA_AVX2 = 2, AD_ISA_AVX512 = 3 };

/* true when the CPU (and OS) can run the kernels compiled for that set. */
bool ad_cpu_has_avx2_fma(void);
bool ad_cpu_has_avx512(void); /* F + DQ + BW + VL */

#endif
