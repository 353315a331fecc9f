"""Checks that ask the whole cluster, on two hosts of libvirt's test driver (the peer is a custom node file)."""

from __future__ import annotations

import typing as t
import xml.etree.ElementTree as ET
from pathlib import Path

from testbed.modules import run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, volume

URI = "test:///default"
POOL = "default-pool"  # the test driver's pool, at /default-pool


def peer_host(path: Path, name: str, disk_file: str) -> str:
    """A second test-driver host that runs domain ``name`` with one disk on ``disk_file``."""
    node = ET.Element("node")
    dom = ET.SubElement(node, "domain", {"type": "test"})
    ET.SubElement(dom, "name").text = name
    ET.SubElement(dom, "memory", {"unit": "MiB"}).text = "128"
    ET.SubElement(ET.SubElement(dom, "os"), "type").text = "hvm"
    disk = ET.SubElement(ET.SubElement(dom, "devices"), "disk", {"type": "file", "device": "disk"})
    ET.SubElement(disk, "source", {"file": disk_file})
    ET.SubElement(disk, "target", {"dev": "vda", "bus": "virtio"})
    path.write_text(ET.tostring(node, encoding="unicode"))
    return f"test://{path}"


def test_a_domain_running_on_a_peer_is_not_started_here(test_conn: t.Any, prefix: str, tmp_path: Path) -> None:
    name = f"{prefix}-vm"
    peer = peer_host(tmp_path / "peer.xml", name, f"/default-pool/{prefix}.img")
    params = {"uri": URI, "name": name, "memory": "128MiB", "state": "running"}
    try:
        for check in (True, False):
            refused = run_module(domain, dict(params, peers=[URI, peer]), check_mode=check)
            assert refused["failed"] and refused["msg"] == (
                f"domain {name} runs on {peer}; starting it here as well would let two guests write the same disks - "
                "stop it there, or move it with sharedvirt.kvm.migration"
            )
        assert name not in [d.name() for d in test_conn.listAllDomains()]  # refused before anything was defined
        # Negative control: asked without its peers, the module starts the second copy.
        assert run_module(domain, params)["changed"] is True
        assert test_conn.lookupByName(name).isActive()
    finally:
        run_module(domain, {"uri": URI, "name": name, "state": "absent"})


def test_a_volume_a_peer_domain_uses_is_not_deleted(test_conn: t.Any, prefix: str, tmp_path: Path) -> None:
    name = f"{prefix}.img"
    peer = peer_host(tmp_path / "peer.xml", f"{prefix}-far", f"/default-pool/{name}")
    made = run_module(volume, {"uri": URI, "pool": POOL, "name": name, "format": "raw", "capacity": "1MiB"})
    assert made["changed"], made
    task = {"uri": URI, "pool": POOL, "name": name, "state": "absent"}
    try:
        for check in (True, False):
            refused = run_module(volume, dict(task, peers=[peer]), check_mode=check)
            assert refused["failed"] and refused["msg"].startswith(
                f"volume {POOL}/{name} is in use - domain {prefix}-far (vda, running) on {peer}; detach it there"
            )
        assert test_conn.storagePoolLookupByName(POOL).storageVolLookupByName(name)  # still there
    finally:
        # Without the peer the volume looks unused (the harm the peers prevent) and goes.
        assert run_module(volume, task)["changed"] is True
