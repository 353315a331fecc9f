"""Scenario 5: define N = 10, 50, 200 domains; the cost per domain must stay flat."""

from __future__ import annotations

import typing as t

from env import PREFIX, connect, playbook, remove_domains
from harness import OURS_VENV, Goal, Section, rotations

COUNTS = (10, 50, 200)
LOOP_COUNTS = (10, 50)  # a loop of 200 module runs takes ~90 s a repetition; its per-domain cost is the ping floor's


def items(count: int) -> t.List[t.Dict[str, t.Any]]:
    return [{"name": f"{PREFIX}s{i:03d}", "type": "qemu", "memory": "64MiB", "vcpus": 1} for i in range(count)]


def scenario(reps: int) -> Section:
    section = Section(
        "5. Scale: define 10, 50 and 200 domains",
        "Domains defined from nothing (not started), then the idempotent rerun; `sharedvirt.kvm.domains` in one "
        f"task for every N, and a loop of `sharedvirt.kvm.domain` for N = {', '.join(map(str, LOOP_COUNTS))}. "
        "The per-domain figures divide each median by N.",
    )
    runners: t.Dict[str, t.Callable[[], t.Any]] = {}
    for count in COUNTS:
        runners[f"domains, N={count}"] = playbook(
            OURS_VENV,
            f"s5-domains-{count}",
            [{"sharedvirt.kvm.domains": {"domains": "{{ vms }}"}}],
            {"vms": items(count)},
        )
    for count in LOOP_COUNTS:
        runners[f"domain loop, N={count}"] = playbook(
            OURS_VENV,
            f"s5-loop-{count}",
            [{"sharedvirt.kvm.domain": "{{ item }}", "loop": "{{ vms }}"}],
            {"vms": items(count)},
        )
    conn = connect()
    try:
        for _rep, label in rotations(list(runners), reps):
            remove_domains(conn)
            section.measure(f"{label}: define", runners[label])
            section.measure(f"{label}: rerun", runners[label])
        remove_domains(conn)
    finally:
        conn.close()
    for label in list(section.rows):
        count = int(label.split("N=")[1].split(":")[0])
        row = section.rows[label]
        per = section.series(f"{label}, per domain")
        per.times = [x / count for x in row.times]
    small, large = section.rows["domains, N=10: define"].median, section.rows["domains, N=200: define"].median
    section.notes.append(
        f"One `domains` task: each further domain adds {(large - small) / 190 * 1000:.1f} ms to the define "
        f"(N=10 → 200); a loop costs ~{section.rows['domain loop, N=50: define'].median / 50:.2f} s a domain, "
        "Ansible's per-task cost."
    )
    section.goals = [
        Goal(
            f"per-domain cost at N=200 within 1.3× of N=10 ({what})",
            f"domains, N=200: {what}, per domain",
            f"domains, N=10: {what}, per domain",
            1.3,
            within=True,
        )
        for what in ("define", "rerun")
    ] + [
        Goal(
            "per-domain cost at N=50 within 1.3× of N=10 (loop, define)",
            "domain loop, N=50: define, per domain",
            "domain loop, N=10: define, per domain",
            1.3,
            within=True,
        )
    ]
    return section
