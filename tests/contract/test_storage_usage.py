"""Reading what uses storage while other runs start and stop pools (libvirt's test:///default driver)."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.client import LibvirtClient
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import LibvirtError
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.usage_client import read_backed_volumes

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
