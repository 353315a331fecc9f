"""Extra hypervisor "hosts" on this machine: each a libvirtd and an sshd in its own network, mount and UTS namespace.

Layout (see ../shared/research/multihost-feasibility.md): a root-namespace bridge holds the first
address of a free /24 (the controller's side); every host is a namespace whose ``eth0`` is enslaved to
an in-namespace bridge ``lan`` that carries the host's address, so guests bridged to ``lan`` share the
L2 with every host. Each host has its own hostname and ``host_uuid``, private copies of /run/libvirt,
/var/lib/libvirt, /etc/libvirt, /var/log/libvirt and /var/cache/libvirt, a libvirtd listening on plain
TCP on its private address (``qemu+tcp://ADDR/system``) and an sshd there that takes the bed's key
for root, so Ansible reaches it like any hypervisor. Nothing routes or forwards out of the bridge.

In tests: ``with HostBed(prefix, count) as bed: ...``. From the shell: ``tools/hostbed.py up|down``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import libvirt

from .guest import free_subnet
from .netns import NetNs
from .paths import RUN_DIR

PRIVATE_DIRS = {
    "run": "/run/libvirt",
    "lib": "/var/lib/libvirt",
    "etc": "/etc/libvirt",
    "log": "/var/log/libvirt",
    "cache": "/var/cache/libvirt",
}
BED_ROOT = RUN_DIR / "hostbed"
LOCKSPACE = "sharedvirt"  # the lockspace of domain leases, under the lock directory
START_TIMEOUT = 30


def _copy_skeleton(source: str, target: Path) -> None:
    """The directory tree of ``source`` with owners and modes, no files (no domains, no images)."""
    for dirpath, dirnames, _files in os.walk(source):
        dirnames[:] = [d for d in dirnames if not d.startswith("domain-")]
        made = target / os.path.relpath(dirpath, source)
        made.mkdir(parents=True, exist_ok=True)
        try:
            info = os.stat(dirpath)
        except FileNotFoundError:
            continue  # a guest of a test running beside this one went away while we walked
        os.chown(made, info.st_uid, info.st_gid)
        os.chmod(made, info.st_mode & 0o7777)


def _definitions(directory: str, names: t.List[str]) -> t.Set[str]:
    """What a bed host must not inherit from /etc/libvirt: the machine's own domains, networks, pools, secrets
    and hooks (left out while copying, since tests running beside this one add and remove them meanwhile)."""
    where = os.path.relpath(directory, "/etc/libvirt")
    if where == ".":
        # hooks: a play may have installed this machine's (make demo); a new host starts without any.
        return {"storage", "secrets", "hooks"} & set(names)
    if where == "qemu":
        return {n for n in names if n.endswith(".xml") or n in ("networks", "autostart")}
    return set()


def _wait_until(what: str, check: t.Callable[[], bool], timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"hostbed: {what} not ready within {timeout:g} s")
        time.sleep(0.2)


@dataclasses.dataclass
class NsHost:
    """One namespace hypervisor: ``uri`` (libvirt over TCP) and ``address`` (SSH as root with the bed's key)."""

    name: str
    address: str
    number: int
    root: Path

    @property
    def uri(self) -> str:
        return f"qemu+tcp://{self.address}/system"

    @property
    def hostname(self) -> str:
        return self.name

    @property
    def host_uuid(self) -> str:
        return f"00000000-0000-4000-8000-{self.number:012d}"

    @property
    def lockspace(self) -> Path:
        """The bed's lock directory, on storage every bed host sees: what domains' ``lease`` option names."""
        return self.root.parent / "locks"

    @property
    def veth(self) -> str:
        return f"{self.name}-v"

    def plumb(self, prefixlen: int, uplink_bridge: str) -> None:
        """The namespace, its uplink on the bed bridge and its ``lan`` bridge with the host address."""
        ns = NetNs(self.name)
        veth = ["ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns", self.name]
        subprocess.run(veth, check=True)
        subprocess.run(["ip", "link", "set", self.veth, "master", uplink_bridge, "up"], check=True)
        ns.ip("link", "add", "lan", "type", "bridge", "stp_state", "0")
        ns.ip("link", "set", "eth0", "master", "lan", "up")
        ns.ip("addr", "add", f"{self.address}/{prefixlen}", "dev", "lan")
        ns.ip("link", "set", "lan", "up")

    def start(self, authorized_key: Path) -> None:
        dirs = {key: self.root / key for key in PRIVATE_DIRS}
        shutil.rmtree(self.root, ignore_errors=True)
        (self.lockspace / LOCKSPACE).mkdir(parents=True, exist_ok=True)
        _copy_skeleton("/var/lib/libvirt", dirs["lib"])
        shutil.copytree("/etc/libvirt", dirs["etc"], ignore=_definitions)
        for key in ("run", "log", "cache"):
            dirs[key].mkdir(parents=True, exist_ok=True)
        (dirs["log"] / "qemu").mkdir(exist_ok=True)
        with (dirs["etc"] / "libvirtd.conf").open("a") as conf:
            conf.write(
                f'\nlisten_tls = 0\nlisten_tcp = 1\nlisten_addr = "{self.address}"\nauth_tcp = "none"\n'
                f'host_uuid = "{self.host_uuid}"\nlog_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n'
            )
        with (dirs["etc"] / "qemu.conf").open("a") as conf:
            conf.write(f'\nmigration_address = "{self.address}"\nmigration_host = "{self.address}"\n')
            # Every bed host runs libvirt's lock manager, as the hypervisor role sets a cluster up, with
            # the bed's shared lockspace (indirect disk leases and domain leases; see the role's docs).
            conf.write('lock_manager = "lockd"\n')
        with (dirs["etc"] / "qemu-lockd.conf").open("a") as conf:
            conf.write(f'\nfile_lockspace_dir = "{self.lockspace / LOCKSPACE}"\n')
        self._boot(self._sshd_config(authorized_key))

    def _boot(self, sshd_config: Path) -> None:
        """Its daemons, in a mount namespace of their own over its private directories."""
        dirs = {key: self.root / key for key in PRIVATE_DIRS}
        mounts = "; ".join(f"mount --bind {dirs[key]} {path}" for key, path in PRIVATE_DIRS.items())
        script = (
            f"hostname {self.hostname}; {mounts}; "
            "virtlogd -d -p /run/libvirt/virtlogd.pid && virtlockd -d -p /run/libvirt/virtlockd.pid && "
            "libvirtd -d -l -p /run/libvirt/libvirtd.pid && "
            f"/usr/sbin/sshd -f {sshd_config}"
        )
        unshare = ["unshare", "--mount", "--uts", "--propagation", "private"]
        subprocess.run(["ip", "netns", "exec", self.name, *unshare, "sh", "-c", script], check=True)
        _wait_until(f"libvirtd of {self.name}", self._libvirt_answers)

    def crash(self) -> None:
        """A power loss: every process of the host (its guests, libvirtd, virtlockd) killed at once and its link
        down; its files stay, as a disk does."""
        self._signal_all(signal.SIGKILL)
        subprocess.run(["ip", "link", "set", self.veth, "down"], check=True)
        # A boot starts with an empty neighbour table. With the entries kept (its bridges stay up), a connection
        # of the revived host to a guest that is not up yet failed after ~14 s of probes instead of a fresh
        # ARP's ~3 s, and libvirt's autostart of an appliance's iSCSI pool, retrying, held libvirtd 1-2 min.
        subprocess.run(["ip", "-n", self.name, "neigh", "flush", "all"], check=True)

    def _signal_all(self, number: int) -> None:
        """Send every process of the host's namespace the signal and wait until they are gone."""
        pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True, check=False).stdout
        for pid in pids.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), number)
        _wait_until(
            f"processes of {self.name} to end", lambda: not any(Path(f"/proc/{p}").exists() for p in pids.split()), 10
        )

    def revive(self) -> None:
        """Back after :meth:`crash`: its link up and its daemons started on its kept files (libvirtd then starts
        the domains marked autostart, as at a host's boot)."""
        # /run is a tmpfs that a boot starts empty; libvirtd marks there that it autostarted this boot's domains.
        run = self.root / "run"
        shutil.rmtree(run, ignore_errors=True)
        run.mkdir()
        subprocess.run(["ip", "link", "set", self.veth, "up"], check=True)
        self._boot(self.root / "ssh" / "sshd_config")

    def restart_libvirtd(self) -> None:
        """libvirtd alone stopped and started again, as an operator or a package upgrade does: no boot (its guests
        run on, and /run keeps what it marked there)."""
        pid = int((self.root / "run" / "libvirtd.pid").read_text())
        os.kill(pid, signal.SIGTERM)
        _wait_until(f"libvirtd of {self.name} to stop", lambda: not Path(f"/proc/{pid}").exists())
        # Into the namespaces of its virtlogd, which holds the host's private mounts.
        virtlogd = (self.root / "run" / "virtlogd.pid").read_text().strip()
        enter = ["nsenter", f"--target={virtlogd}", "--mount", "--uts", "--net"]
        subprocess.run([*enter, "libvirtd", "-d", "-l", "-p", "/run/libvirt/libvirtd.pid"], check=True)
        _wait_until(f"libvirtd of {self.name}", self._libvirt_answers)

    def _sshd_config(self, authorized_key: Path) -> Path:
        ssh = self.root / "ssh"
        ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = ssh / "ssh_host_ed25519_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        config = ssh / "sshd_config"
        config.write_text(
            f"ListenAddress {self.address}\nHostKey {key}\nPidFile {ssh / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {authorized_key}\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            "Subsystem sftp internal-sftp\n"
        )
        return config

    def answers(self) -> bool:
        """True when its libvirtd takes connections."""
        return self._libvirt_answers()

    def _libvirt_answers(self) -> bool:
        # Without its namespace the address has no route on this machine: never try to reach it.
        if not Path(f"/run/netns/{self.name}").exists():
            return False
        try:
            self.open().close()
            return True
        except libvirt.libvirtError:
            return False

    def open(self) -> t.Any:
        return libvirt.open(self.uri)

    def stop(self) -> None:
        """Destroy its guests and networks, stop its daemons, delete the namespace and the files."""
        if self._libvirt_answers():
            with contextlib.closing(self.open()) as conn:
                for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
                    with contextlib.suppress(libvirt.libvirtError):
                        dom.destroy()
                for net in conn.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE):
                    with contextlib.suppress(libvirt.libvirtError):
                        net.destroy()
        self._signal_all(signal.SIGTERM)
        NetNs.remove(self.name)
        subprocess.run(["ip", "link", "del", self.veth], check=False, capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


class HostBed:
    """``count`` namespace hosts on one private bridge ``<prefix>-mh``; the controller holds the .1 address."""

    def __init__(self, prefix: str, count: int, root: Path | None = None) -> None:
        if len(prefix) > 10 or count > 9:
            # Interface names (<prefix>-h0-v) must fit the kernel's 15 characters.
            raise ValueError(f"hostbed name {prefix!r}: at most 10 characters and 9 hosts")
        self.prefix = prefix
        self.root = root or BED_ROOT / prefix
        self.key = self.root / "id_ed25519"
        self.subnet: ipaddress.IPv4Network = free_subnet()
        self.bridge = f"{prefix}-mh"
        addresses = list(self.subnet.hosts())
        self.controller_address = str(addresses[0])
        self.hosts = [
            NsHost(f"{prefix}-h{i}", str(addresses[10 + i]), i + 1, self.root / f"h{i}") for i in range(count)
        ]

    def __enter__(self) -> HostBed:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def up(self) -> None:
        if Path(f"/sys/class/net/{self.bridge}").exists():
            self.down()  # leftovers of an interrupted run of the same name would make every step below fail
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)], check=True)
        subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge", "stp_state", "0"], check=True)
        cidr = f"{self.controller_address}/{self.subnet.prefixlen}"
        subprocess.run(["ip", "addr", "add", cidr, "dev", self.bridge], check=True)
        subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)
        for host in self.hosts:
            host.plumb(self.subnet.prefixlen, self.bridge)
            host.start(self.key.with_suffix(".pub"))

    def down(self) -> None:
        for host in reversed(self.hosts):
            host.stop()
        subprocess.run(["ip", "link", "del", self.bridge], check=False, capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def ssh_uri(self, host: NsHost) -> str:
        """libvirt over SSH to ``host`` as root with the bed's key (host keys are new on every start)."""
        return f"qemu+ssh://root@{host.address}/system?keyfile={self.key}&no_verify=1"

    def ssh_args(self) -> str:
        """What ansible_ssh_common_args needs for the bed (host keys are new on every start)."""
        return "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"

    def inventory(self, group: str = "hypervisors") -> dict[str, t.Any]:
        """An Ansible inventory (YAML-ready) of the hosts, reached over SSH as root."""
        hosts = {
            host.name: {
                "ansible_host": host.address,
                "sharedvirt_libvirt_uri": host.uri,
                "sharedvirt_host_uuid": host.host_uuid,
                "sharedvirt_host_number": host.number,
            }
            for host in self.hosts
        }
        common = {
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.key),
            "ansible_ssh_common_args": self.ssh_args(),
            # The hosts share this machine's file system, so the test venv (with libvirt-python) is there.
            "ansible_python_interpreter": sys.executable,
            # The bed's daemons keep their pid files in each host's private /run/libvirt.
            "hypervisor_pid_dir": "/run/libvirt",
        }
        return {group: {"hosts": hosts, "vars": common}}

    def state(self) -> dict[str, t.Any]:
        return {
            "prefix": self.prefix,
            "subnet": str(self.subnet),
            "root": str(self.root),
            "hosts": [dataclasses.asdict(h) | {"root": str(h.root)} for h in self.hosts],
        }

    @classmethod
    def from_state(cls, state: t.Mapping[str, t.Any]) -> HostBed:
        bed = cls.__new__(cls)
        bed.prefix = state["prefix"]
        bed.root = Path(state["root"])
        bed.key = bed.root / "id_ed25519"
        bed.subnet = ipaddress.IPv4Network(state["subnet"])
        bed.bridge = f"{bed.prefix}-mh"
        bed.controller_address = str(next(bed.subnet.hosts()))
        bed.hosts = [NsHost(h["name"], h["address"], h["number"], Path(h["root"])) for h in state["hosts"]]
        return bed

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.state(), indent=2))


USERFAULTFD_SYSCTL = Path("/proc/sys/vm/unprivileged_userfaultfd")


@contextlib.contextmanager
def userfaultfd_for_qemu(allowed: bool = True) -> t.Iterator[None]:
    """Let the unprivileged QEMUs of every host (one kernel) use userfaultfd, which post-copy migration needs
    (libvirt 9.0 does not hand them /dev/userfaultfd), or not; the setting is put back afterwards."""
    before = USERFAULTFD_SYSCTL.read_text().strip()
    USERFAULTFD_SYSCTL.write_text(f"{int(allowed)}\n")
    try:
        yield
    finally:
        USERFAULTFD_SYSCTL.write_text(f"{before}\n")


def remove_domains_everywhere(conns: t.Sequence[t.Any], prefix: str, close: bool = True) -> None:
    """The domains named ``prefix...`` wherever they ended up (a migrated domain is no longer the lab's); then
    close the connections unless told not to."""
    for conn in conns:
        for dom in conn.listAllDomains():
            if dom.name().startswith(prefix):
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
        if close:
            conn.close()
