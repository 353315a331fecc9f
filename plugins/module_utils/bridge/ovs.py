"""Thin Open vSwitch client: reads OVSDB as JSON through ``ovs-vsctl`` and changes it in transactions."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import json
import shutil
import subprocess
import typing as t

from .._core.errors import CollectionError
from .host_model import OvsBridge, OvsPort

TIMEOUT = 10  # seconds ovs-vsctl waits for ovsdb-server


class OvsFailure(CollectionError):
    """ovs-vsctl refused a request."""


def decode(value: t.Any) -> t.Any:
    """An OVSDB JSON value (``["set", [...]]``, ``["map", [...]]``, ``["uuid", "..."]``) as Python data."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        kind, data = value
        if kind == "set":
            return [decode(item) for item in data]
        if kind == "map":
            return {decode(k): decode(v) for k, v in data}
        if kind in ("uuid", "named-uuid"):
            return data
    return value


def _one(value: t.Any) -> t.Any:
    """An optional OVSDB column: an empty set is None."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _many(value: t.Any) -> t.List[t.Any]:
    return value if isinstance(value, list) else [value]


class OvsClient:
    """ovs-vsctl, found on PATH; ``running()`` says whether OVSDB answers."""

    def __init__(self, binary: t.Optional[str] = None) -> None:
        self.binary = binary or shutil.which("ovs-vsctl")

    def _run(self, args: t.Sequence[str], action: str) -> str:
        if self.binary is None:
            raise OvsFailure(f"{action}: ovs-vsctl is not installed (install openvswitch-switch)")
        done = subprocess.run([self.binary, f"--timeout={TIMEOUT}", *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise OvsFailure(f"{action}: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def running(self) -> bool:
        if self.binary is None:
            return False
        try:
            self._run(["show"], "connect to Open vSwitch")
        except OvsFailure:
            return False
        return True

    def table(self, name: str, columns: t.Sequence[str]) -> t.List[t.Dict[str, t.Any]]:
        out = self._run(
            ["--format=json", "--data=json", f"--columns={','.join(columns)}", "list", name], f"read OVS {name} table"
        )
        doc = json.loads(out)
        return [dict(zip(doc["headings"], (decode(v) for v in row))) for row in doc["data"]]

    def bridges(self) -> t.Dict[str, OvsBridge]:
        ifaces = {row["_uuid"]: row for row in self.table("Interface", ("_uuid", "name", "external_ids", "mtu"))}
        ports = {row["_uuid"]: row for row in self.table("Port", ("_uuid", "name", "tag", "trunks", "interfaces"))}
        out = {}
        for row in self.table("Bridge", ("name", "datapath_type", "stp_enable", "ports")):
            bridge = OvsBridge(row["name"], datapath_type=row["datapath_type"] or "system", stp=bool(row["stp_enable"]))
            for ref in _many(row["ports"]):
                port = ports.get(ref)
                if port is None or port["name"] == bridge.name:
                    if port is not None:
                        own = [ifaces[i] for i in _many(port["interfaces"]) if i in ifaces]
                        bridge.mtu = _one(own[0]["mtu"]) if own else None
                    continue  # the bridge's own internal port is the bridge itself
                external = [ifaces[i]["external_ids"] for i in _many(port["interfaces"]) if i in ifaces]
                bridge.ports[port["name"]] = OvsPort(
                    port["name"],
                    tag=_one(port["tag"]),
                    trunks=sorted(_many(port["trunks"])),
                    guest=any("vm-id" in ids or "attached-mac" in ids for ids in external),
                )
            out[bridge.name] = bridge
        return out

    def transact(self, commands: t.Sequence[t.Sequence[str]], action: str) -> None:
        """Run ``commands`` as one OVSDB transaction (all or nothing)."""
        args: t.List[str] = []
        for command in commands:
            args += ["--", *command]
        self._run(args, action)


def port_settings(tag: t.Optional[int], trunks: t.Optional[t.Sequence[int]]) -> t.List[str]:
    """``column=value`` settings of a Port for an access tag or a trunk list."""
    out = []
    if tag is not None:
        out.append(f"tag={tag}")
    if trunks:
        out.append(f"trunks={','.join(str(v) for v in trunks)}")
    return out
