from __future__ import annotations

import dataclasses
import typing as t

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.model import (
    DomainView,
    GuestAddress,
    Lease,
    Neighbour,
    Nic,
    Reservation,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.resolve import (
    Chain,
    SourceUnavailable,
    by_mac,
    owners,
    resolve,
    resolve_all,
)

MAC1, MAC2, MAC3 = "52:54:00:aa:00:01", "52:54:00:aa:00:02", "52:54:00:aa:00:03"


def dom(name: str, *nics: Nic, active: bool = True, agent: bool = True) -> DomainView:
    return DomainView(name, f"uuid-{name}", active, "running" if active else "shutoff", agent, nics)


@dataclasses.dataclass
class Fake:
    """A hypervisor whose sources are given as data; records what was read."""

    uri: str = "qemu:///system"
    doms: t.List[DomainView] = dataclasses.field(default_factory=list)
    reserved: t.List[Reservation] = dataclasses.field(default_factory=list)
    leased: t.List[Lease] = dataclasses.field(default_factory=list)
    agents: t.Dict[str, t.Any] = dataclasses.field(default_factory=dict)
    table: t.List[Neighbour] = dataclasses.field(default_factory=list)
    after_probe: t.List[Neighbour] = dataclasses.field(default_factory=list)
    reads: t.List[str] = dataclasses.field(default_factory=list)

    def domains(self) -> t.List[DomainView]:
        return self.doms

    def reservations(self) -> t.List[Reservation]:
        self.reads.append("reservation")
        return self.reserved

    def leases(self) -> t.List[Lease]:
        self.reads.append("lease")
        return self.leased

    def agent(self, domain: DomainView) -> t.List[GuestAddress]:
        self.reads.append(f"agent:{domain.name}")
        reply = self.agents.get(domain.name)
        if isinstance(reply, str):
            raise SourceUnavailable(reply)
        return reply or []

    def neighbours(self, domain: t.Optional[DomainView], ipv6: bool = True) -> t.List[Neighbour]:
        self.reads.append("arp")
        return self.table

    def probe(self, bridge: str) -> str:
        self.reads.append(f"probe:{bridge}")
        self.table = self.table + self.after_probe
        return f"10.9.0.0/24 on bridge {bridge} (253 addresses at 200/s)"

    def refresh(self) -> None:
        self.reads.append("refresh")


WEB = dom("web", Nic(MAC1, "vnet0", "lan", "virbr1"))
LEASE = Lease(MAC1, "10.0.0.11", 24, "ipv4", "lan", 0)


def test_first_source_in_the_chain_answers_and_later_ones_are_not_read() -> None:
    hv = Fake(doms=[WEB], reserved=[Reservation(MAC1, "10.0.0.50", 24, "lan")], leased=[LEASE])
    out = resolve("web", [hv], Chain(sources=["lease", "reservation", "agent", "arp"]))
    assert [(a.ip, a.source) for a in out.addresses] == [("10.0.0.11", "lease")]
    assert hv.reads == ["lease"]


def test_all_collects_every_source_once_per_address() -> None:
    agent = [GuestAddress(MAC1, "10.0.0.11", 24, "ipv4", "eth0"), GuestAddress(MAC1, "10.0.0.99", 24, "ipv4", "eth0")]
    hv = Fake(doms=[WEB], leased=[LEASE], agents={"web": agent}, table=[Neighbour("10.0.0.11", MAC1, "virbr1")])
    out = resolve("web", [hv], Chain(first=False))
    assert [(a.ip, a.source) for a in out.addresses] == [("10.0.0.11", "lease"), ("10.0.0.99", "agent")]
    assert out.addresses[1].guest_interface == "eth0" and out.addresses[0].interface == "vnet0"


def test_reservation_in_another_network_does_not_count() -> None:
    hv = Fake(doms=[WEB], reserved=[Reservation(MAC1, "10.1.0.5", 24, "other")])
    out = resolve("web", [hv], Chain(sources=["reservation"]))
    assert out.addresses == []
    assert out.message() == f"no address for 'web': reservation: no DHCP reservation (ipv4) for {MAC1} in network lan"


def test_every_source_says_why_it_gave_nothing() -> None:
    hv = Fake(doms=[WEB], agents={"web": "the guest agent of 'web' did not answer: QEMU guest agent is not connected"})
    out = resolve("web", [hv], Chain())
    assert out.reasons == [
        f"reservation: no DHCP reservation (ipv4) for {MAC1} in network lan",
        f"lease: no unexpired DHCP lease (ipv4) for {MAC1} in network lan",
        "agent: the guest agent of 'web' did not answer: QEMU guest agent is not connected",
        f"arp: {MAC1} not in the neighbour table (ipv4) of qemu:///system "
        "(a silent guest is only there after traffic; probe=true sweeps its bridge's subnet first)",
    ]


def test_stopped_domain_and_missing_channel_are_named() -> None:
    off = dom("off", Nic(MAC2, None, "lan"), active=False)
    blind = dom("blind", Nic(MAC3, "vnet1", "lan"), agent=False)
    hv = Fake(doms=[off, blind])
    assert resolve("off", [hv], Chain(sources=["agent"])).reasons == [
        "agent: domain 'off' is not running (state shutoff)"
    ]
    assert resolve("blind", [hv], Chain(sources=["agent"])).reasons == [
        "agent: domain 'blind' has no guest agent channel (org.qemu.guest_agent.0)"
    ]


def test_unknown_name_lists_the_hypervisors() -> None:
    out = resolve("ghost", [Fake(), Fake(uri="qemu+tcp://10.0.0.2/system")], Chain())
    assert (
        out.message() == "no address for 'ghost': no domain named 'ghost' on qemu:///system, qemu+tcp://10.0.0.2/system"
    )


def test_mac_terms_in_any_spelling_pick_that_nic_only() -> None:
    two = dom("two", Nic(MAC1, "vnet0", "lan"), Nic(MAC2, "vnet1", "san"))
    leases = [LEASE, Lease(MAC2, "10.2.0.7", 24, "ipv4", "san", 0)]
    hv = Fake(doms=[two], leased=leases)
    for term in ("52:54:00:AA:00:02", "52-54-00-aa-00-02", "5254.00aa.0002", "525400AA0002"):
        out = resolve(term, [hv], Chain(sources=["lease"], first=False))
        assert [a.ip for a in out.addresses] == ["10.2.0.7"], term
        assert out.addresses[0].domain == "two"


def test_a_mac_no_domain_owns_is_still_found_in_the_neighbour_table() -> None:
    hv = Fake(table=[Neighbour("192.168.5.9", MAC3, "br0")])
    out = resolve(MAC3.upper(), [hv], Chain())
    assert [(a.ip, a.source, a.domain) for a in out.addresses] == [("192.168.5.9", "arp", None)]
    assert "agent: no domain has this MAC, so there is no guest agent to ask" in out.reasons


def test_probe_sweeps_the_nics_bridge_then_rereads() -> None:
    bridged = dom("app", Nic(MAC2, "vnet5", None, "br-lab", "bridge"))
    hv = Fake(doms=[bridged], after_probe=[Neighbour("10.9.0.77", MAC2, "br-lab")])
    assert resolve("app", [hv], Chain(sources=["arp"])).addresses == []
    out = resolve("app", [hv], Chain(sources=["arp"], probe=True))
    assert [a.ip for a in out.addresses] == ["10.9.0.77"]
    assert hv.reads == ["arp", "arp", "probe:br-lab", "arp"]


def test_probe_that_finds_nothing_says_what_it_swept() -> None:
    bridged = dom("app", Nic(MAC2, "vnet5", None, "br-lab", "bridge"))
    out = resolve("app", [Fake(doms=[bridged])], Chain(sources=["lease", "arp"], probe=True))
    assert out.reasons == [
        f"lease: no unexpired DHCP lease (ipv4) for {MAC2}; {MAC2} is on a host bridge, not a libvirt network",
        f"arp: {MAC2} not in the neighbour table of qemu:///system even after probing "
        "10.9.0.0/24 on bridge br-lab (253 addresses at 200/s)",
    ]


def test_family_filter_and_ipv4_first_within_a_nic() -> None:
    agent = [GuestAddress(MAC1, "fd00::11", 64, "ipv6", "eth0"), GuestAddress(MAC1, "10.0.0.11", 24, "ipv4", "eth0")]
    hv = Fake(doms=[WEB], agents={"web": agent})
    assert [a.ip for a in resolve("web", [hv], Chain(family="any")).addresses] == ["10.0.0.11", "fd00::11"]
    assert [a.ip for a in resolve("web", [hv], Chain(family="ipv6")).addresses] == ["fd00::11"]


def test_a_name_running_on_two_hypervisors_is_ambiguous_but_a_stopped_copy_is_not() -> None:
    elsewhere = Fake(uri="qemu+tcp://10.0.0.2/system", doms=[WEB], leased=[LEASE])
    stale = Fake(doms=[dom("web", Nic(MAC1), active=False)])
    out = resolve("web", [stale, elsewhere], Chain())
    assert [a.hypervisor for a in out.addresses] == ["qemu+tcp://10.0.0.2/system"]
    both = resolve("web", [Fake(doms=[WEB]), elsewhere], Chain())
    assert both.reasons == [
        "domain 'web' runs on qemu:///system and qemu+tcp://10.0.0.2/system; name the hypervisor with the uri option"
    ]


def test_wait_polls_until_the_lease_appears() -> None:
    hv = Fake(doms=[WEB])
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] >= 6:
            hv.leased = [LEASE]

    outs = resolve_all(["web"], [hv], Chain(sources=["lease"]), wait=60, interval=2, clock=lambda: now[0], sleep=sleep)
    assert [a.ip for a in outs[0].addresses] == ["10.0.0.11"]
    assert hv.reads.count("refresh") == 3 and now[0] == 6


def test_a_domain_defined_while_waiting_is_found_on_the_next_pass() -> None:
    hv = Fake()
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] >= 4:
            hv.doms, hv.leased = [WEB], [LEASE]

    outs = resolve_all(["web"], [hv], Chain(sources=["lease"]), wait=60, interval=2, clock=lambda: now[0], sleep=sleep)
    assert [a.ip for a in outs[0].addresses] == ["10.0.0.11"] and now[0] == 4


def test_many_terms_find_their_domains_by_mac_and_by_name() -> None:
    hv = Fake(doms=[WEB, dom("db", Nic(MAC2, "vnet1", "lan", "virbr1"))], leased=[LEASE])
    outs = resolve_all(["web", MAC1, "db", MAC2.upper(), "uuid-web", MAC3], [hv], Chain(sources=["lease"]))
    assert [o.addresses[0].domain if o.addresses else None for o in outs] == ["web", "web", None, None, "web", None]
    assert [o.reasons[0][:22] if o.reasons else "" for o in outs[2:4]] == ["lease: no unexpired DH"] * 2


def test_the_domain_index_is_built_once_per_read_of_the_domains() -> None:
    hv, chain = Fake(doms=[WEB]), Chain()
    index = owners(chain, [hv])
    assert owners(chain, [hv]) is index  # another list of the same hypervisors: the inventory's call per domain
    hv.doms = [WEB, dom("db", Nic(MAC2))]  # a new read of the domains
    assert list(owners(chain, [hv]).by_name) == ["web", "uuid-web", "db", "uuid-db"]


def test_wait_gives_up_at_the_timeout_and_says_so() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    outs = resolve_all(["web"], [Fake(doms=[WEB])], Chain(sources=["lease"]), 5, 2, lambda: now[0], sleep)
    assert outs[0].reasons[-1] == "still nothing after waiting 5 s" and now[0] == 5


@pytest.mark.parametrize("term", ["", "web*"])
def test_non_mac_terms_are_names(term: str) -> None:
    assert resolve(term, [Fake(doms=[WEB])], Chain()).reasons == [f"no domain named {term!r} on qemu:///system"]


def test_mac_index_is_built_once_per_list_and_rebuilt_for_a_new_read() -> None:
    chain = Chain()
    first = [Lease("52:54:00:00:00:01", "10.0.0.5", 24, "ipv4", "net", 100)]
    index = by_mac(chain, first)
    assert by_mac(chain, first) is index and list(index) == ["52:54:00:00:00:01"]
    second = [Lease("52:54:00:00:00:02", "10.0.0.6", 24, "ipv4", "net", 100)]
    assert list(by_mac(chain, second)) == ["52:54:00:00:00:02"]


def test_a_stopped_guest_is_not_looked_up_in_the_neighbour_table_nor_swept_for() -> None:
    stopped = dom("win7", Nic(MAC2, None, None, "br1", kind="bridge"), active=False, agent=False)
    hv = Fake(doms=[stopped], table=[Neighbour("10.9.0.77", MAC2, "br1")])  # a stale entry from when it ran
    out = resolve("win7", [hv], Chain(sources=["arp"], probe=True))
    assert out.addresses == [] and hv.reads == []
    assert out.message() == "no address for 'win7': arp: domain 'win7' is not running (state shutoff)"
