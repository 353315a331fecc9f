#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: domains
short_description: Declare many domains of one hypervisor in one task
version_added: 0.1.0
description:
  - Each item of O(domains) is what M(sharedvirt.kvm.domain) takes (without O(uri) and O(connect_timeout),
    which this task sets once), over O(defaults). Items go through the same validation, planning and
    application as the domain module, one after the other, over one libvirt connection.
  - A loop of M(sharedvirt.kvm.domain) pays Ansible's cost per task (sending the module, a new Python, a
    new connection) for every VM; this module pays it once, so a rerun that only confirms "nothing changed"
    on many VMs takes about as long as one task. See C(docs/performance.md).
  - The first item that fails stops the task; the error names the item and the domains changed before it.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.connection.peers
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
options:
  domains:
    description:
      - The domains, each a dictionary of M(sharedvirt.kvm.domain) options (C(name), C(memory), C(state), ...);
        O(peers) is set once for all of them.
      - Secrets among them (display passwords) are hidden from the result and logs as in the domain module.
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
    description: Domains already as declared report no change.
"""

EXAMPLES = r"""
- name: Three guests alike, running
  sharedvirt.kvm.domains:
    uri: qemu:///system
    defaults:
      memory: 512MiB
      vcpus: 1
      state: running
      interfaces: [{source: {network: lab}}]
    domains: [{name: web1}, {name: web2}, {name: web3}]

- name: Different sizes in one task
  sharedvirt.kvm.domains:
    domains:
      - {name: db1, memory: 8GiB, vcpus: 4, state: running}
      - {name: web1, memory: 1GiB, state: running}
"""

RETURN = r"""
actions:
  description: What the task did (or would do in check mode), in words, for all items in order.
  returned: always
  type: list
  elements: str
  sample: ["define domain web3", "start domain web3"]
results:
  description: One result per item, in order, as M(sharedvirt.kvm.domain) returns it (C(changed), C(actions),
    C(reboot_required), C(domain), C(removed_storage)).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.args import DOMAINS_SPEC
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.batch_module import run_domains

ARGUMENT_SPEC = DOMAINS_SPEC


def main() -> None:
    LibvirtModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_domains)


if __name__ == "__main__":
    main()
