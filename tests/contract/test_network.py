"""The network and network_info modules on libvirt's test:///default driver."""

from __future__ import annotations

import typing as t

from testbed.modules import ladder, run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import network, network_info

URI = "test:///default"


def params(prefix: str, subnet: str = "10.231.7", **extra: t.Any) -> dict[str, t.Any]:
    return {
        "uri": URI,
        "name": f"{prefix}-n",
        "forward": {"mode": "none"},
        "ips": [
            {
                "address": f"{subnet}.1",
                "prefix": 24,
                "dhcp_ranges": [{"start": f"{subnet}.100", "end": f"{subnet}.200"}],
            }
        ],
        **extra,
    }


def test_network_lifecycle_ladders(test_conn: t.Any, prefix: str) -> None:
    created = ladder(network, params(prefix, autostart=True))
    assert created[0]["actions"] == [
        f"define network {prefix}-n",
        f"start network {prefix}-n",
        f"enable autostart of network {prefix}-n",
    ]
    facts = created[2]["network"]
    assert facts["state"] == "active" and facts["autostart"] is True and facts["restart_pending"] == []
    assert facts["ips"][0]["dhcp_ranges"] == [{"start": "10.231.7.100", "end": "10.231.7.200"}]
    assert created[1]["diff"]["after"]["forward"] == {"mode": "none"}
    stopped = ladder(network, {"uri": URI, "name": f"{prefix}-n", "state": "inactive"})
    assert stopped[2]["network"]["state"] == "inactive"
    removed = ladder(network, {"uri": URI, "name": f"{prefix}-n", "state": "absent"})
    assert removed[0]["actions"] == [f"undefine network {prefix}-n"]
    assert removed[2]["network"] == {}


def test_dhcp_hosts_and_dns_change_live(test_conn: t.Any, prefix: str) -> None:
    run_module(network, params(prefix))
    desired = params(prefix)
    desired["ips"][0]["dhcp_hosts"] = [{"mac": "52-54-00-FA-61-75", "ip": "10.231.7.10", "name": "db1"}]
    desired["dns_hosts"] = [{"ip": "10.231.7.5", "hostnames": ["nas"]}]
    results = ladder(network, desired)
    assert results[0]["actions"][0].startswith(f"update network {prefix}-n: ")
    assert results[0]["actions"][1:] == [
        f"add DHCP host mac=52:54:00:fa:61:75 (10.231.7.10) on running network {prefix}-n",
        f"add DNS host ip=10.231.7.5 on running network {prefix}-n",
    ]
    assert results[2]["reboot_required"] is False
    live = test_conn.networkLookupByName(f"{prefix}-n").XMLDesc(0)
    assert "52:54:00:fa:61:75" in live and "nas" in live


def test_overlapping_subnet_is_refused(test_conn: t.Any, prefix: str) -> None:
    run_module(network, params(prefix))
    other = params(prefix, subnet="10.231.7")
    other["name"] = f"{prefix}-o"
    other["ips"][0]["address"] = "10.231.7.129"
    other["ips"][0]["prefix"] = 25
    other["ips"][0]["dhcp_ranges"] = []
    refused = run_module(network, other)
    assert refused["failed"] is True
    assert refused["msg"] == (
        f"network {prefix}-o: 10.231.7.128/25 overlaps 10.231.7.0/24 of the active network {prefix}-n; "
        "choose another subnet in ips, or stop that network first"
    )
    assert f"{prefix}-o" not in [n.name() for n in test_conn.listAllNetworks(0)]


def test_invalid_dhcp_mac_names_the_option(test_conn: t.Any, prefix: str) -> None:
    desired = params(prefix)
    desired["ips"][0]["dhcp_hosts"] = [{"mac": "52:54:00:zz:61:75", "ip": "10.231.7.10"}]
    refused = run_module(network, desired)
    assert refused["failed"] is True
    assert refused["option"] == "ips[0].dhcp_hosts[0].mac"
    assert f"{prefix}-n" not in [n.name() for n in test_conn.listAllNetworks(0)]


def test_network_info_lists_networks(test_conn: t.Any, prefix: str) -> None:
    run_module(network, params(prefix))
    info = run_module(network_info, {"uri": URI, "name": f"{prefix}-n"})
    assert not info.get("failed"), info.get("msg")
    assert [n["name"] for n in info["networks"]] == [f"{prefix}-n"]
    assert info["networks"][0]["state"] == "active" and info["networks"][0]["persistent"] is True
    # The test driver cannot list leases: said, not faked (real leases: tests/integration/test_network.py).
    assert "leases" not in info["networks"][0]
    assert info["warnings"] == [f"network {prefix}-n: this libvirt driver cannot list DHCP leases"]
