"""Guest slots: at most CAPACITY TCG guests at once on this machine, across parallel test workers.

Two cores carry about four TCG guests; past that every boot slows down until waits time out. A test takes a
slot for each guest it makes (Lab.guest, guest_params) and gives all of them back when it ends. The slots are
a small JSON file under a lock, so they hold across the processes of a pytest-xdist run and outlive nothing:
the slots of a process that died are free again.

A test cannot know in advance how many guests it will need, so two tests could each hold some slots and wait
for more. When every other holder is waiting as well, the asker goes ahead over the cap instead of deadlocking.

A guest costs CPU mostly while it boots (~5 s); booted, it idles at ~0.5 % of a core while its test waits on a
namespace hypervisor's libvirtd, a timeout or a throttled disk. So a slot held by idle guests is not a busy
core: when the machine's cores have been mostly idle for IDLE_SECONDS, an asker goes ahead over the cap, up to
OVER_CAP more guests than CAPACITY. The cores, not the count, decide the few extra boots.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import typing as t
from pathlib import Path

CAPACITY = 4
OVER_CAP = 2
IDLE_SECONDS = 3.0
IDLE_SHARE = 0.6  # of both cores' time idle, over the last IDLE_SECONDS
STATE = Path("/var/tmp/sharedvirt-kvm/guest-slots.json")
POLL = 0.5


@contextlib.contextmanager
def _locked() -> t.Iterator[dict[str, dict[str, t.Any]]]:
    """The holders (pid -> held, waiting), read and written back under the lock; dead processes dropped."""
    STATE.parent.mkdir(parents=True, exist_ok=True)
    with open(STATE.with_suffix(".lock"), "a+", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            holders = json.loads(STATE.read_text()) if STATE.exists() else {}
        except ValueError:
            holders = {}
        holders = {pid: entry for pid, entry in holders.items() if _alive(int(pid))}
        yield holders
        temp = STATE.with_suffix(".tmp")
        temp.write_text(json.dumps(holders))
        temp.replace(STATE)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def take() -> None:
    """Wait for a free slot and hold it until release()."""
    me = str(os.getpid())
    idle = IdleCores()
    while True:
        machine_idle = idle.sustained()
        with _locked() as holders:
            entry = holders.setdefault(me, {"held": 0, "waiting": False})
            others = [e for pid, e in holders.items() if pid != me and e["held"]]
            used = sum(e["held"] for e in holders.values())
            if may_start(used, all(e["waiting"] for e in others), machine_idle):
                entry.update(held=entry["held"] + 1, waiting=False)
                return
            entry["waiting"] = True
        time.sleep(POLL)


def may_start(used: int, others_all_waiting: bool, machine_idle: bool) -> bool:
    """Whether one more guest may start, with ``used`` slots held across the run."""
    if used < CAPACITY or others_all_waiting:
        return True
    return machine_idle and used < CAPACITY + OVER_CAP


class IdleCores:
    """Whether the machine's cores stayed mostly idle over the last IDLE_SECONDS (/proc/stat, all CPUs)."""

    def __init__(self, read: t.Callable[[], tuple[float, float]] | None = None) -> None:
        self.read = read or cpu_times
        self.samples: list[tuple[float, float, float]] = []  # (when, idle, total)

    def sustained(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        idle, total = self.read()
        self.samples.append((now, idle, total))
        while len(self.samples) > 1 and now - self.samples[1][0] >= IDLE_SECONDS:
            self.samples.pop(0)  # keep the newest sample that is at least IDLE_SECONDS old
        first = self.samples[0]
        if now - first[0] < IDLE_SECONDS or total <= first[2]:
            return False
        return (idle - first[1]) / (total - first[2]) >= IDLE_SHARE


def cpu_times() -> tuple[float, float]:
    """(idle, total) jiffies of all CPUs since boot; iowait counts as idle (a waiting disk is not a busy core)."""
    fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])


def release() -> None:
    """Give back every slot this process holds."""
    with _locked() as holders:
        holders.pop(str(os.getpid()), None)


def held() -> int:
    with _locked() as holders:
        return int(holders.get(str(os.getpid()), {}).get("held", 0))


WHOLE_HOST = STATE.with_name("whole-host.lock")
TURNSTILE = STATE.with_name("whole-host.turnstile")


@contextlib.contextmanager
def host_share(whole: bool) -> t.Iterator[None]:
    """Held for a whole test: shared by the tests that see only their own objects, exclusive (``whole``) for one
    that reads or measures the whole host (a picture of every domain, KSM's savings), so that nothing of another
    worker's test changes under it. A turnstile keeps a waiting whole-host test from being overtaken forever."""
    WHOLE_HOST.parent.mkdir(parents=True, exist_ok=True)
    with open(TURNSTILE, "a+", encoding="utf-8") as turnstile, open(WHOLE_HOST, "a+", encoding="utf-8") as lock:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if whole else fcntl.LOCK_SH)
        finally:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
