"""libvirt's daemons on hosts whose PID 1 is not systemd (containers, minimal hosts): plan, start, stop.

A daemon counts as running when its pid file names a live process of that name. libvirtd needs
``--listen`` for TCP/TLS listeners without systemd socket activation; a running libvirtd without it
is restarted when listening is asked for. Guests keep running across a libvirtd restart.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import typing as t

from .._core.errors import CollectionError

ORDER = ("virtlogd", "virtlockd", "libvirtd")
LIBVIRT_SOCKET = "/run/libvirt/libvirt-sock"


def pidfile(daemon: str, pid_dir: str) -> str:
    return os.path.join(pid_dir, f"{daemon}.pid")


def running(daemon: str, pid_dir: str) -> t.Optional[t.List[str]]:
    """The command line of the running daemon, or None."""
    try:
        with open(pidfile(daemon, pid_dir), encoding="ascii") as handle:
            pid = int(handle.read().strip())
        with open(f"/proc/{pid}/comm", encoding="ascii") as handle:
            if handle.read().strip() != daemon:
                return None
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return [part.decode() for part in handle.read().split(b"\0") if part]
    except (OSError, ValueError):
        return None


def command(daemon: str, pid_dir: str, listen: bool) -> t.List[str]:
    cmd = [daemon, "-d", "-p", pidfile(daemon, pid_dir)]
    return cmd + ["--listen"] if listen and daemon == "libvirtd" else cmd


def plan_daemons(
    daemons: t.Sequence[str], state: str, listen: bool, current: t.Mapping[str, t.Optional[t.Sequence[str]]]
) -> t.List[t.Tuple[str, str]]:
    """(action, daemon) pairs: ``start``, ``restart`` (listen missing, or state=restarted)."""
    steps = []
    for daemon in sorted(daemons, key=ORDER.index):
        cmdline = current.get(daemon)
        if cmdline is None:
            steps.append(("start", daemon))
        elif state == "restarted" or (listen and daemon == "libvirtd" and not {"-l", "--listen"} & set(cmdline)):
            steps.append(("restart", daemon))
    return steps


def _libvirt_answers() -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(LIBVIRT_SOCKET)
            return True
        except OSError:
            return False


def _wait(what: str, check: t.Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise CollectionError(f"{what} within {timeout:g} s; see the daemon's log (/var/log/libvirt)")
        time.sleep(0.2)


def start(daemon: str, pid_dir: str, listen: bool, timeout: float) -> None:
    done = subprocess.run(command(daemon, pid_dir, listen), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CollectionError(f"{daemon} did not start: {done.stderr.strip() or done.returncode}")
    _wait(
        f"{daemon} did not write a live pid to {pidfile(daemon, pid_dir)}",
        lambda: running(daemon, pid_dir) is not None,
        timeout,
    )
    if daemon == "libvirtd":
        _wait(f"libvirtd did not answer on {LIBVIRT_SOCKET}", _libvirt_answers, timeout)


def stop(daemon: str, pid_dir: str, timeout: float) -> None:
    with open(pidfile(daemon, pid_dir), encoding="ascii") as handle:
        pid = int(handle.read().strip())
    os.kill(pid, signal.SIGTERM)
    _wait(f"{daemon} (pid {pid}) did not stop", lambda: not os.path.exists(f"/proc/{pid}"), timeout)
