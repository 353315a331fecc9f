"""The domain module's EXAMPLES run for real (names mapped to this test's network, pool and guest)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from testbed.ansible import run_playbook
from testbed.lab import Lab

from ansible_collections.sharedvirt.kvm.plugins.modules import domain

# Examples that need what this machine does not run for them (an Open vSwitch bridge).
NEEDS_OVS = "Attach to an Open vSwitch bridge on VLAN 10, MAC in any spelling"


@pytest.mark.guests(1)
def test_examples_run(lab: Lab, tmp_path: Path) -> None:
    net = lab.network()
    pool_dir = Path("/var/tmp/sharedvirt-kvm") / f"{lab.prefix}-pool"
    pool_dir.mkdir(parents=True, exist_ok=True)
    pool = lab.conn.storagePoolCreateXML(
        f"<pool type='dir'><name>{lab.prefix}-images</name><target><path>{pool_dir}</path></target></pool>", 0
    )
    name = f"{lab.prefix}-web1"
    lab.domains.append(name)
    try:
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(pool_dir / "web1.qcow2"), "16M"], check=True)
        pool.refresh(0)
        text = (
            domain.EXAMPLES.replace("web1.qcow2", "WEBVOL")
            .replace("web1", name)
            .replace("WEBVOL", "web1.qcow2")
            .replace("{network: lab}", f"{{network: {net.name}}}")
            .replace("pool: images", f"pool: {lab.prefix}-images")
            # The example guest has no OS to answer the power button: it is powered off (force)
            # after the timeout, which the test need not wait two minutes for.
            .replace("timeout: 120", "timeout: 3")
        )
        tasks = [task for task in yaml.safe_load(text) if task["name"] != NEEDS_OVS]
        play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
        run = run_playbook(yaml.safe_dump(play))
        assert run.rc == 0, run.output
        assert run.recap["failed"] == 0 and run.recap["changed"] == len(tasks), run.output
    finally:
        pool.destroy()
        for leftover in pool_dir.glob("*"):
            leftover.unlink()
        pool_dir.rmdir()
