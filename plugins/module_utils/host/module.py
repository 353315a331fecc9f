"""Ansible glue of the host_info module: libvirt's facts, capacity from the one host-load reader, KSM."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.module import LibvirtModule
from ..placement.client import read_host_load
from .client import cpu_flags, domain_type_of, isolated_cpus, ksm_per_guest, pinned_vcpus
from .memory import memory_facts
from .model import capabilities_facts, pin_overlaps, uri_is_local


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
    local = uri_is_local(facts["uri"])
    facts["ksm"] = dict(memory_facts()["ksm"], guests=ksm_per_guest(client)) if local else None
    facts["isolated_cpus"] = isolated_cpus() if local else None
    facts["domain_type"] = domain_type_of(facts, flags)
    facts["pinned_vcpus"] = pinned_vcpus(client)
    facts["pin_overlaps"] = pin_overlaps(facts["pinned_vcpus"])
    if facts["pin_overlaps"] and not module.params.get("allow_shared_pins"):
        for overlap in facts["pin_overlaps"]:
            module.warn(
                f"host CPU {overlap['cpu']} has the pinned vCPUs of {', '.join(overlap['domains'])}: pinned guests "
                "compete for it; pin them apart, or set allow_shared_pins=true if that is meant"
            )
    return {"changed": False, "host": facts}
