"""Live steps for a running domain: what libvirt changes in the guest now, the rest waits for a reboot (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.errors import SpecError
from .._core.plan import Change, Plan, Step, overlay
from .._core.xmlutil import to_string
from .cluster_model import ClusterPolicy
from .limits_model import MEMTUNE, SCHEDULER
from .model import DomainSpec


def plan_live(plan: Plan, desired: DomainSpec, actual: DomainSpec, base: t.Any, changes: t.List[Change]) -> None:
    """Live operations for changes libvirt can apply to a running guest; the rest need a reboot."""
    done: t.Set[str] = set()
    for change in changes:
        group = _group(change)
        if group:
            if group not in done:  # one call sets the whole group, once for all its changed fields
                done.add(group)
                _plan_group(plan, desired, actual, group)
        elif not _plan_live_change(plan, desired, actual, base, change):
            plan.reboot_required = True


def _group(change: Change) -> str:
    """The live call a change is made by when one call sets several fields ("" when it is a call of its own)."""
    if change.field == "cputune":
        head = change.sub.split("[", 1)[0]
        return head if head in ("vcpupin", "iothreadpin") else "scheduler" if head in SCHEDULER else ""
    if change.field in ("cluster", "memtune", "blkiotune"):
        return change.field
    if change.field == "disks" and change.item is not None and change.sub.startswith("iotune"):
        return f"iotune:{change.item}"
    return ""


def _plan_group(plan: Plan, desired: DomainSpec, actual: DomainSpec, group: str) -> None:
    name = plan.name
    if group in ("vcpupin", "iothreadpin"):  # the whole list: a pin no longer listed is undone too
        _pin_threads(plan, desired, actual, group)
    elif group == "cluster":
        policy = overlay(actual.cluster or ClusterPolicy(), desired.cluster or ClusterPolicy())
        step = Step("set_metadata", {"kind": "cluster", "value": policy.to_dict()})
        plan.add(f"set live cluster policy of {name}", step=step)
    elif group == "scheduler":
        values = {SCHEDULER[key]: getattr(desired.cputune, key) for key in SCHEDULER}
        params = {key: value for key, value in values.items() if value is not None}
        plan.add(f"set live CPU shares and bandwidth of {name}", step=Step("set_scheduler", {"params": params}))
    elif group == "memtune":
        limits = {key: getattr(desired.memtune, key) for key in MEMTUNE}
        params = {key: value // 1024 for key, value in limits.items() if value is not None}
        plan.add(f"set live memory limits of {name}", step=Step("set_memtune", {"params": params}))
    elif group == "blkiotune":
        weight = desired.blkiotune.weight if desired.blkiotune else None
        plan.add(f"set live block I/O weight of {name}", step=Step("set_blkio", {"params": {"weight": weight}}))
    else:
        label = group.split(":", 1)[1]
        disk = next(d for d in desired.disks or [] if d.label() == label)
        settings = disk.iotune.settings() if disk.iotune else {}
        plan.add(
            f"set live I/O limits of disk {label} of {name}",
            step=Step("set_iotune", {"disk": disk.target, "params": settings}),
        )


def _plan_live_change(plan: Plan, desired: DomainSpec, actual: DomainSpec, base: t.Any, change: Change) -> bool:
    """The live step for one change; False when libvirt cannot apply it to the running guest."""
    name = plan.name
    if change.field == "current_memory":
        plan.add(f"set live memory of {name} to {change.after} bytes", step=Step("set_memory", {"bytes": change.after}))
    elif change.field == "vcpus" and (desired.max_vcpus is None or desired.max_vcpus == actual.max_vcpus):
        limit = actual.max_vcpus or 0
        if change.after > limit:
            raise SpecError("vcpus", f"{change.after} is more than the {limit} vCPUs the running guest can hot-plug")
        plan.add(f"set live vCPUs of {name} to {change.after}", step=Step("set_vcpus", {"count": change.after}))
    elif change.field == "cputune" and change.sub == "emulatorpin":
        plan.add(f"pin emulator of {name} to {change.after}", step=Step("pin_emulator", {"cpuset": change.after}))
    elif change.field in ("title", "description", "metadata"):
        plan.add(
            f"set live {change.field} of {name}",
            step=Step("set_metadata", {"kind": change.field, "value": change.after}),
        )
    elif change.field in ("disks", "interfaces") and change.whole_item:
        _plug(plan, desired, base, change)
    elif change.field == "interfaces" and change.item is not None and change.sub == "link_state":
        merged = overlay(_find_item(actual, change), _find_item(desired, change))
        plan.add(
            f"set link of interfaces[{change.item}] {change.after}",
            step=Step("update_device", {"xml": to_string(merged.to_element())}),
        )
    else:
        return False
    return True


def _pin_threads(plan: Plan, desired: DomainSpec, actual: DomainSpec, kind: str) -> None:
    """Live pins of vCPUs (``vcpupin``) or IOThreads (``iothreadpin``), the unlisted ones back on all CPUs."""
    key, what, op = ("vcpu", "vCPU", "pin_vcpu") if kind == "vcpupin" else ("iothread", "IOThread", "pin_iothread")
    pins = {getattr(p, key): p.cpuset for p in getattr(desired.cputune, kind, None) or []}
    for pin in getattr(actual.cputune, kind, None) or []:
        pins.setdefault(getattr(pin, key), None)  # unpinned again: all host CPUs
    for number, cpuset in sorted(pins.items(), key=lambda kv: kv[0] or 0):
        plan.add(
            f"pin {what} {number} of {plan.name} to {cpuset or 'all CPUs'}",
            step=Step(op, {key: number, "cpuset": cpuset}),
        )


def _plug(plan: Plan, desired: DomainSpec, base: t.Any, change: Change) -> None:
    """Hot-plug or unplug one whole disk or NIC."""
    kind = "disk" if change.field == "disks" else "interface"
    if change.after is None:
        plan.add(
            f"detach {kind} {change.path} from running {plan.name}",
            step=Step("detach", {"xml": _device_xml(base.find("devices"), kind, change.before)}),
        )
    else:
        plan.add(
            f"attach {kind} {change.path} to running {plan.name}",
            step=Step("attach", {"xml": to_string(_find_item(desired, change).to_element())}),
        )


def _find_item(spec: DomainSpec, change: Change) -> t.Any:
    for item in getattr(spec, change.field) or []:
        if item.label() == change.item:
            return item
    raise ValueError(f"no item {change.field}[{change.item}] in the declared domain")


def _device_xml(devices: t.Any, kind: str, before: t.Dict[str, t.Any]) -> str:
    """The device to unplug, without the persistent PCI address and alias: a hot-plugged device
    may sit at another address in the running guest, and libvirt matches by target or MAC."""
    key = before.get("target") if kind == "disk" else before.get("mac")
    for el in devices.findall(kind):
        if kind == "disk":
            found = el.find("target")
            match = found is not None and found.get("dev") == key
        else:
            found = el.find("mac")
            match = found is not None and (found.get("address") or "").lower() == key
        if match:
            for child in el.findall("address") + el.findall("alias"):
                el.remove(child)
            return to_string(el)
    raise ValueError(f"{kind} {key} is not in the current definition")


def plan_live_repair(plan: Plan, defined: DomainSpec, live: DomainSpec, fields: t.Sequence[str]) -> None:
    """The running guest catches up with its definition, for the device lists the task declares (``fields``):
    a disk or NIC the definition has and the guest lacks (a hot-plug that failed, a run that died half way)
    is plugged, one the guest kept after it left the definition is unplugged. Items this plan plugs or
    unplugs already are left to it."""
    planned = {(c.field, c.item) for c in plan.changes if c.whole_item}
    for field, kind in (("disks", "disk"), ("interfaces", "interface")):
        if field not in fields:
            continue
        want = {item.label(): item for item in getattr(defined, field) or []}
        have = {item.label(): item for item in getattr(live, field) or []}
        for label in sorted(set(want) - set(have)):
            if (field, label) not in planned and label:
                plan.add(
                    f"attach {kind} {field}[{label}] to running {plan.name} (its definition has it, the guest not)",
                    Change(field, None, want[label].to_dict(), item=label),
                    step=Step("attach", {"xml": to_string(want[label].to_element())}),
                )
        for label in sorted(set(have) - set(want)):
            if (field, label) not in planned and label:
                plan.add(
                    f"detach {kind} {field}[{label}] from running {plan.name} (left in the guest)",
                    Change(field, have[label].to_dict(), None, item=label),
                    step=Step("detach", {"xml": to_string(have[label].to_element())}),
                )
