#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs adtape into a temporary prefix, builds tests/install_check_app.c
# outside the tree with nothing but pkg-config's flags, dynamically and
# statically, with each compiler (gcc and clang by default; COMPILERS= to
# change), runs both, checks the C++ header check builds against the installed
# headers, then uninstalls and checks nothing is left. Also checks a staged
# (DESTDIR) install. Every failure stops the script with the failed step.
# usage: sh tests/install_check.sh   (from the top of the tree; `make install-check`)
set -eu
MAKE=${MAKE:-make}
COMPILERS=${COMPILERS:-gcc clang}
CXXS=${CXXS:-g++ clang++}
top=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/adtape-install-check.XXXXXX")
step=start
reported=0
# set -e stops at any failing command; the trap names the step it was in.
trap 'rc=$?; rm -rf "$tmp"; [ $rc = 0 ] || [ $reported = 1 ] || echo "install-check: FAILED at: $step (exit $rc)" >&2' EXIT

die() {
    echo "install-check: FAILED at: $step: $*" >&2
    reported=1
    exit 1
}
run() {
    "$@" || die "command failed: $*"
}

step="tools"
for tool in pkg-config readelf $COMPILERS $CXXS; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (apt-get install -y pkg-config binutils gcc g++ clang)"
done

prefix=$tmp/prefix
step="make install PREFIX=$prefix"
run $MAKE --no-print-directory -s install PREFIX="$prefix" LDCONFIG=: >/dev/null

step="the installed files"
version=$(sed -n 's/^#define ADTAPE_VERSION_STRING "\(.*\)"/\1/p' include/adtape.h)
major=${version%%.*}
expect=$(
    # adtape/mpi.h comes with libadtape_mpi (make MPI=1 install) only
    cd include && for h in *.h adtape/*.h; do [ -f "$h" ] && [ "$h" != adtape/mpi.h ] && echo "include/$h"; done
    echo lib/libadtape.a
    echo lib/libadtape.so
    echo "lib/libadtape.so.$major"
    echo "lib/libadtape.so.$version"
    echo lib/pkgconfig/adtape.pc
)
got=$(cd "$prefix" && find . -type f -o -type l | sed 's|^\./||' | sort)
[ "$got" = "$(printf '%s\n' "$expect" | sort)" ] ||
    die "installed files differ from the expected list; got:
$got"
[ "$(readlink "$prefix/lib/libadtape.so")" = "libadtape.so.$major" ] || die "libadtape.so link"
[ "$(readlink "$prefix/lib/libadtape.so.$major")" = "libadtape.so.$version" ] ||
    die "libadtape.so.$major link"

step="pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
run pkg-config --exists --print-errors adtape
[ "$(pkg-config --modversion adtape)" = "$version" ] || die "pkg-config --modversion"
cflags=$(pkg-config --cflags adtape)
libs=$(pkg-config --libs adtape)
# A static link must name the archive: with both libraries in one directory,
# -ladtape would pick the shared one.
slibs=$(pkg-config --static --libs adtape | sed 's/-ladtape/-l:libadtape.a/')
echo "install-check: pkg-config --cflags --libs adtape: $cflags $libs"
echo "install-check: pkg-config --static --libs adtape: $(pkg-config --static --libs adtape)"

app=$tmp/app
mkdir -p "$app"
cp tests/install_check_app.c "$app/main.c"
cp tests/cxx_header_check.cpp "$app/check.cpp"
cd "$app"
for cc in $COMPILERS; do
    step="$cc: dynamic build"
    run "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror main.c -o "dyn-$cc" $cflags $libs
    readelf -d "dyn-$cc" | grep -q "NEEDED.*\[libadtape.so.$major\]" ||
        die "dyn-$cc does not load libadtape.so.$major"
    step="$cc: dynamic run"
    LD_LIBRARY_PATH="$prefix/lib" run "./dyn-$cc"
    step="$cc: static build"
    run "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror main.c -o "static-$cc" $cflags $slibs
    if readelf -d "static-$cc" | grep -q 'NEEDED.*libadtape'; then
        die "static-$cc still needs libadtape.so"
    fi
    step="$cc: static run"
    run "./static-$cc"
done
for cxx in $CXXS; do
    step="$cxx: C++ header check against the installed headers"
    run "$cxx" -std=c++11 -Wall -Wextra -Wpedantic -Werror check.cpp -o "cxx-$cxx" $cflags $libs
    LD_LIBRARY_PATH="$prefix/lib" run "./cxx-$cxx"
done
cd "$top"

step="make uninstall PREFIX=$prefix"
run $MAKE --no-print-directory -s uninstall PREFIX="$prefix" LDCONFIG=: >/dev/null
left=$(cd "$prefix" && find . -type f -o -type l)
[ -z "$left" ] || die "uninstall left files behind: $left"

step="staged install (DESTDIR)"
stage=$tmp/stage
run $MAKE --no-print-directory -s install DESTDIR="$stage" PREFIX=/opt/adtape >/dev/null
[ -f "$stage/opt/adtape/lib/libadtape.so.$version" ] || die "nothing under DESTDIR"
grep -qx 'prefix=/opt/adtape' "$stage/opt/adtape/lib/pkgconfig/adtape.pc" ||
    die "adtape.pc must name the final prefix, not DESTDIR"
run $MAKE --no-print-directory -s uninstall DESTDIR="$stage" PREFIX=/opt/adtape >/dev/null
left=$(cd "$stage" && find . -type f -o -type l)
[ -z "$left" ] || die "staged uninstall left files behind: $left"

echo "install-check: passed ($COMPILERS; dynamic and static; $CXXS headers; DESTDIR)"
