"""Module parameters for the embedded test guest, as a user would write them."""

from __future__ import annotations

import typing as t
from pathlib import Path

from .guest import guest_image, serial_path
from .lab import Lab
from .slots import take as take_guest_slot

URI = "qemu:///system"


def guest_params(lab: Lab, name: str, network: str | None, cmdline: str = "", **extra: t.Any) -> dict[str, t.Any]:
    """sharedvirt.kvm.domain options for the embedded guest; ``lab`` removes it afterwards."""
    image = guest_image()
    take_guest_slot()
    lab.domains.append(name)  # cleanup removes it even when the test fails halfway
    serial = serial_path(name)
    lab.files.append(serial)
    params: dict[str, t.Any] = {
        "uri": URI,
        "name": name,
        # No type: a new domain gets what the host can run (qemu here, without VT-x/AMD-V).
        "memory": "192MiB",
        "vcpus": 1,
        "max_vcpus": 2,
        "kernel": image.bzimage if _needs_bzimage(extra) else image.kernel,
        "initrd": image.initrd,
        "cmdline": f"{image.cmdline} sv_hostname={name} {cmdline}".strip(),
        "interfaces": [{"source": {"network": network}, "model": "virtio"}] if network else [],
        "serial": {"type": "file", "path": str(serial)},
        "guest_agent": True,
        "memballoon": "virtio",
        # Where the guest's kernel, initrd and serial log live: no storage pool holds them.
        "allowed_paths": [str(Path(image.kernel).parent), str(serial.parent)],
    }
    params.update(extra)
    return params


def _needs_bzimage(options: t.Mapping[str, t.Any]) -> bool:
    """UEFI firmware boots only the bzImage. With a TPM, SeaBIOS's ACPI tables grow below the room QEMU keeps
    for them when it places a PVH kernel's initrd (top of RAM): the initrd overwrites them, the guest runs
    without ACPI, ignores the power button and halts instead of powering off. The bzImage's initrd sits lower."""
    return options.get("firmware") == "efi" or bool(options.get("tpm"))


def serial_path_of(params: dict[str, t.Any]) -> Path:
    return Path(params["serial"]["path"])
