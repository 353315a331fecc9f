"""libvirt I/O for storage objects: secrets, pools and volumes."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import subprocess
import time
import typing as t

from .._core.client import LibvirtClient, inactive_xml, libvirt, libvirt_errors, still_there, translate
from .._core.errors import AlreadyExists, ConflictError, LibvirtError, NotFoundError, UnsafeOperation, WaitTimeout
from .._core.executor import Executor
from .._core.plan import Plan, Step
from .._core.xmlutil import parse_xml
from ..host.model import uri_is_local
from .file_clone import clone_by_copy
from .plan import CloneSource, Upload, VolumeActual
from .pool_model import PoolSpec
from .pool_plan import PoolActual, pool_facts
from .secret_model import SecretSpec
from .secret_plan import SecretActual
from .tier_client import host_tiers, set_tier
from .transfer import convert_image, download, upload_verified
from .usage_client import read_usage
from .usage_model import Usage, references_secret
from .volume_model import VolumeSpec

USAGE_CONSTANTS = {
    "ceph": "VIR_SECRET_USAGE_TYPE_CEPH",
    "iscsi": "VIR_SECRET_USAGE_TYPE_ISCSI",
    "volume": "VIR_SECRET_USAGE_TYPE_VOLUME",
    "tls": "VIR_SECRET_USAGE_TYPE_TLS",
    "vtpm": "VIR_SECRET_USAGE_TYPE_VTPM",
}


# Where libvirt keeps the values of persistent secrets (base64), readable by root on the hypervisor.
SECRET_STORE = "/etc/libvirt/secrets"
# A block pull copies the whole backing chain; bounded so a stuck job fails the task instead of hanging it.
BLOCK_JOB_TIMEOUT = 1800


class SecretExecutor(Executor):
    """Reads a secret (and the value of a non-private one) and applies secret plans."""

    def __init__(self, client: LibvirtClient) -> None:
        self.client = client

    def lookup(self, spec: SecretSpec) -> t.Any:
        if spec.uuid:
            return self.client.secret_by_uuid(spec.uuid)
        usage = int(getattr(libvirt, USAGE_CONSTANTS[spec.usage_type or "ceph"]))
        return self.client.secret_by_usage(usage, spec.usage_id or "")

    def read(self, spec: SecretSpec) -> SecretActual:
        secret = self.lookup(spec)
        if secret is None:
            return SecretActual()
        with libvirt_errors(f"read secret {spec.usage_id!r}"):
            actual = SecretSpec.from_xml(secret.XMLDesc(0))
            value = None
            if not actual.private:
                try:
                    value = secret.value(0)
                except libvirt.libvirtError:
                    # No value yet - or a read-only connection (check mode), which libvirt never shows values:
                    # on this machine, libvirt's own store of a persistent secret answers instead.
                    value = self._stored_value(actual) if self.client.readonly else None
        return SecretActual(actual, value)

    def _stored_value(self, spec: SecretSpec) -> t.Optional[bytes]:
        path = os.path.join(SECRET_STORE, f"{spec.uuid}.base64")
        if not uri_is_local(self.client.uri) or not spec.uuid or not os.path.isfile(path):
            return None
        with open(path, "rb") as handle:
            try:
                return base64.b64decode(handle.read().strip(), validate=True)
            except (binascii.Error, ValueError):
                return None  # a format this code does not know (an encrypted store): the value stays unknown

    def users(self, spec: SecretSpec) -> t.List[str]:
        """The pools and domains whose definitions refer to the secret."""
        found = []
        conn = self.client.conn
        with libvirt_errors(f"list the pools and domains of {self.client.uri}"):
            for name, xml in still_there(conn.listAllStoragePools(0), lambda p: (p.name(), p.XMLDesc(0))):
                if references_secret(parse_xml(xml), spec.uuid, spec.usage_id):
                    found.append(f"pool {name}")
            for name, xml in still_there(conn.listAllDomains(0), lambda d: (d.name(), d.XMLDesc(0))):
                if references_secret(parse_xml(xml), spec.uuid, spec.usage_id):
                    found.append(f"domain {name}")
        return found

    def _step_undefine(self, plan: Plan, step: Step) -> None:
        secret = self.client.secret_by_uuid(step.args["uuid"])
        if secret is not None:
            self.client.call(f"undefine secret {plan.name!r}", secret.undefine)

    def _step_define(self, plan: Plan, step: Step) -> None:
        self.client.call(f"define secret {plan.name!r}", self.client.conn.secretDefineXML, step.args["xml"], 0)

    def _step_set_value(self, plan: Plan, step: Step) -> None:
        where = plan.locator
        secret = self.lookup(
            SecretSpec(usage_type=where["usage_type"], usage_id=where["usage_id"], uuid=where["uuid"] or None)
        )
        # The message names the secret only: libvirt's errors never contain the value.
        self.client.call(f"set the value of secret {plan.name!r}", secret.setValue, step.args["value"], 0)


class PoolExecutor(Executor):
    """Reads pools and applies pool plans."""

    def __init__(self, client: LibvirtClient) -> None:
        self.client = client
        self.notes: t.List[str] = []

    def read(self, name: str) -> PoolActual:
        pool = self.client.pool(name)
        if pool is None:
            return PoolActual()
        with libvirt_errors(f"read pool {name!r}"):
            xml = inactive_xml(pool, libvirt.VIR_STORAGE_XML_INACTIVE)
            active = bool(pool.isActive())
            autostart = bool(pool.autostart())
        volumes = (
            sorted(self.client.storage(name, f"list the volumes of pool {name!r}", pool.listVolumes)) if active else []
        )
        return PoolActual(PoolSpec.from_xml(xml, "current pool XML"), xml, active, autostart, volumes)

    def facts(self, name: str) -> t.Optional[t.Dict[str, t.Any]]:
        """Definition, state, capacity figures and volumes of the pool as it is now."""
        actual = self.read(name)
        out = pool_facts(actual.spec, actual.active, actual.autostart)
        if out is None:
            return None
        pool = self.client.pool(name)
        _state, capacity, allocation, available = self.client.storage(name, f"read pool {name!r}", pool.info)
        out.update({"capacity": capacity, "allocation": allocation, "available": available})
        volumes = []
        if actual.active:
            listed = self.client.storage(name, f"list the volumes of pool {name!r}", pool.listAllVolumes, 0)
            volumes = [_volume_facts(v) for v in listed]
        out["volumes"] = sorted(volumes, key=lambda v: v["name"])
        out["tier"] = host_tiers(self.client).get(name)
        # Thin provisioning: what the volumes may grow to, against what the pool holds.
        out["committed"] = sum(v["capacity"] for v in volumes)
        out["committed_ratio"] = round(out["committed"] / capacity, 3) if capacity else None
        return out

    def _pool(self, plan: Plan) -> t.Any:
        return self.client.call(f"look up pool {plan.name!r}", self.client.conn.storagePoolLookupByName, plan.name)

    def _step_tier(self, plan: Plan, step: Step) -> None:
        set_tier(self.client, step.args["pool"], step.args["tier"])

    def _step_define(self, plan: Plan, step: Step) -> None:
        self.client.call(f"define pool {plan.name!r}", self.client.conn.storagePoolDefineXML, step.args["xml"], 0)

    def _step_build(self, plan: Plan, step: Step) -> None:
        pool = self._pool(plan)
        kind = PoolSpec.from_xml(pool.XMLDesc(0)).type or ""
        self._build(pool, plan.name, kind, bool(step.args["overwrite"]))

    def _step_start(self, plan: Plan, step: Step) -> None:
        self.client.storage(plan.name, f"start pool {plan.name!r}", self._pool(plan).create, 0)

    def _step_stop(self, plan: Plan, step: Step) -> None:
        self.client.call(f"stop pool {plan.name!r}", self._pool(plan).destroy)

    def _step_autostart(self, plan: Plan, step: Step) -> None:
        self.client.call(
            f"set autostart of pool {plan.name!r}", self._pool(plan).setAutostart, int(step.args["enabled"])
        )

    def _step_delete_volume(self, plan: Plan, step: Step) -> None:
        vol = self.client.volume(self._pool(plan), step.args["name"])
        if vol is not None:
            self.client.call(f"delete volume {step.args['name']!r} of pool {plan.name!r}", vol.delete, 0)

    def _step_delete_storage(self, plan: Plan, step: Step) -> None:
        self.client.call(f"delete the storage of pool {plan.name!r}", self._pool(plan).delete, 0)

    def _step_undefine(self, plan: Plan, step: Step) -> None:
        self.client.call(f"undefine pool {plan.name!r}", self._pool(plan).undefine)

    def _build(self, pool: t.Any, name: str, kind: str, overwrite: bool) -> None:
        if kind in ("dir", "netfs"):
            # Building these pools only makes the target directory: nothing to overwrite, and
            # libvirt reads the overwrite flags as a request to format a (missing) device.
            self.client.storage(name, f"build pool {name!r}", pool.build, 0)
            return
        flag = "VIR_STORAGE_POOL_BUILD_OVERWRITE" if overwrite else "VIR_STORAGE_POOL_BUILD_NO_OVERWRITE"
        try:
            pool.build(int(getattr(libvirt, flag)))
        except libvirt.libvirtError as err:
            # NO_OVERWRITE refuses a device that already holds a file system or partition table:
            # that storage is used as it is, never formatted.
            if not overwrite and err.get_error_code() == libvirt.VIR_ERR_STORAGE_POOL_BUILT:
                self.notes.append(f"pool {name}: storage already prepared, not formatted ({err.get_error_message()})")
                return
            raise translate(err, f"build pool {name!r}") from None


def _volume_facts(vol: t.Any) -> t.Dict[str, t.Any]:
    _kind, capacity, allocation = vol.info()
    return {"name": vol.name(), "path": vol.path(), "capacity": capacity, "allocation": allocation}


class VolumeExecutor(Executor):
    """Reads volumes (and who uses them) and applies volume plans; streams uploads and downloads."""

    def __init__(self, client: LibvirtClient) -> None:
        self.client = client

    def chain_depth(self, path: t.Optional[str]) -> int:
        """How many images lie below the volume at ``path`` (its backing chain, followed through the pools)."""
        depth, seen = 0, set()
        while path and path not in seen:
            seen.add(path)
            try:
                vol = self.client.conn.storageVolLookupByPath(path)
            except libvirt.libvirtError:
                return depth  # a backing file outside the pools ends the walk
            path = VolumeSpec.from_xml(vol.XMLDesc(0)).backing
            depth += 1 if path else 0
        return depth

    def commitment(self, name: str) -> t.Tuple[int, int]:
        """The pool's capacity and the virtual sizes of its volumes added up (what thin volumes may grow to)."""
        pool = self.pool(name)
        _state, capacity, _allocation, _available = self.client.storage(name, f"read pool {name!r}", pool.info)
        volumes = self.client.storage(name, f"list the volumes of pool {name!r}", pool.listAllVolumes, 0)
        return int(capacity), sum(int(vol.info()[1]) for vol in volumes)

    def pool(self, name: str) -> t.Any:
        pool = self.client.pool(name)
        if pool is None:
            raise NotFoundError(f"look up storage pool {name!r}", f"no storage pool {name!r} on {self.client.uri}")
        if not pool.isActive():
            raise ConflictError(f"storage pool {name!r} is not active; start it (sharedvirt.kvm.pool state=active)")
        return pool

    def pool_ready(self, name: str) -> bool:
        """Whether the pool exists and is active."""
        pool = self.client.pool(name)
        return pool is not None and bool(pool.isActive())

    def volume(self, pool_name: str, name: str) -> t.Any:
        return self.client.volume(self.pool(pool_name), name)

    def read(self, pool_name: str, name: str, usage: t.Optional[Usage] = None) -> VolumeActual:
        """The volume and its users, from ``usage`` (every hypervisor read) or this hypervisor alone."""
        vol = self.volume(pool_name, name)
        if vol is None:
            return VolumeActual()
        with libvirt_errors(f"read volume {pool_name}/{name}"):
            spec = VolumeSpec.from_xml(vol.XMLDesc(0))
        usage = usage if usage is not None else read_usage([self.client])
        return VolumeActual(spec, usage.users_of(pool_name, name, spec.path or ""))

    def clone_source(self, pool_name: str, name: str, mode: str) -> CloneSource:
        vol = self.volume(pool_name, name)
        if vol is None:
            raise NotFoundError(f"look up template {pool_name}/{name}", f"no volume {name!r} in pool {pool_name!r}")
        spec = VolumeSpec.from_xml(vol.XMLDesc(0))
        return CloneSource(pool_name, name, spec.path or "", spec.format or "raw", spec.capacity or 0, mode)

    def _step_create(self, plan: Plan, step: Step) -> None:
        pool_name, name = plan.locator["pool"], plan.locator["name"]
        flags = (
            int(getattr(libvirt, "VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA", 0)) if step.args.get("preallocate") else 0
        )
        self._create(_action(plan, step), pool_name, name, self.pool(pool_name).createXML, step.args["xml"], flags)

    def _step_clone(self, plan: Plan, step: Step) -> None:
        pool_name, name = plan.locator["pool"], plan.locator["name"]
        template = self.volume(step.args["pool"], step.args["name"])
        pool, action = self.pool(pool_name), _action(plan, step)
        if not clone_by_copy(self.client, pool, template, step.args["xml"], action, lambda: self.refresh(pool_name)):
            self._create(action, pool_name, name, pool.createXMLFrom, step.args["xml"], template, 0)

    def _step_upload(self, plan: Plan, step: Step) -> None:
        """Into a temporary volume first; it becomes the volume only once its content has the checksum."""
        upload_verified(self.client, self.pool(plan.locator["pool"]), plan.locator["name"], step.args)

    def _step_resize(self, plan: Plan, step: Step) -> None:
        flags = int(getattr(libvirt, "VIR_STORAGE_VOL_RESIZE_SHRINK", 0)) if step.args["shrink"] else 0
        self.client.storage(
            plan.locator["pool"], _action(plan, step), self._volume(plan).resize, int(step.args["bytes"]), flags
        )

    def _step_block_resize(self, plan: Plan, step: Step) -> None:
        action = _action(plan, step)
        dom = self.client.call(action, self.client.conn.lookupByName, step.args["domain"])
        resize = dom.blockResize
        self.client.call(
            action, resize, step.args["target"], int(step.args["bytes"]), libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES
        )

    def _step_wipe(self, plan: Plan, step: Step) -> None:
        algorithm = int(getattr(libvirt, f"VIR_STORAGE_VOL_WIPE_ALG_{step.args['algorithm'].upper()}"))
        self.client.storage(plan.locator["pool"], _action(plan, step), self._volume(plan).wipePattern, algorithm, 0)

    def _step_delete(self, plan: Plan, step: Step) -> None:
        self.client.storage(plan.locator["pool"], _action(plan, step), self._volume(plan).delete, 0)

    def _step_block_pull(self, plan: Plan, step: Step) -> None:
        """Pull the backing chain's data into the running guest's disk; wait for the job, bounded."""
        action = _action(plan, step)
        dom = self.client.call(action, self.client.conn.lookupByName, step.args["domain"])
        target = step.args["target"]
        self.client.call(action, dom.blockPull, target, 0, 0)
        deadline = time.monotonic() + BLOCK_JOB_TIMEOUT
        while self.client.call(action, dom.blockJobInfo, target, 0):
            if time.monotonic() > deadline:
                self.client.call(f"abort the block pull of {target}", dom.blockJobAbort, target, 0)
                raise WaitTimeout(f"{action}: the block pull of {target} did not finish within {BLOCK_JOB_TIMEOUT} s")
            time.sleep(0.2)
        self._refresh(plan)

    def _step_rebase(self, plan: Plan, step: Step) -> None:
        """Copy the backing file's data into the image and drop the backing file (the volume is not in use)."""
        if not uri_is_local(self.client.uri):
            raise ConflictError(
                f"{_action(plan, step)}: an offline flatten runs qemu-img on the hypervisor; run the task on it "
                f"(a local uri) instead of through {self.client.uri}"
            )
        command = ["qemu-img", "rebase", "-f", step.args["format"], "-b", "", step.args["path"]]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ConflictError(f"{_action(plan, step)}: qemu-img rebase failed: {done.stderr.strip()}")
        self._refresh(plan)

    def _refresh(self, plan: Plan) -> None:
        # libvirt caches a volume's backing store until its pool is refreshed.
        pool = self.pool(plan.locator["pool"])
        self.client.storage(plan.locator["pool"], f"refresh pool {plan.locator['pool']!r}", pool.refresh, 0)

    def _volume(self, plan: Plan) -> t.Any:
        return self.volume(plan.locator["pool"], plan.locator["name"])

    def _create(self, action: str, pool_name: str, name: str, fn: t.Callable[..., t.Any], *args: t.Any) -> None:
        try:
            self.client.storage(pool_name, action, fn, *args)
        except LibvirtError as failure:
            if isinstance(failure, AlreadyExists):
                raise  # another run made it: never ours to delete; the caller re-plans
            # A failed create (no space left...) may leave a partial file behind: remove it, so
            # that the next run starts clean instead of adopting half a volume.
            leftover = self.client.volume(self.pool(pool_name), name)
            if leftover is not None:
                with contextlib.suppress(libvirt.libvirtError):
                    leftover.delete(0)
            raise

    def refresh(self, pool_name: str) -> None:
        """Rescan the pool, so that files another run left (a killed upload's) are volumes here too. libvirt
        refuses while a stream of a run that just died is still being torn down: wait for that, bounded."""
        pool = self.pool(pool_name)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.client.storage(pool_name, f"refresh pool {pool_name!r}", pool.refresh, 0)
                return
            except LibvirtError as err:
                if "asynchronous jobs" not in err.libvirt_message or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def upload_for(
        self, pool: str, name: str, image: str, digest: str, formats: t.Tuple[str, str], replace: bool,
        consent: str, scratch: contextlib.ExitStack, shown: str = "",
    ) -> t.Optional[Upload]:  # fmt: skip
        """The checked ``image`` (``formats``: its own, the volume's) as an upload into ``pool``/``name``: converted
        first when they differ (in check mode too - the volume is compared with the result), None when the volume
        holds that content already; other content needs the ``consent`` option."""
        if formats[0] != formats[1]:
            shown = shown or f"{image} ({formats[0]} converted to {formats[1]})"
            image = convert_image(image, formats[0], formats[1], scratch)
            digest = file_sha256(image)
        if self.volume(pool, name) is None:
            return Upload(image, digest, shown=shown)
        if self.content_sha256(pool, name) == digest:
            return None
        if not replace:
            raise UnsafeOperation(
                f"volume {pool}/{name} exists with other content; set {consent}=true to overwrite it", consent=consent
            )
        return Upload(image, digest, replace=True, shown=shown)

    def content_sha256(self, pool_name: str, name: str) -> t.Optional[str]:
        """SHA-256 of the volume's content: read from the file itself where this machine holds it (a read-only
        connection may not stream it), else streamed; None when neither is possible (check mode, remote)."""
        vol = self.volume(pool_name, name)
        path = vol.path()
        if uri_is_local(self.client.uri) and os.path.isfile(path):
            return file_sha256(path)
        if self.client.readonly:
            return None
        return self.download(pool_name, name, None)

    def download(self, pool_name: str, name: str, dest: t.Optional[str], mode: int = 0o600) -> str:
        """SHA-256 of the volume's content; written to ``dest`` (created with ``mode``) as well when given."""
        vol = self.volume(pool_name, name)
        action = f"download volume {pool_name}/{name}"
        return str(
            self.client.storage(pool_name, action, download, self.client, vol, f"{pool_name}/{name}", dest, mode)
        )


def _action(plan: Plan, step: Step) -> str:
    return f"{step.op.replace('_', ' ')} volume {plan.name}"


def inspect_image(path: str) -> t.Dict[str, t.Any]:
    """qemu-img's view of an image file: format, virtual size, backing file."""
    done = subprocess.run(["qemu-img", "info", "--output=json", path], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ConflictError(f"cannot read image {path}: {done.stderr.strip()}")
    return t.cast(t.Dict[str, t.Any], json.loads(done.stdout))


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
