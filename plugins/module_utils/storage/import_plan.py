"""Foreign images (VMware, VirtualBox, Hyper-V) into a pool's format: the guards and the command (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import os
import typing as t

# What qemu-img reads (vpc is the VHD format of Virtual PC and Hyper-V) and what a volume can hold.
SOURCE_FORMATS = ("raw", "qcow2", "vmdk", "vdi", "vpc", "vhdx")


def foreign_problems(info: t.Mapping[str, t.Any], src: str) -> t.List[str]:
    """Why a foreign image is refused beyond the upload guards: content outside the file that was checksummed.

    A vmdk descriptor names extent files (a crafted one names /etc/shadow or a block device); a qcow2 may keep
    its data in an external data file. Only images that are one self-contained file are converted.
    """
    problems = []
    specific = (info.get("format-specific") or {}).get("data") or {}
    here = os.path.realpath(src)
    for extent in specific.get("extents") or ():
        name = str(extent.get("filename") or "")
        if os.path.realpath(os.path.join(os.path.dirname(src), name)) != here:
            problems.append(
                f"its descriptor points at another file ({name}); only single-file vmdk images (monolithicSparse or "
                "streamOptimized) are imported - convert it with qemu-img first, or upload the flat extent as raw"
            )
    if specific.get("data-file"):
        problems.append(f"it keeps its data in an external file ({specific['data-file']})")
    return problems


def convert_command(src: str, source_format: str, target_format: str, dest: str) -> t.List[str]:
    """qemu-img convert with both formats stated: the source's is never probed, the output is sparse."""
    return ["qemu-img", "convert", "-q", "-f", source_format, "-O", target_format, src, dest]
