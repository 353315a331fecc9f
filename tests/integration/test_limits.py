"""Resource limits by their effect: a disk capped at 2 MiB/s writes at most 2.2 MiB/s inside the guest (O_DIRECT)
and far faster once the cap is lifted live; CPU shares and quota, memory limits and block I/O weight land in the
guest's cgroups as declared."""

from __future__ import annotations

import typing as t
from pathlib import Path

from testbed.agent import agent, guest_sh
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for, wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, pool, volume

URI = "qemu:///system"
BASE = Path("/var/tmp/sharedvirt-kvm")
MIB = 2**20
CAP = 2 * MIB
SIZE = 12 * MIB
# 12 MiB (six seconds at the cap: QEMU's initial burst hardly counts) past the guest's page cache, onto its only
# disk (the guest names it vda: the first virtio disk it finds), timed by the guest's uptime clock.
WRITE = (
    "a=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/zero of=/dev/vda bs=256k count=48 oflag=direct 2>/dev/null || exit 1; "
    "echo $a $(cut -d' ' -f1 /proc/uptime)"
)


def rate(output: str) -> float:
    """Bytes per second of the timed write."""
    start, end = (float(x) for x in output.split())
    return SIZE / max(end - start, 0.01)


def throttled_guest(lab: Lab) -> dict[str, t.Any]:
    name, path = f"{lab.prefix}-lim", BASE / f"{lab.prefix}-lim"
    lab.pools.append(name)
    lab.files.append(path)
    assert not run_module(pool, {"uri": URI, "name": name, "type": "dir", "target": {"path": str(path)}}).get("failed")
    made = run_module(volume, {"uri": URI, "pool": name, "name": "data.raw", "format": "raw", "capacity": "16MiB"})
    assert not made.get("failed"), made.get("msg")
    data = {"target": "vdb", "format": "raw", "cache": "none", "source": {"pool": name, "volume": "data.raw"}}
    params = guest_params(
        lab, f"{lab.prefix}-io", None, state="running", disks=[dict(data, iotune={"write_bytes_sec": "2MiB"})]
    )
    started = run_module(domain, params)
    assert not started.get("failed"), started.get("msg")
    wait_for_marker(serial_path_of(params), "SVKVM-AGENT", 120)
    dom = lab.conn.lookupByName(params["name"])
    wait_for("the guest agent to answer", lambda: agent(dom, {"execute": "guest-ping"}) is not None, 60)
    return params


def test_a_disk_capped_at_2_mib_s_writes_no_faster_and_the_cap_lifts_live(lab: Lab) -> None:
    params = throttled_guest(lab)
    dom = lab.conn.lookupByName(params["name"])
    code, capped = guest_sh(dom, WRITE, timeout=60)
    assert code == 0, capped
    assert rate(capped) <= 1.1 * CAP, f"capped at 2 MiB/s, the guest wrote {rate(capped) / MIB:.2f} MiB/s"

    uncapped_disk = dict(params["disks"][0], iotune={"write_bytes_sec": 0})
    steps = ladder(domain, dict(params, disks=[uncapped_disk]))
    assert (
        steps[2]["actions"]
        == [
            f"update domain {params['name']}: disks[target=vdb].iotune.write_bytes_sec",
            f"set live I/O limits of disk target=vdb of {params['name']}",
        ]
        and steps[2]["reboot_required"] is False
    )
    code, free = guest_sh(dom, WRITE, timeout=60)
    assert code == 0, free
    # The negative control: without the cap the same write is far faster.
    assert rate(free) > 3 * CAP, f"uncapped, the guest wrote only {rate(free) / MIB:.2f} MiB/s"
    assert "<iotune>" not in dom.XMLDesc(0)


def cgroup(controller: str, pid: int) -> Path:
    """The domain's own cgroup directory for ``controller`` (QEMU's threads sit in sub-groups of it)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _number, names, path = line.split(":", 2)
        if controller in names.split(","):
            where = Path(f"/sys/fs/cgroup/{controller}") / path.lstrip("/")
            return where.parent if where.name in ("emulator",) or where.name.startswith("vcpu") else where
    raise AssertionError(f"QEMU {pid} is in no {controller} cgroup")


WEIGHTS = ("blkio.bfq.weight", "blkio.weight")  # BFQ's, and CFQ's of kernels before 5.0


def kernel_weighs_io() -> bool:
    """Whether the kernel weighs cgroups' block I/O (BFQ built in or loaded; CFQ before 5.0): libvirt sets a weight
    only then. Kernels differ: this machine's has had BFQ and has not."""
    cgroups = Path("/sys/fs/cgroup")
    return any((cgroups / "blkio" / w).exists() for w in WEIGHTS) or any(cgroups.glob("*/io.bfq.weight"))


def test_cpu_memory_and_block_io_limits_land_in_the_guests_cgroups_live(lab: Lab) -> None:
    params = guest_params(lab, f"{lab.prefix}-cg", None, state="running")
    assert not run_module(domain, params).get("failed")
    name = params["name"]
    limits: dict[str, t.Any] = {
        "cputune": {"shares": 512, "period": 100000, "quota": 50000},
        "memtune": {"hard_limit": "1GiB", "soft_limit": "512MiB"},
    }
    weight = {"blkiotune": {"weight": 300}}
    bfq = kernel_weighs_io()
    steps = ladder(domain, dict(params, **limits, **(weight if bfq else {})))
    assert steps[2]["reboot_required"] is False
    assert [a for a in steps[2]["actions"] if a.startswith("set live")] == [
        f"set live CPU shares and bandwidth of {name}",
        f"set live memory limits of {name}",
        *([f"set live block I/O weight of {name}"] if bfq else []),
    ]
    pid = int(Path(f"/run/libvirt/qemu/{name}.pid").read_text())
    cpu, memory, blkio = cgroup("cpu", pid), cgroup("memory", pid), cgroup("blkio", pid)
    assert (cpu / "cpu.shares").read_text().strip() == "512"
    assert (cpu / "vcpu0" / "cpu.cfs_quota_us").read_text().strip() == "50000"
    assert (cpu / "vcpu0" / "cpu.cfs_period_us").read_text().strip() == "100000"
    assert int((memory / "memory.limit_in_bytes").read_text()) == 2**30
    assert int((memory / "memory.soft_limit_in_bytes").read_text()) == 512 * MIB
    if bfq:
        weight_file = next(blkio / w for w in WEIGHTS if (blkio / w).exists())
        assert weight_file.read_text().split()[-1] == "300"
        return
    # Without BFQ the kernel weighs no I/O: the module says so, with the option and the fix, and what it did.
    refused = run_module(domain, dict(params, **limits, **weight))
    assert refused["failed"] and "blkiotune.weight needs the BFQ I/O scheduler" in refused["msg"], refused["msg"]
    assert f"(done before the failure: update domain {name}: blkiotune.weight)" in refused["msg"], refused["msg"]
