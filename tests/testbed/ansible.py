"""Run real ansible-playbook against localhost with this collection, as a user would."""

from __future__ import annotations

import dataclasses
import os
import re
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


def start_playbook(path: Path, new_session: bool = False) -> subprocess.Popen[str]:
    """ansible-playbook on localhost, started and not waited for (runs at the same time; ``new_session`` lets a
    test kill it with every process it started)."""
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local"]
    cmd += ["-e", f"ansible_python_interpreter={sys.executable}", str(path)]
    return subprocess.Popen(
        cmd,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=new_session,
    )


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
