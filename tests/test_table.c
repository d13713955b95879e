/* SPDX-License-Identifier: MIT
 * The op table: every row is filled in, names are unique, and every op has a
 * gradcheck test (its public function appears in a test file that runs
 * ASSERT_GRADCHECK itself or through a tests/ header it includes). The tests
 * run from the repository root. */
#include "common.h"

#include "ops/ops.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>

Test(table, every_op_row_has_a_name_a_shape_rule_a_forward_and_a_backward)
{
    for (int op = 0; op < AD_OP_COUNT; op++) {
        const ad_op_def *d = ad_op_table[op];
        cr_assert_not_null(d, "row %d is empty", op);
        cr_assert_not_null(d->name, "row %d has no name", op);
        if (op == AD_OP_LEAF) continue;
        cr_assert(d->shape && d->forward && d->backward, "op %s is missing a function", d->name);
        for (int k = 0; k < op; k++)
            cr_assert_str_neq(d->name, ad_op_table[k]->name, "duplicate name %s", d->name);
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

/* The file's text followed by that of the tests/ headers it includes. */
static char *with_local_headers(const char *path)
{
    char *text = slurp(path);
    if (!text) return NULL;
    size_t len = strlen(text);
    for (const char *p = text; (p = strstr(p, "#include \"")) != NULL; p++) {
        char name[128], hpath[160];
        if (sscanf(p, "#include \"%127[^\"]\"", name) != 1) continue;
        snprintf(hpath, sizeof hpath, "tests/%s", name);
        char *h = slurp(hpath);
        if (!h) continue;
        size_t hl = strlen(h);
        char *joined = malloc(len + hl + 2);
        memcpy(joined, text, len);
        joined[len] = '\n';
        memcpy(joined + len + 1, h, hl + 1);
        p = joined + (p - text);
        free(text);
        free(h);
        text = joined;
        len += hl + 1;
    }
    return text;
}

/* `word` occurs in text as a whole identifier. */
static bool has_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; (p = strstr(p, word)) != NULL; p++) {
        bool left =
            p == text || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') ||
                           (p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= '0' && p[-1] <= '9'));
        char c = p[n];
        bool right = !(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9'));
        if (left && right) return true;
    }
    return false;
}

Test(table, every_op_has_a_gradcheck_test)
{
    glob_t g;
    cr_assert_eq(glob("tests/test_*.c", 0, NULL, &g), 0, "run the tests from the repository root");
    char **texts = calloc(g.gl_pathc, sizeof *texts);
    for (size_t i = 0; i < g.gl_pathc; i++)
        texts[i] = with_local_headers(g.gl_pathv[i]);
    for (int op = 1; op < AD_OP_COUNT; op++) {
        char fn[80];
        snprintf(fn, sizeof fn, "ad_%s", ad_op_table[op]->name);
        bool found = false;
        for (size_t i = 0; i < g.gl_pathc && !found; i++)
            found = texts[i] && strstr(g.gl_pathv[i], "test_table.c") == NULL &&
                    has_word(texts[i], fn) && strstr(texts[i], "ASSERT_GRADCHECK(");
        cr_expect(found, "no gradcheck test uses %s", fn);
    }
    for (size_t i = 0; i < g.gl_pathc; i++)
        free(texts[i]);
    free(texts);
    globfree(&g);
}
