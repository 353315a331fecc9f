"""Pure planning for host bridges: a snapshot of the host's links (and OVS) -> executor steps.

Safety rules: a port that belongs to another bridge moves only with ``steal``; a port that carries
the host's addresses is enslaved only with ``move_addresses`` (its addresses and routes move onto
the bridge, so the host stays reachable); guests' tap ports are never removed by ``purge_ports``;
removing a bridge that carries guest ports needs ``force``.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import ConflictError, SpecError, UnsafeOperation
from .._core.plan import Change, Plan, Step, compare, match_items, overlay
from .._core.spec import facts_of
from .host_model import HostNet, OvsPort, vlan_action
from .model import BridgePort, BridgeSpec
from .persist import persist_files

BRIDGE_ATTRS = ("stp", "forward_delay", "hello_time", "max_age", "priority", "vlan_filtering", "default_pvid")
OVS_BRIDGE_ATTRS = ("stp", "datapath_type")


@dataclasses.dataclass
class BridgeRequest:
    state: str = "present"
    persist: str = "none"
    purge_ports: bool = False
    steal: bool = False
    move_addresses: bool = False
    force: bool = False


def actual_bridge(name: str, host: HostNet) -> t.Optional[BridgeSpec]:
    """The bridge ``name`` as the host has it, in the declaration's terms; None when there is none."""
    ovs = (host.ovs or {}).get(name)
    link = host.links.get(name)
    if ovs is not None:
        return BridgeSpec(
            name=name,
            type="ovs",
            ports=[BridgePort(name=p.name, tag=p.tag, trunks=p.trunks or None) for p in _sorted(ovs.ports.values())],
            stp=ovs.stp,
            mtu=link.mtu if link else ovs.mtu,
            addresses=sorted(link.addresses) if link else [],
            datapath_type=ovs.datapath_type,
        )
    if link is None or link.kind != "bridge":
        return None
    ports = []
    for port in sorted((lk for lk in host.links.values() if lk.master == name), key=lambda lk: lk.name):
        ports.append(
            BridgePort(
                name=port.name,
                parent=port.vlan[0] if port.vlan else None,
                vlan=port.vlan[1] if port.vlan else None,
                cost=port.port.get("cost"),
                priority=port.port.get("priority"),
                pvid=port.port.get("pvid"),
                vids=port.port.get("vids"),
            )
        )
    return BridgeSpec(
        name=name,
        type="linux",
        ports=ports,
        mtu=link.mtu,
        addresses=sorted(link.addresses),
        **{attr: link.bridge.get(attr) for attr in BRIDGE_ATTRS},
    )


def _sorted(ports: t.Iterable[OvsPort]) -> t.List[OvsPort]:
    return sorted(ports, key=lambda p: p.name)


def bridge_facts(spec: t.Optional[BridgeSpec], host: HostNet) -> t.Optional[t.Dict[str, t.Any]]:
    """The result form of a bridge; ports say whether they are guests' taps."""
    if spec is None:
        return None
    out = spec.to_dict()
    for port in out.get("ports", []):
        port["guest"] = host.is_guest_port(spec.name or "", port["name"])
    return out


def plan_bridges(
    bridges: t.Sequence[BridgeSpec], request: BridgeRequest, host: HostNet
) -> t.Tuple[Plan, t.List[t.Dict[str, t.Any]]]:
    """One plan for the declared bridge and the per-VLAN bridges declared with it.

    Returns the plan (its ``after`` is the first bridge) and the predicted facts of every bridge.
    """
    main = bridges[0]
    plan = Plan("bridge", main.name or "", before=bridge_facts(actual_bridge(main.name or "", host), host))
    afters: t.List[BridgeSpec] = []
    persisted: t.List[BridgeSpec] = []
    for spec in bridges:
        actual = actual_bridge(spec.name or "", host)
        if request.state == "absent":
            _plan_removal(plan, spec, actual, request, host)
        else:
            afters.append(_plan_bridge(plan, spec, actual, request, host))
            persisted.append(_persisted(plan, spec, actual, request, host))
    _plan_files(plan, persist_files(persisted, request.persist, host), host)
    facts = [bridge_facts(after, host) or {} for after in afters]
    plan.after = facts[0] if facts else None
    return plan, facts


def _persisted(
    plan: Plan, spec: BridgeSpec, actual: t.Optional[BridgeSpec], request: BridgeRequest, host: HostNet
) -> BridgeSpec:
    """What the boot files describe: the declared options, the ports the bridge keeps, its addresses.

    Built from the declaration (not from what the kernel reports), so that the files of a second run
    are byte for byte those of the first.
    """
    name = spec.name or ""
    ports = list(spec.ports or [])
    if actual is not None and not request.purge_ports:
        declared = {p.name for p in ports}
        ports += [
            BridgePort(name=p.name, parent=p.parent, vlan=p.vlan)
            for p in actual.ports or []
            if p.name not in declared and not host.is_guest_port(name, p.name or "")
        ]
    addresses = spec.addresses
    if addresses is None:
        moved = [
            a for s in plan.steps if s.op == "move_addresses" and s.args["bridge"] == name for a in s.args["addresses"]
        ]
        addresses = sorted(set((actual.addresses or []) if actual else []) | set(moved))
    return spec.replace(ports=ports, addresses=addresses)


def _plan_bridge(
    plan: Plan, spec: BridgeSpec, actual: t.Optional[BridgeSpec], request: BridgeRequest, host: HostNet
) -> BridgeSpec:
    name = spec.name or ""
    kind = spec.type or (actual.type if actual else None) or "linux"
    spec = spec.replace(type=kind)
    spec.validate("")
    link = host.links.get(name)
    if actual is None and link is not None and not (kind == "ovs" and name in (host.ovs or {})):
        raise ConflictError(
            f"bridge {name}: an interface of that name exists already and is not a {kind} bridge "
            f"({link.kind or 'a physical NIC'}); choose another name"
        )
    if actual is not None and actual.type != kind:
        raise ConflictError(
            f"bridge {name} is a {actual.type} bridge, not {kind}; remove it first (state=absent) to change its type"
        )
    if kind == "ovs" and host.ovs is None:
        raise SpecError(
            "type", f"bridge {name}: Open vSwitch is not running on this host (start ovsdb-server and ovs-vswitchd)"
        )
    if actual is None:
        facts = spec.to_dict()
        plan.add(
            f"create {_kind_name(kind)} bridge {name}",
            Change(_prefix(plan, name), None, facts),
            step=Step("ovs_add_bridge" if kind == "ovs" else "bridge_add", {"name": name, "attrs": _attrs(spec, kind)}),
        )
        actual = BridgeSpec(name=name, type=kind, ports=[], addresses=[])
    else:
        changes = compare(spec.replace(ports=None, addresses=None, mtu=None), actual)
        if changes:
            attrs = {c.path: c.after for c in changes}
            plan.add(
                f"set {', '.join(sorted(attrs))} of bridge {name}",
                *_renamed(plan, name, changes),
                step=Step("ovs_set_bridge" if kind == "ovs" else "bridge_set", {"name": name, "attrs": attrs}),
            )
    _plan_ports(plan, spec, actual, request, host)
    if spec.mtu is not None and spec.mtu != actual.mtu:
        plan.add(
            f"set the MTU of bridge {name} to {spec.mtu}",
            Change(_path(plan, name, "mtu"), actual.mtu, spec.mtu),
            step=Step("mtu", {"name": name, "mtu": spec.mtu, "ovs": kind == "ovs"}),
        )
    _plan_addresses(plan, spec, actual)
    if kind == "ovs":
        plan.steps.append(Step("link_up", {"name": name}))  # the bridge's own port, for host addresses
    elif link is not None and not link.up:
        plan.add(
            f"bring bridge {name} up",
            Change(_path(plan, name, "up"), False, True),
            step=Step("link_up", {"name": name}),
        )
    after = overlay(actual, spec)
    if request.purge_ports:
        declared = {p.name for p in spec.ports or []}
        after.ports = [p for p in after.ports or [] if p.name in declared or host.is_guest_port(name, p.name or "")]
    return after


def _plan_ports(plan: Plan, spec: BridgeSpec, actual: BridgeSpec, request: BridgeRequest, host: HostNet) -> None:
    name = spec.name or ""
    kind = spec.type or "linux"
    for want, have in match_items(spec.ports or [], actual.ports or []):
        if want is None and have is not None:
            if request.purge_ports and not host.is_guest_port(name, have.name or ""):
                plan.add(
                    f"remove port {have.name} from bridge {name}",
                    Change(_path(plan, name, f"ports[name={have.name}]"), have.to_dict(), None),
                    step=Step(
                        "ovs_del_port" if kind == "ovs" else "release",
                        {"bridge": name, "port": have.name, "delete": have.vlan is not None},
                    ),
                )
            continue
        if want is None:
            continue
        if have is None:
            _plan_new_port(plan, name, kind, want, request, host)
            continue
        changes = compare(want.replace(parent=None, vlan=None), have)
        if kind == "ovs":
            changes += _ovs_mode_switch(want, have)
        if changes:
            plan.add(
                f"set {', '.join(c.path for c in changes)} of port {want.name} on bridge {name}",
                *_renamed(plan, name, changes, f"ports[name={want.name}]"),
                step=Step(
                    "ovs_set_port" if kind == "ovs" else "port_set",
                    {
                        "port": want.name,
                        "attrs": {c.path: c.after for c in changes},
                        "before": {c.path: c.before for c in changes},
                    },
                ),
            )


def _ovs_mode_switch(want: BridgePort, have: BridgePort) -> t.List[Change]:
    """An OVS port is access (tag) or trunk (trunks); setting one clears the other."""
    if want.trunks and have.tag is not None:
        return [Change("tag", have.tag, None)]
    if want.tag is not None and have.trunks:
        return [Change("trunks", have.trunks, None)]
    return []


def _plan_new_port(plan: Plan, bridge: str, kind: str, port: BridgePort, request: BridgeRequest, host: HostNet) -> None:
    pname = port.name or ""
    link = host.links.get(pname)
    if port.vlan is not None:
        parent = port.parent or ""
        if parent not in host.links:
            raise SpecError(
                f"ports[name={pname}].name", f"bridge {bridge}: VLAN parent interface {parent} does not exist"
            )
        if link is None:
            plan.add(
                vlan_action(pname, parent, port.vlan),
                step=Step("vlan_add", {"name": pname, "parent": parent, "vlan": port.vlan}),
            )
        elif link.vlan != (parent, port.vlan):
            raise ConflictError(
                f"bridge {bridge}: interface {pname} exists but is not VLAN {port.vlan} on {parent}; "
                "rename the port with vlan_interface_name or remove that interface"
            )
    elif link is None:
        raise SpecError(
            f"ports[name={pname}]",
            f"bridge {bridge}: port {pname} does not exist on this host; create the interface first or fix the name",
        )
    owner = link.master if link is not None and link.master else host.ovs_bridge_of(pname)
    if owner and owner != bridge:
        if not request.steal:
            raise ConflictError(
                f"bridge {bridge}: port {pname} belongs to bridge {owner}; set steal=true to move it (guests or "
                f"services using {owner} through it lose that path)"
            )
        plan.add(
            f"take port {pname} from bridge {owner}",
            step=Step(
                "ovs_del_port" if host.ovs_bridge_of(pname) else "release",
                {"bridge": owner, "port": pname, "delete": False},
            ),
        )
    if link is not None and link.addresses:
        if not request.move_addresses:
            raise UnsafeOperation(
                f"bridge {bridge}: port {pname} carries the host's addresses {', '.join(link.addresses)}; a bridge "
                f"port cannot keep them, so the host would lose them. Set move_addresses=true to move them (and "
                f"their routes) onto {bridge}, or put them in addresses",
                consent="move_addresses",
            )
        plan.add(
            f"move addresses {', '.join(link.addresses)} and their routes from {pname} to bridge {bridge}",
            step=Step("move_addresses", {"port": pname, "bridge": bridge, "addresses": list(link.addresses)}),
        )
    facts = port.to_dict()
    step = (
        Step("ovs_add_port", {"bridge": bridge, "port": pname, "tag": port.tag, "trunks": port.trunks})
        if kind == "ovs"
        else Step("enslave", {"bridge": bridge, "port": pname})
    )
    plan.add(
        f"add port {pname} to bridge {bridge}",
        Change(_path(plan, bridge, f"ports[name={pname}]"), None, facts),
        step=step,
    )
    extra = {k: v for k, v in facts.items() if k in ("cost", "priority", "pvid", "vids")}
    if kind == "linux" and extra:
        plan.steps.append(Step("port_set", {"port": pname, "attrs": extra, "before": {}}))


def _plan_addresses(plan: Plan, spec: BridgeSpec, actual: BridgeSpec) -> None:
    if spec.addresses is None:
        return
    name = spec.name or ""
    have = set(actual.addresses or [])
    moved = {
        a for s in plan.steps if s.op == "move_addresses" and s.args["bridge"] == name for a in s.args["addresses"]
    }
    add = sorted(set(spec.addresses) - have - moved)
    remove = sorted(have - set(spec.addresses))
    if add or remove:
        words = [f"add {', '.join(add)}"] * bool(add) + [f"remove {', '.join(remove)}"] * bool(remove)
        plan.add(
            f"{' and '.join(words)} on bridge {name}",
            Change(_path(plan, name, "addresses"), sorted(have), sorted(spec.addresses)),
            step=Step("addresses", {"name": name, "add": add, "remove": remove}),
        )


def _plan_removal(
    plan: Plan, spec: BridgeSpec, actual: t.Optional[BridgeSpec], request: BridgeRequest, host: HostNet
) -> None:
    if actual is None:
        return
    name = spec.name or ""
    guests = [p.name or "" for p in actual.ports or [] if host.is_guest_port(name, p.name or "")]
    if guests and not request.force:
        raise UnsafeOperation(
            f"bridge {name} carries guests' ports {', '.join(guests)}; removing it cuts those guests off. "
            "Move them to another network first, or set force=true",
            consent="force",
        )
    created = [p.name for p in actual.ports or [] if p.vlan is not None]
    step = Step("ovs_del_bridge" if actual.type == "ovs" else "bridge_del", {"name": name, "delete_ports": created})
    plan.add(
        f"delete {_kind_name(actual.type or 'linux')} bridge {name}"
        + (f" and its VLAN interfaces {', '.join(str(c) for c in created)}" if created else ""),
        Change(_prefix(plan, name), bridge_facts(actual, host), None),
        step=step,
    )


def _plan_files(plan: Plan, wanted: t.Mapping[str, str], host: HostNet) -> None:
    """Write the persistence files that differ and remove ours that are no longer wanted."""
    for path in sorted(wanted):
        if host.files.get(path) != wanted[path]:
            plan.add(
                f"write {path}",
                Change(f"files[{path}]", host.files.get(path), wanted[path]),
                step=Step("write_file", {"path": path, "content": wanted[path]}),
            )
    for path in sorted(set(host.files) - set(wanted)):
        plan.add(
            f"remove {path}", Change(f"files[{path}]", host.files[path], None), step=Step("remove_file", {"path": path})
        )


def _attrs(spec: BridgeSpec, kind: str) -> t.Dict[str, t.Any]:
    names = OVS_BRIDGE_ATTRS if kind == "ovs" else BRIDGE_ATTRS
    return {k: getattr(spec, k) for k in names if getattr(spec, k) is not None}


def _kind_name(kind: str) -> str:
    return "Open vSwitch" if kind == "ovs" else "Linux"


def _prefix(plan: Plan, name: str) -> str:
    # The main bridge's options are shown by their own paths; a per-VLAN bridge's below its name.
    return "" if name == plan.name else f"bridges[{name}]"


def _path(plan: Plan, bridge: str, path: str) -> str:
    prefix = _prefix(plan, bridge)
    return f"{prefix}.{path}" if prefix else path


def _renamed(plan: Plan, bridge: str, changes: t.Sequence[Change], under: str = "") -> t.List[Change]:
    base = f"{under}." if under else ""
    return [Change(_path(plan, bridge, base + c.path), facts_of(c.before), facts_of(c.after)) for c in changes]
