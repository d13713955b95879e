#!/bin/sh
# Makes sure Criterion's headers and library are present before the tests
# build. On Debian/Ubuntu it installs libcriterion-dev (with sudo when not
# root); elsewhere it stops with the command to run.
CC=${1:-cc}
have() {
    printf '#include <criterion/criterion.h>\nTest(a, b) {}\n' |
        $CC -x c - -o /dev/null -lcriterion >/dev/null 2>&1
}
have && exit 0
echo "Criterion (libcriterion-dev) is missing; installing it." >&2
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    if $SUDO apt-get install -y libcriterion-dev >&2 ||
        { $SUDO apt-get update >&2 && $SUDO apt-get install -y libcriterion-dev >&2; }; then
        have && exit 0
    fi
fi
echo "error: cannot build the tests without Criterion. Install it with:" >&2
echo "    sudo apt-get install -y libcriterion-dev      (Debian/Ubuntu)" >&2
echo "    brew install criterion                        (macOS)" >&2
exit 1
