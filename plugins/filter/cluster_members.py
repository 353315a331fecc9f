# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``cluster_members`` filter: a cluster's VMs on one hypervisor as domains items (cluster_members.yml)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError


def cluster_members(
    names: t.Sequence[str],
    placed: t.Mapping[str, str],
    host: str,
    overrides: t.Optional[t.Mapping[str, t.Mapping[str, t.Any]]] = None,
    system_disk: t.Optional[t.Mapping[str, t.Any]] = None,
    **common: t.Any,
) -> t.List[t.Dict[str, t.Any]]:
    missing = [name for name in names if name not in placed]
    if missing:
        raise AnsibleFilterError(f"cluster_members: {missing[0]} has no hypervisor in placed")
    members = []
    for name in names:
        if placed[name] != host:
            continue
        item: t.Dict[str, t.Any] = dict((overrides or {}).get(name) or {})
        item.update({key: value for key, value in common.items() if value is not None})
        if system_disk:
            own = {
                "target": system_disk["target"],
                "format": system_disk.get("format", "qcow2"),
                "source": {"pool": system_disk["pool"], "volume": f"{name}.{system_disk.get('format', 'qcow2')}"},
            }
            item["disks"] = [*(item.get("disks") or []), own]
        item["name"] = name
        members.append(item)
    return members


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"cluster_members": cluster_members}
