"""Reads and writes the tier labels of a hypervisor's pools (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import LibvirtClient, libvirt_errors
from .tier_model import TIER_NETWORK, read_tiers, tiers_xml


def host_tiers(client: LibvirtClient) -> t.Dict[str, str]:
    """Pool name -> tier label, on this hypervisor."""
    network = client.network(TIER_NETWORK)
    if network is None:
        return {}
    with libvirt_errors(f"read the pool tiers of {client.uri}"):
        return read_tiers(network.XMLDesc(0))


def set_tier(client: LibvirtClient, pool: str, tier: str) -> None:
    """Label ``pool`` with ``tier``; an empty tier takes the label off (and the carrier goes with the last one)."""
    tiers = host_tiers(client)
    tiers.pop(pool, None)
    if tier:
        tiers[pool] = tier
    with libvirt_errors(f"write the pool tiers of {client.uri}"):
        if tiers:
            client.conn.networkDefineXML(tiers_xml(tiers))
        else:
            network = client.network(TIER_NETWORK)
            if network is not None:
                network.undefine()
