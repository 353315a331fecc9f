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

from .._core.executor import Executor
from .._core.plan import Plan, Step
from .host_model import HostNet, vlan_action
from .netlink import NetlinkClient, require_8021q
from .ovs import OvsClient, port_settings
from .persist import DIRS, HEADER, detect_backend, file_mode

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


class BridgeExecutor(Executor):
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

    def apply(self, plan: Plan, completed: t.Optional[t.List[str]] = None) -> None:
        vlan = next((s.args for s in plan.steps if s.op == "vlan_add"), None)
        if vlan is not None:
            require_8021q(vlan_action(vlan["name"], vlan["parent"], vlan["vlan"]))
        super().apply(plan, completed)
        if any(s.op in ("write_file", "remove_file") for s in plan.steps) and _nm_running():
            # NetworkManager reads keyfiles on reload; it applies them at its next activation.
            subprocess.run(["nmcli", "connection", "reload"], capture_output=True, check=False)

    def _step_bridge_add(self, plan: Plan, step: Step) -> None:
        self.netlink.add_bridge(step.args["name"], step.args["attrs"])

    def _step_bridge_set(self, plan: Plan, step: Step) -> None:
        self.netlink.set_bridge(step.args["name"], step.args["attrs"])

    def _step_bridge_del(self, plan: Plan, step: Step) -> None:
        for port in step.args["delete_ports"]:
            self.netlink.delete(port)
        self.netlink.delete(step.args["name"])

    def _step_vlan_add(self, plan: Plan, step: Step) -> None:
        self.netlink.add_vlan(step.args["name"], step.args["parent"], step.args["vlan"])

    def _step_enslave(self, plan: Plan, step: Step) -> None:
        self.netlink.enslave(step.args["port"], step.args["bridge"])

    def _step_release(self, plan: Plan, step: Step) -> None:
        self.netlink.release(step.args["port"], step.args["bridge"], step.args["delete"])

    def _step_port_set(self, plan: Plan, step: Step) -> None:
        self.netlink.set_port(step.args["port"], step.args["attrs"], step.args["before"])

    def _step_move_addresses(self, plan: Plan, step: Step) -> None:
        self.netlink.move_addresses(step.args["port"], step.args["bridge"], step.args["addresses"])

    def _step_addresses(self, plan: Plan, step: Step) -> None:
        self.netlink.set_addresses(step.args["name"], step.args["add"], step.args["remove"])

    def _step_mtu(self, plan: Plan, step: Step) -> None:
        args = step.args
        if args["ovs"]:
            self.ovs.transact([["set", "Interface", args["name"], f"mtu_request={args['mtu']}"]], "set the MTU")
        else:
            self.netlink.set_mtu(args["name"], args["mtu"])

    def _step_link_up(self, plan: Plan, step: Step) -> None:
        self.netlink.up(step.args["name"])

    def _step_write_file(self, plan: Plan, step: Step) -> None:
        write_file(step.args["path"], step.args["content"])

    def _step_remove_file(self, plan: Plan, step: Step) -> None:
        os.unlink(step.args["path"])

    def _step_ovs_add_bridge(self, plan: Plan, step: Step) -> None:
        name = step.args["name"]
        command = [["add-br", name]]
        settings = _ovs_bridge_settings(step.args["attrs"])
        if settings:
            command.append(["set", "Bridge", name, *settings])
        self.ovs.transact(command, f"create Open vSwitch bridge {name}")

    def _step_ovs_set_bridge(self, plan: Plan, step: Step) -> None:
        name, attrs = step.args["name"], step.args["attrs"]
        self.ovs.transact(
            [["set", "Bridge", name, *_ovs_bridge_settings(attrs)]], f"set {', '.join(attrs)} of bridge {name}"
        )

    def _step_ovs_add_port(self, plan: Plan, step: Step) -> None:
        args = step.args
        self.ovs.transact(
            [["add-port", args["bridge"], args["port"], *port_settings(args["tag"], args["trunks"])]],
            f"add port {args['port']} to bridge {args['bridge']}",
        )

    def _step_ovs_set_port(self, plan: Plan, step: Step) -> None:
        port, attrs = step.args["port"], step.args["attrs"]
        commands = []
        for column in ("tag", "trunks"):
            if column in attrs:
                value = attrs[column]
                commands.append(["clear", "Port", port, column])
                if value:
                    tag, trunks = (value, None) if column == "tag" else (None, value)
                    commands.append(["set", "Port", port, *port_settings(tag, trunks)])
        self.ovs.transact(commands, f"set {', '.join(attrs)} of port {port}")

    def _step_ovs_del_port(self, plan: Plan, step: Step) -> None:
        self.ovs.transact([["del-port", step.args["bridge"], step.args["port"]]], f"remove port {step.args['port']}")

    def _step_ovs_del_bridge(self, plan: Plan, step: Step) -> None:
        self.ovs.transact([["del-br", step.args["name"]]], f"delete Open vSwitch bridge {step.args['name']}")


def _ovs_bridge_settings(attrs: t.Mapping[str, t.Any]) -> t.List[str]:
    return [f"{k if k != 'stp' else 'stp_enable'}={_ovs_value(v)}" for k, v in attrs.items()]


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
