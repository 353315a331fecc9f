#!/usr/bin/env bash
# make bench: the benchmarks of bench/ (not part of make test). Needs make setup; builds community.libvirt's venv.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python tests/testbed/services.py ensure

req_hash=$(sha256sum bench/requirements-community.txt | cut -d' ' -f1)
stamp=.venv-bench-cl/.requirements.sha256
if [ ! -x .venv-bench-cl/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$req_hash" ]; then
  echo "bench: building .venv-bench-cl (community.libvirt from the ansible package)"
  rm -rf .venv-bench-cl
  /usr/bin/python3 -m venv .venv-bench-cl
  .venv-bench-cl/bin/pip install -q --upgrade pip 2> >(grep -v '^WARNING: Location ' >&2)
  .venv-bench-cl/bin/pip install -q -r bench/requirements-community.txt 2> >(grep -v '^WARNING: Location ' >&2)
  echo "$req_hash" > "$stamp"
fi
exec .venv/bin/python bench/run.py "$@"
