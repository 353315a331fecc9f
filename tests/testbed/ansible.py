"""Run real ansible-playbook against localhost with this collection, as a user would."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from .paths import COLLECTIONS, link_collection


@dataclasses.dataclass
class PlaybookRun:
    rc: int
    output: str
    recap: dict[str, int]


def run_playbook(
    playbook: str | Path,
    check: bool = False,
    diff: bool = False,
    extra_vars: str = "",
    timeout: float = 600,
    verbosity: int = 0,
    inventory: str | Path = "localhost,",
) -> PlaybookRun:
    """Run ``playbook`` (YAML text, or a file) on localhost (or ``inventory``); ``recap``: localhost's PLAY RECAP."""
    env = environment()
    with tempfile.TemporaryDirectory(prefix="svkvm-play-") as tmp:
        if isinstance(playbook, Path):
            path = playbook
        else:
            path = Path(tmp) / "play.yml"
            path.write_text(playbook)
        cmd = [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            str(inventory),
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(path),
        ]
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        if extra_vars:
            cmd += ["-e", extra_vars]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    output = done.stdout + done.stderr
    match = re.search(r"^localhost\s*:\s*(.*)$", output, re.MULTILINE)
    recap = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))} if match else {}
    return PlaybookRun(done.returncode, output, recap)


def start_playbook(path: Path) -> subprocess.Popen[str]:
    """ansible-playbook on localhost, started and not waited for (runs at the same time as the test)."""
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local"]
    cmd += ["-e", f"ansible_python_interpreter={sys.executable}", str(path)]
    return subprocess.Popen(
        cmd,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and every process below it. Ansible's workers start sessions of their own, so a process
    group kill would miss the module: each process is frozen first, so none can start another meanwhile."""
    frozen: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(ProcessLookupError):
            os.kill(current, signal.SIGSTOP)
            frozen.append(current)
            pending.extend(_children(current))
    for each in frozen:
        with contextlib.suppress(ProcessLookupError):
            os.kill(each, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # The command name (field 2) may hold spaces; the parent PID follows its closing parenthesis.
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def environment() -> dict[str, str]:
    link_collection()
    return dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_NOCOWS="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
    )


def run_inventory(inventory: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``ansible-inventory -i inventory --list`` as a user runs it (stdout: the JSON inventory)."""
    cmd = [str(Path(sys.executable).with_name("ansible-inventory")), "-i", str(inventory), "--list"]
    return subprocess.run(cmd, env=environment(), capture_output=True, text=True, timeout=timeout, check=False)


def playbook_ok(run: PlaybookRun) -> PlaybookRun:
    """``run``, once it is known to have succeeded without a warning."""
    assert run.rc == 0, run.output
    assert "[WARNING]" not in run.output, run.output
    return run


def changed_on_every_host(run: PlaybookRun) -> int:
    """Changed tasks over every host of the PLAY RECAP (``recap`` is localhost's alone)."""
    return sum(int(n) for n in re.findall(r"^\S+\s*:\s*ok=\d+\s+changed=(\d+)", run.output, re.MULTILINE))
