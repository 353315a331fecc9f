#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: storage_appliance_info
short_description: What a storage appliance serves, and which of its volumes are degraded
version_added: 0.2.0
description:
  - Reads the state that a storage appliance of the R(storage_appliance role,ansible_collections.sharedvirt.kvm.storage_appliance_role)
    reports inside its VM, through the VM's guest agent - its role in a pair, and per LUN the state of its mirror.
  - A single appliance reports C(single); of a pair, the appliance that serves the consumers reports C(primary),
    the other C(secondary). A primary that found the pair's service address taken at boot reports C(standby) and
    serves nothing; one waiting for its secondary's disks reports C(waiting).
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
  - sharedvirt.kvm.attributes.info_module
options:
  name:
    description: The appliance's domain (the role's C(storage_appliance_name)).
    type: str
    required: true
  allow_unreachable:
    description:
      - Report a hypervisor whose libvirt does not answer as C(reachable=false) instead of failing (the role asks
        the other appliance's host, which may be the one that died).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Which volumes of the pair have one copy only?
  sharedvirt.kvm.storage_appliance_info:
    uri: qemu+ssh://root@hv1/system
    name: storage-hv1
  register: appliance

- name: Say so
  ansible.builtin.debug:
    msg: "degraded LUNs: {{ appliance.appliance.degraded }}"
  when: appliance.appliance.degraded | default([]) | length > 0
"""

RETURN = r"""
appliance:
  description:
    - C(name), C(reachable), C(defined), C(running); for a running appliance C(role) (C(single), C(primary),
      C(secondary), C(standby), C(waiting), C(failed), or C(unknown) while it boots, with C(reason)), the
      primary's C(service) address and C(peer), C(volumes) (per LUN C(lun), C(state) - C(clean), C(degraded) or
      C(resync) - C(legs) in sync of C(legs_total), C(progress) in percent while it resyncs) and C(degraded) (the
      LUNs whose mirror is not clean).
  returned: always
  type: dict
  sample: {"name": "storage-hv1", "reachable": true, "defined": true, "running": true, "role": "primary",
           "service": "10.10.0.60", "peer": "10.10.0.52",
           "volumes": [{"lun": 1, "state": "degraded", "legs": 1, "legs_total": 2}], "degraded": [1]}
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.appliance.module import run_storage_appliance_info

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "allow_unreachable": {"type": "bool", "default": False},
}


def main() -> None:
    LibvirtModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_storage_appliance_info)


if __name__ == "__main__":
    main()
