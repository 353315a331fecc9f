"""Integration tests: the real libvirtd on this machine (root), real TCG guests."""

from __future__ import annotations

import functools
import os
import re
import secrets
import typing as t
from pathlib import Path

import pytest

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed (make setup installs it)")

from testbed import iscsi, services, slots  # noqa: E402
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
    # A pytest-xdist worker ends while others still run: the controller checks once all are done.
    left = [] if os.environ.get("PYTEST_XDIST_WORKER") else leftovers(conn)
    conn.close()
    assert not left, f"tests left these behind: {', '.join(left)}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The leftover check of a parallel run (make test runs the integration tests on pytest-xdist workers)."""
    workers = session.config.getoption("numprocesses", default=None)
    if hasattr(session.config, "workerinput") or not workers:
        return
    conn = libvirt.open(SYSTEM_URI)
    try:
        left = leftovers(conn)
    finally:
        conn.close()
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"tests left these behind: {', '.join(left)}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# Daemons with one instance on this machine (fixed ports, pid files): the files of their tests share a worker.
SHARED_DAEMON_FIXTURES = frozenset({"ceph", "bed_ceph", "gluster", "nfs", "chap_target"})
SHARED_DAEMONS = "shared-daemons"
SHARED_DAEMONS_MARK = re.compile(r"pytestmark\s*=\s*pytest\.mark\.xdist_group\(\s*[\"']shared-daemons[\"']")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test of a machine-wide daemon must be in a file marked for the daemons' worker (see the scheduler)."""
    unmarked = sorted(
        {
            item.path.name
            for item in items
            if SHARED_DAEMON_FIXTURES.intersection(getattr(item, "fixturenames", ()))
            and not SHARED_DAEMONS_MARK.search(item.path.read_text())
        }
    )
    if unmarked:
        raise pytest.UsageError(
            f"{', '.join(unmarked)}: tests there use a machine-wide daemon; add "
            f'pytestmark = pytest.mark.xdist_group("{SHARED_DAEMONS}") to the file'
        )


def pytest_xdist_make_scheduler(config: pytest.Config, log: t.Any) -> t.Any:
    """Whole files to a worker (a file's module-scoped bed is built once, its tests run in order), and every
    file of the machine-wide daemons to the same worker. pytest-xdist's own loadgroup cannot do it under
    pytest 9: it marks groups in an attribute pytest no longer reads. The longest unit goes first: the
    guests keep both cores busy, so the run ends when its last unit does, and a long one started last runs
    alone (xdist's own order, by number of tests, put a one-test file of 300 s at the end)."""
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]  # a parallel run only

    measured = measured_seconds()

    class FileAndDaemonScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return SHARED_DAEMONS if _marks_shared_daemons(path) else path

        def _assign_work_unit(self, node: t.Any) -> None:
            def seconds(scope: str) -> float:
                files = {Path(nodeid.split("::", 1)[0]).name for nodeid in self.workqueue[scope]}
                return sum(measured.get(name, UNMEASURED_SECONDS) for name in files)

            self.workqueue.move_to_end(max(self.workqueue, key=seconds), last=False)
            super()._assign_work_unit(node)

    return FileAndDaemonScheduling(config, log)


DURATIONS = Path(__file__).with_name("durations.txt")
UNMEASURED_SECONDS = 300.0  # a new file runs early: its time is unknown


def measured_seconds() -> dict[str, float]:
    """Each file's seconds in a full run (durations.txt; tools/integration_durations.py writes it)."""
    lines = DURATIONS.read_text().splitlines() if DURATIONS.exists() else []
    fields = (line.split() for line in lines if line.strip() and not line.startswith("#"))
    return {name: float(seconds) for seconds, name in fields}


@functools.lru_cache(maxsize=None)
def _marks_shared_daemons(path: str) -> bool:
    file = Path(path)
    return file.exists() and bool(SHARED_DAEMONS_MARK.search(file.read_text()))


@pytest.fixture(autouse=True)
def guest_slots(request: pytest.FixtureRequest) -> t.Iterator[None]:
    """The test's guest slots (testbed.slots) are free again when it ends, its guests gone. A test whose guests
    a playbook starts says how many with ``@pytest.mark.guests(n)``: it takes their slots before it begins."""
    marker = request.node.get_closest_marker("guests")
    with slots.host_share(whole=request.node.get_closest_marker("whole_host") is not None):
        try:
            for _n in range(marker.args[0] if marker else 0):
                slots.take()
            yield
        finally:
            slots.release()


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
