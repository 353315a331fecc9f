"""Read what uses storage on one hypervisor: every domain's disks (live and defined, with their backing
chains) and every volume that backs onto another (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import LibvirtClient, libvirt, libvirt_errors, still_there
from .._core.xmlutil import parse_xml, text_of
from .usage_model import BackedVolume, DiskUse, Usage, disk_layers


class UsageReader:
    """Who uses which volume on a set of hypervisors (read_usage), read once and kept until forget(): a task
    forgets it after each change of its own (a new linked clone is a new user of its template), so a bulk or
    converge task reads it once while it changes nothing."""

    def __init__(self) -> None:
        self._read: t.Dict[t.FrozenSet[str], Usage] = {}

    def read(self, clients: t.Sequence[LibvirtClient]) -> Usage:
        key = frozenset(client.uri for client in clients)
        if key not in self._read:
            self._read[key] = read_usage(clients)
        return self._read[key]

    def forget(self) -> None:
        self._read = {}


def read_usage(clients: t.Sequence[LibvirtClient]) -> Usage:
    """Disks and linked clones on every hypervisor given (the task's own first, then its peers)."""
    usage = Usage()
    for client in clients:
        usage.disks += read_disks(client)
        usage.backed += read_backed_volumes(client)
    return usage


def read_disks(client: LibvirtClient) -> t.List[DiskUse]:
    """Each disk of each domain: the running guest's (live, with its backing chain) and the definition's."""
    found = []
    with libvirt_errors(f"list the disks of the domains on {client.uri}"):
        for name, documents in still_there(client.conn.listAllDomains(0), lambda d: (d.name(), _documents(d))):
            for xml, live in documents:
                for disk in parse_xml(xml, f"XML of domain {name!r}").findall("devices/disk"):
                    target = disk.find("target")
                    dev = "" if target is None else target.get("dev", "")
                    shareable = disk.find("shareable") is not None
                    found.append(DiskUse(client.uri, name, dev, live, disk_layers(disk), shareable))
    return found


def _documents(dom: t.Any) -> t.List[t.Tuple[str, bool]]:
    """The live XML (while it runs) and the definition of a domain."""
    documents = [(dom.XMLDesc(0), True)] if dom.isActive() else []
    if dom.isPersistent():
        documents.append((dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), False))
    return documents


# Pools whose volumes are image files, which may be qcow2 overlays with a backing file. The others (rbd, iscsi,
# logical, disk, ...) hold raw block images only: nothing there backs onto another volume, and a pool there that
# cannot be read (a Ceph image half made) must not stop a task about another pool.
IMAGE_FILE_POOLS = ("dir", "fs", "netfs", "gluster", "vstorage")
GONE = ("VIR_ERR_NO_STORAGE_POOL", "VIR_ERR_NO_STORAGE_VOL")


def read_backed_volumes(client: LibvirtClient) -> t.List[BackedVolume]:
    """Volumes of the active pools whose image has a backing file (libvirt's view as of its last refresh)."""
    found = []
    with libvirt_errors(f"list the volumes of the pools on {client.uri}"):
        for pool in client.conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
            for name, xml in _image_volumes(pool):
                backing = text_of(parse_xml(xml, "volume XML"), "backingStore/path")
                if backing:
                    found.append(BackedVolume(client.uri, pool.name(), name, backing))
    return found


def _image_volumes(pool: t.Any) -> t.List[t.Tuple[str, str]]:
    """(name, XML) of each volume of a pool of image files; none for another kind of pool, or for a pool stopped or
    removed, or a volume removed, between the listing and the read (another run's)."""
    gone = {getattr(libvirt, code, -1) for code in GONE}
    documents = []
    try:
        if parse_xml(pool.XMLDesc(0), "pool XML").get("type") not in IMAGE_FILE_POOLS:
            return []
        for vol in pool.listAllVolumes(0):
            try:
                documents.append((vol.name(), vol.XMLDesc(0)))
            except libvirt.libvirtError as err:
                if err.get_error_code() not in gone:
                    raise
    except libvirt.libvirtError as err:
        if err.get_error_code() not in gone and _still_active(pool):
            raise
        return []
    return documents


def _still_active(pool: t.Any) -> bool:
    """Whether the pool still runs: one stopped after the listing (another run's) has no volumes to ask about."""
    try:
        return bool(pool.isActive())
    except libvirt.libvirtError:
        return False
