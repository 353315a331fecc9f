#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: migration
short_description: Declare on which hypervisor a domain runs; migrate it there live or offline
version_added: 0.1.0
description:
  - Looks for the domain on the destination O(uri) and on the hypervisors in O(sources). When it runs
    (or is defined, if stopped) on the destination and no source holds it, nothing changes.
  - A running domain is migrated live (peer-to-peer by default, or client-driven, or tunnelled through
    libvirtd), a stopped one offline (its definition). The domain becomes persistent on the destination and
    is undefined on the source only after the destination has it (libvirt's persist-and-undefine, then verified).
  - Refuses, before anything moves, when the destination lacks a network or pool the domain uses, when the
    domain's CPU model is not available there, when a disk is on storage the destination does not see and
    O(copy_storage=none), when a shared disk is not visible there, and when a disk on shared storage uses a
    cache mode other than C(none) or C(directsync) (libvirt's UNSAFE flag only with O(allow_unsafe=true)).
  - Waits at most O(timeout) seconds, then aborts the job (the domain stays on the source). Returns the
    job's figures - duration, downtime, data processed.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
options:
  name:
    description: The domain.
    type: str
    required: true
  uri:
    description:
      - The hypervisor the domain must run on (the destination). For peer-to-peer and tunnelled migration the
        source's libvirtd connects to this URI itself, so it must work from the source host.
  sources:
    description: The other hypervisors the domain may be on now.
    type: list
    elements: str
    required: true
  mode:
    description:
      - V(p2p) lets the source libvirtd drive the migration, V(tunnelled) also sends the memory through the
        libvirtd connection, V(direct) is driven from where this task runs.
    type: str
    choices: [p2p, tunnelled, direct]
    default: p2p
  copy_storage:
    description:
      - Copy disks the destination does not see - V(all) of them, or V(incremental) (only the top image; the
        backing chain must be there). Shared disks are never copied.
    type: str
    choices: [none, all, incremental]
    default: none
  bandwidth:
    description: Limit in MiB/s.
    type: int
  max_downtime:
    description: Longest pause of the guest at the switch-over, in milliseconds.
    type: int
  auto_converge:
    description: Slow the guest's vCPUs down when memory changes faster than it can be copied.
    type: bool
    default: false
  postcopy:
    description:
      - Switch to post-copy once the first full pass of memory has been sent; the guest then runs on the
        destination and fetches the pages still missing from the source. This converges for a guest that
        changes memory faster than the link copies it.
      - While in post-copy, a failure of either host or of the link between them loses the running guest
        (neither side holds all of its memory), and the job cannot be aborted, so O(timeout) no longer applies.
      - QEMU needs userfaultfd for it. libvirt 9.0 (Debian 12) does not hand it C(/dev/userfaultfd), so both
        hypervisors need the sysctl C(vm.unprivileged_userfaultfd=1) (M(sharedvirt.kvm.host_memory) with
        O(sharedvirt.kvm.host_memory#module:userfaultfd=true), or the hypervisor role's C(hypervisor_postcopy)),
        which lets every unprivileged process of the host use userfaultfd. Without it the module fails before
        the guest moves, naming the sysctl.
    type: bool
    default: false
  tls:
    description: Encrypt the migration stream with libvirt's TLS setup.
    type: bool
    default: false
  migrate_uri:
    description: Where the destination QEMU listens for the stream (C(tcp://ADDR)), when its hostname does not resolve.
    type: str
  allow_unsafe:
    description:
      - Migrate disks on shared storage with a caching mode that can lose writes (libvirt's UNSAFE flag).
      - Also vouches for shared storage that libvirt does not recognize as shared - it knows NFS, GlusterFS,
        CephFS, GPFS and other cluster file systems by their type, and refuses a disk on any other file system
        as local even when every host sees the same files.
    type: bool
    default: false
  timeout:
    description: Seconds the migration may take before it is aborted.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
    description: A domain already on the destination and on no source reports no change.
"""

EXAMPLES = r"""
- name: Web1 must run on hv2 (from hv1 or hv3, live)
  sharedvirt.kvm.migration:
    name: web1
    uri: qemu+ssh://root@hv2/system
    sources: [qemu+ssh://root@hv1/system, qemu+ssh://root@hv3/system]
    max_downtime: 300
    auto_converge: true

- name: A guest with a local disk, disk copied along
  sharedvirt.kvm.migration:
    name: build1
    uri: qemu+ssh://root@hv2/system
    sources: [qemu+ssh://root@hv1/system]
    copy_storage: all
"""

RETURN = r"""
actions:
  description: What the run did (or would do, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["live-migrate web1 from qemu+ssh://root@hv1/system to qemu+ssh://root@hv2/system (p2p, copy_storage none)"]
hypervisor:
  description: Where the domain runs now (the destination URI as libvirt names it).
  returned: always
  type: str
migration:
  description: The job's figures; null when nothing moved (and in check mode).
  returned: always
  type: dict
  contains:
    from:
      description: Source URI.
      type: str
    to:
      description: Destination URI.
      type: str
    kind:
      description: V(live) or V(offline).
      type: str
    duration:
      description: Seconds from start to the verified domain on the destination.
      type: float
    job_ms:
      description: Milliseconds the migration job took, as libvirt measured it.
      type: int
    downtime_ms:
      description: Milliseconds the guest was paused at the switch-over.
      type: int
    data_processed:
      description: Bytes sent.
      type: int
    data_total:
      description: Bytes to send at the start (memory, and disks when copied).
      type: int
    postcopy:
      description: Whether the job switched to post-copy (only with O(postcopy)).
      type: bool
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils.migration.module import MigrationModule, run_migration

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "sources": {"type": "list", "elements": "str", "required": True},
    "mode": {"type": "str", "choices": ["p2p", "tunnelled", "direct"], "default": "p2p"},
    "copy_storage": {"type": "str", "choices": ["none", "all", "incremental"], "default": "none"},
    "bandwidth": {"type": "int"},
    "max_downtime": {"type": "int"},
    "auto_converge": {"type": "bool", "default": False},
    "postcopy": {"type": "bool", "default": False},
    "tls": {"type": "bool", "default": False},
    "migrate_uri": {"type": "str"},
    "allow_unsafe": {"type": "bool", "default": False},
    "timeout": {"type": "int", "default": 300},
}


def main() -> None:
    MigrationModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_migration)


if __name__ == "__main__":
    main()
