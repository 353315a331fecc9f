"""A plain host bridge whose DHCP server is someone else's: dnsmasq in a private network namespace.

This is the "bridged VM" case libvirt knows nothing about: no libvirt network, no libvirt leases.
The host has an address on the bridge (so it can ARP there), the namespace holds .2 and serves
DHCP from .100 to .150. Nothing routes or forwards: the traffic never leaves the bridge.
"""

from __future__ import annotations

import ipaddress
import subprocess
import tempfile
from pathlib import Path

from .netns import NetNs


class OutsideDhcp:
    """Bridge ``<prefix>-br`` with ``subnet``'s first address, and dnsmasq in netns ``<prefix>-dhcp``.

    The bridge is this machine's, or with ``host_ns`` one inside that namespace (a namespace hypervisor's).
    """

    def __init__(
        self,
        prefix: str,
        subnet: ipaddress.IPv4Network,
        host_ns: str | None = None,
        make_bridge: bool = True,
        vlan: int | None = None,
    ) -> None:
        """``make_bridge=False``: only the uplink (veth ``uplink``, its peer in the server's namespace) is made;
        the caller builds the bridge with it as a port and ``host_address`` on it (the bridge module does).
        ``vlan``: the server answers on that VLAN of its end only (a tagged sub-interface, which needs 8021q)."""
        self.bridge = f"{prefix}-br"
        self.make_bridge = make_bridge
        self.server_interface = "eth0" if vlan is None else f"eth0.{vlan}"
        self.vlan = vlan
        self._ip = ["ip", "-n", host_ns] if host_ns else ["ip"]
        self.subnet = subnet
        hosts = list(subnet.hosts())
        self.host_address, self.server_address = str(hosts[0]), str(hosts[1])
        self.pool = (str(hosts[99]), str(hosts[149]))
        self.uplink = f"{prefix}-v"
        self._tmp = Path(tempfile.mkdtemp(prefix="svkvm-dhcp-"))
        self._dnsmasq: subprocess.Popen[bytes] | None = None
        self.ns = NetNs(f"{prefix}-dhcp")
        try:
            self._build(prefix)
        except BaseException:
            self.stop()
            raise

    def _build(self, prefix: str) -> None:
        run = [*self._ip, "link"]
        if self.make_bridge:
            subprocess.run([*run, "add", self.bridge, "type", "bridge", "stp_state", "0"], check=True)
            address = f"{self.host_address}/{self.subnet.prefixlen}"
            subprocess.run([*self._ip, "addr", "add", address, "dev", self.bridge], check=True)
            subprocess.run([*run, "set", self.bridge, "up"], check=True)
        subprocess.run(
            [*run, "add", self.uplink, "type", "veth", "peer", "name", "eth0", "netns", self.ns.name], check=True
        )
        if self.make_bridge:
            subprocess.run([*run, "set", self.uplink, "master", self.bridge, "up"], check=True)
        self.ns.ip("link", "set", "eth0", "up")
        if self.vlan is not None:
            self.ns.ip(
                "link", "add", "link", "eth0", "name", self.server_interface, "type", "vlan", "id", str(self.vlan)
            )
            self.ns.ip("link", "set", self.server_interface, "up")
        self.ns.ip("addr", "add", f"{self.server_address}/{self.subnet.prefixlen}", "dev", self.server_interface)
        self._dnsmasq = subprocess.Popen(
            [
                "ip", "netns", "exec", self.ns.name, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
                "--port=0", "--no-resolv", "--no-hosts", f"--interface={self.server_interface}", "--bind-interfaces",
                f"--dhcp-range={self.pool[0]},{self.pool[1]},{self.subnet.netmask},1h",
                f"--dhcp-leasefile={self._tmp / 'leases'}", f"--pid-file={self._tmp / 'pid'}",
                "--user=root", "--group=root", "--log-facility=-", "--log-dhcp",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self._tmp / "log").open("wb"),
        )  # fmt: skip

    def leases(self) -> str:
        """dnsmasq's lease file (what the outside server handed out)."""
        path = self._tmp / "leases"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self._dnsmasq is not None:
            self._dnsmasq.terminate()
            self._dnsmasq.wait(10)
        self.ns.delete()
        subprocess.run([*self._ip, "link", "del", self.bridge], check=False, capture_output=True)
        subprocess.run(["rm", "-rf", str(self._tmp)], check=False)
