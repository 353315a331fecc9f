"""The domains module (many domain declarations in one task) on libvirt's test:///default driver."""

from __future__ import annotations

import typing as t

from testbed.modules import ladder, run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, domains

URI = "test:///default"


def items(prefix: str, count: int) -> list[dict[str, t.Any]]:
    return [{"name": f"{prefix}-{i}", "memory": f"{128 * (i + 1)}MiB"} for i in range(count)]


def test_many_domains_ladder_and_the_domain_module_agrees(test_conn: t.Any, prefix: str) -> None:
    params = {"uri": URI, "defaults": {"vcpus": 1, "state": "running"}, "domains": items(prefix, 3)}
    steps = ladder(domains, params)
    assert steps[0]["actions"] == [f"{verb} domain {prefix}-{i}" for i in range(3) for verb in ("define", "start")]
    assert [r["domain"]["memory"] for r in steps[2]["results"]] == [128 * 2**20, 256 * 2**20, 384 * 2**20]
    assert len(steps[1]["diff"]) == 6  # per domain: the changed options and the persistent XML
    # Each domain is exactly what the domain module declares with the same options.
    same = run_module(domain, {"uri": URI, "name": f"{prefix}-1", "memory": "256MiB", "vcpus": 1, "state": "running"})
    assert same["changed"] is False

    # One item changes: only it reports a change, and the defaults still apply to the others.
    grown = items(prefix, 3)
    grown[2]["memory"] = "512MiB"
    changed = run_module(domains, {**params, "domains": grown})
    assert changed["changed"] and [r["changed"] for r in changed["results"]] == [False, False, True]
    assert changed["actions"] == [f"update domain {prefix}-2: memory"]
    assert changed["results"][2]["reboot_required"] is True

    gone = run_module(domains, {"uri": URI, "defaults": {"state": "absent"}, "domains": items(prefix, 3)})
    assert gone["changed"] and not [d for d in test_conn.listAllDomains() if d.name().startswith(prefix)]


def test_a_bad_item_names_itself_and_what_changed_before(test_conn: t.Any, prefix: str) -> None:
    bad = items(prefix, 2) + [{"name": f"{prefix}-x", "memory": "lots"}]
    result = run_module(domains, {"uri": URI, "domains": bad})
    assert result["failed"] and result["option"].startswith(f"domains[2] ({prefix}-x).memory")
    missing = items(prefix, 1) + [{"name": f"{prefix}-n", "interfaces": [{"source": {"network": "nowhere"}}]}]
    result = run_module(domains, {"uri": URI, "domains": missing, "defaults": {"state": "absent"}})
    assert not result.get("failed")  # absent: references are not checked
    result = run_module(domains, {"uri": URI, "domains": missing})
    assert result["failed"] and result["msg"].startswith(f"domains[1] ({prefix}-n).interfaces[0].source.network: ")
    unknown = run_module(domains, {"uri": URI, "domains": [{"name": f"{prefix}-u", "colour": "red"}]})
    assert unknown["failed"] and unknown["msg"].startswith("domains[0]: ") and "colour" in unknown["msg"]
    for dom in test_conn.listAllDomains():
        if dom.name().startswith(prefix):
            dom.undefine()


def test_item_passwords_never_leave(test_conn: t.Any, prefix: str) -> None:
    graphics = [{"type": "vnc", "password": "s3cretpw"}]
    result = run_module(
        domains, {"uri": URI, "domains": [{"name": f"{prefix}-g", "memory": "64MiB", "graphics": graphics}]}, diff=True
    )
    assert not result.get("failed"), result.get("msg")
    assert "s3cretpw" not in repr(result)
    test_conn.lookupByName(f"{prefix}-g").undefine()
