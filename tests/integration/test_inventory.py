"""The libvirt inventory over two real hypervisors (this machine and a namespace host), plus a dead URI."""

from __future__ import annotations

import json
import re
import typing as t
from pathlib import Path

import pytest
import yaml
from testbed.ansible import run_inventory, run_playbook
from testbed.hosts import HostBed
from testbed.lab import Lab
from testbed.params import URI
from testbed.plugins import lookup

DEAD_URI = "qemu+tcp://127.0.0.1:1/system"  # nothing listens on port 1: refused at once

PRINT_EVERY_GUEST = """
- name: Print where every guest is, without connecting to any
  hosts: all
  gather_facts: false
  tasks:
    - name: Show the looked-up address
      ansible.builtin.debug:
        msg: "GUEST {{ inventory_hostname }} {{ ansible_host }} {{ libvirt_hypervisor }}"
"""


@pytest.fixture
def bed(prefix: str) -> t.Iterator[HostBed]:
    with HostBed(prefix, 1) as hosts:
        yield hosts


def plain(value: t.Any) -> t.Any:
    """ansible-inventory prints unsafe values as {"__ansible_unsafe": value}; unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def write_inventory(path: Path, prefix: str, uris: list[str], **extra: t.Any) -> Path:
    config = {
        "plugin": "sharedvirt.kvm.libvirt",
        "uri": uris,
        "connect_timeout": 30,  # the dead URI is refused at once; a loaded machine may need long for the live ones
        "filter": f"starts_with(libvirt_name, '{prefix}')",
        "keyed_groups": [{"key": "libvirt_metadata.tier | default('')", "prefix": "tier"}],
        **extra,
    }
    path.write_text(yaml.safe_dump(config))
    return path


def test_two_hypervisors_and_an_unreachable_one(lab: Lab, bed: HostBed, prefix: str, tmp_path: Path) -> None:
    remote = bed.hosts[0]
    remote_conn = remote.open()
    remote_lab = Lab(remote_conn, prefix)
    try:
        here = lab.guest("here", networks=[lab.network()], wait_ready=False)
        there = remote_lab.guest("there", networks=[remote_lab.network()], wait_ready=False)
        ips = {g.name: g.wait_for(r"SVKVM-IP eth0 \S+").split()[-1] for g in (here, there)}
        # The lookup searches a name on every hypervisor (the remote one over SSH, as in real life);
        # wait until libvirt lists both leases.
        uris = [URI, bed.ssh_uri(remote)]
        found = lookup("vm_ip", here.name, there.name, uri=uris, sources=["lease"], wait=True, timeout=60)
        assert found == [ips[here.name], ips[there.name]]

        inventory = write_inventory(tmp_path / "lab.libvirt.yml", prefix, [URI, remote.uri, DEAD_URI])
        listed = run_inventory(inventory)
        assert listed.returncode == 0, listed.stderr
        assert f"skipping {DEAD_URI}: connect to {DEAD_URI}" in re.sub(r"\s+", " ", listed.stderr)
        data = json.loads(listed.stdout)
        assert data["_meta"]["hostvars"][here.name]["ansible_host"] == {"__ansible_unsafe": ips[here.name]}
        hostvars = plain(data["_meta"]["hostvars"])
        assert {name: v["ansible_host"] for name, v in hostvars.items()} == ips
        assert hostvars[there.name]["libvirt_hypervisor"] == remote.uri
        assert hostvars[there.name]["libvirt_addresses"][0]["source"] == "lease"
        assert hostvars[there.name]["libvirt_macs"] == there.macs
        assert data[f"hypervisor_{remote.hostname.replace('-', '_')}"]["hosts"] == [there.name]
        assert sorted(data["state_running"]["hosts"]) == sorted(ips)

        played = run_playbook(PRINT_EVERY_GUEST, inventory=inventory)
        assert played.rc == 0, played.output
        shown = dict((m[0], m[1:]) for m in re.findall(r"GUEST (\S+) (\S+) (\S+)\"", played.output))
        assert shown == {here.name: (ips[here.name], URI), there.name: (ips[there.name], remote.uri)}

        strict = run_inventory(write_inventory(tmp_path / "strict.libvirt.yml", prefix, [URI, DEAD_URI], strict=True))
        assert f"libvirt inventory: connect to {DEAD_URI}" in re.sub(r"\s+", " ", strict.stderr)
        assert "strict.libvirt.yml" in strict.stderr and json.loads(strict.stdout)["_meta"]["hostvars"] == {}
    finally:
        remote_lab.cleanup()
        remote_conn.close()


def test_cached_inventory_answers_without_asking_libvirt(lab: Lab, prefix: str, tmp_path: Path) -> None:
    guest = lab.guest("c", start=False, boots=False)
    cache = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache")}
    inventory = write_inventory(tmp_path / "cached.libvirt.yml", prefix, [URI], **cache)
    first = plain(json.loads(run_inventory(inventory).stdout))
    assert first["_meta"]["hostvars"][guest.name]["libvirt_state"] == "shutoff"
    guest.dom.undefine()
    cached = json.loads(run_inventory(inventory).stdout)
    assert guest.name in cached["_meta"]["hostvars"]  # from the cache: the domain is gone
