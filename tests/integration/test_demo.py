"""make demo's playbooks as a user runs them: the cluster, the shared-disk proof, the table; a rerun
changes nothing; the teardown leaves nothing behind."""

from __future__ import annotations

import re
import subprocess
import typing as t

from testbed.paths import ROOT

DEMO = [str(ROOT / "tools" / "demo.sh")]


def run(*args: str) -> str:
    done = subprocess.run(DEMO + list(args), capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return done.stdout


def recap(output: str) -> dict[str, int]:
    line = re.findall(r"^localhost\s*:\s*(.*)$", output, re.MULTILINE)[-1]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def test_demo_twice_then_teardown(system_conn: t.Any) -> None:
    try:
        first = run()
        rows = re.findall(r'"(svkvm-demo\d)\s+localhost\s+running\s+(\S+)\s+(\S+)\s+vdb"', first)
        assert [name for name, _mac, _ip in rows] == ["svkvm-demo1", "svkvm-demo2"]
        assert all(ip.startswith("192.168.213.") for _name, _mac, ip in rows)
        assert "Prove the shared disk" in first and recap(first)["failed"] == 0
        again = run()
        assert recap(again)["changed"] == 0
    finally:
        run("--clean")
    names = [d.name() for d in system_conn.listAllDomains()] + [n.name() for n in system_conn.listAllNetworks()]
    assert not [n for n in names if n.startswith("svkvm-demo")]
