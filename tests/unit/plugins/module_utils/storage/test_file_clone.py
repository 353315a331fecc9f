"""The file copy behind same-pool full clones: same bytes, holes kept, never over an existing file."""

from __future__ import annotations

import errno
import hashlib
import os
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
    src = sparse_image(tmp_path / "t.raw")
    file_clone.copy_into_place(str(src), str(tmp_path / "c.raw"))
    assert digest(tmp_path / "c.raw") == digest(src)


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


def test_a_failed_copy_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(*_args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(file_clone.os, "copy_file_range", no_space)
    src = sparse_image(tmp_path / "t.raw")
    with pytest.raises(OSError, match="No space left"):
        file_clone.copy_into_place(str(src), str(tmp_path / "c.raw"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.raw"]
