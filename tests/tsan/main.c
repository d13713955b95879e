/* SPDX-License-Identifier: MIT
 * main() for the ThreadSanitizer build: runs every test registered through
 * the Criterion stand-in (tests/tsan/criterion/criterion.h), in order, each
 * in a child process as Criterion does: tests that set process-wide state
 * read once (ADTAPE_NUM_THREADS) need a fresh process, and the parent, which
 * starts no threads, can fork safely under TSan. */
#include <criterion/criterion.h>

#include <sys/wait.h>
#include <unistd.h>

enum { MAX_TESTS = 64 };
static struct {
    const char *name;
    void (*fn)(void);
} tests[MAX_TESTS];
static int n_tests;

void shim_register(const char *name, void (*fn)(void))
{
    if (n_tests < MAX_TESTS) {
        tests[n_tests].name = name;
        tests[n_tests].fn = fn;
        n_tests++;
    }
}

void shim_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, cond);
    exit(1);
}

int main(void)
{
    for (int i = 0; i < n_tests; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            tests[i].fn();
            fflush(stdout);
            _exit(0);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("[FAIL] %s\n", tests[i].name);
            return 1;
        }
        printf("[PASS] %s\n", tests[i].name);
    }
    printf("%d tests passed\n", n_tests);
    return n_tests > 0 ? 0 : 1;
}
