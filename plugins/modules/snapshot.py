#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: snapshot
short_description: Create, revert to and delete snapshots of a libvirt domain
version_added: 0.1.0
description:
  - O(state=present) creates the snapshot when the domain has none of that name - internal (inside the qcow2
    images) or external (new overlay files), of the disks only or with the memory of a running guest.
  - Shared disks (C(<shareable/>)) are left out automatically, as are CD-ROMs and read-only disks;
    naming a shared disk in O(disks) is refused with the reason (a revert would roll back other guests' data).
  - External snapshots of a running guest are quiesced through the guest agent when it is connected.
  - O(state=current) reverts the domain to the snapshot unless it is the current one already. Reverting a
    running domain to a snapshot taken while it was off stops it, which needs O(force=true).
  - O(state=absent) deletes the snapshot; libvirt merges its data into the chain, which stays consistent (for an
    external snapshot, the overlay's writes are committed into the image below it and the overlay goes).
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
options:
  domain:
    description: The domain.
    type: str
    required: true
  name:
    description: The snapshot's name.
    type: str
    required: true
  state:
    description:
      - V(present) - the snapshot exists (created when missing). V(absent) - deleted.
      - V(reverted) - the rollback - the domain goes back to the snapshot on every run, and the task reports a
        change every time. After C(snapshot) and changes in the guest, this is what brings the old disks back;
        it never reports C(ok) while the guest holds newer data.
      - V(current) - the snapshot is the domain's current one; a snapshot that is current already is left as
        it is, so this does B(not) roll back changes made since it was taken (use V(reverted)).
    type: str
    choices: [present, reverted, current, absent]
    default: present
  kind:
    description:
      - V(internal) (inside qcow2 images), V(external) (overlay files next to the images), or V(auto) - internal,
        unless the domain has a shared disk to leave out (libvirt takes internal snapshots of all disks or none).
      - libvirt 9.0 cannot revert to external snapshots; the module does it itself for disk-only ones on the
        hypervisor (a local O(uri)) - each disk gets a new, empty overlay on the image the snapshot froze, and the
        writes made since are dropped. It refuses while a later snapshot was taken on top of that overlay, and
        for snapshots that saved the memory in a file.
    type: str
    choices: [auto, internal, external]
    default: auto
  memory:
    description: Include the memory of a running guest (a full checkpoint to resume from).
    type: bool
    default: false
  disks:
    description: Disk targets to include; default every disk that is neither shared nor read-only.
    type: list
    elements: str
  quiesce:
    description: Freeze the guest's file systems through the agent while the snapshot is taken; default when the agent is connected.
    type: bool
  description:
    description: A description stored with the snapshot.
    type: str
  force:
    description: Allow a revert that stops a running domain.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
    description:
      - An existing snapshot, a snapshot that is current already (V(current)), or a missing one to delete
        report no change. V(reverted) reverts on every run.
"""

EXAMPLES = r"""
- name: Before the upgrade
  sharedvirt.kvm.snapshot:
    domain: db1
    name: before-upgrade

- name: Roll back (every run reverts; force allows stopping the running guest)
  sharedvirt.kvm.snapshot:
    domain: db1
    name: before-upgrade
    state: reverted
    force: true

- name: Done; drop it
  sharedvirt.kvm.snapshot:
    domain: db1
    name: before-upgrade
    state: absent
"""

RETURN = r"""
actions:
  description: What the run did (or would do, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["create internal snapshot before-upgrade of db1 (disks vda; left out vdb)"]
snapshot:
  description: The snapshot's facts (null when it does not exist).
  returned: always
  type: dict
  sample: {"name": "before-upgrade", "kind": "internal", "state": "shutoff", "current": true, "parent": null,
           "memory": false, "disks": ["vda"], "excluded_disks": ["vdb"], "created": 1795684261}
snapshots:
  description: All snapshots of the domain, oldest first, with the same facts.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.snapshot.module import run_snapshot

ARGUMENT_SPEC = {
    "domain": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "reverted", "current", "absent"], "default": "present"},
    "kind": {"type": "str", "choices": ["auto", "internal", "external"], "default": "auto"},
    "memory": {"type": "bool", "default": False},
    "disks": {"type": "list", "elements": "str"},
    "quiesce": {"type": "bool"},
    "description": {"type": "str"},
    "force": {"type": "bool", "default": False},
}


def main() -> None:
    LibvirtModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_snapshot)


if __name__ == "__main__":
    main()
