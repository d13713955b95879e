/* SPDX-License-Identifier: MIT
 * The distributed tests' harness (tests/mpi/main.c): tests run in the
 * processes mpirun started, in order, on every rank, because MPI cannot be
 * used from a process forked after MPI_Init, which is how Criterion runs
 * each test. A failed check prints the rank, file and line and ends the
 * whole job (MPI_Abort), so a rank never waits on one that failed. */
#ifndef AD_MT_H
#define AD_MT_H

#include <mpi.h>
#include <stdnoreturn.h>

extern int mt_rank, mt_size;

void mt_register(const char *suite, const char *name, void (*fn)(void));
noreturn void mt_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define MT_TEST(suite, name)                                                                       \
    static void suite##_##name(void);                                                              \
    __attribute__((constructor)) static void mt_reg_##suite##_##name(void)                         \
    {                                                                                              \
        mt_register(#suite, #name, suite##_##name);                                                \
    }                                                                                              \
    static void suite##_##name(void)

/* mt_assert(cond, "format", args...): the message is required */
#define mt_assert(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) mt_fail(__FILE__, __LINE__, __VA_ARGS__);                                     \
    } while (0)

#endif
