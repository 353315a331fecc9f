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

from .._core.cpuset import normalize_cpuset, parse_cpuset
from .._core.errors import SpecError
from .._core.names import validate_name
from .._core.spec import Spec, XmlSpec, join_path, option
from .._core.units import from_libvirt, to_bytes
from .._core.xmlutil import element, parse_xml, sub, text_of
from .device_model import DiskSpec, GraphicsSpec, InterfaceSpec, SerialSpec

# User key/values live in the collection's own metadata namespace (libvirt keeps one element per
# namespace under <metadata>, and other tools' elements stay untouched).
METADATA_NS = "https://sharedvirt.dev/xmlns/kvm/1.0"
METADATA_PREFIX = "sharedvirt"
# The targets of disks the shared_disk module attached, in a namespace of their own (so the user's
# metadata, the inventory and placement never see them): the domain module leaves those disks alone.
SHARED_DISKS_NS = "https://sharedvirt.dev/xmlns/kvm/shared-disks/1.0"
SHARED_DISKS_PREFIX = "sharedvirt-disks"
AGENT_CHANNEL = "org.qemu.guest_agent.0"
# libvirt stores the versioned machine type; the short names users write are aliases of them.
MACHINE_ALIASES = {"pc": "pc-i440fx-", "q35": "pc-q35-"}
ET.register_namespace(METADATA_PREFIX, METADATA_NS)
ET.register_namespace(SHARED_DISKS_PREFIX, SHARED_DISKS_NS)


def _mib(value: t.Any, path: str) -> int:
    return to_bytes(value, path, default_unit="MiB")


def _name(value: t.Any, path: str) -> str:
    return validate_name(value, path, "domain")


def machine_matches(wanted: str, actual: t.Optional[str]) -> bool:
    """True when actual (libvirt's expanded machine type) is what wanted asks for."""
    if actual is None:
        return False
    prefix = MACHINE_ALIASES.get(wanted)
    return actual == wanted or (prefix is not None and actual.startswith(prefix))


@dataclasses.dataclass
class TopologySpec(Spec):
    sockets: t.Optional[int] = option()
    dies: t.Optional[int] = option()
    cores: t.Optional[int] = option()
    threads: t.Optional[int] = option()


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

    vcpu: t.Optional[int] = option()
    cpuset: t.Optional[str] = option(normalize=normalize_cpuset, live=True)


@dataclasses.dataclass
class CputuneSpec(Spec):
    """CPU affinity: vCPU pinning and the emulator threads' pinning; both apply live."""

    vcpupin: t.Optional[t.List[VcpuPinSpec]] = option(spec=VcpuPinSpec, many=True, live=True)
    emulatorpin: t.Optional[str] = option(normalize=normalize_cpuset, live=True)


@dataclasses.dataclass
class MemoryBackingSpec(Spec):
    """Hugepages, and nosharepages to keep the guest out of KSM."""

    hugepages: t.Optional[bool] = option()
    nosharepages: t.Optional[bool] = option()


@dataclasses.dataclass
class DomainSpec(XmlSpec):
    """A guest as declared: every field None is left as libvirt has it."""

    name: t.Optional[str] = option(normalize=_name)
    uuid: t.Optional[str] = option(generated=True)
    type: t.Optional[str] = option()
    title: t.Optional[str] = option(live=True)
    description: t.Optional[str] = option(live=True)
    metadata: t.Optional[t.Dict[str, str]] = option(live=True)
    memory: t.Optional[int] = option(normalize=_mib)
    current_memory: t.Optional[int] = option(normalize=_mib, live=True)
    max_memory: t.Optional[int] = option(normalize=_mib)
    max_memory_slots: t.Optional[int] = option()
    vcpus: t.Optional[int] = option(live=True)
    max_vcpus: t.Optional[int] = option()
    cpu: t.Optional[CpuSpec] = option(spec=CpuSpec)
    cputune: t.Optional[CputuneSpec] = option(spec=CputuneSpec)
    memory_backing: t.Optional[MemoryBackingSpec] = option(spec=MemoryBackingSpec)
    memballoon: t.Optional[str] = option()
    arch: t.Optional[str] = option()
    machine: t.Optional[str] = option()
    firmware: t.Optional[str] = option()
    kernel: t.Optional[str] = option()
    initrd: t.Optional[str] = option()
    cmdline: t.Optional[str] = option()
    boot: t.Optional[t.List[str]] = option()
    disks: t.Optional[t.List[DiskSpec]] = option(spec=DiskSpec, many=True, live=True)
    interfaces: t.Optional[t.List[InterfaceSpec]] = option(spec=InterfaceSpec, many=True, live=True)
    graphics: t.Optional[t.List[GraphicsSpec]] = option(spec=GraphicsSpec, many=True)
    serial: t.Optional[SerialSpec] = option(spec=SerialSpec)
    guest_agent: t.Optional[bool] = option()
    # Set by shared_disk only; carried over (never compared) for everyone else.
    shared_disks: t.Optional[t.List[str]] = option(generated=True)

    # Fields whose change cannot be applied by redefining: the domain must be recreated.
    IMMUTABLE: t.ClassVar[t.Tuple[str, ...]] = ("type", "arch", "machine", "firmware")

    def validate(self, path: str) -> None:
        memory = self.memory
        if memory is not None and self.current_memory is not None and self.current_memory > memory:
            raise SpecError(join_path(path, "current_memory"), "is larger than memory; the balloon cannot exceed it")
        if memory is not None and self.max_memory is not None and memory > self.max_memory:
            raise SpecError(join_path(path, "memory"), "is larger than max_memory; raise max_memory or lower memory")
        if self.vcpus is not None and self.max_vcpus is not None and self.vcpus > self.max_vcpus:
            raise SpecError(join_path(path, "vcpus"), f"{self.vcpus} is more than max_vcpus {self.max_vcpus}")
        _unique(path, "disks", [d.target for d in self.disks or []])
        _unique(path, "interfaces", [i.mac for i in self.interfaces or [] if i.mac])
        pins = (self.cputune.vcpupin if self.cputune else None) or []
        limit = self.max_vcpus or self.vcpus
        for i, pin in enumerate(pins):
            if pin.vcpu is None or pin.cpuset is None:
                raise SpecError(join_path(path, f"cputune.vcpupin[{i}]"), "needs both vcpu and cpuset")
            if limit is not None and pin.vcpu >= limit:
                raise SpecError(join_path(path, f"cputune.vcpupin[{i}].vcpu"), f"{pin.vcpu} is not below {limit} vCPUs")

    def host_cpus_used(self) -> t.List[int]:
        """Every host CPU this spec pins to (to check against the host)."""
        tune = self.cputune
        if tune is None:
            return []
        sets = [p.cpuset for p in tune.vcpupin or [] if p.cpuset] + ([tune.emulatorpin] if tune.emulatorpin else [])
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
            memory=None if memory is None else from_libvirt(memory.text, memory.get("unit")),
            current_memory=None if current is None else from_libvirt(current.text, current.get("unit")),
            max_memory=None if max_mem is None else from_libvirt(max_mem.text, max_mem.get("unit")),
            max_memory_slots=None if max_mem is None else _int(max_mem.get("slots")),
            vcpus=None if vcpu is None else int(vcpu.get("current") or vcpu.text or 1),
            max_vcpus=None if vcpu is None else int(vcpu.text or 1),
            cpu=_read_cpu(root.find("cpu")),
            cputune=_read_cputune(root.find("cputune")),
            memory_backing=_read_memory_backing(root.find("memoryBacking")),
            memballoon=None if balloon is None else balloon.get("model"),
            arch=None if os_type is None else os_type.get("arch"),
            machine=None if os_type is None else os_type.get("machine"),
            firmware=_read_firmware(os_el),
            kernel=None if os_el is None else text_of(os_el, "kernel"),
            initrd=None if os_el is None else text_of(os_el, "initrd"),
            cmdline=None if os_el is None else text_of(os_el, "cmdline"),
            boot=[] if os_el is None else [b.get("dev", "") for b in os_el.findall("boot")],
            disks=[DiskSpec.from_element(d) for d in devices.findall("disk")],
            interfaces=[InterfaceSpec.from_element(i) for i in devices.findall("interface")],
            graphics=[GraphicsSpec.from_element(g) for g in devices.findall("graphics")],
            serial=None if serial is None else SerialSpec.from_element(serial),
            guest_agent=_agent_channel(devices) is not None,
            shared_disks=read_shared_disks(root),
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
            "graphics": root.find("devices/graphics") is not None,
            "guest_agent": spec.guest_agent is True,
            "cputune": root.find("cputune") is not None,
            "memory_backing": root.find("memoryBacking") is not None,
            "metadata": root.find(f"metadata/{{{METADATA_NS}}}metadata") is not None,
            "shared_disks": root.find(f"metadata/{{{SHARED_DISKS_NS}}}disks") is not None,
            "firmware": root.find("os/loader") is not None or root.find("os[@firmware]") is not None,
        }
        return spec.replace(**{name: None for name, given in present.items() if not given})

    def to_element(self) -> ET.Element:
        return self.render(None)

    def render(self, base: t.Optional[ET.Element]) -> ET.Element:
        """The domain XML: base (libvirt's XML, or None for a new domain) with the set fields applied."""
        root = copy.deepcopy(base) if base is not None else element("domain", type=self.type or "kvm")
        if base is None:
            _new_domain_skeleton(root)
        if self.type:
            root.set("type", self.type)
        _text(root, "name", self.name)
        _text(root, "title", self.title, after=("name", "uuid"))
        _text(root, "description", self.description, after=("name", "uuid", "title"))
        if self.metadata is not None:
            _write_metadata(root, self.metadata)
        if self.shared_disks is not None:
            _write_shared_disks(root, self.shared_disks)
        if self.max_memory is not None:
            sub_el = _child(root, "maxMemory")
            sub_el.attrib = {"unit": "KiB", "slots": str(self.max_memory_slots or 16)}
            sub_el.text = str(self.max_memory // 1024)
        if self.memory is not None:
            _size(root, "memory", self.memory)
        if self.current_memory is not None:
            _size(root, "currentMemory", self.current_memory)
        elif self.memory is not None and base is None:
            _size(root, "currentMemory", self.memory)
        _render_vcpus(root, self.vcpus, self.max_vcpus)
        if self.cpu is not None:
            _render_cpu(root, self.cpu)
        if self.cputune is not None:
            _render_cputune(root, self.cputune)
        if self.memory_backing is not None:
            backing = _child(root, "memoryBacking")
            for tag in ("hugepages", "nosharepages"):
                value = getattr(self.memory_backing, tag)
                if value is not None:
                    _toggle(backing, tag, value)
            if not list(backing):
                root.remove(backing)
        _render_os(root, self)
        devices = _child(root, "devices")
        if self.disks is not None:
            _render_devices(devices, "disk", self.disks, lambda el: el.find("target") is not None and _disk_key(el))
            if any(d.bus == "scsi" for d in self.disks) and devices.find("controller[@type='scsi']") is None:
                # Without one, libvirt adds QEMU's default LSI controller, which few guests drive well.
                sub(devices, "controller", type="scsi", index=0, model="virtio-scsi")
        if self.interfaces is not None:
            _render_devices(devices, "interface", self.interfaces, _mac_key)
        if self.graphics is not None:
            _render_devices(devices, "graphics", self.graphics, lambda el: el.get("type"))
        if self.serial is not None:
            for tag in ("serial", "console"):
                for old in devices.findall(tag):
                    devices.remove(old)
            devices.append(self.serial.to_element())
        if self.guest_agent is not None:
            channel = _agent_channel(devices)
            if self.guest_agent and channel is None:
                channel = sub(devices, "channel", type="unix")
                sub(channel, "target", type="virtio", name=AGENT_CHANNEL)
            elif not self.guest_agent and channel is not None:
                devices.remove(channel)
        if self.memballoon is not None:
            balloon = devices.find("memballoon")
            if balloon is None or balloon.get("model") != self.memballoon:
                if balloon is not None:
                    devices.remove(balloon)
                sub(devices, "memballoon", model=self.memballoon)
        return root


def _unique(path: str, field: str, keys: t.List[t.Optional[str]]) -> None:
    seen: t.Set[str] = set()
    for i, key in enumerate(keys):
        if key is None:
            continue
        if key in seen:
            what = "target" if field == "disks" else "mac"
            raise SpecError(join_path(path, f"{field}[{i}].{what}"), f"{key} is used twice in this domain")
        seen.add(key)


def _int(value: t.Optional[str]) -> t.Optional[int]:
    return None if value is None else int(value)


def read_metadata(root: ET.Element) -> t.Dict[str, str]:
    node = root.find(f"metadata/{{{METADATA_NS}}}metadata")
    if node is None:
        return {}
    return {item.get("key", ""): item.text or "" for item in node.findall(f"{{{METADATA_NS}}}item")}


def metadata_element(values: t.Mapping[str, str]) -> ET.Element:
    """The collection's metadata element (also what virDomainSetMetadata takes)."""
    node = ET.Element(f"{{{METADATA_NS}}}metadata")
    for key in sorted(values):
        item = ET.SubElement(node, f"{{{METADATA_NS}}}item", {"key": key})
        item.text = str(values[key])
    return node


def _write_metadata(root: ET.Element, values: t.Mapping[str, str]) -> None:
    holder = _child(root, "metadata")
    for old in holder.findall(f"{{{METADATA_NS}}}metadata"):
        holder.remove(old)
    if values:
        holder.append(metadata_element(values))
    elif not list(holder):
        root.remove(holder)


def read_shared_disks(root: ET.Element) -> t.List[str]:
    node = root.find(f"metadata/{{{SHARED_DISKS_NS}}}disks")
    return [] if node is None else sorted(target.text or "" for target in node.findall(f"{{{SHARED_DISKS_NS}}}target"))


def _write_shared_disks(root: ET.Element, targets: t.Sequence[str]) -> None:
    holder = _child(root, "metadata")
    for old in holder.findall(f"{{{SHARED_DISKS_NS}}}disks"):
        holder.remove(old)
    if targets:
        node = ET.SubElement(holder, f"{{{SHARED_DISKS_NS}}}disks")
        for target in sorted(set(targets)):
            ET.SubElement(node, f"{{{SHARED_DISKS_NS}}}target").text = target
    elif not list(holder):
        root.remove(holder)


def _read_cpu(node: t.Optional[ET.Element]) -> t.Optional[CpuSpec]:
    if node is None:
        return None
    topo = node.find("topology")
    return CpuSpec(
        mode=node.get("mode"),
        model=text_of(node, "model"),
        topology=None
        if topo is None
        else TopologySpec(*(_int(topo.get(k)) for k in ("sockets", "dies", "cores", "threads"))),
    )


def _read_cputune(node: t.Optional[ET.Element]) -> t.Optional[CputuneSpec]:
    if node is None:
        return CputuneSpec(vcpupin=[], emulatorpin=None)
    emulator = node.find("emulatorpin")
    return CputuneSpec(
        vcpupin=[
            VcpuPinSpec(int(p.get("vcpu", "0")), normalize_cpuset(p.get("cpuset", ""))) for p in node.findall("vcpupin")
        ],
        emulatorpin=None if emulator is None else normalize_cpuset(emulator.get("cpuset", "")),
    )


def _read_memory_backing(node: t.Optional[ET.Element]) -> MemoryBackingSpec:
    if node is None:
        return MemoryBackingSpec(hugepages=False, nosharepages=False)
    return MemoryBackingSpec(
        hugepages=node.find("hugepages") is not None, nosharepages=node.find("nosharepages") is not None
    )


def _read_firmware(os_el: t.Optional[ET.Element]) -> t.Optional[str]:
    if os_el is None:
        return None
    if os_el.get("firmware"):
        return os_el.get("firmware")
    loader = os_el.find("loader")
    return "efi" if loader is not None and loader.get("type") == "pflash" else "bios"


def _agent_channel(devices: ET.Element) -> t.Optional[ET.Element]:
    for channel in devices.findall("channel"):
        target = channel.find("target")
        if target is not None and target.get("name") == AGENT_CHANNEL:
            return channel
    return None


def _child(parent: ET.Element, tag: str) -> ET.Element:
    found = parent.find(tag)
    return found if found is not None else sub(parent, tag)


def _text(root: ET.Element, tag: str, value: t.Optional[str], after: t.Tuple[str, ...] = ()) -> None:
    if value is None:
        return
    node = root.find(tag)
    if node is None:
        node = ET.Element(tag)
        position = max([list(root).index(n) + 1 for n in root if n.tag in after] or [0])
        root.insert(position, node)
    node.text = value


def _size(root: ET.Element, tag: str, size: int) -> None:
    node = _child(root, tag)
    node.attrib = {"unit": "KiB"}
    node.text = str(size // 1024)


def _toggle(parent: ET.Element, tag: str, present: bool) -> None:
    node = parent.find(tag)
    if present and node is None:
        sub(parent, tag)
    elif not present and node is not None:
        parent.remove(node)


def _render_vcpus(root: ET.Element, vcpus: t.Optional[int], max_vcpus: t.Optional[int]) -> None:
    if vcpus is None and max_vcpus is None:
        return
    node = _child(root, "vcpu")
    node.set("placement", node.get("placement", "static"))
    maximum = max_vcpus if max_vcpus is not None else int(node.text or vcpus or 1)
    current = vcpus if vcpus is not None else int(node.get("current") or maximum)
    maximum = max(maximum, current) if max_vcpus is None else maximum
    node.text = str(maximum)
    if current < maximum:
        node.set("current", str(current))
    elif "current" in node.attrib:
        del node.attrib["current"]


def _render_cpu(root: ET.Element, cpu: CpuSpec) -> None:
    node = _child(root, "cpu")
    if cpu.mode:
        node.set("mode", cpu.mode)
    if cpu.model:
        model = _child(node, "model")
        model.text = cpu.model
    if cpu.topology is not None:
        topo = _child(node, "topology")
        current = {k: topo.get(k) for k in ("sockets", "dies", "cores", "threads")}
        for key in current:
            value = getattr(cpu.topology, key)
            topo.set(key, str(value if value is not None else current[key] or 1))


def _render_cputune(root: ET.Element, tune: CputuneSpec) -> None:
    node = _child(root, "cputune")
    if tune.vcpupin is not None:
        for old in node.findall("vcpupin"):
            node.remove(old)
        for i, pin in enumerate(sorted(tune.vcpupin, key=lambda p: p.vcpu or 0)):
            node.insert(i, element("vcpupin", vcpu=pin.vcpu, cpuset=pin.cpuset))
    if tune.emulatorpin is not None:
        _child(node, "emulatorpin").set("cpuset", tune.emulatorpin)
    if not list(node):
        root.remove(node)


def _render_os(root: ET.Element, spec: DomainSpec) -> None:
    os_el = _child(root, "os")
    os_type = os_el.find("type")
    if os_type is None:
        os_type = ET.Element("type")
        os_type.text = "hvm"
        os_el.insert(0, os_type)
    if spec.arch:
        os_type.set("arch", spec.arch)
    if spec.machine and not machine_matches(spec.machine, os_type.get("machine")):
        os_type.set("machine", spec.machine)
    if spec.firmware:
        if spec.firmware == "efi":
            os_el.set("firmware", "efi")
        elif "firmware" in os_el.attrib:
            del os_el.attrib["firmware"]
    for tag in ("kernel", "initrd", "cmdline"):
        value = getattr(spec, tag)
        if value is not None:
            _child(os_el, tag).text = value
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


def _disk_key(el: ET.Element) -> t.Optional[str]:
    target = el.find("target")
    return None if target is None else target.get("dev")


def _mac_key(el: ET.Element) -> t.Optional[str]:
    mac = el.find("mac")
    return None if mac is None else (mac.get("address") or "").lower()


def _render_devices(
    devices: ET.Element,
    tag: str,
    wanted: t.Sequence[t.Union[DiskSpec, InterfaceSpec, GraphicsSpec]],
    key: t.Callable[[ET.Element], t.Any],
) -> None:
    """Make the <tag> devices exactly wanted, keeping libvirt's address/alias of kept devices."""
    existing = {key(el): el for el in devices.findall(tag)}
    keep_keys = set()
    for spec in wanted:
        identity = spec.identity()
        ident = identity[0] if identity else None
        new = spec.to_element()
        old = existing.get(ident) if ident is not None else None
        if old is not None:
            keep_keys.add(ident)
            _keep_unmodelled(old, new, spec.FLAG_TAGS)
            devices.insert(list(devices).index(old), new)
            devices.remove(old)
        else:
            devices.append(new)
    for ident, old in existing.items():
        if ident not in keep_keys:
            devices.remove(old)


def _keep_unmodelled(old: ET.Element, new: ET.Element, flag_tags: t.Tuple[str, ...]) -> None:
    """Carry into ``new`` what the collection does not model: attributes and children of ``old``.

    ``new`` is rendered from the merged spec, so a modelled value missing from it was removed on
    purpose only for the on/off children in ``flag_tags`` (readonly, shareable...).
    """
    for key, value in old.attrib.items():
        new.attrib.setdefault(key, value)
    for child in old:
        twin = new.find(child.tag)
        if twin is None:
            if child.tag not in flag_tags:
                new.append(copy.deepcopy(child))
        else:
            for key, value in child.attrib.items():
                twin.attrib.setdefault(key, value)
