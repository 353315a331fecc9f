"""Where the repository, the collection tree and the caches are."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / "tests" / "output" / "collections"
GUEST_CACHE = os.environ.get("SVKVM_GUEST_CACHE", "/var/cache/sharedvirt-kvm/guest")
# Debian packages that tools/setup.sh unpacks (not installs) for programs only a guest image carries.
UNPACKED = os.environ.get("SVKVM_UNPACKED", "/var/cache/sharedvirt-kvm/debs")
# Serial logs must be writable by QEMU (libvirt-qemu) and readable by the tests.
RUN_DIR = Path(os.environ.get("SVKVM_RUN_DIR", "/var/tmp/sharedvirt-kvm"))


def link_collection() -> Path:
    """Expose the working tree as ansible_collections/sharedvirt/kvm and make it importable."""
    link = COLLECTIONS / "ansible_collections" / "sharedvirt" / "kvm"
    if not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT, target_is_directory=True)
    if str(COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS))
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS)
    return link
