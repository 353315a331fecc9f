from __future__ import annotations

import typing as t

from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.model import (
    GuestAddress,
    Lease,
    Neighbour,
    Nic,
    Reservation,
    agent_reply_neighbours,
    domain_view,
    neighbour_from_netlink,
    neighbours_from_table,
    newest_per_family,
    parse_agent_reply,
    parse_leases,
    parse_proc_net_arp,
    parse_reservations,
    ssh_argv,
    usable_address,
)

PROC_NET_ARP = """IP address       HW type     Flags       HW address            Mask     Device
10.203.7.52      0x1         0x2         52:54:00:DD:C9:B2     *        svtest0
10.203.7.53      0x1         0x0         00:00:00:00:00:00     *        svtest0
192.0.2.1        0x1         0x6         02:fc:00:00:00:05     *        eth0
garbage line
10.0.0.9         0x1         zz          52:54:00:00:00:09     *        eth0
"""

NOW = 1_800_000_000


def test_parse_proc_net_arp_keeps_complete_entries_with_normalised_macs() -> None:
    assert parse_proc_net_arp(PROC_NET_ARP) == [
        Neighbour("10.203.7.52", "52:54:00:dd:c9:b2", "svtest0"),
        Neighbour("192.0.2.1", "02:fc:00:00:00:05", "eth0"),
    ]


def test_parse_empty_table() -> None:
    assert parse_proc_net_arp("IP address HW type Flags HW address Mask Device\n") == []


def test_netlink_neighbours_keep_valid_states_only() -> None:
    assert neighbour_from_netlink("fd00::5", "52:54:00:AA:00:01", 0x04, "br0") == Neighbour(
        "fd00::5", "52:54:00:aa:00:01", "br0"
    )
    assert neighbour_from_netlink("10.0.0.5", "52:54:00:aa:00:01", 0x01, "br0") is None  # incomplete
    assert neighbour_from_netlink("10.0.0.5", "52:54:00:aa:00:01", 0x20, "br0") is None  # failed
    assert neighbour_from_netlink("10.0.0.5", None, 0x02, "br0") is None
    assert neighbour_from_netlink("10.0.0.5", "00:00:00:00:00:00", 0x80, "br0") is None


def test_leases_drop_expired_and_macless_and_sort_newest_first() -> None:
    raw: t.List[t.Dict[str, t.Any]] = [
        {"mac": "52:54:00:AA:00:01", "ipaddr": "10.0.0.11", "prefix": 24, "type": 0, "expirytime": NOW + 100},
        {"mac": "52:54:00:aa:00:01", "ipaddr": "10.0.0.12", "prefix": 24, "type": 0, "expirytime": NOW + 3000},
        {"mac": "52:54:00:aa:00:02", "ipaddr": "10.0.0.13", "prefix": 24, "type": 0, "expirytime": NOW - 1},
        {"mac": None, "ipaddr": "fd00::20", "prefix": 64, "type": 1, "expirytime": NOW + 50, "iaid": "7"},
        {"mac": "52:54:00:aa:00:03", "ipaddr": "fd00::21", "prefix": 64, "type": 1, "expirytime": 0},
    ]
    leases = parse_leases("lan", raw, NOW)
    assert [(x.ip, x.family) for x in leases] == [("fd00::21", "ipv6"), ("10.0.0.12", "ipv4"), ("10.0.0.11", "ipv4")]
    assert leases[1] == Lease("52:54:00:aa:00:01", "10.0.0.12", 24, "ipv4", "lan", NOW + 3000)


def test_duplicate_mac_newest_lease_wins_per_family() -> None:
    leases = parse_leases(
        "lan",
        [
            {"mac": "52:54:00:aa:00:01", "ipaddr": "10.0.0.11", "type": 0, "expirytime": NOW + 100},
            {"mac": "52:54:00:aa:00:01", "ipaddr": "10.0.0.12", "type": 0, "expirytime": NOW + 3000},
            {"mac": "52:54:00:aa:00:01", "ipaddr": "fd00::12", "type": 1, "expirytime": NOW + 10},
        ],
        NOW,
    )
    assert [x.ip for x in newest_per_family(leases)] == ["10.0.0.12", "fd00::12"]


AGENT_REPLY: t.Dict[str, t.Dict[str, t.Any]] = {
    "lo": {"hwaddr": "00:00:00:00:00:00", "addrs": [{"addr": "127.0.0.1", "prefix": 8, "type": 0}]},
    "eth0": {
        "hwaddr": "52:54:00:AA:00:01",
        "addrs": [
            {"addr": "10.0.0.11", "prefix": 24, "type": 0},
            {"addr": "fe80::5054:ff:feaa:1", "prefix": 64, "type": 1},
            {"addr": "fd00::11", "prefix": 64, "type": 1},
        ],
    },
    "eth1": {"hwaddr": "52:54:00:aa:00:02", "addrs": [{"addr": "169.254.3.4", "prefix": 16, "type": 0}]},
    "tun0": {"hwaddr": None, "addrs": [{"addr": "10.9.0.1", "prefix": 32, "type": 0}]},
}


def test_agent_reply_skips_loopback_link_local_and_nics_without_mac() -> None:
    assert parse_agent_reply(AGENT_REPLY) == [
        GuestAddress("52:54:00:aa:00:01", "10.0.0.11", 24, "ipv4", "eth0"),
        GuestAddress("52:54:00:aa:00:01", "fd00::11", 64, "ipv6", "eth0"),
    ]


def test_libvirt_arp_reply_becomes_neighbours() -> None:
    reply = {"vnet3": {"hwaddr": "52:54:00:AA:00:01", "addrs": [{"addr": "10.0.0.11", "prefix": 0, "type": 0}]}}
    assert agent_reply_neighbours(reply) == [Neighbour("10.0.0.11", "52:54:00:aa:00:01", "vnet3")]


def test_usable_addresses() -> None:
    assert usable_address("10.0.0.1") and usable_address("2001:db8::1")
    for ip in ("127.0.0.1", "::1", "fe80::1", "169.254.1.1", "0.0.0.0", "224.0.0.1", "not-an-ip"):
        assert not usable_address(ip), ip


def test_reservations_by_mac_with_prefix_from_netmask() -> None:
    xml = """<network><name>lan</name>
      <ip address='10.0.0.1' netmask='255.255.255.0'><dhcp>
        <range start='10.0.0.100' end='10.0.0.200'/>
        <host mac='52:54:00:AA:00:01' name='web1' ip='10.0.0.11'/>
        <host name='noip' mac='52:54:00:aa:00:09'/>
      </dhcp></ip>
      <ip family='ipv6' address='fd00::1' prefix='64'>
        <dhcp><host id='0:3:0:1:52:54:0:aa:0:1' ip='fd00::11'/></dhcp></ip>
    </network>"""
    assert parse_reservations(xml) == [Reservation("52:54:00:aa:00:01", "10.0.0.11", 24, "lan")]


LIVE_DOMAIN = """<domain type='qemu' id='3'>
  <name>web1</name><uuid>6f0c8f3e-3f1e-4f43-9a59-3a8f00000001</uuid>
  <memory unit='KiB'>163840</memory><vcpu placement='static'>2</vcpu>
  <metadata><sharedvirt:metadata xmlns:sharedvirt="https://sharedvirt.dev/xmlns/kvm/1.0">
    <sharedvirt:item key="role">web</sharedvirt:item></sharedvirt:metadata></metadata>
  <devices>
    <interface type='network'><mac address='52:54:00:AA:00:01'/>
      <source network='lan' portgroup='pg' bridge='virbr7'/><target dev='vnet3'/></interface>
    <interface type='bridge'><mac address='52:54:00:aa:00:02'/><source bridge='br0'/><target dev='vnet4'/></interface>
    <interface type='user'/>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0' state='connected'/></channel>
  </devices></domain>"""


def test_domain_view_from_live_xml() -> None:
    view = domain_view(LIVE_DOMAIN, active=True, state="running")
    assert view.nics == (
        Nic("52:54:00:aa:00:01", "vnet3", "lan", "virbr7", "network"),
        Nic("52:54:00:aa:00:02", "vnet4", None, "br0", "bridge"),
    )
    assert view.agent_channel and view.metadata == {"role": "web"}
    assert (view.vcpus, view.memory) == (2, 160 * 2**20)


def test_inactive_domain_has_no_taps() -> None:
    view = domain_view(LIVE_DOMAIN, active=False, state="shutoff")
    assert [n.device for n in view.nics] == [None, None]


def test_a_raw_table_from_either_reader_becomes_neighbours() -> None:
    assert neighbours_from_table({"proc_net_arp": PROC_NET_ARP}) == parse_proc_net_arp(PROC_NET_ARP)
    rows = [["10.0.0.5", "52:54:00:AA:00:01", 0x02, "br0"], ["10.0.0.6", None, 0x01, "br0"]]
    assert neighbours_from_table({"netlink": rows}) == [Neighbour("10.0.0.5", "52:54:00:aa:00:01", "br0")]


def test_ssh_argv_reaches_the_host_as_libvirts_ssh_transport_does() -> None:
    uri = "qemu+ssh://root@10.0.0.11:2222/system?keyfile=/k/id&no_verify=1&known_hosts=/k/kh"
    assert ssh_argv(uri, 7) == [
        "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=7", "-o", "LogLevel=ERROR", "-p", "2222",
        "-i", "/k/id", "-o", "UserKnownHostsFile=/k/kh", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "--", "root@10.0.0.11",
    ]  # fmt: skip
    assert ssh_argv("qemu+ssh://hv1/system", 30)[-2:] == ["--", "hv1"]  # type: ignore[index]
    assert ssh_argv("qemu+tls://hv1/system", 30) is None
    assert ssh_argv("qemu:///system", 30) is None
