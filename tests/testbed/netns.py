"""Private network namespaces for tests that change host interfaces, and a way to step into one.

The test process enters a namespace with setns(2) for the duration of a ``with`` block, so a module
run in-process (``run_module``) changes that namespace and never the machine's own interfaces.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import typing as t

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


class NetNs:
    """A named namespace (``ip netns``) that is deleted, with all its interfaces, by ``delete()``."""

    def __init__(self, name: str) -> None:
        self.name = name
        subprocess.run(["ip", "netns", "add", name], check=True)
        self.ip("link", "set", "lo", "up")

    def ip(self, *args: str) -> str:
        """Run ``ip`` inside the namespace (test set-up and checks, not the code under test)."""
        done = subprocess.run(["ip", "-n", self.name, *args], capture_output=True, text=True, check=True)
        return done.stdout

    @contextlib.contextmanager
    def inside(self) -> t.Iterator[None]:
        with self.entered(self.name):
            yield

    @staticmethod
    @contextlib.contextmanager
    def entered(name: str) -> t.Iterator[None]:
        """This thread inside namespace ``name`` (one made elsewhere, a bed host's) for the ``with`` block."""
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{name}", os.O_RDONLY)
        try:
            _setns(target)
            yield
        finally:
            _setns(own)
            os.close(own)
            os.close(target)

    @staticmethod
    def run_in(name: str, *command: str) -> str:
        """Run ``command`` inside namespace ``name``."""
        done = subprocess.run(["ip", "netns", "exec", name, *command], capture_output=True, text=True, check=True)
        return done.stdout

    def delete(self) -> None:
        self.remove(self.name)

    @staticmethod
    def remove(name: str) -> None:
        """Delete namespace ``name`` if it exists (its interfaces go with it)."""
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
