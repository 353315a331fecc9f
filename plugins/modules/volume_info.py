#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: volume_info
short_description: Facts about storage volumes and the domains that use them
version_added: 0.1.0
description:
  - Lists the volumes of one pool, or of every active pool, with format, capacity, allocation, backing
    store and the domains (running or only defined) whose disks reference each volume.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.connection.storage_timeout
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
  - sharedvirt.kvm.attributes.info_module
options:
  pool:
    description: Only the volumes of this (active) pool.
    type: str
  name:
    description: Only the volume with this name.
    type: str
"""

EXAMPLES = r"""
- name: Volumes nobody uses in pool images
  sharedvirt.kvm.volume_info:
    pool: images
  register: vols

- name: Show them
  ansible.builtin.debug:
    msg: "{{ vols.volumes | rejectattr('users') | map(attribute='name') | list }}"
"""

RETURN = r"""
volumes:
  description:
    - The volumes, by pool and name, with the facts M(sharedvirt.kvm.volume) returns, and C(chain_depth) - how many
      images lie below each (its backing chain; 0 for a standalone volume).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "web1.qcow2", "pool": "images", "path": "/var/lib/libvirt/images/web1.qcow2", "format": "qcow2",
            "capacity": 10737418240, "allocation": 196608, "users": [{"domain": "web1", "target": "vda", "active": true}]}]
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.args import STORAGE_TIMEOUT
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.module import run_volume_info


def main() -> None:
    module = LibvirtModule(
        argument_spec={"pool": {"type": "str"}, "name": {"type": "str"}, "timeout": STORAGE_TIMEOUT},
        supports_check_mode=True,
    )
    module.run(run_volume_info)


if __name__ == "__main__":
    main()
