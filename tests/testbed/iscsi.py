"""A userspace iSCSI target (tgtd) on 127.0.0.1, with file-backed LUNs, with or without CHAP.

One tgtd per portal address, each with its own pid file and management channel: the integration tests' target on
loopback and a test bed's on its bridge (tools/lab_storage.py) run side by side, and an outage test that kills
one leaves the other serving."""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import signal
import subprocess
import time
from pathlib import Path

PORTAL = "127.0.0.1"
PORT = 3260


def pidfile(portal: str = PORTAL) -> Path:
    return Path(f"/run/sharedvirt-kvm-tgtd-{portal}.pid")


def control_port(portal: str = PORTAL) -> int:
    """The tgtd's management channel: tgtd's default (0) on loopback, one derived from the address elsewhere."""
    return 0 if portal == PORTAL else 1 + int(ipaddress.IPv4Address(portal)) % 9999


def _tgtadm(portal: str, *args: str, check: bool = True) -> int:
    command = ["tgtadm", "--control-port", str(control_port(portal)), "--lld", "iscsi", *args]
    return subprocess.run(command, check=check, capture_output=True).returncode


def running_pid(portal: str = PORTAL) -> int | None:
    try:
        pid = int(pidfile(portal).read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def start(portal: str = PORTAL) -> None:
    """Start tgtd (on loopback, or on a test bridge's ``portal`` address) unless it runs; wait until it answers."""
    if running_pid(portal) is None:
        port = str(control_port(portal))
        subprocess.run(
            ["tgtd", "-C", port, "--iscsi", f"portal={portal}:{PORT}", "-p", str(pidfile(portal))], check=True
        )
    for _attempt in range(100):
        show = [
            "tgtadm",
            "--control-port",
            str(control_port(portal)),
            "--lld",
            "iscsi",
            "--mode",
            "target",
            "--op",
            "show",
        ]
        if subprocess.run(show, capture_output=True, check=False).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"tgtd on {portal} did not answer tgtadm within 10 s")


def kill(portal: str = PORTAL) -> None:
    """Kill the portal's tgtd hard (a storage outage); targets are lost with it."""
    pid = running_pid(portal)
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
        for _attempt in range(100):
            if running_pid(portal) is None:
                break
            time.sleep(0.05)
    pidfile(portal).unlink(missing_ok=True)


@dataclasses.dataclass
class Target:
    """One target with LUN 1 backed by a sparse file."""

    tid: int
    iqn: str
    backing: Path
    user: str | None = None
    password: str | None = None
    portal: str = PORTAL  # which tgtd serves it

    def create(self, size_mib: int) -> None:
        with self.backing.open("ab") as handle:
            handle.truncate(size_mib * 2**20)
        self.export()

    def export(self) -> None:
        """(Re)create the target on a running tgtd from the existing backing file."""
        _tgtadm(self.portal, "--mode", "target", "--op", "new", "--tid", str(self.tid), "--targetname", self.iqn)
        _tgtadm(
            self.portal,
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
                _tgtadm(
                    self.portal, "--mode", "account", "--op", "new", "--user", self.user, "--password", self.password
                )
            _tgtadm(self.portal, "--mode", "account", "--op", "bind", "--tid", str(self.tid), "--user", self.user)
        _tgtadm(self.portal, "--mode", "target", "--op", "bind", "--tid", str(self.tid), "--initiator-address", "ALL")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            _tgtadm(self.portal, "--mode", "target", "--op", "delete", "--force", "--tid", str(self.tid))
        if self.user:
            with contextlib.suppress(subprocess.CalledProcessError):
                _tgtadm(self.portal, "--mode", "account", "--op", "delete", "--user", self.user)
        self.backing.unlink(missing_ok=True)


def stop(portal: str = PORTAL) -> None:
    """Stop the portal's tgtd: it exits once the system is deleted (SIGTERM alone does not stop it)."""
    if running_pid(portal) is None:
        return
    with contextlib.suppress(subprocess.CalledProcessError):
        _tgtadm(portal, "--mode", "system", "--op", "delete")
    for _attempt in range(100):
        if running_pid(portal) is None:
            break
        time.sleep(0.05)
    kill(portal)
