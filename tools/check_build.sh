#!/usr/bin/env bash
# Builds the collection tarball, installs it into a scratch path, and runs ansible-doc on every
# plugin from the installed copy: what a user who installs the release gets. Then Galaxy's importer
# on the tarball (any error or warning fails), bindep on bindep.txt, and ansible-builder on the
# execution environment's definition.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=${TMPDIR:-/tmp}/sharedvirt-kvm-build-$(pwd -P | cksum | cut -d' ' -f1)  # one per checkout, as in sanity.sh
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

galaxy=$repo/.venv-galaxy/bin
log=$out/galaxy-importer.log
if ! PATH=$galaxy:$PATH "$galaxy/python" -m galaxy_importer.main "$tarball" >"$log" 2>&1 \
  || grep -qE '^(ERROR|WARNING)' "$log"; then
  grep -vE '^(Loading|Running) ' "$log" >&2
  echo "build: galaxy-importer refuses $(basename "$tarball") (above)" >&2
  exit 1
fi
echo "build: galaxy-importer imports $(basename "$tarball") with no error or warning"
# Every package bindep names for a hypervisor and for building libvirt-python is a real Debian package
# installed here (bindep -b lists what is missing and fails).
"$galaxy/bindep" -f "$repo/bindep.txt" -b compile hypervisor
"$galaxy/ansible-builder" create -f "$repo/execution-environment.yml" -c "$out/ee-context" >/dev/null
test -s "$out/ee-context/_build/bindep.txt" -a -s "$out/ee-context/_build/requirements.txt"
echo "build: bindep.txt lists installed packages; ansible-builder accepts execution-environment.yml"
