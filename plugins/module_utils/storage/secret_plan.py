"""Pure planning of libvirt secrets: the definition, and the value (which never enters the plan's facts)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import ConflictError, UnsafeOperation
from .._core.plan import Change, Plan, Step, carry_over, overlay, plan_resource
from .._core.spec import SECRET_MASK
from .._core.xmlutil import to_string
from .secret_model import SecretSpec


@dataclasses.dataclass
class SecretActual:
    """The secret libvirt has (None when absent) and, for non-private ones, its value."""

    spec: t.Optional[SecretSpec] = None
    value: t.Optional[bytes] = None
    users: t.List[str] = dataclasses.field(default_factory=list)  # "pool x", "domain y" that refer to it


def plan_secret(
    desired: SecretSpec,
    state: str,
    actual: SecretActual,
    value: t.Optional[bytes],
    replace_value: bool = False,
    force: bool = False,
) -> Plan:
    """Define, update or remove a secret and set its value; the value never enters the plan's facts."""
    name = f"{desired.usage_type} {desired.usage_id}"
    if state == "absent" and actual.spec is not None and actual.users and not force:
        raise UnsafeOperation(
            f"secret {name} is what {', '.join(actual.users)} log in with; without it they fail at their next start "
            "or refresh - remove them first, or set force=true",
            consent="force",
        )
    plan = _plan_secret(name, desired, state, actual, value, replace_value)
    plan.locator = {
        "usage_type": desired.usage_type or "",
        "usage_id": desired.usage_id or "",
        "uuid": desired.uuid or "",
    }
    return plan


def _plan_secret(
    name: str,
    desired: SecretSpec,
    state: str,
    actual: SecretActual,
    value: t.Optional[bytes],
    replace_value: bool,
) -> Plan:
    set_value = Step("set_value", {"value": value})
    if state == "absent":
        plan = plan_resource("secret", name, None, actual.spec)
        if actual.spec is not None:
            plan.steps.append(Step("undefine", {"uuid": actual.spec.uuid}))
        return plan
    if actual.spec is None:
        create = desired.replace(
            private=True if desired.private is None else desired.private,
            ephemeral=False if desired.ephemeral is None else desired.ephemeral,
        )
        plan = plan_resource("secret", name, create, None)
        plan.steps.append(Step("define", {"xml": to_string(create.to_element())}))
        if value is not None:
            plan.add(f"set the value of secret {name}", Change("value", None, SECRET_MASK), step=set_value)
        return plan
    carried = carry_over(desired, actual.spec)
    plan = plan_resource("secret", name, carried, actual.spec)
    recreate = [c for c in plan.changes if c.field in ("private", "ephemeral")]
    if recreate:
        if value is None:
            raise ConflictError(
                f"secret {name}: {recreate[0].path} cannot change on an existing secret; give value so that the "
                "secret can be defined again with it"
            )
        merged = overlay(actual.spec, carried)
        plan.steps += [
            Step("undefine", {"uuid": actual.spec.uuid}),
            Step("define", {"xml": to_string(merged.to_element())}),
        ]
        plan.add(f"set the value of secret {name}", Change("value", SECRET_MASK, SECRET_MASK), step=set_value)
        return plan
    if plan.changed:
        merged = overlay(actual.spec, carried)
        plan.steps.append(Step("define", {"xml": to_string(merged.to_element())}))
    if value is not None:
        readable = not actual.spec.private
        if (readable and actual.value != value) or (not readable and replace_value):
            plan.add(f"set the value of secret {name}", Change("value", SECRET_MASK, SECRET_MASK), step=set_value)
    return plan
