"""make demo's playbooks as a user runs them: the cluster, the shared-disk proof, the table; a rerun
changes nothing; the teardown leaves nothing behind."""

from __future__ import annotations

import re
import subprocess
import typing as t
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from testbed.paths import ROOT

DEMO = [str(ROOT / "tools" / "demo.sh")]
# Warnings we cannot fix, one regular expression a line ('#' comments); empty: every warning fails the test.
ALLOWED_WARNINGS = ROOT / "tests" / "integration" / "allowed-warnings.txt"


def warnings_in(output: str) -> list[str]:
    """Ansible's warning and deprecation lines (with their continuation lines) not on the allow-list."""
    allowed = [re.compile(line) for line in ALLOWED_WARNINGS.read_text().splitlines() if line and line[0] != "#"]
    found = re.findall(r"^\[(?:DEPRECATION )?WARNING\]:.*(?:\n[ \t]+\S.*)*", output, re.MULTILINE)
    return [w for w in found if not any(pattern.search(w) for pattern in allowed)]


def run(*args: str) -> str:
    done = subprocess.run(DEMO + list(args), capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    # Deprecation warnings are on (Ansible's default): the demo's output has no warning of any kind.
    assert warnings_in(done.stdout + done.stderr) == []
    return done.stdout


def recap(output: str) -> dict[str, int]:
    line = re.findall(r"^localhost\s*:\s*(.*)$", output, re.MULTILINE)[-1]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def assert_picture(path: Path, output: str) -> None:
    """The demo's picture: both VMs, and the shared disk as one node with an edge from each of them."""
    assert f"The cluster's picture: {path}" in output
    svg = "{http://www.w3.org/2000/svg}"
    titles = [(g.get("class"), g.findtext(f"{svg}title") or "") for g in ET.parse(path).getroot().iter(f"{svg}g")]
    nodes = {title for kind, title in titles if kind == "node"}
    edges = {title for kind, title in titles if kind == "edge"}
    assert {"h0/vm/svkvm-demo1", "h0/vm/svkvm-demo2", "h0/net/svkvm-demo"} <= nodes
    disks = [n for n in nodes if n.startswith("disk/")]
    assert len(disks) == 1 and {f"h0/vm/svkvm-demo{i}->{disks[0]}" for i in (1, 2)} <= edges


@pytest.mark.guests(2)
@pytest.mark.whole_host  # its picture draws every domain of the host: another test's would redraw it
def test_demo_twice_then_teardown(system_conn: t.Any) -> None:
    try:
        first = run()
        rows = re.findall(r'"(svkvm-demo\d)\s+localhost\s+running\s+(\S+)\s+(\S+)\s+vdb"', first)
        assert [name for name, _mac, _ip in rows] == ["svkvm-demo1", "svkvm-demo2"]
        assert all(ip.startswith("192.168.213.") for _name, _mac, ip in rows)
        assert "Prove the shared disk" in first and recap(first)["failed"] == 0
        assert_picture(Path("/var/tmp/sharedvirt-kvm/demo-topology.svg"), first)
        again = run()
        assert recap(again)["changed"] == 0
    finally:
        run("--clean")
    names = [d.name() for d in system_conn.listAllDomains()] + [n.name() for n in system_conn.listAllNetworks()]
    assert not [n for n in names if n.startswith("svkvm-demo")]
    assert not Path("/var/tmp/sharedvirt-kvm/demo-topology.svg").exists()


def test_the_warning_check_sees_warnings() -> None:
    output = "ok\n[WARNING]: Using a template for task args is unsafe\n  and so on\n[DEPRECATION WARNING]: x\nok\n"
    assert warnings_in(output) == [
        "[WARNING]: Using a template for task args is unsafe\n  and so on",
        "[DEPRECATION WARNING]: x",
    ]
