# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vm_cluster role's filters: ``cluster_members``, a cluster's VMs on one hypervisor as domains items, and
``cluster_steps``, the converge steps of the whole cluster (documented in cluster_members.yml, cluster_steps.yml)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

Items = t.List[t.Dict[str, t.Any]]  # domains items


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


def cluster_steps(
    names: t.Sequence[str],
    placed: t.Mapping[str, str],
    uris: t.Mapping[str, str],
    members: t.Optional[t.Mapping[str, t.Any]] = None,
    template: t.Optional[t.Mapping[str, str]] = None,
    shared_disks: t.Sequence[t.Mapping[str, t.Any]] = (),
    defaults: t.Optional[t.Mapping[str, t.Any]] = None,
    state: str = "running",
) -> t.List[t.Dict[str, t.Any]]:
    """Everything on every hypervisor in the order a cluster needs it: all clones, the shared disks made once
    and rescanned where VMs use them, all definitions, the shared disks attached, then the VMs' state."""
    options = dict(members or {})
    hosts = [host for host in uris if host in placed.values()]
    unknown = sorted({placed[name] for name in names if name in placed} - set(uris))
    if unknown:
        raise AnsibleFilterError(f"cluster_steps: hypervisor {unknown[0]} of placed has no URI in uris")
    on = {host: cluster_members(names, placed, host, **options) for host in hosts}
    on = {host: items for host, items in on.items() if items}
    peers = list(uris.values())
    steps: t.List[t.Dict[str, t.Any]] = []
    if template:
        steps += [_clones(uris[host], template, items, peers) for host, items in on.items()]
    if on:
        first = uris[next(iter(uris))]
        steps += [_shared_volume(first, disk, peers) for disk in shared_disks if disk.get("capacity") is not None]
    pools = list(dict.fromkeys(disk["pool"] for disk in shared_disks))
    steps += [{"pool": {"uri": uris[host], "name": pool, "refresh": True}} for host in on for pool in pools]
    steps += [_domains(uris[host], items, peers, defaults, "present") for host, items in on.items()]
    steps += [_attach(uris[host], disk, items, peers) for host, items in on.items() for disk in shared_disks]
    if state != "present":
        steps += [_domains(uris[host], items, peers, defaults, state) for host, items in on.items()]
    return steps


def _clones(
    uri: str, template: t.Mapping[str, str], items: t.List[t.Dict[str, t.Any]], peers: t.List[str]
) -> t.Dict[str, t.Any]:
    volumes = [{"name": f"{item['name']}.qcow2"} for item in items]
    defaults = {"pool": template["pool"], "clone_from": {"name": template["volume"]}}
    return {"volumes": {"uri": uri, "defaults": defaults, "volumes": volumes, "peers": peers}}


def _shared_volume(uri: str, disk: t.Mapping[str, t.Any], peers: t.List[str]) -> t.Dict[str, t.Any]:
    volume = {"pool": disk["pool"], "name": disk["volume"], "format": "raw", "capacity": disk["capacity"]}
    # Its users are on every hypervisor: the volume's report and guards ask them all.
    return {"volume": {"uri": uri, "allocation": "full", **volume, "peers": peers}}


def _domains(
    uri: str,
    items: t.List[t.Dict[str, t.Any]],
    peers: t.List[str],
    defaults: t.Optional[t.Mapping[str, t.Any]],
    state: str,
) -> t.Dict[str, t.Any]:
    return {"domains": {"uri": uri, "defaults": {**(defaults or {}), "state": state}, "domains": items, "peers": peers}}


def _attach(uri: str, disk: t.Mapping[str, t.Any], items: Items, peers: t.List[str]) -> t.Dict[str, t.Any]:
    attach: t.Dict[str, t.Any] = {
        "uri": uri,
        "volume": {"pool": disk["pool"], "name": disk["volume"]},
        "target": disk["target"],
        "domains": [item["name"] for item in items],
        "peers": peers,
    }
    if disk.get("serial") is not None:
        attach["serial"] = disk["serial"]
    return {"shared_disk": attach}


class FilterModule:
    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"cluster_members": cluster_members, "cluster_steps": cluster_steps}
