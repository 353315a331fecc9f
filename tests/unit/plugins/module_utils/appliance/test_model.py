"""The appliance's status file, parsed."""

from __future__ import annotations

from ansible_collections.sharedvirt.kvm.plugins.module_utils.appliance.model import parse_status

PRIMARY = """role=primary
service=10.0.0.60
peer=10.0.0.52
lun=1 state=clean legs=2/2
lun=2 state=resync progress=41 legs=1/2
lun=3 state=degraded legs=1/2
"""


def test_a_primary_reports_each_mirror_and_the_luns_not_clean_are_degraded() -> None:
    status = parse_status(PRIMARY)
    assert status["role"] == "primary"
    assert status["service"] == "10.0.0.60"
    assert status["volumes"] == [
        {"lun": 1, "state": "clean", "legs": 2, "legs_total": 2},
        {"lun": 2, "state": "resync", "legs": 1, "legs_total": 2, "progress": 41},
        {"lun": 3, "state": "degraded", "legs": 1, "legs_total": 2},
    ]
    assert status["degraded"] == [2, 3]


def test_a_value_keeps_its_spaces_and_a_line_without_a_key_is_skipped() -> None:
    status = parse_status("role=standby\nreason=the service address 10.0.0.60 is in use\n\ngarbage\n")
    assert status == {
        "role": "standby",
        "reason": "the service address 10.0.0.60 is in use",
        "volumes": [],
        "degraded": [],
    }
