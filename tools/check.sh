#!/usr/bin/env bash
# make check: the fast loop before a commit - lint, ansible-test sanity on the files changed against
# origin's main (or this branch's upstream), unit and contract tests. No daemons, no guests.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
make --no-print-directory lint
base=$(git merge-base HEAD "${CHECK_BASE:-main}" 2>/dev/null || git rev-parse HEAD)
mapfile -t changed < <({ git diff --name-only "$base"; git ls-files --others --exclude-standard; } | sort -u |
  while read -r f; do [ -e "$f" ] && echo "$f"; done)
if [ ${#changed[@]} -gt 0 ]; then
  echo "=== sanity on ${#changed[@]} changed files"
  tools/sanity.sh "${changed[@]}"
else
  echo "=== sanity: nothing changed against ${CHECK_BASE:-main}"
fi
.venv/bin/pytest tests/unit tests/contract -q -n 2
echo "make check: $((SECONDS - start)) s"
