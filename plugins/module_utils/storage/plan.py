"""Pure planning for storage objects: secrets (definition and value), pools and volumes."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import ConflictError, SpecError, UnsafeOperation
from .._core.plan import Change, Plan, Step, carry_over, compare, overlay, plan_resource
from .._core.spec import SECRET_MASK
from .._core.xmlutil import parse_xml, to_string
from .pool_model import BUILDABLE, PoolSpec
from .secret_model import SecretSpec
from .usage_model import VolumeUser
from .volume_model import VolumeSpec


@dataclasses.dataclass
class SecretActual:
    """The secret libvirt has (None when absent) and, for non-private ones, its value."""

    spec: t.Optional[SecretSpec] = None
    value: t.Optional[bytes] = None


def plan_secret(
    desired: SecretSpec,
    state: str,
    actual: SecretActual,
    value: t.Optional[bytes],
    replace_value: bool = False,
) -> Plan:
    """Define, update or remove a secret and set its value; the value never enters the plan's facts."""
    name = f"{desired.usage_type} {desired.usage_id}"
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


@dataclasses.dataclass
class PoolRequest:
    """Pool options that are not part of its definition."""

    state: str = "active"
    autostart: t.Optional[bool] = None
    build: str = "auto"
    confirm: t.Optional[str] = None
    purge: bool = False
    purge_volumes: t.List[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class PoolActual:
    """The pool libvirt has: definition (None when undefined), whether active, autostart, volumes."""

    spec: t.Optional[PoolSpec] = None
    xml: t.Optional[str] = None
    active: bool = False
    autostart: bool = False
    volumes: t.List[str] = dataclasses.field(default_factory=list)


def pool_facts(spec: t.Optional[PoolSpec], active: bool, autostart: bool) -> t.Optional[t.Dict[str, t.Any]]:
    """The ``pool`` result (capacity figures are added by the executor after a real run)."""
    if spec is None:
        return None
    out = spec.to_dict()
    out.update({"state": "active" if active else "inactive", "autostart": autostart})
    return out


def plan_pool(desired: PoolSpec, request: PoolRequest, actual: PoolActual) -> Plan:
    """Define, build, start, stop or remove a pool; data is never deleted without consent."""
    name = desired.name or ""
    plan = Plan("pool", name, before=pool_facts(actual.spec, actual.active, actual.autostart))
    if request.state == "absent":
        _plan_pool_removal(plan, request, actual)
        return plan
    if request.build == "overwrite" and request.confirm != name:
        raise UnsafeOperation(
            f"pool {name}: build=overwrite formats its storage and destroys what is on it; "
            f"set confirm to the pool name ({name!r}) to agree",
            consent="confirm",
        )
    active = actual.active
    if actual.spec is None:
        if desired.type is None:
            raise SpecError("type", f"pool {name} does not exist; give its type to define it")
        plan.add(
            f"define pool {name}",
            Change("", None, desired.to_dict()),
            step=Step("define", {"xml": to_string(desired.render(None))}),
        )
        after = desired
        new = True
    else:
        new = False
        carried = carry_over(desired, actual.spec)
        if carried.type is not None and carried.type != actual.spec.type:
            raise ConflictError(
                f"pool {name}: type cannot change from {actual.spec.type!r} to {carried.type!r}; "
                "remove the pool (state=absent keeps its data) and define it again"
            )
        changes = compare(carried, actual.spec)
        after = overlay(actual.spec, carried)
        if changes:
            xml = to_string(carried.render(parse_xml(actual.xml or "", "current pool XML")))
            plan.add(
                f"update pool {name}: {', '.join(c.path for c in changes)}", *changes, step=Step("define", {"xml": xml})
            )
            plan.reboot_required = active  # an active pool keeps its old configuration until restarted
    if request.state == "active" and not active:
        if request.build != "never" and after.type in BUILDABLE and (new or request.build == "auto"):
            overwrite = request.build == "overwrite" and new
            plan.steps.append(Step("build", {"overwrite": overwrite}))
            if overwrite:
                plan.actions.append(f"format the storage of pool {name} (build=overwrite)")
        plan.add(f"start pool {name}", Change("state", "inactive", "active"), step=Step("start"))
        active = True
        plan.reboot_required = False
    elif request.state == "inactive" and active:
        plan.add(f"stop pool {name}", Change("state", "active", "inactive"), step=Step("stop"))
        active = False
    autostart = actual.autostart
    if request.autostart is not None and request.autostart != actual.autostart:
        autostart = request.autostart
        plan.add(
            f"{'enable' if autostart else 'disable'} autostart of pool {name}",
            Change("autostart", actual.autostart, autostart),
            step=Step("autostart", {"enabled": autostart}),
        )
    plan.after = pool_facts(after, active, autostart)
    return plan


def _plan_pool_removal(plan: Plan, request: PoolRequest, actual: PoolActual) -> None:
    if actual.spec is None:
        return
    name = plan.name
    if request.purge:
        unlisted = sorted(set(actual.volumes) - set(request.purge_volumes))
        if unlisted:
            raise UnsafeOperation(
                f"pool {name} holds volumes {', '.join(unlisted)}; list each in purge_volumes to delete it with "
                "the pool's storage, or remove purge to keep the data",
                consent="purge_volumes",
            )
        if not actual.active and actual.volumes:
            plan.steps.append(Step("start"))  # volumes are deleted through an active pool
        for volume in sorted(set(actual.volumes) & set(request.purge_volumes)):
            plan.add(f"delete volume {volume} of pool {name}", step=Step("delete_volume", {"name": volume}))
    if actual.active or (request.purge and actual.volumes):
        plan.add(f"stop pool {name}", Change("state", "active", "inactive"), step=Step("stop"))
    if request.purge:
        plan.add(f"delete the storage of pool {name} (purge)", step=Step("delete_storage"))
    kept = "" if request.purge else " (its data stays)"
    plan.add(f"undefine pool {name}{kept}", Change("", plan.before, None), step=Step("undefine"))


@dataclasses.dataclass
class CloneSource:
    """The template a new volume is cloned from."""

    pool: str
    name: str
    path: str
    format: str
    capacity: int
    mode: str = "linked"


@dataclasses.dataclass
class VolumeRequest:
    """Volume options that are not part of its definition."""

    pool: str
    state: str = "present"
    host: str = ""  # the uri of the hypervisor the task runs against
    allocation: str = "thin"
    clone: t.Optional[CloneSource] = None
    allow_shrink: bool = False
    upload: t.Optional[str] = None
    wipe: t.Optional[str] = None
    flatten: bool = False  # copy the backing file's data in and drop the backing file


@dataclasses.dataclass
class VolumeActual:
    """The volume libvirt has (None when absent) and the domains that use it."""

    spec: t.Optional[VolumeSpec] = None
    users: t.List[VolumeUser] = dataclasses.field(default_factory=list)


def refuse_in_use(name: str, doing: str, users: t.Sequence[VolumeUser]) -> None:
    """The one refusal of touching a volume that something on any hypervisor uses."""
    if users:
        raise ConflictError(
            f"volume {name} is in use - {'; '.join(u.describe() for u in users)}; detach it there "
            "(sharedvirt.kvm.domain or shared_disk) or flatten the clones that back onto it (sharedvirt.kvm.volume "
            f"flatten=true) before {doing}"
        )


def volume_facts(spec: t.Optional[VolumeSpec], pool: str, users: t.List[VolumeUser]) -> t.Optional[t.Dict[str, t.Any]]:
    """The ``volume`` result."""
    if spec is None:
        return None
    out = spec.to_dict()
    out["pool"] = pool
    out["users"] = [dataclasses.asdict(u) for u in users]
    return out


def plan_volume(desired: VolumeSpec, request: VolumeRequest, actual: VolumeActual) -> Plan:
    """Create (empty, cloned or uploaded), grow, shrink (with consent) or delete a volume."""
    name = f"{request.pool}/{desired.name}"
    plan = Plan("volume", name, before=volume_facts(actual.spec, request.pool, actual.users))
    plan.locator = {"pool": request.pool, "name": desired.name or ""}
    if request.state == "absent":
        if actual.spec is None:
            return plan
        refuse_in_use(name, "deleting it", actual.users)
        if request.wipe:
            plan.add(f"wipe volume {name} ({request.wipe})", step=Step("wipe", {"algorithm": request.wipe}))
        plan.add(f"delete volume {name}", Change("", plan.before, None), step=Step("delete"))
        return plan
    if actual.spec is None:
        _plan_volume_creation(plan, desired, request)
        return plan
    have = actual.spec
    if request.flatten and have.backing:
        _plan_flatten(plan, have, request, actual.users)
        have = have.replace(backing=None, backing_format=None)
    if desired.format is not None and desired.format != have.format:
        raise ConflictError(
            f"volume {name}: format cannot change from {have.format!r} to {desired.format!r} in place; "
            "make a new volume (clone_from with mode=full copies it) or leave format as it is"
        )
    after = have
    if desired.capacity is not None and have.capacity is not None and desired.capacity != have.capacity:
        grow = desired.capacity > have.capacity
        if not grow and not request.allow_shrink:
            raise UnsafeOperation(
                f"volume {name}: capacity {desired.capacity} is below the current {have.capacity} bytes; shrinking "
                "cuts off data at the end - set allow_shrink=true if the guest's file systems were shrunk first",
                consent="allow_shrink",
            )
        change = Change("capacity", have.capacity, desired.capacity)
        running = [u for u in actual.users if u.active]
        elsewhere = [u for u in running if u.host != request.host]
        if elsewhere:
            raise ConflictError(
                f"volume {name}: {elsewhere[0].describe()} runs with it; change its size on that hypervisor "
                "(its uri), where the running guest can be told"
            )
        if grow and running:
            user = running[0]
            plan.add(
                f"grow volume {name} to {desired.capacity} bytes live in domain {user.domain} ({user.target})",
                change,
                step=Step("block_resize", {"domain": user.domain, "target": user.target, "bytes": desired.capacity}),
            )
        elif running:
            raise ConflictError(f"volume {name}: cannot shrink while domain {running[0].domain} runs with it")
        else:
            verb = "grow" if grow else "shrink"
            plan.add(
                f"{verb} volume {name} to {desired.capacity} bytes",
                change,
                step=Step("resize", {"bytes": desired.capacity, "shrink": not grow}),
            )
        after = have.replace(capacity=desired.capacity)
    plan.after = volume_facts(after, request.pool, actual.users)
    return plan


def _plan_flatten(plan: Plan, have: VolumeSpec, request: VolumeRequest, users: t.Sequence[VolumeUser]) -> None:
    """Make a linked clone standalone: live (blockPull) in the domain running it, else offline (rebase)."""
    name = plan.name
    running = [u for u in users if u.active and u.domain]
    elsewhere = [u for u in running if u.host != request.host]
    if elsewhere:
        raise ConflictError(
            f"volume {name}: {elsewhere[0].describe()} runs with it; flatten it on that hypervisor (its uri), "
            "where the running guest pulls the data in"
        )
    change = Change("backing", have.backing, None)
    if running:
        user = running[0]
        plan.add(
            f"flatten volume {name} live in domain {user.domain} ({user.target}): pull in the data of {have.backing}",
            change,
            step=Step("block_pull", {"domain": user.domain, "target": user.target}),
        )
    else:
        plan.add(
            f"flatten volume {name}: copy in the data of {have.backing}",
            change,
            step=Step("rebase", {"path": have.path, "format": have.format or "qcow2"}),
        )


def _plan_volume_creation(plan: Plan, desired: VolumeSpec, request: VolumeRequest) -> None:
    name = plan.name
    clone = request.clone
    if clone is not None and clone.mode == "linked":
        spec = desired.replace(
            format="qcow2" if desired.format is None else desired.format,
            capacity=max(desired.capacity or 0, clone.capacity),
            backing=clone.path,
            backing_format=clone.format,
        )
        if spec.format != "qcow2":
            raise SpecError("format", "a linked clone is a qcow2 overlay; use format=qcow2 or clone_from.mode=full")
        plan.add(
            f"create volume {name} as a linked clone of {clone.pool}/{clone.name}",
            Change("", None, spec.to_dict()),
            step=Step("create", {"xml": to_string(spec.to_element())}),
        )
    elif clone is not None:
        spec = desired.replace(
            format=desired.format or clone.format,
            capacity=max(desired.capacity or 0, clone.capacity),
            allocation=(desired.capacity or clone.capacity) if request.allocation == "full" else 0,
        )
        plan.add(
            f"create volume {name} as a full copy of {clone.pool}/{clone.name}",
            Change("", None, spec.to_dict()),
            step=Step("clone", {"xml": to_string(spec.to_element()), "pool": clone.pool, "name": clone.name}),
        )
    else:
        if desired.capacity is None or desired.format is None:
            raise SpecError("capacity", f"volume {name} does not exist; give format and capacity to create it")
        spec = desired.replace(allocation=desired.capacity if request.allocation == "full" else 0)
        plan.add(
            f"create volume {name} ({spec.format}, {spec.capacity} bytes, {request.allocation})",
            Change("", None, spec.to_dict()),
            step=Step(
                "create",
                # qcow2 preallocates its metadata on request; raw preallocates through allocation.
                {
                    "xml": to_string(spec.to_element()),
                    "preallocate": request.allocation == "full" and spec.format == "qcow2",
                },
            ),
        )
    if request.upload:
        plan.add(f"upload {request.upload} into volume {name}", step=Step("upload", {"src": request.upload}))
    plan.after = volume_facts(spec, request.pool, [])


def image_problems(
    info: t.Mapping[str, t.Any], declared_format: str, pool_path: str, max_virtual_size: int
) -> t.List[str]:
    """Why an uploaded image is refused: images are untrusted (format lies, backing files that
    point at host files such as /etc/shadow, virtual sizes that would fill the pool)."""
    problems = []
    actual_format = info.get("format")
    if actual_format != declared_format:
        problems.append(f"the file is {actual_format}, not the declared format {declared_format}")
    backing = info.get("full-backing-filename") or info.get("backing-filename")
    if backing:
        root = pool_path.rstrip("/") + "/"
        if not str(backing).startswith(root) or ".." in str(backing).split("/"):
            problems.append(f"its backing file {backing} lies outside the pool ({pool_path})")
    size = int(info.get("virtual-size") or 0)
    if size > max_virtual_size:
        problems.append(f"its virtual size {size} bytes is above max_virtual_size {max_virtual_size}")
    return problems
