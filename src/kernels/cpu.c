/* SPDX-License-Identifier: MIT
 * CPU feature detection through the compiler's cpuid builtins (which also
 * check that the OS saves the wide registers). */
#include "cpu.h"

bool ad_cpu_has_avx2_fma(void)
{
#if AD_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

bool ad_cpu_has_avx512(void)
{
#if AD_X86
    __builtin_cpu_init();
    return ad_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
#else
    return false;
#endif
}
