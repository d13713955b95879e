/* SPDX-License-Identifier: MIT
 * The op table: every row is filled in and names are unique, and every op
 * has a float64 gradcheck test, known by what the tests register
 * (GRADCHECK_TEST in common.h), not by what their source text says. */
#include "common.h"

#include <stdio.h>

/* ---- the registry GRADCHECK_TEST fills at program load */

enum { MAX_REGISTERED = 256 };
static struct {
    int op;
    const char *test;
} registered[MAX_REGISTERED];
static size_t n_registered;

void test_gradcheck_register(int op, const char *test)
{
    if (n_registered < MAX_REGISTERED) {
        registered[n_registered].op = op;
        registered[n_registered].test = test;
    }
    n_registered++;
}

#define CODE_NAME(CODE, name, arity, shape, scalar_inputs) [AD_OP_##CODE] = "AD_OP_" #CODE,
static const char *const code_names[AD_OP_COUNT] = {AD_OP_LIST(CODE_NAME)};
#undef CODE_NAME

Test(table, every_op_row_has_a_name_a_shape_rule_a_forward_and_a_backward)
{
    cr_assert_str_eq(ad_op_table[AD_OP_LEAF]->name, "leaf");
    for (int op = 0; op < AD_OP_COUNT; op++) {
        const ad_op_def *d = ad_op_table[op];
        cr_assert_not_null(d, "row %d is empty", op);
        cr_assert_not_null(d->name, "row %d has no name", op);
        if (op == AD_OP_LEAF) continue;
        cr_assert(d->shape && d->forward && d->backward, "op %s is missing a function", d->name);
        cr_assert(d->arity == -1 || (d->arity >= 1 && d->arity <= 3), "op %s: arity %d", d->name,
                  d->arity);
        for (int k = 0; k < op; k++)
            cr_assert_str_neq(d->name, ad_op_table[k]->name, "duplicate name %s", d->name);
    }
}

Test(table, only_the_stack_reads_scalar_records)
{
    for (int op = 0; op < AD_OP_COUNT; op++)
        cr_assert_eq(ad_op_table[op]->scalar_inputs != NULL, op == AD_OP_STACK, "%s",
                     ad_op_table[op]->name);
}

Test(table, every_op_has_a_registered_float64_gradcheck_test)
{
    cr_assert_leq(n_registered, (size_t)MAX_REGISTERED, "raise MAX_REGISTERED");
    char missing[2048] = "";
    size_t len = 0;
    for (int op = AD_OP_LEAF + 1; op < AD_OP_COUNT; op++) {
        bool found = false;
        for (size_t i = 0; i < n_registered && !found; i++)
            found = registered[i].op == op;
        if (!found && len < sizeof missing)
            len += (size_t)snprintf(missing + len, sizeof missing - len, " %s", code_names[op]);
    }
    cr_assert(len == 0, "no GRADCHECK_TEST for:%s", missing);
}

Test(table, registrations_name_real_op_codes)
{
    for (size_t i = 0; i < n_registered; i++)
        cr_assert(registered[i].op > AD_OP_LEAF && registered[i].op < AD_OP_COUNT,
                  "%s registers op %d", registered[i].test, registered[i].op);
}
