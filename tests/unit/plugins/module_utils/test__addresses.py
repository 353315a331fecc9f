from __future__ import annotations

from ansible_collections.sharedvirt.kvm.plugins.module_utils._addresses import Neighbour, parse_proc_net_arp

PROC_NET_ARP = """IP address       HW type     Flags       HW address            Mask     Device
10.203.7.52      0x1         0x2         52:54:00:DD:C9:B2     *        svtest0
10.203.7.53      0x1         0x0         00:00:00:00:00:00     *        svtest0
192.0.2.1        0x1         0x6         02:fc:00:00:00:05     *        eth0
garbage line
10.0.0.9         0x1         zz          52:54:00:00:00:09     *        eth0
"""


def test_parse_proc_net_arp_keeps_complete_entries_with_normalised_macs() -> None:
    assert parse_proc_net_arp(PROC_NET_ARP) == [
        Neighbour("10.203.7.52", "52:54:00:dd:c9:b2", "svtest0"),
        Neighbour("192.0.2.1", "02:fc:00:00:00:05", "eth0"),
    ]


def test_parse_empty_table() -> None:
    assert parse_proc_net_arp("IP address HW type Flags HW address Mask Device\n") == []
