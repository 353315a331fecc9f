from __future__ import annotations

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import (
    LibvirtError,
    MissingLibrary,
    SpecError,
    UnsafeOperation,
)


def test_spec_error_names_path() -> None:
    err = SpecError("disks[1].format", "qcow2 cannot be shared by several domains; use format=raw")
    assert str(err) == "disks[1].format: qcow2 cannot be shared by several domains; use format=raw"
    assert err.details() == {"option": "disks[1].format"}
    assert str(SpecError("", "no path")) == "no path"


def test_libvirt_error_keeps_code_and_message() -> None:
    err = LibvirtError("start domain 'vm1'", "Cannot get interface MTU", code=38, domain=0, hint="is the bridge up?")
    assert str(err) == "start domain 'vm1': Cannot get interface MTU (is the bridge up?)"
    assert err.details() == {"libvirt_error": {"code": 38, "domain": 0, "message": "Cannot get interface MTU"}}


def test_unsafe_operation_names_the_consent_flag() -> None:
    err = UnsafeOperation("pool 'vms' holds 3 volumes; set purge=true to delete them", consent="purge")
    assert err.details() == {"consent_option": "purge"}


def test_missing_library_says_where_and_how() -> None:
    assert str(MissingLibrary("libvirt-python", "Ansible controller")) == (
        "the Python library 'libvirt-python' is required on the Ansible controller; "
        "install it into the interpreter Ansible uses there (pip install libvirt-python)"
    )
