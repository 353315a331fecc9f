#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pool_info
short_description: Facts about libvirt storage pools
version_added: 0.1.0
description:
  - Lists storage pools with their definition (type, source, target), state, capacity, allocation,
    available space and volumes, over a read-only connection.
  - For thin provisioning, C(committed) adds up the virtual sizes of the pool's volumes (what they may grow to)
    and C(committed_ratio) divides it by the capacity; M(sharedvirt.kvm.volume) O(sharedvirt.kvm.volume#module:overcommit)
    limits it.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.connection.storage_timeout
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
  - sharedvirt.kvm.attributes.info_module
options:
  name:
    description: Only this pool.
    type: str
"""

EXAMPLES = r"""
- name: Free space of every pool
  sharedvirt.kvm.pool_info:
  register: pools

- name: Show it
  ansible.builtin.debug:
    msg: "{{ pools.pools | map(attribute='available') | list }}"
"""

RETURN = r"""
pools:
  description: The pools, sorted by name, with the facts M(sharedvirt.kvm.pool) returns.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "images", "type": "dir", "state": "active", "autostart": true, "capacity": 107374182400,
            "allocation": 10737418240, "available": 96636764160, "target": {"path": "/var/lib/libvirt/images"},
            "volumes": [{"name": "web1.qcow2", "path": "/var/lib/libvirt/images/web1.qcow2",
                         "capacity": 10737418240, "allocation": 196608}],
            "committed": 10737418240, "committed_ratio": 0.1}]
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.args import STORAGE_TIMEOUT
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.module import run_pool_info


def main() -> None:
    module = LibvirtModule(
        argument_spec={"name": {"type": "str"}, "timeout": STORAGE_TIMEOUT}, supports_check_mode=True
    )
    module.run(run_pool_info)


if __name__ == "__main__":
    main()
