from __future__ import annotations

import typing as t

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.model import DomainSpec
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.paths_model import (
    allowed_roots,
    confine_paths,
    declared_paths,
)

POOLS = ["/var/lib/libvirt/images", "/dev/disk/by-path", "relative-is-ignored"]


def spec(**options: object) -> DomainSpec:
    return DomainSpec.from_params({"name": "vm", **options})


def test_every_host_file_of_the_declaration_is_found() -> None:
    declared = spec(
        kernel="/k",
        initrd="/i",
        disks=[{"target": "vda", "source": {"file": "/d"}}, {"target": "vdb", "source": {"dev": "/dev/sdb"}}],
        serial={"type": "file", "path": "/s"},
    )
    assert declared_paths(declared) == [
        ("kernel", "/k"),
        ("initrd", "/i"),
        ("disks[0].source.file", "/d"),
        ("serial.path", "/s"),
    ]  # a block device (source.dev) is passed through as given


@pytest.mark.parametrize(
    "path",
    ["/var/lib/libvirt/images/vm.qcow2", "/var/lib/libvirt/images/sub/dir/vm.raw", "/srv/boot/vmlinuz", "//srv/boot/x"],
)
def test_files_in_a_pool_directory_or_an_allowed_one_pass(path: str) -> None:
    confine_paths(spec(kernel=path), lambda: POOLS, allowed_roots("allowed_paths", ["/srv/boot/"]))


def test_the_pools_are_asked_for_only_when_a_path_is_outside_allowed_paths() -> None:
    asked: t.List[int] = []

    def pool_dirs() -> t.List[str]:
        asked.append(1)
        return POOLS

    allowed = allowed_roots("allowed_paths", ["/srv/boot"])
    confine_paths(spec(kernel="/srv/boot/vmlinuz", initrd="/srv/boot/initrd"), pool_dirs, allowed)
    assert not asked
    confine_paths(spec(kernel="/srv/boot/vmlinuz", initrd="/var/lib/libvirt/images/initrd"), pool_dirs, allowed)
    assert asked == [1]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "/etc/shadow",
            "/etc/shadow is outside every storage pool directory and allowed_paths; put the file in a pool",
        ),
        ("/var/lib/libvirt/images-other/x", "is outside every storage pool directory"),  # a prefix is not a parent
        ("/var/lib/libvirt/images/../../../etc/shadow", "climbs out of its directory (..)"),
        ("vmlinuz", "vmlinuz is not an absolute path on the hypervisor"),
    ],
)
def test_files_elsewhere_are_refused_naming_the_option(path: str, message: str) -> None:
    with pytest.raises(SpecError) as refused:
        confine_paths(spec(serial={"type": "file", "path": path}), lambda: POOLS, [])
    assert str(refused.value).startswith("serial.path: ") and message in str(refused.value)


def test_allowed_paths_must_be_absolute_and_plain() -> None:
    with pytest.raises(SpecError, match=r"^allowed_paths\[1\]: boot is not an absolute path"):
        allowed_roots("allowed_paths", ["/ok", "boot"])
    with pytest.raises(SpecError, match=r"^allowed_paths\[0\]: /srv/\.\./etc climbs out"):
        allowed_roots("allowed_paths", ["/srv/../etc"])
