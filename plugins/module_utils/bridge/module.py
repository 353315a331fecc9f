"""Ansible glue of the host bridge modules: bridge, bridge_info."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.module import CollectionModule
from .client import BridgeExecutor, host_backend, ifupdown_sources_dir
from .model import DEFAULT_VLAN_BRIDGE, DEFAULT_VLAN_INTERFACE, BridgeSpec, expand_ports, vlan_bridges
from .persist import persistence_notes
from .plan import BridgeRequest, actual_bridge, bridge_facts, plan_bridges

SPEC_OPTIONS = (
    "name",
    "type",
    "stp",
    "forward_delay",
    "hello_time",
    "max_age",
    "priority",
    "mtu",
    "addresses",
    "vlan_filtering",
    "default_pvid",
    "datapath_type",
)


class BridgeModule(CollectionModule):
    """A module that owns a BridgeExecutor for the run."""

    executor: t.Optional[BridgeExecutor] = None

    def open_executor(self) -> BridgeExecutor:
        self.executor = BridgeExecutor.open()
        return self.executor

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()
            self.executor = None


def desired_bridges(params: t.Mapping[str, t.Any]) -> t.List[BridgeSpec]:
    """The declared bridge first, then one bridge per VLAN of ``vlans``."""
    pattern = params.get("vlan_interface_name") or DEFAULT_VLAN_INTERFACE
    options = {k: params.get(k) for k in SPEC_OPTIONS}
    options["ports"] = expand_ports(params.get("ports"), "ports", pattern)
    bridges = [BridgeSpec.from_params(options)]
    vlans = params.get("vlans")
    if vlans:
        for index, extra in enumerate(
            vlan_bridges(
                vlans["uplink"], vlans["ids"], vlans.get("bridge_name") or DEFAULT_VLAN_BRIDGE, pattern, "vlans"
            )
        ):
            bridges.append(BridgeSpec.from_params(extra, f"vlans.ids[{index}]"))
    return bridges


def run_bridge(module: BridgeModule) -> t.Dict[str, t.Any]:
    """The bridge module."""
    params = module.params
    bridges = desired_bridges(params)
    backend = host_backend() if params["persist"] == "auto" else params["persist"]
    request = BridgeRequest(
        state=params["state"],
        persist=backend,
        purge_ports=params["purge_ports"],
        steal=params["steal"],
        move_addresses=params["move_addresses"],
        force=params["force"],
    )
    executor = module.open_executor()
    names = [b.name or "" for b in bridges]
    plan, predicted = plan_bridges(bridges, request, executor.read(names, backend))
    if not module.check_mode:
        executor.apply(plan)
        host = executor.read(names, backend)
        predicted = [bridge_facts(actual_bridge(name, host), host) or {} for name in names]
        plan.after = predicted[0] or None
    warnings = list(plan.warnings)
    if request.state == "present":
        warnings += persistence_notes(bridges, backend)
        if backend == "ifupdown" and not ifupdown_sources_dir():
            warnings.append(
                "/etc/network/interfaces does not source /etc/network/interfaces.d; add "
                "'source /etc/network/interfaces.d/*' so the bridge comes back after a reboot"
            )
    for warning in warnings:
        module.warn(warning)
    result = plan.result(diff=module.diff)
    result["persist"] = backend
    if len(bridges) > 1:
        result["vlan_bridges"] = predicted[1:]
    return result


def run_bridge_info(module: BridgeModule) -> t.Dict[str, t.Any]:
    """The bridge_info module: every Linux and Open vSwitch bridge with ports, VLANs and addresses."""
    host = module.open_executor().read([], "none")
    names = sorted({n for n, link in host.links.items() if link.kind == "bridge"} | set(host.ovs or {}))
    wanted = module.params.get("name")
    out = []
    for name in names:
        if wanted and name != wanted:
            continue
        facts = bridge_facts(actual_bridge(name, host), host)
        if facts is not None:
            out.append(facts)
    vlans = [
        {"name": link.name, "parent": link.vlan[0], "vlan": link.vlan[1], "master": link.master}
        for link in sorted(host.links.values(), key=lambda lk: lk.name)
        if link.vlan is not None
    ]
    return {"changed": False, "bridges": out, "vlan_interfaces": vlans, "openvswitch": host.ovs is not None}
