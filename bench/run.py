"""make bench: every scenario, every alternative, alternating; writes bench/results/latest.md."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import REPO, WORK, report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8,9", help="scenarios to run, e.g. 1,3")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "latest.md"))
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    import s1_converge
    import s2_lookup
    import s3_inventory
    import s4_clones
    import s5_scale
    import s6_storage
    import s7_memory
    import s8_migration
    import s9_cluster

    scenarios = {
        "1": s1_converge.scenario,
        "2": s2_lookup.scenario,
        "3": s3_inventory.scenario,
        "4": s4_clones.scenario,
        "5": s5_scale.scenario,
        "6": s6_storage.scenario,
        "7": s7_memory.scenario,
        "8": s8_migration.scenario,
        "9": s9_cluster.scenario,
    }
    from env import connect
    from testbed.guest import local_domain_type

    conn = connect()
    guest_type = local_domain_type(conn)
    conn.close()
    started = time.monotonic()
    sections = []
    timings = []
    for key in args.only.split(","):
        begun = time.monotonic()
        sections.append(scenarios[key](args.reps))
        timings.append(f"scenario {key}: {time.monotonic() - begun:.0f} s")
        print(sections[-1].markdown(), flush=True)
        # Written after every scenario: a late failure keeps what was measured.
        Path(args.out).write_text(report(sections, args.reps, time.monotonic() - started, guest_type))
    print(Path(args.out).read_text())
    print("timing: " + ", ".join(timings) + f"; total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
