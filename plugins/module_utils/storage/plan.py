"""Pure planning of storage volumes: create (empty, cloned, uploaded), grow, shrink, flatten, delete."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import ConflictError, SpecError, UnsafeOperation
from .._core.plan import Change, Plan, Step
from .._core.xmlutil import to_string
from .usage_model import VolumeUser
from .volume_model import VolumeSpec


@dataclasses.dataclass
class CloneSource:
    """The template a new volume is cloned from."""

    pool: str
    name: str
    path: str
    format: str
    capacity: int
    mode: str = "linked"


@dataclasses.dataclass(frozen=True)
class Upload:
    """An image to put into the volume: checked by its SHA-256 before it becomes the volume."""

    src: str
    sha256: str
    replace: bool = False  # the volume exists with other content
    shown: str = ""  # how actions name the image when ``src`` is a scratch conversion of it

    @property
    def label(self) -> str:
        return self.shown or self.src


@dataclasses.dataclass
class VolumeRequest:
    """Volume options that are not part of its definition."""

    pool: str
    state: str = "present"
    host: str = ""  # the uri of the hypervisor the task runs against
    allocation: str = "thin"
    clone: t.Optional[CloneSource] = None
    allow_shrink: bool = False
    upload: t.Optional[Upload] = None
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
    if request.upload is not None:
        refuse_in_use(name, "replacing its content", actual.users)
        plan.add(
            f"replace the content of volume {name} with {request.upload.label} (checked by SHA-256, then swapped in)",
            Change("content", None, request.upload.sha256),
            step=_upload_step(request.upload, have),
        )
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
        _plan_resize(plan, have, desired.capacity, request, actual.users)
        after = have.replace(capacity=desired.capacity)
    plan.after = volume_facts(after, request.pool, actual.users)
    return plan


def _plan_resize(
    plan: Plan, have: VolumeSpec, capacity: int, request: VolumeRequest, users: t.Sequence[VolumeUser]
) -> None:
    """Grow (live in the guest that runs it here) or shrink (with consent, and only while nothing uses it)."""
    name = plan.name
    grow = capacity > (have.capacity or 0)
    if not grow:
        if not request.allow_shrink:
            raise UnsafeOperation(
                f"volume {name}: capacity {capacity} is below the current {have.capacity} bytes; shrinking "
                "cuts off data at the end - set allow_shrink=true if the guest's file systems were shrunk first",
                consent="allow_shrink",
            )
        refuse_in_use(name, "shrinking it", users)
    change = Change("capacity", have.capacity, capacity)
    running = [u for u in users if u.active and u.domain]
    elsewhere = [u for u in running if u.host != request.host]
    if elsewhere:
        raise ConflictError(
            f"volume {name}: {elsewhere[0].describe()} runs with it; change its size on that hypervisor "
            "(its uri), where the running guest can be told"
        )
    if running:
        user = running[0]
        plan.add(
            f"grow volume {name} to {capacity} bytes live in domain {user.domain} ({user.target})",
            change,
            step=Step("block_resize", {"domain": user.domain, "target": user.target, "bytes": capacity}),
        )
    else:
        plan.add(
            f"{'grow' if grow else 'shrink'} volume {name} to {capacity} bytes",
            change,
            step=Step("resize", {"bytes": capacity, "shrink": not grow}),
        )


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
    elif request.upload is not None:
        spec = desired.replace(allocation=0)
        plan.add(
            f"upload {request.upload.label} into new volume {name} (checked by SHA-256 before it becomes the volume)",
            Change("", None, spec.to_dict()),
            step=_upload_step(request.upload, spec),
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
    plan.after = volume_facts(spec, request.pool, [])


def _upload_step(upload: Upload, spec: VolumeSpec) -> Step:
    volume = spec.replace(path=None, allocation=0, backing=None, backing_format=None)
    return Step(
        "upload",
        {"src": upload.src, "sha256": upload.sha256, "replace": upload.replace, "xml": to_string(volume.to_element())},
    )


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


def added_capacity(plan: Plan) -> int:
    """Bytes of virtual disk the plan adds to its pool (a new volume's capacity, or a growth)."""
    if not plan.changed:
        return 0
    before = int((plan.before or {}).get("capacity") or 0)
    after = int((plan.after or {}).get("capacity") or 0)
    return max(after - before, 0)


def thin_refusal(pool: str, capacity: int, committed: int, adding: int, ratio: float) -> t.Optional[str]:
    """Why committing ``adding`` more bytes of virtual disk overcommits the pool beyond ``ratio``; None if not."""
    after = committed + adding
    if adding <= 0 or capacity <= 0 or after <= capacity * ratio:
        return None
    return (
        f"pool {pool}: {adding} more bytes would commit {after} bytes of virtual disk to {capacity} bytes of capacity "
        f"({after / capacity:.2f}x, above overcommit.ratio {ratio:g}); thin volumes that all fill up would stop their "
        "guests - raise the ratio, grow the pool or remove volumes"
    )
