from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.units import from_libvirt, human, to_bytes


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("512M", 512 * 1024**2),
        ("512MiB", 512 * 1024**2),
        ("512m", 512 * 1024**2),
        ("2 GiB", 2 * 1024**3),
        ("2G", 2 * 1024**3),
        ("2GB", 2 * 10**9),
        ("1KB", 1000),
        ("1KiB", 1024),
        ("1k", 1024),
        ("1.5G", 1536 * 1024**2),
        ("0.5KiB", 512),
        ("4096", 4096),
        ("4096B", 4096),
        ("7 bytes", 7),
        ("1T", 1024**4),
        ("1TB", 10**12),
        ("1P", 1024**5),
        ("1E", 1024**6),
        (1048576, 1048576),
        (0, 0),
        ("  64 MiB ", 64 * 1024**2),
    ],
)
def test_to_bytes_valid(value: object, expected: int) -> None:
    assert to_bytes(value, "capacity") == expected


def test_to_bytes_default_unit_applies_to_bare_numbers() -> None:
    assert to_bytes(128, "memory", default_unit="MiB") == 128 * 1024**2
    assert to_bytes("128", "memory", default_unit="MiB") == 128 * 1024**2
    assert to_bytes("1G", "memory", default_unit="MiB") == 1024**3


UNITS_HELP = "use B, KiB, MiB, GiB, TiB (1024-based) or KB, MB, GB, TB (1000-based)"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("12X", f"capacity: '12X' has an unknown unit 'X'; {UNITS_HELP}"),
        ("5 MiBs", f"capacity: '5 MiBs' has an unknown unit 'MiBs'; {UNITS_HELP}"),
        ("lots", "capacity: 'lots' is not a size; give a number with a unit such as 512MiB"),
        ("", "capacity: '' is not a size; give a number with a unit such as 512MiB"),
        ("-5M", "capacity: '-5M' is not a size; give a number with a unit such as 512MiB"),
        ("1.3B", "capacity: '1.3B' is not a whole number of bytes"),
        (True, "capacity: True is not a size; give a number with a unit such as 512MiB"),
        (1.5, "capacity: 1.5 is not a size; give a number with a unit such as 512MiB"),
        ([1], "capacity: [1] is not a size; give a number with a unit such as 512MiB"),
    ],
)
def test_to_bytes_invalid(value: object, message: str) -> None:
    with pytest.raises(SpecError) as err:
        to_bytes(value, "capacity")
    assert str(err.value) == message
    assert err.value.path == "capacity"


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [("131072", "KiB", 128 * 1024**2), ("131072", None, 128 * 1024**2), ("1", "GiB", 1024**3), (None, "KiB", None)],
)
def test_from_libvirt(text: str | None, unit: str | None, expected: int | None) -> None:
    assert from_libvirt(text, unit) == expected


@pytest.mark.parametrize(
    ("size", "text"), [(1024**3, "1GiB"), (1536 * 1024**2, "1536MiB"), (1000, "1000B"), (0, "0B"), (2048, "2KiB")]
)
def test_human_round_trips(size: int, text: str) -> None:
    assert human(size) == text
    assert to_bytes(text) == size
