# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: vm_ip
short_description: Find the IP addresses of virtual machines by name or MAC
version_added: 0.1.0
author:
  - sharedvirt.kvm contributors (@sharedvirt)
description:
  - Returns the addresses of libvirt domains, looked up by domain name (or UUID) or by MAC address in any
    spelling (V(52:54:00:FA:61:75), V(52-54-00-fa-61-75), V(5254.00fa.6175), V(525400fa6175)).
    A name stands for every NIC of the domain.
  - Tries the O(sources) in order (static DHCP reservations, libvirt DHCP leases, the guest agent, the
    hypervisor's neighbour table) and, with O(probe=true), sweeps the subnet of the guest's bridge first
    so that silent guests on plain host bridges are found too.
  - Many terms in one call share one connection per hypervisor and one read of each source.
  - When a term finds nothing, the error names every source tried and why it gave nothing.
  - Runs on the controller. For a local URI (V(qemu:///system)) the controller is the hypervisor and reads
    its own neighbour table; for an SSH URI it reads the hypervisor's table, and sweeps there, over SSH (see
    O(neighbours)). The P(sharedvirt.kvm.vm_ip_info#module) module does the same as a task on the hypervisor.
options:
  _terms:
    description: Domain names, UUIDs or MAC addresses.
    required: true
    type: list
    elements: str
  return:
    description:
      - V(first) gives one address per term (a string); V(all) gives per term a list of dictionaries, one
        per address of every NIC, from every source (see RV(_raw)).
    type: str
    choices: [first, all]
    default: first
  wait:
    description:
      - Poll until every term has an address (a guest that is still booting), at most O(timeout) seconds.
    type: bool
    default: false
  timeout:
    description: Seconds to wait with O(wait=true).
    type: int
    default: 300
  interval:
    description: Seconds between polls with O(wait=true).
    type: float
    default: 2
  on_missing:
    description:
      - What to do with a term that has no address. V(error) fails with the reasons, V(warn) warns and
        gives an empty result for that term, V(skip) gives the empty result silently.
      - Ansible's own C(errors='ignore') of C(lookup()) also works, but drops the results of all terms.
    type: str
    choices: [error, warn, skip]
    default: error
extends_documentation_fragment:
  - sharedvirt.kvm.connection.plugins
  - sharedvirt.kvm.connection.addresses
  - sharedvirt.kvm.connection.neighbours
  - sharedvirt.kvm.connection.probe
notes:
  - On this collection's test platform (libvirt 9.0 on a new kernel) libvirt's own ARP reader fails with
    C(wrong nlmsg len); the plugin reads the neighbour table itself, locally or over SSH.
"""

EXAMPLES = r"""
- name: Address of one VM
  ansible.builtin.debug:
    msg: "{{ lookup('sharedvirt.kvm.vm_ip', 'web1') }}"

- name: Address by MAC, as virsh or a switch prints it
  ansible.builtin.debug:
    msg: "{{ lookup('sharedvirt.kvm.vm_ip', '5254.00fa.6175') }}"

- name: Wait for freshly started VMs and add them to the inventory
  ansible.builtin.add_host:
    name: "{{ item.0 }}"
    ansible_host: "{{ item.1 }}"
    groups: [fresh]
  loop: "{{ names | zip(query('sharedvirt.kvm.vm_ip', *names, wait=true, timeout=180)) | list }}"
  vars:
    names: [web1, web2, db1]

- name: Every address of a VM on two hypervisors, with source and NIC
  ansible.builtin.debug:
    msg: "{{ lookup('sharedvirt.kvm.vm_ip', 'db1', return='all', family='any',
             uri=['qemu+ssh://root@hv1/system', 'qemu+ssh://root@hv2/system']) }}"

- name: A VM on a host bridge with an outside DHCP server that has not sent a packet yet
  ansible.builtin.debug:
    msg: "{{ lookup('sharedvirt.kvm.vm_ip', 'appliance', sources=['arp'], probe=true) }}"

- name: The same from a controller - the table is read, and the bridge swept, on hv1 over SSH
  ansible.builtin.debug:
    msg: "{{ lookup('sharedvirt.kvm.vm_ip', 'win7', uri='qemu+ssh://root@hv1/system', sources=['arp'], probe=true) }}"
"""

RETURN = r"""
_raw:
  description:
    - With O(return=first), one address per term.
    - With O(return=all), per term a list of dictionaries with the keys C(ip), C(prefix) (null when the
      source does not know it), C(family), C(mac), C(source), C(domain), C(hypervisor) (its URI),
      C(interface) (the host-side tap), C(network) and C(guest_interface) (agent only).
  type: list
  elements: raw
"""

import typing as t

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.resolve import Chain, resolve_all
from ansible_collections.sharedvirt.kvm.plugins.plugin_utils._plugin import (
    ansible_errors,
    make_unsafe,
    open_hypervisors,
)

display = Display()


class LookupModule(LookupBase):
    def run(self, terms: t.List[t.Any], variables: t.Any = None, **kwargs: t.Any) -> t.List[t.Any]:
        self.set_options(var_options=variables, direct=kwargs)
        opt = self.get_option
        chain = Chain(sources=opt("sources"), family=opt("family"), first=opt("return") == "first", probe=opt("probe"))
        with ansible_errors(AnsibleLookupError):
            opened = open_hypervisors(
                opt("uri"),
                opt("connect_timeout"),
                "agent" in chain.sources,
                opt("probe_max_addresses"),
                opt("probe_rate"),
                opt("neighbours"),
            )
            try:
                if not opened.knowledge:
                    raise AnsibleLookupError(
                        "vm_ip: no hypervisor reachable: " + "; ".join(opened.unreachable.values())
                    )
                for uri, why in opened.unreachable.items():
                    display.warning(f"vm_ip: skipping {uri}: {why}")
                wait = opt("timeout") if opt("wait") else 0
                outcomes = resolve_all([str(x) for x in terms], opened.knowledge, chain, wait, opt("interval"))
            finally:
                opened.close()
        missing = [o.message() for o in outcomes if not o.addresses]
        if missing and opt("on_missing") == "error":
            raise AnsibleLookupError("vm_ip: " + "\n".join(missing))
        if missing and opt("on_missing") == "warn":
            for message in missing:
                display.warning(f"vm_ip: {message}")
        if chain.first:
            return [make_unsafe(o.addresses[0].ip if o.addresses else "") for o in outcomes]
        return [make_unsafe([a.to_dict() for a in o.addresses]) for o in outcomes]
