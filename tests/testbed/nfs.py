"""A userspace NFS server (nfs-ganesha, VFS backend) exporting one directory on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path("/var/tmp/sharedvirt-kvm/nfs")
CONF = """NFS_Core_Param {{
    Protocols = 3, 4;
    Bind_addr = 127.0.0.1;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    MNT_Port = 20048;
    Enable_UDP = false;
}}
NFSV4 {{ Graceless = true; }}
EXPORT {{
    Export_Id = 1;
    Path = {export};
    Pseudo = /svt;
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    Protocols = 3, 4;
    Transports = TCP;
    FSAL {{ Name = VFS; }}
}}
LOG {{ Default_Log_Level = EVENT; }}
"""


class Nfs:
    """ganesha.nfsd and the rpcbind it registers with; stopped by pid."""

    def __init__(self) -> None:
        self.export = ROOT / "export"
        self.pids: list[Path] = [ROOT / "ganesha.pid", ROOT / "rpcbind.pid"]

    def start(self) -> None:
        self.stop()
        self.export.mkdir(parents=True)
        self.export.chmod(0o777)
        Path("/var/lib/nfs/ganesha").mkdir(parents=True, exist_ok=True)
        (ROOT / "ganesha.conf").write_text(CONF.format(export=self.export))
        # "rpcbind -h 127.0.0.1" aborts with a double free on Debian 12; plain rpcbind is used.
        rpcbind = subprocess.Popen(["rpcbind", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        (ROOT / "rpcbind.pid").write_text(str(rpcbind.pid))
        time.sleep(0.3)
        subprocess.run(
            [
                "ganesha.nfsd",
                "-f",
                str(ROOT / "ganesha.conf"),
                "-L",
                str(ROOT / "ganesha.log"),
                "-p",
                str(ROOT / "ganesha.pid"),
                "-N",
                "NIV_EVENT",
            ],
            check=True,
        )
        for _attempt in range(100):
            probe = subprocess.run(["rpcinfo", "-p", "127.0.0.1"], capture_output=True, text=True, check=False)
            if "nfs" in probe.stdout:
                return
            time.sleep(0.1)
        raise RuntimeError("nfs-ganesha did not register with rpcbind within 10 s")

    def stop(self) -> None:
        for pidfile in self.pids:
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        time.sleep(0.3)
        for pidfile in self.pids:
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)
        subprocess.run(["rm", "-rf", str(ROOT)], check=False)
