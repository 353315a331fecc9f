"""The uncompressed kernel inside a bzImage, for QEMU's PVH direct boot.

A bzImage decompresses itself before the kernel starts. Under TCG that is about 6 s of a 13 s boot of the
embedded guest (Debian compresses its kernel with xz). QEMU boots an ELF kernel that carries a PVH entry point
(the Xen note PHYS32_ENTRY, present when the kernel is built with CONFIG_PVH) straight from its segments, with
no decompression. UEFI firmware cannot boot such an ELF, so the bzImage stays for UEFI guests.
"""

from __future__ import annotations

import lzma
import struct
import typing as t
import zlib

PT_NOTE = 4
XEN_ELFNOTE_PHYS32_ENTRY = 18
# Where a compressed payload can start, with how to decompress it. zstd (other distributions) has no
# decompressor in the standard library: such kernels keep the bzImage boot.
_PAYLOADS: t.Tuple[t.Tuple[bytes, t.Callable[[bytes], bytes]], ...] = (
    (b"\xfd7zXZ\x00", lambda data: lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)),
    (b"\x1f\x8b\x08", lambda data: zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(data)),
)


def pvh_kernel(bzimage: bytes) -> t.Optional[bytes]:
    """The ELF kernel inside ``bzimage`` when it has a PVH entry point, else None (boot the bzImage then)."""
    for magic, decompress in _PAYLOADS:
        start = bzimage.find(magic)
        while start >= 0:
            try:
                elf = decompress(bzimage[start:])
            except (lzma.LZMAError, zlib.error, EOFError):
                elf = b""
            if has_pvh_entry(elf):
                return elf
            start = bzimage.find(magic, start + 1)
    return None


def has_pvh_entry(elf: bytes) -> bool:
    """Whether ``elf`` is a 64-bit little-endian ELF with the Xen PHYS32_ENTRY note (a PVH entry point)."""
    if len(elf) < 64 or elf[:6] != b"\x7fELF\x02\x01":
        return False
    (phoff,) = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for index in range(phnum):
        p_type, _flags, offset, _vaddr, _paddr, filesz = struct.unpack_from("<IIQQQQ", elf, phoff + index * phentsize)
        if p_type == PT_NOTE and _notes_have(elf[offset : offset + filesz], b"Xen\0", XEN_ELFNOTE_PHYS32_ENTRY):
            return True
    return False


def _notes_have(notes: bytes, name: bytes, note_type: int) -> bool:
    pos = 0
    while pos + 12 <= len(notes):
        namesz, descsz, kind = struct.unpack_from("<III", notes, pos)
        pos += 12
        if notes[pos : pos + namesz] == name and kind == note_type:
            return True
        pos += _aligned(namesz) + _aligned(descsz)
    return False


def _aligned(size: int) -> int:
    return (size + 3) & ~3
