/* SPDX-License-Identifier: MIT
 * Graph export: the DOT text is parsed loosely (node lines, edge lines,
 * labels) for graphs built from leaves, parameters, bridges and scalar ops,
 * and every error path is checked. */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct text {
    char *s;
    size_t len, cap;
    int calls;
    int fail_on_call; /* 0: never */
} text;

static bool collect(const char *data, size_t len, void *user)
{
    text *b = user;
    b->calls++;
    if (b->fail_on_call && b->calls >= b->fail_on_call) return false;
    if (b->len + len + 1 > b->cap) {
        b->cap = 2 * (b->len + len + 1);
        b->s = realloc(b->s, b->cap);
        cr_assert_not_null(b->s);
    }
    memcpy(b->s + b->len, data, len);
    b->len += len;
    b->s[b->len] = '\0';
    return true;
}

/* The DOT text of t, which must export with status `want`. Free with free(). */
static char *export_text(ad_tape *t, ad_status want)
{
    text b = {0};
    ad_status s = ad_tape_export_dot_fn(t, collect, &b);
    cr_assert_eq(s, want, "export returned %s", ad_status_name(s));
    cr_assert_not_null(b.s);
    return b.s;
}

/* Lines that start (after the indent) with prefix followed by a digit and
 * contain needle (NULL: any): "t" counts tensor nodes, "s" scalar records. */
static size_t count_lines(const char *dot, const char *prefix, const char *needle)
{
    size_t n = 0, plen = strlen(prefix);
    for (const char *line = dot; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[512];
        snprintf(buf, sizeof buf, "%.*s", (int)len, line);
        const char *p = buf + strspn(buf, " ");
        if (strncmp(p, prefix, plen) == 0 && (plen == 0 || (p[plen] >= '0' && p[plen] <= '9')) &&
            (!needle || strstr(p, needle)))
            n++;
        line = end ? end + 1 : NULL;
    }
    return n;
}

static size_t count_nodes(const char *dot, const char *prefix)
{
    size_t all = count_lines(dot, prefix, NULL);
    return all - count_lines(dot, prefix, " -> ");
}

static size_t count_edges(const char *dot)
{
    return count_lines(dot, "", " -> ");
}

/* Every line has an even number of unescaped quotes: the text stays DOT. */
static void assert_quotes_balanced(const char *dot)
{
    int q = 0;
    for (const char *p = dot; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (*p == '"') q ^= 1;
        if (*p == '\n')
            cr_assert_eq(q, 0, "unbalanced quotes before offset %zu", (size_t)(p - dot));
    }
    cr_assert_eq(q, 0);
}

/* A param P [3,4], a variable V [2] and a constant C [3]; two elements
 * bridged to scalars, multiplied, sin'd, and stacked back into Y [2]:
 * P[5] * V[1] -> m, sin m -> s, stack(m, s) -> Y. */
typedef struct mixed {
    ad_tape *t;
    ad_param *p;
    ad_tensor y;
    ad_scalar m, s;
} mixed;

static mixed mixed_graph(void)
{
    mixed g;
    g.t = ad_tape_new();
    cr_assert_not_null(g.t);
    g.p = test_param(2, (size_t[]){3, 4}, -1.0, 1.0, 7);
    ad_tensor P = ad_param_use(g.t, g.p);
    ad_tensor V = ad_tensor_variable(g.t, AD_F64, 1, (size_t[]){2}, (double[]){0.25, -1.5});
    ad_tensor C = ad_tensor_ones(g.t, AD_F32, 1, (size_t[]){3});
    cr_assert(ad_tensor_ok(C));
    g.m = ad_mul(ad_tensor_to_scalar(P, 5), ad_tensor_to_scalar(V, 1));
    g.s = ad_sin(g.m);
    ad_scalar xs[2] = {g.m, g.s};
    g.y = ad_stack_scalars(xs, 2, 1, (size_t[]){2});
    cr_assert(ad_tensor_ok(g.y));
    return g;
}

static void mixed_free(mixed *g)
{
    ad_tape_free(g->t);
    ad_param_free(g->p);
}

Test(export, mixed_graph_has_one_node_per_tensor_and_scalar_and_one_edge_per_flow)
{
    mixed g = mixed_graph();
    char *dot = export_text(g.t, AD_OK);
    cr_assert(strncmp(dot, "digraph adtape {", 16) == 0, "%s", dot);
    cr_assert(strstr(dot, "\n}\n") != NULL);
    assert_quotes_balanced(dot);
    /* P, V, C, two to_scalar, stack (its internal anchor leaf is hidden) */
    cr_assert_eq(count_nodes(dot, "t"), 6, "%s", dot);
    /* two bridged elements, their product, its sine */
    cr_assert_eq(count_nodes(dot, "s"), 4, "%s", dot);
    /* P->ts, V->ts, ts->s1, ts->s2, s1->m, s2->m, m->sin, m->Y, sin->Y */
    cr_assert_eq(count_edges(dot), 9, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "param\\n[3,4] float64"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "variable\\n[2] float64"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "constant\\n[3] float32"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "tensor_to_scalar\\nelement 5"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "stack_scalars\\n[2] float64"), 1, "%s", dot);
    cr_assert(strstr(dot, "|grad|") == NULL, "no sweep yet: no gradient norms");
    free(dot);
    mixed_free(&g);
}

Test(export, parameters_variables_constants_and_outputs_are_styled_apart)
{
    mixed g = mixed_graph();
    char *dot = export_text(g.t, AD_OK);
    cr_assert_eq(
        count_lines(dot, "t", "param\\n[3,4] float64\", style=filled, fillcolor=\"#f5d76e\""), 1,
        "%s", dot);
    cr_assert_eq(
        count_lines(dot, "t", "variable\\n[2] float64\", style=filled, fillcolor=\"#aed6f1\""), 1,
        "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "style=dashed"), 1, "%s", dot);
    /* the stack is the only tensor nobody consumes; leaves and to_scalar never are outputs */
    cr_assert_eq(count_lines(dot, "t", "(output)"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "t",
                             "stack_scalars\\n[2] float64\\n(output)\", color=red, penwidth=2, "
                             "peripheries=2"),
                 1, "%s", dot);
    /* m and sin m both feed the stack: no scalar is an output */
    cr_assert_eq(count_lines(dot, "s", "(output)"), 0, "%s", dot);
    free(dot);
    mixed_free(&g);
}

Test(export, the_edge_into_a_one_input_op_carries_no_position)
{
    ad_tape *t = ad_tape_new();
    ad_tensor a = ad_tensor_variable(t, AD_F64, 1, (size_t[]){2}, NULL);
    ad_scalar e = ad_tensor_to_scalar(a, 1);
    cr_assert(ad_scalar_ok(e));
    char *dot = export_text(t, AD_OK);
    cr_assert_eq(count_lines(dot, "t", "-> t1;"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "", "label=\"0\""), 0, "%s", dot);
    free(dot);
    ad_tape_free(t);
}

Test(export, a_softmax_and_loss_graph_shows_op_names_shapes_and_input_positions)
{
    ad_tape *t = ad_tape_new();
    ad_param *w = test_param(2, (size_t[]){3, 4}, -1.0, 1.0, 11);
    ad_tensor target = ad_tensor_fill(t, AD_F64, 2, (size_t[]){3, 4}, 0.25);
    ad_tensor loss = ad_mse_loss(ad_softmax(ad_param_use(t, w), 1), target);
    cr_assert(ad_tensor_ok(loss));
    cr_assert_eq(ad_backward(loss), AD_OK);
    char *dot = export_text(t, AD_OK);
    assert_quotes_balanced(dot);
    cr_assert_eq(count_nodes(dot, "t"), 4, "%s", dot);
    cr_assert_eq(count_edges(dot), 3, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "t2 [label=\"softmax\\n[3,4] float64\\n|grad| = "), 1, "%s",
                 dot);
    /* the loss has two inputs: each edge names its position; the one-input softmax's does not */
    cr_assert_eq(count_lines(dot, "t", "t1 -> t2;"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "t2 -> t3 [label=\"0\"];"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "t0 -> t3 [label=\"1\"];"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "mse_loss\\n[1] float64\\n|grad| = 1\\n(output)"), 1, "%s",
                 dot);
    cr_assert_eq(count_lines(dot, "t", "(output)"), 1, "%s", dot);
    free(dot);
    ad_tape_free(t);
    ad_param_free(w);
}

/* x [2,3] . W [3,4] -> relu -> + skip [2,4] -> mse against a constant */
Test(export, a_matmul_relu_residual_graph_shows_every_op_and_its_shape)
{
    ad_tape *t = ad_tape_new();
    ad_param *w = test_param(2, (size_t[]){3, 4}, -1.0, 1.0, 5);
    ad_tensor x = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){2, 3}, -1.0, 1.0, 9);
    ad_tensor wf = ad_tensor_uniform(t, AD_F32, 2, (size_t[]){3, 4}, -1.0, 1.0, 10);
    ad_tensor skip = ad_tensor_variable(t, AD_F32, 2, (size_t[]){2, 4}, NULL);
    ad_tensor h = ad_relu(ad_matmul(x, wf));
    ad_tensor r = ad_tadd(h, skip);
    ad_tensor loss = ad_mse_loss(r, ad_tensor_zeros(t, AD_F32, 2, (size_t[]){2, 4}));
    cr_assert(ad_tensor_ok(loss));
    /* a second, float64 branch nobody consumes: a second output */
    ad_tensor side = ad_relu(ad_param_use(t, w));
    cr_assert(ad_tensor_ok(side));
    cr_assert_eq(ad_backward(loss), AD_OK);
    char *dot = export_text(t, AD_OK);
    assert_quotes_balanced(dot);
    /* x, wf, skip, matmul, relu, tadd, zeros, mse_loss, param, relu */
    cr_assert_eq(count_nodes(dot, "t"), 10, "%s", dot);
    /* x, wf -> matmul -> relu; relu, skip -> tadd; tadd, zeros -> mse; param -> relu */
    cr_assert_eq(count_edges(dot), 8, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "matmul\\n[2,4] float32"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "relu\\n[2,4] float32"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "relu\\n[3,4] float64\\n(output)"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "param\\n[3,4] float64"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "tadd\\n[2,4] float32\\n|grad| = "), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "(output)"), 2, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "-> t3 [label=\"0\"]"), 1, "matmul's first input: %s", dot);
    cr_assert_eq(count_lines(dot, "t", "-> t3 [label=\"1\"]"), 1, "%s", dot);
    free(dot);
    ad_tape_free(t);
    ad_param_free(w);
}

Test(export, gradient_norms_appear_after_a_sweep)
{
    mixed g = mixed_graph();
    cr_assert_eq(ad_backward_seeded(g.y, (double[]){1.0, 1.0}), AD_OK);
    /* dY/dP[5] = (1 + cos m) V[1], only element 5 is nonzero */
    double v1 = -1.5, want = fabs((1.0 + cos(ad_value(g.m))) * v1);
    char expect[64];
    snprintf(expect, sizeof expect, "param\\n[3,4] float64\\n|grad| = %.4g\"", want);
    char *dot = export_text(g.t, AD_OK);
    cr_assert_eq(count_lines(dot, "t", expect), 1, "want %s in\n%s", expect, dot);
    /* the constant gets no gradient; the seeded output's norm is sqrt 2 */
    cr_assert_eq(count_lines(dot, "t", "constant\\n[3] float32\""), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "stack_scalars\\n[2] float64\\n|grad| = 1.414\\n(output)"),
                 1, "%s", dot);
    free(dot);
    mixed_free(&g);
}

/* x, then n - 1 sines, each kept (a sine alone would fold into x's record):
 * n records in a chain. */
static ad_tape *scalar_chain(size_t n)
{
    ad_tape *t = ad_tape_new();
    ad_scalar y = ad_variable(t, 0.3);
    for (size_t i = 1; i < n; i++)
        y = ad_keep(ad_sin(y));
    cr_assert(ad_scalar_ok(y));
    return t;
}

Test(export, fifty_scalar_records_are_drawn_one_by_one_with_their_inputs)
{
    ad_tape *t = scalar_chain(50);
    char *dot = export_text(t, AD_OK);
    cr_assert_eq(count_nodes(dot, "s"), 50, "%s", dot);
    cr_assert_eq(count_edges(dot), 49, "%s", dot);
    cr_assert_eq(count_lines(dot, "s", "scalar variable #1"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "s", "(output)"), 1, "%s", dot);
    cr_assert_eq(count_lines(dot, "s", "#50\\n(output)"), 1, "%s", dot);
    cr_assert(strstr(dot, "scalars [") == NULL);
    free(dot);
    ad_tape_free(t);
}

Test(export, more_than_fifty_scalar_records_collapse_into_one_node_with_their_count)
{
    ad_tape *t = scalar_chain(100001);
    char *dot = export_text(t, AD_OK);
    cr_assert_eq(count_nodes(dot, "s"), 0);
    cr_assert_eq(count_edges(dot), 0);
    cr_assert(strstr(dot, "  scalars [shape=box3d, label=\"100001 scalar records\\n1 leaves\\n"
                          "1 output\", color=red") != NULL,
              "%.2000s", dot);
    cr_assert(strlen(dot) < 2000, "the summary stays small: %zu bytes", strlen(dot));
    free(dot);
    ad_tape_free(t);
}

Test(export, collapsed_scalars_connect_to_the_bridges_with_one_edge_each)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F64, 1, (size_t[]){3}, (double[]){1, 2, 3});
    ad_scalar a = ad_tensor_to_scalar(x, 0), b = ad_tensor_to_scalar(x, 2);
    for (int i = 0; i < 60; i++)
        a = ad_add(ad_mul(a, b), ad_constant(t, 0.5));
    ad_scalar xs[3] = {a, b, ad_constant(t, 4.0)};
    ad_tensor y = ad_stack_scalars(xs, 3, 1, (size_t[]){3});
    cr_assert(ad_tensor_ok(y));
    char *dot = export_text(t, AD_OK);
    cr_assert_eq(count_nodes(dot, "s"), 0);
    /* x -> two to_scalar, both -> scalars, scalars -> stack (2 of its 3 are on the tape) */
    cr_assert_eq(count_edges(dot), 5, "%s", dot);
    cr_assert_eq(count_lines(dot, "t", "-> scalars;"), 2, "%s", dot);
    cr_assert(strstr(dot, "scalars -> t") && strstr(dot, "[label=\"2 scalars\"]"), "%s", dot);
    cr_assert(strstr(dot, "scalar records\\n2 leaves\"") != NULL, "no scalar output: %s", dot);
    free(dot);
    ad_tape_free(t);
}

Test(export, an_empty_tape_is_an_empty_digraph)
{
    ad_tape *t = ad_tape_new();
    char *dot = export_text(t, AD_OK);
    cr_assert_eq(count_nodes(dot, "t") + count_nodes(dot, "s") + count_edges(dot), 0);
    cr_assert(strstr(dot, "0 tensor nodes, 0 scalar records") != NULL, "%s", dot);
    free(dot);
    ad_tape_free(t);
}

Test(export, a_failed_tape_is_exported_with_its_error_and_reports_it)
{
    mixed g = mixed_graph();
    ad_scalar bad = ad_tensor_to_scalar(g.y, 9);
    cr_assert(!ad_scalar_ok(bad));
    ASSERT_TAPE_ERROR(g.t, AD_ERR_INVALID, "element 9 out of range for shape [2]");
    char *dot = export_text(g.t, AD_ERR_INVALID);
    cr_assert_eq(count_nodes(dot, "t"), 6, "the graph up to the failure: %s", dot);
    cr_assert(strstr(dot, "tape error: AD_ERR_INVALID: ad_tensor_to_scalar: element 9 out of "
                          "range for shape [2]\", fontcolor=red") != NULL,
              "%s", dot);
    ASSERT_TAPE_ERROR(g.t, AD_ERR_INVALID, "element 9"); /* the first error stays */
    free(dot);
    mixed_free(&g);
}

Test(export, quotes_and_backslashes_in_the_error_message_are_escaped)
{
    ad_tape *t = ad_tape_new();
    cr_assert_eq(ad_tape_export_dot(t, "/nonexistent-adtape-dir/a\"b\\c.dot"), AD_ERR_IO);
    char *dot = export_text(t, AD_ERR_IO);
    assert_quotes_balanced(dot);
    cr_assert(strstr(dot, "cannot open '/nonexistent-adtape-dir/a\\\"b\\\\c.dot'") != NULL, "%s",
              dot);
    free(dot);
    ad_tape_free(t);
}

Test(export, writes_the_same_text_to_a_file_as_to_a_callback)
{
    mixed g = mixed_graph();
    char path[] = "/tmp/adtape-export-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(ad_tape_export_dot(g.t, path), AD_OK);
    char *want = export_text(g.t, AD_OK);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    char *got = calloc(1, strlen(want) + 16);
    size_t n = fread(got, 1, strlen(want) + 15, f);
    fclose(f);
    remove(path);
    cr_assert_eq(n, strlen(want));
    cr_assert_str_eq(got, want);
    free(got);
    free(want);
    mixed_free(&g);
}

Test(export, a_null_tape_is_invalid)
{
    cr_assert_eq(ad_tape_export_dot(NULL, "/tmp/x.dot"), AD_ERR_INVALID);
    text b = {0};
    cr_assert_eq(ad_tape_export_dot_fn(NULL, collect, &b), AD_ERR_INVALID);
    cr_assert_eq(b.calls, 0);
}

Test(export, a_null_path_or_callback_fails_the_tape_naming_the_function)
{
    ad_tape *t = ad_tape_new();
    cr_assert_eq(ad_tape_export_dot(t, NULL), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tape_export_dot: path is NULL");
    ad_tape_clear_error(t);
    cr_assert_eq(ad_tape_export_dot_fn(t, NULL, NULL), AD_ERR_INVALID);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tape_export_dot_fn: write callback is NULL");
    ad_tape_free(t);
}

Test(export, an_unwritable_path_fails_with_an_io_error_naming_the_path)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F32, 2, (size_t[]){3, 4}, NULL);
    cr_assert_eq(ad_tape_export_dot(t, "/nonexistent-adtape-dir/graph.dot"), AD_ERR_IO);
    ASSERT_TAPE_ERROR(t, AD_ERR_IO,
                      "ad_tape_export_dot: cannot open '/nonexistent-adtape-dir/graph.dot': No "
                      "such file or directory");
    /* the recording is intact: clear the error and go on */
    ad_tape_clear_error(t);
    cr_assert(ad_scalar_ok(ad_tensor_to_scalar(x, 11)));
    ad_tape_free(t);
}

Test(export, a_directory_as_path_fails_with_an_io_error)
{
    ad_tape *t = ad_tape_new();
    cr_assert_eq(ad_tape_export_dot(t, "/tmp"), AD_ERR_IO);
    ASSERT_TAPE_ERROR(t, AD_ERR_IO, "cannot open '/tmp'");
    ad_tape_free(t);
}

#ifdef __linux__
Test(export, a_full_device_fails_with_an_io_error_naming_the_path)
{
    ad_tape *t = ad_tape_new();
    cr_assert_eq(ad_tape_export_dot(t, "/dev/full"), AD_ERR_IO);
    ASSERT_TAPE_ERROR(t, AD_ERR_IO, "ad_tape_export_dot: cannot write '/dev/full': No space left");
    ad_tape_free(t);
}
#endif

Test(export, a_callback_that_refuses_stops_the_export_with_an_io_error)
{
    ad_tape *t = ad_tape_new();
    for (int i = 0; i < 200; i++) /* several buffers of text: the callback runs more than once */
        ad_tensor_zeros(t, AD_F32, 2, (size_t[]){3, 4});
    text all = {0};
    cr_assert_eq(ad_tape_export_dot_fn(t, collect, &all), AD_OK);
    cr_assert_gt(all.calls, 2);
    free(all.s);
    text b = {.fail_on_call = 2};
    cr_assert_eq(ad_tape_export_dot_fn(t, collect, &b), AD_ERR_IO);
    cr_assert_eq(b.calls, 2, "no call after the refusal");
    ASSERT_TAPE_ERROR(t, AD_ERR_IO, "ad_tape_export_dot_fn: the write callback failed");
    free(b.s);
    ad_tape_free(t);
}

Test(export, running_out_of_memory_fails_with_nomem_and_leaks_nothing)
{
    mixed g = mixed_graph();
    size_t live = ad_debug_live_allocs();
    ad_debug_fail_alloc_after(0);
    text b = {0};
    ad_status s = ad_tape_export_dot_fn(g.t, collect, &b);
    ad_debug_fail_alloc_after(-1);
    cr_assert_eq(s, AD_ERR_NOMEM);
    cr_assert_eq(b.calls, 0);
    ASSERT_TAPE_ERROR(g.t, AD_ERR_NOMEM, "ad_tape_export_dot_fn: out of memory");
    cr_assert_eq(ad_debug_live_allocs(), live);
    mixed_free(&g);
}

Test(export, exporting_changes_nothing_on_the_tape)
{
    mixed g = mixed_graph();
    ad_tape_stats before = ad_tape_stats_get(g.t);
    char *dot = export_text(g.t, AD_OK);
    ad_tape_stats after = ad_tape_stats_get(g.t);
    cr_assert_eq(before.tensor_nodes, after.tensor_nodes);
    cr_assert_eq(before.scalar_nodes, after.scalar_nodes);
    cr_assert_eq(before.bytes_used, after.bytes_used);
    cr_assert_eq(ad_backward_scalar(g.s), AD_OK);
    free(dot);
    mixed_free(&g);
}

/* Exporting is how one looks at a failed tape, whose error is kept: the
 * export's own failure is then told by ad_last_error (it used to be lost). */
Test(export, on_a_failed_tape_an_io_failure_is_told_by_ad_last_error)
{
    ad_tape *t = ad_tape_new();
    ad_tensor x = ad_tensor_variable(t, AD_F32, 1, (size_t[]){3}, NULL);
    ad_tensor_to_scalar(x, 5); /* fails the tape */
    cr_assert_eq(ad_tape_export_dot(t, "/nonexistent-adtape-dir/graph.dot"), AD_ERR_IO);
    ASSERT_TAPE_ERROR(t, AD_ERR_INVALID, "ad_tensor_to_scalar: element 5 out of range");
    cr_assert_str_eq(ad_last_error(), "ad_tape_export_dot: cannot open "
                                      "'/nonexistent-adtape-dir/graph.dot': No such file or "
                                      "directory");
    text b = {.fail_on_call = 1};
    cr_assert_eq(ad_tape_export_dot_fn(t, collect, &b), AD_ERR_IO);
    cr_assert_str_eq(ad_last_error(), "ad_tape_export_dot_fn: the write callback failed");
    free(b.s);
    /* a successful export leaves "" */
    text ok = {0};
    cr_assert_eq(ad_tape_export_dot_fn(t, collect, &ok), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(), "");
    free(ok.s);
    ad_tape_free(t);
}

Test(export, a_null_tape_is_told_by_ad_last_error)
{
    cr_assert_eq(ad_tape_export_dot(NULL, "/tmp/x.dot"), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(), "ad_tape_export_dot: tape is NULL");
    cr_assert_eq(ad_tape_export_dot_fn(NULL, collect, NULL), AD_ERR_INVALID);
    cr_assert_str_eq(ad_last_error(), "ad_tape_export_dot_fn: tape is NULL");
}
