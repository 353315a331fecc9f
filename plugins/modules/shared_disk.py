#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: shared_disk
short_description: Attach one disk to several domains safely (cluster file systems, quorum disks)
version_added: 0.1.0
description:
  - Declares one disk and the domains that carry it. Every listed domain gets it with the same target,
    bus, serial and WWN, C(<shareable/>), C(cache=none) (and C(io=native) for local storage) and
    C(snapshot=no), in its persistent definition and, when it runs, live (hot-plug).
  - The disk is a volume in a pool - created raw and preallocated when missing and O(capacity) is given,
    adopted when it exists - or a network disk (iSCSI LUN, RBD image, NFS or Gluster file through QEMU).
  - Refused with a specific error and nothing changed - a format other than raw (QEMU locks qcow2 and
    vmdk images for one writer), a cache mode that keeps writes private to one domain, and a domain that
    already uses the same storage without C(<shareable/>).
  - Domains no longer listed keep the disk unless O(detach_others=true). O(state=absent) detaches it
    from the listed domains; the volume itself is deleted only with O(delete_volume=true) and only when
    nothing else uses it any more, on this hypervisor or on any of O(peers).
  - A domain on a peer that uses the same storage without C(<shareable/>) is refused like one here, and the
    error names its hypervisor. List each hypervisor's own domains in a task against that hypervisor.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.connection.peers
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    description: When run twice in a row, the second run reports no change.
    support: full
options:
  volume:
    description: The disk as a volume of a pool.
    type: dict
    suboptions:
      pool:
        description: The (active) pool.
        type: str
        required: true
      name:
        description: The volume.
        type: str
        required: true
  network:
    description: The disk as a network disk QEMU opens itself.
    type: dict
    suboptions:
      protocol:
        description: Protocol.
        type: str
        required: true
        choices: [iscsi, rbd, nfs, gluster]
      name:
        description: C(IQN/LUN) for iSCSI, C(pool/image) for RBD, the file path for NFS, C(volume/file) for Gluster.
        type: str
        required: true
      hosts:
        description: Servers.
        type: list
        elements: dict
        suboptions:
          name:
            description: Host name or address.
            type: str
          port:
            description: Port.
            type: int
      auth:
        description: CHAP or cephx credentials in a libvirt secret (see M(sharedvirt.kvm.secret)).
        type: dict
        suboptions:
          username:
            description: User name.
            type: str
          secret:
            description: The secret.
            type: dict
            suboptions:
              type:
                description: V(iscsi) or V(ceph).
                type: str
              usage:
                description: Usage name.
                type: str
              uuid:
                description: UUID.
                type: str
  capacity:
    description: Size of a volume created by this task (V(200MiB)); a bare number means MiB.
    type: raw
  format:
    description: Must be V(raw); other formats are refused with the reason.
    type: str
    default: raw
  target:
    description: Device name in every domain, for example V(vdb).
    type: str
    required: true
  device:
    description:
      - V(disk) (block I/O only) or V(lun) (SCSI passthrough on the scsi bus, for cluster software that
        fences with SCSI persistent reservations).
      - A V(lun) on an iSCSI network disk passes reservations to the target through QEMU's initiator.
    type: str
    choices: [disk, lun]
    default: disk
  reservations:
    description:
      - V(managed) lets libvirt run qemu-pr-helper so that a V(lun) on a host block device can take SCSI
        persistent reservations. Refused where it does not apply; RV(shared_disk.reservations) says how
        reservations reach the storage.
    type: str
    choices: [managed]
  bus:
    description: Bus; V(scsi) for O(device=lun). Defaults to V(virtio), or V(scsi) for a LUN.
    type: str
    choices: [virtio, scsi, sata]
  serial:
    description: Serial number every domain sees (cluster software identifies the disk by it).
    type: str
  wwn:
    description: World wide name every domain sees (SCSI and IDE buses).
    type: str
  readonly:
    description: Attach read-only everywhere.
    type: bool
    default: false
  cache:
    description: V(none) or V(directsync); anything else is refused.
    type: str
    default: none
  domains:
    description: The domains that must carry the disk.
    type: list
    elements: str
    required: true
  detach_others:
    description: Detach the disk from domains that carry it but are not listed.
    type: bool
    default: false
  state:
    description: V(present) attaches; V(absent) detaches from the listed domains.
    type: str
    choices: [present, absent]
    default: present
  timeout:
    description:
      - Seconds a running domain may take to plug or unplug the disk. A guest whose QEMU does not answer (stopped,
        hung) fails the task after this long, and the result lists what was done before; the next run picks up.
    type: int
    default: 120
  delete_volume:
    description: With O(state=absent), delete the volume too - refused while any domain references it.
    type: bool
    default: false
seealso:
  - module: sharedvirt.kvm.domain
  - module: sharedvirt.kvm.volume
"""

EXAMPLES = r"""
- name: The brief's example - a 200 MB disk shared by two Linux guests
  sharedvirt.kvm.shared_disk:
    volume: {pool: images, name: quorum.raw}
    capacity: 200MiB
    target: vdb
    serial: QUORUM01
    domains: [node1, node2]

- name: An iSCSI LUN (CHAP) shared by a three-node cluster
  sharedvirt.kvm.shared_disk:
    network:
      protocol: iscsi
      name: iqn.2024-01.example:storage/1
      hosts: [{name: 192.0.2.10, port: 3260}]
      auth: {username: hv, secret: {type: iscsi, usage: iqn.2024-01.example:storage}}
    target: vdc
    domains: [node1, node2, node3]

- name: Take it away from node3 only
  sharedvirt.kvm.shared_disk:
    volume: {pool: images, name: quorum.raw}
    target: vdb
    domains: [node1, node2]
    detach_others: true
"""

RETURN = r"""
shared_disk:
  description: The shared disk and where it is attached (predicted in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: C(pool/volume) or C(protocol:name).
      type: str
      sample: images/quorum.raw
    path:
      description: Path of a volume on the host.
      type: str
      sample: /var/lib/libvirt/images/quorum.raw
    format:
      description: Always V(raw).
      type: str
      sample: raw
    capacity:
      description: Bytes (for volumes).
      type: int
      sample: 209715200
    target:
      description: Target name in the domains.
      type: str
      sample: vdb
    device:
      description: V(disk) or V(lun).
      type: str
      sample: lun
    reservations:
      description: How SCSI persistent reservations reach the storage (V(managed), V(passthrough) or V(none)), with the reason.
      type: str
      sample: "passthrough: QEMU's iSCSI initiator sends them to the target"
    serial:
      description: Serial number.
      type: str
      sample: QUORUM01
    domains:
      description: Domains carrying the disk - in the persistent definition and live.
      type: list
      elements: dict
      sample: [{"name": "node1", "persistent": true, "live": true}, {"name": "node2", "persistent": true, "live": true}]
actions:
  description: What the task did (or would do), in words.
  returned: always
  type: list
  elements: str
  sample: ["create volume images/quorum.raw (raw, 209715200 bytes, full)", "update domain node1: disks[target=vdb]"]
reboot_required:
  description: True when a domain's definition changed in a way it only picks up after a restart.
  returned: always
  type: bool
  sample: false
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.shared_disk.args import SHARED_DISK_RULES, SHARED_DISK_SPEC
from ansible_collections.sharedvirt.kvm.plugins.module_utils.shared_disk.module import run_shared_disk

ARGUMENT_SPEC = SHARED_DISK_SPEC


def main() -> None:
    module = LibvirtModule(
        argument_spec=ARGUMENT_SPEC,
        supports_check_mode=True,
        **SHARED_DISK_RULES,
    )
    module.run(run_shared_disk)


if __name__ == "__main__":
    main()
