"""The test bed's fencing step: stop a namespace hypervisor for good and prove it (``fence.py URI``).

What IPMI or Redfish power-off is to a real host: every process of the host's namespace - QEMU, libvirtd,
virtlockd - is killed, and the step succeeds only once none is left, so nothing of the host can write again.
Exit status 0: fenced; 1: processes survived; 2: no bed host has the URI's address.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit


def namespace_of(address: str) -> str | None:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    for name in (line.split()[0] for line in listed.splitlines() if line.strip()):
        shown = subprocess.run(
            ["ip", "-n", name, "-4", "-o", "addr", "show"], capture_output=True, text=True, check=False
        )
        if f" {address}/" in shown.stdout:
            return name
    return None


def fence(uri: str) -> int:
    address = urlsplit(uri).hostname or ""
    name = namespace_of(address)
    if name is None:
        print(f"fence: no bed host has address {address}", file=sys.stderr)
        return 2
    pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, check=True).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{pid}") for pid in pids):
        if time.monotonic() > deadline:
            print(f"fence: processes of {name} survived SIGKILL", file=sys.stderr)
            return 1
        time.sleep(0.1)
    print(f"fence: {name} ({address}) has no process left")
    return 0


if __name__ == "__main__":
    sys.exit(fence(sys.argv[1]))
