#!/bin/sh
# SPDX-License-Identifier: MIT
# The house's one direction: each room includes only its own headers, the
# public ones (adtape.h, adtape/*.h), and the rooms below it:
#   nn -> (public headers only)      ops -> kernels, core
#   kernels -> core      io -> core      core -> (nothing but itself)
# Internal headers of another room are named by the room ("core/tape.h");
# a bare name must be a file of the includer's own folder, and no include
# climbs with "..". Run from the repository root.
status=0
out=$(mktemp)
below() { # the rooms a room may include besides itself
    case $1 in
    ops) echo "core kernels" ;;
    kernels | io) echo "core" ;;
    *) echo "" ;;
    esac
}
for f in $(find src ops -name '*.[ch]' | sort); do
    dir=$(dirname "$f")
    room=${dir#src/}
    grep -n '^ *# *include *"' "$f" | while IFS= read -r line; do
        name=$(printf '%s\n' "$line" | sed 's/.*include *"\([^"]*\)".*/\1/')
        case $name in
        adtape.h | adtape/*.h) continue ;;
        *..*) echo "check_layers: $f:${line%%:*}: \"$name\" climbs out of its folder" ;;
        */*)
            target=${name%%/*}
            ok=no
            for r in $room $(below "$room"); do [ "$r" = "$target" ] && ok=yes; done
            [ -f "src/$name" ] || [ -f "$name" ] || { echo "check_layers: $f: no file \"$name\""; continue; }
            [ $ok = yes ] || echo "check_layers: $f:${line%%:*}: room $room may not include \"$name\" (allowed: $room $(below "$room"))"
            ;;
        *) [ -f "$dir/$name" ] || echo "check_layers: $f:${line%%:*}: \"$name\" is not in $dir (name another room's header as room/file.h)" ;;
        esac
    done
done >"$out" 2>&1 || true
if [ -s "$out" ]; then
    cat "$out" >&2
    status=1
else
    echo "check_layers: every include goes to its own room or a room below"
fi
rm -f "$out"
exit $status
