/* SPDX-License-Identifier: MIT
 * Shared helpers of the benchmark suite: a monotonic clock, medians, and the
 * one output format (`name value unit` on stdout; commentary on stderr). */
#ifndef AD_BENCH_H
#define AD_BENCH_H

#include <stddef.h>

double bench_now(void);
/* Sorts v[0..n) in place and returns its median. */
double bench_median(double *v, size_t n);
/* Prints one result line on stdout. */
void bench_emit(const char *name, double value, const char *unit);
/* Commentary for humans, on stderr. */
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports a failed self-check on stderr and remembers it for the exit code. */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The groups; each returns 0 when all its self-checks passed. */
int bench_scalar(void);
int bench_gemm(void);
int bench_mlp(void);
int bench_elementwise(void);
int bench_index(void);
int bench_norm(void);
int bench_memory(void);
int bench_conv(void);
int bench_rnn(void);
int bench_custom(void);
int bench_checkpoint(void);
/* The process that bench_memory starts to measure peak RSS on its own. */
int bench_memory_child(void);

#endif
