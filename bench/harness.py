"""Timing, alternation and the Markdown report of the benchmarks (no libvirt here)."""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import subprocess
import sys
import time
import typing as t
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = Path("/var/tmp/sharedvirt-kvm/bench")
OURS_VENV = REPO / ".venv"
CL_VENV = REPO / ".venv-bench-cl"


@dataclasses.dataclass
class Series:
    """Timings of one alternative in one scenario step (seconds)."""

    label: str
    times: t.List[float] = dataclasses.field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def cell(self) -> str:
        if not self.times:
            return "–"
        return f"{fmt(self.median)} ({fmt(min(self.times))}–{fmt(max(self.times))})"


@dataclasses.dataclass
class Goal:
    """``ours`` must be ``factor`` times faster than ``other`` (or within ``factor`` of it when ``within``)."""

    text: str
    ours: str
    other: str  # a series label, or "" for an absolute limit of ``factor`` seconds
    factor: float
    within: bool = False
    reported: bool = False  # a ratio shown for information: no goal, no verdict

    def check(self, rows: t.Mapping[str, Series]) -> t.Tuple[str, str]:
        if not self.other:
            mine = rows.get(self.ours)
            if not mine or not mine.times:
                return "n/a", "not measured"
            if self.reported:
                return f"{fmt(mine.median)} s", "reported (no goal)"
            verdict = "met" if mine.median <= self.factor else f"missed by {mine.median / self.factor:.2f}×"
            return f"{fmt(mine.median)} s", verdict
        a, b = rows.get(self.ours), rows.get(self.other)
        if not a or not b or not a.times or not b.times:
            return "n/a", "not measured"
        if self.reported:
            return f"{a.median / b.median:.2f}×", "reported (no goal)"
        if self.within:
            ratio = a.median / b.median
            return f"{ratio:.2f}×", "met" if ratio <= self.factor else f"missed by {ratio / self.factor:.2f}×"
        ratio = b.median / a.median
        return f"{ratio:.2f}× faster", "met" if ratio >= self.factor else f"missed by {self.factor / ratio:.2f}×"


@dataclasses.dataclass
class Fixed:
    """A goal whose verdict the scenario decides itself (a count, not a ratio of two series)."""

    text: str
    shown: str
    verdict: str

    def check(self, rows: t.Mapping[str, Series]) -> t.Tuple[str, str]:
        return self.shown, self.verdict


@dataclasses.dataclass
class Section:
    title: str
    what: str
    rows: t.Dict[str, Series] = dataclasses.field(default_factory=dict)
    goals: t.Sequence[t.Union[Goal, Fixed]] = dataclasses.field(default_factory=list)
    notes: t.List[str] = dataclasses.field(default_factory=list)

    def series(self, label: str) -> Series:
        return self.rows.setdefault(label, Series(label))

    def measure(self, label: str, fn: t.Callable[[], t.Any]) -> float:
        """Time ``fn`` once into the series ``label``."""
        return self.record(label, timed(fn))

    def record(self, label: str, seconds: float) -> float:
        """Add one time (and show it: a long run shows it is alive)."""
        self.series(label).times.append(seconds)
        print(f"  {label}: {fmt(seconds)} s", flush=True)
        return seconds

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", self.what, "", "| alternative | median s (min–max) | runs |", "|---|---|---|"]
        for row in self.rows.values():
            lines.append(f"| {row.label}{' — ' + row.note if row.note else ''} | {row.cell()} | {len(row.times)} |")
        if self.goals:
            lines += ["", "| goal | ratio | result |", "|---|---|---|"]
            for goal in self.goals:
                ratio, verdict = goal.check(self.rows)
                lines.append(f"| {goal.text} | {ratio} | {verdict} |")
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def fmt(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def timed(fn: t.Callable[[], t.Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run(cmd: t.Sequence[str], env: t.Optional[t.Mapping[str, str]] = None, timeout: float = 900) -> str:
    """Run a command; a failure stops the benchmark with its output (a wrong result is not a timing)."""
    done = subprocess.run(
        list(cmd), env=dict(env or os.environ), capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:3])}... failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return done.stdout


def sectors_written(path: Path) -> int:
    """Sectors the disk holding ``path`` has written since boot (/proc/diskstats; 0 where it is not listed)."""
    device = os.stat(path).st_dev
    for line in Path("/proc/diskstats").read_text().splitlines():
        fields = line.split()
        if (int(fields[0]), int(fields[1])) == (os.major(device), os.minor(device)):
            return int(fields[9])
    return 0


def rest_disk(path: Path, quiet: float = 2.0, longest: float = 30.0) -> None:
    """Sync, then wait until the disk holding ``path`` has written almost nothing (< 1 MiB) for ``quiet`` seconds:
    an alternative timed right after another one's writes pays for that writeback and the device's catch-up."""
    os.sync()
    deadline, last, since = time.monotonic() + longest, sectors_written(path), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.25)
        now = sectors_written(path)
        if now - last > 2048:  # 1 MiB written since the quiet began (or the last burst): start again
            since, last = time.monotonic(), now


def rotations(labels: t.Sequence[str], reps: int) -> t.Iterator[t.Tuple[int, str]]:
    """Alternate the alternatives, starting each repetition one further, so none always goes first."""
    for rep in range(reps):
        shift = rep % len(labels)
        for label in list(labels[shift:]) + list(labels[:shift]):
            yield rep, label


def machine(guest_type: str) -> str:
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "?")
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    kvm = f"guests of domain type {guest_type}" + (
        " (QEMU TCG, no hardware virtualisation)" if guest_type == "qemu" else ""
    )
    libvirt_version = run(["virsh", "--version"]).strip()
    core = run([str(OURS_VENV / "bin" / "ansible"), "--version"]).splitlines()[0]
    return (
        f"{platform.node()}: {platform.platform()}, {os.cpu_count()} × {model}, {mem:.0f} GiB RAM, {kvm}; "
        f"libvirt {libvirt_version}; {core}; Python {sys.version.split()[0]}"
    )


def report(sections: t.Sequence[Section], reps: int, seconds: float, guest_type: str) -> str:
    head = [
        "# Benchmark results",
        "",
        f"Generated by `make bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
        f"({reps} repetitions per alternative, alternating; {seconds / 60:.1f} min in all).",
        "",
        f"Machine: {machine(guest_type)}",
        "",
        "Times are wall-clock seconds: median (min–max). Ratios compare medians.",
        "",
    ]
    return "\n".join(head) + "\n".join(s.markdown() for s in sections)
