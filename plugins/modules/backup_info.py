#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_info
short_description: The restore points of a domain's backups, with their sizes and times
version_added: 0.2.0
description:
  - Reads O(dest)/<name>/chain.json on the hypervisor (a local O(uri)) as M(sharedvirt.kvm.backup) keeps it -
    also when the domain itself is gone.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
  - sharedvirt.kvm.attributes.info_module
options:
  name:
    description: The domain the backups are of.
    type: str
    required: true
  dest:
    description: The backup directory, as given to M(sharedvirt.kvm.backup).
    type: path
    required: true
"""

EXAMPLES = r"""
- name: What is there to restore from?
  sharedvirt.kvm.backup_info:
    name: db1
    dest: /srv/backup
  delegate_to: hv1
  register: db1_backups
"""

RETURN = r"""
points:
  description:
    - The restore points, oldest first - C(id), C(kind) (full or incremental), C(parent), C(time), C(seconds) the
      backup took, C(processed) bytes it read, C(quiesced), and C(disks) with each file and the bytes it takes.
  returned: always
  type: list
  elements: dict
size:
  description: Bytes all the restore points take on disk.
  returned: always
  type: int
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.backup.module import run_backup_info

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "dest": {"type": "path", "required": True},
}


def main() -> None:
    LibvirtModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_backup_info)


if __name__ == "__main__":
    main()
