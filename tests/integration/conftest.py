"""Integration tests: the real libvirtd on this machine (root), real TCG guests."""

from __future__ import annotations

import os
import secrets
import typing as t
from pathlib import Path

import pytest

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed (make setup installs it)")

from testbed import iscsi, services  # noqa: E402
from testbed.ceph import Ceph  # noqa: E402
from testbed.gluster import Gluster  # noqa: E402
from testbed.lab import Guest, Lab, Network, leftovers  # noqa: E402
from testbed.nfs import Nfs  # noqa: E402

SYSTEM_URI = "qemu:///system"
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # expected errors are asserted, not printed


@pytest.fixture(scope="session")
def system_conn() -> t.Iterator[t.Any]:
    """qemu:///system with the daemons started; at the end, checks that no test left anything."""
    if os.geteuid() != 0:
        pytest.fail("integration tests need root: they run libvirtd and guests (run make test as root)")
    services.ensure()
    conn = libvirt.open(SYSTEM_URI)
    yield conn
    left = leftovers(conn)
    conn.close()
    assert not left, f"tests left these behind: {', '.join(left)}"


@pytest.fixture
def lab(system_conn: t.Any, prefix: str) -> t.Iterator[Lab]:
    """Networks and guests for one test, removed afterwards even when the test fails."""
    bench = Lab(system_conn, prefix)
    try:
        yield bench
    finally:
        bench.cleanup()


@pytest.fixture
def booted_guest(lab: Lab) -> tuple[Network, Guest]:
    """The embedded guest, booted (SVKVM-READY) on its own isolated network with DHCP."""
    net = lab.network()
    return net, lab.guest(networks=[net])


@pytest.fixture
def chap_target(prefix: str) -> t.Iterator[iscsi.Target]:
    iscsi.start()
    target = iscsi.Target(
        tid=secrets.randbelow(9000) + 1000,
        iqn=f"iqn.2024-01.svt:{prefix}",
        backing=Path("/var/tmp/sharedvirt-kvm") / f"{prefix}-lun.img",
        user="svtuser",
        password="svt-chap-" + secrets.token_hex(4),
    )
    target.backing.parent.mkdir(parents=True, exist_ok=True)
    target.create(32)
    try:
        yield target
    finally:
        target.remove()
        iscsi.stop()


@pytest.fixture(scope="session")
def ceph() -> t.Iterator[Ceph]:
    """A single-node Ceph cluster (about 15 s to start), shared by the tests that ask for it."""
    cluster = Ceph()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def gluster(prefix: str) -> t.Iterator[Gluster]:
    """A private glusterd with one single-brick volume."""
    server = Gluster(f"{prefix}-gv")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def nfs() -> t.Iterator[Nfs]:
    """nfs-ganesha exporting one directory on 127.0.0.1 (userspace: the kernel has no NFS)."""
    server = Nfs()
    try:
        server.start()
        yield server
    finally:
        server.stop()
