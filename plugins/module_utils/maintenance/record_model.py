"""The mark a hypervisor carries while it is in maintenance (pure).

The mark is an inactive libvirt network of a reserved name on the hypervisor itself, never started: every
client of the cluster that reads the host - the placement lookup, rebalance, the vm_cluster role, another
controller - sees it over the same libvirt connection it already uses, and it survives a libvirtd restart.
Its metadata says since when and why.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

from .._core.xmlutil import parse_xml, sub

RECORD_NETWORK = "sharedvirt-maintenance"
RECORD_NS = "https://sharedvirt.dev/xmlns/kvm/host/1.0"
ET.register_namespace("sharedvirt-host", RECORD_NS)


@dataclasses.dataclass(frozen=True)
class Record:
    since: str  # ISO 8601, UTC
    reason: str = ""

    def describe(self) -> str:
        return f"in maintenance since {self.since}" + (f" ({self.reason})" if self.reason else "")


def record_xml(record: Record) -> str:
    root = ET.Element("network")
    sub(root, "name", RECORD_NETWORK)
    sub(sub(root, "metadata"), f"{{{RECORD_NS}}}maintenance", since=record.since, reason=record.reason)
    # An isolated bridge that is never brought up: the network is only the mark's carrier.
    sub(root, "bridge", name="svkvm-maint0")
    return ET.tostring(root, encoding="unicode")


def read_record(xml: str) -> Record:
    node = parse_xml(xml, "maintenance record").find(f"metadata/{{{RECORD_NS}}}maintenance")
    if node is None:
        return Record(since="unknown")
    return Record(node.get("since", "unknown"), node.get("reason", ""))
