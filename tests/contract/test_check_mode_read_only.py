"""Check mode as a user who holds only a read-only connection: every module plans over read-only
connections (a read-write one is never even opened), and none fails for lack of write access."""

from __future__ import annotations

import types
import typing as t
from pathlib import Path

import pytest
from testbed.modules import run_module

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core import client as client_module
from ansible_collections.sharedvirt.kvm.plugins.modules import (
    domain,
    domain_info,
    domains,
    host_info,
    migration,
    network,
    network_info,
    pool,
    pool_info,
    rebalance,
    shared_disk,
    snapshot,
    snapshot_info,
    volume,
    volume_info,
)

URI = "test:///default"
GUEST = {"uri": URI, "name": "svt-ro-vm", "memory": "128MiB", "state": "running"}
VNC = [{"type": "vnc", "password": "s3cret"}]
CASES: list[tuple[types.ModuleType, dict[str, t.Any]]] = [
    (domain, GUEST),
    (domain, dict(GUEST, name="test", graphics=VNC)),  # a password it cannot read back: shown as changing
    (domains, {"uri": URI, "domains": [{"name": "svt-ro-a", "memory": "64MiB"}, {"name": "test", "vcpus": 2}]}),
    (domain_info, {"uri": URI}),
    (host_info, {"uri": URI}),
    (network, {"uri": URI, "name": "svt-ro-net", "ips": [{"address": "10.77.0.1", "prefix": 24}]}),
    (network, {"uri": URI, "name": "default", "state": "inactive", "force": True}),
    (network_info, {"uri": URI}),
    (pool, {"uri": URI, "name": "svt-ro-pool", "type": "dir", "target": {"path": "/svt-ro"}}),
    (pool_info, {"uri": URI}),
    (volume, {"uri": URI, "pool": "default-pool", "name": "svt-ro.qcow2", "format": "qcow2", "capacity": "1GiB"}),
    (volume_info, {"uri": URI}),
    (
        shared_disk,
        {
            "uri": URI,
            "volume": {"pool": "default-pool", "name": "svt-ro.raw"},
            "capacity": "1MiB",
            "target": "vdb",
            "domains": ["test"],
        },
    ),  # fmt: skip
    (snapshot, {"uri": URI, "domain": "test", "name": "svt-ro-snap"}),
    (snapshot_info, {"uri": URI, "domain": "test"}),
    (migration, {"uri": URI, "name": "test", "sources": [URI]}),
    (rebalance, {"hypervisors": [URI, "PEER"], "memory_spread": "1GiB"}),
]


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each connection the module opened was read-only."""
    seen: list[bool] = []
    original = client_module.LibvirtClient.connect.__func__  # type: ignore[attr-defined]

    def recording(cls: t.Any, uri: t.Any = None, readonly: bool = False, **kwargs: t.Any) -> t.Any:
        seen.append(readonly)
        return original(cls, uri, readonly=readonly, **kwargs)

    monkeypatch.setattr(client_module.LibvirtClient, "connect", classmethod(recording))
    return seen


IDS = [f"{m.__name__.rsplit('.', 1)[-1]}-{i}" for i, (m, *_rest) in enumerate(CASES)]


@pytest.mark.parametrize(("module", "params"), CASES, ids=IDS)
def test_check_mode_opens_read_only_connections_only(
    test_conn: t.Any, opened: list[bool], tmp_path: Path, module: types.ModuleType, params: dict[str, t.Any]
) -> None:
    if "PEER" in params.get("hypervisors", []):
        # A second, empty test-driver host for the modules that need two.
        node = tmp_path / "peer.xml"
        node.write_text("<node><cpu><active>4</active></cpu><memory>8388608</memory></node>")
        params = dict(params, hypervisors=[URI, f"test://{node}"])
    result = run_module(module, params, check_mode=True)
    assert not result.get("failed"), result.get("msg")
    assert opened and all(opened), f"read-write connections in check mode: {opened}"
