"""How the cluster treats a VM, kept in its definition: HA restart, priority, host drain policy, anti-affinity (pure).

The policy lives in a metadata namespace of its own, so the user's ``metadata`` key/values stay theirs and
every hypervisor that holds the definition reads the same policy. The maintenance module records in a second
namespace where a VM came from when it drained the VM's host, so that a restore can bring it back.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.plan import overlay
from .._core.spec import Spec, choice, in_range, option
from .._core.xmlutil import child

CLUSTER_NS = "https://sharedvirt.dev/xmlns/kvm/cluster/1.0"
CLUSTER_PREFIX = "sharedvirt-cluster"
ORIGIN_NS = "https://sharedvirt.dev/xmlns/kvm/maintenance/1.0"
ORIGIN_PREFIX = "sharedvirt-maintenance"
ET.register_namespace(CLUSTER_PREFIX, CLUSTER_NS)
ET.register_namespace(ORIGIN_PREFIX, ORIGIN_NS)

MAINTENANCE_POLICIES = ("migrate", "shutdown", "stay")
_ATTRIBUTES = {
    "ha": "ha",
    "priority": "priority",
    "maintenance_policy": "maintenance",
    "anti_affinity": "anti-affinity",
    "record_pool": "record-pool",
}


@dataclasses.dataclass
class ClusterPolicy(Spec):
    """Unset fields are the defaults: no HA restart, priority 0, migrate on a drain, no anti-affinity group."""

    ha: t.Optional[bool] = option()
    priority: t.Optional[int] = option(normalize=in_range(0, 1000))
    maintenance_policy: t.Optional[str] = option(normalize=choice(MAINTENANCE_POLICIES))
    anti_affinity: t.Optional[str] = option()
    # The storage pool (seen by every hypervisor) that keeps a copy of the definition for recovery.
    record_pool: t.Optional[str] = option()

    @property
    def drain(self) -> str:
        return self.maintenance_policy or "migrate"


def read_cluster_policy(root: ET.Element) -> ClusterPolicy:
    node = root.find(f"metadata/{{{CLUSTER_NS}}}policy")
    if node is None:
        return ClusterPolicy()
    raw = {field: node.get(attribute) for field, attribute in _ATTRIBUTES.items()}
    return ClusterPolicy(
        ha=None if raw["ha"] is None else raw["ha"] == "yes",
        priority=None if raw["priority"] is None else int(raw["priority"]),
        maintenance_policy=raw["maintenance_policy"],
        anti_affinity=raw["anti_affinity"],
        record_pool=raw["record_pool"],
    )


def cluster_policy_element(policy: ClusterPolicy) -> ET.Element:
    """The policy element (also what virDomainSetMetadata takes)."""
    node = ET.Element(f"{{{CLUSTER_NS}}}policy")
    for field, attribute in _ATTRIBUTES.items():
        value = getattr(policy, field)
        if value is not None:
            node.set(attribute, ("yes" if value else "no") if isinstance(value, bool) else str(value))
    return node


def write_cluster_policy(root: ET.Element, policy: ClusterPolicy) -> None:
    """Set the declared fields over the definition's policy (the others stay as they are)."""
    merged = overlay(read_cluster_policy(root), policy)
    holder = child(root, "metadata")
    for old in holder.findall(f"{{{CLUSTER_NS}}}policy"):
        holder.remove(old)
    holder.append(cluster_policy_element(merged))


@dataclasses.dataclass(frozen=True)
class Origin:
    """Where a drain took the VM from, and what it did: ``migrated`` or ``shutdown``."""

    host: str
    action: str


def read_origin(root: ET.Element) -> t.Optional[Origin]:
    node = root.find(f"metadata/{{{ORIGIN_NS}}}origin")
    if node is None:
        return None
    return Origin(node.get("host", ""), node.get("action", ""))


def origin_element(origin: Origin) -> ET.Element:
    return ET.Element(f"{{{ORIGIN_NS}}}origin", {"host": origin.host, "action": origin.action})
