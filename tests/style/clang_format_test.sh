#!/usr/bin/env bash
# Every C++ file the repository tracks is formatted as the root .clang-format says (Google style, 100
# columns). Fix with: git ls-files '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$1"
command -v clang-format >/dev/null || { echo "clang-format is missing: run scripts/setup"; exit 1; }
mapfile -t files < <(git ls-files '*.cc' '*.h')
[ ${#files[@]} -gt 0 ] || { echo "no tracked C++ files under $1 (not a git checkout?)"; exit 1; }
unformatted=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if [ ${#unformatted[@]} -gt 0 ]; then
  echo "not clang-formatted (${#unformatted[@]} of ${#files[@]} files):"
  printf '  %s\n' "${unformatted[@]}"
  exit 1
fi
echo "ok: ${#files[@]} files formatted"
