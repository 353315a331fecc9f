"""Guest slots across processes: the cap holds, a dead holder's slots come back, two waiters never deadlock."""

from __future__ import annotations

import multiprocessing
import typing as t
from pathlib import Path

import pytest
from testbed import slots

CONTEXT = multiprocessing.get_context("fork")


@pytest.fixture(autouse=True)
def private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slots, "STATE", tmp_path / "slots.json")
    monkeypatch.setattr(slots, "POLL", 0.02)
    monkeypatch.setattr(slots, "WHOLE_HOST", tmp_path / "whole-host.lock")
    monkeypatch.setattr(slots, "TURNSTILE", tmp_path / "whole-host.turnstile")


def hold(count: int, taken: t.Any, release: t.Any) -> None:
    for _n in range(count):
        slots.take()
        taken.release()
    release.wait(10)
    slots.release()


def start_holder(count: int) -> tuple[t.Any, t.Any, t.Any]:
    taken, release = CONTEXT.Semaphore(0), CONTEXT.Event()
    process = CONTEXT.Process(target=hold, args=(count, taken, release))
    process.start()
    return process, taken, release


def test_a_fifth_guest_waits_until_a_slot_is_given_back() -> None:
    process, taken, release = start_holder(slots.CAPACITY)
    for _n in range(slots.CAPACITY):
        assert taken.acquire(timeout=5)
    waiter, got, let_go = start_holder(1)
    assert not got.acquire(timeout=0.5)  # all four slots are held by the other process
    release.set()
    process.join(5)
    assert got.acquire(timeout=5)
    let_go.set()
    waiter.join(5)


def test_the_slots_of_a_process_that_died_are_free() -> None:
    process, taken, _release = start_holder(slots.CAPACITY)
    for _n in range(slots.CAPACITY):
        assert taken.acquire(timeout=5)
    process.kill()
    process.join(5)
    for _n in range(slots.CAPACITY):
        slots.take()
    assert slots.held() == slots.CAPACITY
    slots.release()
    assert slots.held() == 0


def test_two_holders_waiting_for_each_other_go_ahead_over_the_cap() -> None:
    half = slots.CAPACITY // 2
    for _n in range(half):
        slots.take()
    process, taken, release = start_holder(half + 1)  # takes the other two, then waits for a third
    for _n in range(half):
        assert taken.acquire(timeout=5)
    assert not taken.acquire(timeout=0.5)
    slots.take()  # the other holder waits too: this one goes ahead instead of waiting forever
    assert slots.held() == half + 1
    slots.release()
    assert taken.acquire(timeout=5)  # and the other one gets its slot once these are back
    release.set()
    process.join(5)


def share(whole: bool, entered: t.Any, leave: t.Any) -> None:
    with slots.host_share(whole):
        entered.set()
        leave.wait(10)


def test_a_whole_host_test_waits_for_the_running_test_and_keeps_the_next_one_out() -> None:
    events = [(CONTEXT.Event(), CONTEXT.Event()) for _n in range(3)]
    running = CONTEXT.Process(target=share, args=(False, *events[0]))
    running.start()
    assert events[0][0].wait(5)
    whole = CONTEXT.Process(target=share, args=(True, *events[1]))
    whole.start()
    assert not events[1][0].wait(0.5)  # the running test holds the host
    later = CONTEXT.Process(target=share, args=(False, *events[2]))
    later.start()
    assert not events[2][0].wait(0.5)  # queued behind the whole-host test, not let in beside the running one
    events[0][1].set()
    assert events[1][0].wait(5) and not events[2][0].wait(0.5)  # the whole-host test runs alone
    events[1][1].set()
    assert events[2][0].wait(5)
    events[2][1].set()
    for process in (running, whole, later):
        process.join(5)


@pytest.mark.parametrize(
    ("used", "others_all_waiting", "machine_idle", "starts"),
    [
        (slots.CAPACITY - 1, False, False, True),
        (slots.CAPACITY, False, False, False),  # the cap holds while the cores are busy
        (slots.CAPACITY, True, False, True),  # every other holder waits: no deadlock
        (slots.CAPACITY, False, True, True),  # idle cores let one more boot
        (slots.CAPACITY + slots.OVER_CAP - 1, False, True, True),
        (slots.CAPACITY + slots.OVER_CAP, False, True, False),  # never past the extra few
    ],
)
def test_a_guest_starts_over_the_cap_only_while_the_cores_stay_idle(
    used: int, others_all_waiting: bool, machine_idle: bool, starts: bool
) -> None:
    assert slots.may_start(used, others_all_waiting, machine_idle) is starts


def idle_cores(busy_shares: list[float]) -> tuple[slots.IdleCores, list[bool]]:
    """Feeds one sample per second, with the given share of each second busy; returns each sample's verdict."""
    clock = {"idle": 0.0, "total": 0.0}

    def read() -> tuple[float, float]:
        return clock["idle"], clock["total"]

    idle = slots.IdleCores(read)
    verdicts = []
    for second, busy in enumerate(busy_shares):
        clock["total"] += 200.0  # two cores, 100 jiffies each
        clock["idle"] += 200.0 * (1 - busy)
        verdicts.append(idle.sustained(now=float(second)))
    return idle, verdicts


def test_idle_cores_need_the_whole_window_idle() -> None:
    _idle, verdicts = idle_cores([0.1] * 6)
    assert verdicts == [False, False, False, True, True, True]  # not before IDLE_SECONDS of samples


def test_a_busy_second_in_the_window_keeps_the_cap() -> None:
    _idle, verdicts = idle_cores([0.2] * 4 + [1.0, 1.0] + [0.2] * 3)
    assert verdicts[3] is True
    assert verdicts[4:8] == [False] * 4  # a boot's busy seconds count until they leave the window
    assert verdicts[8] is True


def test_the_machine_cpu_times_are_read() -> None:
    idle, total = slots.cpu_times()
    assert 0 <= idle <= total
