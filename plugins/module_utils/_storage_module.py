# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.
"""Ansible glue of the storage modules: secret, pool, pool_info."""

from __future__ import annotations

import base64
import binascii
import typing as t

from ._errors import SpecError
from ._model.pool import PoolSpec
from ._model.secret import SecretSpec
from ._module import LibvirtModule
from ._storage_client import PoolExecutor, SecretExecutor
from ._storage_plan import PoolRequest, plan_pool, plan_secret


def secret_value(params: t.Mapping[str, t.Any]) -> t.Optional[bytes]:
    """The secret's bytes: ``value`` as text, or decoded from base64 (how Ceph prints keys)."""
    value = params.get("value")
    if value is None:
        return None
    if params.get("value_encoding") == "base64":
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise SpecError("value", "is not valid base64; set value_encoding=plain for a plain password") from None
    return str(value).encode("utf-8")


def run_secret(module: LibvirtModule) -> t.Dict[str, t.Any]:
    """The secret module."""
    params = module.params
    desired = SecretSpec.from_params(
        {k: params.get(k) for k in ("usage_type", "usage_id", "uuid", "description", "private", "ephemeral")}
    )
    value = secret_value(params)
    executor = SecretExecutor(module.client())
    actual = executor.read(desired)
    plan = plan_secret(desired, params["state"], actual, value, params["replace_value"])
    if not module.check_mode:
        executor.apply(plan, desired, value)
        again = executor.read(desired)
        plan.after = None if again.spec is None else again.spec.to_dict()
    return plan.result(diff=module.diff)


def run_pool(module: LibvirtModule) -> t.Dict[str, t.Any]:
    """The pool module."""
    params = module.params
    desired = PoolSpec.from_params({k: params.get(k) for k in ("name", "type", "source", "target")})
    if params.get("xml"):
        from_xml = PoolSpec.from_xml(params["xml"], "xml")
        if from_xml.name != desired.name:
            raise SpecError("xml", f"names pool {from_xml.name!r} but the name option is {desired.name!r}")
        desired = from_xml.replace(**{k: v for k, v in vars(desired).items() if v is not None})
        desired.validate("")
    request = PoolRequest(
        state=params["state"],
        autostart=params.get("autostart"),
        build=params["build"],
        confirm=params.get("confirm"),
        purge=params["purge"],
        purge_volumes=params.get("purge_volumes") or [],
    )
    executor = PoolExecutor(module.client(readonly=module.check_mode))
    actual = executor.read(desired.name or "")
    plan = plan_pool(desired, request, actual)
    if not module.check_mode:
        executor.apply(plan)
        if params.get("refresh") and executor.read(desired.name or "").active:
            pool = executor.client.pool(desired.name or "")
            executor.client.call(f"refresh pool {desired.name!r}", pool.refresh, 0)
        plan.after = executor.facts(desired.name or "")
    for note in executor.notes:
        module.ansible.warn(note)
    return plan.result(diff=module.diff)


def run_pool_info(module: LibvirtModule) -> t.Dict[str, t.Any]:
    """The pool_info module: facts of every pool (or one)."""
    executor = PoolExecutor(module.client(readonly=True))
    conn = executor.client.conn
    names = sorted(p.name() for p in executor.client.call("list pools", conn.listAllStoragePools, 0))
    wanted = module.params.get("name")
    pools = [executor.facts(n) for n in names if not wanted or n == wanted]
    return {"changed": False, "pools": [p for p in pools if p is not None]}
