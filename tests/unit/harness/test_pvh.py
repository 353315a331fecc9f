from __future__ import annotations

import gzip
import lzma
import struct
import typing as t

import pytest
from testbed.pvh import has_pvh_entry, pvh_kernel


def note(name: bytes, kind: int, desc: bytes) -> bytes:
    def pad(data: bytes) -> bytes:
        return data + b"\0" * (-len(data) % 4)

    return struct.pack("<III", len(name), len(desc), kind) + pad(name) + pad(desc)


def elf(notes: bytes) -> bytes:
    """A minimal ELF64 with one PT_NOTE program header holding ``notes``."""
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x20, 64)  # e_phoff
    struct.pack_into("<HH", header, 0x36, 56, 1)  # e_phentsize, e_phnum
    phdr = struct.pack("<IIQQQQQQ", 4, 0, 64 + 56, 0, 0, len(notes), len(notes), 4)
    return bytes(header) + phdr + notes


PVH = elf(note(b"Xen\0", 6, b"linux\0") + note(b"Xen\0", 18, struct.pack("<I", 0x1000000)))
NOT_PVH = elf(note(b"Xen\0", 6, b"linux\0") + note(b"GNU\0", 18, b"\0" * 4))


def test_the_xen_phys32_entry_note_marks_a_pvh_kernel() -> None:
    assert has_pvh_entry(PVH)
    assert not has_pvh_entry(NOT_PVH)  # type 18 under another owner's name is not the PVH entry
    assert not has_pvh_entry(b"\x7fELF\x01\x01" + PVH[6:])  # 32-bit
    assert not has_pvh_entry(b"MZ" + bytes(100))


@pytest.mark.parametrize(
    "compress", [lambda data: lzma.compress(data, format=lzma.FORMAT_XZ), lambda data: gzip.compress(data, mtime=0)]
)
def test_the_kernel_comes_out_of_a_bzimage_whichever_standard_compression_it_uses(
    compress: t.Callable[[bytes], bytes],
) -> None:
    # A setup header, a false start with the same magic, the payload, then the bzImage's trailer.
    payload = compress(PVH)
    bzimage = b"HdrS" + bytes(500) + payload[:4] + b"garbage" + bytes(100) + payload + b"\x00trailer"
    assert pvh_kernel(bzimage) == PVH


def test_a_kernel_without_a_pvh_entry_keeps_the_bzimage_boot() -> None:
    assert pvh_kernel(b"HdrS" + lzma.compress(NOT_PVH, format=lzma.FORMAT_XZ)) is None
    assert pvh_kernel(b"HdrS" + bytes(1000)) is None
