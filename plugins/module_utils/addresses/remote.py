"""A remote hypervisor's neighbour table, read (and its bridges swept) on that hypervisor over SSH (I/O).

libvirt's own ARP source fails on newer kernels and cannot sweep, so for an SSH URI the controller runs
neighbours.py itself on the hypervisor: one ``ssh host python3 -`` call per read, the probe limits applied
there.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import functools
import inspect
import json
import shlex
import subprocess
import typing as t

from . import neighbours
from .model import Neighbour, neighbours_from_table
from .resolve import SourceUnavailable

# Seconds beyond the connection and the sweep itself that a remote read may take.
SLACK = 30


@functools.lru_cache(maxsize=1)
def _program() -> bytes:
    return inspect.getsource(neighbours).encode()


class SshNeighbours:
    """Reads ``uri``'s neighbour table through ``argv`` (model.ssh_argv), sweeping first when asked."""

    def __init__(self, uri: str, argv: t.Sequence[str], connect_timeout: int, limit: int, rate: float) -> None:
        self.uri = uri
        self.argv = list(argv)
        self.connect_timeout = connect_timeout
        self.limit = limit
        self.rate = rate

    def read(self, ipv6: bool, sweep: t.Sequence[str] = ()) -> t.Tuple[t.List[Neighbour], t.Dict[str, str]]:
        """The table, and per bridge swept what was swept; a refused sweep raises with the hypervisor's reason."""
        args = ["python3", "-", "--limit", str(self.limit), "--rate", f"{self.rate:g}"] + (["--ipv6"] if ipv6 else [])
        for bridge in sweep:
            args += ["--sweep", bridge]
        timeout = self.connect_timeout + SLACK + len(sweep) * (self.limit / self.rate + 1)
        remote = " ".join(shlex.quote(arg) for arg in args)  # ssh hands the remote shell one string
        try:
            done = subprocess.run(
                [*self.argv, remote], input=_program(), capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise SourceUnavailable(
                f"reading the neighbour table of {self.uri} over SSH took over {timeout:g} s"
            ) from None
        except OSError as err:
            raise SourceUnavailable(f"cannot run ssh to read the neighbour table of {self.uri}: {err}") from None
        if done.returncode != 0:
            said = done.stderr.decode(errors="replace").strip().splitlines()
            raise SourceUnavailable(
                f"reading the neighbour table of {self.uri} over SSH failed (exit {done.returncode}): "
                f"{said[-1] if said else 'no message'}"
            )
        reply = json.loads(done.stdout)
        if reply["refused"]:
            raise SourceUnavailable(f"{next(iter(reply['refused'].values()))} (on {self.uri})")
        return neighbours_from_table(reply["table"]), dict(reply["swept"])
