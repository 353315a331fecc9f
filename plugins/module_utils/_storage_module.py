# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.
"""Ansible glue of the storage modules: secret."""

from __future__ import annotations

import base64
import binascii
import typing as t

from ._errors import SpecError
from ._model.secret import SecretSpec
from ._module import LibvirtModule
from ._storage_client import SecretExecutor
from ._storage_plan import plan_secret


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
