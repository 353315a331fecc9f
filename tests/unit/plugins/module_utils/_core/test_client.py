from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core import client as _client
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import (
    AuthError,
    ConnectError,
    LibvirtError,
    NotFoundError,
)


@pytest.mark.parametrize(
    ("option", "env", "expected"),
    [
        ("qemu+ssh://hv1/system", "test:///default", "qemu+ssh://hv1/system"),
        (None, "qemu:///session", "qemu:///session"),
        (None, None, "qemu:///system"),
        ("", None, "qemu:///system"),
    ],
)
def test_resolve_uri(monkeypatch: pytest.MonkeyPatch, option: str | None, env: str | None, expected: str) -> None:
    if env is None:
        monkeypatch.delenv("LIBVIRT_DEFAULT_URI", raising=False)
    else:
        monkeypatch.setenv("LIBVIRT_DEFAULT_URI", env)
    assert _client.resolve_uri(option) == expected


@pytest.mark.parametrize(("number", "text"), [(9000000, "9.0.0"), (7002022, "7.2.22"), (0, "")])
def test_version(number: int, text: str) -> None:
    assert _client._version(number) == text


def test_translate_passes_other_errors_as_plain_libvirt_error() -> None:
    err = _client.translate(ValueError("boom"), "define domain 'x'")
    assert isinstance(err, LibvirtError) and not isinstance(err, (NotFoundError, ConnectError, AuthError))
    assert str(err) == "define domain 'x': boom"


def test_libvirt_errors_leaves_other_exceptions_alone() -> None:
    with pytest.raises(KeyError), _client.libvirt_errors("anything"):
        raise KeyError("k")


def test_require_libvirt_without_binding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_client, "libvirt", None)
    with pytest.raises(Exception) as err:
        _client.require_libvirt("Ansible controller")
    assert "'libvirt-python' is required on the Ansible controller" in str(err.value)
