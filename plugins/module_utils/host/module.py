"""Ansible glue of the host_info module: libvirt's facts, capacity from the one host-load reader, KSM."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.module import LibvirtModule
from ..placement.client import read_host_load
from .client import cpu_flags, domain_type_of
from .memory import memory_facts
from .model import capabilities_facts, uri_is_local


def run_host_info(module: LibvirtModule) -> t.Dict[str, t.Any]:
    client = module.client(readonly=True)
    facts = client.host_facts()
    capabilities = facts.pop("capabilities_xml")
    facts.update(capabilities_facts(capabilities))
    load = read_host_load(client)
    facts.update(
        domains=len(load.guests),
        active_domains=sum(1 for g in load.guests if g.active),
        committed_vcpus=load.committed_vcpus,
        committed_memory=load.committed_memory,
    )
    flags = cpu_flags(facts["uri"], capabilities)
    facts["hardware_virtualization"] = flags
    # KSM lives in the hypervisor's /sys: readable only where this code runs on it.
    facts["ksm"] = memory_facts()["ksm"] if uri_is_local(facts["uri"]) else None
    facts["domain_type"] = domain_type_of(facts, flags)
    return {"changed": False, "host": facts}
