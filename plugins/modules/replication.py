#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: replication
short_description: Replicate a domain to a second hypervisor by incremental backups, and fail over to it
version_added: 0.2.0
description:
  - O(state=present) syncs the replica of domain O(name) (on the hypervisor O(uri)) on the hypervisor O(target).
    A backup of the running domain is taken into O(staging)/<name>/ on the source as M(sharedvirt.kvm.backup)
    takes them - incremental after the first, with a checkpoint each time - and only the blocks it holds are
    written into raw volumes of O(pool) on the target, over the target's libvirt connection (no other channel).
    The replica is a domain defined there, not started, whose metadata records the restore point it holds.
  - The replica is as of the last sync, not synchronous. A replica that is not at the newest restore point
    (a sync that failed part-way) is rebuilt whole by the next sync. O(max_age) makes the task a no-op while the
    replica is recent enough.
  - O(staging) must be the same directory for the task and for the source hypervisor's QEMU - the task runs on
    the source (a local O(uri)), or O(staging) is on storage both see.
  - O(state=failed_over) starts the replica on the target - only when the source does not answer and is proven
    unable to write, as M(sharedvirt.kvm.recover) requires - O(fenced=true), or O(fence_command) succeeding.
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
  target:
    description: The libvirt URI of the hypervisor that holds the replica.
    type: str
    required: true
  pool:
    description: The pool on O(target) for the replica's raw volumes (C(<name>-<disk>.replica.raw)).
    type: str
    required: true
  staging:
    description: The directory of the source's backups (see the description).
    type: path
    default: /var/lib/sharedvirt/replication
  state:
    description: V(present) - the replica synced; V(failed_over) - the replica running on O(target).
    type: str
    choices: [present, failed_over]
    default: present
  mode:
    description: V(auto) ships incrementally when it can; V(full) rebuilds the replica whole.
    type: str
    choices: [auto, full]
    default: auto
  max_age:
    description: Seconds; while the replica's restore point is younger, a sync does nothing.
    type: int
    default: 0
  quiesce:
    description: Freeze the guest's file systems through its agent while the backup point is taken.
    type: str
    choices: [auto, always, never]
    default: auto
  timeout:
    description: Seconds the source's backup job may take.
    type: int
    default: 3600
  fenced:
    description: With O(state=failed_over) - the operator vouches that the source is powered off or cut off from storage.
    type: bool
    default: false
  fence_command:
    description:
      - With O(state=failed_over) - a command that fences the source (C({host}) is replaced by O(uri)); exit status 0
        is the proof. Not run in check mode.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: partial
    description: A sync with O(max_age) within that time, and a failover to a running replica, change nothing.
"""

EXAMPLES = r"""
- name: Keep db1's replica on hv2 at most an hour old
  sharedvirt.kvm.replication:
    name: db1
    target: qemu+ssh://root@hv2/system
    pool: replicas
    max_age: 3600
  delegate_to: hv1

- name: hv1 is dead and powered off - run db1 on hv2 from its replica
  sharedvirt.kvm.replication:
    name: db1
    uri: qemu+ssh://root@hv1/system
    target: qemu+ssh://root@hv2/system
    pool: replicas
    state: failed_over
    fence_command: [/usr/local/bin/ipmi-off, "{host}"]
"""

RETURN = r"""
actions:
  description: What the task did, or would do in check mode.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.replication.module import run_replication

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "target": {"type": "str", "required": True},
    "pool": {"type": "str", "required": True},
    "staging": {"type": "path", "default": "/var/lib/sharedvirt/replication"},
    "state": {"type": "str", "choices": ["present", "failed_over"], "default": "present"},
    "mode": {"type": "str", "choices": ["auto", "full"], "default": "auto"},
    "max_age": {"type": "int", "default": 0},
    "quiesce": {"type": "str", "choices": ["auto", "always", "never"], "default": "auto"},
    "timeout": {"type": "int", "default": 3600},
    "fenced": {"type": "bool", "default": False},
    "fence_command": {"type": "list", "elements": "str"},
}


def main() -> None:
    LibvirtModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_replication)


if __name__ == "__main__":
    main()
