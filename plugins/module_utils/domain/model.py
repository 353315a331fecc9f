"""DomainSpec: one KVM guest, parsed from libvirt's persistent XML and rendered back into it.

Rendering never starts from scratch for an existing domain: ``render(base)`` changes the set fields
inside libvirt's own XML, so everything the collection does not model (controllers, video, input,
libvirt's generated addresses and aliases) stays as libvirt wrote it.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import copy
import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.cpuset import parse_cpuset
from .._core.errors import SpecError
from .._core.names import validate_name
from .._core.spec import XmlSpec, in_range, join_path, option
from .._core.units import from_libvirt, to_bytes
from .._core.xmlutil import child, element, parse_xml, set_size, set_text, sub, text_of, toggle
from .cluster_model import CLUSTER_NS, ClusterPolicy, read_cluster_policy, write_cluster_policy
from .device_list_model import disk_key, mac_key, render_device_list
from .device_model import DiskSpec, GraphicsSpec, InterfaceSpec, SerialSpec
from .firmware_model import read_firmware, read_secure_boot, render_firmware
from .hostdev_model import HostdevSpec, hostdev_key
from .limits_model import (
    BlkiotuneSpec,
    MemtuneSpec,
    read_blkiotune,
    read_memtune,
    render_blkiotune,
    render_memtune,
)
from .metadata_model import (
    METADATA_NS,
    SHARED_DISKS_NS,
    read_metadata,
    read_shared_disks,
    write_metadata,
    write_shared_disks,
)
from .platform_model import (
    ClockSpec,
    HypervSpec,
    InputSpec,
    TpmSpec,
    VideoSpec,
    platform_given,
    read_platform,
    render_platform,
)
from .single_devices_model import (
    WatchdogSpec,
    agent_channel,
    read_lease,
    read_watchdog,
    render_agent,
    render_balloon,
    render_lease,
    render_watchdog,
)
from .tuning_model import (
    CpuSpec,
    CputuneSpec,
    MemoryBackingSpec,
    int_or_none,
    read_cpu,
    read_cputune,
    read_memory_backing,
    render_cpu,
    render_cputune,
    render_memory_backing,
    render_vcpus,
)

# libvirt stores the versioned machine type; the short names users write are aliases of them.
MACHINE_ALIASES = {"pc": "pc-i440fx-", "q35": "pc-q35-"}


# QEMU's largest x86 guests (q35 with x2APIC); libvirt refuses more, a negative count crashed libvirtd.
MAX_VCPUS = 4096
# 16 TiB of guest memory: more than any host offers, far below what overflows libvirt's KiB counters.
MAX_MEMORY = 16 * 2**40


def _mib(value: t.Any, path: str) -> int:
    size = to_bytes(value, path, default_unit="MiB")
    if not 2**20 <= size <= MAX_MEMORY:
        raise SpecError(path, f"{size} bytes is out of range; give 1MiB to 16TiB")
    return size


def _name(value: t.Any, path: str) -> str:
    return validate_name(value, path, "domain")


def _lease_dir(value: t.Any, path: str) -> str:
    text = str(value)
    if text and (not text.startswith("/") or ".." in text.split("/") or any(ord(c) < 32 for c in text)):
        raise SpecError(path, f"{text!r} is not an absolute directory path (or '' for no lease)")
    return text.rstrip("/") or ("/" if text else "")


def machine_matches(wanted: str, actual: t.Optional[str]) -> bool:
    """True when actual (libvirt's expanded machine type) is what wanted asks for."""
    if actual is None:
        return False
    prefix = MACHINE_ALIASES.get(wanted)
    return actual == wanted or (prefix is not None and actual.startswith(prefix))


@dataclasses.dataclass
class DomainSpec(XmlSpec):
    """A guest as declared: every field None is left as libvirt has it."""

    name: t.Optional[str] = option(normalize=_name)
    uuid: t.Optional[str] = option(generated=True)
    type: t.Optional[str] = option()
    title: t.Optional[str] = option(live=True)
    description: t.Optional[str] = option(live=True)
    metadata: t.Optional[t.Dict[str, str]] = option(live=True)
    cluster: t.Optional[ClusterPolicy] = option(spec=ClusterPolicy, live=True)
    memory: t.Optional[int] = option(normalize=_mib)
    current_memory: t.Optional[int] = option(normalize=_mib, live=True)
    max_memory: t.Optional[int] = option(normalize=_mib)
    max_memory_slots: t.Optional[int] = option(normalize=in_range(0, 256))
    vcpus: t.Optional[int] = option(normalize=in_range(1, MAX_VCPUS), live=True)
    max_vcpus: t.Optional[int] = option(normalize=in_range(1, MAX_VCPUS))
    iothreads: t.Optional[int] = option(normalize=in_range(0, 256))
    cpu: t.Optional[CpuSpec] = option(spec=CpuSpec)
    cputune: t.Optional[CputuneSpec] = option(spec=CputuneSpec)
    memory_backing: t.Optional[MemoryBackingSpec] = option(spec=MemoryBackingSpec)
    memtune: t.Optional[MemtuneSpec] = option(spec=MemtuneSpec, live=True)
    blkiotune: t.Optional[BlkiotuneSpec] = option(spec=BlkiotuneSpec, live=True)
    memballoon: t.Optional[str] = option()
    arch: t.Optional[str] = option()
    machine: t.Optional[str] = option()
    firmware: t.Optional[str] = option()
    secure_boot: t.Optional[bool] = option()
    kernel: t.Optional[str] = option()
    initrd: t.Optional[str] = option()
    cmdline: t.Optional[str] = option()
    boot: t.Optional[t.List[str]] = option()
    disks: t.Optional[t.List[DiskSpec]] = option(spec=DiskSpec, many=True, live=True)
    interfaces: t.Optional[t.List[InterfaceSpec]] = option(spec=InterfaceSpec, many=True, live=True)
    hostdevs: t.Optional[t.List[HostdevSpec]] = option(spec=HostdevSpec, many=True)
    graphics: t.Optional[t.List[GraphicsSpec]] = option(spec=GraphicsSpec, many=True)
    serial: t.Optional[SerialSpec] = option(spec=SerialSpec)
    guest_agent: t.Optional[bool] = option()
    # The directory (on storage every hypervisor of the cluster sees) of the domain's lock manager lease.
    lease: t.Optional[str] = option(normalize=_lease_dir)
    watchdog: t.Optional[WatchdogSpec] = option(spec=WatchdogSpec)
    # What the guest OS sees of its platform (Windows guests: Hyper-V enlightenments, localtime, a USB tablet).
    hyperv: t.Optional[HypervSpec] = option(spec=HypervSpec)
    clock: t.Optional[ClockSpec] = option(spec=ClockSpec)
    inputs: t.Optional[t.List[InputSpec]] = option(spec=InputSpec, many=True, extra="keep")
    video: t.Optional[VideoSpec] = option(spec=VideoSpec)
    tpm: t.Optional[TpmSpec] = option(spec=TpmSpec)
    # Set by shared_disk only; carried over (never compared) for everyone else.
    shared_disks: t.Optional[t.List[str]] = option(generated=True)

    # Fields whose change cannot be applied by redefining: the domain must be recreated.
    IMMUTABLE: t.ClassVar[t.Tuple[str, ...]] = ("type", "arch", "machine", "firmware", "secure_boot")

    def validate(self, path: str) -> None:
        memory = self.memory
        if memory is not None and self.current_memory is not None and self.current_memory > memory:
            raise SpecError(join_path(path, "current_memory"), "is larger than memory; the balloon cannot exceed it")
        if memory is not None and self.max_memory is not None and memory > self.max_memory:
            raise SpecError(join_path(path, "memory"), "is larger than max_memory; raise max_memory or lower memory")
        if self.vcpus is not None and self.max_vcpus is not None and self.vcpus > self.max_vcpus:
            raise SpecError(join_path(path, "vcpus"), f"{self.vcpus} is more than max_vcpus {self.max_vcpus}")
        if self.secure_boot is not None and self.firmware != "efi":
            raise SpecError(join_path(path, "secure_boot"), "is a UEFI setting: set firmware=efi with it")
        _unique(path, "disks", [d.target for d in self.disks or []])
        _unique(path, "interfaces", [i.mac for i in self.interfaces or [] if i.mac])
        pins = (self.cputune.vcpupin if self.cputune else None) or []
        limit = self.max_vcpus or self.vcpus
        for i, pin in enumerate(pins):
            if pin.vcpu is None or pin.cpuset is None:
                raise SpecError(join_path(path, f"cputune.vcpupin[{i}]"), "needs both vcpu and cpuset")
            if limit is not None and pin.vcpu >= limit:
                raise SpecError(join_path(path, f"cputune.vcpupin[{i}].vcpu"), f"{pin.vcpu} is not below {limit} vCPUs")
        for i, io_pin in enumerate((self.cputune.iothreadpin if self.cputune else None) or []):
            if self.iothreads is not None and (io_pin.iothread or 0) > self.iothreads:
                where = join_path(path, f"cputune.iothreadpin[{i}].iothread")
                raise SpecError(where, f"{io_pin.iothread} is not one of the {self.iothreads} IOThreads (iothreads)")

    def host_cpus_used(self) -> t.List[int]:
        """Every host CPU this spec pins to (to check against the host)."""
        tune = self.cputune
        if tune is None:
            return []
        pins: t.List[t.Any] = [*(tune.vcpupin or []), *(tune.iothreadpin or [])]
        sets = [p.cpuset for p in pins if p.cpuset]
        sets += [tune.emulatorpin] if tune.emulatorpin else []
        return sorted({cpu for s in sets for cpu in parse_cpuset(s)})

    @classmethod
    def from_element(cls, root: ET.Element) -> DomainSpec:
        vcpu = root.find("vcpu")
        os_el = root.find("os")
        os_type = None if os_el is None else os_el.find("type")
        memory = root.find("memory")
        current = root.find("currentMemory")
        max_mem = root.find("maxMemory")
        devices = root.find("devices")
        if devices is None:
            devices = ET.Element("devices")
        balloon = devices.find("memballoon")
        serial = devices.find("serial")
        return cls(
            name=text_of(root, "name"),
            uuid=text_of(root, "uuid"),
            type=root.get("type"),
            title=root.findtext("title"),
            description=root.findtext("description"),
            metadata=read_metadata(root),
            cluster=read_cluster_policy(root),
            memory=None if memory is None else from_libvirt(memory.text, memory.get("unit")),
            current_memory=None if current is None else from_libvirt(current.text, current.get("unit")),
            max_memory=None if max_mem is None else from_libvirt(max_mem.text, max_mem.get("unit")),
            max_memory_slots=None if max_mem is None else int_or_none(max_mem.get("slots")),
            vcpus=None if vcpu is None else int(vcpu.get("current") or vcpu.text or 1),
            max_vcpus=None if vcpu is None else int(vcpu.text or 1),
            iothreads=int(root.findtext("iothreads") or 0),
            cpu=read_cpu(root.find("cpu")),
            cputune=read_cputune(root.find("cputune")),
            memory_backing=read_memory_backing(root.find("memoryBacking")),
            memtune=read_memtune(root.find("memtune")),
            blkiotune=read_blkiotune(root.find("blkiotune")),
            memballoon=None if balloon is None else balloon.get("model"),
            arch=None if os_type is None else os_type.get("arch"),
            machine=None if os_type is None else os_type.get("machine"),
            firmware=read_firmware(os_el),
            secure_boot=read_secure_boot(os_el),
            kernel=None if os_el is None else text_of(os_el, "kernel"),
            initrd=None if os_el is None else text_of(os_el, "initrd"),
            cmdline=None if os_el is None else text_of(os_el, "cmdline"),
            boot=[] if os_el is None else [b.get("dev", "") for b in os_el.findall("boot")],
            disks=[DiskSpec.from_element(d) for d in devices.findall("disk")],
            interfaces=[InterfaceSpec.from_element(i) for i in devices.findall("interface")],
            hostdevs=[HostdevSpec.from_element(h) for h in devices.findall("hostdev")],
            graphics=[GraphicsSpec.from_element(g) for g in devices.findall("graphics")],
            serial=None if serial is None else SerialSpec.from_element(serial),
            guest_agent=agent_channel(devices) is not None,
            lease=read_lease(devices),
            watchdog=read_watchdog(devices),
            shared_disks=read_shared_disks(root),
            **read_platform(root),
        )

    @classmethod
    def from_user_xml(cls, text: str, path: str = "xml") -> DomainSpec:
        """Parse a user's XML as a declaration: what the document leaves out stays unset.

        libvirt's own XML is complete, so absence there means "none"; in a declaration it means
        "don't care" and must not be compared.
        """
        root = parse_xml(text, path)
        spec = cls.from_element(root)
        present = {
            "boot": root.find("os/boot") is not None,
            "disks": root.find("devices/disk") is not None,
            "interfaces": root.find("devices/interface") is not None,
            "hostdevs": root.find("devices/hostdev") is not None,
            "graphics": root.find("devices/graphics") is not None,
            "guest_agent": spec.guest_agent is True,
            "cputune": root.find("cputune") is not None,
            "iothreads": root.find("iothreads") is not None,
            "memory_backing": root.find("memoryBacking") is not None,
            "memtune": root.find("memtune") is not None,
            "blkiotune": root.find("blkiotune") is not None,
            "metadata": root.find(f"metadata/{{{METADATA_NS}}}metadata") is not None,
            "cluster": root.find(f"metadata/{{{CLUSTER_NS}}}policy") is not None,
            "shared_disks": root.find(f"metadata/{{{SHARED_DISKS_NS}}}disks") is not None,
            "lease": bool(spec.lease),
            "watchdog": root.find("devices/watchdog") is not None,
            "firmware": root.find("os/loader") is not None or root.find("os[@firmware]") is not None,
            "secure_boot": root.find("os/firmware") is not None or root.find("os/loader") is not None,
            **platform_given(root),
        }
        return spec.replace(**{name: None for name, given in present.items() if not given})

    def to_element(self) -> ET.Element:
        return self.render(None)

    def render(self, base: t.Optional[ET.Element]) -> ET.Element:
        """The domain XML: base (libvirt's XML, or None for a new domain) with the set fields applied."""
        root = copy.deepcopy(base) if base is not None else element("domain", type=self.type or "kvm")
        if base is None:
            _new_domain_skeleton(root)
        self._render_identity(root)
        self._render_memory(root, new=base is None)
        render_vcpus(root, self.vcpus, self.max_vcpus)
        if self.iothreads:
            set_text(root, "iothreads", str(self.iothreads), after=("vcpu",))
        elif self.iothreads == 0:
            toggle(root, "iothreads", False)
        if self.cpu is not None:
            render_cpu(root, self.cpu)
        if self.cputune is not None:
            render_cputune(root, self.cputune)
        if self.memory_backing is not None:
            render_memory_backing(root, self.memory_backing)
        if self.memtune is not None:
            render_memtune(root, self.memtune)
        if self.blkiotune is not None:
            render_blkiotune(root, self.blkiotune)
        _render_os(root, self)
        render_platform(root, self)
        self._render_devices(child(root, "devices"))
        return root

    def _render_identity(self, root: ET.Element) -> None:
        if self.type:
            root.set("type", self.type)
        set_text(root, "name", self.name)
        set_text(root, "title", self.title, after=("name", "uuid"))
        set_text(root, "description", self.description, after=("name", "uuid", "title"))
        if self.metadata is not None:
            write_metadata(root, self.metadata)
        if self.cluster is not None:
            write_cluster_policy(root, self.cluster)
        if self.shared_disks is not None:
            write_shared_disks(root, self.shared_disks)

    def _render_memory(self, root: ET.Element, new: bool) -> None:
        if self.max_memory is not None:
            node = child(root, "maxMemory")
            node.attrib = {"unit": "KiB", "slots": str(self.max_memory_slots or 16)}
            node.text = str(self.max_memory // 1024)
        if self.memory is not None:
            set_size(root, "memory", self.memory)
        if self.current_memory is not None:
            set_size(root, "currentMemory", self.current_memory)
        elif self.memory is not None and new:
            set_size(root, "currentMemory", self.memory)

    def _render_devices(self, devices: ET.Element) -> None:
        self._render_device_lists(devices)
        if self.serial is not None:
            for tag in ("serial", "console"):
                for old in devices.findall(tag):
                    devices.remove(old)
            devices.append(self.serial.to_element())
        if self.guest_agent is not None:
            render_agent(devices, self.guest_agent)
        if self.memballoon is not None:
            render_balloon(devices, self.memballoon)
        if self.lease is not None:
            render_lease(devices, self.name or "", self.lease)
        if self.watchdog is not None:
            render_watchdog(devices, self.watchdog)

    def _render_device_lists(self, devices: ET.Element) -> None:
        """Disks, NICs, displays and host devices: each declared list complete, matched by identity."""
        if self.disks is not None:
            render_device_list(devices, "disk", self.disks, lambda el: el.find("target") is not None and disk_key(el))
            if any(d.bus == "scsi" for d in self.disks) and devices.find("controller[@type='scsi']") is None:
                # Without one, libvirt adds QEMU's default LSI controller, which few guests drive well.
                sub(devices, "controller", type="scsi", index=0, model="virtio-scsi")
        if self.interfaces is not None:
            render_device_list(devices, "interface", self.interfaces, mac_key)
        if self.graphics is not None:
            render_device_list(devices, "graphics", self.graphics, lambda el: el.get("type"))
        if self.hostdevs is not None:
            render_device_list(devices, "hostdev", self.hostdevs, hostdev_key)


def _unique(path: str, field: str, keys: t.List[t.Optional[str]]) -> None:
    seen: t.Set[str] = set()
    for i, key in enumerate(keys):
        if key is None:
            continue
        if key in seen:
            what = "target" if field == "disks" else "mac"
            raise SpecError(join_path(path, f"{field}[{i}].{what}"), f"{key} is used twice in this domain")
        seen.add(key)


def _render_os(root: ET.Element, spec: DomainSpec) -> None:
    os_el = child(root, "os")
    os_type = os_el.find("type")
    if os_type is None:
        os_type = ET.Element("type")
        os_type.text = "hvm"
        os_el.insert(0, os_type)
    if spec.arch:
        os_type.set("arch", spec.arch)
    if spec.machine and not machine_matches(spec.machine, os_type.get("machine")):
        os_type.set("machine", spec.machine)
    render_firmware(os_el, spec.firmware, spec.secure_boot)
    for tag in ("kernel", "initrd", "cmdline"):
        value = getattr(spec, tag)
        if value is not None:
            child(os_el, tag).text = value
    if spec.boot is not None:
        for old in os_el.findall("boot"):
            os_el.remove(old)
        for dev in spec.boot:
            sub(os_el, "boot", dev=dev)


def _new_domain_skeleton(root: ET.Element) -> None:
    # What virt-install gives a new x86 guest: ACPI (power button, PCI hot-plug) and APIC.
    features = sub(root, "features")
    sub(features, "acpi")
    sub(features, "apic")
    os_el = sub(root, "os")
    sub(os_el, "type", "hvm", arch="x86_64")
    sub(root, "on_poweroff", "destroy")
    sub(root, "on_reboot", "restart")
    sub(root, "on_crash", "destroy")
    sub(root, "devices")
