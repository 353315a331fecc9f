from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sharedvirt.kvm.plugins.filter.mac import FilterModule, mac


@pytest.mark.parametrize("spelling", ["52:54:00:FA:61:75", "52-54-00-fa-61-75", "5254.00fa.6175", "525400FA6175"])
def test_every_spelling_becomes_libvirts_form(spelling: str) -> None:
    assert mac(spelling) == "52:54:00:fa:61:75"


def test_output_styles() -> None:
    assert mac("52:54:0:fa:61:75", style="dot") == "5254.00fa.6175"
    assert mac("5254.00fa.6175", style="hyphen", upper=True) == "52-54-00-FA-61-75"
    assert mac("52-54-00-fa-61-75", style="bare") == "525400fa6175"


def test_errors_name_the_accepted_forms() -> None:
    with pytest.raises(AnsibleFilterError) as bad:
        mac("52:54:00:fa:61")
    assert str(bad.value).startswith("mac: '52:54:00:fa:61' is not a MAC address; expected six hex pairs")
    with pytest.raises(AnsibleFilterError) as style:
        mac("52:54:00:fa:61:75", style="cisco")
    assert str(style.value) == "mac: style 'cisco' is not one of colon, hyphen, dot, bare"


def test_registered_as_mac() -> None:
    assert FilterModule().filters() == {"mac": mac}
