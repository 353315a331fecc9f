"""Pure planning of storage pools: define, build, start, stop, remove; data is never deleted without consent."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import ConflictError, SpecError, UnsafeOperation
from .._core.plan import Change, Plan, Step, carry_over, compare, overlay
from .._core.xmlutil import parse_xml, to_string
from .pool_model import BUILDABLE, PoolSpec
from .usage_model import PoolRef, VolumeUser


@dataclasses.dataclass
class PoolRequest:
    """Pool options that are not part of its definition."""

    state: str = "active"
    autostart: t.Optional[bool] = None
    build: str = "auto"
    confirm: t.Optional[str] = None
    purge: bool = False
    purge_volumes: t.List[str] = dataclasses.field(default_factory=list)
    force: bool = False  # stop or remove a pool that running domains use
    host: str = ""  # the uri of the hypervisor the task runs against


@dataclasses.dataclass
class PoolActual:
    """The pool libvirt has: definition (None when undefined), whether active, autostart, volumes."""

    spec: t.Optional[PoolSpec] = None
    xml: t.Optional[str] = None
    active: bool = False
    autostart: bool = False
    volumes: t.List[str] = dataclasses.field(default_factory=list)
    users: t.List[VolumeUser] = dataclasses.field(default_factory=list)  # domains with disks in the pool, anywhere


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
        _refuse_cutting_off(name, "stopping it", request, actual.users)
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
    if actual.active:
        _refuse_cutting_off(name, "removing it", request, actual.users)
    if request.purge:
        _check_purge(name, actual)
        unlisted = sorted(set(actual.volumes) - set(request.purge_volumes))
        if unlisted:
            raise UnsafeOperation(
                f"pool {name} holds volumes {', '.join(unlisted)}; list each in purge_volumes to delete it with "
                "the pool's storage, or remove purge to keep the data",
                consent="purge_volumes",
            )
        for volume in sorted(set(actual.volumes) & set(request.purge_volumes)):
            plan.add(f"delete volume {volume} of pool {name}", step=Step("delete_volume", {"name": volume}))
    if actual.active:
        plan.add(f"stop pool {name}", Change("state", "active", "inactive"), step=Step("stop"))
    if request.purge:
        plan.add(f"delete the storage of pool {name} (purge)", step=Step("delete_storage"))
    kept = "" if request.purge else " (its data stays)"
    plan.add(f"undefine pool {name}{kept}", Change("", plan.before, None), step=Step("undefine"))


def _refuse_cutting_off(name: str, doing: str, request: PoolRequest, users: t.Sequence[VolumeUser]) -> None:
    """Running domains of this hypervisor lose their disks when its pool stops (an iSCSI pool logs out)."""
    running = [u for u in users if u.active and u.domain and u.host == request.host]
    if running and not request.force:
        raise UnsafeOperation(
            f"pool {name} holds the disks of {'; '.join(u.describe() for u in running)}; {doing} pulls them from "
            "under the guest - stop or move those domains first, or set force=true",
            consent="force",
        )


def _check_purge(name: str, actual: PoolActual) -> None:
    """Purging deletes data: only with every volume known and named, and nothing anywhere using one."""
    if not actual.active:
        raise UnsafeOperation(
            f"pool {name} is inactive, so the volumes a purge would delete cannot be listed; start it "
            "(state=active), then purge with purge_volumes naming each volume",
            consent="purge_volumes",
        )
    if actual.users:
        raise ConflictError(
            f"pool {name} holds disks in use - {'; '.join(u.describe() for u in actual.users)}; detach them "
            "(sharedvirt.kvm.domain or shared_disk) before purging the pool's data"
        )


def pool_ref(spec: PoolSpec) -> PoolRef:
    """How domains' disks name this pool's storage."""
    source = spec.source
    network = {"rbd": "rbd", "gluster": "gluster", "iscsi-direct": "iscsi", "iscsi": "iscsi"}.get(spec.type or "")
    prefix = ""
    if network and source is not None:
        prefix = f"{(source.device or [''])[0] if network == 'iscsi' else source.name or ''}/"
    return PoolRef(spec.name or "", spec.target.path if spec.target else None, network, prefix)
