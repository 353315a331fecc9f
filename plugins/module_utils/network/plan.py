"""Pure planning for libvirt networks: define, start, live updates, restarts, removal.

A network has two definitions: the persistent one (used at the next start) and, while it runs, the
live one. The persistent one is redefined whenever it differs. DHCP reservations, DNS host entries and
portgroups are then applied to the live network as well (virNetworkUpdate), so clients see them at once;
any other difference between the live network and the declaration is a pending restart, done only with
``restart=true`` and otherwise reported, never ignored.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import ipaddress
import typing as t

from .._core.errors import ConflictError, SpecError, UnsafeOperation
from .._core.plan import Change, Plan, Step, carry_over, compare, match_items, overlay
from .._core.spec import Spec
from .._core.xmlutil import parse_xml, to_string
from .model import (
    DhcpHost,
    DnsHost,
    NetworkSpec,
    Portgroup,
    dhcp_host_element,
    dns_host_element,
    portgroup_element,
)

# What libvirt updates on a running network: DNS hosts, portgroups, and an address's DHCP hosts.
_LIVE_FIELDS = ("dns_hosts", "portgroups")


def _applies_live(change: Change) -> bool:
    if change.field in _LIVE_FIELDS:
        return True
    return change.field == "ips" and change.item is not None and change.sub.split("[", 1)[0] == "dhcp_hosts"


@dataclasses.dataclass
class NetworkRequest:
    """Network options that are not part of its definition."""

    state: str = "active"
    autostart: t.Optional[bool] = None
    restart: bool = False
    force: bool = False


@dataclasses.dataclass
class NetworkActual:
    """What libvirt has: the persistent and live definitions, and the context the plan needs."""

    config: t.Optional[NetworkSpec] = None
    config_xml: t.Optional[str] = None
    live: t.Optional[NetworkSpec] = None
    active: bool = False
    autostart: bool = False
    # Running domains with a NIC on this network.
    users: t.List[str] = dataclasses.field(default_factory=list)
    # Subnets (CIDR) of the other active networks, by network name.
    others: t.Dict[str, t.List[str]] = dataclasses.field(default_factory=dict)


def network_facts(
    spec: t.Optional[NetworkSpec], active: bool, autostart: bool, pending: t.Sequence[str] = ()
) -> t.Optional[t.Dict[str, t.Any]]:
    """The ``network`` result: the definition plus state, autostart and what waits for a restart."""
    if spec is None:
        return None
    out = spec.to_dict()
    out.update({"state": "active" if active else "inactive", "autostart": autostart, "restart_pending": list(pending)})
    return out


def plan_network(desired: NetworkSpec, request: NetworkRequest, actual: NetworkActual) -> Plan:
    name = desired.name or ""
    plan = Plan("network", name, before=network_facts(actual.config or actual.live, actual.active, actual.autostart))
    if request.state == "absent":
        _plan_removal(plan, request, actual)
        return plan
    config = actual.config
    if config is None and actual.live is not None:
        # A transient network: its live definition is the base of the persistent one.
        config = actual.live
    if config is None:
        if desired.ips is None and desired.mode() != "bridge":
            raise SpecError("ips", f"network {name} does not exist; give its ips (or forward mode bridge) to define it")
        after = desired
        plan.add(
            f"define network {name}",
            Change("", None, desired.to_dict()),
            step=Step("define", {"xml": to_string(desired.render(None))}),
        )
    else:
        carried = carry_over(desired, config)
        after = overlay(config, carried)
        changes = compare(carried, config)
        if changes:
            if any(c.field == "ips" for c in changes):
                _check_overlap(name, after, actual.others)
            base = parse_xml(actual.config_xml or to_string(config.render(None)), "current network XML")
            plan.add(
                f"update network {name}: {', '.join(c.path for c in changes)}",
                *changes,
                step=Step("define", {"xml": to_string(after.render(base))}),
            )
    active = actual.active
    pending: t.List[str] = []
    if active and actual.live is not None:
        pending = _plan_live(plan, carry_over(desired, actual.live), actual.live, request.restart)
    if request.state == "active" and not active:
        _check_overlap(name, after, actual.others)
        plan.add(f"start network {name}", Change("state", "inactive", "active"), step=Step("start"))
        active = True
    elif request.state == "inactive" and active:
        _check_users(name, actual.users, request.force, "stop")
        plan.add(f"stop network {name}", Change("state", "active", "inactive"), step=Step("stop"))
        active, pending = False, []
    autostart = actual.autostart
    if request.autostart is not None and request.autostart != actual.autostart:
        autostart = request.autostart
        plan.add(
            f"{'enable' if autostart else 'disable'} autostart of network {name}",
            Change("autostart", actual.autostart, autostart),
            step=Step("autostart", {"enabled": autostart}),
        )
    plan.reboot_required = bool(pending)
    plan.after = network_facts(after, active, autostart, pending)
    return plan


def _plan_live(plan: Plan, desired: NetworkSpec, live: NetworkSpec, restart: bool) -> t.List[str]:
    """Live updates for what libvirt changes on a running network; returns the paths left pending."""
    changes = compare(desired, live)
    pending = [c.path for c in changes if not _applies_live(c)]
    name = plan.name
    if pending and restart:
        plan.add(
            f"restart network {name} to apply {', '.join(pending)}",
            step=Step("restart"),
        )
        return []
    if pending:
        plan.warnings.append(
            f"network {name} runs with an older definition of {', '.join(pending)}; the new one applies at its "
            "next start (set restart=true to restart it now; guests attached to it may lose connectivity until "
            "their NICs are re-attached)"
        )
    live_ips = {ip.address: index for index, ip in enumerate(live.ips or [])}
    for ip in desired.ips or []:
        if ip.dhcp_hosts is None or ip.address not in live_ips:
            continue
        index = live_ips[ip.address]
        have = (live.ips or [])[index].dhcp_hosts or []
        for command, item in _item_updates(ip.dhcp_hosts, have, modify=True):
            host = t.cast(DhcpHost, item)
            what = f"DHCP host {host.label() or host.name} ({host.ip})"
            xml = to_string(dhcp_host_element(host))
            _add_live(plan, command, what, "ip-dhcp-host", xml, index)
    if desired.dns_hosts is not None:
        for command, entry in _item_updates(desired.dns_hosts, live.dns_hosts or [], modify=False):
            xml = to_string(dns_host_element(t.cast(DnsHost, entry)))
            _add_live(plan, command, f"DNS host {entry.label()}", "dns-host", xml, -1)
    if desired.portgroups is not None:
        for command, group in _item_updates(desired.portgroups, live.portgroups or [], modify=True):
            xml = to_string(portgroup_element(t.cast(Portgroup, group)))
            _add_live(plan, command, f"portgroup {group.label()}", "portgroup", xml, -1)
    return pending


def _add_live(plan: Plan, command: str, what: str, section: str, xml: str, parent: int) -> None:
    verb = {"add": "add", "delete": "remove", "modify": "change"}[command]
    plan.add(
        f"{verb} {what} on running network {plan.name}",
        step=Step("update", {"section": section, "command": command, "xml": xml, "parent_index": parent}),
    )


def _item_updates(want: t.Sequence[Spec], have: t.Sequence[Spec], modify: bool) -> t.List[t.Tuple[str, Spec]]:
    """(command, item) pairs that turn the live list ``have`` into ``want``; deletions first."""
    deletes: t.List[t.Tuple[str, Spec]] = []
    others: t.List[t.Tuple[str, Spec]] = []
    for w, a in match_items(list(want), list(have)):
        if w is None and a is not None:
            deletes.append(("delete", a))
        elif w is not None and a is None:
            others.append(("add", w))
        elif w is not None and a is not None and compare(w, a):
            merged = overlay(a, w)
            if modify:
                others.append(("modify", merged))
            else:
                deletes.append(("delete", a))
                others.append(("add", merged))
    return deletes + others


def _check_overlap(name: str, spec: NetworkSpec, others: t.Mapping[str, t.Sequence[str]]) -> None:
    for ip in spec.ips or []:
        mine = ip.network()
        for other, subnets in sorted(others.items()):
            for cidr in subnets:
                theirs = ipaddress.ip_network(cidr, strict=False)
                if mine.version == theirs.version and mine.overlaps(theirs):
                    raise ConflictError(
                        f"network {name}: {mine} overlaps {theirs} of the active network {other}; "
                        "choose another subnet in ips, or stop that network first"
                    )


def _check_users(name: str, users: t.Sequence[str], force: bool, verb: str) -> None:
    if users and not force:
        raise UnsafeOperation(
            f"network {name} carries running domains {', '.join(sorted(users))}; to {verb} it anyway and cut "
            "them off, set force=true",
            consent="force",
        )


def _plan_removal(plan: Plan, request: NetworkRequest, actual: NetworkActual) -> None:
    if actual.config is None and actual.live is None:
        return
    name = plan.name
    if actual.active:
        _check_users(name, actual.users, request.force, "remove")
        plan.add(f"stop network {name}", Change("state", "active", "inactive"), step=Step("stop"))
    if actual.config is not None:
        plan.add(f"undefine network {name}", Change("", plan.before, None), step=Step("undefine"))
    elif actual.active:
        plan.changes.append(Change("", plan.before, None))
