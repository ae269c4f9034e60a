#!/bin/sh
# Build a Ferry snapshot the benchmark can run while others edit and rebuild
# this checkout: a git worktree-free copy of <rev> (default HEAD) plus, with
# --with-patch FILE, a patch applied on top; compiled into <out>/dist.
#
#   bench/e2e/snapshot.sh OUT [REV] [--with-patch FILE]
#   node dist/bench/e2e/run.js --ferry-cli OUT/dist/src/cli/main.js [--baseline-cli OTHER/dist/src/cli/main.js]
set -eu
out=$1; shift
rev=HEAD
patch=
while [ $# -gt 0 ]; do
  case $1 in
    --with-patch) patch=$(realpath "$2"); shift 2 ;;
    *) rev=$1; shift ;;
  esac
done
root=$(git rev-parse --show-toplevel)
rm -rf "$out"; mkdir -p "$out"
git -C "$root" archive "$rev" src tsconfig.json package.json | tar -x -C "$out"
desc="git $(git -C "$root" rev-parse --short "$rev")"
if [ -n "$patch" ]; then
  (cd "$out" && patch -p1 -s < "$patch")
  desc="$desc + $(basename "$patch") ($(sha1sum < "$patch" | cut -c1-8))"
fi
ln -s "$root/node_modules" "$out/node_modules"
# compile src/ only (the bench/test trees are not part of the broker)
(cd "$out" && "$root/node_modules/.bin/tsc" -p . --rootDir . --outDir dist 2>&1 | grep -v "^bench/\|^test/" || true)
[ -f "$out/dist/src/cli/main.js" ] || { echo "snapshot build failed" >&2; exit 1; }
echo "$desc" > "$out/SNAPSHOT"
echo "$out: $desc"
