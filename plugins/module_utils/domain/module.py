"""Ansible glue of the domain and domain_info modules: options -> spec, checks against the host,
plan, apply, result."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import fnmatch
import typing as t

from .._core.client import LibvirtClient
from .._core.errors import AlreadyExists, MissingLibrary, SpecError
from .._core.module import LibvirtModule, ModuleRun, predicted_missing
from .._core.plan import Plan, over_xml, overlay
from .._core.spec import SECRET_MASK
from .._core.xmlutil import diff_form, parse_xml, to_string
from ..host.client import host_domain_type
from ..placement.client import read_host_load
from ..placement.model import Capacity
from ..recovery.record_client import drop_record, has_record, sync_record
from ..storage.usage_client import read_disks, read_usage
from ..storage.usage_model import storage_ref
from .client import DomainExecutor, running_on
from .cluster_model import ClusterPolicy
from .config_store import passwords_readable
from .device_model import DiskSpec
from .hostdev_client import missing_hostdev
from .hostdev_model import HostdevSpec
from .job_client import read_jobs
from .model import DomainSpec
from .paths_model import allowed_roots, confine_paths
from .plan import DomainActual, DomainRequest, facts, plan_domain, refuse_shared_writers, runtime
from .seen_model import SeenDomains

try:
    import jmespath
except ImportError:
    jmespath = None

SPEC_OPTIONS = tuple(f.name for f in dataclasses.fields(DomainSpec))


def desired_from_params(params: t.Mapping[str, t.Any]) -> DomainSpec:
    """The declared domain: the ``xml`` option parsed first, structured options on top of it."""
    structured = DomainSpec.from_params({k: params.get(k) for k in SPEC_OPTIONS if k != "uuid"})
    merged = over_xml(structured, params.get("xml"), "domain", DomainSpec.from_user_xml)
    # libvirt owns a domain's UUID: one copied from another domain's XML must not be compared.
    return merged if merged.uuid is None else merged.replace(uuid=None)


def _check_references(module: ModuleRun, spec: DomainSpec, executor: DomainExecutor) -> None:
    """Networks, pools and volumes the domain names must exist.

    In check mode a missing one is a warning: an earlier task of the same run may create it (a network
    or a cloned volume), and check mode must not fail where the real run would succeed.
    """
    client = executor.client
    missing: t.List[t.Tuple[SpecError, str, str]] = []  # the error, and the kind and name of what is missing
    for i, nic in enumerate(spec.interfaces or []):
        network = nic.source.network if nic.source else None
        if network and client.network(network) is None:
            reason = f"no libvirt network {network!r} on {client.uri}; define it first or fix the name"
            missing.append((SpecError(f"interfaces[{i}].source.network", reason), "network", network))
    for i, disk in enumerate(spec.disks or []):
        pool_name = disk.source.pool if disk.source else None
        if not pool_name:
            continue
        pool = client.pool(pool_name)
        volume = disk.source.volume if disk.source else None
        if pool is None:
            reason = f"no storage pool {pool_name!r} on {client.uri}"
            missing.append((SpecError(f"disks[{i}].source.pool", reason), "pool", pool_name))
        elif volume and client.volume(pool, volume) is None:
            reason = f"no volume {volume!r} in pool {pool_name!r}; create it first"
            missing.append((SpecError(f"disks[{i}].source.volume", reason), "volume", f"{pool_name}/{volume}"))
    missing += [(err, "hostdev", err.path) for err in _missing_devices(spec, client)]
    if missing and not module.check_mode:
        raise missing[0][0]
    for err, kind, name in missing:
        predicted_missing(module, str(err), kind, name)
    used = spec.host_cpus_used()
    if used:
        count = executor.host_cpus()
        absent = [cpu for cpu in used if cpu >= count]
        if absent:
            raise SpecError("cputune", f"pins to host CPU {absent[0]}, but the host has CPUs 0-{count - 1}")


def _missing_devices(spec: DomainSpec, client: LibvirtClient) -> t.List[SpecError]:
    """Host devices (and SR-IOV VFs of NICs) the domain names that its hypervisor does not have."""
    wanted = [(f"hostdevs[{i}].address", dev) for i, dev in enumerate(spec.hostdevs or [])]
    wanted += [
        (f"interfaces[{i}].source.hostdev", HostdevSpec(type="pci", address=nic.source.hostdev))
        for i, nic in enumerate(spec.interfaces or [])
        if nic.source is not None and nic.source.hostdev
    ]
    found = [(path, missing_hostdev(client, dev)) for path, dev in wanted]
    return [SpecError(path, reason) for path, reason in found if reason]


def run_domain(module: ModuleRun, seen: t.Optional[SeenDomains] = None) -> t.Dict[str, t.Any]:
    """The domain module: declared spec -> plan -> (apply) -> result (``seen``: the domains a converge task's
    earlier steps read while none of them changed anything)."""
    params = module.params
    desired = desired_from_params(params)
    if not desired.name:
        raise SpecError("name", "a domain name is required (name, or <name> in xml)")
    request = DomainRequest(
        state=params["state"],
        autostart=params.get("autostart"),
        recreate=params["recreate"],
        force=params["force"],
        timeout=params["timeout"],
        remove_storage=params["remove_storage"],
        discard=frozenset(params.get("discard") or []),
        **_overcommit(params.get("overcommit")),
    )
    executor = DomainExecutor(module.client(readonly=module.check_mode))
    executor.device_timeout = request.timeout
    if request.state != "absent":
        allowed = allowed_roots("allowed_paths", params.get("allowed_paths") or [])
        confine_paths(desired, executor.pool_dirs, allowed)
    name = desired.name
    known = seen.get(executor.client.uri, name or "") if seen is not None and not module.check_mode else None
    actual = known or executor.read(name)
    _warn_unreadable_passwords(module, desired, actual, executor.client.uri)
    if request.state != "absent":
        desired = _checked(module, desired, actual, executor)
    if request.state in ("running", "restarted", "paused") and runtime(actual.state) in ("absent", "off"):
        uuid = actual.spec.uuid if actual.spec is not None else desired.uuid
        actual.running_elsewhere = running_on(module.peers(), name or "", uuid)
    if request.state == "absent" and request.remove_storage == "owned":
        executor.used_on_peers = _used_on(module.peers())
    load = read_host_load(executor.client) if request.overcommit is not None else None
    replan: t.Dict[str, t.Any] = {"load": load, "create_from": params.get("xml")}
    plan = plan_domain(desired, request, actual, **replan)
    if not module.check_mode:
        plan, actual = _apply(executor, plan, actual, lambda now: plan_domain(desired, request, now, **replan))
        plan.after = _after(executor, plan)
    for warning in plan.warnings + executor.warnings:
        module.warn(warning)
    result = plan.result(diff=False)
    # The step that read the domain for this task confirmed its record, and nothing has changed since.
    if known is None or plan.changed:
        recorded = _record(module, executor.client, name or "", desired, actual, request.state, plan.changed)
        if recorded:
            result["actions"].append(recorded)
            result["changed"] = True
    if seen is not None and not module.check_mode and not result["changed"] and actual.spec is not None:
        seen.keep(executor.client.uri, name or "", actual)
    result["removed_storage"] = executor.removed_storage
    if module.diff:
        result["diff"] = _diff(plan, actual.xml)
    return result


def _apply(
    executor: DomainExecutor, plan: Plan, actual: DomainActual, replan: t.Callable[[DomainActual], Plan]
) -> t.Tuple[Plan, DomainActual]:
    """Apply the plan; when a concurrent run defined the new domain between our read and our define, meet what
    it made as a rerun would (its definition is compared, never replaced blindly)."""
    try:
        executor.apply(plan)
        return plan, actual
    except AlreadyExists:
        if actual.spec is not None:
            raise
    now = executor.read(plan.name)
    plan = replan(now)
    executor.apply(plan)
    return plan, now


def _warn_unreadable_passwords(module: ModuleRun, desired: DomainSpec, actual: DomainActual, uri: str) -> None:
    """Check mode reads over a read-only connection, which libvirt never shows display passwords; only on the
    hypervisor itself does libvirt's stored definition answer instead."""
    declares_password = any(g.password for g in desired.graphics or [])
    if module.check_mode and declares_password and actual.spec and not passwords_readable(uri, desired.name or ""):
        module.warn("check mode cannot read display passwords over its read-only connection; they show as changing")


def _after(executor: DomainExecutor, plan: Plan) -> t.Optional[t.Dict[str, t.Any]]:
    """The domain's facts as the run left it: read again only when it did something (a read is a dozen calls)."""
    if not (plan.steps or plan.actions):
        return plan.before
    again = executor.read(plan.name)
    return facts(again.spec, again.state, again.autostart, again.persistent) if again.spec is not None else None


def _checked(module: ModuleRun, desired: DomainSpec, actual: DomainActual, executor: DomainExecutor) -> DomainSpec:
    """The declaration as it will be applied (a new domain gets the type the host runs), after the checks of
    what it refers to and of the disks it adds."""
    if actual.spec is None and desired.type is None:
        desired = dataclasses.replace(desired, type=host_domain_type(executor.client))
    _check_references(module, desired, executor)
    added = _added_disks(desired, actual)
    if added:
        refuse_shared_writers(desired.name or "", added, read_usage([executor.client, *module.peers()]).disks)
    return desired


def _record(
    module: ModuleRun,
    client: LibvirtClient,
    name: str,
    desired: DomainSpec,
    actual: DomainActual,
    state: str,
    changed: bool,
) -> t.Optional[str]:
    """Keep the recovery record (cluster.record_pool) in step with the domain; check mode predicts it."""
    had = actual.spec.cluster if actual.spec is not None and actual.spec.cluster else ClusterPolicy()
    pool = overlay(had, desired.cluster or ClusterPolicy()).record_pool
    if not pool:
        return None
    if state == "absent":
        if module.check_mode:
            return f"remove the record of {name} from pool {pool}" if has_record(client, pool, name) else None
        return drop_record(client, pool, name)
    if module.check_mode:
        missing = not has_record(client, pool, name)
        return f"record the definition of {name} in pool {pool}" if changed or missing else None
    return sync_record(client, name)


def _added_disks(desired: DomainSpec, actual: DomainActual) -> t.List[DiskSpec]:
    """Declared disks whose storage the domain does not have yet (only they need the cluster-wide check)."""
    have = [storage_ref(d.source) for d in (actual.spec.disks or []) if d.source] if actual.spec else []
    return [d for d in desired.disks or [] if d.source and not any(storage_ref(d.source).same(h) for h in have)]


def _used_on(peers: t.Sequence[LibvirtClient]) -> t.Dict[str, str]:
    """Every storage path (or network disk name) the peers' domains use, with who uses it."""
    used: t.Dict[str, str] = {}
    for disk in [d for peer in peers for d in read_disks(peer)]:
        for layer in disk.layers:
            for key in (layer.path, layer.name):
                if key:
                    used.setdefault(key, f"domain {disk.domain} on {disk.host}")
    return used


def _overcommit(option: t.Optional[t.Dict[str, t.Any]]) -> t.Dict[str, t.Any]:
    if not option:
        return {}
    return {
        "overcommit": Capacity.ratios(option.get("vcpu_ratio"), option.get("memory_ratio")),
        "overcommit_action": option["action"],
    }


def _diff(plan: Plan, before_xml: t.Optional[str]) -> t.List[t.Dict[str, t.Any]]:
    options = plan.diff()
    if before_xml is None:
        options["before"] = {}  # a new domain: nothing was there (not a stopped domain)
    diffs = [options]
    defined = [s.args["xml"] for s in plan.steps if s.op == "define"]
    if defined or (before_xml and any(s.op == "undefine" for s in plan.steps)):
        diffs.append(
            {
                "before_header": f"domain {plan.name} (persistent XML)",
                "after_header": f"domain {plan.name} (persistent XML, planned)",
                # Both sides in one form: quoting, layout and element order never show as changes.
                "before": diff_form(parse_xml(_masked(before_xml))) + "\n" if before_xml else "",
                "after": diff_form(parse_xml(_masked(defined[-1]))) + "\n" if defined else "",
            }
        )
    return diffs


def _masked(xml: str) -> str:
    # Graphics passwords are read with the secure flag for comparison; they never leave in a diff.
    root = parse_xml(xml)
    for graphics in root.iter("graphics"):
        if "passwd" in graphics.attrib:
            graphics.set("passwd", SECRET_MASK)
    return to_string(root)


def run_domain_info(module: LibvirtModule) -> t.Dict[str, t.Any]:
    """The domain_info module: filtered facts of all domains, read-only."""
    params = module.params
    executor = DomainExecutor(module.client(readonly=True))
    names = sorted(d.name() for d in executor.client.call("list domains", executor.conn.listAllDomains, 0))
    pattern = params.get("name")
    wanted_state = params.get("state")
    wanted_meta = params.get("metadata") or {}
    domains = []
    for name in names:
        if pattern and not fnmatch.fnmatchcase(name, pattern):
            continue
        actual = executor.read(name)
        if actual.spec is None and actual.state is None:
            continue  # vanished while listing
        item = facts(actual.spec, actual.state, actual.autostart, actual.persistent)
        if wanted_state and _state_group(actual.state) != wanted_state:
            continue
        if any(str((item.get("metadata") or {}).get(k)) != str(v) for k, v in wanted_meta.items()):
            continue
        if params.get("xml"):
            item["xml"] = _masked(actual.xml or "")
        targets = [d.target for d in (actual.spec.disks or []) if d.target] if actual.spec is not None else []
        item.update(read_jobs(executor.client, name, targets))
        domains.append(item)
    result: t.Dict[str, t.Any] = {"changed": False, "domains": domains}
    query = params.get("query")
    if query:
        if jmespath is None:
            raise MissingLibrary("jmespath", "host that runs this task")
        result["query_result"] = jmespath.search(query, domains)
    return result


def _state_group(state: t.Optional[str]) -> str:
    return {"running": "running", "blocked": "running", "paused": "paused", "pmsuspended": "paused"}.get(
        state or "", "shutoff"
    )
