"""Shared storage for the multi-host test bed: an iSCSI target (tgtd, CHAP) and a one-node Ceph cluster,
both listening on the bed bridge's controller address, so every namespace hypervisor reaches them.

  tools/lab_storage.py up --bed NAME     start both; writes /var/tmp/sharedvirt-kvm/hostbed/NAME.storage.json
  tools/lab_storage.py down --bed NAME   stop both and remove their data

The JSON holds what the pools need: portal, IQN, CHAP user and password, Ceph monitor, pool, RBD image,
client.libvirt key. Test data only; the traffic never leaves the bed bridge.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from testbed import iscsi  # noqa: E402
from testbed.ceph import Ceph  # noqa: E402
from testbed.hosts import BED_ROOT, HostBed  # noqa: E402

TID = 7301
DATA = Path("/var/tmp/sharedvirt-kvm/lab-storage")


def facts_path(bed: str) -> Path:
    return BED_ROOT / f"{bed}.storage.json"


def up(bed_name: str) -> None:
    bed = HostBed.from_state(json.loads((BED_ROOT / f"{bed_name}.state.json").read_text()))
    address = bed.controller_address
    DATA.mkdir(parents=True, exist_ok=True)
    iscsi.start(portal=address)
    target = iscsi.Target(
        TID, f"iqn.2026-11.sharedvirt:{bed_name}", DATA / "lun1.img", "svkvmlab", secrets.token_hex(8)
    )
    target.create(64)
    ceph = Ceph(address=address, root=DATA / "ceph")
    ceph.start()
    ceph.run("rbd", "-c", str(ceph.conf), "create", "--size", "16", f"{ceph.pool}/shared-image")
    facts = {
        "portal": address,
        "iqn": target.iqn,
        "user": target.user,
        "password": target.password,
        "ceph_monitor": address,
        "ceph_pool": ceph.pool,
        "ceph_key": ceph.libvirt_key(),
    }
    facts_path(bed_name).write_text(json.dumps(facts, indent=2))
    print(f"lab_storage: iSCSI {target.iqn} at {address}:3260 and Ceph at {address}:6789 are up")


def down(bed_name: str) -> None:
    iscsi.Target(TID, f"iqn.2026-11.sharedvirt:{bed_name}", DATA / "lun1.img", "svkvmlab").remove()
    iscsi.stop()
    Ceph(root=DATA / "ceph").stop()
    facts_path(bed_name).unlink(missing_ok=True)
    shutil.rmtree(DATA, ignore_errors=True)
    print("lab_storage: stopped")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--bed", required=True)
    args = parser.parse_args()
    (up if args.action == "up" else down)(args.bed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
