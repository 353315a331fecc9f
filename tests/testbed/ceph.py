"""A single-node Ceph cluster on loopback: 1 mon, 1 mgr, 1 bluestore OSD on a sparse file.

Everything lives under one directory and is passed with -c; /etc/ceph is not touched. About 15 s
to a usable pool. Stopped by the daemons' pid files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

ROOT = Path("/var/tmp/sharedvirt-kvm/ceph")
MON = "127.0.0.1:6789"
CONF = """[global]
fsid = {fsid}
mon_host = [v2:{addr}:3300,v1:{addr}:6789]
public_addr = {addr}
cluster_addr = {addr}
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
mon_data_avail_warn = 5
auth_allow_insecure_global_id_reclaim = false
run_dir = {d}/run
admin_socket = {d}/run/$cluster-$name.asok
log_file = {d}/log/$cluster-$name.log
pid_file = {d}/run/$cluster-$name.pid
mon_data = {d}/mon/$cluster-$id
mgr_data = {d}/mgr/$cluster-$id
osd_data = {d}/osd/$cluster-$id
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_allow_pool_delete = true
[mon]
keyring = $mon_data/keyring
[mgr]
keyring = $mgr_data/keyring
[client.admin]
keyring = {d}/ceph.client.admin.keyring
[osd]
osd_objectstore = bluestore
keyring = $osd_data/keyring
bluestore_block_create = true
bluestore_block_size = 4294967296
osd_memory_target = 1073741824
"""


class Ceph:
    """The cluster; ``start()`` returns when the RBD pool takes writes."""

    def __init__(self, pool: str = "rbd", address: str = "127.0.0.1", root: Path = ROOT) -> None:
        self.pool = pool
        self.address = address  # where the mon listens (loopback, or a test bridge's address)
        self.root = root
        self.conf = root / "ceph.conf"

    def run(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def ceph(self, *args: str, stdin: str | None = None) -> str:
        return self.run("ceph", "-c", str(self.conf), *args, stdin=stdin)

    def start(self) -> None:
        self.stop()
        for sub in ("mon", "mgr", "osd", "run", "log"):
            (self.root / sub).mkdir(parents=True)
        fsid = str(uuid.uuid4())
        self.conf.write_text(CONF.format(fsid=fsid, d=self.root, addr=self.address))
        c = ["-c", str(self.conf)]
        mon_keyring, admin_keyring = str(self.root / "ceph.mon.keyring"), str(self.root / "ceph.client.admin.keyring")
        self.run("ceph-authtool", "--create-keyring", mon_keyring, "--gen-key", "-n", "mon.", "--cap", "mon", "allow *")
        self.run(
            "ceph-authtool", "--create-keyring", admin_keyring, "--gen-key", "-n", "client.admin",
            "--cap", "mon", "allow *", "--cap", "osd", "allow *", "--cap", "mds", "allow *", "--cap", "mgr", "allow *",
        )  # fmt: skip
        self.run("ceph-authtool", mon_keyring, "--import-keyring", admin_keyring)
        self.run(
            "monmaptool",
            "--create",
            "--addv",
            "a",
            f"[v2:{self.address}:3300,v1:{self.address}:6789]",
            "--fsid",
            fsid,
            str(self.root / "monmap"),
        )
        self.run("ceph-mon", *c, "--mkfs", "-i", "a", "--monmap", str(self.root / "monmap"), "--keyring", mon_keyring)
        self.run("ceph-mon", *c, "-i", "a")
        (self.root / "mgr" / "ceph-x").mkdir()
        self.ceph("auth", "get-or-create", "mgr.x", "mon", "allow profile mgr", "osd", "allow *", "mds", "allow *",
                  "-o", str(self.root / "mgr" / "ceph-x" / "keyring"))  # fmt: skip
        self.run("ceph-mgr", *c, "-i", "x")
        osd_uuid = str(uuid.uuid4())
        key = self.run("ceph-authtool", "--gen-print-key").strip()
        osd_id = self.ceph("osd", "new", osd_uuid, "-i", "-", stdin=f'{{"cephx_secret": "{key}"}}').strip()
        osd_dir = self.root / "osd" / f"ceph-{osd_id}"
        osd_dir.mkdir()
        self.run(
            "ceph-authtool", "--create-keyring", str(osd_dir / "keyring"), "--name", f"osd.{osd_id}", "--add-key", key
        )
        self.run("ceph-osd", *c, "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid)
        self.run("ceph-osd", *c, "-i", osd_id)
        for _attempt in range(240):
            if "1 up" in self.ceph("osd", "stat"):
                break
            time.sleep(0.5)
        else:
            raise RuntimeError("the Ceph OSD did not come up within 120 s")
        self.ceph("osd", "pool", "create", self.pool, "8", "8")
        self.run("rbd", *c, "pool", "init", self.pool)
        self.ceph(
            "auth", "get-or-create", "client.libvirt", "mon", "profile rbd", "osd", f"profile rbd pool={self.pool}"
        )  # fmt: skip

    def libvirt_key(self) -> str:
        """client.libvirt's cephx key, base64 as Ceph prints it."""
        return self.ceph("auth", "get-key", "client.libvirt").strip()

    def stop(self) -> None:
        pids = []
        for pidfile in (self.root / "run").glob("*.pid") if (self.root / "run").exists() else []:
            with contextlib.suppress(OSError, ValueError):
                pid = int(pidfile.read_text().strip())
                os.kill(pid, signal.SIGTERM)
                pids.append(pid)
        for _attempt in range(100):
            alive = [p for p in pids if _alive(p)]
            if not alive:
                break
            time.sleep(0.1)
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
