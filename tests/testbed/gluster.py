"""A single-brick GlusterFS volume served on loopback by a private glusterd."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path("/var/tmp/sharedvirt-kvm/gluster")
VOLFILE = """volume management
    type mgmt/glusterd
    option working-directory {wd}
    option transport-type socket
    option transport.socket.bind-address 127.0.0.1
    option transport.socket.listen-port 24007
    option ping-timeout 0
    option event-threads 1
    option max-port 60999
end-volume
"""


def _gluster(*args: str) -> str:
    done = subprocess.run(["gluster", "--mode=script", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"gluster {' '.join(args)}: {done.stdout}{done.stderr}")
    return done.stdout


def _pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


class Gluster:
    """glusterd + one volume; ``start()`` and ``stop()`` by pid files, nothing left behind."""

    def __init__(self, volume: str) -> None:
        self.volume = volume
        self.wd = ROOT / "wd"
        self.brick = ROOT / "bricks" / volume
        self.pidfile = ROOT / "glusterd.pid"

    def start(self) -> None:
        if _pid(self.pidfile) is None:
            shutil.rmtree(ROOT, ignore_errors=True)
            self.wd.mkdir(parents=True)
            for sub in ("groups", "hooks"):
                if Path("/var/lib/glusterd", sub).exists():
                    shutil.copytree(Path("/var/lib/glusterd", sub), self.wd / sub)
            (ROOT / "glusterd.vol").write_text(VOLFILE.format(wd=self.wd))
            subprocess.run(
                [
                    "glusterd",
                    "-f",
                    str(ROOT / "glusterd.vol"),
                    "-p",
                    str(self.pidfile),
                    "-l",
                    str(ROOT / "glusterd.log"),
                ],
                check=True,
            )
        for _attempt in range(100):
            with contextlib.suppress(RuntimeError):
                _gluster("volume", "list")
                break
            time.sleep(0.1)
        self.brick.mkdir(parents=True, exist_ok=True)
        # glusterd refuses loopback names for bricks; the host name (resolving to 127.0.0.1) is accepted.
        _gluster("volume", "create", self.volume, f"{socket.gethostname()}:{self.brick}", "force")
        _gluster("volume", "set", self.volume, "server.allow-insecure", "on")
        _gluster("volume", "set", self.volume, "storage.owner-uid", str(_uid("libvirt-qemu")))
        _gluster("volume", "start", self.volume)

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            _gluster("volume", "stop", self.volume, "force")
        with contextlib.suppress(RuntimeError):
            _gluster("volume", "delete", self.volume)
        for pidfile in list(Path("/var/run/gluster/vols").glob(f"{self.volume}/*.pid")) + [self.pidfile]:
            pid = _pid(pidfile)
            if pid is not None:
                os.kill(pid, signal.SIGTERM)
        for _attempt in range(100):
            if _pid(self.pidfile) is None:
                break
            time.sleep(0.1)
        shutil.rmtree(Path("/var/run/gluster/vols") / self.volume, ignore_errors=True)
        shutil.rmtree(ROOT, ignore_errors=True)


def _uid(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_uid
