"""Scenario 9: a cluster of 10 and 30 VMs with a shared disk on three namespace hypervisors - the vm_cluster role
against the same end state reached with community.libvirt's modules (bench/cluster/)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import typing as t
from pathlib import Path

import libvirt
from env import ansible_env
from harness import CL_VENV, OURS_VENV, WORK, Goal, Section, rotations, run
from testbed.guest import guest_image
from testbed.hosts import HostBed, remove_domains_everywhere
from testbed.lab import Lab

PREFIX = "svb-cl"
COUNTS = (10, 30)
HOSTS = 3
PLAYS = Path(__file__).with_name("cluster")
OURS = "sharedvirt.kvm vm_cluster role"
CL = "community.libvirt playbook"
FLOOR = f"ansible.builtin.ping × {HOSTS} tasks (one per hypervisor)"
IMAGES, SHARED, TEMPLATE, SHARED_VOLUME = f"{PREFIX}-images", f"{PREFIX}-shared", "template.qcow2", "quorum.raw"
NETWORK_SUFFIX = "net"
FLAT = 3.5  # the larger cluster's first run within this factor of the smaller one's (3× the VMs)
MAX_REPS = 3  # one repetition boots 80 TCG guests (~11 min); more would double make bench's time
ROOT = WORK / "cluster"


def pool_xml(name: str, path: Path) -> str:
    return f"<pool type='dir'><name>{name}</name><target><path>{path}</path></target></pool>"


class Cluster:
    """Three namespace hypervisors, each with a local image pool holding the template, an isolated network of
    one name, and a pool on the directory they all share."""

    def __init__(self, bed: HostBed) -> None:
        self.bed = bed
        self.conns = [host.open() for host in bed.hosts]
        self.labs = [Lab(conn, PREFIX) for conn in self.conns]
        self.images = {host.uri: ROOT / host.name for host in bed.hosts}
        self.shared = ROOT / "shared"
        self.inventory = ROOT / "inventory.json"
        self.guest = guest_image()

    def prepare(self) -> None:
        self.shared.mkdir(parents=True, exist_ok=True)
        for host, conn, lab in zip(self.bed.hosts, self.conns, self.labs):
            self.images[host.uri].mkdir(parents=True, exist_ok=True)
            run(["qemu-img", "create", "-q", "-f", "qcow2", str(self.images[host.uri] / TEMPLATE), "64M"])
            for name, path in ((IMAGES, self.images[host.uri]), (SHARED, self.shared)):
                conn.storagePoolCreateXML(pool_xml(name, path), 0)
            lab.network(NETWORK_SUFFIX)
        localhost = {"ansible_connection": "local", "ansible_python_interpreter": str(OURS_VENV / "bin" / "python")}
        inventory = self.bed.inventory()
        inventory["all"] = {"hosts": {"localhost": localhost}}
        self.inventory.write_text(json.dumps(inventory))

    def reset(self) -> None:
        """No VM, clone or shared disk left (untimed, between runs)."""
        remove_domains_everywhere(self.conns, PREFIX, close=False)
        for directory in [*self.images.values(), self.shared]:
            for path in directory.glob("*"):
                if path.name != TEMPLATE:
                    path.unlink()
        for conn in self.conns:
            for name in (IMAGES, SHARED):
                conn.storagePoolLookupByName(name).refresh(0)

    def running(self) -> t.Dict[str, int]:
        """The VMs running with both disks, by hypervisor: each alternative must reach the same end state."""
        counts = {}
        for host, conn in zip(self.bed.hosts, self.conns):
            active = conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
            counts[host.name] = sum(1 for d in active if d.name().startswith(PREFIX) and "vdb" in d.XMLDesc(0))
        return counts

    def snapshot(self) -> str:
        """Each hypervisor's bench VMs (state, reason) and its network's leases: kept with a failed run's output,
        so that a guest that got no address can be told from one that did not run."""
        lines = []
        for host, conn in zip(self.bed.hosts, self.conns):
            for dom in conn.listAllDomains(0):
                if dom.name().startswith(PREFIX):
                    state, reason = dom.state()
                    lines.append(f"{host.name}: domain {dom.name()} state {state} reason {reason}")
            with contextlib.suppress(libvirt.libvirtError):  # a network the failed run never made
                network = conn.networkLookupByName(f"{PREFIX}-{NETWORK_SUFFIX}")
                lines += [f"{host.name}: lease {x['mac']} {x['ipaddr']} {x['hostname']}" for x in network.DHCPLeases()]
        return "\n".join(lines)

    def close(self) -> None:
        for lab in self.labs:
            lab.cleanup()
        remove_domains_everywhere(self.conns, PREFIX)

    def names(self, count: int) -> t.List[str]:
        return [f"{PREFIX}{i:02d}" for i in range(1, count + 1)]

    def ours(self, count: int) -> t.Dict[str, t.Any]:
        kernel_dir = str(Path(self.guest.kernel).parent)
        return {
            "vm_cluster_count": count,
            "vm_cluster_name_pattern": f"{PREFIX}%02d",
            "vm_cluster_domain": {
                "type": "qemu",
                "memory": "96MiB",
                "vcpus": 1,
                "kernel": self.guest.kernel,
                "initrd": self.guest.initrd,
                "cmdline": self.guest.cmdline,
                "allowed_paths": [kernel_dir],
            },
            "vm_cluster_template": {"pool": IMAGES, "volume": TEMPLATE},
            "vm_cluster_network": f"{PREFIX}-{NETWORK_SUFFIX}",
            "vm_cluster_shared_disks": [
                {"pool": SHARED, "volume": SHARED_VOLUME, "target": "vdb", "capacity": "8MiB", "serial": "QUORUM"}
            ],
            "vm_cluster_group": "bench_cluster",
            # 30 one-vCPU guests on three 2-CPU hosts is 5:1; the role's default allows 4:1 (these guests idle).
            "vm_cluster_cpu_overcommit": 6.0,
        }

    def community(self, count: int) -> t.Dict[str, t.Any]:
        uris = [host.uri for host in self.bed.hosts]
        return {
            # No placement module: round robin, as the role's soft anti-affinity places them.
            "vms": [{"name": name, "uri": uris[i % len(uris)]} for i, name in enumerate(self.names(count))],
            "uris": uris,
            "images_pool": IMAGES,
            "images_dir": {uri: str(path) for uri, path in self.images.items()},
            "template": TEMPLATE,
            "network": f"{PREFIX}-{NETWORK_SUFFIX}",
            "shared_pool": SHARED,
            "shared_volume": SHARED_VOLUME,
            "shared_path": str(self.shared / SHARED_VOLUME),
            "guest": {"kernel": self.guest.kernel, "initrd": self.guest.initrd, "cmdline": self.guest.cmdline},
        }

    def playbook(self, venv: Path, play: str, variables: t.Mapping[str, t.Any], key: str) -> t.Callable[[], str]:
        path = ROOT / f"{key}.vars.json"
        path.write_text(json.dumps(variables))
        cmd = [str(venv / "bin" / "ansible-playbook"), "-i", str(self.inventory), "-e", f"@{path}", str(PLAYS / play)]
        env = ansible_env(venv)
        if venv == CL_VENV:
            cmd[3:3] = ["-e", f"ansible_python_interpreter={venv / 'bin' / 'python'}"]

        def go() -> str:
            try:
                out = run(cmd, env, timeout=1800)
                if "failed=0" not in out:
                    raise RuntimeError(f"{play}: a task failed:\n{out[-3000:]}")
            except (RuntimeError, subprocess.TimeoutExpired) as err:
                kept = ROOT / f"{key}.failed.txt"
                kept.write_text(f"{err}\n\nWhat the hypervisors hold:\n{self.snapshot()}\n")
                raise RuntimeError(f"{err}\n(the hypervisors' domains and leases then: {kept})") from None
            return out

        return go

    def floor(self) -> t.Callable[[], str]:
        path = ROOT / "ping.yml"
        tasks = [{"name": f"ping {host.name}", "ansible.builtin.ping": {}} for host in self.bed.hosts]
        path.write_text(json.dumps([{"name": "floor", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
        cmd = [str(OURS_VENV / "bin" / "ansible-playbook"), "-i", str(self.inventory), str(path)]
        return lambda: run(cmd, ansible_env(OURS_VENV))


def converge(section: Section, cluster: Cluster, label: str, count: int, go: t.Callable[[], str]) -> None:
    cluster.reset()
    section.measure(f"{label}, {count} VMs: first run", go)
    counts = cluster.running()
    if sum(counts.values()) != count or max(counts.values()) - min(counts.values()) > 1:
        raise RuntimeError(f"{label}: {count} VMs with the shared disk expected, evenly placed; running: {counts}")
    section.measure(f"{label}, {count} VMs: rerun", go)


def scenario(reps: int) -> Section:
    reps = min(reps, MAX_REPS)
    section = Section(
        "9. A cluster of VMs on three hypervisors: 10 and 30 VMs with a shared disk",
        "Three namespace hypervisors (tools/hostbed.py), each with a local dir pool holding a qcow2 template, an "
        "isolated network of one name and a dir pool on a directory all of them share. From nothing: every VM gets "
        "a linked clone of the template on its hypervisor, one NIC and the shared raw disk (shareable, no cache); "
        "it is started and its first address (DHCP lease) is waited for; then the rerun. Ours: the vm_cluster role "
        "(placement by soft anti-affinity, recovery records, peers asked before each start). community.libvirt: "
        "bench/cluster/community.yml - virt_volume, virt_pool, virt, and virsh for attaching the disk and reading "
        "the lease; VMs placed round robin. Guests: direct kernel boot, 96 MiB, TCG; every run ends with all of "
        "them running, checked. Floor: a play of one ansible.builtin.ping task per hypervisor. At most "
        f"{MAX_REPS} repetitions.",
    )
    with HostBed(PREFIX, HOSTS) as bed:
        cluster = Cluster(bed)
        try:
            cluster.prepare()
            floor = cluster.floor()
            for count in COUNTS:
                runners = {
                    OURS: cluster.playbook(OURS_VENV, "ours.yml", cluster.ours(count), f"ours-{count}"),
                    CL: cluster.playbook(CL_VENV, "community.yml", cluster.community(count), f"community-{count}"),
                }
                for _rep, label in rotations(list(runners), reps):
                    converge(section, cluster, label, count, runners[label])
            for _rep in range(reps):
                section.measure(FLOOR, floor)
        finally:
            with contextlib.suppress(libvirt.libvirtError):
                cluster.reset()
            cluster.close()
    section.goals = goals()
    section.notes = per_vm_notes(section)
    return section


def goals() -> t.List[Goal]:
    out = []
    for count in COUNTS:
        first, rerun = (f"{OURS}, {count} VMs: {step}" for step in ("first run", "rerun"))
        cl_first, cl_rerun = (f"{CL}, {count} VMs: {step}" for step in ("first run", "rerun"))
        out += [
            Goal(f"{count} VMs: first run no slower than community.libvirt", first, cl_first, 1.0),
            Goal(f"{count} VMs: rerun ≥ 5× faster than community.libvirt", rerun, cl_rerun, 5.0),
            Goal(f"{count} VMs: rerun within 2× of the ping floor", rerun, FLOOR, 2.0, within=True),
        ]
    small, large = COUNTS
    out += [
        Goal(
            f"flat: {large} VMs within {FLAT}× of {small} VMs (first run)",
            f"{OURS}, {large} VMs: first run",
            f"{OURS}, {small} VMs: first run",
            FLAT,
            within=True,
        ),
        Goal(
            f"{large} VMs' rerun against {small} VMs' rerun",
            f"{OURS}, {large} VMs: rerun",
            f"{OURS}, {small} VMs: rerun",
            0,
            reported=True,
        ),
    ]
    return out


def per_vm_notes(section: Section) -> t.List[str]:
    notes = []
    for label in (OURS, CL):
        for step in ("first run", "rerun"):
            cells = []
            for count in COUNTS:
                series = section.rows.get(f"{label}, {count} VMs: {step}")
                if series and series.times:
                    cells.append(f"{series.median / count:.2f} s at {count} VMs")
            if cells:
                notes.append(f"{label}, {step}, per VM: {', '.join(cells)}")
    return notes
