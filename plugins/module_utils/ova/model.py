"""What an OVF descriptor says about its virtual machine, as a domain declaration (pure).

Only what maps cleanly is read: the name, CPUs, memory, disks (with the file each comes from) and NICs (with
the network name, which becomes a libvirt network of that name). Everything else is left for the user to
review - the declaration is a starting point, returned, never applied.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import re
import typing as t

from .._core.errors import SpecError
from .._core.xmlutil import parse_xml

OVF = "http://schemas.dmtf.org/ovf/envelope/1"
RASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
CPU, MEMORY, ETHERNET, DISK = "3", "4", "10", "17"
# VMware's NIC models and what a KVM guest gets instead (virtio needs drivers a VMware guest may lack).
NIC_MODELS = {"e1000": "e1000", "e1000e": "e1000e", "vmxnet3": "virtio", "pcnet32": "pcnet"}
TARGETS = [f"vd{chr(ord('a') + i)}" for i in range(26)]


@dataclasses.dataclass(frozen=True)
class OvfDisk:
    file: str  # the member of the OVA
    capacity: int  # bytes


@dataclasses.dataclass(frozen=True)
class OvfMachine:
    name: str
    vcpus: int
    memory: int  # bytes
    disks: t.Tuple[OvfDisk, ...]
    networks: t.Tuple[t.Tuple[str, str], ...]  # (network name, NIC model)


def _attr(node: t.Any, name: str) -> str:
    return str(node.get(f"{{{OVF}}}{name}") or "")


def _units(text: str) -> int:
    """``byte * 2^20`` (or ``MegaBytes``) -> the multiplier."""
    power = re.search(r"2\s*\^\s*(\d+)", text or "")
    if power:
        return 2 ** int(power.group(1))
    return {"": 1, "byte": 1, "kilobytes": 2**10, "megabytes": 2**20, "gigabytes": 2**30}.get(text.strip().lower(), 1)


def read_ovf(text: str) -> OvfMachine:
    root = parse_xml(text, "OVF descriptor")
    files = {_attr(f, "id"): _attr(f, "href") for f in root.iterfind(f"{{{OVF}}}References/{{{OVF}}}File")}
    disks = {
        _attr(d, "diskId"): OvfDisk(files.get(_attr(d, "fileRef"), ""),
                                    int(_attr(d, "capacity") or 0) * _units(_attr(d, "capacityAllocationUnits")))
        for d in root.iterfind(f"{{{OVF}}}DiskSection/{{{OVF}}}Disk")
    }  # fmt: skip
    system = root.find(f"{{{OVF}}}VirtualSystem")
    if system is None:
        raise SpecError("src", "the OVF has no VirtualSystem (an OVA of several machines is not imported)")
    name = system.findtext(f"{{{OVF}}}Name") or _attr(system, "id")
    vcpus, memory, used, networks = 1, 0, [], []
    for item in system.iterfind(f"{{{OVF}}}VirtualHardwareSection/{{{OVF}}}Item"):
        kind = item.findtext(f"{{{RASD}}}ResourceType") or ""
        quantity = int(item.findtext(f"{{{RASD}}}VirtualQuantity") or 0)
        if kind == CPU:
            vcpus = max(quantity, 1)
        elif kind == MEMORY:
            memory = quantity * _units(item.findtext(f"{{{RASD}}}AllocationUnits") or "byte * 2^20")
        elif kind == DISK:
            ref = (item.findtext(f"{{{RASD}}}HostResource") or "").rsplit("/", 1)[-1]
            if ref in disks:
                used.append(disks[ref])
        elif kind == ETHERNET:
            model = (item.findtext(f"{{{RASD}}}ResourceSubType") or "").lower()
            networks.append((item.findtext(f"{{{RASD}}}Connection") or "default", NIC_MODELS.get(model, "virtio")))
    for disk in used:
        safe_member(disk.file)
    return OvfMachine(name, vcpus, memory, tuple(used), tuple(networks))


def safe_member(name: str) -> str:
    """A disk file name the OVF may reference: a plain name inside the archive, never a path out of it."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or name.startswith("-"):
        raise SpecError("src", f"the OVF references the file {name!r}; only plain file names inside the OVA are read")
    return name


def declaration(machine: OvfMachine, pool: str, volumes: t.Sequence[str], fmt: str) -> t.Dict[str, t.Any]:
    """Options for sharedvirt.kvm.domain: the machine with its disks on the imported volumes."""
    return {
        "name": machine.name,
        "vcpus": machine.vcpus,
        "memory": f"{machine.memory // 2**20}MiB" if machine.memory else "1GiB",
        "disks": [
            {"target": target, "format": fmt, "source": {"pool": pool, "volume": volume}}
            for target, volume in zip(TARGETS, volumes)
        ],
        "interfaces": [{"source": {"network": network}, "model": model} for network, model in machine.networks],
    }
