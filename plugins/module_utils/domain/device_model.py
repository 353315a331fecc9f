"""Domain devices: disks, NICs, graphics. Each parses libvirt's XML and renders its own element.

libvirt-generated children (``<address>``, ``<alias>``, the tap ``<target>``) are not modelled: the domain
renderer keeps them from the existing element when it replaces a device.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.errors import SpecError
from .._core.mac import normalize_mac
from .._core.spec import Spec, XmlSpec, choice, join_path, option
from .._core.xmlutil import element, sub
from .hostdev_model import pci_address, pci_attributes, pci_of
from .limits_model import IotuneSpec, read_iotune, render_iotune

DISK_BUSES = ("virtio", "scsi", "sata", "ide", "usb", "fdc")
CACHE_MODES = ("none", "writethrough", "writeback", "directsync", "unsafe", "default")
NETWORK_PROTOCOLS = ("iscsi", "rbd", "nfs", "gluster", "nbd", "http", "https")


@dataclasses.dataclass
class HostSpec(Spec):
    """A network storage server."""

    name: t.Optional[str] = option()
    port: t.Optional[int] = option()


@dataclasses.dataclass
class SecretRef(Spec):
    """A libvirt secret referenced by usage or UUID."""

    type: t.Optional[str] = option()
    usage: t.Optional[str] = option()
    uuid: t.Optional[str] = option()


@dataclasses.dataclass
class AuthSpec(Spec):
    """Credentials for a network disk: a user name and a libvirt secret."""

    username: t.Optional[str] = option()
    secret: t.Optional[SecretRef] = option(spec=SecretRef)


@dataclasses.dataclass
class DiskSource(Spec):
    """Where a disk's data is: exactly one of file, dev, pool+volume, protocol+name."""

    file: t.Optional[str] = option()
    dev: t.Optional[str] = option()
    pool: t.Optional[str] = option()
    volume: t.Optional[str] = option()
    protocol: t.Optional[str] = option(normalize=choice(NETWORK_PROTOCOLS))
    name: t.Optional[str] = option()
    hosts: t.Optional[t.List[HostSpec]] = option(spec=HostSpec, many=True)
    auth: t.Optional[AuthSpec] = option(spec=AuthSpec)
    # SCSI persistent reservations through libvirt's qemu-pr-helper (block-device LUNs).
    reservations: t.Optional[str] = option(normalize=choice(("managed",)))

    def kind(self) -> t.Optional[str]:
        """The disk type attribute this source implies."""
        if self.file is not None:
            return "file"
        if self.dev is not None:
            return "block"
        if self.pool is not None or self.volume is not None:
            return "volume"
        if self.protocol is not None:
            return "network"
        return None

    def validate(self, path: str) -> None:
        given = [k for k in ("file", "dev", "pool", "protocol") if getattr(self, k) is not None]
        if len(given) > 1:
            raise SpecError(
                path, f"give only one of file, dev, pool+volume or protocol+name, not {' and '.join(given)}"
            )
        if (self.pool is None) != (self.volume is None):
            raise SpecError(path, "pool and volume go together: name the pool and the volume in it")
        if self.protocol is not None and not self.name:
            raise SpecError(join_path(path, "name"), f"a {self.protocol} disk needs the image or LUN name")


# Host cache modes under which a write reaches the storage before the guest sees it done: what another
# domain or host reading the same storage (a shared disk, a migration) needs.
COHERENT_CACHE_MODES = ("none", "directsync")


def check_shareable(fmt: t.Optional[str], cache: t.Optional[str], path: str) -> None:
    """The rules of a disk several domains write: raw, and no host cache that keeps one domain's writes."""
    if fmt not in (None, "raw"):
        raise SpecError(
            join_path(path, "format"),
            f"a {fmt} disk cannot be shared by several domains for writing: QEMU takes an exclusive write lock "
            "on it and libvirt refuses <shareable/> for it; use format=raw (convert the image, or create a new "
            "raw volume)",
        )
    if cache not in COHERENT_CACHE_MODES:
        raise SpecError(
            join_path(path, "cache"),
            f"cache={cache or 'default (writeback)'} lets each domain keep writes the others cannot see; a shared "
            "disk needs cache=none or directsync",
        )


@dataclasses.dataclass
class DiskSpec(XmlSpec):
    """A disk, CD-ROM or LUN; identified by its target device name."""

    IDENTITY = ("target",)
    # Children whose absence means "off": never carried over from the old element.
    FLAG_TAGS = ("readonly", "shareable", "serial", "wwn", "iotune")

    target: t.Optional[str] = option()
    bus: t.Optional[str] = option(normalize=choice(DISK_BUSES))
    device: t.Optional[str] = option(normalize=choice(("disk", "cdrom", "lun")))
    source: t.Optional[DiskSource] = option(spec=DiskSource)
    format: t.Optional[str] = option()
    cache: t.Optional[str] = option(normalize=choice(CACHE_MODES))
    io: t.Optional[str] = option(normalize=choice(("native", "threads", "io_uring")))
    discard: t.Optional[str] = option(normalize=choice(("unmap", "ignore")))
    serial: t.Optional[str] = option()
    wwn: t.Optional[str] = option()
    readonly: t.Optional[bool] = option()
    shareable: t.Optional[bool] = option()
    snapshot: t.Optional[str] = option(normalize=choice(("no", "internal", "external", "manual")))
    iotune: t.Optional[IotuneSpec] = option(spec=IotuneSpec, live=True)

    def validate(self, path: str) -> None:
        if not self.target:
            raise SpecError(join_path(path, "target"), "every disk needs a target device name such as vdb")
        if self.source is None and self.device != "cdrom":
            raise SpecError(join_path(path, "source"), "a disk needs a source: file, dev, pool+volume or protocol+name")
        if self.device == "lun" and self.bus not in (None, "scsi"):
            raise SpecError(join_path(path, "bus"), "a LUN (device=lun) sits on the scsi bus")
        if self.device == "lun" and self.source is not None and self.source.kind() not in ("block", "network"):
            raise SpecError(join_path(path, "device"), "device=lun needs a block device or an iSCSI network source")
        if self.io == "native" and self.cache not in (None, "none", "directsync"):
            raise SpecError(join_path(path, "io"), "io=native needs cache=none or cache=directsync")
        if self.shareable:
            check_shareable(self.format, self.cache, path)

    @classmethod
    def from_element(cls, root: ET.Element) -> DiskSpec:
        driver = root.find("driver")
        target = root.find("target")
        src = root.find("source")
        source = None
        if src is not None:
            auth = src.find("auth")
            secret = None if auth is None else auth.find("secret")
            source = DiskSource(
                file=src.get("file"),
                dev=src.get("dev"),
                pool=src.get("pool"),
                volume=src.get("volume"),
                protocol=src.get("protocol"),
                name=src.get("name"),
                hosts=[HostSpec(h.get("name"), _int(h.get("port"))) for h in src.findall("host")] or None,
                reservations="managed" if src.find("reservations[@managed='yes']") is not None else None,
                auth=None
                if auth is None
                else AuthSpec(
                    auth.get("username"),
                    None if secret is None else SecretRef(secret.get("type"), secret.get("usage"), secret.get("uuid")),
                ),
            )
        return cls(
            target=None if target is None else target.get("dev"),
            bus=None if target is None else target.get("bus"),
            device=root.get("device", "disk"),
            source=source,
            format=None if driver is None else driver.get("type"),
            cache=None if driver is None else driver.get("cache"),
            io=None if driver is None else driver.get("io"),
            discard=None if driver is None else driver.get("discard"),
            serial=root.findtext("serial"),
            wwn=root.findtext("wwn"),
            readonly=root.find("readonly") is not None,
            shareable=root.find("shareable") is not None,
            snapshot=root.get("snapshot"),
            iotune=read_iotune(root),
        )

    def to_element(self) -> ET.Element:
        source = self.source or DiskSource()
        root = element("disk", type=source.kind() or "file", device=self.device or "disk", snapshot=self.snapshot)
        if self.format or self.cache or self.io or self.discard:
            sub(root, "driver", name="qemu", type=self.format, cache=self.cache, io=self.io, discard=self.discard)
        if self.source is not None:
            src = sub(
                root,
                "source",
                file=source.file,
                dev=source.dev,
                pool=source.pool,
                volume=source.volume,
                protocol=source.protocol,
                name=source.name,
            )
            for host in source.hosts or []:
                sub(src, "host", name=host.name, port=host.port)
            if source.reservations == "managed":
                sub(src, "reservations", managed="yes")
            if source.auth is not None:
                auth = sub(src, "auth", username=source.auth.username)
                if source.auth.secret is not None:
                    ref = source.auth.secret
                    sub(auth, "secret", type=ref.type, usage=ref.usage, uuid=ref.uuid)
        sub(root, "target", dev=self.target, bus=self.bus)
        if self.serial:
            sub(root, "serial", self.serial)
        if self.wwn:
            sub(root, "wwn", self.wwn)
        if self.readonly:
            sub(root, "readonly")
        if self.shareable:
            sub(root, "shareable")
        if self.iotune is not None:
            render_iotune(root, self.iotune)
        return root


@dataclasses.dataclass
class InterfaceSource(Spec):
    """What a NIC plugs into: a libvirt network (and portgroup), a host bridge, or a host NIC (direct)."""

    network: t.Optional[str] = option()
    portgroup: t.Optional[str] = option()
    bridge: t.Optional[str] = option()
    dev: t.Optional[str] = option()
    mode: t.Optional[str] = option(normalize=choice(("bridge", "vepa", "private", "passthrough")))
    hostdev: t.Optional[str] = option(normalize=pci_address)  # an SR-IOV virtual function, given to the guest

    def kind(self) -> t.Optional[str]:
        """The interface type attribute this source implies."""
        kinds = {"network": "network", "bridge": "bridge", "dev": "direct", "hostdev": "hostdev"}
        return next((kind for key, kind in kinds.items() if getattr(self, key) is not None), None)

    def validate(self, path: str) -> None:
        given = [k for k in ("network", "bridge", "dev", "hostdev") if getattr(self, k) is not None]
        if len(given) != 1:
            raise SpecError(
                path, "give exactly one of network, bridge, dev (direct attachment to a host NIC) or hostdev (a VF)"
            )


@dataclasses.dataclass
class VlanSpec(Spec):
    """An access VLAN tag (Open vSwitch or a VLAN-capable network)."""

    tag: t.Optional[int] = option()

    def validate(self, path: str) -> None:
        if self.tag is not None and not 1 <= self.tag <= 4094:
            raise SpecError(join_path(path, "tag"), f"{self.tag} is out of range 1-4094")


@dataclasses.dataclass
class InterfaceSpec(XmlSpec):
    """A NIC, identified by its MAC; one declared without a MAC matches by what it plugs into."""

    IDENTITY = ("mac",)
    FALLBACK_IDENTITY = ("source",)
    FLAG_TAGS = ("vlan", "virtualport", "link")

    mac: t.Optional[str] = option(normalize=lambda v, p: normalize_mac(v, p, unicast=True), generated=True)
    source: t.Optional[InterfaceSource] = option(spec=InterfaceSource)
    model: t.Optional[str] = option()
    virtualport: t.Optional[str] = option(normalize=choice(("openvswitch", "802.1Qbh", "802.1Qbg")))
    vlan: t.Optional[VlanSpec] = option(spec=VlanSpec)
    link_state: t.Optional[str] = option(normalize=choice(("up", "down")), live=True)

    def fallback_identity(self) -> t.Optional[t.Tuple[t.Any, ...]]:
        if self.source is None:
            return None
        return (self.source.kind(), self.source.network or self.source.bridge or self.source.dev or self.source.hostdev)

    def validate(self, path: str) -> None:
        if self.source is None:
            raise SpecError(join_path(path, "source"), "a NIC needs a source: network, bridge or dev")

    @classmethod
    def from_element(cls, root: ET.Element) -> InterfaceSpec:
        mac = root.find("mac")
        src = root.find("source")
        model = root.find("model")
        port = root.find("virtualport")
        tag = root.find("vlan/tag")
        link = root.find("link")
        source = None
        if src is not None:
            kind = root.get("type")
            source = InterfaceSource(
                network=src.get("network") if kind == "network" else None,
                portgroup=src.get("portgroup"),
                bridge=src.get("bridge") if kind == "bridge" else None,
                dev=src.get("dev") if kind == "direct" else None,
                mode=src.get("mode") if kind == "direct" else None,
                hostdev=pci_of(src.find("address")) if kind == "hostdev" else None,
            )
        return cls(
            mac=None if mac is None else normalize_mac(mac.get("address")),
            source=source,
            model=None if model is None else model.get("type"),
            virtualport=None if port is None else port.get("type"),
            vlan=None if tag is None else VlanSpec(_int(tag.get("id"))),
            link_state="up" if link is None else link.get("state", "up"),
        )

    def to_element(self) -> ET.Element:
        source = self.source or InterfaceSource()
        root = element("interface", type=source.kind() or "network")
        if self.mac:
            sub(root, "mac", address=self.mac)
        src = sub(
            root,
            "source",
            network=source.network,
            portgroup=source.portgroup,
            bridge=source.bridge,
            dev=source.dev,
            mode=source.mode,
        )
        if source.hostdev:
            root.set("managed", "yes")  # libvirt detaches the VF from its host driver at start
            sub(src, "address", type="pci", **pci_attributes(source.hostdev))
        if self.virtualport:
            sub(root, "virtualport", type=self.virtualport)
        if self.vlan is not None and self.vlan.tag is not None:
            sub(sub(root, "vlan"), "tag", id=self.vlan.tag)
        if self.model:
            sub(root, "model", type=self.model)
        if self.link_state == "down":  # up is libvirt's default: no element
            sub(root, "link", state="down")
        return root


@dataclasses.dataclass
class GraphicsSpec(XmlSpec):
    """A VNC or SPICE display, identified by its type."""

    IDENTITY = ("type",)
    FLAG_TAGS: t.ClassVar[t.Tuple[str, ...]] = ()

    type: t.Optional[str] = option(normalize=choice(("vnc", "spice")))
    listen: t.Optional[str] = option()
    port: t.Optional[int] = option()
    password: t.Optional[str] = option(secret=True)

    def validate(self, path: str) -> None:
        if self.type == "vnc" and self.password is not None and len(self.password) > 8:
            # VNC authentication uses at most 8 characters; libvirt refuses longer ones.
            raise SpecError(join_path(path, "password"), "a VNC password has at most 8 characters")

    @classmethod
    def from_element(cls, root: ET.Element) -> GraphicsSpec:
        listen = root.find("listen")
        port = _int(root.get("port"))
        return cls(
            type=root.get("type"),
            listen=root.get("listen") or (None if listen is None else listen.get("address")),
            port=None if root.get("autoport") == "yes" or port is None else port,
            password=root.get("passwd"),
        )

    def to_element(self) -> ET.Element:
        autoport = "yes" if self.port in (None, -1) else "no"
        port = None if autoport == "yes" else self.port
        root = element("graphics", type=self.type, port=port, autoport=autoport, passwd=self.password)
        if self.listen:
            root.set("listen", self.listen)
            sub(root, "listen", type="address", address=self.listen)
        return root


@dataclasses.dataclass
class SerialSpec(Spec):
    """The first serial port (and the console on it): a pty or a log file."""

    type: t.Optional[str] = option(normalize=choice(("pty", "file")))
    path: t.Optional[str] = option()

    def validate(self, path: str) -> None:
        if self.type == "file" and not self.path:
            raise SpecError(join_path(path, "path"), "a file serial port needs the log file path")

    @classmethod
    def from_element(cls, root: ET.Element) -> SerialSpec:
        source = root.find("source")
        return cls(type=root.get("type"), path=None if source is None else source.get("path"))

    def to_element(self) -> ET.Element:
        root = element("serial", type=self.type or "pty")
        if self.type == "file":
            sub(root, "source", path=self.path, append="on")
        sub(root, "target", port=0)
        return root


def _int(value: t.Optional[str]) -> t.Optional[int]:
    return None if value is None else int(value)
