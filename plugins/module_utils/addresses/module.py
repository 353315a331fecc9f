"""The vm_ip_info module: the vm_ip lookup's resolver, run as a task on the hypervisor (glue)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.errors import CollectionError
from .._core.module import LibvirtModule
from .client import LibvirtKnowledge
from .resolve import Chain, resolve_all


def run_vm_ip_info(module: LibvirtModule) -> t.Dict[str, t.Any]:
    """Addresses per term; a read, so check mode runs it as it is (a probe only fills the neighbour table)."""
    params = module.params
    chain = Chain(sources=params["sources"], family=params["family"], first=False, probe=params["probe"])
    knowledge = LibvirtKnowledge(
        module.client(readonly="agent" not in chain.sources),
        probe_limit=params["probe_max_addresses"],
        probe_rate=params["probe_rate"],
        connect_timeout=params["connect_timeout"],
    )
    wait = params["timeout"] if params["wait"] else 0
    outcomes = resolve_all(params["terms"], [knowledge], chain, wait, params["interval"])
    missing = {o.term: o.message() for o in outcomes if not o.addresses}
    if missing and params["on_missing"] == "error":
        raise CollectionError("\n".join(missing.values()))
    if missing and params["on_missing"] == "warn":
        for message in missing.values():
            module.warn(message)
    return {
        "changed": False,
        "addresses": {o.term: [a.to_dict() for a in o.addresses] for o in outcomes},
        "first": {o.term: o.addresses[0].ip if o.addresses else "" for o in outcomes},
        "missing": missing,
    }
