/* SPDX-License-Identifier: MIT
 * Thread count for large kernels. */
#include "adtape.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_int requested; /* 0: not set, use the environment or the cores */

void ad_set_num_threads(int n)
{
    atomic_store(&requested, n > 0 ? n : 0);
}

int ad_get_num_threads(void)
{
    int n = atomic_load(&requested);
    if (n > 0) return n;
    const char *env = getenv("ADTAPE_NUM_THREADS");
    if (env) {
        long v = strtol(env, NULL, 10);
        if (v > 0 && v < 1024) return (int)v;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 && cores < 1024 ? (int)cores : 1;
}
