"""Host I/O for bridges: the snapshot the planner reads, and the executor of its steps."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import typing as t

from .._core.plan import Plan, Step
from .netlink import NetlinkClient
from .ovs import OvsClient, port_settings
from .persist import DIRS, HEADER, detect_backend, file_mode
from .plan import HostNet

INTERFACES = "/etc/network/interfaces"


def host_backend() -> str:
    """The network stack that configures this host at boot."""
    return detect_backend(
        nm_running=_nm_running(),
        networkd_running=os.path.exists("/run/systemd/netif/state"),
        ifupdown_present=os.path.exists(INTERFACES),
    )


def _nm_running() -> bool:
    nmcli = shutil.which("nmcli")
    if nmcli is None:
        return False
    done = subprocess.run([nmcli, "-t", "-f", "RUNNING", "general"], capture_output=True, text=True, check=False)
    return done.returncode == 0 and done.stdout.strip() == "running"


def owned_files(backend: str, bridges: t.Sequence[str]) -> t.Dict[str, str]:
    """Our persistence files for ``bridges``: recognised by the header we write, never by name alone."""
    if backend == "none" or not os.path.isdir(DIRS[backend]):
        return {}
    headers = {HEADER.format(bridge=name) for name in bridges}
    out = {}
    for entry in sorted(os.listdir(DIRS[backend])):
        path = os.path.join(DIRS[backend], entry)
        if "sharedvirt-" not in entry or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        if text.split("\n", 1)[0].lstrip("# ") in headers:
            out[path] = text
    return out


def ifupdown_sources_dir() -> bool:
    """Whether /etc/network/interfaces reads the files in interfaces.d."""
    try:
        with open(INTERFACES, encoding="utf-8") as handle:
            lines = [line.split() for line in handle]
    except OSError:
        return False
    return any(
        words and (words[0] == "source-directory" or (words[0] == "source" and "interfaces.d" in " ".join(words[1:])))
        for words in lines
    )


class BridgeExecutor:
    """Reads the host and carries out bridge plans through netlink, OVSDB and files."""

    def __init__(self, netlink: NetlinkClient, ovs: OvsClient) -> None:
        self.netlink = netlink
        self.ovs = ovs

    @classmethod
    def open(cls) -> BridgeExecutor:
        return cls(NetlinkClient.open(), OvsClient())

    def close(self) -> None:
        self.netlink.close()

    def read(self, bridges: t.Sequence[str], backend: str) -> HostNet:
        return HostNet(
            links=self.netlink.links(),
            ovs=self.ovs.bridges() if self.ovs.running() else None,
            files=owned_files(backend, bridges),
        )

    def apply(self, plan: Plan) -> None:
        for step in plan.steps:
            self._do(step)
        if any(s.op in ("write_file", "remove_file") for s in plan.steps) and _nm_running():
            # NetworkManager reads keyfiles on reload; it applies them at its next activation.
            subprocess.run(["nmcli", "connection", "reload"], capture_output=True, check=False)

    def _do(self, step: Step) -> None:
        args = step.args
        nl = self.netlink
        if step.op == "bridge_add":
            nl.add_bridge(args["name"], args["attrs"])
        elif step.op == "bridge_set":
            nl.set_bridge(args["name"], args["attrs"])
        elif step.op == "bridge_del":
            for port in args["delete_ports"]:
                nl.delete(port)
            nl.delete(args["name"])
        elif step.op == "vlan_add":
            nl.add_vlan(args["name"], args["parent"], args["vlan"])
        elif step.op == "enslave":
            nl.enslave(args["port"], args["bridge"])
        elif step.op == "release":
            nl.release(args["port"], args["bridge"], args["delete"])
        elif step.op == "port_set":
            nl.set_port(args["port"], args["attrs"], args["before"])
        elif step.op == "move_addresses":
            nl.move_addresses(args["port"], args["bridge"], args["addresses"])
        elif step.op == "addresses":
            nl.set_addresses(args["name"], args["add"], args["remove"])
        elif step.op == "mtu":
            if args["ovs"]:
                self.ovs.transact([["set", "Interface", args["name"], f"mtu_request={args['mtu']}"]], "set the MTU")
            else:
                nl.set_mtu(args["name"], args["mtu"])
        elif step.op == "link_up":
            nl.up(args["name"])
        elif step.op.startswith("ovs_"):
            self._ovs(step)
        elif step.op == "write_file":
            write_file(args["path"], args["content"])
        elif step.op == "remove_file":
            os.unlink(args["path"])

    def _ovs(self, step: Step) -> None:
        args = step.args
        if step.op == "ovs_add_bridge":
            name = args["name"]
            command = [["add-br", name]]
            settings = [f"{k if k != 'stp' else 'stp_enable'}={_ovs_value(v)}" for k, v in args["attrs"].items()]
            if settings:
                command.append(["set", "Bridge", name, *settings])
            self.ovs.transact(command, f"create Open vSwitch bridge {name}")
        elif step.op == "ovs_set_bridge":
            name = args["name"]
            settings = [f"{k if k != 'stp' else 'stp_enable'}={_ovs_value(v)}" for k, v in args["attrs"].items()]
            self.ovs.transact([["set", "Bridge", name, *settings]], f"set {', '.join(args['attrs'])} of bridge {name}")
        elif step.op == "ovs_add_port":
            port = args["port"]
            self.ovs.transact(
                [["add-port", args["bridge"], port, *port_settings(args["tag"], args["trunks"])]],
                f"add port {port} to bridge {args['bridge']}",
            )
        elif step.op == "ovs_set_port":
            port = args["port"]
            attrs = args["attrs"]
            commands = []
            for column in ("tag", "trunks"):
                if column in attrs:
                    value = attrs[column]
                    commands.append(["clear", "Port", port, column])
                    if value:
                        commands.append(
                            [
                                "set",
                                "Port",
                                port,
                                *port_settings(
                                    value if column == "tag" else None, value if column == "trunks" else None
                                ),
                            ]
                        )
            self.ovs.transact(commands, f"set {', '.join(attrs)} of port {port}")
        elif step.op == "ovs_del_port":
            self.ovs.transact([["del-port", args["bridge"], args["port"]]], f"remove port {args['port']}")
        elif step.op == "ovs_del_bridge":
            self.ovs.transact([["del-br", args["name"]]], f"delete Open vSwitch bridge {args['name']}")


def _ovs_value(value: t.Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def write_file(path: str, content: str) -> None:
    """Replace ``path`` atomically (a reader sees the old or the new file, never half of one)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=directory, prefix=".sharedvirt-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(content)
        os.chmod(temp, file_mode(path))
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
