"""libvirt I/O for virtual networks: definitions, state, live updates and DHCP leases."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import datetime
import typing as t

from .._core.client import LibvirtClient, inactive_xml, libvirt, libvirt_errors
from .._core.executor import Executor
from .._core.mac import normalize_mac
from .._core.plan import Plan, Step
from .._core.xmlutil import parse_xml
from .model import NetworkSpec
from .plan import NetworkActual, network_facts

SECTIONS = {
    "ip-dhcp-host": "VIR_NETWORK_SECTION_IP_DHCP_HOST",
    "dns-host": "VIR_NETWORK_SECTION_DNS_HOST",
    "portgroup": "VIR_NETWORK_SECTION_PORTGROUP",
}
COMMANDS = {
    "add": "VIR_NETWORK_UPDATE_COMMAND_ADD_LAST",
    "delete": "VIR_NETWORK_UPDATE_COMMAND_DELETE",
    "modify": "VIR_NETWORK_UPDATE_COMMAND_MODIFY",
}


class NetworkExecutor(Executor):
    """Reads networks (with their users and neighbours) and applies network plans."""

    def __init__(self, client: LibvirtClient) -> None:
        self.client = client

    def read(self, name: str) -> NetworkActual:
        net = self.client.network(name)
        others = self._other_subnets(name)
        if net is None:
            return NetworkActual(others=others)
        with libvirt_errors(f"read network {name!r}"):
            active = bool(net.isActive())
            persistent = bool(net.isPersistent())
            live_xml = net.XMLDesc(0) if active else None
            config_xml = inactive_xml(net, libvirt.VIR_NETWORK_XML_INACTIVE) if persistent else None
            autostart = bool(net.autostart()) if persistent else False
        return NetworkActual(
            config=None if config_xml is None else NetworkSpec.from_xml(config_xml, "current network XML"),
            config_xml=config_xml,
            live=None if live_xml is None else NetworkSpec.from_xml(live_xml, "live network XML"),
            active=active,
            autostart=autostart,
            users=self._users(name) if active else [],
            others=others,
        )

    def facts(self, name: str, pending: t.Sequence[str] = ()) -> t.Optional[t.Dict[str, t.Any]]:
        actual = self.read(name)
        spec = actual.live if actual.active else actual.config
        out = network_facts(spec, actual.active, actual.autostart, pending)
        if out is not None:
            out["persistent"] = actual.config is not None
            out["users"] = actual.users
        return out

    def leases(self, name: str) -> t.Optional[t.List[t.Dict[str, t.Any]]]:
        """The DHCP leases dnsmasq holds now, newest first; empty for an inactive network.

        None when the driver cannot list leases (libvirt's test driver, some remote hypervisors).
        """
        net = self.client.network(name)
        if net is None or not net.isActive():
            return []
        with libvirt_errors(f"read the DHCP leases of network {name!r}"):
            try:
                raw = net.DHCPLeases(None, 0)
            except libvirt.libvirtError as err:
                if err.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
                    return None
                raise
        return sorted((lease_facts(lease) for lease in raw), key=lambda lease: -int(lease["expiry_time"]))

    def _net(self, plan: Plan) -> t.Any:
        return self.client.call(f"look up network {plan.name!r}", self.client.conn.networkLookupByName, plan.name)

    def _step_define(self, plan: Plan, step: Step) -> None:
        self.client.call(f"define network {plan.name!r}", self.client.conn.networkDefineXML, step.args["xml"])

    def _step_start(self, plan: Plan, step: Step) -> None:
        self.client.call(f"start network {plan.name!r}", self._net(plan).create)

    def _step_stop(self, plan: Plan, step: Step) -> None:
        self.client.call(f"stop network {plan.name!r}", self._net(plan).destroy)

    def _step_restart(self, plan: Plan, step: Step) -> None:
        net = self._net(plan)
        self.client.call(f"stop network {plan.name!r} for its restart", net.destroy)
        self.client.call(f"start network {plan.name!r}", net.create)

    def _step_update(self, plan: Plan, step: Step) -> None:
        self._update(self._net(plan), plan.name, step.args)

    def _step_autostart(self, plan: Plan, step: Step) -> None:
        enabled = int(step.args["enabled"])
        self.client.call(f"set autostart of network {plan.name!r}", self._net(plan).setAutostart, enabled)

    def _step_undefine(self, plan: Plan, step: Step) -> None:
        self.client.call(f"undefine network {plan.name!r}", self._net(plan).undefine)

    def _update(self, net: t.Any, name: str, args: t.Mapping[str, t.Any]) -> None:
        command = int(getattr(libvirt, COMMANDS[args["command"]]))
        section = int(getattr(libvirt, SECTIONS[args["section"]]))
        # Only the running network: the plan has redefined the persistent definition already.
        flags = libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE
        self.client.call(
            f"{args['command']} {args['section']} on network {name!r}",
            net.update,
            command,
            section,
            int(args["parent_index"]),
            args["xml"],
            flags,
        )

    def _users(self, name: str) -> t.List[str]:
        conn = self.client.conn
        users = []
        for dom in self.client.call(
            "list running domains", conn.listAllDomains, libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE
        ):
            try:
                root = parse_xml(dom.XMLDesc(0), f"XML of domain {dom.name()!r}")
            except libvirt.libvirtError:
                continue  # the domain stopped while we looked
            for src in root.findall("devices/interface/source"):
                if src.get("network") == name:
                    users.append(dom.name())
                    break
        return sorted(users)

    def _other_subnets(self, name: str) -> t.Dict[str, t.List[str]]:
        conn = self.client.conn
        out: t.Dict[str, t.List[str]] = {}
        for net in self.client.call("list networks", conn.listAllNetworks, libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE):
            if net.name() == name:
                continue
            try:
                spec = NetworkSpec.from_xml(net.XMLDesc(0))
            except libvirt.libvirtError:
                continue
            out[net.name()] = [str(ip.network()) for ip in spec.ips or [] if ip.address and ip.prefix]
        return out


def lease_facts(lease: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """One lease from virNetworkGetDHCPLeases as result facts (MAC normalised, time in UTC)."""
    family = "ipv6" if lease.get("type") == getattr(libvirt, "VIR_IP_ADDR_TYPE_IPV6", 1) else "ipv4"
    expiry = int(lease.get("expirytime") or 0)
    mac = lease.get("mac")
    return {
        "mac": normalize_mac(mac) if mac else None,
        "ip": lease.get("ipaddr"),
        "prefix": lease.get("prefix"),
        "family": family,
        "hostname": lease.get("hostname"),
        "client_id": lease.get("clientid"),
        "iaid": lease.get("iaid"),
        "interface": lease.get("iface"),
        "expiry_time": expiry,
        "expires": datetime.datetime.fromtimestamp(expiry, tz=datetime.timezone.utc).isoformat() if expiry else None,
    }
