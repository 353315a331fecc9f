"""Where each alternative runs: our venv and collection, community.libvirt's own venv, libvirt objects."""

from __future__ import annotations

import json
import os
import re
import sys
import typing as t
from pathlib import Path

from harness import OURS_VENV, REPO, WORK, run

sys.path.insert(0, str(REPO / "tests"))

from testbed.paths import COLLECTIONS, link_collection  # noqa: E402
from testbed.plugins import init_collection_loader  # noqa: E402
from testbed.wait import wait_for_marker  # noqa: E402

# Before anything imports the collection: its plugins then load as Ansible loads them (tests/conftest.py).
init_collection_loader()

import libvirt  # noqa: E402

URI = "qemu:///system"
PREFIX = "svb-"  # every libvirt object the benchmarks create starts with this


def ansible_env(venv: Path) -> t.Dict[str, str]:
    """Our collection for .venv; for community.libvirt's venv only what its ``ansible`` package ships."""
    empty = WORK / "no-collections"
    empty.mkdir(parents=True, exist_ok=True)
    if venv == OURS_VENV:
        link_collection()
    return dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS if venv == OURS_VENV else empty),
        ANSIBLE_NOCOWS="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_RETRY_FILES_ENABLED="0",
    )


def playbook(
    venv: Path, name: str, tasks: t.Sequence[t.Mapping[str, t.Any]], extra: t.Optional[t.Mapping[str, t.Any]] = None
) -> t.Callable[[], str]:
    """A playbook on localhost (written once), and a function that runs it and checks it did not fail."""
    path = WORK / "plays" / f"{name}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    play = [{"name": name, "hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}]
    path.write_text(json.dumps(play, indent=1))  # JSON is YAML
    variables = WORK / "plays" / f"{name}.vars.json"
    variables.write_text(json.dumps(dict(extra or {})))
    cmd = [
        str(venv / "bin" / "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={venv / 'bin' / 'python'}",
        "-e",
        f"@{variables}",
        str(path),
    ]
    env = ansible_env(venv)

    def go() -> str:
        out = run(cmd, env)
        if "failed=0" not in out:
            raise RuntimeError(f"{name}: a task failed:\n{out[-3000:]}")
        return out

    return go


def connect() -> t.Any:
    return libvirt.open(URI)


def remove_domains(conn: t.Any, prefix: str = PREFIX) -> None:
    for dom in conn.listAllDomains():
        if dom.name().startswith(prefix):
            persistent = dom.isPersistent()  # a transient domain is gone once destroyed
            if dom.isActive():
                dom.destroy()
            if persistent:
                dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)


def wait_for_markers(paths: t.Sequence[Path], marker: str, timeout: float = 240) -> None:
    for path in paths:
        wait_for_marker(path, re.escape(marker), timeout)


def remove_networks(conn: t.Any, prefix: str = PREFIX) -> None:
    """Networks left by an earlier run (their bridges, neighbour entries and lease files go with them)."""
    for net in conn.listAllNetworks():
        if net.name().startswith(prefix):
            bridge = net.bridgeName()
            persistent = net.isPersistent()
            if net.isActive():
                net.destroy()
            if persistent:
                net.undefine()
            Path(f"/var/lib/libvirt/dnsmasq/{bridge}.status").unlink(missing_ok=True)
