"""Domains as the earlier steps of one task left them, while none of its steps has changed anything (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .plan import DomainActual


class SeenDomains:
    """Each domain as a step that changed nothing read it - its definition and state, and its recovery record
    confirmed - by hypervisor URI and name. A converge task keeps them for its later steps and forgets them when a
    step changes anything: a VM that one step defines and a later one starts is read once in a rerun."""

    def __init__(self) -> None:
        self._seen: t.Dict[t.Tuple[str, str], DomainActual] = {}

    def get(self, host: str, name: str) -> t.Optional[DomainActual]:
        return self._seen.get((host, name))

    def keep(self, host: str, name: str, actual: DomainActual) -> None:
        self._seen[(host, name)] = actual

    def forget(self) -> None:
        self._seen = {}
