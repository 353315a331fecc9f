"""Pure planning for domains: definition changes, live operations, state transitions, removal.

The Plan's ``steps`` are what ``client.DomainExecutor`` carries out, in order; its
``actions`` are the same steps in words, and decide ``changed`` in check mode and real runs alike.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import random
import typing as t

from .._core.errors import ConflictError, UnsafeOperation
from .._core.plan import Change, Plan, Step, carry_over, compare, overlay
from .._core.xmlutil import parse_xml, to_string
from ..placement.model import Capacity, GuestLoad, HostLoad
from ..storage.usage_model import DiskUse, storage_ref
from .device_model import DiskSpec
from .live_plan import plan_live, plan_live_repair
from .model import DomainSpec, machine_matches

RUNNING = ("running", "blocked", "in shutdown")
PAUSED = ("paused", "pmsuspended")
STATES = ("present", "running", "shutdown", "paused", "absent", "restarted")
# What a domain holds besides its disks, which removal or recreation drops only when ``discard`` names it:
# UEFI variables, the vTPM's state (keys sealed in it), the saved memory image, snapshot and checkpoint metadata.
DISCARDABLE = ("nvram", "tpm", "managed_save", "snapshots", "checkpoints")


@dataclasses.dataclass
class DomainRequest:
    """The module options that are not part of the domain's definition."""

    state: str = "present"
    autostart: t.Optional[bool] = None
    recreate: str = "never"
    force: bool = False
    timeout: int = 120
    remove_storage: str = "none"
    discard: t.FrozenSet[str] = frozenset()  # of DISCARDABLE: what removal or recreation may drop
    overcommit: t.Optional[Capacity] = None  # limits a start must keep the host within
    overcommit_action: str = "fail"  # or warn


@dataclasses.dataclass
class DomainActual:
    """What libvirt has: persistent spec and XML (None when undefined), runtime state, autostart."""

    spec: t.Optional[DomainSpec] = None
    xml: t.Optional[str] = None
    state: t.Optional[str] = None
    persistent: bool = False
    autostart: bool = False
    running_elsewhere: t.List[str] = dataclasses.field(default_factory=list)  # peers where it runs
    live: t.Optional[DomainSpec] = None  # the running guest's configuration (None when it does not run)
    keeps: t.FrozenSet[str] = frozenset()  # of DISCARDABLE: what it has besides its disks


def runtime(state: t.Optional[str]) -> str:
    """Collapse libvirt's states into absent, running, paused or off."""
    if state is None:
        return "absent"
    if state in RUNNING:
        return "running"
    if state in PAUSED:
        return "paused"
    return "off"


def random_mac() -> str:
    """A locally administered MAC in the range QEMU/libvirt use (52:54:00:xx:xx:xx)."""
    return "52:54:00:" + ":".join(f"{random.randint(0, 255):02x}" for _octet in range(3))


def plan_domain(
    desired: DomainSpec,
    request: DomainRequest,
    actual: DomainActual,
    load: t.Optional[HostLoad] = None,
    new_mac: t.Callable[[], str] = random_mac,
    create_from: t.Optional[str] = None,
) -> Plan:
    """Everything that brings the domain to ``desired`` in ``request.state``.

    ``create_from`` is the user's XML: a new domain starts from that document, so the parts the
    collection does not model are kept.
    """
    name = desired.name or ""
    before = facts(actual.spec, actual.state, actual.autostart, actual.persistent) if actual.spec is not None else None
    plan = Plan("domain", name, before=before)
    if request.state == "absent":
        _plan_removal(plan, request, actual)
        return plan
    current = runtime(actual.state)
    if actual.spec is None:
        base = None if create_from is None else parse_xml(create_from, "xml")
        xml = to_string(desired.render(base))
        plan.add(f"define domain {name}", Change("", None, desired.to_dict()), step=Step("define", {"xml": xml}))
        spec_after = desired
        current = "off"
    else:
        spec_after = _plan_update(plan, desired, request, actual, current, new_mac)
        if any(s.op == "undefine" for s in plan.steps):
            # Recreated: it is off now; a guest that ran before runs again unless told otherwise.
            if request.state == "present" and current in ("running", "paused"):
                request = dataclasses.replace(request, state="running")
            current = "off"
        elif actual.live is not None and request.state in ("present", "running", "paused"):
            declared = tuple(f for f in ("disks", "interfaces") if getattr(desired, f) is not None)
            plan_live_repair(plan, spec_after, actual.live, declared)
    autostart = actual.autostart if request.autostart is None else request.autostart
    if request.autostart is not None and request.autostart != actual.autostart:
        plan.add(
            f"{'enable' if request.autostart else 'disable'} autostart of domain {name}",
            Change("autostart", actual.autostart, request.autostart),
            step=Step("autostart", {"enabled": request.autostart}),
        )
    target = _plan_state(plan, request, current, spec_after, load, actual.running_elsewhere)
    plan.after = facts(spec_after, target, autostart)
    return plan


def _plan_removal(plan: Plan, request: DomainRequest, actual: DomainActual) -> None:
    if actual.spec is None and actual.state is None:
        return
    name = plan.name
    _refuse_losing(name, "remove it", actual.keeps - {"nvram", "tpm"}, request.discard)
    if runtime(actual.state) in ("running", "paused"):
        if runtime(actual.state) == "paused":
            plan.steps.append(Step("resume"))  # a paused guest cannot answer the power button
        plan.add(_shutdown_action(name, request), Change("state", actual.state, "shutoff"), step=_shutdown(request))
    storage = " and its owned storage" if request.remove_storage == "owned" else ""
    dropped = sorted(actual.keeps & request.discard)
    plan.add(
        f"undefine domain {name}{storage}" + (f", dropping its {', '.join(dropped)}" if dropped else ""),
        Change("", plan.before, None),
        step=Step("undefine", {"remove_storage": request.remove_storage, "discard": dropped}),
    )


def _shutdown(request: DomainRequest) -> Step:
    return Step("shutdown", {"timeout": request.timeout, "force": request.force})


def _shutdown_action(name: str, request: DomainRequest) -> str:
    forced = f", powering it off after {request.timeout} s (force)" if request.force else ""
    return f"shut down domain {name}{forced}"


def _refuse_losing(name: str, doing: str, kept: t.AbstractSet[str], discard: t.AbstractSet[str]) -> None:
    """Data beside the disks goes only when ``discard`` names it."""
    lost = sorted(kept - discard)
    if lost:
        raise UnsafeOperation(
            f"domain {name} has {', '.join(WHAT[k] for k in lost)}; to {doing} would drop "
            f"{'them' if len(lost) > 1 else 'it'} - name {', '.join(lost)} in discard to agree, or keep the domain",
            consent="discard",
        )


WHAT = {
    "nvram": "UEFI variables (NVRAM)",
    "tpm": "a virtual TPM's state",
    "managed_save": "a saved memory image (managed save)",
    "snapshots": "snapshot metadata",
    "checkpoints": "checkpoint metadata",
}


def _immutable_drift(desired: DomainSpec, actual: DomainSpec) -> t.List[Change]:
    drift = []
    for name in DomainSpec.IMMUTABLE:
        want = getattr(desired, name)
        have = getattr(actual, name)
        if want is None:
            continue
        same = machine_matches(want, have) if name == "machine" else want == have
        if not same:
            drift.append(Change(name, have, want, live=False))
    return drift


def _with_new_macs(desired: DomainSpec, actual: DomainSpec, new_mac: t.Callable[[], str]) -> DomainSpec:
    # A NIC added to an existing domain gets its MAC here, so that the persistent definition and
    # the live hot-plug use the same address.
    if not desired.interfaces:
        return desired
    taken = {i.mac for i in actual.interfaces or []}
    nics = []
    for nic in desired.interfaces:
        if nic.mac is None:
            mac = new_mac()
            while mac in taken:
                mac = new_mac()
            taken.add(mac)
            nic = nic.replace(mac=mac)
        nics.append(nic)
    return desired.replace(interfaces=nics)


def _keep_shared_disks(desired: DomainSpec, actual: DomainSpec) -> DomainSpec:
    """Disks the shared_disk module attached stay unless the declaration names their target itself.

    ``desired.shared_disks`` is the actual marker carried over, or what shared_disk declares itself.
    """
    marked = set(desired.shared_disks or [])
    if desired.disks is None or not marked:
        return desired
    declared = {d.target for d in desired.disks}
    kept = [d for d in actual.disks or [] if d.target in marked and d.target not in declared]
    return desired.replace(disks=desired.disks + kept) if kept else desired


def render_spec(desired: DomainSpec, actual: DomainSpec) -> DomainSpec:
    """What to render onto libvirt's XML: the set fields, with each declared device merged into
    its current counterpart (so a device keeps the properties the user did not mention)."""
    merged = overlay(actual, desired)
    return desired.replace(
        **{f: getattr(merged, f) for f in ("disks", "interfaces", "graphics") if getattr(desired, f) is not None}
    )


def _plan_update(
    plan: Plan,
    desired: DomainSpec,
    request: DomainRequest,
    actual: DomainActual,
    current: str,
    new_mac: t.Callable[[], str],
) -> DomainSpec:
    if actual.spec is None or actual.xml is None:
        raise ValueError("an update needs the current definition")
    name = plan.name
    carried = _with_new_macs(_keep_shared_disks(carry_over(desired, actual.spec), actual.spec), actual.spec, new_mac)
    if carried.machine and machine_matches(carried.machine, actual.spec.machine):
        carried = carried.replace(machine=actual.spec.machine)  # "q35" is libvirt's "pc-q35-7.2"
    drift = _immutable_drift(carried, actual.spec)
    after = overlay(actual.spec, carried)
    base = parse_xml(actual.xml, "current domain XML")
    if drift or request.recreate == "always":
        if drift and request.recreate == "never":
            what = ", ".join(f"{c.path} from {c.before!r} to {c.after!r}" for c in drift)
            raise ConflictError(
                f"domain {name}: {what} cannot change on an existing domain; set recreate=options-changed "
                "to undefine and define it again (its disks are kept), or leave the option as it is"
            )
        # libvirt recomputes device addresses for the new machine/firmware.
        for device in base.find("devices") or []:
            for address in device.findall("address"):
                device.remove(address)
        xml = to_string(render_spec(carried, actual.spec).render(base))
        # NVRAM, TPM state and snapshots come through a recreation; a saved memory image cannot.
        _refuse_losing(name, "recreate it", actual.keeps & {"managed_save", "checkpoints"}, request.discard)
        if current in ("running", "paused"):
            plan.add(f"{_shutdown_action(name, request)} to recreate it", step=_shutdown(request))
        dropped = sorted(actual.keeps & request.discard)
        plan.add(
            f"recreate domain {name}: {', '.join(c.path for c in drift) or 'recreate=always'}",
            *drift,
            step=Step("undefine", {"remove_storage": "none", "discard": dropped, "carry_snapshots": True}),
        )
        plan.steps.append(Step("define", {"xml": xml, "restore_snapshots": True}))
        return after
    changes = compare(carried, actual.spec)
    if not changes and not actual.persistent:
        # A transient guest (virsh create) is running but not defined: present means defined.
        xml = to_string(render_spec(carried, actual.spec).render(base))
        plan.add(
            f"define running transient domain {name}",
            Change("persistent", False, True),
            step=Step("define", {"xml": xml}),
        )
        return after
    if not changes:
        return after
    xml = to_string(render_spec(carried, actual.spec).render(base))
    plan.add(f"update domain {name}: {', '.join(c.path for c in changes)}", *changes, step=Step("define", {"xml": xml}))
    if current in ("running", "paused"):
        plan_live(plan, carried, actual.spec, base, changes)
    return after


def _plan_state(
    plan: Plan,
    request: DomainRequest,
    current: str,
    spec: DomainSpec,
    load: t.Optional[HostLoad],
    running_elsewhere: t.Sequence[str] = (),
) -> str:
    """Steps from ``current`` to ``request.state``; returns the predicted libvirt state."""
    name = plan.name
    wanted = request.state
    shutdown = Step("shutdown", {"timeout": request.timeout, "force": request.force})
    if wanted == "present":
        return {"running": "running", "paused": "paused"}.get(current, "shutoff")
    if wanted in ("running", "restarted", "paused") and current == "off":
        _refuse_second_copy(name, running_elsewhere)
        _check_overcommit(plan, request, spec, load)
        plan.add(f"start domain {name}", Change("state", "shutoff", "running"), step=Step("start"))
        if wanted == "paused":
            plan.add(f"pause domain {name}", Change("state", "running", "paused"), step=Step("suspend"))
            return "paused"
        plan.reboot_required = False
        return "running"
    if wanted == "running":
        if current == "paused":
            plan.add(f"resume domain {name}", Change("state", "paused", "running"), step=Step("resume"))
        return "running"
    if wanted == "paused":
        if current == "running":
            plan.add(f"pause domain {name}", Change("state", "running", "paused"), step=Step("suspend"))
        return "paused"
    if wanted == "restarted":
        if current == "paused":
            plan.steps.append(Step("resume"))
        plan.add(f"restart domain {name}", Change("state", current, "running"), step=shutdown)
        plan.steps.append(Step("start"))
        plan.reboot_required = False
        return "running"
    if wanted == "shutdown" and current in ("running", "paused"):
        if current == "paused":
            plan.steps.append(Step("resume"))
        plan.add(f"shut down domain {name}", Change("state", current, "shutoff"), step=shutdown)
        plan.reboot_required = False
    return "shutoff"


def refuse_shared_writers(name: str, disks: t.Sequence[DiskSpec], others: t.Sequence[DiskUse]) -> None:
    """A disk without <shareable/> is one domain's alone: refuse to add one that another domain uses.

    ``disks`` are the declared disks this run adds; ``others`` the disks of every domain on this hypervisor
    and its peers. The message is shared_disk's, so both modules refuse the same thing the same way.
    """
    for disk in disks:
        if disk.shareable or disk.readonly or disk.device == "cdrom" or disk.source is None:
            continue
        ref = storage_ref(disk.source)
        for use in sorted(others, key=lambda use: (use.host or "", use.domain)):  # the same name on every run
            if use.domain != name and use.layers and ref.same(use.layers[0]):
                where = f" on {use.host}" if use.host else ""
                raise ConflictError(
                    f"disks[target={disk.target}]: domain {use.domain}{where} already uses this storage as "
                    f"{use.target}; two domains writing one disk without <shareable/> corrupt it - give this domain "
                    "its own disk, or share it on purpose with sharedvirt.kvm.shared_disk"
                )


def _refuse_second_copy(name: str, running_elsewhere: t.Sequence[str]) -> None:
    """One VM, one writer: never start a domain that runs on another hypervisor of the cluster."""
    if running_elsewhere:
        raise ConflictError(
            f"domain {name} runs on {', '.join(running_elsewhere)}; starting it here as well would let two guests "
            "write the same disks - stop it there, or move it with sharedvirt.kvm.migration"
        )


def _check_overcommit(plan: Plan, request: DomainRequest, spec: DomainSpec, load: t.Optional[HostLoad]) -> None:
    """Starting the domain must keep the host within ``request.overcommit`` (``load``: the host without it)."""
    if load is None or request.overcommit is None:
        return
    guest = GuestLoad(plan.name, spec.current_memory or spec.memory or 0, spec.vcpus or spec.max_vcpus or 1)
    problems = request.overcommit.overcommit(load.without(plan.name), guest)
    if not problems:
        return
    message = f"starting domain {plan.name} would overcommit the host: {'; '.join(problems)}"
    if request.overcommit_action == "warn":
        plan.warnings.append(message)
        return
    raise ConflictError(
        f"{message}. Raise overcommit.vcpu_ratio or overcommit.memory_ratio, stop other guests, "
        "or set overcommit.action=warn"
    )


def facts(
    spec: t.Optional[DomainSpec], state: t.Optional[str], autostart: bool, persistent: t.Optional[bool] = None
) -> t.Dict[str, t.Any]:
    """The ``domain`` result: the normalised definition plus runtime facts."""
    out: t.Dict[str, t.Any] = spec.to_dict() if spec is not None else {}
    defined = spec is not None if persistent is None else persistent
    out.update({"state": state or "undefined", "persistent": defined, "autostart": autostart})
    return out
