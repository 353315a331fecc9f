"""Read what a hypervisor carries (``HostLoad``) for placement and rebalancing."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import LibvirtClient, libvirt_errors, still_there
from .._core.xmlutil import parse_xml
from ..domain.cluster_model import read_cluster_policy
from ..domain.metadata_model import read_metadata
from ..maintenance.record_client import host_record
from .model import GuestLoad, HostLoad

ANTI_AFFINITY_KEY = "anti_affinity"


def _guest_load(dom: t.Any, group_key: str) -> GuestLoad:
    state = dom.info()  # [state, max KiB, current KiB, vCPUs, cpu time]
    root = parse_xml(dom.XMLDesc(0), f"XML of domain {dom.name()!r}")
    policy = read_cluster_policy(root)
    group = policy.anti_affinity or read_metadata(root).get(group_key)
    return GuestLoad(
        name=dom.name(),
        memory=int(state[2]) * 1024,
        vcpus=int(state[3]),
        group=group or None,
        active=bool(dom.isActive()),
        movable=bool(dom.isPersistent()),
        stays=policy.drain == "stay",
    )


def read_host_load(client: LibvirtClient, group_key: str = ANTI_AFFINITY_KEY) -> HostLoad:
    """The host's RAM, CPUs and free memory, and every domain with its memory, vCPUs and group.

    The group is the domain's cluster policy's ``anti_affinity`` (the domain module's ``cluster`` option), else
    the value of ``group_key`` in its sharedvirt metadata (the ``metadata`` option).
    """
    conn = client.conn
    with libvirt_errors(f"read the domains and figures of {client.uri}"):
        info = conn.getInfo()
        guests = still_there(conn.listAllDomains(), lambda dom: _guest_load(dom, group_key))
        memory = int(info[1]) * 2**20
        # Drivers that do not measure free memory report 0; count what the guests do not hold then.
        free = int(conn.getFreeMemory()) or memory - sum(g.memory for g in guests if g.active)
        record = host_record(client)
        guests.sort(key=lambda g: g.name)
        return HostLoad(client.uri, memory, int(info[2]), free, guests, record.describe() if record else None)
