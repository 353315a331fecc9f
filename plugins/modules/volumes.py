#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: volumes
short_description: Declare many volumes of one hypervisor in one task (linked clones for a cluster's VMs)
version_added: 0.2.0
description:
  - Each item of O(volumes) is what M(sharedvirt.kvm.volume) takes (without O(uri), O(timeout) and O(peers),
    which this task sets once, and without its file transfers C(upload) and C(download)), over O(defaults).
    Items go through the same validation, planning and application as the volume module, one after the other,
    over one libvirt connection.
  - Who uses which volume on this hypervisor and its O(peers) (the in-use check before a deletion, the users
    shown in the result) is read once and again only after an item changed something, so a rerun that confirms
    thirty clones reads it once. A loop of M(sharedvirt.kvm.volume) pays Ansible's cost per task and that read
    for every item. See C(docs/performance.md).
  - The first item that fails stops the task; the error names the item and the volumes changed before it.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.connection.storage_timeout
  - sharedvirt.kvm.connection.peers
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
options:
  volumes:
    description:
      - The volumes, each a dictionary of M(sharedvirt.kvm.volume) options (C(pool), C(name), C(format),
        C(capacity), C(clone_from), C(state), ...).
    type: list
    elements: dict
    required: true
  defaults:
    description: Options every item starts from; an item's own values win (whole values, not merged).
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
    description: Volumes already as declared report no change.
"""

EXAMPLES = r"""
- name: A linked clone of the template for each VM of this hypervisor
  sharedvirt.kvm.volumes:
    uri: qemu+ssh://root@hv1/system
    peers: [qemu+ssh://root@hv2/system]
    defaults:
      pool: images
      clone_from: {name: debian12-template.qcow2}
    volumes: [{name: web1.qcow2}, {name: web2.qcow2}, {name: web3.qcow2}]

- name: Data disks of different sizes
  sharedvirt.kvm.volumes:
    defaults: {pool: data, format: qcow2}
    volumes:
      - {name: db1-data.qcow2, capacity: 100GiB}
      - {name: web1-data.qcow2, capacity: 10GiB}
"""

RETURN = r"""
actions:
  description: What the task did (or would do in check mode), in words, for all items in order.
  returned: always
  type: list
  elements: str
  sample: ["create volume images/web1.qcow2 as a linked clone of images/debian12-template.qcow2"]
results:
  description: One result per item, in order, as M(sharedvirt.kvm.volume) returns it (C(changed), C(actions),
    C(volume)).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.module import run_volumes
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.volume_args import VOLUMES_SPEC

ARGUMENT_SPEC = VOLUMES_SPEC


def main() -> None:
    LibvirtModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_volumes)


if __name__ == "__main__":
    main()
