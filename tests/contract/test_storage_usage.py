"""Reading what uses storage while other runs start and stop pools (libvirt's test:///default driver)."""

from __future__ import annotations

import typing as t

import pytest
from testbed.modules import run_module

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.client import LibvirtClient
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import LibvirtError
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.usage_client import read_backed_volumes
from ansible_collections.sharedvirt.kvm.plugins.modules import volume_info

from .conftest import TEST_URI, libvirt


class StopsAfterListing:
    """A connection where another run stops one pool right after this run listed the active pools."""

    def __init__(self, conn: t.Any, victim: str) -> None:
        self.conn = conn
        self.victim = victim

    def listAllStoragePools(self, flags: int) -> t.List[t.Any]:  # noqa: N802 - libvirt's name
        pools = self.conn.listAllStoragePools(flags)
        self.conn.storagePoolLookupByName(self.victim).destroy()
        return pools


def define_dir_pool(conn: t.Any, name: str) -> t.Any:
    xml = f"<pool type='dir'><name>{name}</name><target><path>/{name}</path></target></pool>"
    pool = conn.storagePoolDefineXML(xml)
    pool.create(0)
    return pool


def test_a_pool_stopped_after_the_listing_is_skipped_not_an_error(test_conn: t.Any, prefix: str) -> None:
    stopped = define_dir_pool(test_conn, f"{prefix}-stopped")
    try:
        client = LibvirtClient(StopsAfterListing(test_conn, stopped.name()), TEST_URI)
        assert read_backed_volumes(client) == []
        assert not stopped.isActive()
    finally:
        stopped.undefine()


def test_an_error_of_a_pool_that_still_runs_is_reported(test_conn: t.Any, prefix: str) -> None:
    """The negative control: only a pool that really stopped is skipped."""
    pool = define_dir_pool(test_conn, f"{prefix}-broken")

    class Broken:
        def __getattr__(self, name: str) -> t.Any:
            return getattr(pool, name)

        def listAllVolumes(self, flags: int) -> t.List[t.Any]:  # noqa: N802 - libvirt's name
            raise libvirt.libvirtError("the storage server went away")

    class Lists:
        def listAllStoragePools(self, flags: int) -> t.List[t.Any]:  # noqa: N802 - libvirt's name
            return [Broken()]

    try:
        with pytest.raises(LibvirtError, match="list the volumes of the pools on test:///default"):
            read_backed_volumes(LibvirtClient(Lists(), TEST_URI))
    finally:
        pool.destroy()
        pool.undefine()


def test_volume_info_of_every_pool_skips_one_stopped_while_it_reads(
    test_conn: t.Any, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped = define_dir_pool(test_conn, f"{prefix}-stopped")
    listing = libvirt.virStoragePool.listVolumes

    def stop_then_list(pool: t.Any) -> t.List[str]:
        if pool.name() == stopped.name() and stopped.isActive():
            stopped.destroy()  # another run, after this one listed the active pools
        return listing(pool)

    kept = test_conn.storagePoolLookupByName("default-pool").createXML(
        f"<volume><name>{prefix}-kept.img</name><capacity>1048576</capacity></volume>", 0
    )
    monkeypatch.setattr(libvirt.virStoragePool, "listVolumes", stop_then_list)
    try:
        info = run_module(volume_info, {"uri": TEST_URI})
        assert not info.get("failed"), info.get("msg")
        assert ("default-pool", f"{prefix}-kept.img") in {(v["pool"], v["name"]) for v in info["volumes"]}
        stopped.create(0)
        named = run_module(volume_info, {"uri": TEST_URI, "pool": stopped.name()})
        assert named["failed"] and "is not active" in named["msg"]  # a pool the task names must be there
    finally:
        kept.delete(0)
        if stopped.isActive():
            stopped.destroy()
        stopped.undefine()
