# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.
"""libvirt I/O for storage objects: secrets and pools."""

from __future__ import annotations

import typing as t

from ._client import LibvirtClient, libvirt, libvirt_errors, translate
from ._model.pool import PoolSpec
from ._model.secret import SecretSpec
from ._plan import Plan
from ._storage_plan import PoolActual, SecretActual, pool_facts

USAGE_CONSTANTS = {
    "ceph": "VIR_SECRET_USAGE_TYPE_CEPH",
    "iscsi": "VIR_SECRET_USAGE_TYPE_ISCSI",
    "volume": "VIR_SECRET_USAGE_TYPE_VOLUME",
    "tls": "VIR_SECRET_USAGE_TYPE_TLS",
    "vtpm": "VIR_SECRET_USAGE_TYPE_VTPM",
}


class SecretExecutor:
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
                    value = None  # defined without a value yet
        return SecretActual(actual, value)

    def apply(self, plan: Plan, spec: SecretSpec, value: t.Optional[bytes]) -> None:
        for step in plan.steps:
            if step.op == "undefine":
                secret = self.client.secret_by_uuid(step.args["uuid"])
                if secret is not None:
                    self.client.call(f"undefine secret {spec.usage_id!r}", secret.undefine)
            elif step.op == "define":
                self.client.call(
                    f"define secret {spec.usage_id!r}", self.client.conn.secretDefineXML, step.args["xml"], 0
                )
            elif step.op == "set_value":
                secret = self.lookup(spec)
                # The message names the secret only: libvirt's errors never contain the value.
                self.client.call(f"set the value of secret {spec.usage_id!r}", secret.setValue, value, 0)


class PoolExecutor:
    """Reads pools and applies pool plans."""

    def __init__(self, client: LibvirtClient) -> None:
        self.client = client
        self.notes: t.List[str] = []

    def read(self, name: str) -> PoolActual:
        pool = self.client.pool(name)
        if pool is None:
            return PoolActual()
        with libvirt_errors(f"read pool {name!r}"):
            try:
                xml = pool.XMLDesc(libvirt.VIR_STORAGE_XML_INACTIVE)
            except libvirt.libvirtError as err:
                if err.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
                    raise
                xml = pool.XMLDesc(0)  # drivers without a separate inactive definition (test:///)
            active = bool(pool.isActive())
            volumes = sorted(pool.listVolumes()) if active else []
            autostart = bool(pool.autostart())
        return PoolActual(PoolSpec.from_xml(xml, "current pool XML"), xml, active, autostart, volumes)

    def facts(self, name: str) -> t.Optional[t.Dict[str, t.Any]]:
        """Definition, state, capacity figures and volumes of the pool as it is now."""
        actual = self.read(name)
        out = pool_facts(actual.spec, actual.active, actual.autostart)
        if out is None:
            return None
        pool = self.client.pool(name)
        with libvirt_errors(f"read pool {name!r}"):
            _state, capacity, allocation, available = pool.info()
            out.update({"capacity": capacity, "allocation": allocation, "available": available})
            out["volumes"] = [_volume_facts(v) for v in pool.listAllVolumes(0)] if actual.active else []
        return out

    def apply(self, plan: Plan) -> None:
        name = plan.name
        for step in plan.steps:
            if step.op == "define":
                self.client.call(f"define pool {name!r}", self.client.conn.storagePoolDefineXML, step.args["xml"], 0)
                continue
            pool = self.client.pool(name)
            if pool is None:
                continue
            if step.op == "build":
                kind = PoolSpec.from_xml(pool.XMLDesc(0)).type or ""
                self._build(pool, name, kind, bool(step.args["overwrite"]))
            elif step.op == "start":
                self.client.call(f"start pool {name!r}", pool.create, 0)
            elif step.op == "stop":
                self.client.call(f"stop pool {name!r}", pool.destroy)
            elif step.op == "autostart":
                self.client.call(f"set autostart of pool {name!r}", pool.setAutostart, int(step.args["enabled"]))
            elif step.op == "delete_volume":
                vol = self.client.volume(pool, step.args["name"])
                if vol is not None:
                    self.client.call(f"delete volume {step.args['name']!r} of pool {name!r}", vol.delete, 0)
            elif step.op == "delete_storage":
                self.client.call(f"delete the storage of pool {name!r}", pool.delete, 0)
            elif step.op == "undefine":
                self.client.call(f"undefine pool {name!r}", pool.undefine)

    def _build(self, pool: t.Any, name: str, kind: str, overwrite: bool) -> None:
        if kind == "dir":
            # Building a directory pool only makes the directory: nothing to overwrite, and
            # libvirt reads the overwrite flags as a request to format a (missing) device.
            self.client.call(f"build pool {name!r}", pool.build, 0)
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
