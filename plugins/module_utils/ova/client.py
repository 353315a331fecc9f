"""Reads an OVA archive safely: its descriptor, and each disk copied out to a scratch file (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
import tempfile

from .._core.errors import SpecError
from .model import safe_member

MAX_DESCRIPTOR = 4 << 20  # an OVF descriptor is small XML; a huge one is not read


def descriptor(archive: tarfile.TarFile, src: str) -> str:
    """The text of the archive's .ovf descriptor (the first one, a plain regular file)."""
    for member in archive.getmembers():
        if member.name.endswith(".ovf"):
            if not member.isreg() or member.size > MAX_DESCRIPTOR:
                raise SpecError("src", f"{src}: {member.name} is not a regular file of at most {MAX_DESCRIPTOR} bytes")
            handle = archive.extractfile(member)
            return handle.read().decode("utf-8") if handle is not None else ""
    raise SpecError("src", f"{src} holds no .ovf descriptor; it is not an OVA")


def copy_out(archive: tarfile.TarFile, name: str, src: str, scratch: contextlib.ExitStack) -> str:
    """The archive member ``name`` (a regular file) copied to a scratch file that ``scratch`` removes."""
    safe_member(name)
    try:
        member = archive.getmember(name)
    except KeyError:
        raise SpecError("src", f"{src}: the OVF names {name}, which the archive does not hold") from None
    if not member.isreg():
        raise SpecError("src", f"{src}: {name} is not a regular file (links and devices are not read)")
    handle, path = tempfile.mkstemp(prefix=".sharedvirt-ova-", dir="/var/tmp")
    scratch.callback(_remove, path)
    source = archive.extractfile(member)
    with os.fdopen(handle, "wb") as out:
        if source is not None:  # a regular member always has a reader
            shutil.copyfileobj(source, out, 1 << 20)
    return path


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
