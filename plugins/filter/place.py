# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``place`` filter: VM names -> hypervisors (documented in place.yml)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.units import to_bytes
from ansible_collections.sharedvirt.kvm.plugins.module_utils.placement.plan import place as choose


def place(
    vms: t.Sequence[str],
    hosts: t.Union[t.Sequence[t.Mapping[str, t.Any]], t.Mapping[str, int]],
    existing: t.Optional[t.Mapping[str, str]] = None,
    strategy: str = "spread",
    vm_memory: t.Any = 0,
) -> t.Dict[str, str]:
    if isinstance(hosts, t.Mapping):  # name -> free memory
        hosts = [{"name": name, "free_memory": free} for name, free in hosts.items()]
    try:
        return choose(list(vms), list(hosts), existing, strategy, to_bytes(vm_memory, "vm_memory"))
    except SpecError as err:
        raise AnsibleFilterError(f"place: {err}") from None


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"place": place}
