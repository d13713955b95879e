/* SPDX-License-Identifier: MIT
 * A stand-in for the part of Criterion that tests/test_threads.c uses, for
 * `make tsan` only: Criterion's worker sandbox cannot map its shared arena
 * under ThreadSanitizer, so the TSan build runs the tests from a plain main()
 * (tests/tsan/main.c), each in a process it forks. Put this directory first
 * on the include path; the real header is used everywhere else. The macros
 * take `...` whole and append an argument, so a call without a message is
 * valid C11 under -Wpedantic. */
#ifndef AD_TSAN_CRITERION_SHIM_H
#define AD_TSAN_CRITERION_SHIM_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

void shim_register(const char *name, void (*fn)(void));
void shim_fail(const char *cond, const char *file, int line);

#define Test(...) SHIM_TEST(__VA_ARGS__, 0)
#define SHIM_TEST(suite, name, ...)                                                                \
    static void suite##_##name(void);                                                              \
    __attribute__((constructor)) static void shim_reg_##suite##_##name(void)                       \
    {                                                                                              \
        shim_register(#suite "::" #name, suite##_##name);                                          \
    }                                                                                              \
    static void suite##_##name(void)
#define TestSuite(...)

#define SHIM_CHECK(c, text)                                                                        \
    do {                                                                                           \
        if (!(c)) shim_fail(text, __FILE__, __LINE__);                                             \
    } while (0)
#define SHIM_1(c, ...)          SHIM_CHECK(c, #c)
#define SHIM_2(op, a, b, ...)   SHIM_CHECK((a)op(b), #a " " #op " " #b)
#define cr_assert(...)          SHIM_1(__VA_ARGS__, 0)
#define cr_assert_eq(...)       SHIM_2(==, __VA_ARGS__, 0)
#define cr_assert_neq(...)      SHIM_2(!=, __VA_ARGS__, 0)
#define cr_assert_gt(...)       SHIM_2(>, __VA_ARGS__, 0)
#define cr_assert_lt(...)       SHIM_2(<, __VA_ARGS__, 0)
#define cr_assert_not_null(...) SHIM_1((SHIM_FIRST(__VA_ARGS__, 0)) != NULL, 0)
#define cr_assert_null(...)     SHIM_1((SHIM_FIRST(__VA_ARGS__, 0)) == NULL, 0)
#define SHIM_FIRST(x, ...)      x
#define cr_log_info(...)        ((void)0)

#endif
