"""Job facts from libvirt's job statistics and block job info (pure)."""

from __future__ import annotations

from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.job_model import block_job, domain_job


def test_no_job_is_none() -> None:
    assert domain_job({}) is None and domain_job({"type": 0}) is None
    assert block_job("vda", {}) is None


def test_a_migration_shows_its_progress() -> None:
    stats = {"type": 2, "operation": 5, "time_elapsed": 5200, "data_total": 400, "data_processed": 100}
    assert domain_job(stats) == {
        "operation": "migration_out",
        "elapsed_ms": 5200,
        "data_total": 400,
        "data_processed": 100,
        "data_remaining": 300,
        "percent": 25.0,
        "downtime_ms": None,
    }


def test_a_block_copy_is_ready_when_in_step() -> None:
    running = block_job("vda", {"type": 2, "bandwidth": 1, "cur": 5, "end": 20})
    assert running == {
        "disk": "vda", "type": "copy", "done_bytes": 5, "total_bytes": 20, "percent": 25.0, "ready": False,
        "bandwidth": 1,
    }  # fmt: skip
    ready = block_job("vdb", {"type": 2, "bandwidth": 0, "cur": 20, "end": 20})
    assert ready is not None and ready["ready"] and ready["percent"] == 100.0
    assert block_job("vdc", {"type": 99, "cur": 0, "end": 0}) == {
        "disk": "vdc", "type": "unknown", "done_bytes": 0, "total_bytes": 0, "percent": None, "ready": False,
        "bandwidth": 0,
    }  # fmt: skip
