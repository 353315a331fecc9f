"""Scenario 8: live migration between two namespace hypervisors - an idle guest and one that keeps rewriting
64 MiB of its memory - with precopy, auto-converge and post-copy, and `virsh migrate --live` for reference."""

from __future__ import annotations

import statistics
import subprocess
import threading
import time
import typing as t
from pathlib import Path

import libvirt
from harness import Fixed, Goal, Section, rotations
from testbed.hosts import HostBed, NsHost, remove_domains_everywhere, userfaultfd_for_qemu
from testbed.lab import Guest, Lab
from testbed.modules import run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import migration

BANDWIDTH = 16  # MiB/s: below what the busy guest dirties even while TCG tracks its writes (~32 MiB/s)
# s: a job still in precopy by then is aborted and counted as not converged; auto-converge needs ~100 s here
TIMEOUTS = {"precopy": 60, "auto-converge": 150, "post-copy": 150}
BEAT_MS = 50
MODES: t.Dict[str, t.Dict[str, t.Any]] = {
    "precopy": {},
    "auto-converge": {"auto_converge": True},
    "post-copy": {"postcopy": True},
}
VIRSH = "virsh migrate --live"
DOWNTIME = "downtime (the job's downtime_ms)"
GAP = "longest heartbeat gap"
GUESTS = {  # kind: (kernel command line, memory MiB)
    "idle": (f"sv_beat={BEAT_MS}", 160),
    "busy": (f"sv_beat={BEAT_MS} sv_dirty=64", 256),
}


def longest_gap(beats: t.Sequence[float], start: float, end: float) -> float:
    """The longest time without a beat from the last beat before ``start`` to the first one after ``end``."""
    around = [b for b in beats if b < start][-1:] + [b for b in beats if start <= b <= end]
    around += [b for b in beats if b > end][:1]
    return max(b - a for a, b in zip(around, around[1:])) if len(around) > 1 else float("nan")


class Heartbeat:
    """When each SVKVM-BEAT line reached the guest's serial log, polled every 5 ms from this host: a pause of
    the guest is a gap between two beats, whichever QEMU (source or destination) wrote them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.times: t.List[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="heartbeat", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        offset, rest = 0, b""
        while not self._stop.wait(0.005):
            with self.path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            if not chunk:
                continue
            now = time.monotonic()
            offset += len(chunk)
            *lines, rest = (rest + chunk).split(b"\n")
            self.times += [now for line in lines if b"SVKVM-BEAT" in line]

    def longest_gap(self, start: float, end: float) -> float:
        return longest_gap(self.times, start, end)

    def wait_beyond(self, moment: float, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(s > moment for s in self.times) and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class Mover:
    """Moves one guest back and forth between the two hosts, by our module or by virsh, and keeps the figures."""

    def __init__(
        self, hosts: t.Sequence[NsHost], conns: t.Sequence[t.Any], guest: Guest, kind: str, section: Section
    ) -> None:
        self.hosts = list(hosts)
        self.conns = list(conns)
        self.guest = guest
        self.kind = kind
        self.section = section
        self.at = 0  # index of the host the guest runs on
        self.beat = Heartbeat(guest.serial)
        self.outcomes: t.Dict[str, t.List[bool]] = {}
        self.data: t.Dict[str, t.List[int]] = {}
        self.switched: t.Dict[str, int] = {}

    def label(self, mode: str, what: str) -> str:
        return f"{self.kind} guest, {mode}: {what}"

    def move(self, mode: str) -> None:
        source, dest = self.hosts[self.at], self.hosts[1 - self.at]
        started = time.monotonic()
        figures: t.Optional[t.Dict[str, t.Any]]
        if mode == VIRSH:
            figures = self._virsh(source, dest, self.conns[1 - self.at])
        else:
            params = {"uri": dest.uri, "sources": [source.uri], "name": self.guest.name, "timeout": TIMEOUTS[mode]}
            result = run_module(migration, dict(params, bandwidth=BANDWIDTH, **MODES[mode]))
            figures = None if result.get("failed") else result["migration"]
            if result.get("failed") and "did not finish within" not in result.get("msg", ""):
                raise RuntimeError(f"migration ({mode}) of {self.guest.name} failed: {result.get('msg')}")
        ended = time.monotonic()
        self.outcomes.setdefault(mode, []).append(figures is not None)
        self.beat.wait_beyond(ended)
        if figures is None:
            print(f"  {self.label(mode, 'total')}: did not converge within {TIMEOUTS[mode]} s (aborted)", flush=True)
            return
        self.at = 1 - self.at
        self.section.record(self.label(mode, "total"), ended - started)
        self.section.record(self.label(mode, GAP), self.beat.longest_gap(started, ended))
        if figures.get("downtime_ms") is not None:
            self.section.record(self.label(mode, DOWNTIME), figures["downtime_ms"] / 1000)
        self.data.setdefault(mode, []).append(int(figures.get("data_processed") or 0))
        self.switched[mode] = self.switched.get(mode, 0) + bool(figures.get("postcopy"))

    def _virsh(self, source: NsHost, dest: NsHost, dest_conn: t.Any) -> t.Dict[str, t.Any]:
        flags = ["--live", "--p2p", "--persistent", "--undefinesource", "--bandwidth", str(BANDWIDTH)]
        cmd = ["virsh", "-c", source.uri, "migrate", *flags, self.guest.name, dest.uri]
        subprocess.run(cmd, check=True, capture_output=True, timeout=max(TIMEOUTS.values()))
        # The destination keeps the finished job's figures, as it does for the module's own read.
        done = dest_conn.lookupByName(self.guest.name).jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        return {"downtime_ms": done.get("downtime"), "data_processed": done.get("data_processed")}

    def notes(self) -> t.List[str]:
        out = []
        for mode, results in self.outcomes.items():
            moved = self.data.get(mode, [])
            data = f", median {statistics.median(moved) / 2**20:.0f} MiB sent" if moved else ""
            switched = f", switched to post-copy in {self.switched.get(mode, 0)}" if mode == "post-copy" else ""
            out.append(f"{self.kind} guest, {mode}: converged in {sum(results)} of {len(results)} runs{data}{switched}")
        return out


def converge_verdict(busy: Mover) -> Fixed:
    counts = {mode: sum(busy.outcomes.get(mode, [])) for mode in MODES}
    runs = len(busy.outcomes.get("precopy", []))
    shown = ", ".join(f"{mode} {counts[mode]}/{runs}" for mode in MODES)
    if counts["precopy"] == runs:
        verdict = "not shown: plain precopy converged too"
    elif max(counts["auto-converge"], counts["post-copy"]) == runs:
        verdict = "met"
    else:
        verdict = "missed"
    return Fixed("busy guest converges with auto-converge or post-copy where plain precopy does not", shown, verdict)


def scenario(reps: int) -> Section:
    section = Section(
        "8. Live migration of an idle and of a busy guest between two hypervisors",
        f"Two namespace hypervisors (tools/hostbed.py); an embedded guest (no disk, {GUESTS['idle'][1]} MiB) and a "
        f"busy one ({GUESTS['busy'][1]} MiB) rewriting a 64 MiB buffer in RAM in a loop (~300 MiB/s under TCG; "
        "~32 MiB/s while a migration tracks its writes), "
        f"both printing a heartbeat every {BEAT_MS} ms on their serial log. Each run moves the guest to the other "
        f"host with the migration module in-process (p2p, bandwidth {BANDWIDTH} MiB/s; a job still in precopy is "
        f"aborted after {TIMEOUTS['precopy']} s, or {TIMEOUTS['auto-converge']} s with auto-converge) or "
        "with `virsh migrate --live --p2p --persistent --undefinesource` at the same bandwidth. Total: the "
        "module's (or virsh's) wall clock; downtime: the job's `downtime_ms`; heartbeat gap: the longest time "
        "between two beats reaching the log during the move, read from this host (it includes the beat interval "
        "and the guest's own scheduling). Measured under TCG: the guest's vCPU shares the 2 cores with both QEMUs.",
    )
    with HostBed("svb-mig", 2) as bed, userfaultfd_for_qemu():
        conns = [host.open() for host in bed.hosts]
        lab = Lab(conns[0], "svb-mig")
        movers = []
        try:
            for kind, (cmdline, memory) in GUESTS.items():
                guest = lab.guest(kind, cmdline=cmdline, memory_mib=memory, agent=False, start=False)
                guest.dom.create()
                guest.wait_for("SVKVM-DIRTY" if "sv_dirty" in cmdline else "SVKVM-READY")
                mover = Mover(bed.hosts, conns, guest, kind, section)
                movers.append(mover)
                modes = [*MODES, VIRSH] if kind == "idle" else list(MODES)
                for _rep, mode in rotations(modes, reps):
                    mover.move(mode)
                mover.beat.stop()
                conns[mover.at].lookupByName(guest.name).destroy()
        finally:
            for mover in movers:
                mover.beat.stop()
            lab.cleanup()
            remove_domains_everywhere(conns, "svb-mig")
    idle, busy = movers
    section.notes = idle.notes() + busy.notes()
    section.goals = [
        Goal("idle guest: downtime under QEMU's 300 ms target", idle.label("precopy", DOWNTIME), "", 0.3),
        Goal("idle guest: longest heartbeat gap", idle.label("precopy", GAP), "", 0, reported=True),
        converge_verdict(busy),
        Goal(
            "our module's overhead over virsh (idle guest, precopy)",
            idle.label("precopy", "total"),
            idle.label(VIRSH, "total"),
            1.2,
            within=True,
        ),
    ]
    return section
