#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: snapshot_info
short_description: List the snapshots of a libvirt domain
version_added: 0.1.0
description:
  - Lists a domain's snapshots, oldest first, with kind, state, parent, disks included and left out, and
    which one is current.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
  - sharedvirt.kvm.attributes.info_module
options:
  domain:
    description: The domain.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Snapshots of db1
  sharedvirt.kvm.snapshot_info:
    domain: db1
  register: snaps
"""

RETURN = r"""
chain_depth:
  description: Per disk target, how many images lie below the one the domain writes (0 for a standalone image).
  returned: always
  type: dict
  sample: {"vda": 2, "vdb": 0}
snapshots:
  description: The snapshots with the facts M(sharedvirt.kvm.snapshot) returns.
  returned: always
  type: list
  elements: dict
current:
  description: The current snapshot's name, or null.
  returned: always
  type: str
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.snapshot.module import run_snapshot_info

ARGUMENT_SPEC = {"domain": {"type": "str", "required": True}}


def main() -> None:
    LibvirtModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_snapshot_info)


if __name__ == "__main__":
    main()
