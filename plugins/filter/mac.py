# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``mac`` filter: any MAC spelling -> one canonical form (documented in mac.yml)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.mac import normalize_mac

STYLES = {
    "colon": ":".join,
    "hyphen": "-".join,
    "dot": lambda pairs: ".".join("".join(pairs[i : i + 2]) for i in (0, 2, 4)),
    "bare": "".join,
}


def mac(value: t.Any, style: str = "colon", upper: bool = False) -> str:
    """Normalise ``value`` (52:54:00:FA:61:75, 52-54-00-fa-61-75, 5254.00fa.6175, 525400fa6175)."""
    if style not in STYLES:
        raise AnsibleFilterError(f"mac: style {style!r} is not one of {', '.join(STYLES)}")
    try:
        pairs = normalize_mac(value, path="mac").split(":")
    except SpecError as err:
        raise AnsibleFilterError(str(err)) from None
    text = STYLES[style](pairs)
    return text.upper() if upper else text


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., str]]:
        return {"mac": mac}
