/* SPDX-License-Identifier: MIT
 * main() of the distributed tests: MPI_Init, then every registered test
 * (or those whose "suite/name" contains --filter's text) on every rank,
 * with a barrier after each and Criterion's kind of report from rank 0.
 * Each test must leave no ad_alloc block behind (checked on every rank). */
#include "mt.h"

#include "adtape.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_TESTS = 128 };
static struct {
    const char *suite, *name;
    void (*fn)(void);
} tests[MAX_TESTS];
static int n_tests;
int mt_rank, mt_size;

void mt_register(const char *suite, const char *name, void (*fn)(void))
{
    if (n_tests < MAX_TESTS) {
        tests[n_tests].suite = suite;
        tests[n_tests].name = name;
        tests[n_tests].fn = fn;
        n_tests++;
    }
}

void mt_fail(const char *file, int line, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[FAIL] rank %d of %d: %s:%d: %s\n", mt_rank, mt_size, file, line, msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1); /* MPI_Abort does not return */
}

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &mt_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mt_size);
    const char *filter = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--filter") == 0) filter = argv[i + 1];
    int ran = 0;
    for (int i = 0; i < n_tests; i++) {
        char full[256];
        snprintf(full, sizeof full, "%s/%s", tests[i].suite, tests[i].name);
        if (filter && !strstr(full, filter)) continue;
        size_t live = ad_debug_live_allocs();
        tests[i].fn();
        mt_assert(ad_debug_live_allocs() == live, "%s left %zu blocks allocated", full,
                  ad_debug_live_allocs() - live);
        MPI_Barrier(MPI_COMM_WORLD);
        if (mt_rank == 0) printf("[PASS] %s (%d ranks)\n", full, mt_size);
        fflush(stdout);
        ran++;
    }
    if (mt_rank == 0)
        printf("[====] Synthesis: Tested: %d | Passing: %d | Failing: 0 | ranks: %d\n", ran, ran,
               mt_size);
    MPI_Finalize();
    return ran > 0 ? 0 : 1;
}
