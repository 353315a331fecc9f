#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: converge
short_description: Converge volumes, pools, domains and shared disks on several hypervisors in one task
version_added: 0.1.0
description:
  - Runs O(steps) in order, each exactly as its own module runs it - the same options, validation, plans,
    consent flags, cluster checks and results - in one module run, with one libvirt connection per hypervisor
    for all of them.
  - A cluster's convergence is a few tasks per hypervisor (clones, a pool rescan, definitions, shared disks,
    start). Ansible pays its cost per task (sending the module, a new Python, new connections) for each;
    this module pays it once, so a rerun that only confirms "nothing changed" on a cluster costs about one
    task. The C(sharedvirt.kvm.vm_cluster) role converges through it. See C(docs/performance.md).
  - The steps that check who uses a volume on the hypervisors (a deletion's guard, a clone's template, a shared
    disk's other users) share one read of it, read again after any step that changed something or whose pool
    rescan found or lost volumes, so each step still sees what the steps before it did.
  - Every step is validated before the first one runs. The first step that fails stops the task; the error
    names the step and the steps changed before it, and the result lists what was done.
  - In check mode every step predicts its own result from what the hypervisors hold now and from what the
    earlier steps declare - a volume, pool or domain that an earlier step makes is predicted, where a separate
    task could only warn that an earlier task may make it.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
options:
  steps:
    description:
      - The steps, each a dictionary with one key, the module that makes the step - V(volume), V(volumes), V(pool),
        V(domains) or V(shared_disk) - whose value is that module's options.
      - A step's O(uri) and O(connect_timeout) default to this task's, so each step can work on another hypervisor.
        A step's C(peers) are asked as in its module (over the same connections).
      - The C(upload) and C(download) of M(sharedvirt.kvm.volume) are not steps (that module's own task carries them).
      - Secrets among the options are hidden from the result and logs as in the steps' modules.
    type: list
    elements: dict
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
    description: Steps whose objects are already as declared report no change.
seealso:
  - module: sharedvirt.kvm.volumes
  - module: sharedvirt.kvm.domains
  - module: sharedvirt.kvm.shared_disk
"""

EXAMPLES = r"""
- name: Two hypervisors, one shared disk, two VMs started - one module run
  sharedvirt.kvm.converge:
    steps:
      - volume: {uri: "qemu+ssh://root@hv1/system", pool: shared, name: quorum.raw, format: raw,
                 capacity: 1GiB, allocation: full}
      - pool: {uri: "qemu+ssh://root@hv2/system", name: shared, refresh: true}
      - domains:
          uri: qemu+ssh://root@hv1/system
          peers: [qemu+ssh://root@hv2/system]
          domains: [{name: db1, memory: 2GiB, disks: [{target: vda, source: {pool: local, volume: db1.qcow2}}]}]
      - domains:
          uri: qemu+ssh://root@hv2/system
          peers: [qemu+ssh://root@hv1/system]
          domains: [{name: db2, memory: 2GiB, disks: [{target: vda, source: {pool: local, volume: db2.qcow2}}]}]
      - shared_disk: {uri: "qemu+ssh://root@hv1/system", volume: {pool: shared, name: quorum.raw}, target: vdb,
                      domains: [db1], peers: ["qemu+ssh://root@hv2/system"]}
      - shared_disk: {uri: "qemu+ssh://root@hv2/system", volume: {pool: shared, name: quorum.raw}, target: vdb,
                      domains: [db2], peers: ["qemu+ssh://root@hv1/system"]}
      - domains:
          uri: qemu+ssh://root@hv1/system
          peers: [qemu+ssh://root@hv2/system]
          domains: [{name: db1, state: running}]
      - domains:
          uri: qemu+ssh://root@hv2/system
          peers: [qemu+ssh://root@hv1/system]
          domains: [{name: db2, state: running}]
"""

RETURN = r"""
actions:
  description: What the task did (or would do in check mode), in words, for all steps in order.
  returned: always
  type: list
  elements: str
  sample: ["create volume quorum.raw in pool shared", "define domain db1", "start domain db1"]
results:
  description: One result per step, in order, as the step's module returns it, with C(step) (the module) and
    C(uri) (the hypervisor it ran on).
  returned: always
  type: list
  elements: dict
  sample: [{"step": "pool", "uri": "qemu+ssh://root@hv2/system", "changed": false, "actions": []}]
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils.converge.module import ConvergeModule, run_converge

ARGUMENT_SPEC = {
    "steps": {"type": "list", "elements": "dict", "required": True},
}


def main() -> None:
    ConvergeModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_converge)


if __name__ == "__main__":
    main()
