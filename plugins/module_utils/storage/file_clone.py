"""Full clones inside one local file pool at copy speed: a reflink where the file system offers one, else the
template's data extents written straight to the disk (O_DIRECT), or copied inside the kernel where the file system
refuses direct I/O; its holes are left holes (I/O).

Direct writes keep a clone of a large template from filling the host's page cache: the copy is bound by the disk,
not by the memory it would otherwise claim, and the hypervisor's guests keep their cache.

libvirt's createXMLFrom runs ``qemu-img convert`` even when source and copy share a pool and a format; that
rewrites every cluster through QEMU's block layer. A same-format copy of the file is the same image.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import contextlib
import errno
import fcntl
import mmap
import os
import typing as t

from .._core.client import LibvirtClient
from .._core.errors import AlreadyExists, CollectionError
from .._core.xmlutil import parse_xml
from ..host.model import uri_is_local
from .volume_model import VolumeSpec

FICLONE = 0x40049409  # _IOW(0x94, 9, int): share the source's extents (btrfs, XFS with reflink)
CHUNK = 64 * 2**20
DIRECT_CHUNK = 8 * 2**20
DIRECT_ALIGN = 4096  # offsets and lengths of direct I/O: a page covers every common logical block size
VOLUME_MODE = 0o600  # what libvirt gives a new volume in a dir pool
# A file system or kernel without the call answers with one of these; the next method is tried then.
UNSUPPORTED = frozenset({errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EBADF})


LOCAL_FILE_POOLS = ("dir", "fs")


def clone_by_copy(
    client: LibvirtClient, pool: t.Any, template: t.Any, xml: str, action: str, rescan: t.Callable[[], None]
) -> bool:
    """Make the full clone ``xml`` of ``template`` (both in ``pool``) by copying the file, when that gives the same
    image: a local file pool, the same format, a template without a backing file and a thin copy. False when
    libvirt's own copy has to do it (another pool or format, preallocation, a remote hypervisor)."""
    wanted, source = VolumeSpec.from_xml(xml), VolumeSpec.from_xml(template.XMLDesc(0))
    pool_type = parse_xml(pool.XMLDesc(0), "pool XML").get("type")
    if not (
        pool_type in LOCAL_FILE_POOLS
        and uri_is_local(client.uri)
        and template.storagePoolLookupByVolume().UUIDString() == pool.UUIDString()
        and wanted.format == source.format
        and not source.backing
        and not wanted.allocation
        and source.path
        and os.path.isfile(source.path)
    ):
        return False
    dest = os.path.join(os.path.dirname(source.path), wanted.name or "")
    try:
        copy_into_place(source.path, dest)
    except FileExistsError as err:
        raise AlreadyExists(action, f"{dest} appeared meanwhile") from err
    except OSError as err:
        raise CollectionError(f"{action}: copy {source.path} to {dest}: {err.strerror}; nothing was made") from err
    rescan()  # the executor's rescan, which waits out a stream still being torn down
    if (wanted.capacity or 0) > (source.capacity or 0):
        copy = client.call(f"{action}: look up the copy", pool.storageVolLookupByName, wanted.name)
        client.call(f"{action}: grow the copy to {wanted.capacity} bytes", copy.resize, wanted.capacity, 0)
    return True


def clone_name(name: str) -> str:
    """Where a clone of volume ``name`` is copied first (one name per volume: a killed run's is found again)."""
    return f".{name}.clone"


def copy_into_place(src: str, dest: str) -> None:
    """Copy ``src`` to ``dest`` through a temporary file beside it, which becomes ``dest`` only when complete and
    on disk. ``dest`` is never overwritten: FileExistsError when it appeared meanwhile."""
    temp = os.path.join(os.path.dirname(dest), clone_name(os.path.basename(dest)))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)  # a killed run's
    try:
        copy_file(src, temp)
        os.link(temp, dest)  # unlike rename, fails when dest exists
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def copy_file(src: str, dest: str) -> None:
    """A new file ``dest`` with ``src``'s content and size, sharing extents or sparse, synced to disk."""
    source = os.open(src, os.O_RDONLY)
    try:
        target = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, VOLUME_MODE)
        try:
            if not _reflink(source, target):
                size = os.fstat(source).st_size
                _copy_data(source, target, size)
                os.ftruncate(target, size)  # the end of a hole, or past the padding of a direct write
            os.fsync(target)
        finally:
            os.close(target)
    finally:
        os.close(source)


def data_extents(fd: int, size: int) -> t.Iterator[t.Tuple[int, int]]:
    """(start, end) of each stretch of ``fd`` that holds data; the whole file where holes cannot be asked for."""
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as err:
            if err.errno == errno.ENXIO:
                return  # nothing but a hole up to the end
            if err.errno in UNSUPPORTED:
                yield offset, size
                return
            raise
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        yield start, end
        offset = end


def _reflink(source: int, target: int) -> bool:
    try:
        fcntl.ioctl(target, FICLONE, source)
    except OSError as err:
        if err.errno in UNSUPPORTED:
            return False
        raise
    return True


def _copy_data(source: int, target: int, size: int) -> None:
    """The data extents of ``source`` into ``target`` at the same offsets: direct writes while the file system
    takes them, else copies inside the kernel."""
    direct = _set_direct(target, True)
    # Page-aligned, as direct I/O needs; touched once and reused. Freed with its last view (not closed here: an
    # exception's traceback may still hold one).
    buffer = memoryview(mmap.mmap(-1, DIRECT_CHUNK))
    for start, end in data_extents(source, size):
        if direct:
            try:
                _copy_direct(source, target, start, end, buffer)
                continue
            except OSError as err:
                if err.errno != errno.EINVAL:
                    raise
                # The device wants a larger alignment: this extent again, and the rest, through the cache.
                direct = _set_direct(target, False)
        _copy_range(source, target, start, end)


def _set_direct(fd: int, on: bool) -> bool:
    """Turn direct I/O on or off for ``fd``; False when it is off (a file system without it refuses)."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, (flags | os.O_DIRECT) if on else (flags & ~os.O_DIRECT))
    except OSError as err:
        if err.errno in UNSUPPORTED:
            return False
        raise
    return on


def _copy_direct(source: int, target: int, start: int, end: int, buffer: memoryview) -> None:
    """``start``-``end`` of ``source`` written to ``target`` in aligned blocks; the last block of the file is
    padded with zeros, which the caller's truncation cuts off."""
    offset = start - start % DIRECT_ALIGN
    while offset < end:
        length = min(len(buffer), -(-(end - offset) // DIRECT_ALIGN) * DIRECT_ALIGN)
        read = os.preadv(source, [buffer[:length]], offset)
        if read == 0:
            return  # the file shrank under us: what is left of it is copied
        buffer[read:length] = bytes(length - read)  # only at the end of the file
        if os.pwritev(target, [buffer[:length]], offset) != length:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a short direct write: the disk is full
        if read < length:
            return  # the end of the file
        offset += length


def _copy_range(source: int, target: int, start: int, end: int) -> None:
    offset = start
    while offset < end:
        count = min(CHUNK, end - offset)
        try:
            done = os.copy_file_range(source, target, count, offset, offset)
        except OSError as err:
            if err.errno not in UNSUPPORTED:
                raise
            done = _copy_through_memory(source, target, count, offset)
        if done == 0:
            return  # the file shrank under us: what is left of it is copied
        offset += done


def _copy_through_memory(source: int, target: int, count: int, offset: int) -> int:
    data = os.pread(source, count, offset)
    written = 0
    while written < len(data):
        written += os.pwrite(target, data[written:], offset + written)
    return len(data)
