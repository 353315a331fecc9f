"""The file copy behind same-pool full clones: same bytes, holes kept, never over an existing file."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import typing as t
from pathlib import Path

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage import file_clone

MIB = 2**20


def sparse_image(path: Path) -> Path:
    """8 MiB data, 56 MiB hole, 4 MiB data, and a hole to the end (128 MiB)."""
    with path.open("wb") as handle:
        handle.write(os.urandom(8 * MIB))
        handle.seek(64 * MIB)
        handle.write(os.urandom(4 * MIB))
        handle.truncate(128 * MIB)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def allocated(path: Path) -> int:
    return path.stat().st_blocks * 512


def test_the_copy_has_the_same_bytes_and_size_and_keeps_the_holes(tmp_path: Path) -> None:
    src = sparse_image(tmp_path / "t.raw")
    file_clone.copy_into_place(str(src), str(tmp_path / "c.raw"))
    copy = tmp_path / "c.raw"
    assert digest(copy) == digest(src) and copy.stat().st_size == 128 * MIB
    assert allocated(copy) < 16 * MIB  # the 12 MiB of data, not the 128 MiB
    assert copy.stat().st_mode & 0o777 == file_clone.VOLUME_MODE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.raw", "t.raw"]  # no temporary file left


def test_data_extents_name_the_written_stretches(tmp_path: Path) -> None:
    src = sparse_image(tmp_path / "t.raw")
    fd = os.open(src, os.O_RDONLY)
    try:
        extents = list(file_clone.data_extents(fd, 128 * MIB))
    finally:
        os.close(fd)
    # File systems may round extents to their block size; the data is covered and the big hole is skipped.
    assert extents[0][0] == 0 and extents[0][1] >= 8 * MIB
    assert extents[-1][0] <= 64 * MIB and extents[-1][1] >= 68 * MIB
    assert sum(end - start for start, end in extents) < 32 * MIB


def test_without_copy_file_range_or_reflink_it_copies_through_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(*_args: object) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(file_clone.os, "copy_file_range", unsupported)
    monkeypatch.setattr(file_clone.fcntl, "ioctl", unsupported)
    refuse_direct_io(monkeypatch)
    src = sparse_image(tmp_path / "t.raw")
    file_clone.copy_into_place(str(src), str(tmp_path / "c.raw"))
    assert digest(tmp_path / "c.raw") == digest(src)


def refuse_direct_io(monkeypatch: pytest.MonkeyPatch) -> None:
    """fcntl as on a file system without direct I/O: turning O_DIRECT on is refused with EINVAL."""
    real = fcntl.fcntl

    def fake(fd: int, command: int, arg: int = 0) -> int:
        if command == fcntl.F_SETFL and arg & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, command, arg)

    monkeypatch.setattr(file_clone.fcntl, "fcntl", fake)


def count_kernel_copies(monkeypatch: pytest.MonkeyPatch) -> t.List[int]:
    """Calls of copy_file_range from here on, by the number of bytes asked for."""
    asked: t.List[int] = []
    real = os.copy_file_range

    def counted(src: int, dst: int, count: int, *offsets: t.Any) -> int:
        asked.append(count)
        return real(src, dst, count, *offsets)

    monkeypatch.setattr(file_clone.os, "copy_file_range", counted)
    return asked


def unaligned_image(path: Path) -> Path:
    """Data that starts and ends off any block boundary, and a size that is no multiple of a page."""
    with path.open("wb") as handle:
        handle.seek(3 * MIB + 1000)
        handle.write(os.urandom(9 * MIB + 123))
        handle.seek(40 * MIB + 77)
        handle.write(os.urandom(5000))
        handle.truncate(48 * MIB + 333)
    return path


def test_data_is_written_straight_to_the_disk_where_the_file_system_takes_direct_io(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = os.open(tmp_path / "probe", os.O_WRONLY | os.O_CREAT)
    try:
        if not file_clone._set_direct(probe, True):
            pytest.skip(f"{tmp_path} is on a file system without direct I/O")
    finally:
        os.close(probe)
    kernel_copies = count_kernel_copies(monkeypatch)
    src = unaligned_image(tmp_path / "t.raw")
    file_clone.copy_into_place(str(src), str(tmp_path / "c.raw"))
    copy = tmp_path / "c.raw"
    assert digest(copy) == digest(src) and copy.stat().st_size == src.stat().st_size
    assert kernel_copies == []  # every extent went through the aligned direct writes
    assert allocated(copy) < 24 * MIB  # the holes stay holes


def test_a_file_system_without_direct_io_gets_the_kernel_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_direct_io(monkeypatch)
    kernel_copies = count_kernel_copies(monkeypatch)
    src = unaligned_image(tmp_path / "t.raw")
    file_clone.copy_into_place(str(src), str(tmp_path / "c.raw"))
    assert digest(tmp_path / "c.raw") == digest(src)
    assert kernel_copies


def test_a_device_that_refuses_the_alignment_mid_copy_gets_the_rest_through_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: t.List[int] = []
    real = os.pwritev

    def picky(fd: int, buffers: t.Any, offset: int) -> int:
        writes.append(offset)
        if len(writes) > 1:  # the first direct write lands, then the device wants a larger alignment
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, buffers, offset)

    monkeypatch.setattr(file_clone.os, "pwritev", picky)
    kernel_copies = count_kernel_copies(monkeypatch)
    src = unaligned_image(tmp_path / "t.raw")
    file_clone.copy_into_place(str(src), str(tmp_path / "c.raw"))
    assert digest(tmp_path / "c.raw") == digest(src)
    assert len(writes) == 2 and kernel_copies


def test_an_existing_volume_is_never_overwritten(tmp_path: Path) -> None:
    src = sparse_image(tmp_path / "t.raw")
    (tmp_path / "c.raw").write_bytes(b"someone else's data")
    with pytest.raises(FileExistsError):
        file_clone.copy_into_place(str(src), str(tmp_path / "c.raw"))
    assert (tmp_path / "c.raw").read_bytes() == b"someone else's data"
    assert not (tmp_path / file_clone.clone_name("c.raw")).exists()


def test_a_killed_runs_temporary_copy_is_replaced(tmp_path: Path) -> None:
    src = sparse_image(tmp_path / "t.raw")
    (tmp_path / file_clone.clone_name("c.raw")).write_bytes(b"half a copy")
    file_clone.copy_into_place(str(src), str(tmp_path / "c.raw"))
    assert digest(tmp_path / "c.raw") == digest(src)
    assert not (tmp_path / file_clone.clone_name("c.raw")).exists()


def no_space(*_args: object) -> int:
    raise OSError(errno.ENOSPC, "No space left on device")


def half_written(_fd: int, buffers: t.Sequence[memoryview], _offset: int) -> int:
    return len(buffers[0]) // 2  # a direct write the full disk cut short


@pytest.mark.parametrize(
    ("direct_io", "call", "failure"),
    [(True, "pwritev", no_space), (True, "pwritev", half_written), (False, "copy_file_range", no_space)],
    ids=["direct write fails", "direct write cut short", "kernel copy fails"],
)
def test_a_failed_copy_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct_io: bool, call: str, failure: t.Callable[..., int]
) -> None:
    if not direct_io:
        refuse_direct_io(monkeypatch)
    monkeypatch.setattr(file_clone.os, call, failure)
    src = sparse_image(tmp_path / "t.raw")
    with pytest.raises(OSError, match="No space left"):
        file_clone.copy_into_place(str(src), str(tmp_path / "c.raw"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.raw"]
