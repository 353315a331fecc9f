#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pool
short_description: Declare a libvirt storage pool of any type, without ever destroying data by default
version_added: 0.1.0
description:
  - Defines, builds, starts, stops and removes one storage pool. Host-based (V(dir), V(fs), V(logical),
    V(zfs)), device-based (V(disk), V(scsi), V(mpath)) and network-based (V(netfs) with nfs, glusterfs or cifs,
    V(iscsi), V(iscsi-direct), V(rbd), V(gluster)) pools are declared the same way, in libvirt's vocabulary.
  - Only the options you set are compared with the pool's definition.
  - Storage is prepared (a directory made, a file system or partition table written) only where it
    is empty or absent - libvirt checks the device first. Formatting a device that holds data needs
    O(build=overwrite) and the pool name repeated in O(confirm).
  - O(state=absent) stops and undefines the pool and keeps its data. Deleting the storage itself needs
    O(purge=true), and every volume in the pool named in O(purge_volumes); an inactive pool cannot list its
    volumes, so it is not purged (start it first), and a pool that holds a disk any domain uses - here or on
    one of O(peers) - is not purged at all.
  - Stopping or removing a pool that holds the disks of domains running here is refused unless O(force=true)
    (an iSCSI pool would log out from under them); the error names the domains.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.connection.storage_timeout
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
  name:
    description: Pool name.
    type: str
    required: true
  type:
    description: Pool type; needed to define a new pool, and it cannot change later.
    type: str
    choices: [dir, fs, logical, zfs, disk, scsi, mpath, netfs, iscsi, iscsi-direct, rbd, gluster]
  source:
    description: Where the storage is, in libvirt's C(<source>) vocabulary; which keys a type needs is checked.
    type: dict
    suboptions:
      hosts:
        description: Servers (V(netfs), V(iscsi), V(iscsi-direct), V(rbd) monitors, V(gluster)).
        type: list
        elements: dict
        suboptions:
          name:
            description: Host name or address.
            type: str
          port:
            description: Port.
            type: int
      device:
        description: Block devices (V(fs), V(disk), V(logical)) or the iSCSI target IQN (V(iscsi), V(iscsi-direct)).
        type: list
        elements: str
      dir:
        description: Exported directory (V(netfs)) or sub-directory of a Gluster volume.
        type: str
      name:
        description: Volume group (V(logical)), ZFS pool, Ceph pool (V(rbd)) or Gluster volume name.
        type: str
      format:
        description: File system (V(ext4), V(xfs)), network file system (V(nfs), V(glusterfs), V(cifs)) or partition table (V(gpt), V(dos)).
        type: str
      adapter:
        description: SCSI host adapter name (V(scsi)), for example V(host0).
        type: str
      initiator:
        description: The initiator IQN (V(iscsi-direct) needs one).
        type: str
      auth:
        description: CHAP (iSCSI) or cephx (RBD) credentials kept in a libvirt secret (see M(sharedvirt.kvm.secret)).
        type: dict
        suboptions:
          type:
            description: V(chap) or V(ceph); defaults to V(ceph) for V(rbd) pools and V(chap) otherwise.
            type: str
          username:
            description: User name.
            type: str
          secret:
            description: The libvirt secret holding the password or key.
            type: dict
            suboptions:
              usage:
                description: Secret usage name.
                type: str
              uuid:
                description: Secret UUID.
                type: str
  target:
    description: Where volumes appear on the host.
    type: dict
    suboptions:
      path:
        description: Directory (or V(/dev) for V(disk) pools).
        type: str
      mode:
        description: Octal permissions of the directory, as a string (V("0711")).
        type: str
      owner:
        description: Numeric owner.
        type: int
      group:
        description: Numeric group.
        type: int
  xml:
    description: A whole pool definition as an escape hatch; structured options override what it says.
    type: str
  state:
    description:
      - V(present) defines the pool; V(active) also prepares (if empty) and starts it; V(inactive) stops it.
      - V(absent) stops and undefines it, keeping its data unless O(purge=true).
    type: str
    choices: [present, active, inactive, absent]
    default: active
  autostart:
    description: Start the pool when libvirtd starts. Unset leaves it as it is.
    type: bool
  build:
    description:
      - V(auto) prepares the pool's storage when it is empty or absent; libvirt refuses to touch a device
        that holds a file system or partition table, and it is then used as it is.
      - V(never) never builds. V(overwrite) formats the storage of a pool this task defines - needs O(confirm).
    type: str
    choices: [auto, never, overwrite]
    default: auto
  confirm:
    description: With O(build=overwrite), the pool name again, to agree to destroy what is on its storage.
    type: str
  purge:
    description: With O(state=absent), delete the pool's storage (directory, partition table...) too.
    type: bool
    default: false
  purge_volumes:
    description: With O(purge=true), the volumes to delete; purging fails while the pool holds a volume not named here.
    type: list
    elements: str
  force:
    description: Stop or remove the pool even though running domains have disks in it (they lose them).
    type: bool
    default: false
  refresh:
    description: Rescan the pool's volumes after the task (not reported as a change).
    type: bool
    default: false
  tier:
    description:
      - A tier label for the pool, for example V(fast) or V(archive); V("") takes the label off. Unset, the label is
        left as it is; O(state=absent) takes it off.
      - libvirt's pool XML has no metadata, so the labels of a hypervisor's pools are kept in the metadata of an
        inactive libvirt network there, C(sharedvirt-pool-tiers), which is never started.
        M(sharedvirt.kvm.disk_move) moves a disk to a pool of a tier, and M(sharedvirt.kvm.pool_info) shows it.
    type: str
seealso:
  - module: sharedvirt.kvm.pool_info
  - module: sharedvirt.kvm.secret
"""

EXAMPLES = r"""
- name: Directory pool for VM images and templates
  sharedvirt.kvm.pool:
    name: images
    type: dir
    target: {path: /var/lib/libvirt/images}
    autostart: true

- name: A file system pool on a disk that already holds ext4 (never reformatted)
  sharedvirt.kvm.pool:
    name: fast
    type: fs
    source: {device: [/dev/sdb1], format: ext4}
    target: {path: /srv/fast}

- name: GlusterFS volume mounted as a pool
  sharedvirt.kvm.pool:
    name: shared
    type: netfs
    source: {hosts: [{name: gluster1}], dir: /vmstore, format: glusterfs}
    target: {path: /var/lib/libvirt/shared}

- name: iSCSI LUNs through libiscsi, CHAP secret
  sharedvirt.kvm.pool:
    name: san
    type: iscsi-direct
    source:
      hosts: [{name: 192.0.2.10}]
      device: [iqn.2024-01.example:storage]
      initiator: iqn.2024-01.example:hv1
      auth: {username: hv, secret: {usage: iqn.2024-01.example:storage}}

- name: Ceph RBD pool, cephx key in a libvirt secret
  sharedvirt.kvm.pool:
    name: ceph
    type: rbd
    source:
      name: rbd
      hosts: [{name: mon1, port: 6789}]
      auth: {username: libvirt, secret: {usage: client.libvirt}}

- name: Remove a pool, keep its data
  sharedvirt.kvm.pool:
    name: fast
    state: absent
"""

RETURN = r"""
pool:
  description: The pool after the task (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name.
      type: str
      sample: images
    type:
      description: Pool type.
      type: str
      sample: dir
    state:
      description: V(active) or V(inactive).
      type: str
      sample: active
    autostart:
      description: Whether libvirtd starts it.
      type: bool
      sample: true
    capacity:
      description: Bytes (after a real run of an active pool).
      type: int
      sample: 107374182400
    allocation:
      description: Bytes allocated.
      type: int
      sample: 10737418240
    available:
      description: Bytes free.
      type: int
      sample: 96636764160
    volumes:
      description: Volumes with name, path, capacity and allocation.
      type: list
      elements: dict
      sample: [{"name": "web1.qcow2", "path": "/var/lib/libvirt/images/web1.qcow2", "capacity": 10737418240, "allocation": 196608}]
actions:
  description: What the task did (or would do), in words.
  returned: always
  type: list
  elements: str
  sample: ["define pool images", "start pool images"]
reboot_required:
  description: True when the definition of an active pool changed; it applies when the pool restarts.
  returned: always
  type: bool
  sample: false
rescan:
  description: What the rescan of O(refresh=true) showed - volumes the pool lists now and did not before, and
    volumes it no longer lists (made or removed beside this hypervisor's libvirt, by another hypervisor of a
    shared pool for example).
  returned: when O(refresh=true), the pool is active and not in check mode
  type: dict
  contains:
    found:
      description: Volumes the rescan found.
      type: list
      elements: str
      sample: ["quorum.raw"]
    gone:
      description: Volumes the pool listed before the rescan and no longer does.
      type: list
      elements: str
      sample: []
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.module import run_pool
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.pool_args import POOL_SPEC

ARGUMENT_SPEC = POOL_SPEC


def main() -> None:
    module = LibvirtModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.run(run_pool)


if __name__ == "__main__":
    main()
