"""One hypervisor's address sources read through libvirt, each at most once per pass (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import functools
import time
import typing as t

from .._core.client import LibvirtClient, libvirt, libvirt_errors, still_there
from .._core.state_model import state_name
from ..host.model import uri_is_local
from . import neighbours
from .model import (
    DomainView,
    GuestAddress,
    Lease,
    Neighbour,
    Reservation,
    agent_reply_neighbours,
    domain_view,
    neighbours_from_table,
    parse_agent_reply,
    parse_leases,
    parse_reservations,
    ssh_argv,
)
from .remote import SshNeighbours
from .resolve import SourceUnavailable

# How a remote hypervisor's neighbour table is read: over SSH where the URI is an SSH one (auto), or
# through libvirt's ARP source (per running domain; no probing).
NEIGHBOUR_ROUTES = ("auto", "ssh", "libvirt")


class LibvirtKnowledge:
    """The ``Knowledge`` of one hypervisor (see resolve.py), cached until ``refresh()``."""

    def __init__(
        self,
        client: LibvirtClient,
        probe_limit: int = 1024,
        probe_rate: float = 200.0,
        clock: t.Callable[[], float] = time.time,
        neighbour_route: str = "auto",
        connect_timeout: int = 30,
    ) -> None:
        self.client = client
        self.uri = client.uri
        self.local = uri_is_local(client.uri)  # then the hypervisor's neighbour table is ours
        self.probe_limit = probe_limit
        self.probe_rate = probe_rate
        self.clock = clock
        self._cache: t.Dict[str, t.Any] = {}
        self._probed: t.Dict[str, str] = {}
        self._handles: t.Dict[str, t.Any] = {}
        argv = None if self.local or neighbour_route == "libvirt" else ssh_argv(client.uri, connect_timeout)
        self.ssh = SshNeighbours(self.uri, argv, connect_timeout, probe_limit, probe_rate) if argv else None
        self._no_ssh = (
            f"neighbours=ssh needs an SSH URI (qemu+ssh://...), and {self.uri} is not one"
            if neighbour_route == "ssh" and argv is None and not self.local
            else ""
        )

    def refresh(self) -> None:
        """Forget what was read (and probed), for the next pass of a wait."""
        self._cache.clear()
        self._probed.clear()

    def _once(self, key: str, load: t.Callable[[], t.Any]) -> t.Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def domains(self) -> t.List[DomainView]:
        return t.cast("t.List[DomainView]", self._once("domains", self._read_domains))

    def _read_domains(self) -> t.List[DomainView]:
        conn = self.client.conn
        with libvirt_errors(f"list the domains of {self.uri}"):
            # Two listings and one stats call instead of a state and an isActive call per domain.
            active = {dom.UUIDString() for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)}
            states = _states(conn)
            views = still_there(conn.listAllDomains(0), lambda dom: (dom, self._view(dom, active, states)))
        for dom, view in views:
            self._handles[view.uuid] = dom
        return [view for _dom, view in views]

    @staticmethod
    def _view(dom: t.Any, active: t.Set[str], states: t.Mapping[str, int]) -> DomainView:
        uuid = dom.UUIDString()
        state = states[uuid] if uuid in states else dom.state()[0]
        return domain_view(dom.XMLDesc(0), uuid in active, state_name(state))

    def reservations(self) -> t.List[Reservation]:
        return t.cast("t.List[Reservation]", self._once("reservations", self._read_reservations))

    def _read_reservations(self) -> t.List[Reservation]:
        with libvirt_errors(f"read the networks of {self.uri}"):
            # A network removed since the listing (by another play) has no reservations to read.
            documents = still_there(self._networks(), lambda net: net.XMLDesc(0))
        return [r for xml in documents for r in parse_reservations(xml)]

    def _networks(self) -> t.List[t.Any]:
        return t.cast("t.List[t.Any]", self._once("networks", self.client.conn.listAllNetworks))

    def leases(self) -> t.List[Lease]:
        return t.cast("t.List[Lease]", self._once("leases", self._read_leases))

    def _read_leases(self) -> t.List[Lease]:
        now = self.clock()
        with libvirt_errors(f"read the DHCP leases of {self.uri}"):
            per_network = still_there(self._networks(), self._network_leases)
        return [lease for name, raw in per_network for lease in parse_leases(name, raw, now)]

    def _network_leases(self, net: t.Any) -> t.Tuple[str, t.List[t.Any]]:
        if not net.isActive():
            return net.name(), []
        try:
            return net.name(), net.DHCPLeases(None, 0)
        except libvirt.libvirtError as err:
            if err.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
                raise SourceUnavailable(f"the libvirt driver of {self.uri} cannot list DHCP leases") from None
            raise

    def agent(self, domain: DomainView) -> t.List[GuestAddress]:
        return t.cast("t.List[GuestAddress]", self._once(f"agent:{domain.uuid}", lambda: self._ask_agent(domain)))

    def _ask_agent(self, domain: DomainView) -> t.List[GuestAddress]:
        dom = self._handles[domain.uuid]
        try:
            reply = dom.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, 0)
        except libvirt.libvirtError as err:
            raise SourceUnavailable(
                f"the guest agent of {domain.name!r} did not answer: {err.get_error_message()}"
            ) from None
        return parse_agent_reply(reply)

    def neighbours(self, domain: t.Optional[DomainView], ipv6: bool = True) -> t.List[Neighbour]:
        if self._no_ssh:
            raise SourceUnavailable(self._no_ssh)
        if self.local:
            read = functools.partial(_local_table, ipv6)
            return t.cast("t.List[Neighbour]", self._once(f"neighbours:{ipv6}", read))
        if self.ssh is not None:
            ssh = self.ssh
            return t.cast("t.List[Neighbour]", self._once(f"neighbours:{ipv6}", lambda: ssh.read(ipv6)[0]))
        # Without SSH a remote host's table is only reachable through libvirt, per running domain.
        if domain is None:
            raise SourceUnavailable(
                f"no domain on {self.uri} has this MAC, and the controller cannot read that host's neighbour table"
            )
        if not domain.active:
            raise SourceUnavailable(f"domain {domain.name!r} is not running (state {domain.state})")
        return t.cast("t.List[Neighbour]", self._once(f"arp:{domain.uuid}", lambda: self._remote_arp(domain)))

    def _remote_arp(self, domain: DomainView) -> t.List[Neighbour]:
        try:
            reply = self._handles[domain.uuid].interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP, 0)
        except libvirt.libvirtError as err:
            raise SourceUnavailable(
                f"libvirt on {self.uri} could not read its ARP table: {err.get_error_message()}"
            ) from None
        return agent_reply_neighbours(reply)

    def probe(self, bridge: str) -> str:
        if not self.local and self.ssh is None:
            raise SourceUnavailable(
                self._no_ssh
                or f"probing sweeps from the hypervisor itself, and {self.uri} is reached without SSH; use a "
                "qemu+ssh URI (the sweep then runs there) or the sharedvirt.kvm.vm_ip_info module on the hypervisor"
            )
        if bridge not in self._probed:
            if self.ssh is not None:
                table, swept = self.ssh.read(True, [bridge])
                self._probed[bridge] = swept[bridge]
                # The sweep's reply carries the filled table: no second call.
                self._cache["neighbours:True"] = table
                self._cache["neighbours:False"] = [n for n in table if ":" not in n.ip]
                return self._probed[bridge]
            try:
                self._probed[bridge] = neighbours.sweep(bridge, self.probe_limit, self.probe_rate)
            except neighbours.ProbeRefused as why:
                raise SourceUnavailable(str(why)) from None
            for ipv6 in (False, True):  # the sweep filled the table: read it again
                self._cache.pop(f"neighbours:{ipv6}", None)
        return self._probed[bridge]


def _local_table(ipv6: bool) -> t.List[Neighbour]:
    return neighbours_from_table(neighbours.read_table(ipv6))


def _states(conn: t.Any) -> t.Dict[str, int]:
    """UUID -> VIR_DOMAIN_* state of every domain, in one call (empty where the driver lacks it)."""
    try:
        stats = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE, 0)
    except libvirt.libvirtError:
        return {}
    return {dom.UUIDString(): int(values.get("state.state", 0)) for dom, values in stats}
