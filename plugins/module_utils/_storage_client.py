# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.
"""libvirt I/O for storage objects: secrets."""

from __future__ import annotations

import typing as t

from ._client import LibvirtClient, libvirt, libvirt_errors
from ._model.secret import SecretSpec
from ._plan import Plan
from ._storage_plan import SecretActual

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
