"""CPU model and topology, vCPU and emulator pinning, memory backing: parts of a domain (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.cpuset import normalize_cpuset
from .._core.spec import Spec, in_range, option
from .._core.xmlutil import child, element, text_of, toggle
from .limits_model import SCHEDULER, cfs_period, cfs_quota, read_scheduler, render_scheduler


def int_or_none(value: t.Optional[str]) -> t.Optional[int]:
    return None if value is None else int(value)


@dataclasses.dataclass
class TopologySpec(Spec):
    sockets: t.Optional[int] = option(normalize=in_range(1, 4096))
    dies: t.Optional[int] = option(normalize=in_range(1, 4096))
    cores: t.Optional[int] = option(normalize=in_range(1, 4096))
    threads: t.Optional[int] = option(normalize=in_range(1, 4096))


@dataclasses.dataclass
class CpuSpec(Spec):
    """Guest CPU: mode (host-model, maximum, custom...), model, topology."""

    mode: t.Optional[str] = option()
    model: t.Optional[str] = option()
    topology: t.Optional[TopologySpec] = option(spec=TopologySpec)


@dataclasses.dataclass
class VcpuPinSpec(Spec):
    """One vCPU pinned to a set of host CPUs."""

    IDENTITY = ("vcpu",)

    vcpu: t.Optional[int] = option(normalize=in_range(0, 4095))
    cpuset: t.Optional[str] = option(normalize=normalize_cpuset, live=True)


@dataclasses.dataclass
class IoThreadPinSpec(Spec):
    """One IOThread (numbered from 1) pinned to a set of host CPUs."""

    IDENTITY = ("iothread",)

    iothread: t.Optional[int] = option(normalize=in_range(1, 4096))
    cpuset: t.Optional[str] = option(normalize=normalize_cpuset, live=True)


@dataclasses.dataclass
class CputuneSpec(Spec):
    """CPU affinity: vCPU, emulator and IOThread pinning; all apply live."""

    vcpupin: t.Optional[t.List[VcpuPinSpec]] = option(spec=VcpuPinSpec, many=True, live=True)
    emulatorpin: t.Optional[str] = option(normalize=normalize_cpuset, live=True)
    iothreadpin: t.Optional[t.List[IoThreadPinSpec]] = option(spec=IoThreadPinSpec, many=True, live=True)
    # CPU shares and CFS bandwidth (microseconds) of the vCPUs, the emulator threads and the whole guest.
    shares: t.Optional[int] = option(normalize=in_range(2, 262144), live=True)
    period: t.Optional[int] = option(normalize=cfs_period, live=True)
    quota: t.Optional[int] = option(normalize=cfs_quota, live=True)
    emulator_period: t.Optional[int] = option(normalize=cfs_period, live=True)
    emulator_quota: t.Optional[int] = option(normalize=cfs_quota, live=True)
    global_period: t.Optional[int] = option(normalize=cfs_period, live=True)
    global_quota: t.Optional[int] = option(normalize=cfs_quota, live=True)


MEMORY_BACKING = ("hugepages", "nosharepages", "locked")  # each an empty element under <memoryBacking>


@dataclasses.dataclass
class MemoryBackingSpec(Spec):
    """Hugepages, nosharepages to keep the guest out of KSM, and locked to keep its memory out of swap."""

    hugepages: t.Optional[bool] = option()
    nosharepages: t.Optional[bool] = option()
    locked: t.Optional[bool] = option()


def read_cpu(node: t.Optional[ET.Element]) -> t.Optional[CpuSpec]:
    if node is None:
        return None
    topo = node.find("topology")
    return CpuSpec(
        mode=node.get("mode"),
        model=text_of(node, "model"),
        topology=None
        if topo is None
        else TopologySpec(*(int_or_none(topo.get(k)) for k in ("sockets", "dies", "cores", "threads"))),
    )


def read_cputune(node: t.Optional[ET.Element]) -> t.Optional[CputuneSpec]:
    if node is None:
        return CputuneSpec(vcpupin=[], emulatorpin=None, iothreadpin=[])
    emulator = node.find("emulatorpin")
    return CputuneSpec(
        vcpupin=[
            VcpuPinSpec(int(p.get("vcpu", "0")), normalize_cpuset(p.get("cpuset", ""))) for p in node.findall("vcpupin")
        ],
        emulatorpin=None if emulator is None else normalize_cpuset(emulator.get("cpuset", "")),
        iothreadpin=[
            IoThreadPinSpec(int(p.get("iothread", "1")), normalize_cpuset(p.get("cpuset", "")))
            for p in node.findall("iothreadpin")
        ],
        **read_scheduler(node),
    )


def read_memory_backing(node: t.Optional[ET.Element]) -> MemoryBackingSpec:
    if node is None:
        return MemoryBackingSpec(**{tag: False for tag in MEMORY_BACKING})
    return MemoryBackingSpec(**{tag: node.find(tag) is not None for tag in MEMORY_BACKING})


def render_vcpus(root: ET.Element, vcpus: t.Optional[int], max_vcpus: t.Optional[int]) -> None:
    if vcpus is None and max_vcpus is None:
        return
    node = child(root, "vcpu")
    node.set("placement", node.get("placement", "static"))
    maximum = max_vcpus if max_vcpus is not None else int(node.text or vcpus or 1)
    current = vcpus if vcpus is not None else int(node.get("current") or maximum)
    maximum = max(maximum, current) if max_vcpus is None else maximum
    node.text = str(maximum)
    if current < maximum:
        node.set("current", str(current))
    elif "current" in node.attrib:
        del node.attrib["current"]


def render_cpu(root: ET.Element, cpu: CpuSpec) -> None:
    node = child(root, "cpu")
    if cpu.mode:
        node.set("mode", cpu.mode)
    if cpu.model:
        model = child(node, "model")
        model.text = cpu.model
    if cpu.topology is not None:
        topo = child(node, "topology")
        current = {k: topo.get(k) for k in ("sockets", "dies", "cores", "threads")}
        for key in current:
            value = getattr(cpu.topology, key)
            topo.set(key, str(value if value is not None else current[key] or 1))


def render_cputune(root: ET.Element, tune: CputuneSpec) -> None:
    node = child(root, "cputune")
    if tune.vcpupin is not None:
        for old in node.findall("vcpupin"):
            node.remove(old)
        for i, pin in enumerate(sorted(tune.vcpupin, key=lambda p: p.vcpu or 0)):
            node.insert(i, element("vcpupin", vcpu=pin.vcpu, cpuset=pin.cpuset))
    if tune.emulatorpin is not None:
        child(node, "emulatorpin").set("cpuset", tune.emulatorpin)
    if tune.iothreadpin is not None:
        for old in node.findall("iothreadpin"):
            node.remove(old)
        for io_pin in sorted(tune.iothreadpin, key=lambda p: p.iothread or 0):
            node.append(element("iothreadpin", iothread=io_pin.iothread, cpuset=io_pin.cpuset))
    render_scheduler(node, {name: getattr(tune, name) for name in SCHEDULER})
    if not list(node):
        root.remove(node)


def render_memory_backing(root: ET.Element, backing_spec: MemoryBackingSpec) -> None:
    backing = child(root, "memoryBacking")
    for tag in MEMORY_BACKING:
        value = getattr(backing_spec, tag)
        if value is not None:
            toggle(backing, tag, value)
    if not list(backing):
        root.remove(backing)
