"""Keep and read VM recovery records in a shared storage pool through libvirt (I/O).

The records travel through libvirt's storage streams, so a module reaching a hypervisor over a remote URI
keeps them as well as one running on it, and any surviving hypervisor can read them back.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import typing as t

from .._core.client import LibvirtClient, libvirt, libvirt_errors
from .._core.errors import ConflictError, LibvirtError
from .._core.xmlutil import element, parse_xml, sub, to_string
from ..domain.cluster_model import read_cluster_policy
from ..storage.transfer import FILE_POOLS, read_content, upload_verified
from .record_model import RECORD_SUFFIX, VmRecord, read_vm_record, record_document, record_volume


def sync_record(client: LibvirtClient, name: str) -> t.Optional[str]:
    """Write the domain's record when its policy names a pool and the record differs; the action, or None."""
    dom = client.domain(name)
    if dom is None or not dom.isPersistent():
        return None
    xml = client.call(f"read domain {name!r}", dom.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE)
    pool_name = read_cluster_policy(parse_xml(xml, "domain XML")).record_pool
    if not pool_name:
        return None
    text = record_document(xml, client.uri, bool(dom.isActive()))
    pool = _pool(client, pool_name, name, rescan=False)
    if _stored_text(client, pool, pool_name, record_volume(name)) == text:
        return None
    _write(client, pool, record_volume(name), text.encode())
    return f"record the definition of {name} in pool {pool_name}"


def _stored_text(client: LibvirtClient, pool: t.Any, pool_name: str, volume: str) -> t.Optional[str]:
    """The record as stored. A rescan reads every file of the pool, so the pool is rescanned only when this
    hypervisor does not list the record (another one may have written it since its last scan) or cannot read it
    (another one may have removed it); a record it lists is read from the file as the file is now."""
    with contextlib.suppress(LibvirtError):
        text = read_text(client, pool, volume)
        if text is not None:
            return text
    _refresh(client, pool, pool_name)
    return read_text(client, pool, volume)


def drop_record(client: LibvirtClient, pool_name: str, name: str) -> t.Optional[str]:
    pool = _pool(client, pool_name, name)
    vol = client.volume(pool, record_volume(name))
    if vol is None:
        return None
    client.call(f"remove the record of {name} from pool {pool_name}", vol.delete, 0)
    return f"remove the record of {name} from pool {pool_name}"


def has_record(client: LibvirtClient, pool_name: str, name: str) -> bool:
    pool = client.pool(pool_name)
    if pool is None:
        return False
    directory = _pool_directory(pool)
    if client.readonly and directory is not None:
        return os.path.exists(os.path.join(directory, record_volume(name)))
    _refresh(client, pool, pool_name)
    return client.volume(pool, record_volume(name)) is not None


def read_records(client: LibvirtClient, pool_name: str) -> t.List[VmRecord]:
    """Every VM record in the pool, as this hypervisor sees it."""
    pool = client.pool(pool_name)
    if pool is None:
        raise ConflictError(f"record_pool: no storage pool {pool_name!r} on {client.uri}; the records are kept there")
    if client.readonly:
        local = _records_in_directory(pool)
        if local is not None:
            return local
    _refresh(client, pool, pool_name)
    with libvirt_errors(f"list the records in pool {pool_name!r}"):
        names = [v.name() for v in pool.listAllVolumes(0) if v.name().endswith(RECORD_SUFFIX)]
    records = []
    for volume in sorted(names):
        text = read_text(client, pool, volume)
        if text:
            records.append(read_vm_record(text))
    return records


def _refresh(client: LibvirtClient, pool: t.Any, pool_name: str) -> None:
    """Rescan the pool: the other hypervisors write and remove records in it, and this one's list of them is only
    as new as its last scan. Check mode may not rescan, so it reads the directory where it is mounted here."""
    if not client.readonly:
        client.storage(pool_name, f"refresh pool {pool_name!r}", pool.refresh, 0)


def _pool_directory(pool: t.Any) -> t.Optional[str]:
    """The pool's directory when it is a file pool mounted on this machine too, else None."""
    root = parse_xml(pool.XMLDesc(0), "pool XML")
    directory = root.findtext("target/path") or ""
    return directory if root.get("type") in FILE_POOLS and os.path.isdir(directory) else None


def _records_in_directory(pool: t.Any) -> t.Optional[t.List[VmRecord]]:
    directory = _pool_directory(pool)
    if directory is None:
        return None
    records = []
    for entry in sorted(os.listdir(directory)):
        if entry.endswith(RECORD_SUFFIX) and not entry.startswith("."):
            with open(os.path.join(directory, entry), encoding="utf-8") as handle:
                records.append(read_vm_record(handle.read()))
    return records


def read_text(client: LibvirtClient, pool: t.Any, volume: str) -> t.Optional[str]:
    """A volume's content as text, or None without it."""
    vol = client.volume(pool, volume)
    if vol is None:
        return None
    content = client.storage(pool.name(), f"read {volume}", read_content, client, vol, volume)
    return t.cast(bytes, content).decode("utf-8")


def _write(client: LibvirtClient, pool: t.Any, volume: str, data: bytes) -> None:
    xml = element("volume")
    sub(xml, "name", volume)
    sub(xml, "capacity", len(data), unit="bytes")
    sub(sub(xml, "target"), "format", type="raw")
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, volume)
        with open(path, "wb") as handle:
            handle.write(data)
        args = {"src": path, "sha256": hashlib.sha256(data).hexdigest(), "xml": to_string(xml), "replace": True}
        upload_verified(client, pool, volume, args)


def _pool(client: LibvirtClient, pool_name: str, name: str, rescan: bool = True) -> t.Any:
    pool = client.pool(pool_name)
    if pool is None:
        raise ConflictError(
            f"cluster.record_pool of {name}: no storage pool {pool_name!r} on {client.uri}; define the shared pool "
            "there (every hypervisor of the cluster needs it)"
        )
    if rescan:
        _refresh(client, pool, pool_name)
    return pool
