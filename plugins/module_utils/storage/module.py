"""Ansible glue of the storage modules: secret, pool, pool_info, volume."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import typing as t

from .._core.client import libvirt, still_there
from .._core.errors import AlreadyExists, CollectionError, ConflictError, SpecError
from .._core.module import Batch, LibvirtModule, ModuleRun, predicted_missing
from .._core.plan import Plan, over_xml
from .client import PoolExecutor, SecretExecutor, VolumeExecutor, file_sha256, inspect_image
from .import_plan import foreign_problems
from .plan import (
    VolumeActual,
    VolumeRequest,
    added_capacity,
    image_problems,
    plan_volume,
    thin_refusal,
    volume_facts,
)
from .pool_model import PoolSpec
from .pool_plan import PoolRequest, plan_pool, pool_ref
from .secret_model import SecretSpec
from .secret_plan import plan_secret
from .tier_client import host_tiers
from .tier_model import plan_tier
from .usage_client import UsageReader, read_usage
from .usage_model import pool_users
from .volume_args import VOLUME_ITEM_SPEC
from .volume_model import VolumeSpec


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
    executor = SecretExecutor(module.client(readonly=module.check_mode))
    actual = executor.read(desired)
    if module.check_mode and value is not None and actual.spec and not actual.spec.private and actual.value is None:
        module.warn("check mode cannot read the secret's value over its read-only connection; it shows as changing")
    if params["state"] == "absent" and actual.spec is not None:
        actual.users = executor.users(actual.spec)
    plan = plan_secret(desired, params["state"], actual, value, params["replace_value"], params["force"])
    if not module.check_mode:
        executor.apply(plan)
        again = executor.read(desired)
        plan.after = None if again.spec is None else again.spec.to_dict()
    return plan.result(diff=module.diff)


def run_pool(module: ModuleRun) -> t.Dict[str, t.Any]:
    """The pool module."""
    params = module.params
    options = PoolSpec.from_params({k: params.get(k) for k in ("name", "type", "source", "target")})
    desired = over_xml(options, params.get("xml"), "pool")
    request = PoolRequest(
        state=params["state"],
        autostart=params.get("autostart"),
        build=params["build"],
        confirm=params.get("confirm"),
        purge=params["purge"],
        purge_volumes=params.get("purge_volumes") or [],
        force=params["force"],
    )
    executor = PoolExecutor(module.client(readonly=module.check_mode))
    request.host = executor.client.uri
    actual = executor.read(desired.name or "")
    if actual.spec is not None and request.state in ("inactive", "absent"):
        # Who a stop cuts off (here) and whose data a purge deletes (anywhere).
        disks = read_usage([executor.client, *module.peers()]).disks
        actual.users = pool_users(pool_ref(actual.spec), disks)
    plan = plan_pool(desired, request, actual)
    tier = "" if request.state == "absent" else params.get("tier")
    plan_tier(plan, desired.name or "", tier, host_tiers(executor.client).get(desired.name or ""))
    rescan = None
    if not module.check_mode:
        executor.apply(plan)
        rescan = _rescan(executor, desired.name or "") if params.get("refresh") else None
        plan.after = executor.facts(desired.name or "")
    for note in executor.notes:
        module.warn(note)
    result = plan.result(diff=module.diff)
    if rescan is not None:
        result["rescan"] = rescan
    return result


def _rescan(executor: PoolExecutor, name: str) -> t.Optional[t.Dict[str, t.List[str]]]:
    """Rescan an active pool: the volumes it lists now and did not before (another hypervisor made them, or a
    tool beside libvirt), and those it no longer lists."""
    before = executor.read(name)
    if not before.active:
        return None
    pool = executor.client.pool(name)
    executor.client.storage(name, f"refresh pool {name!r}", pool.refresh, 0)
    after = executor.client.storage(name, f"list the volumes of pool {name!r}", pool.listVolumes)
    return {"found": sorted(set(after) - set(before.volumes)), "gone": sorted(set(before.volumes) - set(after))}


def run_pool_info(module: LibvirtModule) -> t.Dict[str, t.Any]:
    """The pool_info module: facts of every pool (or one)."""
    executor = PoolExecutor(module.client(readonly=True))
    conn = executor.client.conn
    names = sorted(p.name() for p in executor.client.call("list pools", conn.listAllStoragePools, 0))
    wanted = module.params.get("name")
    pools = [executor.facts(n) for n in names if not wanted or n == wanted]
    return {"changed": False, "pools": [p for p in pools if p is not None]}


def _volume_names(executor: VolumeExecutor, pool_name: str, named: bool) -> t.List[str]:
    """The volumes of a pool; none of one that another run stopped or removed since the listing, unless the task
    named that pool."""
    try:
        return sorted(executor.client.call(f"list volumes of pool {pool_name!r}", executor.pool(pool_name).listVolumes))
    except CollectionError:
        if named or executor.pool_ready(pool_name):
            raise
        return []


def run_volume(module: ModuleRun, usage: t.Optional[UsageReader] = None) -> t.Dict[str, t.Any]:
    """The volume module (``usage``: the reader a bulk or converge task shares between its items or steps)."""
    usage = usage or UsageReader()
    params = module.params
    pool_name = params["pool"]
    desired = VolumeSpec.from_params({k: params.get(k) for k in ("name", "format", "capacity")})
    executor = VolumeExecutor(module.client(readonly=module.check_mode))
    if params.get("upload") and params["state"] == "present" and not module.check_mode:
        executor.refresh(pool_name)  # an earlier, killed upload may have left the volume's file unannounced
    # Users on every hypervisor that sees the pool: a deletion here must not pull a disk from under them.
    clients = [executor.client, *module.peers()]
    pool_there = _pool_there(module, executor, pool_name)
    actual = executor.read(pool_name, desired.name or "", usage.read(clients)) if pool_there else VolumeActual()
    request = VolumeRequest(
        pool=pool_name,
        state=params["state"],
        host=executor.client.uri,
        allocation=params["allocation"],
        allow_shrink=params["allow_shrink"],
        wipe=params.get("wipe"),
        flatten=params["flatten"],
    )
    clone = params.get("clone_from")
    if clone and pool_there and actual.spec is None and request.state == "present":
        request.clone = executor.clone_source(clone.get("pool") or pool_name, clone["name"], clone["mode"])
    with contextlib.ExitStack() as scratch:
        upload = params.get("upload")
        if upload and request.state == "present":
            desired = _prepare_upload(executor, desired, upload, actual, request, scratch)
        return _apply_volume(module, executor, desired, request, actual, clients, usage)


_VOLUMES = Batch("volumes", VOLUME_ITEM_SPEC)


def run_volumes(module: ModuleRun, usage: t.Optional[UsageReader] = None) -> t.Dict[str, t.Any]:
    """The volumes module: every item as the volume module runs it, with one read of who uses what while
    nothing changes (``usage``: the reader a converge task shares between its steps)."""
    shared = usage or UsageReader()
    return _VOLUMES.run(module, lambda item: run_volume(item, shared))


def _apply_volume(
    module: ModuleRun,
    executor: VolumeExecutor,
    desired: VolumeSpec,
    request: VolumeRequest,
    actual: VolumeActual,
    clients: t.List[t.Any],
    usage: UsageReader,
) -> t.Dict[str, t.Any]:
    params = module.params
    pool_name = params["pool"]
    plan = plan_volume(desired, request, actual)
    _check_thin_provisioning(module, executor, plan)
    download = params.get("download")
    if download and request.state == "present" and actual.spec is not None:
        dest = download["dest"]
        if not os.path.exists(dest) or file_sha256(dest) != executor.content_sha256(pool_name, desired.name or ""):
            plan.add(f"download volume {pool_name}/{desired.name} to {dest}")
    if not module.check_mode:
        try:
            executor.apply(plan)
        except AlreadyExists:
            # A concurrent run created the volume between our read and our create: read it and plan again
            # (what it made is compared, never deleted).
            usage.forget()
            actual = executor.read(pool_name, desired.name or "", usage.read(clients))
            request.clone = None
            plan = plan_volume(desired, request, actual)
            executor.apply(plan)
        if download and any(a.startswith("download volume") for a in plan.actions):
            executor.download(pool_name, desired.name or "", download["dest"], int(download["mode"], 8))
        if plan.actions:
            usage.forget()
        again = executor.read(pool_name, desired.name or "", usage.read(clients))
        plan.after = volume_facts(again.spec, pool_name, again.users)
    return plan.result(diff=module.diff)


def _pool_there(module: ModuleRun, executor: VolumeExecutor, pool_name: str) -> bool:
    """Whether the pool exists and runs. In check mode a missing or stopped one is a warning: an earlier task of
    the same run may create or start it, and check mode must not fail where the real run would succeed. Its
    volumes are then predicted as missing. A real run fails on it, naming the pool."""
    if not module.check_mode or executor.pool_ready(pool_name):
        return True
    problem = f"no active storage pool {pool_name!r} on {executor.client.uri}; its volumes show as missing"
    predicted_missing(module, problem, "pool", pool_name, "create or start")
    return False


def _check_thin_provisioning(module: ModuleRun, executor: VolumeExecutor, plan: Plan) -> None:
    """The overcommit option: a new or grown volume may not commit the pool beyond the ratio (or warns)."""
    limit = module.params.get("overcommit")
    adding = added_capacity(plan)
    pool_name = module.params["pool"]
    if not limit or not adding or not executor.pool_ready(pool_name):  # not ready: check mode, and warned
        return
    capacity, committed = executor.commitment(pool_name)
    refusal = thin_refusal(pool_name, capacity, committed, adding, float(limit["ratio"]))
    if refusal and limit["action"] == "fail":
        raise ConflictError(refusal)
    if refusal:
        module.warn(refusal)


def _prepare_upload(
    executor: VolumeExecutor,
    desired: VolumeSpec,
    upload: t.Mapping[str, t.Any],
    actual: VolumeActual,
    request: VolumeRequest,
    scratch: contextlib.ExitStack,
) -> VolumeSpec:
    src = upload["src"]
    if desired.format is None:
        raise SpecError("format", "is required with upload: the image's format is declared, never guessed")
    wanted = str(upload["checksum"]).split(":", 1)[-1].lower()
    if not os.path.isfile(src):
        raise SpecError("upload.src", f"{src} is not a file on the host that runs this task")
    if file_sha256(src) != wanted:
        raise SpecError("upload.checksum", f"the SHA-256 of {src} is not {wanted}; the file is not the expected image")
    pool_path = PoolSpec.from_xml(executor.pool(request.pool).XMLDesc(0)).target
    source_format = upload.get("source_format") or desired.format
    info = inspect_image(src)
    problems = image_problems(
        info, source_format, (pool_path.path if pool_path else "") or "", int(upload["max_virtual_size"])
    )
    problems += foreign_problems(info, src) if source_format != desired.format else []
    if problems:
        raise ConflictError(f"refusing to upload {src} into {request.pool}/{desired.name}: {'; '.join(problems)}")
    formats = (source_format, desired.format)
    replace = bool(upload.get("replace"))
    request.upload = executor.upload_for(request.pool, desired.name or "", src, wanted, formats, replace,
                                         "upload.replace", scratch)  # fmt: skip
    if request.upload is None or actual.spec is not None:
        return desired
    return desired.replace(capacity=desired.capacity or os.path.getsize(request.upload.src))


def run_volume_info(module: LibvirtModule) -> t.Dict[str, t.Any]:
    """The volume_info module: volumes of one pool or of every active pool, with their users."""
    executor = VolumeExecutor(module.client(readonly=True))
    conn = executor.client.conn
    wanted_pool = module.params.get("pool")
    wanted_name = module.params.get("name")
    if wanted_pool:
        executor.pool(wanted_pool)  # a clear error for a missing or inactive pool
        pools = [wanted_pool]
    else:
        listed = executor.client.call(
            "list pools", conn.listAllStoragePools, libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE
        )
        pools = sorted(still_there(listed, lambda p: p.name()))
    volumes = []
    usage = read_usage([executor.client])
    for pool_name in pools:
        for name in _volume_names(executor, pool_name, named=bool(wanted_pool)):
            if wanted_name and name != wanted_name:
                continue
            actual = executor.read(pool_name, name, usage)
            facts = volume_facts(actual.spec, pool_name, actual.users)
            if facts is not None:
                facts["chain_depth"] = executor.chain_depth(facts.get("path"))
                volumes.append(facts)
    return {"changed": False, "volumes": volumes}
