#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: replication_info
short_description: How old the replica of a domain is, read on the replica's hypervisor alone
version_added: 0.2.0
description:
  - Reads the replica M(sharedvirt.kvm.replication) keeps of O(name) on O(target) - which restore point of the
    source it holds, when that was taken and how many seconds ago, its volumes and whether it runs. Needs only
    the target, so it answers after the source died.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
  - sharedvirt.kvm.attributes.info_module
options:
  name:
    description: The domain.
    type: str
    required: true
  target:
    description: The libvirt URI of the hypervisor that holds the replica.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: How far behind is db1's replica?
  sharedvirt.kvm.replication_info:
    name: db1
    target: qemu+ssh://root@hv2/system
  register: replica
"""

RETURN = r"""
replica:
  description: C(source), C(point), C(time), C(age) in seconds, C(volumes) (disk -> volume) and C(running); empty without a replica.
  returned: always
  type: dict
  sample: {"source": "qemu+ssh://root@hv1/system", "point": "20261202T010000.000Z", "time": "2026-12-02T01:00:00+00:00",
           "age": 512.3, "volumes": {"vda": "db1-vda.replica.raw"}, "running": false}
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.replication.module import run_replication_info

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "target": {"type": "str", "required": True},
}


def main() -> None:
    LibvirtModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_replication_info)


if __name__ == "__main__":
    main()
