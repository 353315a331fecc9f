"""The converge module (several modules' steps in one task) on libvirt's test:///default driver."""

from __future__ import annotations

import typing as t
import xml.etree.ElementTree as ET

import libvirt
from testbed.modules import ladder, run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import converge, domains, shared_disk, volume

URI = "test:///default"
POOL = "default-pool"
MIB = 2**20


def cluster(prefix: str, state: str = "running") -> list[dict[str, t.Any]]:
    """A shared disk made once, two VMs defined, the disk attached to both, then the VMs started."""
    names = [f"{prefix}-a", f"{prefix}-b"]
    vms: dict[str, t.Any] = {
        "defaults": {"memory": "128MiB", "state": "present"},
        "domains": [{"name": n} for n in names],
    }
    disk: dict[str, t.Any] = {
        "volume": {"pool": POOL, "name": f"{prefix}.raw"},
        "target": "vdb",
        "domains": names,
        "peers": [URI],
    }
    return [
        {"volume": {"pool": POOL, "name": f"{prefix}.raw", "format": "raw", "capacity": "1MiB", "allocation": "full"}},
        {"pool": {"name": POOL, "refresh": True}},
        {"domains": vms},
        {"shared_disk": disk},
        {"domains": {**vms, "defaults": {"memory": "128MiB", "state": state}}},
    ]


def recorded_calls(monkeypatch: t.Any, owner: t.Any, name: str) -> list[tuple[t.Any, ...]]:
    """The arguments of every call of ``owner.name`` from now on (each call still happens)."""
    calls: list[tuple[t.Any, ...]] = []
    original = getattr(owner, name)

    def recording(*args: t.Any) -> t.Any:
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(owner, name, recording)
    return calls


def remove(test_conn: t.Any, prefix: str) -> None:
    for dom in test_conn.listAllDomains():
        if dom.name().startswith(prefix):
            if dom.isActive():
                dom.destroy()
            dom.undefine()
    pool = test_conn.storagePoolLookupByName(POOL)
    for name in pool.listVolumes():
        if name.startswith(prefix):
            pool.storageVolLookupByName(name).delete(0)


def test_steps_run_in_order_as_their_modules_and_a_rerun_changes_nothing(test_conn: t.Any, prefix: str) -> None:
    try:
        made = ladder(converge, {"uri": URI, "steps": cluster(prefix)[:3]})
        assert made[2]["actions"][0].startswith(f"create volume {POOL}/{prefix}.raw (raw, {MIB} bytes")
        assert [(r["step"], r["uri"], r["changed"]) for r in made[2]["results"]] == [
            ("volume", URI, True),
            ("pool", URI, False),
            ("domains", URI, True),
        ]
        attached = ladder(converge, {"uri": URI, "steps": cluster(prefix, state="present")})
        assert attached[2]["actions"] == [f"update domain {prefix}-{n}: disks[target=vdb]" for n in "ab"]
        # What the steps made is what each module declares: run on their own, they change nothing.
        own = cluster(prefix, state="present")
        assert run_module(volume, {"uri": URI, **own[0]["volume"]})["changed"] is False
        assert run_module(domains, {"uri": URI, **own[2]["domains"]})["changed"] is False
        assert run_module(shared_disk, {"uri": URI, **own[3]["shared_disk"]})["changed"] is False
        disks = test_conn.lookupByName(f"{prefix}-b").XMLDesc(0)
        assert f"{prefix}.raw" in disks and "<shareable/>" in disks

        started = run_module(converge, {"uri": URI, "steps": cluster(prefix)})
        assert started["actions"] == [f"start domain {prefix}-a", f"start domain {prefix}-b"], started["actions"]
        assert all(test_conn.lookupByName(n).isActive() for n in (f"{prefix}-a", f"{prefix}-b"))
    finally:
        remove(test_conn, prefix)


def test_check_mode_predicts_later_steps_from_what_earlier_steps_declare(test_conn: t.Any, prefix: str) -> None:
    """A separate task cannot know that an earlier one makes its disk or domain, and warns; a step can, and
    predicts without a warning. Something no step declares is still a warning."""
    steps = cluster(prefix, state="present")
    params = {"uri": URI, "steps": steps}
    alone = run_module(shared_disk, {"uri": URI, **steps[3]["shared_disk"]}, check_mode=True)
    assert len(alone["warnings"]) == 3, alone["warnings"]  # the volume and both domains: "an earlier task may"
    try:
        predicted = run_module(converge, params, check_mode=True)
        assert predicted["changed"] is True and predicted["warnings"] == []
        assert f"attach shared disk vdb to domain {prefix}-a once it is defined" in predicted["actions"]
        assert not [d for d in test_conn.listAllDomains() if d.name().startswith(prefix)]
        undeclared = [steps[0], {"shared_disk": {**steps[3]["shared_disk"], "domains": ["nobody"]}}]
        warned = run_module(converge, {"uri": URI, "steps": undeclared}, check_mode=True)
        assert [w.split(": ")[1] for w in warned["warnings"]] == ["domains[0]"], warned["warnings"]
        # A domain's own disk that an earlier step clones or creates: predicted, not warned about.
        own = {"target": "vda", "format": "raw", "source": {"pool": POOL, "volume": f"{prefix}-own.raw"}}
        vm = {"domains": [{"name": f"{prefix}-c", "memory": "64MiB", "disks": [own]}]}
        made = [{"name": f"{prefix}-own.raw", "capacity": "1MiB"}]
        disk = {"volumes": {"defaults": {"pool": POOL, "format": "raw"}, "volumes": made}}
        assert len(run_module(domains, {"uri": URI, **vm}, check_mode=True)["warnings"]) == 1
        assert run_module(converge, {"uri": URI, "steps": [disk, {"domains": vm}]}, check_mode=True)["warnings"] == []
        # Volumes in a pool that an earlier step defines: predicted, not warned about (alone, they warn).
        later = {"name": f"{prefix}-later", "type": "dir", "target": {"path": f"/{prefix}-later"}}
        into = {"volumes": {"defaults": {"pool": later["name"], "format": "raw"}, "volumes": made}}
        alone_pool = run_module(converge, {"uri": URI, "steps": [into]}, check_mode=True)
        assert [w for w in alone_pool["warnings"] if f"no active storage pool {later['name']!r}" in w], alone_pool
        after_pool = run_module(converge, {"uri": URI, "steps": [{"pool": later}, into]}, check_mode=True)
        assert after_pool["warnings"] == [] and after_pool["changed"] is True, after_pool["warnings"]
        # So does a shared disk's volume there: alone, a warning and the volume predicted, not a failure.
        quorum = {"volume": {"pool": later["name"], "name": "q.raw"}, "capacity": "1MiB", "target": "vdc"}
        quorum["domains"] = []
        alone_disk = run_module(shared_disk, {"uri": URI, **quorum}, check_mode=True)
        assert not alone_disk.get("failed"), alone_disk.get("msg")
        assert [w for w in alone_disk["warnings"] if f"no active storage pool {later['name']!r}" in w], alone_disk
        disk_steps = [{"pool": later}, {"shared_disk": quorum}]
        after_disk = run_module(converge, {"uri": URI, "steps": disk_steps}, check_mode=True)
        assert after_disk["warnings"] == [], after_disk["warnings"]
        assert f"create volume {later['name']}/q.raw (raw, {MIB} bytes, full)" in after_disk["actions"], after_disk
        done = run_module(converge, params)
        assert done["changed"] is True and not done["warnings"]
    finally:
        remove(test_conn, prefix)


def test_a_bad_step_stops_the_task_before_anything_changes(test_conn: t.Any, prefix: str) -> None:
    steps = cluster(prefix)
    typo = [*steps[:3], {"shared_disk": {**steps[3]["shared_disk"], "targte": "vdb"}}]
    result = run_module(converge, {"uri": URI, "steps": typo})
    assert result["failed"] and result["msg"].startswith("steps[3].shared_disk: ") and "targte" in result["msg"]
    assert not [n for n in test_conn.storagePoolLookupByName(POOL).listVolumes() if n.startswith(prefix)]
    for wrong, why in (({"domain": {"name": "x"}}, "exactly one key"), ({"pool": "x"}, "a dictionary")):
        result = run_module(converge, {"uri": URI, "steps": [wrong]})
        assert result["failed"] and why in result["msg"], result["msg"]


def test_a_failing_step_names_itself_and_reports_what_the_steps_before_it_did(test_conn: t.Any, prefix: str) -> None:
    steps = cluster(prefix)
    missing = {"volume": {"pool": POOL, "name": f"{prefix}-nowhere.raw"}, "target": "vdc", "domains": [f"{prefix}-a"]}
    try:
        result = run_module(converge, {"uri": URI, "steps": [*steps[:3], {"shared_disk": missing}]})
        assert result["failed"] and result["changed"] is True
        assert result["msg"].startswith(f"steps[3] (shared_disk on {URI}).capacity: volume {POOL}/{prefix}-nowhere")
        assert result["completed_actions"][1:] == [f"define domain {prefix}-a", f"define domain {prefix}-b"]
        assert "done before the failure: create volume" in result["msg"]
        # A step refused by what the hypervisor holds (not by its options) says which steps changed before it.
        in_use = {"pool": POOL, "name": f"{prefix}.raw", "state": "absent"}
        refused = run_module(converge, {"uri": URI, "steps": [*steps[2:4], {"volume": in_use}]})
        assert refused["failed"] and refused["msg"].startswith(f"steps[2] (volume on {URI}): "), refused["msg"]
        assert f"(changed before it: steps[1] (shared_disk on {URI}))" in refused["msg"]
        assert f"{prefix}.raw" in test_conn.storagePoolLookupByName(POOL).listVolumes()
        # The rerun finishes the job once the step is fixed.
        again = run_module(converge, {"uri": URI, "steps": steps})
        assert not again.get("failed"), again.get("msg")
        assert [r["changed"] for r in again["results"]] == [False, False, False, False, True]  # the start was left
    finally:
        remove(test_conn, prefix)


def test_one_connection_per_hypervisor_serves_every_step(test_conn: t.Any, prefix: str, monkeypatch: t.Any) -> None:
    from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.client import LibvirtClient

    opened: list[str] = []
    connect = LibvirtClient.connect.__func__  # type: ignore[attr-defined]

    def counting(cls: type, uri: t.Optional[str] = None, **kwargs: t.Any) -> LibvirtClient:
        opened.append(str(uri))
        return t.cast(LibvirtClient, connect(cls, uri, **kwargs))

    monkeypatch.setattr(LibvirtClient, "connect", classmethod(counting))
    try:
        result = run_module(converge, {"uri": URI, "steps": cluster(prefix)})
        assert not result.get("failed"), result.get("msg")
        assert opened == [URI]
    finally:
        remove(test_conn, prefix)


def test_steps_share_one_read_of_who_uses_what_while_nothing_changes(
    test_conn: t.Any, prefix: str, monkeypatch: t.Any
) -> None:
    # Three steps that check who uses the disk (the volume's deletion guard, the attachment's peers): one read
    # while none of them changes anything. (tests/integration/test_converge.py: a change makes the next step
    # read again.)
    from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage import usage_client

    reads = recorded_calls(monkeypatch, usage_client, "read_usage")
    try:
        made = run_module(converge, {"uri": URI, "steps": cluster(prefix, state="present")})
        assert made["changed"] is True and len(reads) >= 3, reads  # read again after the steps that changed
        reads.clear()
        steps = cluster(prefix, state="present")
        # The pool's rescan finds nothing new: the read is kept across it too.
        rerun = run_module(converge, {"uri": URI, "steps": [steps[0], steps[1], steps[3], steps[0]]})
        assert rerun["changed"] is False and [len(clients) for (clients,) in reads] == [1], reads
        assert rerun["results"][1]["rescan"] == {"found": [], "gone": []}
    finally:
        remove(test_conn, prefix)


def test_a_rerun_reads_each_domain_once_and_a_change_makes_the_next_steps_read_again(
    test_conn: t.Any, prefix: str, monkeypatch: t.Any
) -> None:
    # The definitions, the attachment and the start each plan from the domain; a step that changed nothing
    # leaves its read to the next ones, and one that changes something makes them read again.
    from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.client import DomainExecutor

    calls = recorded_calls(monkeypatch, DomainExecutor, "read")
    names = [f"{prefix}-a", f"{prefix}-b"]
    try:
        made = run_module(converge, {"uri": URI, "steps": cluster(prefix)})
        assert made["changed"] is True
        calls.clear()
        rerun = run_module(converge, {"uri": URI, "steps": cluster(prefix)})
        assert rerun["changed"] is False and sorted(call[1] for call in calls if call[1] in names) == names, calls

        # One VM stopped and its shared disk taken out of its definition: the attachment changes it, and the
        # start step reads both VMs again - the other one read by the definitions' step and no other before.
        dom = test_conn.lookupByName(names[0])
        dom.destroy()
        root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        devices = root.find("devices")
        assert devices is not None
        devices.remove(next(d for d in devices.findall("disk") if d.find("target[@dev='vdb']") is not None))
        test_conn.defineXML(ET.tostring(root, encoding="unicode"))
        calls.clear()
        again = run_module(converge, {"uri": URI, "steps": cluster(prefix)})
        assert not again.get("failed"), again.get("msg")
        assert [r["changed"] for r in again["results"]] == [False, False, False, True, True]
        assert [call[1] for call in calls].count(names[1]) == 2 and dom.isActive(), calls
    finally:
        remove(test_conn, prefix)
