"""Bounded waits that say what they waited for and what they saw last."""

from __future__ import annotations

import re
import time
import typing as t
from pathlib import Path

T = t.TypeVar("T")


class WaitTimeout(AssertionError):
    """A bounded wait ran out; the message says for what and shows the last observation."""


def wait_for(what: str, probe: t.Callable[[], T | None], timeout: float, interval: float = 0.25) -> T:
    """Call ``probe`` until it returns something truthy, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g} s waiting for {what}; last seen: {last!r}")
        time.sleep(interval)


def wait_for_marker(serial: Path, pattern: str, timeout: float) -> re.Match[str]:
    """Wait until the guest's serial log has a line matching ``pattern``; return the match."""
    regex = re.compile(pattern, re.MULTILINE)

    def probe() -> re.Match[str] | None:
        try:
            return regex.search(serial.read_text(errors="replace"))
        except FileNotFoundError:
            return None

    try:
        return wait_for(f"{pattern!r} on the serial console {serial}", probe, timeout)
    except WaitTimeout as err:
        tail = serial.read_text(errors="replace")[-1500:] if serial.exists() else "(no serial log yet)"
        raise WaitTimeout(f"{err}\n--- last serial output ---\n{tail}") from None
