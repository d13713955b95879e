#!/bin/sh
# SPDX-License-Identifier: MIT
# Every byte the library hands out comes from the ad_set_allocator allocator:
# no file under src/ or ops/ but the allocator module (alloc.c) calls the C
# heap directly. Exits non-zero, naming each offending line, when one does.
cd "$(dirname "$0")/.." || exit 2
files=$(find src ops -name '*.[ch]' ! -name alloc.c 2>/dev/null)
[ -n "$files" ] || { echo "check_alloc: no sources under src/ or ops/" >&2; exit 1; }
bad=$(grep -nE '(^|[^A-Za-z0-9_.>])(malloc|calloc|realloc|free|strdup|strndup|aligned_alloc|posix_memalign)[[:space:]]*\(' $files |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)')
if [ -n "$bad" ]; then
    echo "check_alloc: direct heap calls outside src/alloc.c (use ad_alloc/ad_free):" >&2
    echo "$bad" >&2
    exit 1
fi
echo "check_alloc: src/ and ops/ allocate only through the allocator"
