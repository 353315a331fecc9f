from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.netaddr import interface_address, vlan_id
from ansible_collections.sharedvirt.kvm.plugins.module_utils.network.model import NetworkSpec

LIBVIRT_XML = """<network>
  <name>lab</name><uuid>0b5c1f5e-3d1c-4d5e-9d7e-6f2c2b1a0c01</uuid>
  <forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>
  <bridge name='virbr7' stp='on' delay='0'/><mac address='52:54:00:0a:0b:0c'/><mtu size='9000'/>
  <domain name='lab.example'/>
  <dns><host ip='192.168.150.5'><hostname>nas</hostname><hostname>nas.lab</hostname></host></dns>
  <ip address='192.168.150.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.150.100' end='192.168.150.199'><lease expiry='2' unit='hours'/></range>
      <host mac='52:54:00:FA:61:75' name='db1' ip='192.168.150.10'/></dhcp>
  </ip>
  <ip family='ipv6' address='fd00:1::1' prefix='64'/>
</network>"""


def test_libvirt_xml_round_trip() -> None:
    spec = NetworkSpec.from_xml(LIBVIRT_XML)
    facts = spec.to_dict()
    assert facts["forward"] == {"mode": "nat"}
    assert facts["bridge"] == {"name": "virbr7", "stp": True, "delay": 0}
    assert facts["ips"][0] == {
        "address": "192.168.150.1",
        "prefix": 24,
        "dhcp_ranges": [{"start": "192.168.150.100", "end": "192.168.150.199", "lease": 120}],
        "dhcp_hosts": [{"mac": "52:54:00:fa:61:75", "ip": "192.168.150.10", "name": "db1"}],
    }
    assert facts["ips"][1] == {"address": "fd00:1::1", "prefix": 64, "dhcp_ranges": [], "dhcp_hosts": []}
    assert facts["dns_hosts"] == [{"ip": "192.168.150.5", "hostnames": ["nas", "nas.lab"]}]
    again = NetworkSpec.from_xml(spec.to_xml())
    assert again.to_dict() == facts


def test_render_keeps_what_is_not_modelled() -> None:
    base = NetworkSpec.from_xml(LIBVIRT_XML)
    changed = NetworkSpec.from_params({"name": "lab", "mtu": 1500})
    root = changed.render(ET.fromstring(LIBVIRT_XML))
    assert root.findtext("mtu") is not None and root.find("mtu[@size='1500']") is not None
    assert root.find("forward/nat/port") is not None  # libvirt's NAT port range stays
    assert root.find("mac[@address='52:54:00:0a:0b:0c']") is not None
    assert base.mtu == 9000


def test_portgroups_render_access_and_trunk() -> None:
    spec = NetworkSpec.from_params(
        {
            "name": "ovs",
            "forward": {"mode": "bridge"},
            "bridge": {"name": "ovsbr0"},
            "virtualport": "openvswitch",
            "portgroups": [{"name": "vlan10", "vlan": 10, "default": True}, {"name": "trunk", "trunk": [20, 10]}],
        }
    )
    xml = spec.to_xml()
    assert '<portgroup name="vlan10" default="yes">' in xml and '<vlan trunk="yes">' in xml
    parsed = NetworkSpec.from_xml(xml)
    assert [(p.name, p.vlan, p.trunk) for p in parsed.portgroups or []] == [
        ("vlan10", 10, None),
        ("trunk", None, [10, 20]),
    ]


@pytest.mark.parametrize(
    ("params", "path", "message"),
    [
        (
            {"ips": [{"address": "10.0.0.1", "prefix": 24, "dhcp_hosts": [{"mac": "zz", "ip": "10.0.0.9"}]}]},
            "ips[0].dhcp_hosts[0].mac",
            "MAC",
        ),
        (
            {
                "ips": [
                    {
                        "address": "10.0.0.1",
                        "prefix": 24,
                        "dhcp_hosts": [{"mac": "52:54:00:00:00:01", "ip": "10.0.1.9"}],
                    }
                ]
            },
            "ips[0].dhcp_hosts[0].ip",
            "outside 10.0.0.0/24",
        ),
        (
            {"ips": [{"address": "10.0.0.1", "prefix": 24, "dhcp_ranges": [{"start": "10.0.0.9", "end": "10.0.0.2"}]}]},
            "ips[0].dhcp_ranges[0]",
            "is after its end",
        ),
        ({"ips": [{"address": "10.0.0.1", "prefix": 33}]}, "ips[0].prefix", "1-32"),
        ({"forward": {"mode": "bridge"}}, "bridge.name", "host bridge's name"),
        ({"forward": {"mode": "nat"}, "portgroups": [{"name": "v", "vlan": 10}]}, "portgroups", "Open vSwitch"),
        ({"portgroups": [{"name": "v", "vlan": 4095}]}, "portgroups[0].vlan", "reserved"),
        ({"name": "a/b"}, "name", "contains '/'"),
    ],
)
def test_bad_input_names_the_option(params: dict[str, object], path: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        NetworkSpec.from_params({"name": "lab", **params})
    assert caught.value.path == path and message in caught.value.message


@pytest.mark.parametrize(("value", "expected"), [(1, 1), ("4094", 4094)])
def test_vlan_ids(value: object, expected: int) -> None:
    assert vlan_id(value, "v") == expected


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (0, "0 means untagged"),
        (4095, "reserved"),
        (5000, "out of range"),
        ("x", "not a number"),
        (True, "not a number"),
    ],
)
def test_bad_vlan_ids(value: object, why: str) -> None:
    with pytest.raises(SpecError, match=why):
        vlan_id(value, "v")


def test_interface_address_needs_a_prefix() -> None:
    assert interface_address("fd00:0::1/64", "a") == "fd00::1/64"
    with pytest.raises(SpecError, match="needs a prefix length"):
        interface_address("10.0.0.1", "a")
