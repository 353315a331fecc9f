"""A userspace iSCSI target (tgtd) on 127.0.0.1, with file-backed LUNs, with or without CHAP."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import time
from pathlib import Path

PORTAL = "127.0.0.1"
PORT = 3260
PIDFILE = Path("/run/sharedvirt-kvm-tgtd.pid")


def _tgtadm(*args: str) -> None:
    subprocess.run(["tgtadm", "--lld", "iscsi", *args], check=True, capture_output=True)


def running_pid() -> int | None:
    try:
        pid = int(PIDFILE.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def start(portal: str = PORTAL) -> None:
    """Start tgtd (on loopback, or on a test bridge's ``portal`` address) unless it runs; wait until it answers."""
    if running_pid() is None:
        subprocess.run(["tgtd", "--iscsi", f"portal={portal}:{PORT}", "-p", str(PIDFILE)], check=True)
    for _attempt in range(100):
        show = ["tgtadm", "--lld", "iscsi", "--mode", "target", "--op", "show"]
        if subprocess.run(show, capture_output=True, check=False).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError("tgtd did not answer tgtadm within 10 s")


def kill() -> None:
    """Kill tgtd hard (a storage outage); targets are lost with it."""
    pid = running_pid()
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
        for _attempt in range(100):
            if running_pid() is None:
                break
            time.sleep(0.05)
    PIDFILE.unlink(missing_ok=True)


@dataclasses.dataclass
class Target:
    """One target with LUN 1 backed by a sparse file."""

    tid: int
    iqn: str
    backing: Path
    user: str | None = None
    password: str | None = None

    def create(self, size_mib: int) -> None:
        with self.backing.open("ab") as handle:
            handle.truncate(size_mib * 2**20)
        self.export()

    def export(self) -> None:
        """(Re)create the target on a running tgtd from the existing backing file."""
        _tgtadm("--mode", "target", "--op", "new", "--tid", str(self.tid), "--targetname", self.iqn)
        _tgtadm(
            "--mode",
            "logicalunit",
            "--op",
            "new",
            "--tid",
            str(self.tid),
            "--lun",
            "1",
            "--backing-store",
            str(self.backing),
        )
        if self.user and self.password:
            with contextlib.suppress(subprocess.CalledProcessError):
                _tgtadm("--mode", "account", "--op", "new", "--user", self.user, "--password", self.password)
            _tgtadm("--mode", "account", "--op", "bind", "--tid", str(self.tid), "--user", self.user)
        _tgtadm("--mode", "target", "--op", "bind", "--tid", str(self.tid), "--initiator-address", "ALL")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            _tgtadm("--mode", "target", "--op", "delete", "--force", "--tid", str(self.tid))
        if self.user:
            with contextlib.suppress(subprocess.CalledProcessError):
                _tgtadm("--mode", "account", "--op", "delete", "--user", self.user)
        self.backing.unlink(missing_ok=True)


def stop() -> None:
    """Stop tgtd: it exits once the system is deleted (SIGTERM alone does not stop it)."""
    if running_pid() is None:
        return
    with contextlib.suppress(subprocess.CalledProcessError):
        _tgtadm("--mode", "system", "--op", "delete")
    for _attempt in range(100):
        if running_pid() is None:
            break
        time.sleep(0.05)
    kill()
