"""Name or MAC -> addresses: the source chain of the vm_ip lookup and the inventory (pure).

Each hypervisor is seen through a ``Knowledge`` object that loads every source at most once per
pass (one lease read per network, one neighbour table, one agent call per domain), so many terms
cost one pass over each source. A source that gives nothing says why; the reasons of every source
tried become the error text.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import time
import typing as t

from .._core.mac import normalize_mac
from .._core.netaddr import family_of
from .model import DomainView, GuestAddress, Lease, Neighbour, Nic, Reservation, newest_per_family

SOURCES = ("reservation", "lease", "agent", "arp")
FAMILIES = ("ipv4", "ipv6", "any")


class SourceUnavailable(Exception):
    """A source cannot answer for this hypervisor or domain; the message says why."""


class Knowledge(t.Protocol):
    """One hypervisor's address sources, loaded lazily and cached for one pass."""

    uri: str  # also how errors name the hypervisor

    def domains(self) -> t.Sequence[DomainView]: ...

    def reservations(self) -> t.Sequence[Reservation]: ...

    def leases(self) -> t.Sequence[Lease]: ...

    def agent(self, domain: DomainView) -> t.Sequence[GuestAddress]: ...

    def neighbours(self, domain: t.Optional[DomainView], ipv6: bool = True) -> t.Sequence[Neighbour]: ...

    def probe(self, bridge: str) -> str: ...

    def refresh(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class Address:
    """One address of one NIC, with where it came from."""

    ip: str
    prefix: t.Optional[int]
    family: str
    mac: str
    source: str
    domain: t.Optional[str]
    hypervisor: str
    interface: t.Optional[str] = None  # host-side tap
    network: t.Optional[str] = None
    guest_interface: t.Optional[str] = None

    def to_dict(self) -> t.Dict[str, t.Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Target:
    """What one term stands for on one hypervisor: a domain's NICs, or a bare MAC."""

    knowledge: Knowledge
    domain: t.Optional[DomainView]
    nics: t.Tuple[Nic, ...]


@dataclasses.dataclass
class Outcome:
    """The addresses found for one term, and why each source tried gave nothing."""

    term: str
    addresses: t.List[Address] = dataclasses.field(default_factory=list)
    reasons: t.List[str] = dataclasses.field(default_factory=list)

    def message(self) -> str:
        return f"no address for {self.term!r}: " + "; ".join(self.reasons)


@dataclasses.dataclass
class Chain:
    """The options that shape a resolution."""

    sources: t.Sequence[str] = SOURCES
    family: str = "ipv4"
    first: bool = True  # stop at the first source that answers
    probe: bool = False
    # Per-MAC indexes of what a pass read, so that many terms do not scan every lease each.
    memo: t.Dict[t.Any, t.Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)


T = t.TypeVar("T", Lease, Neighbour)


def by_mac(chain: Chain, items: t.Sequence[T]) -> t.Dict[str, t.List[T]]:
    """``items`` grouped by MAC, built once per list read (a new pass reads new lists)."""
    held = chain.memo.get(id(items))
    if held is None or held[0] is not items:
        index: t.Dict[str, t.List[T]] = {}
        for item in items:
            index.setdefault(item.mac, []).append(item)
        held = chain.memo[id(items)] = (items, index)
    return t.cast("t.Dict[str, t.List[T]]", held[1])


def as_mac(term: str) -> t.Optional[str]:
    """The normalised MAC if ``term`` spells one, else None (then it is a domain name or UUID)."""
    try:
        return normalize_mac(term)
    except Exception:  # not a MAC: a name
        return None


class Owners:
    """The targets of every domain of a pass: by the MAC of a NIC, and by name or UUID. (A plain class: the
    collection's code is compiled on every Ansible run, and a dataclass costs more to make than it gives here.)"""

    def __init__(self) -> None:
        self.by_mac: t.Dict[str, t.List[Target]] = {}
        self.by_name: t.Dict[str, t.List[Target]] = {}


def owners(chain: Chain, hypervisors: t.Sequence[Knowledge]) -> Owners:
    """Every hypervisor's domains indexed once per pass, so that a term costs a lookup, not a scan. The index
    lives as long as the domain lists it was built from (a new read builds a new one)."""
    listed = [knowledge.domains() for knowledge in hypervisors]
    key = ("owners", *map(id, listed))
    held = chain.memo.get(key)
    if held is None or any(old is not new for old, new in zip(held[0], listed)):
        index = Owners()
        for knowledge, domains in zip(hypervisors, listed):
            for domain in domains:
                nics_of: t.Dict[str, t.List[Nic]] = {}
                for nic in domain.nics:
                    nics_of.setdefault(nic.mac, []).append(nic)
                for mac, nics in nics_of.items():
                    index.by_mac.setdefault(mac, []).append(Target(knowledge, domain, tuple(nics)))
                for name in dict.fromkeys((domain.name, domain.uuid)):
                    index.by_name.setdefault(name, []).append(Target(knowledge, domain, domain.nics))
        held = chain.memo[key] = (listed, index)
    return t.cast("Owners", held[1])


def targets_for(term: str, hypervisors: t.Sequence[Knowledge], chain: Chain) -> t.Tuple[t.List[Target], t.List[str]]:
    """The targets ``term`` names on all hypervisors, or the reasons it names none."""
    mac = as_mac(term)
    index = owners(chain, hypervisors)
    found = list(index.by_name.get(term, ()) if mac is None else index.by_mac.get(mac, ()))
    if mac is not None and not found:
        # A MAC no domain owns may still be in leases, reservations or the neighbour table.
        return [Target(k, None, (Nic(mac=mac, kind="unknown"),)) for k in hypervisors], []
    if mac is None and not found:
        where = ", ".join(k.uri for k in hypervisors)
        return [], [f"no domain named {term!r} on {where}"]
    running = [target for target in found if target.domain is not None and target.domain.active]
    if len(running) > 1 and mac is None:
        where = " and ".join(target.knowledge.uri for target in running)
        return [], [f"domain {term!r} runs on {where}; name the hypervisor with the uri option"]
    return running or found, []


def resolve(term: str, hypervisors: t.Sequence[Knowledge], chain: Chain) -> Outcome:
    """Addresses of one term through the chain of sources (see module docstring)."""
    outcome = Outcome(term)
    targets, reasons = targets_for(term, hypervisors, chain)
    outcome.reasons.extend(reasons)
    several = len(targets) > 1
    for target in targets:
        if not target.nics:
            outcome.reasons.append(f"domain {term!r} has no network interface")
            continue
        for source in chain.sources:
            try:
                found = _wanted(SOURCE_READERS[source](target, chain), chain.family)
            except SourceUnavailable as why:
                found, reason = [], str(why)
            else:
                reason = "" if found else _nothing(source, target, chain)
            if reason:
                prefix = f"{source} on {target.knowledge.uri}" if several else source
                outcome.reasons.append(f"{prefix}: {reason}")
            _merge(outcome.addresses, found)
            if chain.first and found:
                return outcome
    return outcome


def resolve_all(
    terms: t.Sequence[str],
    hypervisors: t.Sequence[Knowledge],
    chain: Chain,
    wait: float = 0,
    interval: float = 2,
    clock: t.Callable[[], float] = time.monotonic,
    sleep: t.Callable[[float], None] = time.sleep,
) -> t.List[Outcome]:
    """Resolve every term; with ``wait`` > 0 poll (every ``interval`` s) until each has an address."""
    deadline = clock() + wait
    outcomes: t.Dict[str, Outcome] = {}
    pending = list(dict.fromkeys(terms))
    while True:
        for term in pending:
            outcomes[term] = resolve(term, hypervisors, chain)
        pending = [term for term in pending if not outcomes[term].addresses]
        remaining = deadline - clock()
        if not pending or remaining <= 0:
            break
        sleep(min(interval, remaining))
        for knowledge in hypervisors:
            knowledge.refresh()
        chain.memo.clear()
    if wait and pending:
        for term in pending:
            outcomes[term].reasons.append(f"still nothing after waiting {wait:g} s")
    return [outcomes[term] for term in terms]


def _merge(into: t.List[Address], found: t.Iterable[Address]) -> None:
    # One entry per (MAC, IP): the first source in the chain keeps it.
    known = {(a.mac, a.ip) for a in into}
    for address in found:
        if (address.mac, address.ip) not in known:
            known.add((address.mac, address.ip))
            into.append(address)


def _wanted(found: t.Sequence[Address], family: str) -> t.List[Address]:
    kept = [a for a in found if family in ("any", a.family)]
    if len(kept) < 2:
        return kept  # nothing to order (most terms)
    # NIC order is kept; within a NIC IPv4 comes first (what ansible_host usually wants).
    order = {mac: i for i, mac in enumerate(dict.fromkeys(a.mac for a in kept))}
    return sorted(kept, key=lambda a: (order[a.mac], a.family != "ipv4"))


def _address(target: Target, nic: Nic, source: str, ip: str, prefix: t.Optional[int], **extra: t.Any) -> Address:
    return Address(
        ip=ip,
        prefix=prefix,
        family=family_of(ip),
        mac=nic.mac,
        source=source,
        domain=target.domain.name if target.domain else None,
        hypervisor=target.knowledge.uri,
        interface=nic.device,
        network=extra.pop("network", None) or nic.network,
        **extra,
    )


def _same_network(nic: Nic, network: str) -> bool:
    return nic.network is None or nic.network == network


def _from_reservations(target: Target, chain: Chain) -> t.List[Address]:
    entries = target.knowledge.reservations()
    return [
        _address(target, nic, "reservation", r.ip, r.prefix, network=r.network)
        for nic in target.nics
        for r in entries
        if r.mac == nic.mac and _same_network(nic, r.network)
    ]


def _from_leases(target: Target, chain: Chain) -> t.List[Address]:
    leases = by_mac(chain, target.knowledge.leases())
    out = []
    for nic in target.nics:
        mine = newest_per_family(x for x in leases.get(nic.mac, ()) if _same_network(nic, x.network))
        out += [_address(target, nic, "lease", x.ip, x.prefix, network=x.network) for x in mine]
    return out


def _from_agent(target: Target, chain: Chain) -> t.List[Address]:
    domain = target.domain
    if domain is None:
        raise SourceUnavailable("no domain has this MAC, so there is no guest agent to ask")
    if not domain.active:
        raise SourceUnavailable(f"domain {domain.name!r} is not running (state {domain.state})")
    if not domain.agent_channel:
        raise SourceUnavailable(f"domain {domain.name!r} has no guest agent channel (org.qemu.guest_agent.0)")
    reported = target.knowledge.agent(domain)
    return [
        _address(target, nic, "agent", a.ip, a.prefix, guest_interface=a.guest_interface)
        for nic in target.nics
        for a in reported
        if a.mac == nic.mac
    ]


def _from_neighbours(target: Target, chain: Chain) -> t.List[Address]:
    domain = target.domain
    if domain is not None and not domain.active:  # what the table may still hold about it is stale
        raise SourceUnavailable(f"domain {domain.name!r} is not running (state {domain.state})")
    found = _neighbour_addresses(target, chain)
    if found or not chain.probe:
        return found
    missing = f"{_macs(target)} not in the neighbour table of {target.knowledge.uri}"
    bridges = list(dict.fromkeys(n.bridge for n in target.nics if n.bridge))
    if not bridges:
        raise SourceUnavailable(f"{missing}, and no bridge of this NIC is known to probe")
    try:
        swept = [target.knowledge.probe(bridge) for bridge in bridges]
    except SourceUnavailable as why:
        raise SourceUnavailable(f"{missing}, and probing was not possible: {why}") from None
    found = _neighbour_addresses(target, chain)
    if not found:
        raise SourceUnavailable(f"{missing} even after probing {'; '.join(swept)}")
    return found


def _neighbour_addresses(target: Target, chain: Chain) -> t.List[Address]:
    table = by_mac(chain, target.knowledge.neighbours(target.domain, ipv6=chain.family != "ipv4"))
    return [_address(target, nic, "arp", n.ip, None) for nic in target.nics for n in table.get(nic.mac, ())]


SOURCE_READERS: t.Dict[str, t.Callable[[Target, Chain], t.List[Address]]] = {
    "reservation": _from_reservations,
    "lease": _from_leases,
    "agent": _from_agent,
    "arp": _from_neighbours,
}


def _macs(target: Target) -> str:
    return ", ".join(n.mac for n in target.nics)


def _networks(target: Target) -> str:
    names = sorted({n.network for n in target.nics if n.network})
    return f" in network {', '.join(names)}" if names else ""


def _family_note(chain: Chain) -> str:
    return "" if chain.family == "any" else f" ({chain.family})"


def _nothing(source: str, target: Target, chain: Chain) -> str:
    """Why a source that answered had nothing for this target."""
    macs, note = _macs(target), _family_note(chain)
    bridged = [n for n in target.nics if n.kind in ("bridge", "direct")]
    off_network = f"; {', '.join(n.mac for n in bridged)} is on a host bridge, not a libvirt network" if bridged else ""
    if source == "reservation":
        return f"no DHCP reservation{note} for {macs}{_networks(target)}{off_network}"
    if source == "lease":
        return f"no unexpired DHCP lease{note} for {macs}{_networks(target)}{off_network}"
    if source == "agent":
        return f"the guest agent reports no usable address{note} for {macs} (loopback and link-local are skipped)"
    return (
        f"{macs} not in the neighbour table{note} of {target.knowledge.uri} "
        "(a silent guest is only there after traffic; probe=true sweeps its bridge's subnet first)"
    )
