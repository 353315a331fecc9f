"""Guest slots: at most CAPACITY TCG guests at once on this machine, across parallel test workers.

Two cores carry about four TCG guests; past that every boot slows down until waits time out. A test takes a
slot for each guest it makes (Lab.guest, guest_params) and gives all of them back when it ends. The slots are
a small JSON file under a lock, so they hold across the processes of a pytest-xdist run and outlive nothing:
the slots of a process that died are free again.

A test cannot know in advance how many guests it will need, so two tests could each hold some slots and wait
for more. When every other holder is waiting as well, the asker goes ahead over the cap instead of deadlocking.
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
    while True:
        with _locked() as holders:
            entry = holders.setdefault(me, {"held": 0, "waiting": False})
            others = [e for pid, e in holders.items() if pid != me and e["held"]]
            used = sum(e["held"] for e in holders.values())
            if used < CAPACITY or all(e["waiting"] for e in others):
                entry.update(held=entry["held"] + 1, waiting=False)
                return
            entry["waiting"] = True
        time.sleep(POLL)


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
