from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from testbed.appliance_image import MODULES, appliance_image
from testbed.guest_image import (
    Cpio,
    GuestImageError,
    _guest_path,
    build_initrd,
    module_order,
)

MODULES_DEP = """kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko \
kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko \
kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
kernel/net/8021q/8021q.ko.xz: kernel/net/802/garp.ko
kernel/net/802/garp.ko:
"""


def names(paths: list[str]) -> list[str]:
    return [p.rsplit("/", 1)[-1] for p in paths]


def test_module_order_puts_dependencies_first_once() -> None:
    order = module_order(MODULES_DEP, [], ["virtio_pci", "virtio_net"])
    assert names(order) == [
        "virtio_ring.ko",
        "virtio.ko",
        "virtio_pci_modern_dev.ko",
        "virtio_pci.ko",
        "failover.ko",
        "net_failover.ko",
        "virtio_net.ko",
    ]


def test_module_order_skips_builtins_and_reads_compressed_names() -> None:
    assert names(module_order(MODULES_DEP, ["kernel/drivers/virtio/virtio_pci.ko"], ["virtio_pci", "8021q"])) == [
        "garp.ko",
        "8021q.ko.xz",
    ]


def test_module_order_unknown_module() -> None:
    with pytest.raises(GuestImageError) as err:
        module_order(MODULES_DEP, [], ["virtio_gpu"])
    assert str(err.value) == "kernel module 'virtio_gpu' is neither built in nor in modules.dep"


def parse_newc(data: bytes) -> dict[str, tuple[int, bytes]]:
    """A minimal reader, written from the format description, to check what Cpio writes."""
    out: dict[str, tuple[int, bytes]] = {}
    pos = 0
    while True:
        header = data[pos : pos + 110].decode()
        assert header.startswith("070701")
        fields = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = data[pos + 110 : pos + 110 + namesize - 1].decode()
        pos = (pos + 110 + namesize + 3) & ~3
        body = data[pos : pos + size]
        pos = (pos + size + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out[name] = (mode, body)


def test_cpio_newc_layout() -> None:
    archive = Cpio()
    archive.file("etc/a/b.txt", b"hello")
    archive.symlink("bin/sh", "busybox")
    archive.chardev("dev/console", 5, 1)
    entries = parse_newc(archive.finish())
    assert entries["etc"][0] == 0o040755 and entries["etc/a"][0] == 0o040755
    assert entries["etc/a/b.txt"] == (0o100644, b"hello")
    assert entries["bin/sh"] == (0o120777, b"busybox")
    assert entries["dev/console"][0] == 0o020600


def test_build_initrd_is_deterministic_and_marks_executables() -> None:
    files = {"init": b"#!/bin/sh\n", "etc/x": b"x"}
    first = build_initrd(files, {"init"})
    assert first == build_initrd(dict(reversed(list(files.items()))), {"init"})
    entries = parse_newc(gzip.decompress(first))
    assert entries["init"] == (0o100755, b"#!/bin/sh\n")
    assert entries["etc/x"][0] == 0o100644
    assert entries["dev/console"][0] == 0o020600


def test_the_appliance_image_ships_lio_modules_with_their_dependencies_and_the_appliance_script(
    tmp_path: Path,
) -> None:
    image = appliance_image(str(tmp_path))
    entries = parse_newc(gzip.decompress(Path(image.initrd).read_bytes()))
    assert entries["sbin/svkvm-appliance"][0] == 0o100755
    script = entries["sbin/svkvm-appliance"][1].decode()
    boot = entries["etc/modules.boot"][1].decode().split()
    for module in MODULES:  # shipped and loaded at boot, after their dependencies
        assert module in boot and f"lib/modules/{module}.ko" in entries, boot
    assert boot.index("target_core_mod") < boot.index("iscsi_target_mod")
    assert all(f"lib/modules/{name}.ko" in entries for name in boot)
    assert 'set_attr "$tpg/auth/password" "$t_password"' in script and 'echo "SVKVM-TARGET $iqn' in script
    assert "tgtd" not in script
    # A pair's primary: the initiator and mdadm, with their libraries, where their packages put them.
    assert "sbin/iscsistart" in entries and "sbin/mdadm" in entries
    assert any("libopeniscsiusr.so.0" in name for name in entries)
    # The guest's /init starts it only when asked, with the settings disk's serial.
    assert '/sbin/svkvm-appliance "$sv_appliance" &' in entries["init"][1].decode()
    assert appliance_image(str(tmp_path)).key == image.key  # cached by content


def test_files_of_an_unpacked_package_go_where_the_package_puts_them() -> None:
    roots = ["/var/cache/sharedvirt-kvm/debs/open-iscsi", "/var/cache/sharedvirt-kvm/debs/libopeniscsiusr/"]
    assert _guest_path("/var/cache/sharedvirt-kvm/debs/open-iscsi/sbin/iscsistart", roots) == "/sbin/iscsistart"
    lib = "/var/cache/sharedvirt-kvm/debs/libopeniscsiusr/usr/lib/x86_64-linux-gnu/libopeniscsiusr.so.0"
    assert _guest_path(lib, roots) == "/usr/lib/x86_64-linux-gnu/libopeniscsiusr.so.0"
    assert _guest_path("/lib/x86_64-linux-gnu/libc.so.6", roots) == "/lib/x86_64-linux-gnu/libc.so.6"  # the host's
    assert (
        _guest_path("/var/cache/sharedvirt-kvm/debs/open-iscsi-extra/x", roots)
        == "/var/cache/sharedvirt-kvm/debs/open-iscsi-extra/x"
    )
