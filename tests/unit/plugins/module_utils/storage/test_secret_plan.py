from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import (
    ConflictError,
    SpecError,
    UnsafeOperation,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.xmlutil import parse_xml
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.secret_model import SecretSpec
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.secret_plan import SecretActual, plan_secret
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.usage_model import references_secret

XML = """<secret ephemeral='no' private='yes'><uuid>c70ecd1a-5c27-4be4-ba5c-93cb1feb7df2</uuid>
<description>d</description><usage type='ceph'><name>client.libvirt</name></usage></secret>"""


def spec(**params: object) -> SecretSpec:
    return SecretSpec.from_params({"usage_type": "ceph", "usage_id": "client.libvirt", **params})


def test_round_trip() -> None:
    parsed = SecretSpec.from_xml(XML)
    assert parsed.to_dict() == {
        "usage_type": "ceph",
        "usage_id": "client.libvirt",
        "uuid": "c70ecd1a-5c27-4be4-ba5c-93cb1feb7df2",
        "description": "d",
        "private": True,
        "ephemeral": False,
    }
    assert SecretSpec.from_xml(parsed.to_xml()) == parsed
    iscsi = SecretSpec.from_params({"usage_type": "iscsi", "usage_id": "iqn.x:y"})
    assert "<target>iqn.x:y</target>" in iscsi.to_xml()


@pytest.mark.parametrize(
    ("params", "value", "actual_value", "replace", "ops"),
    [
        ({}, None, None, False, []),
        ({}, b"k", None, False, []),  # private: not comparable, not replaced
        ({}, b"k", None, True, ["set_value"]),
        ({"description": "new"}, None, None, False, ["define"]),
        ({"private": False}, b"k", None, False, ["undefine", "define", "set_value"]),
    ],
)
def test_existing_secret(
    params: dict[str, object], value: bytes | None, actual_value: bytes | None, replace: bool, ops: list[str]
) -> None:
    plan = plan_secret(spec(**params), "present", SecretActual(SecretSpec.from_xml(XML), actual_value), value, replace)
    assert [s.op for s in plan.steps] == ops
    assert plan.changed is bool(ops)


def test_readable_value_is_compared() -> None:
    readable = SecretSpec.from_xml(XML.replace("private='yes'", "private='no'"))
    same = plan_secret(spec(), "present", SecretActual(readable, b"k"), b"k")
    other = plan_secret(spec(), "present", SecretActual(readable, b"k"), b"x")
    assert not same.changed and [s.op for s in other.steps] == ["set_value"]
    assert other.result(diff=True)["diff"]["after"] == {"value": "********"}
    assert "b'x'" not in repr(other.result(diff=True)) and "b'k'" not in repr(other.result(diff=True))


def test_new_secret_is_private_by_default() -> None:
    plan = plan_secret(spec(), "present", SecretActual(), b"k")
    assert [s.op for s in plan.steps] == ["define", "set_value"]
    assert 'private="yes"' in plan.steps[0].args["xml"]
    assert plan.after == {"usage_type": "ceph", "usage_id": "client.libvirt", "private": True, "ephemeral": False}


def test_absent() -> None:
    assert [s.op for s in plan_secret(spec(), "absent", SecretActual(SecretSpec.from_xml(XML)), None).steps] == [
        "undefine"
    ]
    assert not plan_secret(spec(), "absent", SecretActual(), None).changed


def test_errors() -> None:
    with pytest.raises(ConflictError):
        plan_secret(spec(ephemeral=True), "present", SecretActual(SecretSpec.from_xml(XML)), None)
    with pytest.raises(SpecError) as err:
        SecretSpec.from_params({"usage_type": "nfs", "usage_id": "x"})
    assert str(err.value) == "usage_type: 'nfs' is not one of ceph, iscsi, volume, tls, vtpm"


def test_a_secret_in_use_is_removed_only_with_force() -> None:
    spec = SecretSpec.from_params(
        {"usage_type": "iscsi", "usage_id": "san", "uuid": "11111111-2222-3333-4444-555555555555"}
    )
    used = SecretActual(spec, None, ["pool san", "domain db1"])
    with pytest.raises(UnsafeOperation) as refused:
        plan_secret(spec, "absent", used, None)
    assert refused.value.consent == "force" and "pool san, domain db1 log in with" in str(refused.value)
    assert [s.op for s in plan_secret(spec, "absent", used, None, force=True).steps] == ["undefine"]


def test_what_refers_to_a_secret() -> None:
    pool = parse_xml("<pool><source><auth type='chap' username='u'><secret usage='san'/></auth></source></pool>")
    tpm = parse_xml(
        "<domain><devices><tpm><backend type='emulator'><encryption secret='abc'/></backend></tpm></devices></domain>"
    )
    assert references_secret(pool, None, "san") and not references_secret(pool, None, "other")
    assert references_secret(tpm, "abc", None) and not references_secret(tpm, "abd", "san")
