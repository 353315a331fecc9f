"""Resource limits of a domain: CPU shares and bandwidth (cputune), memory limits (memtune), block I/O weight
(blkiotune) and each disk's I/O throttling (iotune). All apply to a running guest live (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.errors import SpecError
from .._core.spec import Spec, in_range, option
from .._core.units import from_libvirt, to_bytes
from .._core.xmlutil import child, set_text

MAX_QUOTA = 17592186044415  # libvirt's largest CFS quota, in microseconds
# The cputune bandwidth fields and the scheduler parameter libvirt sets each with.
SCHEDULER = {
    "shares": "cpu_shares",
    "period": "vcpu_period",
    "quota": "vcpu_quota",
    "emulator_period": "emulator_period",
    "emulator_quota": "emulator_quota",
    "global_period": "global_period",
    "global_quota": "global_quota",
}
MEMTUNE = ("hard_limit", "soft_limit", "swap_hard_limit", "min_guarantee")


def cfs_quota(value: t.Any, path: str) -> int:
    """A CFS quota in microseconds: -1 (no limit) or 1000 up to libvirt's maximum."""
    number = in_range(-1, MAX_QUOTA)(value, path)
    if 0 <= number < 1000:
        raise SpecError(path, f"{number} is below 1000 microseconds; give at least 1000, or -1 for no limit")
    return number


def cfs_period(value: t.Any, path: str) -> int:
    """A CFS period in microseconds."""
    return in_range(1000, 1000000)(value, path)


def _memory(value: t.Any, path: str) -> int:
    return to_bytes(value, path, default_unit="KiB")


def _rate(value: t.Any, path: str) -> int:
    """Bytes per second (``2MiB`` means 2 MiB/s); 0 for no limit."""
    return to_bytes(value, path, default_unit="B")


def _count(value: t.Any, path: str) -> int:
    return in_range(0, 2**53)(value, path)


@dataclasses.dataclass
class MemtuneSpec(Spec):
    """Memory limits of the QEMU process (bytes)."""

    hard_limit: t.Optional[int] = option(normalize=_memory, live=True)
    soft_limit: t.Optional[int] = option(normalize=_memory, live=True)
    swap_hard_limit: t.Optional[int] = option(normalize=_memory, live=True)
    min_guarantee: t.Optional[int] = option(normalize=_memory, live=True)


@dataclasses.dataclass
class BlkiotuneSpec(Spec):
    weight: t.Optional[int] = option(normalize=in_range(100, 1000), live=True)


@dataclasses.dataclass
class IotuneSpec(Spec):
    """A disk's I/O throttling in QEMU: bytes and operations per second, total or per direction, each with a
    burst (``*_max``) and how long the burst may last (``*_max_length``, seconds). 0 is no limit."""

    total_bytes_sec: t.Optional[int] = option(normalize=_rate, live=True)
    read_bytes_sec: t.Optional[int] = option(normalize=_rate, live=True)
    write_bytes_sec: t.Optional[int] = option(normalize=_rate, live=True)
    total_iops_sec: t.Optional[int] = option(normalize=_count, live=True)
    read_iops_sec: t.Optional[int] = option(normalize=_count, live=True)
    write_iops_sec: t.Optional[int] = option(normalize=_count, live=True)
    total_bytes_sec_max: t.Optional[int] = option(normalize=_rate, live=True)
    read_bytes_sec_max: t.Optional[int] = option(normalize=_rate, live=True)
    write_bytes_sec_max: t.Optional[int] = option(normalize=_rate, live=True)
    total_iops_sec_max: t.Optional[int] = option(normalize=_count, live=True)
    read_iops_sec_max: t.Optional[int] = option(normalize=_count, live=True)
    write_iops_sec_max: t.Optional[int] = option(normalize=_count, live=True)
    total_bytes_sec_max_length: t.Optional[int] = option(normalize=_count, live=True)
    read_bytes_sec_max_length: t.Optional[int] = option(normalize=_count, live=True)
    write_bytes_sec_max_length: t.Optional[int] = option(normalize=_count, live=True)
    total_iops_sec_max_length: t.Optional[int] = option(normalize=_count, live=True)
    read_iops_sec_max_length: t.Optional[int] = option(normalize=_count, live=True)
    write_iops_sec_max_length: t.Optional[int] = option(normalize=_count, live=True)

    def validate(self, path: str) -> None:
        for kind in ("bytes", "iops"):
            total = getattr(self, f"total_{kind}_sec")
            split = getattr(self, f"read_{kind}_sec") or getattr(self, f"write_{kind}_sec")
            if total and split:
                raise SpecError(f"{path}.total_{kind}_sec", f"QEMU takes a total or read/write {kind} limits, not both")

    @classmethod
    def absent(cls) -> IotuneSpec:
        """A disk without <iotune> has no limits: a declared 0 matches it."""
        return cls(**{f.name: 0 for f in dataclasses.fields(cls)})

    def settings(self) -> t.Dict[str, int]:
        """The set limits, as virDomainSetBlockIoTune takes them."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}


def _ints(node: t.Optional[ET.Element], names: t.Iterable[str]) -> t.Dict[str, int]:
    return {name: int(node.findtext(name) or 0) for name in names} if node is not None else {}


def read_scheduler(cputune: t.Optional[ET.Element]) -> t.Dict[str, int]:
    """The cputune bandwidth values the definition has (shares, period, quota...)."""
    found = {}
    for name in SCHEDULER:
        text = None if cputune is None else cputune.findtext(name)
        if text:
            found[name] = int(text)
    return found


def read_memtune(node: t.Optional[ET.Element]) -> MemtuneSpec:
    found = {}
    for name in MEMTUNE:
        limit = None if node is None else node.find(name)
        if limit is not None:
            found[name] = from_libvirt(limit.text, limit.get("unit"))
    return MemtuneSpec(**found)


def read_blkiotune(node: t.Optional[ET.Element]) -> BlkiotuneSpec:
    weight = None if node is None else node.findtext("weight")
    return BlkiotuneSpec(weight=int(weight) if weight else None)


def read_iotune(disk: ET.Element) -> t.Optional[IotuneSpec]:
    """A disk's throttling, each limit 0 where it has none; None for a disk without <iotune>."""
    node = disk.find("iotune")
    return None if node is None else IotuneSpec(**_ints(node, [f.name for f in dataclasses.fields(IotuneSpec)]))


def render_scheduler(cputune: ET.Element, values: t.Mapping[str, t.Optional[int]]) -> None:
    for name in SCHEDULER:
        value = values.get(name)
        if value is not None:
            set_text(cputune, name, str(value))


def render_memtune(root: ET.Element, spec: MemtuneSpec) -> None:
    node = child(root, "memtune")
    for name in MEMTUNE:
        value = getattr(spec, name)
        if value is not None:
            limit = child(node, name)
            limit.set("unit", "KiB")
            limit.text = str(value // 1024)
    if not list(node):
        root.remove(node)


def render_blkiotune(root: ET.Element, spec: BlkiotuneSpec) -> None:
    if spec.weight is not None:
        set_text(child(root, "blkiotune"), "weight", str(spec.weight))


def render_iotune(disk: ET.Element, spec: IotuneSpec) -> None:
    """<iotune> with the non-zero limits (libvirt drops zeros: no limit)."""
    limits = {name: value for name, value in spec.settings().items() if value}
    if limits:
        node = ET.SubElement(disk, "iotune")
        for name, value in limits.items():
            ET.SubElement(node, name).text = str(value)
