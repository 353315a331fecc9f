#!/usr/bin/env bash
# Builds the collection tarball, installs it into a scratch path, and runs ansible-doc on every
# plugin from the installed copy: what a user who installs the release gets.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=${TMPDIR:-/tmp}/sharedvirt-kvm-build
source tools/stage.sh
rm -rf "$out"
stage_tree "$out/tree"
"$repo/.venv/bin/ansible-galaxy" collection build --output-path "$out" "$out/tree" >/dev/null
tarball=$(ls "$out"/sharedvirt-kvm-*.tar.gz)
ANSIBLE_COLLECTIONS_PATH=$out/collections "$repo/.venv/bin/ansible-galaxy" collection install --force -p "$out/collections" "$tarball" >/dev/null 2>&1
export ANSIBLE_COLLECTIONS_PATH=$out/collections
cd "$out"
count=0
for type in module lookup inventory filter; do
  names=$("$repo/.venv/bin/ansible-doc" -t "$type" -l sharedvirt.kvm --json 2>/dev/null \
    | "$repo/.venv/bin/python" -c 'import json, sys; print(" ".join(sorted(json.load(sys.stdin))))')
  for name in $names; do
    "$repo/.venv/bin/ansible-doc" -t "$type" "$name" >/dev/null
    count=$((count + 1))
  done
done
if [ "$count" -eq 0 ]; then
  echo "build: ansible-doc found no plugin in the installed collection" >&2
  exit 1
fi
echo "build: $(basename "$tarball") installs; ansible-doc works for $count plugins"
