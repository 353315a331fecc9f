"""Extra hypervisor "hosts" on this machine: each a libvirtd in its own network, mount and UTS namespace.

Layout (see ../shared/research/multihost-feasibility.md): a root-namespace bridge holds the first
address of a free /24 (the controller's side); every host is a namespace whose ``eth0`` is enslaved to
an in-namespace bridge ``lan`` that carries the host's address, so guests bridged to ``lan`` share the
L2 with every host. libvirtd listens on plain TCP on that private address only (``qemu+tcp://ADDR/system``),
with private copies of /run/libvirt, /var/lib/libvirt, /etc/libvirt, /var/log/libvirt and
/var/cache/libvirt. Nothing routes or forwards out of the bridge.

Usage: ``with HostBed(prefix, count) as bed: bed.hosts[0].uri``; everything is gone afterwards.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import subprocess
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
START_TIMEOUT = 30


def _copy_skeleton(source: str, target: Path) -> None:
    """The directory tree of ``source`` with owners and modes, no files (no domains, no images)."""
    for dirpath, dirnames, _files in os.walk(source):
        dirnames[:] = [d for d in dirnames if not d.startswith("domain-")]
        rel = os.path.relpath(dirpath, source)
        made = target / rel
        made.mkdir(parents=True, exist_ok=True)
        info = os.stat(dirpath)
        os.chown(made, info.st_uid, info.st_gid)
        os.chmod(made, info.st_mode & 0o7777)


class NsHost:
    """One namespace hypervisor: ``uri``, ``address``, ``hostname``, ``host_uuid``; ``open()`` connects."""

    def __init__(self, name: str, address: str, prefixlen: int, uplink_bridge: str, number: int) -> None:
        self.name = name
        self.address = address
        self.hostname = name
        self.host_uuid = f"00000000-0000-4000-8000-{number:012d}"
        self.uri = f"qemu+tcp://{address}/system"
        self.root = RUN_DIR / "hosts" / name
        self.ns = NetNs(name)
        self._veth = f"{name}-v"
        veth = ["ip", "link", "add", self._veth, "type", "veth", "peer", "name", "eth0", "netns", name]
        subprocess.run(veth, check=True)
        subprocess.run(["ip", "link", "set", self._veth, "master", uplink_bridge, "up"], check=True)
        self.ns.ip("link", "add", "lan", "type", "bridge", "stp_state", "0")
        self.ns.ip("link", "set", "eth0", "master", "lan", "up")
        self.ns.ip("addr", "add", f"{address}/{prefixlen}", "dev", "lan")
        self.ns.ip("link", "set", "lan", "up")

    def start(self) -> None:
        dirs = {key: self.root / key for key in PRIVATE_DIRS}
        shutil.rmtree(self.root, ignore_errors=True)
        _copy_skeleton("/var/lib/libvirt", dirs["lib"])
        shutil.copytree("/etc/libvirt", dirs["etc"])
        for defined in ("qemu/networks", "storage", "secrets"):
            shutil.rmtree(dirs["etc"] / defined, ignore_errors=True)
        for xml in (dirs["etc"] / "qemu").glob("*.xml"):
            xml.unlink()
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
        mounts = "; ".join(f"mount --bind {dirs[key]} {path}" for key, path in PRIVATE_DIRS.items())
        script = (
            f"hostname {self.hostname}; {mounts}; "
            "virtlogd -d -p /run/libvirt/virtlogd.pid && libvirtd -d -l -p /run/libvirt/libvirtd.pid"
        )
        unshare = ["unshare", "--mount", "--uts", "--propagation", "private"]
        subprocess.run(["ip", "netns", "exec", self.name, *unshare, "sh", "-c", script], check=True)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                self.open().close()
                return
            except libvirt.libvirtError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def open(self) -> t.Any:
        return libvirt.open(self.uri)

    def stop(self) -> None:
        """Destroy its guests and networks, stop its daemons, delete the namespace and the files."""
        with contextlib.suppress(libvirt.libvirtError), contextlib.closing(self.open()) as conn:
            for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
                dom.destroy()
            for net in conn.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE):
                net.destroy()
        pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True, check=False).stdout
        for pid in pids.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{pid}").exists() for pid in pids.split()) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.ns.delete()
        subprocess.run(["ip", "link", "del", self._veth], check=False, capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


class HostBed:
    """``count`` namespace hosts on one private bridge ``<prefix>-mh`` (the controller holds .1)."""

    def __init__(self, prefix: str, count: int) -> None:
        self.prefix = prefix
        self.subnet: ipaddress.IPv4Network = free_subnet()
        self.bridge = f"{prefix}-mh"
        addresses = list(self.subnet.hosts())
        self.controller_address = str(addresses[0])
        self.hosts: list[NsHost] = []
        self._count = count
        self._addresses = addresses

    def __enter__(self) -> HostBed:
        try:
            subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge", "stp_state", "0"], check=True)
            cidr = f"{self.controller_address}/{self.subnet.prefixlen}"
            subprocess.run(["ip", "addr", "add", cidr, "dev", self.bridge], check=True)
            subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)
            for i in range(self._count):
                address = str(self._addresses[10 + i])
                host = NsHost(f"{self.prefix}-h{i}", address, self.subnet.prefixlen, self.bridge, i + 1)
                self.hosts.append(host)
                host.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for host in reversed(self.hosts):
            host.stop()
        subprocess.run(["ip", "link", "del", self.bridge], check=False, capture_output=True)
