/* SPDX-License-Identifier: MIT
 * Helpers shared by the Criterion tests: random float64 parameters, an
 * assertion that runs ad_gradcheck_graph and prints the worst element, and
 * GRADCHECK_TEST, the registered gradcheck test every op needs
 * (tests/test_table.c checks there is one per row of the op list). */
#ifndef AD_TEST_COMMON_H
#define AD_TEST_COMMON_H

#include "adtape.h"
#include "core/tape.h"
#include "ops/ops.h"

#include <criterion/criterion.h>
#include <string.h>

/* A float64 parameter of the given shape, uniform on [lo, hi) from seed. */
static inline ad_param *test_param(size_t ndim, const size_t *dims, double lo, double hi,
                                   uint64_t seed)
{
    ad_param *p = ad_param_new(AD_F64, ndim, dims);
    cr_assert_not_null(p);
    ad_param_uniform(p, lo, hi, seed);
    return p;
}

/* ---- which ops a passing float64 gradcheck covered
 * test_gradcheck_graph is ad_gradcheck_graph that also notes the op of every
 * float64 node on the graphs f records; when the check passes, those ops
 * count as covered for the test running now. State is per test file (the
 * statics below), which is where a GRADCHECK_TEST and its checks run. */

/* [0]: ops seen during the gradcheck running now; [1]: covered in this test */
static inline bool *test_gradcheck_ops_(int which)
{
    static bool ops[2][AD_OP_COUNT];
    return ops[which];
}

typedef struct test_graph_call_ {
    ad_graph_fn f;
    void *ctx;
} test_graph_call_;

static inline ad_tensor test_noting_graph_(ad_tape *t, ad_param *const *ps, size_t n, void *ctx)
{
    const test_graph_call_ *c = ctx;
    ad_tensor y = c->f(t, ps, n, c->ctx);
    bool *seen = test_gradcheck_ops_(0);
    for (size_t i = 0; i < t->nn; i++)
        if (t->nodes[i].dtype == AD_F64 && t->nodes[i].op < AD_OP_COUNT)
            seen[t->nodes[i].op] = true;
    return y;
}

static inline ad_status test_gradcheck_graph(ad_graph_fn f, ad_param *const *params, size_t n,
                                             void *ctx, const ad_gradcheck_opts *opts,
                                             ad_gradcheck_report *report)
{
    bool *seen = test_gradcheck_ops_(0), *covered = test_gradcheck_ops_(1);
    memset(seen, 0, AD_OP_COUNT * sizeof *seen);
    test_graph_call_ c = {f, ctx};
    ad_status s = ad_gradcheck_graph(test_noting_graph_, params, n, &c, opts, report);
    if (s == AD_OK && report->passed)
        for (int op = 0; op < AD_OP_COUNT; op++)
            covered[op] |= seen[op];
    return s;
}

/* Gradchecks f over params and fails the test with the worst element. */
#define ASSERT_GRADCHECK(f, params, n, ctx, opts)                                                  \
    do {                                                                                           \
        ad_gradcheck_report r_;                                                                    \
        ad_status s_ = test_gradcheck_graph((f), (params), (n), (ctx), (opts), &r_);               \
        cr_assert(s_ == AD_OK && r_.passed,                                                        \
                  "%s: status %s (%s); worst input %zu [%zu]: analytic %.10g, numeric %.10g, "     \
                  "abs err %.3g, rel err %.3g (%zu checked)",                                      \
                  #f, ad_status_name(s_), ad_last_error(), r_.input, r_.index, r_.analytic,        \
                  r_.numeric, r_.abs_err, r_.rel_err, r_.checked);                                 \
        cr_assert(r_.checked > 0 || ad_param_numel((params)[0]) == 0);                             \
    } while (0)

/* Registers (op, "suite/name") for tests/test_table.c; defined there. */
void test_gradcheck_register(int op, const char *test);

/* GRADCHECK_TEST(suite, name, AD_OP_X) { body } is Test(suite, name) that
 * registers itself as op X's float64 gradcheck test at program load (before
 * Criterion starts any test, in every process it runs) and fails unless a
 * gradcheck through test_gradcheck_graph (ASSERT_GRADCHECK) passed, while
 * the body ran, on a graph with a float64 node of op X. */
#define GRADCHECK_TEST(suite, name, op)                                                            \
    static void suite##_##name##_body_(void);                                                      \
    __attribute__((constructor)) static void suite##_##name##_register_(void)                      \
    {                                                                                              \
        test_gradcheck_register((op), #suite "/" #name);                                           \
    }                                                                                              \
    Test(suite, name)                                                                              \
    {                                                                                              \
        memset(test_gradcheck_ops_(1), 0, AD_OP_COUNT * sizeof(bool));                             \
        suite##_##name##_body_();                                                                  \
        cr_assert(test_gradcheck_ops_(1)[(op)],                                                    \
                  "%s/%s: no passing float64 gradcheck covered a %s node", #suite, #name, #op);    \
    }                                                                                              \
    static void suite##_##name##_body_(void)

/* Asserts the tape failed with `code` and a message containing `needle`. */
#define ASSERT_TAPE_ERROR(t, code, needle)                                                         \
    do {                                                                                           \
        const char *m_;                                                                            \
        ad_status c_ = ad_tape_error((t), &m_);                                                    \
        cr_assert_eq(c_, (code), "expected %s, got %s (%s)", ad_status_name(code),                 \
                     ad_status_name(c_), m_);                                                      \
        cr_assert(strstr(m_, (needle)) != NULL, "message \"%s\" lacks \"%s\"", m_, (needle));      \
    } while (0)

/* A fixed pseudo-random weight in [0.5, 1.5) for element i. */
static inline double test_weight(size_t i)
{
    return 0.5 + (double)((i * 2654435761u + 12345u) % 1000u) / 1000.0;
}

/* Reduces x to a [1] float64 tensor, sum_i test_weight(i) x_i, through the
 * scalar bridge (so it needs no tensor reduction op): each element becomes a
 * scalar (ad_tensor_to_scalar), is weighted so that every element's gradient
 * matters and a wrong index shows, and the sum is stacked back into a tensor
 * (ad_stack_scalars). An empty x gives the constant [1] zero; an invalid x
 * or a failed tape gives an invalid handle. Use it to end an ad_graph_fn. */
static inline ad_tensor test_weighted_sum(ad_tensor x)
{
    ad_tape *t = ad_tensor_tape(x);
    size_t n = ad_tensor_numel(x);
    ad_scalar s = ad_constant(t, 0.0);
    for (size_t i = 0; i < n; i++)
        s = ad_add(s, ad_mul(ad_tensor_to_scalar(x, i), ad_constant(t, test_weight(i))));
    return ad_stack_scalars(&s, 1, 1, (size_t[]){1});
}

/* The tape's error message, for assertion messages ("" when none). */
static inline const char *test_tape_msg(const ad_tape *t)
{
    const char *m = NULL;
    ad_tape_error(t, &m);
    return m ? m : "";
}

#endif
