"""The poll loop's steering of a running migration job: the downtime limit and the switch to post-copy."""

from __future__ import annotations

import typing as t

import libvirt
import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils.migration.client import JobSteering, Tuning, failure_hint


class FakeJob:
    """A source domain whose job reports the given stats, one dict a poll; refused calls raise like libvirt."""

    def __init__(self, stats: t.Sequence[t.Mapping[str, t.Any]], refuse: int = 0) -> None:
        self.stats = list(stats)
        self.refuse = refuse  # how many control calls fail first (the job between phases)
        self.calls: list[str] = []

    def jobStats(self, flags: int) -> t.Mapping[str, t.Any]:
        if not self.stats:
            raise libvirt.libvirtError("domain is not running")
        return self.stats.pop(0)

    def _control(self, name: str) -> None:
        if self.refuse:
            self.refuse -= 1
            raise libvirt.libvirtError("job is between phases")
        self.calls.append(name)

    def migrateStartPostCopy(self, flags: int) -> None:
        self._control("postcopy")

    def migrateSetMaxDowntime(self, ms: int, flags: int) -> None:
        self._control(f"downtime {ms}")


def steer(job: FakeJob, polls: int, **tuning: t.Any) -> JobSteering:
    steering = JobSteering(job, Tuning(**tuning))
    for _poll in range(polls):
        steering.poll()
    return steering


def test_post_copy_starts_only_after_the_first_full_pass_and_only_once() -> None:
    passes = [{"type": 2, "memory_iteration": n} for n in (0, 1, 1, 2, 3, 4)]
    job = FakeJob(passes)
    steering = steer(job, len(passes), postcopy=True)
    assert job.calls == ["postcopy"] and steering.postcopy_started
    assert steering.progress == passes[-1]


@pytest.mark.parametrize("tuning", [{}, {"auto_converge": True}])
def test_without_the_option_the_job_stays_in_precopy(tuning: dict[str, t.Any]) -> None:
    job = FakeJob([{"type": 2, "memory_iteration": n} for n in range(5)])
    assert not steer(job, 5, **tuning).postcopy_started and job.calls == []


def test_a_refused_switch_is_tried_again_at_the_next_poll() -> None:
    job = FakeJob([{"type": 2, "memory_iteration": 2}] * 3, refuse=1)
    assert steer(job, 3, postcopy=True).postcopy_started and job.calls == ["postcopy"]


def test_the_downtime_limit_is_set_once_the_job_takes_it_and_a_finished_job_changes_nothing() -> None:
    job = FakeJob([{"type": 0}, {"type": 2, "memory_iteration": 1}, {"type": 2, "memory_iteration": 1}], refuse=1)
    steering = steer(job, 5, max_downtime=200)  # two polls after the domain left the source
    assert job.calls == ["downtime 200"] and steering.downtime_set


def test_post_copy_without_userfaultfd_names_the_sysctl() -> None:
    refused = libvirt.libvirtError("internal error: unable to execute QEMU command: Postcopy is not supported")
    refused.err = (1, 0, "Postcopy is not supported", 2, None, None, None, 0, 0)
    assert "vm.unprivileged_userfaultfd=1" in failure_hint(refused)
    other = libvirt.libvirtError("x")
    other.err = (1, 0, "connection reset", 2, None, None, None, 0, 0)
    assert failure_hint(other) == ""
