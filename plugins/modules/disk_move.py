#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: disk_move
short_description: Move a disk of a domain to another pool, live or stopped, optionally into another format
version_added: 0.2.0
description:
  - Declares where one disk of a domain lives - O(disk) of O(name) is volume O(volume) in pool O(pool) - and
    moves it there when it is not. A rerun once it is there reports no change.
  - A running domain keeps running on the same QEMU process. libvirt's block copy mirrors the disk into a new
    volume while the guest writes on; once the copy is in step, the guest is switched over to it (pivot). A
    stopped domain's volume is copied by libvirt (converting the format if asked), then the definition points at
    the copy.
  - The old volume stays unless O(remove_source), and is removed only when no other domain on this hypervisor
    or on O(peers) uses it.
  - A copy that fails or exceeds O(timeout) is stopped before the switch-over; the guest stays on its own disk
    and the volume the run made is deleted. A run that is killed part-way leaves a record in the domain's
    metadata, and the next run cleans up exactly what that run made before it moves the disk again.
  - Shareable disks are refused (the other domains that write them would stay on the old volume), as are a
    destination volume that exists already and a pool without room for the disk's data.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.connection.peers
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
options:
  name:
    description: The domain.
    type: str
    required: true
  disk:
    description: The disk's target device, for example V(vda).
    type: str
    required: true
  pool:
    description:
      - The pool the disk moves to (file pools, block-device pools, and RBD or Gluster pools for live moves).
      - Give O(pool) or O(tier).
    type: str
  tier:
    description:
      - Instead of O(pool) - the disk moves to a pool of this tier (see M(sharedvirt.kvm.pool) O(sharedvirt.kvm.pool#module:tier))
        on the hypervisor; when it is in one already it stays, else the active pool of the tier with the most free
        space is chosen. Tiering is a move on demand or on a schedule, not automatic.
    type: str
  volume:
    description: The volume it becomes there. Default V(<name>-<disk>.<format>).
    type: str
  format:
    description: The format of the new volume, V(raw) or V(qcow2). Default the disk's current format.
    type: str
    choices: [raw, qcow2]
  remove_source:
    description: Delete the old volume once the disk points at the new one (refused while anything else uses it).
    type: bool
    default: false
  bandwidth:
    description: Most MiB per second a live copy may read and write, so that the guest's own I/O keeps room; V(0) is no limit.
    type: int
    default: 0
  timeout:
    description: Seconds a live copy may take to catch up with the guest's writes before it is given up.
    type: int
    default: 600
attributes:
  check_mode:
    support: full
    details:
      - Reads the disk, the destination pool and any unfinished move, and returns the steps a real run takes.
  diff_mode:
    support: full
  idempotent:
    support: full
    description: A disk that is in the pool (or a pool of the tier) and format asked for is left where it is.
"""

EXAMPLES = r"""
- name: Move the database disk of db1 to the fast pool, live, and drop the old copy
  sharedvirt.kvm.disk_move:
    name: db1
    disk: vdb
    pool: fast
    remove_source: true
    bandwidth: 200

- name: The archive tier for last year's logs disk
  sharedvirt.kvm.disk_move:
    name: logs1
    disk: vdc
    tier: archive

- name: Make web1's system disk a raw volume on Ceph (while web1 runs)
  sharedvirt.kvm.disk_move:
    name: web1
    disk: vda
    pool: ceph-rbd
    format: raw
"""

RETURN = r"""
disk_move:
  description: Where the disk is after the task (predicted in check mode) - C(location) (pool/volume) and C(format).
  returned: always
  type: dict
  sample: {"location": "fast/db1-vdb.qcow2", "format": "qcow2"}
actions:
  description: What the task did, or would do in check mode, in order.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.args import PEERS
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.disk_move.module import run_disk_move

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "disk": {"type": "str", "required": True},
    "pool": {"type": "str"},
    "tier": {"type": "str"},
    "volume": {"type": "str"},
    "format": {"type": "str", "choices": ["raw", "qcow2"]},
    "remove_source": {"type": "bool", "default": False},
    "bandwidth": {"type": "int", "default": 0},
    "timeout": {"type": "int", "default": 600},
    "peers": PEERS,
}


def main() -> None:
    LibvirtModule(
        ARGUMENT_SPEC,
        supports_check_mode=True,
        required_one_of=[("pool", "tier")],
        mutually_exclusive=[("pool", "tier")],
    ).run(run_disk_move)


if __name__ == "__main__":
    main()
