from __future__ import annotations

import pytest
from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.template import Templar, trust_as_template

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import LibvirtError, MissingLibrary, SpecError
from ansible_collections.sharedvirt.kvm.plugins.plugin_utils._plugin import (
    ansible_errors,
    make_unsafe,
    to_ansible_error,
)


def test_collection_errors_become_the_requested_ansible_error() -> None:
    with pytest.raises(AnsibleLookupError) as err, ansible_errors(AnsibleLookupError):
        raise SpecError("_terms[0]", "'zz' is not a MAC address")
    assert str(err.value) == "_terms[0]: 'zz' is not a MAC address"


def test_libvirt_code_is_kept() -> None:
    err = to_ansible_error(LibvirtError("connect to qemu+ssh://hv1/system", "Cannot recv data", code=38))
    assert isinstance(err, AnsibleError) and not isinstance(err, AnsibleLookupError)
    assert str(err) == "connect to qemu+ssh://hv1/system: Cannot recv data [libvirt error 38]"


def test_missing_library_says_controller() -> None:
    err = to_ansible_error(MissingLibrary("libvirt-python", "Ansible controller"))
    assert str(err).endswith("(plugins run on the Ansible controller)")


def test_other_exceptions_pass() -> None:
    with pytest.raises(ZeroDivisionError), ansible_errors():
        print(1 / 0)


def test_make_unsafe_marks_guest_values() -> None:
    # Even a value that arrived marked as a template is left as text once it went through make_unsafe.
    text = trust_as_template("{{ 6 * 7 }}")
    assert Templar(loader=None).template(text) == 42
    value = make_unsafe({"hostname": text})
    assert Templar(loader=None).template(value["hostname"]) == "{{ 6 * 7 }}"
