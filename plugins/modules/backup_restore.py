#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_restore
short_description: Restore a disk of a domain's restore point into a pool volume
version_added: 0.2.0
description:
  - Reads restore point O(point) of domain O(name) from O(dest)/<name>/ (written by M(sharedvirt.kvm.backup)) and
    makes disk O(disk) of it the volume O(volume) in O(pool), through its chain of incremental files.
  - The image is converted to O(format) in a scratch file in C(/var/tmp), uploaded into a temporary volume, read
    back and compared by SHA-256, and only then made the volume - an interrupted restore leaves the volume as it
    was. Runs on the hypervisor (a local O(uri)); the domain itself may be gone.
  - An existing volume with other data is replaced only with O(replace). One that holds the point's data
    already (C(qemu-img compare)) is left alone, so a rerun changes nothing.
  - To get a domain back, point a M(sharedvirt.kvm.domain) declaration at the restored volumes.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
options:
  name:
    description: The domain the backups are of.
    type: str
    required: true
  dest:
    description: The backup directory, as given to M(sharedvirt.kvm.backup).
    type: path
    required: true
  point:
    description: The restore point's id (see M(sharedvirt.kvm.backup_info)), or V(latest).
    type: str
    default: latest
  disk:
    description: The disk target to restore, for example V(vda).
    type: str
    required: true
  pool:
    description: The pool of the volume to restore into.
    type: str
    required: true
  volume:
    description: The volume to restore into.
    type: str
    required: true
  format:
    description: The volume's format.
    type: str
    choices: [raw, qcow2]
    default: qcow2
  replace:
    description: Overwrite an existing volume that holds other data.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
    description: A volume that holds the restore point's data already is left alone.
"""

EXAMPLES = r"""
- name: db1's data disk as it was last night, as a new volume beside the old one
  sharedvirt.kvm.backup_restore:
    name: db1
    dest: /srv/backup
    disk: vdb
    pool: images
    volume: db1-data-restored.qcow2
  delegate_to: hv1
"""

RETURN = r"""
restore:
  description: The volume and the restore point it holds (predicted in check mode).
  returned: always
  type: dict
  sample: {"volume": "images/db1-data-restored.qcow2", "exists": true, "point": "20261202T010000Z"}
actions:
  description: What the task did, or would do in check mode.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.backup.module import run_backup_restore

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "dest": {"type": "path", "required": True},
    "point": {"type": "str", "default": "latest"},
    "disk": {"type": "str", "required": True},
    "pool": {"type": "str", "required": True},
    "volume": {"type": "str", "required": True},
    "format": {"type": "str", "choices": ["raw", "qcow2"], "default": "qcow2"},
    "replace": {"type": "bool", "default": False},
}


def main() -> None:
    LibvirtModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_backup_restore)


if __name__ == "__main__":
    main()
