#!/usr/bin/env bash
# ansible-test sanity on a copy of the tracked tree laid out as ansible_collections/sharedvirt/kvm.
# The linters ansible-test pins are installed into .venv-sanity (--requirements), kept between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
# One scratch tree per checkout: a second checkout's run must not delete this one's tree under it.
work=${TMPDIR:-/tmp}/sharedvirt-kvm-sanity-$(pwd -P | cksum | cut -d' ' -f1)
dest=$work/ansible_collections/sharedvirt/kvm
source tools/stage.sh
rm -rf "$work"
stage_tree "$dest"
repo=$PWD
cd "$dest"
"$repo/.venv-sanity/bin/ansible-test" sanity --requirements --python 3.11 --color no "$@"
