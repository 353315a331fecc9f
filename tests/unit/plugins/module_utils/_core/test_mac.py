from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.mac import normalize_mac

CANONICAL = "52:54:00:fa:61:75"


@pytest.mark.parametrize(
    "value",
    [
        "52:54:00:FA:61:75",
        "52:54:00:fa:61:75",
        "52-54-00-fa-61-75",
        "52-54-00-FA-61-75",
        "5254.00fa.6175",
        "5254.00FA.6175",
        "525400fa6175",
        "525400FA6175",
        "  52:54:00:fa:61:75\n",
        "52:54:0:fa:61:75",
    ],
)
def test_normalize_mac_accepts_every_spelling(value: str) -> None:
    assert normalize_mac(value) == CANONICAL


FORMS = (
    "expected six hex pairs separated by ':' or '-' (52:54:00:fa:61:75), "
    "three groups of four separated by '.' (5254.00fa.6175) or 12 hex digits"
)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("52:54:00:fa:61", f"interfaces[0].mac: '52:54:00:fa:61' is not a MAC address; {FORMS}"),
        ("52:54:00:fa:61:75:00", f"interfaces[0].mac: '52:54:00:fa:61:75:00' is not a MAC address; {FORMS}"),
        ("52:54-00:fa:61:75", f"interfaces[0].mac: '52:54-00:fa:61:75' is not a MAC address; {FORMS}"),
        ("52:54:00:fa:61:7g", f"interfaces[0].mac: '52:54:00:fa:61:7g' is not a MAC address; {FORMS}"),
        ("525400fa617", f"interfaces[0].mac: '525400fa617' is not a MAC address; {FORMS}"),
        ("5254.00fa.617", f"interfaces[0].mac: '5254.00fa.617' is not a MAC address; {FORMS}"),
        ("", f"interfaces[0].mac: '' is not a MAC address; {FORMS}"),
        (525400, f"interfaces[0].mac: 525400 is not a MAC address; {FORMS}"),
        (None, f"interfaces[0].mac: None is not a MAC address; {FORMS}"),
    ],
)
def test_normalize_mac_rejects(value: object, message: str) -> None:
    with pytest.raises(SpecError) as err:
        normalize_mac(value, "interfaces[0].mac")
    assert str(err.value) == message


def test_unicast_required_for_nics() -> None:
    assert normalize_mac("01:00:5e:00:00:01") == "01:00:5e:00:00:01"
    with pytest.raises(SpecError) as err:
        normalize_mac("01:00:5E:00:00:01", "mac", unicast=True)
    assert str(err.value) == (
        "mac: '01:00:5E:00:00:01' is a multicast address; a NIC needs a unicast MAC (first byte even)"
    )
