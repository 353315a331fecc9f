#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: backup
short_description: Take full and incremental backups of a domain into a directory, with retention
version_added: 0.2.0
description:
  - Takes a restore point of the domain O(name) in O(dest)/<name>/ on the hypervisor - one qcow2 file per disk
    and C(chain.json), the restore points oldest first. Runs on the hypervisor (a local O(uri)).
  - A running domain is backed up through libvirt's backup API (push mode) while it runs. Each restore point
    gets a libvirt checkpoint, a persistent bitmap in each qcow2 disk, so the next backup copies only the blocks
    written since (V(incremental)). Raw disks cannot hold bitmaps and always get full backups; the action says
    why. A stopped domain gets a full copy of its disks.
  - With the guest agent answering, the guest's file systems are frozen while the backup point is taken
    (O(quiesce)), and thawed right after - the copy itself runs while the guest works.
  - Each incremental file backs onto the one before it, so each restore point is a complete image through its
    chain. Beyond O(keep) points the oldest goes; an incremental point after it is merged into it first and
    becomes a full one. Checkpoints of older points are deleted, keeping the newest.
  - O(max_age) makes the task declarative - a backup no older than that exists - and the rerun a no-op.
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
  dest:
    description: The backup directory on the hypervisor; the domain's restore points go to O(dest)/<name>/.
    type: path
    required: true
  disks:
    description: Only these disk targets. Default every disk but CD-ROMs, read-only and shareable disks.
    type: list
    elements: str
  mode:
    description:
      - V(auto) takes an incremental backup when the last restore point has its checkpoint and every disk is
        qcow2, else a full one; V(full) always copies everything; V(incremental) fails where it cannot be one.
    type: str
    choices: [auto, full, incremental]
    default: auto
  keep:
    description: How many restore points to keep (at least 1).
    type: int
    default: 7
  max_age:
    description: Seconds; when the newest restore point is younger, nothing is taken. V(0) takes one every run.
    type: int
    default: 0
  quiesce:
    description: V(auto) freezes the guest's file systems when its agent answers; V(always) fails without the agent.
    type: str
    choices: [auto, always, never]
    default: auto
  timeout:
    description: Seconds the backup job may take before it is stopped (its files and checkpoint are removed).
    type: int
    default: 3600
attributes:
  check_mode:
    support: full
    details:
      - Says which backup would be taken (full or incremental, and why) and which restore points retention drops.
  diff_mode:
    support: none
  idempotent:
    support: partial
    description: With O(max_age), a rerun within that time changes nothing; without it every run takes a restore point.
"""

EXAMPLES = r"""
- name: A nightly backup of db1, incremental after the first, 14 restore points kept
  sharedvirt.kvm.backup:
    name: db1
    dest: /srv/backup
    keep: 14
    max_age: 72000  # a rerun the same night takes nothing
  delegate_to: hv1
"""

RETURN = r"""
backup:
  description: The restore points after the task (predicted in check mode), oldest first.
  returned: always
  type: dict
  sample: {"points": [{"id": "20261202T010000Z", "kind": "full", "parent": "", "processed": 10737418240,
           "disks": [{"target": "vda", "file": "20261202T010000Z.vda.qcow2", "size": 3221225472}]}]}
actions:
  description: What the task did, or would do in check mode.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.backup.module import run_backup

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "dest": {"type": "path", "required": True},
    "disks": {"type": "list", "elements": "str"},
    "mode": {"type": "str", "choices": ["auto", "full", "incremental"], "default": "auto"},
    "keep": {"type": "int", "default": 7},
    "max_age": {"type": "int", "default": 0},
    "quiesce": {"type": "str", "choices": ["auto", "always", "never"], "default": "auto"},
    "timeout": {"type": "int", "default": 3600},
}


def main() -> None:
    LibvirtModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_backup)


if __name__ == "__main__":
    main()
