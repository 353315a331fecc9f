from __future__ import annotations

from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.import_plan import (
    convert_command,
    foreign_problems,
)


def vmdk(*extents: str) -> dict[str, object]:
    return {
        "format": "vmdk",
        "format-specific": {"type": "vmdk", "data": {"extents": [{"filename": e} for e in extents]}},
    }


def test_a_single_file_vmdk_passes_and_one_that_names_other_files_does_not() -> None:
    assert foreign_problems(vmdk("disk.vmdk"), "/images/disk.vmdk") == []
    assert foreign_problems(vmdk("/images/disk.vmdk"), "/images/disk.vmdk") == []
    [problem] = foreign_problems(vmdk("/etc/shadow"), "/images/disk.vmdk")
    assert problem.startswith("its descriptor points at another file (/etc/shadow); only single-file vmdk images")
    assert len(foreign_problems(vmdk("disk-flat.vmdk", "../../dev/sda"), "/images/disk.vmdk")) == 2


def test_a_qcow2_with_an_external_data_file_is_refused() -> None:
    info = {"format": "qcow2", "format-specific": {"type": "qcow2", "data": {"data-file": "/dev/sda"}}}
    assert foreign_problems(info, "/images/x.qcow2") == ["it keeps its data in an external file (/dev/sda)"]
    assert foreign_problems({"format": "vdi"}, "/images/x.vdi") == []


def test_the_conversion_states_both_formats() -> None:
    assert convert_command("/i/a.vdi", "vdi", "raw", "/var/tmp/x") == [
        "qemu-img", "convert", "-q", "-f", "vdi", "-O", "raw", "/i/a.vdi", "/var/tmp/x",
    ]  # fmt: skip
