from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.names import validate_ifname, validate_name


@pytest.mark.parametrize("value", ["vm1", "web-01", "db_2.example", "a", "A+B", "x" * 64, "9lives"])
def test_valid_names(value: str) -> None:
    assert validate_name(value, "name", "domain") == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "name: a domain name is required (a non-empty string)"),
        (None, "name: a domain name is required (a non-empty string)"),
        (5, "name: a domain name is required (a non-empty string)"),
        ("x" * 65, f"name: domain name {'x' * 65!r} is 65 characters long; the limit is 64"),
        ("a/b", "name: domain name 'a/b' contains '/'; names become file names, use '-' or '_'"),
        ("a..b", "name: domain name 'a..b' contains '..'; names become file names"),
        ("..", "name: domain name '..' contains '..'; names become file names"),
        ("-rf", "name: domain name '-rf' starts with '-'; start with a letter or digit"),
        (".hidden", "name: domain name '.hidden' starts with '.'; start with a letter or digit"),
        ("my vm", "name: domain name 'my vm' contains ' '; use letters, digits and . _ + -"),
        ("vm;rm", "name: domain name 'vm;rm' contains ';'; use letters, digits and . _ + -"),
        ("vm$(x)", "name: domain name 'vm$(x)' contains '$' '(' ')'; use letters, digits and . _ + -"),
    ],
)
def test_invalid_names(value: object, message: str) -> None:
    with pytest.raises(SpecError) as err:
        validate_name(value, "name", "domain")
    assert str(err.value) == message


def test_interface_names_are_limited_to_ifnamsiz() -> None:
    assert validate_ifname("br-storage-0001") == "br-storage-0001"
    with pytest.raises(SpecError) as err:
        validate_ifname("br-storage-00001", "bridge")
    assert str(err.value) == "bridge: interface name 'br-storage-00001' is 16 characters long; the limit is 15"
