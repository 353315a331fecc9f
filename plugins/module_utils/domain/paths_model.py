"""Host files a domain definition names (kernel, initrd, disk files, serial logs), confined to allowed roots (pure).

QEMU runs as root-owned libvirt asks it to: a definition that names /etc/shadow as a disk or a serial log
reads or overwrites it. Every such path a task declares must lie inside a storage pool's directory or a
directory the task allows with ``allowed_paths``.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import posixpath
import typing as t

from .._core.errors import SpecError
from .model import DomainSpec


def declared_paths(spec: DomainSpec) -> t.List[t.Tuple[str, str]]:
    """(option, path) of every host file the declaration names."""
    found = [(option, getattr(spec, option)) for option in ("kernel", "initrd") if getattr(spec, option)]
    for i, disk in enumerate(spec.disks or []):
        if disk.source is not None and disk.source.file:
            found.append((f"disks[{i}].source.file", disk.source.file))
    if spec.serial is not None and spec.serial.path:
        found.append(("serial.path", spec.serial.path))
    return found


def allowed_roots(option: str, paths: t.Sequence[str]) -> t.List[str]:
    """``allowed_paths`` checked: absolute directories without ``..``, normalized."""
    return [_clean(f"{option}[{i}]", path) for i, path in enumerate(paths)]


def confine_paths(spec: DomainSpec, pool_dirs: t.Callable[[], t.Sequence[str]], allowed: t.Sequence[str]) -> None:
    """Refuse a declared host path outside every pool directory and every allowed directory. The pools'
    directories are asked for (libvirt calls) only when a path lies outside every allowed directory."""
    outside = [(option, path) for option, path in declared_paths(spec) if not _within(_clean(option, path), allowed)]
    if not outside:
        return
    roots = [posixpath.normpath("/" + p.lstrip("/")) for p in pool_dirs() if p.startswith("/")]
    for option, path in outside:
        if not _within(_clean(option, path), roots):
            raise SpecError(
                option,
                f"{path} is outside every storage pool directory and allowed_paths; put the file in a pool, or add "
                f"its directory to allowed_paths",
            )


def _clean(option: str, path: str) -> str:
    if not path.startswith("/"):
        raise SpecError(option, f"{path} is not an absolute path on the hypervisor")
    if ".." in path.split("/"):
        raise SpecError(option, f"{path} climbs out of its directory (..); give the path without it")
    return posixpath.normpath("/" + path.lstrip("/"))  # normpath keeps a leading "//"


def _within(path: str, roots: t.Sequence[str]) -> bool:
    return any(_inside(path, root) for root in roots)


def _inside(path: str, root: str) -> bool:
    return root == "/" or path == root or path.startswith(root.rstrip("/") + "/")
