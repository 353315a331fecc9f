"""Ansible glue of the libvirt network modules: network, network_info."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.module import LibvirtModule
from .._core.plan import over_xml
from .client import NetworkExecutor
from .model import NetworkSpec
from .plan import NetworkRequest, plan_network

SPEC_OPTIONS = ("name", "forward", "bridge", "mtu", "domain", "virtualport", "ips", "dns_hosts", "portgroups")


def desired_network(params: t.Mapping[str, t.Any]) -> NetworkSpec:
    """The declared network: structured options over the ``xml`` escape hatch."""
    options = NetworkSpec.from_params({k: params.get(k) for k in SPEC_OPTIONS})
    return over_xml(options, params.get("xml"), "network")


def run_network(module: LibvirtModule) -> t.Dict[str, t.Any]:
    """The network module."""
    params = module.params
    desired = desired_network(params)
    request = NetworkRequest(
        state=params["state"], autostart=params.get("autostart"), restart=params["restart"], force=params["force"]
    )
    executor = NetworkExecutor(module.client(readonly=module.check_mode))
    plan = plan_network(desired, request, executor.read(desired.name or ""))
    if not module.check_mode:
        executor.apply(plan)
        pending = (plan.after or {}).get("restart_pending", [])
        plan.after = executor.facts(desired.name or "", pending)
    for warning in plan.warnings:
        module.warn(warning)
    return plan.result(diff=module.diff)


def run_network_info(module: LibvirtModule) -> t.Dict[str, t.Any]:
    """The network_info module: networks with state, definition and DHCP leases."""
    executor = NetworkExecutor(module.client(readonly=True))
    conn = executor.client.conn
    names = sorted(n.name() for n in executor.client.call("list networks", conn.listAllNetworks, 0))
    wanted = module.params.get("name")
    networks = []
    for name in names:
        if wanted and name != wanted:
            continue
        facts = executor.facts(name)
        if facts is None:
            continue  # removed while we listed
        if module.params["leases"]:
            leases = executor.leases(name)
            if leases is None:
                module.warn(f"network {name}: this libvirt driver cannot list DHCP leases")
            else:
                facts["leases"] = leases
        networks.append(facts)
    return {"changed": False, "networks": networks}
