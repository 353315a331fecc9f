"""The playbooks the docs show: the converted playbooks of docs/coming-from-community-libvirt.md, task by task on
test:///default, and the Windows example (docs/examples/win7.yml).

Each converted task runs in check mode, then for real (the same ``changed``), then again (``changed`` false), in
one process so that the test driver keeps its state between tasks, as a hypervisor keeps it between a play's
tasks.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import yaml
from testbed.ansible import environment
from testbed.modules import run_module

URI = "test:///default"
GUIDE = Path(__file__).resolve().parents[2] / "docs"
PLAYBOOKS = ["network-and-pool.yml", "vm-lifecycle.yml", "volumes.yml"]  # in the guide's order


def tasks(playbook: str) -> list[tuple[str, str, dict[str, t.Any]]]:
    """(task name, module, arguments) of every task of the playbook's plays."""
    found = []
    for play in yaml.safe_load((GUIDE / "migration" / playbook).read_text()):
        assert play["module_defaults"] == {
            "group/sharedvirt.kvm.libvirt": {"uri": "{{ sharedvirt_uri | default('qemu:///system') }}"}
        }
        for task in play["tasks"]:
            (action,) = (key for key in task if key.startswith("sharedvirt.kvm."))
            found.append((task["name"], action.rsplit(".", 1)[1], dict(task[action])))
    return found


def test_the_guide_shows_every_converted_playbook() -> None:
    guide = (GUIDE / "coming-from-community-libvirt.md").read_text()
    assert all(f"migration/{name}" in guide for name in PLAYBOOKS)
    assert sorted(p.name for p in (GUIDE / "migration").glob("*.yml")) == sorted(PLAYBOOKS)


def test_converted_playbooks_converge_and_rerun_unchanged(test_conn: t.Any) -> None:
    for playbook in PLAYBOOKS:
        for name, module_name, args in tasks(playbook):
            module = importlib.import_module(f"ansible_collections.sharedvirt.kvm.plugins.modules.{module_name}")
            params = {"uri": URI, **args}
            predicted = run_module(module, params, check_mode=True)
            applied = run_module(module, params)
            again = run_module(module, params)
            where = f"{playbook}: {name}"
            assert not applied.get("failed") and not predicted.get("failed"), f"{where}: {applied.get('msg')}"
            assert applied["changed"] is True and predicted["changed"] is True, where
            assert again["changed"] is False, f"{where}: a rerun changes {again.get('actions')}"
    # What the guide's plays made and kept is there; what they removed is gone. (The test driver forgets it all
    # when the test's connection closes.)
    assert test_conn.networkLookupByName("lab").isActive()
    pool = test_conn.storagePoolLookupByName("images")
    assert pool.listVolumes() == ["template.raw"]
    assert "web1" not in [d.name() for d in test_conn.listAllDomains()]


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_converted_playbooks_are_valid_playbooks(playbook: str) -> None:
    command = [str(Path(sys.executable).with_name("ansible-playbook")), "--syntax-check", "-i", "localhost,"]
    done = subprocess.run(
        [*command, str(GUIDE / "migration" / playbook)], env=environment(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_windows_example_is_a_valid_playbook_whose_domain_options_parse() -> None:
    from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.model import DomainSpec

    example = GUIDE / "examples" / "win7.yml"
    command = [str(Path(sys.executable).with_name("ansible-playbook")), "--syntax-check", "-i", "hv1,localhost,"]
    done = subprocess.run([*command, str(example)], env=environment(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (guest,) = (task["sharedvirt.kvm.domain"] for task in yaml.safe_load(example.read_text())[0]["tasks"][1:])
    spec = DomainSpec.from_params({k: v for k, v in guest.items() if k != "state"})
    assert spec.hyperv is not None and spec.hyperv.spinlocks == 8191 and spec.clock is not None
