/* SPDX-License-Identifier: MIT
 * A stand-in for the part of Criterion that tests/test_threads.c uses, for
 * `make tsan` only: Criterion's worker sandbox cannot map its shared arena
 * under ThreadSanitizer, so the TSan build runs the tests in one process
 * from a plain main() (tests/tsan/main.c). Put this directory first on the
 * include path; the real header is used everywhere else. */
#ifndef AD_TSAN_CRITERION_SHIM_H
#define AD_TSAN_CRITERION_SHIM_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

void shim_register(const char *name, void (*fn)(void));
void shim_fail(const char *cond, const char *file, int line);

#define Test(suite, name, ...)                                                                     \
    static void suite##_##name(void);                                                              \
    __attribute__((constructor)) static void shim_reg_##suite##_##name(void)                       \
    {                                                                                              \
        shim_register(#suite "::" #name, suite##_##name);                                          \
    }                                                                                              \
    static void suite##_##name(void)
#define TestSuite(...)

#define cr_assert(c, ...)                                                                          \
    do {                                                                                           \
        if (!(c)) shim_fail(#c, __FILE__, __LINE__);                                               \
    } while (0)
#define cr_assert_eq(a, b, ...)    cr_assert((a) == (b))
#define cr_assert_neq(a, b, ...)   cr_assert((a) != (b))
#define cr_assert_gt(a, b, ...)    cr_assert((a) > (b))
#define cr_assert_lt(a, b, ...)    cr_assert((a) < (b))
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL)
#define cr_assert_null(p, ...)     cr_assert((p) == NULL)
#define cr_log_info(...)           ((void)0)

#endif
