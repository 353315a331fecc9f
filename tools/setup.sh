#!/usr/bin/env bash
# Installs the test platform: Debian packages and a pinned Python venv in .venv.
# Idempotent: a second run only checks what is there (a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "setup: run as root (it installs Debian packages and runs libvirtd)" >&2
  exit 1
fi

mapfile -t packages < <(grep -vE '^\s*(#|$)' tools/debian-packages.txt)
# Ubuntu names the kernel meta-package differently; everything else has the same name.
if grep -qs '^ID=ubuntu' /etc/os-release; then
  packages=("${packages[@]/#linux-image-amd64/linux-image-generic}")
fi
missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: Debian packages present"
fi

# Programs only the storage appliance's image carries (tests/testbed/appliance_image.py): unpacked, not
# installed, so the host gets none of their services, boot hooks or udev rules.
unpacked=/var/cache/sharedvirt-kvm/debs
mapfile -t guest_packages < <(grep -vE '^\s*(#|$)' tools/guest-packages.txt)
for p in "${guest_packages[@]}"; do
  [ -f "$unpacked/$p/.unpacked" ] && continue
  echo "setup: unpacking the Debian package $p for the appliance image"
  work=$(mktemp -d)
  chown _apt "$work" 2>/dev/null || true  # apt downloads as _apt
  (cd "$work" && apt-get download -q "$p" 2>/dev/null) || { apt-get update -q && (cd "$work" && apt-get download -q "$p"); }
  rm -rf "${unpacked:?}/$p"
  mkdir -p "$unpacked/$p"
  dpkg-deb -x "$work"/*.deb "$unpacked/$p"
  touch "$unpacked/$p/.unpacked"
  rm -rf "$work"
done

# libvirt ships a NAT network to the outside; tests and the demo never use it.
rm -f /etc/libvirt/qemu/networks/autostart/default.xml

# pip warns about every find-links folder of this machine's pip config that does not exist.
pip_quiet() { "$@" 2> >(grep -v '^WARNING: Location ' >&2); }

req_hash=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
stamp=.venv/.requirements.sha256
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$req_hash" ]; then
  echo "setup: .venv up to date"
else
  echo "setup: building .venv from requirements-dev.txt"
  /usr/bin/python3 -m venv .venv
  pip_quiet .venv/bin/pip install -q --upgrade pip
  pip_quiet .venv/bin/pip install -q -r requirements-dev.txt
  echo "$req_hash" > "$stamp"
fi

# ansible-test sanity installs its own pinned linters (--requirements); they get a venv of their
# own so that they never change the tool chain in .venv.
core=$(grep '^ansible-core==' requirements-dev.txt)
if [ -x .venv-sanity/bin/python ] && [ "$(cat .venv-sanity/.core 2>/dev/null)" = "$core" ]; then
  echo "setup: .venv-sanity up to date"
else
  echo "setup: building .venv-sanity ($core)"
  /usr/bin/python3 -m venv .venv-sanity
  pip_quiet .venv-sanity/bin/pip install -q --upgrade pip
  pip_quiet .venv-sanity/bin/pip install -q "$core"
  echo "$core" > .venv-sanity/.core
fi

# Tools that pin versions of their own get venvs of their own: Galaxy's import checks (galaxy-importer with
# ansible-builder and bindep) and the docs site (antsibull-docs, Sphinx, MyST).
tool_venv() {
  local venv=$1 requirements=$2 pins
  pins=$(grep -vE '^\s*(#|$)' "$requirements" | sort | sha256sum | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.pins" 2>/dev/null)" = "$pins" ]; then
    echo "setup: $venv up to date"
    return
  fi
  echo "setup: building $venv ($requirements)"
  /usr/bin/python3 -m venv "$venv"
  pip_quiet "$venv/bin/pip" install -q --upgrade pip
  pip_quiet "$venv/bin/pip" install -q -r "$requirements"
  echo "$pins" > "$venv/.pins"
}
tool_venv .venv-galaxy tools/requirements-galaxy.txt
tool_venv .venv-docs tools/requirements-docs.txt

# ansible-test bootstraps pip in its venvs with a get-pip script it downloads from a host outside
# the package registries; give it an equivalent that uses ensurepip and the package index.
pip_version=$(grep -oP "pip='\K[0-9.]+" .venv-sanity/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py)
mkdir -p ~/.ansible/test/cache
install -m 0644 tools/get_pip_offline.py ~/.ansible/test/cache/"get_pip_${pip_version//./_}.py"

# Molecule scenarios and ad-hoc playbook runs find this tree as the collection sharedvirt.kvm
# (ANSIBLE_COLLECTIONS_PATH=tests/output/collections, as extensions/molecule/config.yml sets it).
.venv/bin/python -c 'import sys; sys.path.insert(0, "tests"); from testbed.paths import link_collection; link_collection()'
# Every molecule playbook is given the shared bed's inventory; before the bed is up it lists no hosts.
.venv/bin/python tools/hostbed.py inventory --name svkvm-mol > /dev/null
