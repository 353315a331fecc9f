#!/usr/bin/env bash
# ansible-test sanity on a copy of the tracked tree laid out as ansible_collections/sharedvirt/kvm.
# The linters ansible-test pins are installed into .venv-sanity (--requirements), kept between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${TMPDIR:-/tmp}/sharedvirt-kvm-sanity
dest=$work/ansible_collections/sharedvirt/kvm
rm -rf "$work"
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && cp --parents -a "{}" "'"$dest"'"'
repo=$PWD
cd "$dest"
"$repo/.venv-sanity/bin/ansible-test" sanity --requirements --python 3.11 --color no "$@"
