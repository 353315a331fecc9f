"""Two plays at once create the same volumes and domains: nothing one made is deleted by the other."""

from __future__ import annotations

import hashlib
import typing as t
from pathlib import Path

from testbed.ansible import run_playbook, start_playbook
from testbed.lab import Lab
from testbed.modules import run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import pool

URI = "qemu:///system"
COUNT = 10
PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Ten volumes
      sharedvirt.kvm.volume:
        uri: {uri}
        pool: {pool}
        name: "{prefix}-v{{{{ item }}}}.raw"
        format: raw
        capacity: 1MiB
      loop: "{{{{ range({count}) | list }}}}"
    - name: Ten domains, each on its volume
      sharedvirt.kvm.domains:
        uri: {uri}
        defaults: {{memory: 64MiB, type: qemu}}
        domains: {domains}
"""


def playbook(pool_name: str, prefix: str, tmp_path: Path) -> Path:
    domains = [
        {
            "name": f"{prefix}-d{i}",
            "disks": [
                {"target": "vda", "format": "raw", "source": {"pool": pool_name, "volume": f"{prefix}-v{i}.raw"}}
            ],
        }  # fmt: skip
        for i in range(COUNT)
    ]
    path = tmp_path / "race.yml"
    path.write_text(PLAY.format(uri=URI, pool=pool_name, prefix=prefix, count=COUNT, domains=domains))
    return path


def run_together(path: Path) -> list[tuple[int, str]]:
    procs = [start_playbook(path) for _copy in range(2)]
    return [(proc.wait(timeout=600), proc.communicate()[0]) for proc in procs]


def fingerprint(directory: Path, prefix: str) -> dict[str, tuple[int, str]]:
    return {
        f.name: (f.stat().st_ino, hashlib.sha256(f.read_bytes()).hexdigest())
        for f in sorted(directory.glob(f"{prefix}-v*.raw"))
    }


def test_two_plays_at_once_never_delete_each_others_volumes(lab: Lab, tmp_path: Path) -> None:
    pool_name = f"{lab.prefix}-race"
    directory = Path("/var/tmp/sharedvirt-kvm") / pool_name
    lab.pools.append(pool_name)
    lab.files.append(directory)
    made = run_module(pool, {"uri": URI, "name": pool_name, "type": "dir", "target": {"path": str(directory)}})
    assert not made.get("failed"), made.get("msg")
    lab.domains += [f"{lab.prefix}-d{i}" for i in range(COUNT)]
    path = playbook(pool_name, lab.prefix, tmp_path)
    first: dict[str, t.Any] = {}
    for round_ in range(5):
        for rc, output in run_together(path):
            assert rc == 0, output[-3000:]
        now = fingerprint(directory, lab.prefix)
        assert len(now) == COUNT
        first = first or now
        assert now == first, f"round {round_}: a volume was deleted and made again"
    assert sorted(d.name() for d in lab.conn.listAllDomains() if d.name().startswith(lab.prefix)) == sorted(
        f"{lab.prefix}-d{i}" for i in range(COUNT)
    )
    # A third run, alone, finds everything as declared.
    alone = run_playbook(path)
    assert alone.rc == 0 and alone.recap["changed"] == 0, alone.output[-2000:]
