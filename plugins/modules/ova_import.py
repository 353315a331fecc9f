#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ova_import
short_description: Import the disks of an OVA into a pool, and read a domain declaration from its OVF
version_added: 0.2.0
description:
  - Reads the OVA O(src) (a tar archive with an OVF descriptor and vmdk disks, as VMware and VirtualBox export
    them) on the host that runs the task. Each disk the OVF's virtual machine uses becomes the volume
    C(<name>-disk<N>.<format>) in O(pool), through the same checks and conversion as
    M(sharedvirt.kvm.volume) O(sharedvirt.kvm.volume#module:upload.source_format=vmdk).
  - The archive is untrusted - its SHA-256 must be O(checksum); only regular files with plain names that the OVF
    references are read, never extracted by their own paths; each vmdk must be one self-contained file.
  - Returns RV(domain), options for M(sharedvirt.kvm.domain) read from the OVF - name, vCPUs, memory, the disks on
    the imported volumes and NICs on libvirt networks named as the OVF's networks - for the user to review and
    apply. Firmware, boot order and devices beyond these are not translated.
  - A volume that holds the converted disk already is left alone, so a rerun changes nothing; one with other
    content needs O(replace).
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
options:
  src:
    description: The OVA file on the host that runs the task.
    type: path
    required: true
  checksum:
    description: Its SHA-256, as V(sha256:HEX) or V(HEX).
    type: str
    required: true
  pool:
    description: The pool the disks go to.
    type: str
    required: true
  name:
    description: The name of the domain (and the prefix of its volumes). Default the OVF's virtual machine name.
    type: str
  format:
    description: The volumes' format.
    type: str
    choices: [raw, qcow2]
    default: qcow2
  max_virtual_size:
    description: Largest virtual size accepted for each disk, in bytes.
    type: int
    default: 1099511627776
  replace:
    description: Overwrite existing volumes that hold other content.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details:
      - Reads and converts the disks (in scratch files) to compare them with existing volumes; creates nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    description: Volumes that hold the converted disks already are left alone.
"""

EXAMPLES = r"""
- name: Import an appliance exported from VMware
  sharedvirt.kvm.ova_import:
    src: /srv/import/appliance.ova
    checksum: sha256:4f2b...
    pool: images
  register: imported

- name: Review, then define it (here with a virtio NIC on the lab network instead of the OVF's)
  sharedvirt.kvm.domain:
    name: "{{ imported.domain.name }}"
    vcpus: "{{ imported.domain.vcpus }}"
    memory: "{{ imported.domain.memory }}"
    disks: "{{ imported.domain.disks }}"
    interfaces: [{source: {network: lab}, model: virtio}]
"""

RETURN = r"""
domain:
  description: Options for M(sharedvirt.kvm.domain) read from the OVF (C(name), C(vcpus), C(memory), C(disks), C(interfaces)).
  returned: success
  type: dict
  sample: {"name": "appliance", "vcpus": 2, "memory": "2048MiB",
           "disks": [{"target": "vda", "format": "qcow2", "source": {"pool": "images", "volume": "appliance-disk0.qcow2"}}],
           "interfaces": [{"source": {"network": "VM Network"}, "model": "e1000"}]}
volumes:
  description: The volumes of the disks, in the OVF's order.
  returned: success
  type: list
  elements: str
actions:
  description: What the task did, or would do in check mode.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.ova.module import run_ova_import

ARGUMENT_SPEC = {
    "src": {"type": "path", "required": True},
    "checksum": {"type": "str", "required": True},
    "pool": {"type": "str", "required": True},
    "name": {"type": "str"},
    "format": {"type": "str", "choices": ["raw", "qcow2"], "default": "qcow2"},
    "max_virtual_size": {"type": "int", "default": 1099511627776},
    "replace": {"type": "bool", "default": False},
}


def main() -> None:
    LibvirtModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_ova_import)


if __name__ == "__main__":
    main()
