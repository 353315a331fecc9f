# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: placement
short_description: Choose the hypervisor for new VMs from free memory, committed vCPUs and anti-affinity
version_added: 0.1.0
author:
  - sharedvirt.kvm contributors (@sharedvirt)
description:
  - Returns, for each domain name, the URI of the hypervisor it should be defined on.
  - A domain that already exists on one of the hypervisors keeps it, so a rerun never moves anything.
  - A new domain goes to a hypervisor that has room for it - committed guest memory within RAM times
    O(memory_overcommit) minus O(reserve_memory), free memory for it beyond O(reserve_memory), committed
    vCPUs within CPUs times O(cpu_overcommit) - and no other member of its O(anti_affinity) group (the value
    of O(anti_affinity_key) in the metadata of the domains there). Of those, the one left least loaded (the
    fuller of memory and vCPUs, as a fraction of what it may commit) wins; then the one with more free memory;
    then the order of O(uri).
  - Several names in one call are placed in order, each choice counting for the next, so a group of new VMs
    spreads out.
  - When no hypervisor can take a domain, the error gives each hypervisor's reason.
options:
  _terms:
    description: Names of the domains to place.
    required: true
    type: list
    elements: str
  memory:
    description: Memory of each new domain (bytes or a size such as V(2GiB)).
    type: str
    default: 1GiB
  vcpus:
    description: vCPUs of each new domain.
    type: int
    default: 1
  anti_affinity:
    description: The anti-affinity group of the new domains; no two members share a hypervisor.
    type: str
extends_documentation_fragment:
  - sharedvirt.kvm.connection.plugins
  - sharedvirt.kvm.capacity
"""

EXAMPLES = r"""
- name: Define three database VMs, never two on one host
  sharedvirt.kvm.domain:
    uri: "{{ item.1 }}"
    name: "{{ item.0 }}"
    memory: 4GiB
    vcpus: 2
    metadata:
      anti_affinity: db
  loop: "{{ names | zip(query('sharedvirt.kvm.placement', *names, memory='4GiB', vcpus=2, anti_affinity='db',
                              uri=hypervisors)) | list }}"
  vars:
    names: [db1, db2, db3]
"""

RETURN = r"""
_raw:
  description: One hypervisor URI per term.
  type: list
  elements: str
"""

import typing as t

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.client import LibvirtClient
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.units import to_bytes
from ansible_collections.sharedvirt.kvm.plugins.module_utils.placement.client import read_host_load
from ansible_collections.sharedvirt.kvm.plugins.module_utils.placement.model import Capacity, GuestLoad
from ansible_collections.sharedvirt.kvm.plugins.module_utils.placement.plan import place_guests
from ansible_collections.sharedvirt.kvm.plugins.plugin_utils._plugin import ansible_errors, connect


class LookupModule(LookupBase):
    def run(self, terms: t.List[t.Any], variables: t.Any = None, **kwargs: t.Any) -> t.List[t.Any]:
        self.set_options(var_options=variables, direct=kwargs)
        opt = self.get_option
        clients: t.List[LibvirtClient] = []
        with ansible_errors(AnsibleLookupError):
            capacity = Capacity.from_options(opt)
            memory = to_bytes(opt("memory"), "memory")
            guests = [GuestLoad(str(name), memory, opt("vcpus"), opt("anti_affinity") or None) for name in terms]
            try:
                for uri in dict.fromkeys(opt("uri") or [None]):
                    clients.append(connect(uri, opt("connect_timeout")))
                hosts = [read_host_load(client, opt("anti_affinity_key")) for client in clients]
            finally:
                for client in clients:
                    client.close()
            return place_guests(guests, hosts, capacity)
