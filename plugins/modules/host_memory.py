#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: host_memory
short_description: KSM memory de-duplication, hugepages and userfaultfd of a hypervisor
version_added: 0.1.0
description:
  - Turns Kernel Samepage Merging (KSM) on or off and tunes how fast it scans, so that many similar
    guests share identical memory pages; reserves hugepages for guests that use them.
  - Only the options that are set are compared. The values are written to /sys at once and, with
    O(persist=true), to a systemd-tmpfiles file of the collection's own that sets them at every boot.
  - Lets QEMU use userfaultfd, which post-copy live migration needs (O(userfaultfd)).
  - Reports what KSM saves now (C(saved_bytes) in RV(memory.ksm)) and the hugepages of every size.
  - Runs on the hypervisor itself (it writes that machine's /sys and /proc/sys).
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.attributes
options:
  ksm:
    description: KSM settings (/sys/kernel/mm/ksm).
    type: dict
    suboptions:
      enabled:
        description: Run KSM (V(true)) or stop it and keep merged pages (V(false)).
        type: bool
      pages_to_scan:
        description: Pages to scan per wake-up; higher merges faster and costs more CPU.
        type: int
      sleep_millisecs:
        description: Milliseconds between scans.
        type: int
  hugepages:
    description: Hugepages to reserve.
    type: dict
    suboptions:
      count:
        description: How many pages of O(hugepages.size) to reserve; V(0) releases them.
        type: int
      size:
        description: The page size, V(2MiB) or V(1GiB) on x86_64.
        type: str
        default: 2MiB
  userfaultfd:
    description:
      - Let unprivileged processes use userfaultfd (the sysctl C(vm.unprivileged_userfaultfd)). QEMU needs it
        for post-copy live migration (O(sharedvirt.kvm.migration#module:postcopy=true)) where libvirt does not
        hand it C(/dev/userfaultfd), as on libvirt 9.0 (Debian 12). Set it on every hypervisor a post-copy
        migration leaves or reaches.
      - It widens what every unprivileged process of the host may do (userfaultfd has helped kernel exploits
        that race the kernel's own page faults); V(false) takes it back.
    type: bool
    version_added: 0.2.0
  persist:
    description:
      - Write /etc/tmpfiles.d/sharedvirt-host-memory.conf so the values (the sysctl too) survive a reboot; the file
        holds exactly the values set here and is removed when no value is set.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
    description: Values equal to the ones in /sys and /proc/sys (and an equal persistence file) report no change.
notes:
  - KSM is a host-wide setting; guests opt out per domain with the domain module's O(sharedvirt.kvm.domain#module:memory_backing.nosharepages=true).
"""

EXAMPLES = r"""
- name: Let similar guests share memory, scanning briskly
  sharedvirt.kvm.host_memory:
    ksm:
      enabled: true
      pages_to_scan: 1000
      sleep_millisecs: 20

- name: Let QEMU use userfaultfd, for post-copy migration
  sharedvirt.kvm.host_memory:
    userfaultfd: true

- name: Reserve 512 hugepages of 2 MiB for database guests
  sharedvirt.kvm.host_memory:
    hugepages:
      count: 512
"""

RETURN = r"""
actions:
  description: What the run did (or would do, in check mode), one line each.
  returned: always
  type: list
  elements: str
  sample: ["set /sys/kernel/mm/ksm/run from 0 to 1", "write /etc/tmpfiles.d/sharedvirt-host-memory.conf"]
changes:
  description: The sysfs and sysctl values changed (or to change, in check mode), as path -> {before, after}.
  returned: always
  type: dict
  sample: {"/sys/kernel/mm/ksm/run": {"before": "0", "after": "1"}}
memory:
  description: KSM state and savings, and hugepages, after the run (before it, in check mode).
  returned: always
  type: dict
  contains:
    ksm:
      description: C(run), C(enabled), C(pages_to_scan), C(sleep_millisecs), C(pages_shared), C(pages_sharing),
        C(pages_unshared), C(full_scans) and C(saved_bytes) (pages_sharing times the page size).
      type: dict
    hugepages:
      description: Per page size, C(size) in bytes, C(count) reserved and C(free).
      type: list
      elements: dict
    unprivileged_userfaultfd:
      description: Whether unprivileged processes (QEMU) may use userfaultfd; null where the kernel has no such sysctl.
      type: bool
      version_added: 0.2.0
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import CollectionModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.host.memory_module import run_host_memory

ARGUMENT_SPEC = {
    "ksm": {
        "type": "dict",
        "options": {
            "enabled": {"type": "bool"},
            "pages_to_scan": {"type": "int"},
            "sleep_millisecs": {"type": "int"},
        },
    },
    "hugepages": {
        "type": "dict",
        "options": {"count": {"type": "int"}, "size": {"type": "str", "default": "2MiB"}},
    },
    "userfaultfd": {"type": "bool"},
    "persist": {"type": "bool", "default": True},
}


def main() -> None:
    CollectionModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_host_memory)


if __name__ == "__main__":
    main()
