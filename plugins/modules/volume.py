#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: volume
short_description: Declare a storage volume - empty, cloned from a template, or uploaded - and grow it
version_added: 0.1.0
description:
  - Creates a volume in an active pool with a O(format) and O(capacity), thin or preallocated.
  - Clones a template volume (O(clone_from)) as a linked clone - a qcow2 overlay whose backing store is the
    template, created in constant time whatever the template's size - or as a full, sparse-aware copy,
    within a pool or across pools.
  - Grows a volume when O(capacity) is larger; a volume attached to a running guest grows live (the
    guest sees the new size). Shrinking needs O(allow_shrink=true).
  - Uploads an image file from the controller or from the host, streamed through libvirt. Images are
    untrusted - the SHA-256 checksum and the format are required, a backing file outside the pool and a
    virtual size above O(upload.max_virtual_size) are refused.
  - O(state=absent) refuses while anything uses the volume, on this hypervisor or on any of O(peers) - a
    domain, running or only defined, whose disk is the volume or backs onto it (the live backing chain),
    or a volume that backs onto it (a linked clone of a template) - and names each user and its hypervisor.
  - O(flatten=true) detaches a linked clone from its template on purpose, copying the template's data in -
    live with a block pull inside the domain that runs it, else offline (C(qemu-img rebase) on the
    hypervisor). The template can then be deleted.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.connection.storage_timeout
  - sharedvirt.kvm.connection.peers
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    description: When run twice in a row, the second run reports no change.
    support: full
options:
  pool:
    description: The (active) pool of the volume.
    type: str
    required: true
  name:
    description: Volume name (for V(disk) pools, the next partition name such as V(sdb1)).
    type: str
    required: true
  state:
    description: V(present) creates or grows the volume; V(absent) deletes it when no domain uses it.
    type: str
    choices: [present, absent]
    default: present
  format:
    description: Image format; cannot change in place. V(vmdk) and others are for exchange - a disk shared by several guests must be V(raw).
    type: str
    choices: [raw, qcow2, vmdk, vdi, vhd, vpc, qed, iso]
  capacity:
    description: Virtual size with a unit (V(10GiB)); a bare number means MiB. Larger than the current size grows the volume.
    type: raw
  allocation:
    description: V(thin) allocates on write (thin provisioning); V(full) allocates the whole capacity at creation.
    type: str
    choices: [thin, full]
    default: thin
  clone_from:
    description: Create the volume from a template volume (only when the volume does not exist yet).
    type: dict
    suboptions:
      pool:
        description: The template's pool; defaults to O(pool).
        type: str
      name:
        description: The template volume.
        type: str
        required: true
      mode:
        description:
          - V(linked) makes a qcow2 overlay on the template (the template must then stay unchanged); V(full) copies it.
          - A full copy within one local V(dir) or V(fs) pool, in the template's format, of a template without a
            backing file and without O(allocation=full) copies the template's file (a reflink where the file
            system has one, else its data, holes kept, written with direct I/O so that the copy does not fill the
            host's page cache) and syncs it to disk before it becomes the volume. Other full copies go through
            libvirt (C(qemu-img convert)).
        type: str
        choices: [linked, full]
        default: linked
  flatten:
    description:
      - Make a linked clone standalone - its template's data is copied into it and it no longer has a
        backing file. A domain running it on this hypervisor keeps running (block pull); one running it on a
        peer is refused (run the task against that hypervisor).
    type: bool
    default: false
  allow_shrink:
    description: Agree to make the volume smaller, which cuts off the data at its end.
    type: bool
    default: false
  overcommit:
    description:
      - A thin-provisioning limit, checked when this task creates or grows the volume (in check mode too). The
        virtual sizes of all the pool's volumes plus what this task adds may not exceed the pool's capacity times
        O(overcommit.ratio). M(sharedvirt.kvm.pool_info) reports the pool's C(committed) bytes and ratio.
    type: dict
    suboptions:
      ratio:
        description: Most bytes of virtual disk per byte of pool capacity, for example V(1.0) (never overcommit) or V(3.0).
        type: float
        required: true
      action:
        description: V(fail) refuses the task with the figures, before anything is made; V(warn) goes on and warns.
        type: str
        choices: [fail, warn]
        default: fail
  upload:
    description: Fill a new volume from an image file on the controller, or on the host that runs the task.
    type: dict
    suboptions:
      src:
        description: The image file; relative paths are looked up in the role's or playbook's C(files) directory.
        type: path
        required: true
      remote_src:
        description:
          - V(false) copies O(upload.src) from the controller to the host first; V(true) reads it on the host.
          - Either way the image is streamed into the volume through libvirt.
        type: bool
        default: false
      checksum:
        description: Its SHA-256, as V(sha256:HEX) or V(HEX).
        type: str
        required: true
      source_format:
        description:
          - The image's own format when it differs from O(format) - a VMware V(vmdk), a VirtualBox V(vdi), a Hyper-V
            or Virtual PC V(vpc) (VHD) or V(vhdx), or a V(qcow2) or V(raw) image for a volume of the other format.
          - The image is checked as it is (declared format, no backing file, virtual size, and for a vmdk no
            descriptor that names other files), converted with C(qemu-img convert) into a scratch file in
            C(/var/tmp) on the host that runs the task, and that is uploaded. Check mode converts too, to compare.
          - Omitted, the image must already be in O(format).
        type: str
        choices: [raw, qcow2, vmdk, vdi, vpc, vhdx]
      max_virtual_size:
        description: Largest virtual size accepted, in bytes.
        type: int
        default: 1099511627776
      replace:
        description:
          - Replace the content of an existing volume that differs from the file. The image is uploaded into a
            temporary volume and swapped in only once its SHA-256 read back matches, so an interrupted upload
            leaves the volume as it was. Refused while anything uses the volume.
        type: bool
        default: false
  download:
    description: Copy the volume's content to a file on the host that runs the task (when the file is missing or differs).
    type: dict
    suboptions:
      dest:
        description: The file to write (through a temporary file next to it, renamed when complete).
        type: path
        required: true
      mode:
        description: The file's permissions, octal. A disk image holds the guest's data, so only root reads it by default.
        type: str
        default: "0600"
  wipe:
    description: With O(state=absent), overwrite the volume's data with this algorithm before deleting it.
    type: str
    choices: [zero, nnsa, dod, bsi, gutmann, schneier, pfitzner7, pfitzner33, random, trim]
seealso:
  - module: sharedvirt.kvm.pool
"""

EXAMPLES = r"""
- name: A template image
  sharedvirt.kvm.volume:
    pool: images
    name: debian12-template.qcow2
    format: qcow2
    capacity: 10GiB

- name: A guest disk as a linked clone of the template (instant)
  sharedvirt.kvm.volume:
    pool: images
    name: web1.qcow2
    clone_from: {name: debian12-template.qcow2}

- name: A full, independent copy in another pool
  sharedvirt.kvm.volume:
    pool: fast
    name: db1.qcow2
    clone_from: {pool: images, name: debian12-template.qcow2, mode: full}

- name: A 200 MiB raw disk, preallocated, for sharing between two guests
  sharedvirt.kvm.volume:
    pool: images
    name: quorum.raw
    format: raw
    capacity: 200MiB
    allocation: full

- name: Grow the guest disk (live if the guest runs)
  sharedvirt.kvm.volume:
    pool: images
    name: web1.qcow2
    capacity: 20GiB

- name: Delete it (refused while a domain uses it)
  sharedvirt.kvm.volume:
    pool: images
    name: quorum.raw
    state: absent
"""

RETURN = r"""
volume:
  description: The volume after the task (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name.
      type: str
      sample: web1.qcow2
    pool:
      description: Pool.
      type: str
      sample: images
    path:
      description: Path on the host.
      type: str
      sample: /var/lib/libvirt/images/web1.qcow2
    format:
      description: Format.
      type: str
      sample: qcow2
    capacity:
      description: Virtual size in bytes.
      type: int
      sample: 10737418240
    allocation:
      description: Bytes allocated on the host.
      type: int
      sample: 196608
    backing:
      description: Backing store path of a linked clone.
      type: str
      sample: /var/lib/libvirt/images/debian12-template.qcow2
    users:
      description:
        - What uses the volume on this hypervisor and its O(peers) - domains with their target and whether
          they run, and linked clones that back onto it (C(volume)) - each with its hypervisor (C(host)).
      type: list
      elements: dict
      sample: [{"domain": "web1", "target": "vda", "active": true, "host": "qemu:///system", "volume": ""}]
actions:
  description: What the task did (or would do), in words.
  returned: always
  type: list
  elements: str
  sample: ["create volume images/web1.qcow2 as a linked clone of images/debian12-template.qcow2"]
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.args import PEERS, STORAGE_TIMEOUT
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.module import run_volume
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.volume_args import (
    VOLUME_ITEM_SPEC,
    VOLUME_TRANSFERS,
)

ARGUMENT_SPEC = dict(VOLUME_ITEM_SPEC, timeout=STORAGE_TIMEOUT, peers=PEERS, **VOLUME_TRANSFERS)


def main() -> None:
    module = LibvirtModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.run(run_volume)


if __name__ == "__main__":
    main()
