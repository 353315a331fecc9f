"""PoolSpec: a storage pool of any libvirt type, in libvirt's vocabulary (source, target)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import copy
import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.errors import SpecError
from .._core.names import validate_name
from .._core.spec import Spec, XmlSpec, choice, join_path, option
from .._core.xmlutil import element, sub, text_of

# Host-based, device-based and network-based pool types, and what each needs in its source.
POOL_TYPES = {
    "dir": (),
    "fs": ("device",),
    "logical": ("name",),
    "zfs": ("name",),
    "disk": ("device",),
    "scsi": ("adapter",),
    "mpath": (),
    "netfs": ("hosts", "dir"),
    "iscsi": ("hosts", "device"),
    "iscsi-direct": ("hosts", "device", "initiator"),
    "rbd": ("hosts", "name"),
    "gluster": ("hosts", "name"),
}
# Types whose storage a build creates (mkdir, mkfs, a partition table, a volume group).
BUILDABLE = ("dir", "fs", "netfs", "logical", "disk", "zfs")
# Types whose volumes live under a local target path.
TARGET_TYPES = ("dir", "fs", "netfs", "logical", "disk", "iscsi", "scsi", "mpath")


@dataclasses.dataclass
class PoolHost(Spec):
    name: t.Optional[str] = option()
    port: t.Optional[int] = option()


@dataclasses.dataclass
class PoolSecret(Spec):
    usage: t.Optional[str] = option()
    uuid: t.Optional[str] = option()


@dataclasses.dataclass
class PoolAuth(Spec):
    """CHAP (iSCSI) or cephx (RBD) credentials held in a libvirt secret."""

    type: t.Optional[str] = option()
    username: t.Optional[str] = option()
    secret: t.Optional[PoolSecret] = option(spec=PoolSecret)


@dataclasses.dataclass
class PoolSource(Spec):
    hosts: t.Optional[t.List[PoolHost]] = option(spec=PoolHost, many=True)
    device: t.Optional[t.List[str]] = option()
    dir: t.Optional[str] = option()
    name: t.Optional[str] = option()
    format: t.Optional[str] = option()
    adapter: t.Optional[str] = option()
    initiator: t.Optional[str] = option()
    auth: t.Optional[PoolAuth] = option(spec=PoolAuth)


@dataclasses.dataclass
class PoolTarget(Spec):
    path: t.Optional[str] = option()
    mode: t.Optional[str] = option()
    owner: t.Optional[int] = option()
    group: t.Optional[int] = option()


@dataclasses.dataclass
class PoolSpec(XmlSpec):
    """A storage pool as declared; unset fields are left as libvirt has them."""

    name: t.Optional[str] = option(normalize=lambda v, p: validate_name(v, p, "pool"))
    uuid: t.Optional[str] = option(generated=True)
    type: t.Optional[str] = option(normalize=choice(tuple(POOL_TYPES)))
    source: t.Optional[PoolSource] = option(spec=PoolSource)
    target: t.Optional[PoolTarget] = option(spec=PoolTarget)

    def validate(self, path: str) -> None:
        if self.type is None:
            return
        source = self.source or PoolSource()
        for need in POOL_TYPES[self.type]:
            if not getattr(source, need):
                raise SpecError(join_path(path, f"source.{need}"), f"a {self.type} pool needs source.{need}")
        if self.type in TARGET_TYPES and self.type != "disk" and not (self.target and self.target.path):
            raise SpecError(join_path(path, "target.path"), f"a {self.type} pool needs target.path")

    @classmethod
    def from_element(cls, root: ET.Element) -> PoolSpec:
        src = root.find("source")
        if src is None:
            src = ET.Element("source")
        auth = src.find("auth")
        secret = None if auth is None else auth.find("secret")
        fmt = src.find("format")
        adapter = src.find("adapter")
        directory = src.find("dir")
        target = root.find("target")
        perms = None if target is None else target.find("permissions")
        return cls(
            name=text_of(root, "name"),
            uuid=text_of(root, "uuid"),
            type=root.get("type"),
            source=PoolSource(
                hosts=[PoolHost(h.get("name"), _int(h.get("port"))) for h in src.findall("host")],
                device=[d.get("path", "") for d in src.findall("device")],
                dir=None if directory is None else directory.get("path"),
                name=text_of(src, "name"),
                format=None if fmt is None else fmt.get("type"),
                adapter=None if adapter is None else adapter.get("name"),
                initiator=_attr(src.find("initiator/iqn"), "name"),
                auth=None
                if auth is None
                else PoolAuth(
                    auth.get("type"),
                    auth.get("username"),
                    None if secret is None else PoolSecret(secret.get("usage"), secret.get("uuid")),
                ),
            ),
            target=None
            if target is None
            else PoolTarget(
                path=text_of(target, "path"),
                mode=None if perms is None else text_of(perms, "mode"),
                owner=None if perms is None else _int(text_of(perms, "owner")),
                group=None if perms is None else _int(text_of(perms, "group")),
            ),
        )

    def to_element(self) -> ET.Element:
        return self.render(None)

    def render(self, base: t.Optional[ET.Element]) -> ET.Element:
        """Pool XML: ``base`` (libvirt's) with the set fields applied, or a new document."""
        root = copy.deepcopy(base) if base is not None else element("pool", type=self.type)
        if self.type:
            root.set("type", self.type)
        if root.find("name") is None:
            root.insert(0, element("name"))
        name = root.find("name")
        if self.name and name is not None:
            name.text = self.name
        if self.source is not None:
            _render_source(root, self.source, self.type or root.get("type") or "")
        if self.target is not None:
            _render_target(root, self.target)
        return root


def _render_source(root: ET.Element, source: PoolSource, kind: str) -> None:
    src = root.find("source")
    if src is None:
        src = sub(root, "source")
    for field, tag in (("hosts", "host"), ("device", "device")):
        values = getattr(source, field)
        if values is None:
            continue
        for old in src.findall(tag):
            src.remove(old)
        for value in values:
            if isinstance(value, PoolHost):
                sub(src, "host", name=value.name, port=value.port)
            else:
                sub(src, "device", path=value)
    _replace(src, "dir", None if source.dir is None else element("dir", path=source.dir))
    _replace(
        src, "adapter", None if source.adapter is None else element("adapter", type="scsi_host", name=source.adapter)
    )
    _replace(src, "name", None if source.name is None else element("name", source.name))
    _replace(src, "format", None if source.format is None else element("format", type=source.format))
    if source.initiator is not None:
        initiator = element("initiator")
        sub(initiator, "iqn", name=source.initiator)
        _replace(src, "initiator", initiator)
    if source.auth is not None:
        default_type = "ceph" if kind == "rbd" else "chap"
        auth = element("auth", type=source.auth.type or default_type, username=source.auth.username)
        if source.auth.secret is not None:
            sub(auth, "secret", usage=source.auth.secret.usage, uuid=source.auth.secret.uuid)
        _replace(src, "auth", auth)


def _render_target(root: ET.Element, target: PoolTarget) -> None:
    node = root.find("target")
    if node is None:
        node = sub(root, "target")
    if target.path is not None:
        _replace(node, "path", element("path", target.path))
    if any(v is not None for v in (target.mode, target.owner, target.group)):
        perms = node.find("permissions")
        if perms is None:
            perms = sub(node, "permissions")
        for tag in ("mode", "owner", "group"):
            value = getattr(target, tag)
            if value is not None:
                _replace(perms, tag, element(tag, value))


def _replace(parent: ET.Element, tag: str, new: t.Optional[ET.Element]) -> None:
    """Put ``new`` where the first <tag> was (or at the end); None leaves the old one alone."""
    if new is None:
        return
    old = parent.find(tag)
    if old is None:
        parent.append(new)
    else:
        parent.insert(list(parent).index(old), new)
        parent.remove(old)


def _int(value: t.Optional[str]) -> t.Optional[int]:
    return None if value is None else int(value)


def _attr(node: t.Optional[ET.Element], name: str) -> t.Optional[str]:
    return None if node is None else node.get(name)
