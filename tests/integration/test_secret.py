"""The secret module on the real libvirtd: values set, compared where readable, never shown."""

from __future__ import annotations

import base64
import json
import typing as t

import libvirt
from testbed.ansible import run_playbook
from testbed.modules import ladder, run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import secret

URI = "qemu:///system"
CEPH_KEY = base64.b64encode(b"svt-cephx-key-material-0123456789").decode()


def value_of(conn: t.Any, kind: int, usage: str) -> bytes:
    return bytes(conn.secretLookupByUsage(kind, usage).value(0))


def test_ceph_key_ladder_and_never_shown(system_conn: t.Any, prefix: str) -> None:
    usage = f"client.libvirt {prefix}"
    params = {"uri": URI, "usage_type": "ceph", "usage_id": usage, "value": CEPH_KEY, "value_encoding": "base64"}
    try:
        created = ladder(secret, params)
        assert created[0]["actions"] == [f"create secret ceph {usage}", f"set the value of secret ceph {usage}"]
        facts = created[2]["secret"]
        assert facts["private"] is True and facts["ephemeral"] is False and len(facts["uuid"]) == 36
        for result in created:
            assert CEPH_KEY not in json.dumps(result) and "cephx-key" not in json.dumps(result)
        # The stored bytes are the decoded key, as ceph and QEMU expect.
        sec = system_conn.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_CEPH, usage)
        assert sec.XMLDesc(0).count("private='yes'") == 1
        replaced = run_module(secret, dict(params, replace_value=True))
        assert replaced["changed"] and replaced["actions"] == [f"set the value of secret ceph {usage}"]
        refused = run_module(secret, dict(params, private=False, value=None))
        assert refused["failed"] and refused["msg"] == (
            f"secret ceph {usage}: private cannot change on an existing secret; give value so that the secret "
            "can be defined again with it"
        )
        ladder(secret, {"uri": URI, "usage_type": "ceph", "usage_id": usage, "state": "absent"})
    finally:
        run_module(secret, {"uri": URI, "usage_type": "ceph", "usage_id": usage, "state": "absent", "force": True})


def test_readable_secret_value_is_compared(system_conn: t.Any, prefix: str) -> None:
    target = f"iqn.2024-01.svt:{prefix}"
    params = {"uri": URI, "usage_type": "iscsi", "usage_id": target, "value": "chap-one", "private": False}
    try:
        ladder(secret, params)
        assert value_of(system_conn, libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, target) == b"chap-one"
        rotated = ladder(secret, dict(params, value="chap-two"))
        assert rotated[1]["diff"]["after"] == {"value": "********"}
        assert value_of(system_conn, libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, target) == b"chap-two"
        bad = run_module(secret, dict(params, value="not base64!", value_encoding="base64"))
        assert (
            bad["failed"] and bad["msg"] == "value: is not valid base64; set value_encoding=plain for a plain password"
        )
    finally:
        run_module(secret, {"uri": URI, "usage_type": "iscsi", "usage_id": target, "state": "absent", "force": True})


def test_key_never_in_verbose_logs(system_conn: t.Any, prefix: str) -> None:
    usage = f"client.vvv {prefix}"
    play = f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - sharedvirt.kvm.secret:
        uri: {URI}
        usage_type: ceph
        usage_id: "{usage}"
        value: "{CEPH_KEY}"
        value_encoding: base64
    - sharedvirt.kvm.secret:
        uri: {URI}
        usage_type: ceph
        usage_id: "{usage}"
        state: absent
"""
    try:
        run = run_playbook(play, diff=True, extra_vars="", verbosity=3)
        assert run.rc == 0, run.output
        assert CEPH_KEY not in run.output
        assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.output
    finally:
        run_module(secret, {"uri": URI, "usage_type": "ceph", "usage_id": usage, "state": "absent", "force": True})
