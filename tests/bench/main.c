/* SPDX-License-Identifier: MIT
 * build/bench [GROUP...]: runs the named groups (all by default) and prints
 * one `name value unit` line per figure. Exit status 1 when a self-check
 * failed (a fast wrong answer is not a result). */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures;

double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    if (n == 0) return 0.0;
    qsort(v, n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void bench_emit(const char *name, double value, const char *unit)
{
    printf("%s %.4g %s\n", name, value, unit);
    fflush(stdout);
}

void bench_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void bench_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ERROR: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

static const struct {
    const char *name;
    int (*run)(void);
} groups[] = {
    /* one group a line, so each issue's benchmarks add their own */
    /* clang-format off */
    {"scalar", bench_scalar},
    {"gemm", bench_gemm},
    {"mlp", bench_mlp},
    {"elementwise", bench_elementwise},
    {"memory", bench_memory},
    {"index", bench_index},
    {"norm", bench_norm},
    {"conv", bench_conv},
    {"rnn", bench_rnn},
    {"custom", bench_custom},
    {"checkpoint", bench_checkpoint},
    /* clang-format on */
};
enum { N_GROUPS = sizeof groups / sizeof groups[0] };

int main(int argc, char **argv)
{
    /* bench_memory re-runs this binary to measure a fresh process */
    if (argc == 2 && strcmp(argv[1], "memory-child") == 0) return bench_memory_child() ? 1 : 0;
    for (int i = 1; i < argc; i++) {
        int found = 0;
        for (size_t g = 0; g < N_GROUPS; g++)
            found |= strcmp(argv[i], groups[g].name) == 0;
        if (!found) {
            fprintf(stderr, "bench: unknown group '%s' (groups:", argv[i]);
            for (size_t g = 0; g < N_GROUPS; g++)
                fprintf(stderr, " %s", groups[g].name);
            fputs(")\n", stderr);
            return 2;
        }
    }
    for (size_t g = 0; g < N_GROUPS; g++) {
        int run = argc == 1;
        for (int i = 1; i < argc; i++)
            run |= strcmp(argv[i], groups[g].name) == 0;
        if (run) groups[g].run();
    }
    return failures ? 1 : 0;
}
