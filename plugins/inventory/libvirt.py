# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: libvirt
short_description: Libvirt domains of several hypervisors as inventory hosts, with their IP addresses
version_added: 0.1.0
author:
  - sharedvirt.kvm contributors (@sharedvirt)
description:
  - Reads every domain of every hypervisor in O(uri) and adds it as a host named by its domain name
    (or UUID, see O(hostname)). The hypervisors are read side by side, one connection each.
  - C(ansible_host) comes from the same address chain as the P(sharedvirt.kvm.vm_ip#lookup) lookup
    (O(sources), O(family)); the inventory never waits for a guest to boot.
  - For guests on plain host bridges (a DHCP server outside libvirt, no guest agent) the V(arp) source reads
    each remote hypervisor's neighbour table over SSH (O(neighbours)), and with O(probe) sweeps the bridges of
    the guests the table does not know yet - one SSH call per hypervisor and bridge, not per VM. With O(cache),
    later runs read none of it again until the cache times out.
  - Host variables (all prefixed C(libvirt_)) hold the state, the hypervisor, MACs, all addresses with
    their sources, vCPUs, memory and the collection's domain metadata. Every value that comes from a
    hypervisor or a guest is marked unsafe, so it is never templated.
  - Groups are made per hypervisor (C(hypervisor_<hostname>)), per state (C(state_running),
    C(state_shutoff), ...) and per metadata key and value (C(<key>_<value>)), plus the usual
    O(compose), O(groups) and O(keyed_groups).
  - A hypervisor that cannot be reached gives a warning and the others still load, unless O(strict=true).
  - The configuration file name must end with C(.libvirt.yml) or C(.libvirt.yaml).
options:
  plugin:
    description: The name of this plugin; it makes the file this plugin's configuration.
    required: true
    type: str
    choices: [sharedvirt.kvm.libvirt]
  hostname:
    description: What names a host, V(name) (the domain name) or V(uuid).
    type: str
    choices: [name, uuid]
    default: name
  filter:
    description:
      - A JMESPath expression evaluated on each domain's host variables; only domains for which it is true
        become hosts, for example V(libvirt_state == 'running') or V(starts_with(libvirt_name, 'web')).
    type: str
  metadata_groups:
    description: Make C(<key>_<value>) groups from the collection's domain metadata.
    type: bool
    default: true
  strict:
    description:
      - Fail when a hypervisor cannot be reached (instead of a warning), and on errors in O(compose),
        O(groups) and O(keyed_groups).
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - sharedvirt.kvm.connection.plugins
  - sharedvirt.kvm.connection.addresses
  - sharedvirt.kvm.connection.neighbours
  - sharedvirt.kvm.connection.probe
requirements:
  - jmespath (for O(filter))
"""

EXAMPLES = r"""
# lab.libvirt.yml -- two hypervisors, running web VMs only, grouped by their metadata
plugin: sharedvirt.kvm.libvirt
uri:
  - qemu+ssh://root@hv1/system
  - qemu+ssh://root@hv2/system
filter: "libvirt_state == 'running' && starts_with(libvirt_name, 'web')"
# guests on host bridges with an outside DHCP server: their hypervisors' tables are read (and swept) over SSH
sources: [lease, agent, arp]
probe: true
keyed_groups:
  - key: libvirt_metadata.cluster
    prefix: cluster
compose:
  ansible_user: "'debian'"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/sharedvirt-inventory
cache_timeout: 300
"""

import concurrent.futures
import dataclasses
import re
import typing as t

import ansible.template as ansible_template
from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.client import LibvirtKnowledge
from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.resolve import Chain, resolve
from ansible_collections.sharedvirt.kvm.plugins.plugin_utils._plugin import (
    ansible_errors,
    make_unsafe,
    open_hypervisors,
)

# ansible-core 2.19+ (data tagging, where trust_as_template appeared) templates no inventory value unless a
# plugin marks it trusted, and libvirt's values never are: wrapping them as unsafe is needed only before 2.19.
UNTRUSTED_BY_DEFAULT = hasattr(ansible_template, "trust_as_template")

display = Display()
MAX_READERS = 16  # hypervisors read at the same time


def read_side_by_side(hypervisors: t.Sequence[LibvirtKnowledge], chain: Chain) -> t.List[t.Dict[str, t.Any]]:
    """Every hypervisor's record, in their order, read at the same time: a read mostly waits on its own libvirtd
    (which formats each domain's XML), so several hypervisors take about as long as the slowest one. Each thread
    has its hypervisor's connection and its own per-pass memo."""
    if len(hypervisors) < 2:
        return [read_hypervisor(k, chain) for k in hypervisors]
    with concurrent.futures.ThreadPoolExecutor(min(len(hypervisors), MAX_READERS)) as pool:
        return list(pool.map(lambda k: read_hypervisor(k, dataclasses.replace(chain, memo={})), hypervisors))


def read_hypervisor(knowledge: LibvirtKnowledge, chain: Chain) -> t.Dict[str, t.Any]:
    """One hypervisor's record: plain data, what the cache stores and ``populate`` reads."""
    conn = knowledge.client.conn
    domains = []
    for view in knowledge.domains():
        found = resolve(view.uuid, [knowledge], chain)
        domains.append(
            {
                "libvirt_name": view.name,
                "libvirt_uuid": view.uuid,
                "libvirt_state": view.state,
                "libvirt_active": view.active,
                "libvirt_vcpus": view.vcpus,
                "libvirt_memory": view.memory,
                "libvirt_macs": [nic.mac for nic in view.nics],
                "libvirt_interfaces": [
                    {"mac": n.mac, "type": n.kind, "network": n.network, "bridge": n.bridge, "device": n.device}
                    for n in view.nics
                ],
                "libvirt_addresses": [a.to_dict() for a in found.addresses],
                "libvirt_metadata": dict(view.metadata),
            }
        )
    return {"uri": knowledge.uri, "hostname": conn.getHostname(), "domains": domains}


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "sharedvirt.kvm.libvirt"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith((".libvirt.yml", ".libvirt.yaml"))

    def parse(self, inventory: t.Any, loader: t.Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        records = None
        if use_cache:
            try:
                records = self._cache[key]
            except KeyError:
                records = None
        if records is None:
            records = self.read_all()
            if self.get_option("cache"):
                self._cache[key] = records
        self.populate(records)

    def read_all(self) -> t.List[t.Dict[str, t.Any]]:
        """Records of every hypervisor; an unreachable one becomes a record with ``error``."""
        opt = self.get_option
        chain = Chain(sources=opt("sources"), family=opt("family"), first=False, probe=opt("probe"))
        with ansible_errors(AnsibleParserError):
            opened = open_hypervisors(
                opt("uri"),
                opt("connect_timeout"),
                "agent" in chain.sources,
                opt("probe_max_addresses"),
                opt("probe_rate"),
                opt("neighbours"),
            )
            try:
                records = read_side_by_side(opened.knowledge, chain)
            finally:
                opened.close()
        return records + [{"uri": uri, "error": why} for uri, why in opened.unreachable.items()]

    def populate(self, records: t.Sequence[t.Mapping[str, t.Any]]) -> None:
        """Hosts, variables and groups from hypervisor records (no libvirt here: cached runs use it too)."""
        strict = self.get_option("strict")
        expression = self._filter()
        chosen: t.Dict[str, t.Dict[str, t.Any]] = {}
        for record in records:
            if record.get("error"):
                if strict:
                    raise AnsibleParserError(f"libvirt inventory: {record['error']}")
                display.warning(f"libvirt inventory: skipping {record['uri']}: {record['error']}")
                continue
            for domain in record["domains"]:
                hostvars = dict(
                    domain,
                    libvirt_hypervisor=record["uri"],
                    libvirt_hypervisor_hostname=record["hostname"],
                )
                if expression is not None and not expression.search(hostvars):
                    continue
                name = hostvars["libvirt_uuid" if self.get_option("hostname") == "uuid" else "libvirt_name"]
                chosen[name] = _prefer(chosen.get(name), hostvars)
        for name, hostvars in chosen.items():
            self._add(name, hostvars, strict)

    def _filter(self) -> t.Any:
        text = self.get_option("filter")
        if not text:
            return None
        try:
            import jmespath  # only here: an inventory without a filter does not pay for the import
        except ImportError:
            raise AnsibleParserError("libvirt inventory: the filter option needs the jmespath Python library") from None
        try:
            return jmespath.compile(text)
        except jmespath.exceptions.JMESPathError as err:
            raise AnsibleParserError(f"libvirt inventory: filter {text!r} is not valid JMESPath: {err}") from None

    def _add(self, name: str, hostvars: t.Mapping[str, t.Any], strict: bool) -> None:
        self.inventory.add_host(name)
        variables = dict(hostvars) if UNTRUSTED_BY_DEFAULT else {k: make_unsafe(v) for k, v in hostvars.items()}
        addresses = variables["libvirt_addresses"]
        if addresses:
            variables["ansible_host"] = addresses[0]["ip"]
        for key, value in variables.items():
            self.inventory.set_variable(name, key, value)
        for group in self._default_groups(hostvars):
            self.inventory.add_group(group)
            self.inventory.add_child(group, name)
        self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)

    def _default_groups(self, hostvars: t.Mapping[str, t.Any]) -> t.List[str]:
        groups = [f"hypervisor_{hostvars['libvirt_hypervisor_hostname']}", f"state_{hostvars['libvirt_state']}"]
        if self.get_option("metadata_groups"):
            groups += [f"{key}_{value}" for key, value in sorted(hostvars["libvirt_metadata"].items())]
        # Host names and metadata values hold '-' and '.'; group names are Python identifiers.
        return [re.sub(r"[^A-Za-z0-9_]", "_", group) for group in groups]


def _prefer(current: t.Optional[t.Dict[str, t.Any]], candidate: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    """Of two domains with one host name (a stopped copy left after a migration), the running one."""
    if current is None:
        return candidate
    keep, drop = (
        (candidate, current) if candidate["libvirt_active"] and not current["libvirt_active"] else (current, candidate)
    )
    display.warning(
        f"libvirt inventory: {keep['libvirt_name']} exists on {current['libvirt_hypervisor']} and "
        f"{candidate['libvirt_hypervisor']}; using the one on {keep['libvirt_hypervisor']} "
        f"({keep['libvirt_state']}), not the one on {drop['libvirt_hypervisor']} ({drop['libvirt_state']})"
    )
    return keep
