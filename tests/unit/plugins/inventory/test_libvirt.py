from __future__ import annotations

import copy
import sys
import threading
import types
import typing as t

import pytest
from ansible.errors import AnsibleError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.template import Templar, trust_as_template

from ansible_collections.sharedvirt.kvm.plugins.inventory import libvirt as libvirt_inventory
from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.resolve import Chain

MAC_A, MAC_B = "52:54:00:aa:00:01", "52:54:00:aa:00:02"


def domain(name: str, state: str, addresses: t.List[t.Dict[str, t.Any]], **extra: t.Any) -> t.Dict[str, t.Any]:
    return {
        "libvirt_name": name,
        "libvirt_uuid": f"uuid-{name}",
        "libvirt_state": state,
        "libvirt_active": state == "running",
        "libvirt_vcpus": 1,
        "libvirt_memory": 167772160,
        "libvirt_macs": [a["mac"] for a in addresses] or [MAC_B],
        "libvirt_interfaces": [],
        "libvirt_addresses": addresses,
        "libvirt_metadata": extra.get("metadata", {}),
    }


def address(ip: str, mac: str, source: str) -> t.Dict[str, t.Any]:
    where = {"hypervisor": "qemu:///system", "interface": "vnet0", "network": "lan", "guest_interface": None}
    return {"ip": ip, "prefix": 24, "family": "ipv4", "mac": mac, "source": source, "domain": None, **where}


# Recorded from two hypervisors (shape of read_hypervisor()), and a third that could not be reached.
RECORDS = [
    {
        "uri": "qemu:///system",
        "hostname": "hv-a.lab",
        "domains": [
            domain("web1", "running", [address("10.0.0.11", MAC_A, "lease"), address("10.0.0.99", MAC_A, "agent")],
                   metadata={"role": "web", "cluster": "c-1"}),
            domain("db1", "shutoff", [address("10.0.0.50", MAC_B, "reservation")], metadata={"role": "db"}),
            domain("{{ lookup('pipe', 'id') }}", "running", []),
        ],
    },
    {
        "uri": "qemu+tcp://10.77.0.12/system",
        "hostname": "hv-b",
        "domains": [domain("web2", "running", [address("10.1.0.7", "52:54:00:bb:00:01", "lease")])],
    },
    {"uri": "qemu+tcp://10.77.0.99/system", "error": "connect to qemu+tcp://10.77.0.99/system: no answer within 3 s"},
]  # fmt: skip


def populate(records: t.Optional[t.Sequence[t.Any]] = None, **options: t.Any) -> InventoryData:
    plugin = inventory_loader.get("sharedvirt.kvm.libvirt")
    assert plugin is not None
    plugin.inventory = InventoryData()
    plugin.templar = Templar(loader=DataLoader())
    # Options read from an inventory file are trusted templates; these are given directly.
    for name in ("compose", "groups"):
        if name in options:
            options[name] = {k: trust_as_template(v) for k, v in options[name].items()}
    for keyed in options.get("keyed_groups", []):
        keyed["key"] = trust_as_template(keyed["key"])
    plugin.set_options(direct={"plugin": "sharedvirt.kvm.libvirt", **options})
    plugin.populate(copy.deepcopy(RECORDS if records is None else records))
    return plugin.inventory


def members(inventory: InventoryData, group: str) -> t.List[str]:
    return sorted(h.name for h in inventory.groups[group].get_hosts())


def test_hosts_hostvars_and_ansible_host_from_the_first_source() -> None:
    inventory = populate()
    assert sorted(inventory.hosts) == ["db1", "web1", "web2", "{{ lookup('pipe', 'id') }}"]
    web1 = inventory.get_host("web1").vars
    assert web1["ansible_host"] == "10.0.0.11"
    assert web1["libvirt_hypervisor"] == "qemu:///system" and web1["libvirt_state"] == "running"
    assert [a["source"] for a in web1["libvirt_addresses"]] == ["lease", "agent"]
    assert inventory.get_host("db1").vars["ansible_host"] == "10.0.0.50"
    assert "ansible_host" not in inventory.get_host("{{ lookup('pipe', 'id') }}").vars


def test_groups_by_hypervisor_state_and_metadata() -> None:
    inventory = populate()
    assert members(inventory, "hypervisor_hv_a_lab") == ["db1", "web1", "{{ lookup('pipe', 'id') }}"]
    assert members(inventory, "hypervisor_hv_b") == ["web2"]
    assert members(inventory, "state_running") == ["web1", "web2", "{{ lookup('pipe', 'id') }}"]
    assert members(inventory, "state_shutoff") == ["db1"]
    assert members(inventory, "role_web") == ["web1"] and members(inventory, "cluster_c_1") == ["web1"]
    assert "role_web" not in populate(metadata_groups=False).groups


def test_constructed_options_and_jmespath_filter() -> None:
    inventory = populate(
        filter="libvirt_state == 'running' && starts_with(libvirt_name, 'web')",
        compose={"vm_mac": "libvirt_macs[0]"},
        groups={"big": "libvirt_memory > 100000000"},
        keyed_groups=[{"key": "libvirt_metadata.role | default('')", "prefix": "tier", "default_value": "none"}],
    )
    assert sorted(inventory.hosts) == ["web1", "web2"]
    assert inventory.get_host("web1").vars["vm_mac"] == MAC_A
    assert members(inventory, "big") == ["web1", "web2"]
    assert members(inventory, "tier_web") == ["web1"] and members(inventory, "tier_none") == ["web2"]


def test_values_from_guests_are_never_templated() -> None:
    inventory = populate(compose={"shown": "libvirt_name"})
    host = inventory.get_host("{{ lookup('pipe', 'id') }}")
    assert host.vars["shown"] == "{{ lookup('pipe', 'id') }}"


def test_unreachable_hypervisor_fails_only_when_strict() -> None:
    populate()  # warns, loads the others
    with pytest.raises(AnsibleError) as failed:
        populate(strict=True)
    assert str(failed.value) == ("libvirt inventory: connect to qemu+tcp://10.77.0.99/system: no answer within 3 s")


def test_a_name_on_two_hypervisors_keeps_the_running_one() -> None:
    stale = {"uri": "qemu+tcp://10.77.0.13/system", "hostname": "hv-c", "domains": [domain("web2", "shutoff", [])]}
    inventory = populate([stale, RECORDS[1]])
    assert inventory.get_host("web2").vars["libvirt_hypervisor"] == "qemu+tcp://10.77.0.12/system"


def test_uuid_names_and_a_bad_filter() -> None:
    assert "uuid-web1" in populate(hostname="uuid").hosts
    with pytest.raises(AnsibleError) as bad:
        populate(filter="libvirt_state ==")
    assert str(bad.value).startswith("libvirt inventory: filter 'libvirt_state ==' is not valid JMESPath: ")


def test_a_filter_without_jmespath_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jmespath", None)  # the import fails, as where the library is not installed
    assert "web1" in populate().hosts  # no filter: jmespath is not needed
    with pytest.raises(AnsibleError, match="the filter option needs the jmespath Python library"):
        populate(filter="libvirt_state == 'running'")


def test_hypervisors_are_read_side_by_side_and_recorded_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each read waits for the other at the barrier: read one after the other, the first would time out.
    both_reading = threading.Barrier(2, timeout=10)
    memos: t.List[int] = []

    def read(knowledge: t.Any, chain: Chain) -> t.Dict[str, t.Any]:
        memos.append(id(chain.memo))
        both_reading.wait()
        return {"uri": knowledge.uri}

    monkeypatch.setattr(libvirt_inventory, "read_hypervisor", read)
    hypervisors = [types.SimpleNamespace(uri=f"qemu+tcp://hv{i}/system") for i in range(2)]
    records = libvirt_inventory.read_side_by_side(t.cast(t.Any, hypervisors), Chain())
    assert [r["uri"] for r in records] == ["qemu+tcp://hv0/system", "qemu+tcp://hv1/system"]
    assert len(set(memos)) == 2  # no per-pass memo shared between threads


def test_a_failed_read_of_one_hypervisor_fails_the_whole_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def read(knowledge: t.Any, chain: Chain) -> t.Dict[str, t.Any]:
        if knowledge.uri.endswith("1/system"):
            raise AnsibleError(f"read the domains of {knowledge.uri}: connection reset")
        return {"uri": knowledge.uri}

    monkeypatch.setattr(libvirt_inventory, "read_hypervisor", read)
    hypervisors = [types.SimpleNamespace(uri=f"qemu+tcp://hv{i}/system") for i in range(3)]
    with pytest.raises(AnsibleError, match="hv1/system: connection reset"):
        libvirt_inventory.read_side_by_side(t.cast(t.Any, hypervisors), Chain())
