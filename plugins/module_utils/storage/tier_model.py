"""Tier labels of a hypervisor's pools (pure).

libvirt's pool XML has no metadata, so the labels live where every client of the host reads them: an inactive
libvirt network of a reserved name on the host, never started, whose metadata maps pool names to tiers.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t
import xml.etree.ElementTree as ET

from .._core.plan import Change, Plan, Step
from .._core.xmlutil import parse_xml, sub

TIER_NETWORK = "sharedvirt-pool-tiers"
TIER_NS = "https://sharedvirt.dev/xmlns/kvm/pool-tiers/1.0"
ET.register_namespace("sharedvirt-tiers", TIER_NS)


def tiers_xml(tiers: t.Mapping[str, str]) -> str:
    root = ET.Element("network")
    sub(root, "name", TIER_NETWORK)
    node = sub(sub(root, "metadata"), f"{{{TIER_NS}}}tiers")
    for pool, tier in sorted(tiers.items()):
        sub(node, f"{{{TIER_NS}}}pool", name=pool, tier=tier)
    sub(root, "bridge", name="svkvm-tiers0")  # never brought up: the network only carries the labels
    return ET.tostring(root, encoding="unicode")


def read_tiers(xml: str) -> t.Dict[str, str]:
    node = parse_xml(xml, "pool tiers").find(f"metadata/{{{TIER_NS}}}tiers")
    if node is None:
        return {}
    return {p.get("name", ""): p.get("tier", "") for p in node.iterfind(f"{{{TIER_NS}}}pool")}


def plan_tier(plan: Plan, pool: str, wanted: t.Optional[str], current: t.Optional[str]) -> None:
    """Label the pool (``wanted``), take its label off (``""``), or leave it (None)."""
    if wanted is None or (wanted or None) == current:
        return
    change = Change("tier", current, wanted or None)
    if wanted:
        plan.add(f"label pool {pool} as tier {wanted!r}", change, step=Step("tier", {"pool": pool, "tier": wanted}))
    else:
        plan.add(f"remove the tier label of pool {pool}", change, step=Step("tier", {"pool": pool, "tier": ""}))
