"""Who uses a volume, on any hypervisor that sees it: domains' disks and their backing chains, and the
volumes that back onto it (linked clones). Pure: the records are read by ``usage_client.py``."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from ..domain.device_model import DiskSource


@dataclasses.dataclass(frozen=True)
class StorageRef:
    """How a disk source (or a layer of its backing chain) names storage."""

    path: t.Optional[str] = None  # file or block device
    pool: t.Optional[str] = None
    volume: t.Optional[str] = None
    protocol: t.Optional[str] = None
    name: t.Optional[str] = None  # network disks: pool/image, IQN/LUN, volume/file

    def names(self, pool: str, volume: str, path: str) -> bool:
        """True when this reference is the volume ``pool``/``volume`` at ``path``."""
        if self.pool is not None and (self.pool, self.volume) == (pool, volume):
            return True
        return bool(path and path in (self.path, self.name))

    def same(self, other: StorageRef, path: t.Optional[str] = None) -> bool:
        """True when both name the same storage (pool/volume, a path, or a network disk's protocol and name)."""
        if self.pool and self.volume and (self.pool, self.volume) == (other.pool, other.volume):
            return True
        if path and path in (other.path, other.name):
            return True
        if self.path and self.path == other.path:
            return True
        return bool(self.protocol and (self.protocol, self.name) == (other.protocol, other.name))


def storage_ref(source: DiskSource) -> StorageRef:
    """The storage a declared disk source names."""
    return StorageRef(source.file or source.dev, source.pool, source.volume, source.protocol, source.name)


@dataclasses.dataclass(frozen=True)
class DiskUse:
    """One disk of one domain on one hypervisor: its source, then each layer of its backing chain."""

    host: str
    domain: str
    target: str
    active: bool
    layers: t.Tuple[StorageRef, ...]
    shareable: bool = False


@dataclasses.dataclass(frozen=True)
class BackedVolume:
    """A volume whose image backs onto another file (a linked clone of a template)."""

    host: str
    pool: str
    volume: str
    backing: str


@dataclasses.dataclass(frozen=True)
class VolumeUser:
    """A domain whose disk (or its backing chain) references the volume, or a volume backing onto it."""

    domain: str  # "" when the user is a volume
    target: str
    active: bool
    host: str = ""
    volume: str = ""  # pool/name of a linked clone that backs onto the volume

    def describe(self) -> str:
        where = f" on {self.host}" if self.host else ""
        if self.volume:
            return f"volume {self.volume} (a linked clone backing onto it){where}"
        state = ", running" if self.active else ""
        return f"domain {self.domain} ({self.target}{state}){where}"


@dataclasses.dataclass
class Usage:
    """What uses storage on the hypervisors read (the task's own and its peers)."""

    disks: t.List[DiskUse] = dataclasses.field(default_factory=list)
    backed: t.List[BackedVolume] = dataclasses.field(default_factory=list)

    def users_of(self, pool: str, volume: str, path: str) -> t.List[VolumeUser]:
        return users_of(pool, volume, path, self.disks, self.backed)


def users_of(
    pool: str, volume: str, path: str, disks: t.Sequence[DiskUse], backed: t.Sequence[BackedVolume]
) -> t.List[VolumeUser]:
    """Every user of the volume: disks that are it or back onto it, and clones whose backing file it is."""
    found: t.Dict[t.Tuple[str, str, str], VolumeUser] = {}
    for disk in disks:
        if any(layer.names(pool, volume, path) for layer in disk.layers):
            key = (disk.host, disk.domain, disk.target)
            # A running domain's live and persistent disks are one user; running wins.
            if key not in found or disk.active:
                found[key] = VolumeUser(disk.domain, disk.target, disk.active, disk.host)
    for clone in backed:
        if path and clone.backing == path and f"{clone.pool}/{clone.volume}" != f"{pool}/{volume}":
            key = (clone.host, "", f"{clone.pool}/{clone.volume}")
            found.setdefault(key, VolumeUser("", "", False, clone.host, f"{clone.pool}/{clone.volume}"))
    return sorted(found.values(), key=lambda u: (u.host, u.volume, u.domain, u.target))


def disk_layers(disk: ET.Element) -> t.Tuple[StorageRef, ...]:
    """A <disk>'s source and the sources of its <backingStore> chain, outermost first."""
    layers = []
    node: t.Optional[ET.Element] = disk
    while node is not None:
        source = node.find("source")
        if source is not None:
            layers.append(
                StorageRef(
                    path=source.get("file") or source.get("dev"),
                    pool=source.get("pool"),
                    volume=source.get("volume"),
                    protocol=source.get("protocol"),
                    name=source.get("name"),
                )
            )
        node = node.find("backingStore")
    return tuple(layers)


@dataclasses.dataclass(frozen=True)
class PoolRef:
    """How disks name the storage of one pool: by pool name, by paths under its target, or as network disks."""

    name: str
    target: t.Optional[str] = None
    protocol: t.Optional[str] = None  # network disks of the pool's storage: rbd, gluster, iscsi
    prefix: str = ""  # their name starts with this: "rbd-pool/", "volume/", "iqn.../"

    def holds(self, layer: StorageRef) -> bool:
        if layer.pool == self.name:
            return True
        if self.target and layer.path and layer.path.startswith(self.target.rstrip("/") + "/"):
            return True
        return bool(self.protocol and layer.protocol == self.protocol and (layer.name or "").startswith(self.prefix))


def pool_users(pool: PoolRef, disks: t.Sequence[DiskUse], running_only: bool = False) -> t.List[VolumeUser]:
    """Domains whose disks (or backing chains) are in the pool; ``running_only`` for what a stop would cut off."""
    found: t.Dict[t.Tuple[str, str, str], VolumeUser] = {}
    for disk in disks:
        if (disk.active or not running_only) and any(pool.holds(layer) for layer in disk.layers):
            key = (disk.host, disk.domain, disk.target)
            if key not in found or disk.active:
                found[key] = VolumeUser(disk.domain, disk.target, disk.active, disk.host)
    return sorted(found.values(), key=lambda u: (u.host, u.domain, u.target))


def references_secret(root: ET.Element, uuid: t.Optional[str], usage: t.Optional[str]) -> bool:
    """True when a pool or domain document refers to the secret (CHAP/cephx auth, encryption, a vTPM)."""
    for node in root.iter():
        if node.tag == "secret" and ((uuid and node.get("uuid") == uuid) or (usage and node.get("usage") == usage)):
            return True
        if uuid and node.get("secret") == uuid:  # <encryption secret='...'> of a vTPM
            return True
    return False
