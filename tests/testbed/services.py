"""Make sure the daemons of the test platform run: virtlogd, virtlockd (the lock manager) and libvirtd.

systemd hosts use the units; elsewhere (containers, CI sandboxes whose PID 1 is not systemd) the
daemons are started by hand with pid files. libvirtd loads its storage backends only when it
starts, so a libvirtd older than an installed backend is restarted (running guests survive a
libvirtd restart). Usage: services.py ensure|status|stop
"""

from __future__ import annotations

import glob
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

URI = "qemu:///system"
PIDFILES = {"virtlogd": "/run/virtlogd.pid", "virtlockd": "/run/virtlockd.pid", "libvirtd": "/run/libvirtd.pid"}
BACKENDS = "/usr/lib/*/libvirt/storage-backend/*.so"
WAIT_SECONDS = 30


def log(message: str) -> None:
    print(f"services: {message}", flush=True)


def pid1_is_systemd() -> bool:
    return os.path.isdir("/run/systemd/system")


def running_pid(name: str) -> int | None:
    """PID of the daemon from its pid file, if that process is alive and is the daemon."""
    try:
        with open(PIDFILES[name], encoding="ascii") as handle:
            pid = int(handle.read().strip())
        with open(f"/proc/{pid}/comm", encoding="ascii") as handle:
            return pid if handle.read().strip() == name else None
    except (OSError, ValueError):
        return None


def started_at(pid: int) -> float:
    return os.stat(f"/proc/{pid}").st_mtime


def newest_backend() -> float:
    # ctime: when the package put the file here (its mtime is the build time inside the package).
    return max((os.stat(p).st_ctime for p in glob.glob(BACKENDS)), default=0.0)


def answers() -> bool:
    result = subprocess.run(["virsh", "-c", URI, "uri"], capture_output=True, text=True, check=False)
    return result.returncode == 0


def wait_until_answering() -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if answers():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{URI} did not answer within {WAIT_SECONDS} s; see /var/log/libvirt/libvirtd.log")


def stop_daemon(name: str) -> None:
    pid = running_pid(name)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    for _attempt in range(100):
        if running_pid(name) is None:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def start_daemon(name: str) -> None:
    subprocess.run([name, "-d", "-p", PIDFILES[name]], check=True)
    log(f"started {name}")


QEMU_CONF = "/etc/libvirt/qemu.conf"
LOCK_MANAGER = 'lock_manager = "lockd"'


def use_lock_manager() -> bool:
    """This machine is a cluster hypervisor like any other: libvirtd with lockd, written as the hypervisor
    role writes it (so the role, run here by the demo and molecule, finds nothing to change). True when
    qemu.conf changed."""
    lines = Path(QEMU_CONF).read_text(encoding="utf-8").splitlines()
    matches = [i for i, line in enumerate(lines) if re.match(r"^\s*#?\s*lock_manager\s*=", line)]
    if matches and lines[matches[-1]] == LOCK_MANAGER:
        return False
    if matches:
        lines[matches[-1]] = LOCK_MANAGER  # the last match, as ansible.builtin.lineinfile replaces
    else:
        lines.append(LOCK_MANAGER)
    with open(QEMU_CONF, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    log(f"qemu.conf: {LOCK_MANAGER}")
    return True


def ensure() -> None:
    reconfigured = use_lock_manager()
    if pid1_is_systemd():
        subprocess.run(["systemctl", "start", "virtlogd", "virtlockd", "libvirtd"], check=True)
        if reconfigured:
            subprocess.run(["systemctl", "restart", "libvirtd"], check=True)
    else:
        # virtlockd runs even where qemu.conf says lock_manager = "nop": the hypervisor role (and its
        # molecule scenario on this machine) switches libvirtd to lockd, which then needs it.
        for daemon in ("virtlogd", "virtlockd"):
            if running_pid(daemon) is None:
                start_daemon(daemon)
        pid = running_pid("libvirtd")
        if pid is not None and (reconfigured or started_at(pid) < newest_backend()):
            log("libvirtd predates its configuration or an installed storage backend; restarting it")
            stop_daemon("libvirtd")
            pid = None
        if pid is None:
            start_daemon("libvirtd")
    wait_until_answering()
    # The packaged NAT network reaches outside; never let it start on its own.
    subprocess.run(
        ["virsh", "-q", "-c", URI, "net-autostart", "default", "--disable"], capture_output=True, check=False
    )
    log(f"libvirtd answers on {URI}")


OVS_RUN = "/run/openvswitch"
OVS_DB = "/etc/openvswitch/conf.db"
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


def ovs_answers() -> bool:
    done = subprocess.run(["ovs-vsctl", "--timeout=2", "show"], capture_output=True, check=False)
    return done.returncode == 0


def ensure_ovs() -> None:
    """Open vSwitch in userspace: ovsdb-server and ovs-vswitchd (bridges use datapath_type=netdev).

    This kernel has no openvswitch module; the userspace datapath needs none.
    """
    if pid1_is_systemd():
        subprocess.run(["systemctl", "start", "openvswitch-switch"], check=True)
        return
    if not ovs_answers():
        os.makedirs(OVS_RUN, exist_ok=True)
        if not os.path.exists(OVS_DB):
            subprocess.run(["ovsdb-tool", "create", OVS_DB, OVS_SCHEMA], check=True)
        remotes = ["--remote=punix:/run/openvswitch/db.sock", "--remote=db:Open_vSwitch,Open_vSwitch,manager_options"]
        subprocess.run(["ovsdb-server", *remotes, "--pidfile", "--detach", "--log-file"], check=True)
        subprocess.run(["ovs-vsctl", "--no-wait", "init"], check=True)
        log("started ovsdb-server")
    vswitchd = subprocess.run(["pgrep", "-x", "ovs-vswitchd"], capture_output=True, check=False)
    if vswitchd.returncode != 0:
        subprocess.run(["ovs-vswitchd", "--pidfile", "--detach", "--log-file"], check=True, capture_output=True)
        log("started ovs-vswitchd")


def status() -> None:
    for name in PIDFILES:
        pid = running_pid(name)
        log(f"{name}: {f'running, pid {pid}' if pid else 'not running'}")
    log(f"{URI}: {'answers' if answers() else 'no answer'}")


def main(argv: list[str]) -> None:
    action = argv[1] if len(argv) > 1 else "ensure"
    if action == "ensure":
        try:
            ensure()
        except (RuntimeError, subprocess.CalledProcessError) as err:
            sys.exit(f"services: {err}")
    elif action == "status":
        status()
    elif action == "stop":
        for name in ("libvirtd", "virtlockd", "virtlogd"):
            stop_daemon(name)
    else:
        sys.exit("usage: services.py ensure|status|stop")


if __name__ == "__main__":
    main(sys.argv)
