"""The domain and domain_info modules on libvirt's test:///default driver."""

from __future__ import annotations

import typing as t

import libvirt
import pytest
from testbed.modules import ladder, run_module

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.client import LibvirtClient
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.client import DomainExecutor
from ansible_collections.sharedvirt.kvm.plugins.modules import domain, domain_info

URI = "test:///default"


def base(prefix: str, **extra: t.Any) -> dict[str, t.Any]:
    params: dict[str, t.Any] = {
        "uri": URI,
        "name": f"{prefix}-vm",
        "memory": "256MiB",
        "vcpus": 1,
        "max_vcpus": 2,
        "disks": [{"target": "vda", "bus": "virtio", "source": {"file": f"/default-pool/{prefix}.img"}}],
        "interfaces": [{"source": {"network": "default"}, "model": "virtio"}],
    }
    params.update(extra)
    return params


def test_define_update_and_remove_ladders(test_conn: t.Any, prefix: str) -> None:
    created = ladder(domain, base(prefix))
    assert created[0]["actions"] == [f"define domain {prefix}-vm"]
    assert created[0]["domain"]["state"] == "shutoff" and "uuid" not in created[0]["domain"]
    facts = created[2]["domain"]
    assert facts["persistent"] is True and facts["memory"] == 256 * 2**20
    (mac,) = [nic["mac"] for nic in facts["interfaces"]]
    assert mac.startswith("52:54:00:")
    assert created[3]["domain"]["interfaces"][0]["mac"] == mac  # generated MAC carried over

    updated = ladder(domain, base(prefix, memory="512MiB", metadata={"group": "db"}, title="db primary"))
    assert updated[0]["actions"] == [f"update domain {prefix}-vm: title, metadata, memory"]
    assert updated[1]["diff"][0]["before"] == {"title": None, "metadata": {}, "memory": 256 * 2**20}
    assert updated[1]["diff"][0]["after"] == {"title": "db primary", "metadata": {"group": "db"}, "memory": 512 * 2**20}
    assert "<title>db primary</title>" in updated[1]["diff"][1]["after"]
    assert updated[2]["domain"]["metadata"] == {"group": "db"}

    removed = ladder(domain, {"uri": URI, "name": f"{prefix}-vm", "state": "absent"})
    assert removed[2]["domain"] == {}
    assert test_conn.listDefinedDomains().count(f"{prefix}-vm") == 0


def test_state_transitions(test_conn: t.Any, prefix: str) -> None:
    params = base(prefix)
    try:
        assert ladder(domain, dict(params, state="running"))[2]["domain"]["state"] == "running"
        assert ladder(domain, dict(params, state="paused"))[2]["domain"]["state"] == "paused"
        assert ladder(domain, dict(params, state="running"))[0]["actions"] == [f"resume domain {prefix}-vm"]
        assert ladder(domain, dict(params, state="shutdown"))[2]["domain"]["state"] == "shutoff"
        restarted = run_module(domain, dict(params, state="restarted"))
        assert restarted["changed"] and restarted["domain"]["state"] == "running"
        assert run_module(domain, dict(params, state="restarted"))["actions"] == [f"restart domain {prefix}-vm"]
    finally:
        run_module(domain, {"uri": URI, "name": f"{prefix}-vm", "state": "absent"})


def test_nic_order_and_mac_spelling_do_not_matter(test_conn: t.Any, prefix: str) -> None:
    nics = [
        {"mac": "52-54-00-AA-00-01", "source": {"network": "default"}},
        {"mac": "5254.00aa.0002", "source": {"network": "default"}},
    ]
    try:
        run_module(domain, base(prefix, interfaces=nics))
        again = run_module(domain, base(prefix, interfaces=[nics[1], nics[0]]))
        assert again["changed"] is False
        macs = [n["mac"] for n in again["domain"]["interfaces"]]
        assert macs == ["52:54:00:aa:00:01", "52:54:00:aa:00:02"]
    finally:
        run_module(domain, {"uri": URI, "name": f"{prefix}-vm", "state": "absent"})


def test_xml_escape_hatch_goes_through_the_same_comparison(test_conn: t.Any, prefix: str) -> None:
    xml = f"""<domain type='kvm'><name>{prefix}-x</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
      <os><type arch='x86_64'>hvm</type></os><devices><input type='tablet' bus='usb'/></devices></domain>"""
    params = {"uri": URI, "xml": xml}
    try:
        first = ladder(domain, params)
        assert first[2]["domain"]["memory"] == 128 * 2**20
        desc = test_conn.lookupByName(f"{prefix}-x").XMLDesc(0)
        assert "tablet" in desc  # unmodelled elements of the given XML are kept
        # Structured options override the XML; the same spellings compare equal.
        assert run_module(domain, dict(params, memory="131072 KiB"))["changed"] is False
    finally:
        run_module(domain, {"uri": URI, "name": f"{prefix}-x", "state": "absent"})


def test_special_characters_are_text_never_markup(test_conn: t.Any, prefix: str) -> None:
    payload = "x</title><devices><disk type='file'><source file='/etc/shadow'/></disk></devices><title>"
    try:
        result = run_module(domain, base(prefix, title=payload, description="a & b <c>", metadata={"k": "<v/>"}))
        assert not result.get("failed"), result.get("msg")
        dom = test_conn.lookupByName(f"{prefix}-vm")
        assert dom.metadata(libvirt.VIR_DOMAIN_METADATA_TITLE, None) == payload
        assert "/etc/shadow" not in "".join(d["source"].get("file", "") for d in result["domain"]["disks"])
        assert len(result["domain"]["disks"]) == 1
        assert result["domain"]["metadata"] == {"k": "<v/>"}
        assert run_module(domain, base(prefix, title=payload, metadata={"k": "<v/>"}))["changed"] is False
    finally:
        run_module(domain, {"uri": URI, "name": f"{prefix}-vm", "state": "absent"})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"name": "../x"}, "name: domain name '../x' contains '/'; names become file names, use '-' or '_'"),
        ({"name": "a/b"}, "name: domain name 'a/b' contains '/'; names become file names, use '-' or '_'"),
        ({"name": "x" * 300}, f"name: domain name {'x' * 300!r} is 300 characters long; the limit is 64"),
        (
            {"interfaces": [{"mac": "52:54:00:zz:00:01", "source": {"network": "default"}}]},
            "interfaces[0].mac: '52:54:00:zz:00:01' is not a MAC address",
        ),
        (
            {
                "interfaces": [
                    {"mac": "52:54:00:00:00:01", "source": {"network": "default"}},
                    {"mac": "52-54-00-00-00-01", "source": {"network": "default"}},
                ]
            },
            "interfaces[1].mac: 52:54:00:00:00:01 is used twice in this domain",
        ),
        (
            {"interfaces": [{"source": {"network": "svt-nonet"}}]},
            "interfaces[0].source.network: no libvirt network 'svt-nonet'",
        ),
        ({"memory": "1GiB", "current_memory": "2GiB"}, "current_memory: is larger than memory"),
        ({"memory": "2GiB", "max_memory": "1GiB"}, "memory: is larger than max_memory"),
        ({"vcpus": 4, "max_vcpus": 2}, "vcpus: 4 is more than max_vcpus 2"),
        (
            {"cputune": {"vcpupin": [{"vcpu": 0, "cpuset": "999"}]}},
            "cputune: pins to host CPU 999, but the host has CPUs",
        ),
        ({"xml": "<domain><name>x</name>"}, "xml: not well-formed XML"),
        ({"xml": "<domain type='kvm'><name>other</name></domain>"}, "xml: names domain 'other' but the name option is"),
        (
            {"disks": [{"target": "vdb", "source": {"pool": "svt-nopool", "volume": "v"}}]},
            "disks[0].source.pool: no storage pool 'svt-nopool'",
        ),
        (
            {"disks": [{"target": "vdb", "source": {"file": "/a", "dev": "/dev/b"}}]},
            "disks[0].source: give only one of",
        ),
    ],
)
def test_bad_input_fails_clearly_and_changes_nothing(
    test_conn: t.Any, prefix: str, extra: dict[str, t.Any], message: str
) -> None:
    before = sorted(test_conn.listDefinedDomains())
    result = run_module(domain, base(prefix, **extra))
    assert result.get("failed") is True
    assert result["msg"].startswith(message), result["msg"]
    assert sorted(test_conn.listDefinedDomains()) == before


def test_immutable_change_obeys_recreate(test_conn: t.Any, prefix: str) -> None:
    try:
        run_module(domain, base(prefix))
        refused = run_module(domain, base(prefix, arch="i686"))
        assert refused["failed"] is True
        assert refused["msg"] == (
            f"domain {prefix}-vm: arch from 'x86_64' to 'i686' cannot change on an existing domain; "
            "set recreate=options-changed to undefine and define it again (its disks are kept), "
            "or leave the option as it is"
        )
        ladder(domain, base(prefix, arch="i686", recreate="options-changed"))
    finally:
        run_module(domain, {"uri": URI, "name": f"{prefix}-vm", "state": "absent"})


def test_domain_info_filters_and_query(test_conn: t.Any, prefix: str) -> None:
    try:
        run_module(domain, base(prefix, metadata={"group": "db"}))
        web_disk = [{"target": "vda", "bus": "virtio", "source": {"file": f"/default-pool/{prefix}-web.img"}}]
        web = dict(base(prefix), name=f"{prefix}-web", metadata={"group": "web"}, state="running", disks=web_disk)
        assert not run_module(domain, web).get("failed")
        found = run_module(domain_info, {"uri": URI, "name": f"{prefix}-*"}, check_mode=True)
        assert found["changed"] is False
        assert [d["name"] for d in found["domains"]] == [f"{prefix}-vm", f"{prefix}-web"]
        running = run_module(domain_info, {"uri": URI, "name": f"{prefix}-*", "state": "running"})
        assert [d["name"] for d in running["domains"]] == [f"{prefix}-web"]
        db = run_module(
            domain_info, {"uri": URI, "metadata": {"group": "db"}, "query": "[].interfaces[].mac", "xml": True}
        )
        assert [d["name"] for d in db["domains"]] == [f"{prefix}-vm"]
        assert db["query_result"] == [db["domains"][0]["interfaces"][0]["mac"]]
        assert db["domains"][0]["xml"].startswith("<domain")
    finally:
        for name in (f"{prefix}-vm", f"{prefix}-web"):
            run_module(domain, {"uri": URI, "name": name, "state": "absent"})


def test_transient_domain_is_made_persistent_or_removed(test_conn: t.Any, prefix: str) -> None:
    xml = f"<domain type='test'><name>{prefix}-t</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>"
    test_conn.createXML(xml, 0)
    adopted = ladder(domain, {"uri": URI, "name": f"{prefix}-t", "memory": 64})
    assert adopted[0]["actions"] == [f"define running transient domain {prefix}-t"]
    assert adopted[2]["domain"]["state"] == "running" and adopted[2]["domain"]["persistent"] is True
    removed = ladder(domain, {"uri": URI, "name": f"{prefix}-t", "state": "absent"})
    assert removed[0]["actions"] == [f"shut down domain {prefix}-t", f"undefine domain {prefix}-t"]
    assert f"{prefix}-t" not in [d.name() for d in test_conn.listAllDomains()]


def test_absent_keeps_snapshot_metadata_unless_discarded(test_conn: t.Any, prefix: str) -> None:
    run_module(domain, base(prefix))
    dom = test_conn.lookupByName(f"{prefix}-vm")
    dom.snapshotCreateXML("<domainsnapshot><name>before-upgrade</name></domainsnapshot>", 0)
    assert dom.snapshotNum(0) == 1
    task = {"uri": URI, "name": f"{prefix}-vm", "state": "absent"}
    for check in (True, False):
        refused = run_module(domain, task, check_mode=check)
        assert refused["failed"] and refused["msg"] == (
            f"domain {prefix}-vm has snapshot metadata; to remove it would drop it - name snapshots in discard to "
            "agree, or keep the domain"
        )
    assert test_conn.lookupByName(f"{prefix}-vm").snapshotNum(0) == 1
    removed = ladder(domain, dict(task, discard=["snapshots"]))
    assert removed[2]["domain"] == {}


def test_check_mode_goes_on_when_an_earlier_task_would_create_the_network_or_volume(
    test_conn: t.Any, prefix: str
) -> None:
    params = base(
        prefix,
        interfaces=[{"source": {"network": f"{prefix}-net"}}],
        disks=[{"target": "vda", "source": {"pool": "default-pool", "volume": f"{prefix}.qcow2"}}],
    )
    predicted = run_module(domain, params, check_mode=True)
    assert predicted["changed"] is True and not predicted.get("failed")
    assert predicted["warnings"] == [
        f"interfaces[0].source.network: no libvirt network '{prefix}-net' on {URI}; define it first or fix the name "
        "(check mode goes on: an earlier task of this run may create it)",
        f"disks[0].source.volume: no volume '{prefix}.qcow2' in pool 'default-pool'; create it first "
        "(check mode goes on: an earlier task of this run may create it)",
    ]
    real = run_module(domain, params)
    assert real["failed"] is True and real["msg"].startswith("interfaces[0].source.network: no libvirt network")
    assert f"{prefix}-vm" not in test_conn.listDefinedDomains()


def test_a_new_domain_gets_the_type_the_host_can_run(test_conn: t.Any, prefix: str) -> None:
    # The test driver offers no kvm domain type, so host_info says qemu and a new domain gets qemu,
    # in check mode and for real; a declared type wins, and an existing domain keeps its type.
    predicted = run_module(domain, base(prefix), check_mode=True)
    assert predicted["domain"]["type"] == "qemu"
    made = run_module(domain, base(prefix))
    assert made["domain"]["type"] == "qemu" and "type='qemu'" in test_conn.lookupByName(f"{prefix}-vm").XMLDesc(0)
    assert run_module(domain, base(prefix))["changed"] is False
    declared = run_module(domain, base(f"{prefix}k", type="kvm"))
    assert declared["domain"]["type"] == "kvm"
    for name in (f"{prefix}-vm", f"{prefix}k-vm"):
        run_module(domain, {"uri": URI, "name": name, "state": "absent"})


def test_a_disk_another_domain_writes_is_refused_without_shareable(test_conn: t.Any, prefix: str) -> None:
    first = run_module(domain, base(prefix))
    assert first["changed"] and not first.get("failed")
    second = dict(base(prefix), name=f"{prefix}-two")
    try:
        for check in (True, False):
            refused = run_module(domain, second, check_mode=check)
            assert refused["failed"] and refused["msg"] == (
                f"disks[target=vda]: domain {prefix}-vm on {URI} already uses this storage as vda; two domains "
                "writing one disk without <shareable/> corrupt it - give this domain its own disk, or share it on "
                "purpose with sharedvirt.kvm.shared_disk"
            )
        assert f"{prefix}-two" not in [d.name() for d in test_conn.listAllDomains()]
        # Read-only, the same image may serve both (an installer ISO, a golden image).
        readonly = [
            {"target": "vda", "bus": "virtio", "readonly": True, "source": {"file": f"/default-pool/{prefix}.img"}}
        ]
        assert run_module(domain, dict(second, disks=readonly))["changed"] is True
    finally:
        for name in (f"{prefix}-vm", f"{prefix}-two"):
            run_module(domain, {"uri": URI, "name": name, "state": "absent"})


def test_a_domain_defined_by_a_concurrent_run_between_read_and_define_is_met_not_failed(
    test_conn: t.Any, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain import client as domain_client

    params = base(prefix, memory="512MiB")
    other_xml = (
        f"<domain type='qemu'><name>{prefix}-vm</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>"
        "<os><type>hvm</type></os></domain>"
    )
    real_read = domain_client.DomainExecutor.read
    reads: list[str] = []

    def read_then_lose_the_race(self: t.Any, name: str) -> t.Any:
        actual = real_read(self, name)
        if not reads:  # the other run defines the domain right after our first read
            test_conn.defineXML(other_xml)
        reads.append(name)
        return actual

    monkeypatch.setattr(domain_client.DomainExecutor, "read", read_then_lose_the_race)
    result = run_module(domain, params)
    uuid = test_conn.lookupByName(f"{prefix}-vm").UUIDString()
    try:
        assert not result.get("failed"), result.get("msg")
        # The other run's domain (its UUID) was updated to the declaration, not replaced or refused.
        assert result["changed"] and any(a.startswith(f"update domain {prefix}-vm") for a in result["actions"])
        assert result["domain"]["memory"] == 512 * 2**20 and result["domain"]["uuid"] == uuid
        monkeypatch.setattr(domain_client.DomainExecutor, "read", real_read)
        assert run_module(domain, params)["changed"] is False
    finally:
        test_conn.lookupByName(f"{prefix}-vm").undefine()


def test_the_xml_diff_shows_only_what_changes_and_a_new_domain_has_an_empty_before(
    test_conn: t.Any, prefix: str
) -> None:
    import difflib

    params = base(prefix, state="running")
    created = run_module(domain, params, check_mode=True, diff=True)
    assert created["diff"][0]["before"] == {} and created["diff"][1]["before"] == ""
    run_module(domain, params)
    try:
        changed = run_module(domain, dict(params, memory="512MiB", description="hello"), check_mode=True, diff=True)
        xml = changed["diff"][1]
        lines = difflib.unified_diff(xml["before"].splitlines(), xml["after"].splitlines(), lineterm="", n=0)
        edits = [line for line in lines if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        assert edits == [
            "+  <description>hello</description>",
            '-  <memory unit="KiB">262144</memory>',
            '+  <memory unit="KiB">524288</memory>',
        ]
    finally:
        test_conn.lookupByName(f"{prefix}-vm").destroy()
        test_conn.lookupByName(f"{prefix}-vm").undefine()


def test_a_domain_undefined_between_its_lookup_and_its_reads_reads_as_absent(test_conn: t.Any, prefix: str) -> None:
    """Another play (or a migration away) removes a domain while a module reads every domain of the host: the
    read says absent instead of failing the task with 'Domain not found'."""
    assert run_module(domain, base(prefix))["changed"] is True
    with LibvirtClient.connect(URI) as client:
        executor = DomainExecutor(client)
        found = client.domain(f"{prefix}-vm")
        found.undefine()  # the object stays in hand, its domain is gone: every further call says "no domain"
        lookups = iter([found])
        client.domain = lambda name: next(lookups)  # type: ignore[method-assign]  # hand back the stale object
        actual = executor.read(f"{prefix}-vm")
    assert actual.spec is None and actual.state is None
