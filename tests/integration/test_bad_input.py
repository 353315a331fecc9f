"""Bad input, across the modules, against the real libvirtd: each is a clear error naming the option, nothing
is defined or created, and libvirtd is the same process afterwards (a negative vCPU count once killed it)."""

from __future__ import annotations

import contextlib
import re
import types
import typing as t

import libvirt
import pytest
from testbed.modules import run_module
from testbed.services import running_pid

from ansible_collections.sharedvirt.kvm.plugins.modules import (
    bridge,
    domain,
    domains,
    migration,
    network,
    pool,
    secret,
    shared_disk,
    snapshot,
    volume,
)

URI = "qemu:///system"
NAME = "svt-badinput"
GUEST = {"uri": URI, "name": NAME, "memory": "64MiB"}
NUL, BELL, ESC = "\x00", "\x07", "\x1b"
ETC_PASSWD_LOG = {"type": "file", "path": "/etc/passwd"}

# (module, options, the option the error must name)
CASES: list[tuple[types.ModuleType, dict[str, t.Any], str]] = [
    (domain, dict(GUEST, vcpus=-3), "vcpus"),
    (domain, dict(GUEST, vcpus=0), "vcpus"),
    (domain, dict(GUEST, max_vcpus=-1), "max_vcpus"),
    (domain, dict(GUEST, vcpus=5000), "vcpus"),
    (domain, dict(GUEST, vcpus=4, max_vcpus=2), "vcpus"),
    (domain, dict(GUEST, memory="-1GiB"), "memory"),
    (domain, dict(GUEST, memory=0), "memory"),
    (domain, dict(GUEST, memory="64EiB"), "memory"),
    (domain, dict(GUEST, memory="lots"), "memory"),
    (domain, dict(GUEST, current_memory="1GiB"), "current_memory"),
    (domain, dict(GUEST, max_memory_slots=-2, max_memory="1GiB"), "max_memory_slots"),
    (domain, dict(GUEST, name=f"bad{NUL}name"), "name"),
    (domain, dict(GUEST, name="../etc/passwd"), "name"),
    (domain, dict(GUEST, name="a" * 200), "name"),
    (domain, dict(GUEST, title=f"t{BELL}"), "title"),
    (domain, dict(GUEST, description=f"d{ESC}[31m"), "description"),
    (domain, dict(GUEST, metadata={"k": f"v{NUL}"}), "metadata"),
    (domain, dict(GUEST, cmdline=f"console=ttyS0{NUL}"), "cmdline"),
    (domain, dict(GUEST, cpu={"topology": {"sockets": -1}}), "cpu.topology.sockets"),
    (domain, dict(GUEST, cputune={"vcpupin": [{"vcpu": -1, "cpuset": "0"}]}), "cputune.vcpupin[0].vcpu"),
    (domain, dict(GUEST, cputune={"vcpupin": [{"vcpu": 0, "cpuset": "0-"}]}), "cputune.vcpupin[0].cpuset"),
    (domain, dict(GUEST, cputune={"emulatorpin": "99999"}), "cputune"),
    (domain, dict(GUEST, cputune={"quota": 500}), "cputune.quota: 500 is below 1000 microseconds"),
    (domain, dict(GUEST, iothreads=1, cputune={"iothreadpin": [{"iothread": 2, "cpuset": "0"}]}), "iothreadpin[0]"),
    (domain, dict(GUEST, memtune={"hard_limit": "lots"}), "memtune.hard_limit"),
    (domain, dict(GUEST, blkiotune={"weight": 50}), "blkiotune.weight"),
    (
        domain,
        dict(
            GUEST,
            disks=[{"target": "vda", "source": {"file": "/a"}, "iotune": {"total_iops_sec": 1, "read_iops_sec": 1}}],
        ),
        "disks[0].iotune.total_iops_sec: QEMU takes a total or read/write iops limits, not both",
    ),
    (domain, dict(GUEST, hyperv={"spinlocks": 100}), "hyperv.spinlocks: 100 retries: give 0 (off) or at least 4095"),
    (domain, dict(GUEST, tpm={"backend": "passthrough"}), "tpm.device: a passthrough TPM names the host's device"),
    (domain, dict(GUEST, hostdevs=[{"address": "03:00"}]), "hostdevs[0].address: '03:00' is not a PCI address"),
    (domain, dict(GUEST, interfaces=[{"source": {"hostdev": "vf1"}}]), "interfaces[0].source.hostdev: 'vf1'"),
    (domain, dict(GUEST, interfaces=[{"mac": "52:54:00:zz:00:01", "source": {"network": "x"}}]), "interfaces[0].mac"),
    (domain, dict(GUEST, disks=[{"target": "vda"}]), "disks[0].source"),
    (
        domain,
        dict(GUEST, disks=[{"target": "vda", "source": {"file": "/a"}}, {"target": "vda", "source": {"file": "/b"}}]),
        "disks[1].target",
    ),  # fmt: skip
    (
        domain,
        dict(GUEST, disks=[{"target": "vda", "io": "native", "cache": "writeback", "source": {"file": "/a"}}]),
        "disks[0].io",
    ),  # fmt: skip
    (domain, dict(GUEST, xml="<domain><name>x</name>"), "xml"),
    (domain, dict(GUEST, xml="<domain><name>other</name></domain>"), "xml"),
    (domain, dict(GUEST, lease="relative/dir"), "lease"),
    (domains, {"uri": URI, "domains": [{"name": NAME, "vcpus": -3}]}, "domains[0]"),
    (volume, {"uri": URI, "pool": "default", "name": f"v{NUL}", "capacity": "1MiB"}, "name"),
    (volume, {"uri": URI, "pool": "default", "name": "../../etc/shadow", "capacity": "1MiB"}, "name"),
    (volume, {"uri": URI, "pool": "default", "name": "v.raw", "capacity": "-5MiB"}, "capacity"),
    (pool, {"uri": URI, "name": "p/../x", "type": "dir", "target": {"path": "/tmp/x"}}, "name"),
    (pool, {"uri": URI, "name": NAME, "type": "dir"}, "target.path"),
    (pool, {"uri": URI, "name": NAME, "type": "rbd", "source": {"hosts": [{"name": "127.0.0.1"}]}}, "source.name"),
    (network, {"uri": URI, "name": NAME, "ips": [{"address": "10.300.0.1", "prefix": 24}]}, "ips[0].address"),
    (network, {"uri": URI, "name": NAME, "mtu": -1, "ips": [{"address": "10.0.0.1", "prefix": 24}]}, "mtu"),
    (network, {"uri": URI, "name": f"n{BELL}", "ips": [{"address": "10.0.0.1", "prefix": 24}]}, "name"),
    (secret, {"uri": URI, "usage_type": "iscsi", "usage_id": f"u{NUL}"}, "usage_id"),
    (
        shared_disk,
        {"uri": URI, "volume": {"pool": "p", "name": "q"}, "target": "vdb", "domains": [], "format": "qcow2"},
        "format",
    ),  # fmt: skip
    (
        shared_disk,
        {"uri": URI, "volume": {"pool": "p", "name": "q"}, "target": "vdb", "domains": [], "cache": "unsafe"},
        "cache",
    ),  # fmt: skip
    # Host files outside every pool directory and allowed_paths: QEMU would read or overwrite them as root.
    (domain, dict(GUEST, kernel="/etc/shadow"), "kernel"),
    (domain, dict(GUEST, initrd="/var/lib/libvirt/images/../../../../etc/shadow"), "initrd"),
    (domain, dict(GUEST, serial=ETC_PASSWD_LOG), "serial.path"),
    (domain, dict(GUEST, disks=[{"target": "vda", "source": {"file": "/root/.ssh/id_rsa"}}]), "disks[0].source.file"),
    (domain, dict(GUEST, kernel="vmlinuz"), "kernel"),
    (domain, dict(GUEST, xml="<domain><os><kernel>/etc/shadow</kernel></os></domain>"), "kernel"),
    (domain, dict(GUEST, kernel="/boot/vmlinuz", allowed_paths=["boot"]), "allowed_paths[0]"),
    (domains, {"uri": URI, "domains": [{"name": NAME, "serial": ETC_PASSWD_LOG}]}, "serial.path"),
    (snapshot, {"uri": URI, "domain": NAME, "name": f"s{NUL}"}, "name"),
    (migration, {"uri": URI, "name": NAME, "sources": [URI], "bandwidth": -1}, "bandwidth"),
    (bridge, {"name": "way-too-long-a-bridge-name"}, "name"),
]


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    ("module", "params", "option"),
    CASES,
    ids=[f"{m.__name__.rsplit('.', 1)[-1]}-{i}" for i, (m, *_rest) in enumerate(CASES)],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(
    system_conn: t.Any, module: types.ModuleType, params: dict[str, t.Any], option: str
) -> None:
    before_pid = running_pid("libvirtd")
    before = _inventory(system_conn)
    for check in (True, False):
        result = run_module(module, params, check_mode=check)
        assert result.get("failed"), result
        assert option in result["msg"], result["msg"]
        assert "unexpected error" not in result["msg"] and "Traceback" not in result["msg"]
    assert running_pid("libvirtd") == before_pid  # libvirtd survived: the input never reached it
    assert _inventory(system_conn) == before  # nothing defined or created


# Another worker's test creates and removes its own objects meanwhile, all named after its prefix.
OTHER_TESTS = re.compile(r"svt-[0-9a-f]{6}")


def _inventory(conn: t.Any) -> tuple[list[str], ...]:
    """Every object of the libvirtd but those of other tests running at the same time."""
    pools = [p for p in conn.listAllStoragePools() if not OTHER_TESTS.match(p.name())]
    volumes = []
    for each_pool in pools:
        with contextlib.suppress(libvirt.libvirtError):  # stopped, or removed since the listing
            volumes += [f"{each_pool.name()}/{v.name()}" for v in each_pool.listAllVolumes()]
    secrets = []
    for each_secret in conn.listAllSecrets():
        with contextlib.suppress(libvirt.libvirtError):
            secrets.append(f"{each_secret.UUIDString()} {each_secret.usageID()}")
    return tuple(
        sorted(name for name in names if not OTHER_TESTS.search(name))
        for names in (
            [d.name() for d in conn.listAllDomains()],
            [n.name() for n in conn.listAllNetworks()],
            [p.name() for p in pools],
            volumes,
            secrets,
        )
    )
