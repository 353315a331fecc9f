"""The embedded guest: a Debian kernel plus a busybox initramfs, built from the host's packages.

It boots in seconds under TCG, takes DHCP on every NIC, runs the QEMU guest agent, answers ACPI
power-off, and can write and read disk markers -- enough to prove networks, agents and shared
disks for real, with no image download. Packages: linux-image-amd64, busybox-static,
qemu-guest-agent (optional). Output is cached by a hash of every input.

Kernel command line parameters read by /init:
  sv_hostname=NAME        DHCP host name (default svkvm)
  sv_load=m1,m2           extra kernel modules to load (8021q, bridge, ...)
  sv_disk=/dev/vdb        block device for markers; waits up to 300 s for it (hot-plug)
  sv_write=TEXT           write "SVKVM-MARK TEXT" to 4 KiB block sv_sector (default 0), O_DIRECT
  sv_read=0,1             re-read these 4 KiB blocks every 2 s and print changes
  sv_tick=1               with sv_write: rewrite the mark every second as "SVKVM-MARK TEXT N" (N counts up)
  sv_ignore_poweroff=1    do not react to the ACPI power button
  sv_ip=10.0.0.5/24       a static address on eth0 instead of DHCP (networks without a DHCP server)
  sv_watchdog=SECONDS     feed /dev/watchdog (5 s timeout) for SECONDS, then stop without closing it cleanly
  sv_ping=IP1,IP2         ping each every 2 s; print each result that differs from the last, and every 5th
  sv_beat=MS              print "SVKVM-BEAT N" every MS milliseconds (a host watching the log sees pauses)
  sv_dirty=MIB            rewrite a MIB MiB buffer in RAM in a loop (non-zero data; every pass dirties every page)
  sv_appliance=SERIAL     run /sbin/svkvm-appliance (the storage appliance image only) with its settings disk
Marks are 4 KiB blocks, not 512-byte sectors: two guests' marks in one 4 KiB page were once lost in CI (a
write smaller than a layer's 4 KiB granularity is read, modified and written back whole, and the other
guest's mark with it). Real shared-disk users write whole blocks of their file system.
Serial console markers: SVKVM-BOOT, SVKVM-NIC, SVKVM-IP, SVKVM-AGENT, SVKVM-READY, SVKVM-WROTE,
SVKVM-READ, SVKVM-TICK, SVKVM-PING, SVKVM-BEAT, SVKVM-DIRTY, SVKVM-WATCHDOG, SVKVM-POWEROFF.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import subprocess
import typing as t

from .pvh import pvh_kernel

BUILDER_VERSION = "5"
DEFAULT_CACHE = "/var/cache/sharedvirt-kvm/guest"
DEFAULT_CMDLINE = "console=ttyS0 quiet"
MARKER_READY = "SVKVM-READY"
# Loaded at boot, in this order after their dependencies.
BOOT_MODULES = (
    "virtio_pci",
    "virtio_net",
    "virtio_blk",
    "virtio_scsi",
    "sd_mod",
    "sg",
    "virtio_balloon",
    "virtio_console",
    "virtio_rng",
    "button",
    "evdev",
)
# Shipped for tests that configure VLANs or bridges inside the guest (sv_load=8021q,bridge).
# i6300esb: the watchdog a test lets starve (sv_load=i6300esb sv_watchdog=SECONDS).
OPTIONAL_MODULES = ("8021q", "bridge", "i6300esb")

INIT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /var /bin /sbin
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
ln -sf /run /var/run
exec >/dev/console 2>&1
echo "SVKVM-BOOT kernel=$(uname -r)"
for p in $(cat /proc/cmdline); do
  case $p in sv_*=*) eval "${p%%=*}='${p#*=}'";; esac
done
HN=${sv_hostname:-svkvm}
hostname "$HN"
# /etc/modules.need/NAME lists an optional module with its dependencies, dependencies first.
for m in $(cat /etc/modules.boot) $(for o in $(echo "$sv_load" | tr ',' ' '); do cat "/etc/modules.need/$o"; done); do
  grep -q "^${m%.ko} " /proc/modules || insmod "/lib/modules/$m.ko" || echo "SVKVM-INSMOD-FAIL $m"
done
ip link set lo up
# sv_ignore_poweroff=1 makes a guest that ignores the power button (to test forced shutdown).
[ -z "$sv_ignore_poweroff" ] && acpid -c /etc/acpi -l /dev/null -p /run/acpid.pid
# Wait (5 s at most) until every virtio NIC (device id 0x0001) has its interface.
want=$(cat /sys/bus/virtio/devices/*/device 2>/dev/null | grep -c '^0x0001$')
n=0; while [ "$(ls /sys/class/net | grep -c '^eth')" -lt "$want" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
for dev in /sys/class/net/*; do
  i=${dev##*/}; [ "$i" = lo ] && continue
  echo "SVKVM-NIC $i mac=$(cat $dev/address)"
  ip link set "$i" up
  if [ "$i" = eth0 ] && [ -n "$sv_ip" ]; then
    ip addr add "$sv_ip" dev eth0 && echo "SVKVM-IP eth0 ${sv_ip%/*}"
    continue
  fi
  udhcpc -i "$i" -b -t 30 -T 2 -A 5 -x "hostname:$HN" -s /etc/udhcpc/default.script \
    -p "/run/udhcpc.$i.pid" >/dev/null 2>&1 &
done
for port in /sys/class/virtio-ports/*; do
  [ "$(cat "$port/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] || continue
  AG=/dev/${port##*/}
  n=0; while [ ! -c "$AG" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
  if [ -x /usr/sbin/qemu-ga ]; then
    /usr/sbin/qemu-ga -m virtio-serial -p "$AG" -d -f /run/qemu-ga.pid -t /run && echo "SVKVM-AGENT $AG"
  fi
done
if [ -n "$sv_watchdog" ]; then
  (
    n=0; while [ ! -c /dev/watchdog ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
    watchdog -F -T 5 -t 1 /dev/watchdog & feeder=$!
    echo "SVKVM-WATCHDOG feeding for ${sv_watchdog}s"
    sleep "$sv_watchdog"
    kill -9 "$feeder"  # gone without the magic close: the device keeps counting down
    echo "SVKVM-WATCHDOG stopped feeding"
  ) &
fi
if [ -n "$sv_disk" ]; then
  (
    n=0; while [ ! -b "$sv_disk" ] && [ $n -lt 300 ]; do sleep 1; n=$((n+1)); done
    if [ -n "$sv_write" ]; then
      echo "SVKVM-MARK $sv_write" \
        | dd of="$sv_disk" bs=4096 count=1 seek="${sv_sector:-0}" conv=sync,fsync oflag=direct 2>/dev/null \
        && echo "SVKVM-WROTE $sv_disk sector=${sv_sector:-0} mark=$sv_write"
    fi
    if [ -n "$sv_write" ] && [ -n "$sv_tick" ]; then
      (
        n=0
        while :; do
          n=$((n+1))
          echo "SVKVM-MARK $sv_write $n" \
            | dd of="$sv_disk" bs=4096 count=1 seek="${sv_sector:-0}" conv=sync,fsync oflag=direct 2>/dev/null \
            && echo "SVKVM-TICK $sv_write $n"
          sleep 1
        done
      ) &
    fi
    last=""
    while [ -n "$sv_read" ]; do
      line=""
      for s in $(echo "$sv_read" | tr ',' ' '); do
        v=$(dd if="$sv_disk" bs=4096 count=1 skip="$s" iflag=direct 2>/dev/null | head -c 64 | tr -d '\000\n')
        line="$line s$s=<$v>"
      done
      [ "$line" != "$last" ] && echo "SVKVM-READ $sv_disk$line" && last=$line
      sleep 2
    done
  ) &
fi
for peer in $(echo "$sv_ping" | tr ',' ' '); do
  (
    last=""; n=0
    while :; do
      n=$((n+1))
      if ping -c 1 -W 1 "$peer" >/dev/null 2>&1; then r=ok; else r=fail; fi
      # Each change, and every 5th round as a heartbeat (a migrated guest's log must visibly go on).
      if [ "$r" != "$last" ] || [ $((n % 5)) -eq 0 ]; then echo "SVKVM-PING $peer $r seq=$n"; last=$r; fi
      sleep 2
    done
  ) &
done
if [ -n "$sv_dirty" ]; then
  (
    # Its own tmpfs: the root one is capped at half the RAM and already holds the initramfs.
    mkdir -p /dirty && mount -t tmpfs -o size=$((2 * sv_dirty + 4))m dirty /dirty
    # yes's text, not zeros (a migration sends a zero page as a few bytes); then the kernel's copy from it
    # rewrites the buffer far faster than a shell pipe could under TCG.
    yes svkvm-dirty | dd of=/dirty/seed bs=1M count="$sv_dirty" iflag=fullblock 2>/dev/null
    n=0
    while dd if=/dirty/seed of=/dirty/buffer bs=1M conv=notrunc 2>/dev/null; do
      n=$((n+1))
      [ $((n % 20)) -eq 1 ] && echo "SVKVM-DIRTY pass=$n mib=$sv_dirty"
    done
    echo "SVKVM-DIRTY-FAIL pass=$n"
  ) &
fi
if [ -n "$sv_beat" ]; then
  ( n=0; while :; do n=$((n+1)); echo "SVKVM-BEAT $n"; usleep $((sv_beat * 1000)); done ) &
fi
# A storage appliance (appliance_image.py) exports its disks; its settings are on the disk with serial sv_appliance.
[ -n "$sv_appliance" ] && [ -x /sbin/svkvm-appliance ] && /sbin/svkvm-appliance "$sv_appliance" &
echo "SVKVM-READY hostname=$HN"
while :; do sleep 3600; done
"""

DHCP_SCRIPT = r"""#!/bin/sh
# udhcpc event hook: configure the leased address and report it on the console.
case "$1" in
  deconfig)
    ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    if ! ip addr show dev "$interface" | grep -q "inet $ip/"; then
      ip addr flush dev "$interface"
      ip addr add "$ip/${mask:-24}" dev "$interface"
    fi
    echo "SVKVM-IP $interface $ip" > /dev/console ;;
esac
"""

# acpid runs /etc/acpi/PWRF/00000080 for the power button (virsh shutdown); qemu-ga runs
# /sbin/shutdown for guest-shutdown. Both end in an immediate, synced power-off.
POWEROFF = r"""#!/bin/sh
echo "SVKVM-POWEROFF $0 $*" > /dev/console
sync
case " $* " in *" -r "*) exec reboot -f ;; esac
exec poweroff -f
"""


class GuestImageError(RuntimeError):
    """The embedded guest cannot be built on this host; says which package is missing."""


@dataclasses.dataclass
class GuestImage:
    """A built guest: paths of kernel and initramfs, and the hash they are cached under.

    ``kernel`` is what a BIOS guest boots: the uncompressed PVH kernel where the host's kernel has one (half
    the boot time under TCG, tests/testbed/pvh.py), else the bzImage. ``bzimage`` is for UEFI guests.
    """

    kernel: str
    initrd: str
    key: str
    kernel_release: str
    agent: bool
    bzimage: str = ""
    cmdline: str = DEFAULT_CMDLINE

    def to_dict(self) -> t.Dict[str, t.Any]:
        """Facts for module results."""
        return dataclasses.asdict(self)


def find_kernel(boot: str = "/boot", modules_root: str = "/lib/modules") -> t.Tuple[str, str]:
    """The newest /boot/vmlinuz-* that has its module tree: (path, release)."""
    found = []
    for path in glob.glob(os.path.join(boot, "vmlinuz-*")):
        release = os.path.basename(path)[len("vmlinuz-") :]
        if os.path.isfile(os.path.join(modules_root, release, "modules.dep")):
            found.append((_release_key(release), path, release))
    if not found:
        raise GuestImageError(
            f"no kernel with modules in {boot} and {modules_root}; install the Debian package linux-image-amd64"
        )
    found.sort()
    return found[-1][1], found[-1][2]


def _release_key(release: str) -> t.Tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", release))


def module_order(modules_dep: str, builtin: t.Iterable[str], wanted: t.Iterable[str]) -> t.List[str]:
    """Relative .ko paths for ``wanted`` modules and their dependencies, dependencies first.

    ``modules_dep`` is the text of modules.dep; built-in modules need no file and are skipped.
    """
    deps: t.Dict[str, t.List[str]] = {}
    by_name: t.Dict[str, str] = {}
    for line in modules_dep.splitlines():
        if ":" not in line:
            continue
        path, rest = line.split(":", 1)
        deps[path] = rest.split()
        by_name[_module_name(path)] = path
    builtin_names = {_module_name(p) for p in builtin}
    order: t.List[str] = []

    def visit(path: str) -> None:
        if path in order:
            return
        # modules.dep lists every transitive dependency; visiting them first gives a load order.
        for dep in reversed(deps.get(path, [])):
            visit(dep)
        order.append(path)

    for name in wanted:
        key = name.replace("-", "_")
        if key in builtin_names:
            continue
        if key not in by_name:
            raise GuestImageError(f"kernel module {name!r} is neither built in nor in modules.dep")
        visit(by_name[key])
    return order


def _module_name(path: str) -> str:
    base = os.path.basename(path)
    for suffix in (".ko.xz", ".ko.zst", ".ko.gz", ".ko"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


def shared_libraries(binary: str, library_dirs: t.Sequence[str] = ()) -> t.List[str]:
    """Absolute paths of the shared libraries ``binary`` loads (from ldd), loader included; ``library_dirs`` are
    searched first (libraries of unpacked packages)."""
    env = dict(os.environ, LD_LIBRARY_PATH=":".join(library_dirs)) if library_dirs else None
    output = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True, env=env).stdout
    paths = []
    for line in output.splitlines():
        match = re.search(r"(/\S+)\s+\(0x", line)
        if match:
            paths.append(match.group(1))
    return sorted(set(paths))


class Cpio:
    """A deterministic cpio archive in the kernel's "newc" format."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.inode = 1
        self.seen: t.Set[str] = set()

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: t.Tuple[int, int] = (0, 0)) -> None:
        name = name.lstrip("/")
        fields = [self.inode, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
        header = "070701" + "".join(f"{v:08x}" for v in fields)
        self.buffer.write(header.encode() + name.encode() + b"\0")
        self._pad()
        self.buffer.write(data)
        self._pad()
        self.inode += 1

    def _pad(self) -> None:
        self.buffer.write(b"\0" * (-self.buffer.tell() % 4))

    def directory(self, name: str) -> None:
        """Add ``name`` and its parents as directories (once each)."""
        parts = name.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            path = "/".join(parts[:i])
            if path and path not in self.seen:
                self.seen.add(path)
                self._entry(path, 0o040755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        """Add a regular file (parents first)."""
        self.directory(os.path.dirname(name.strip("/")))
        self._entry(name, 0o100000 | mode, data)

    def symlink(self, name: str, target: str) -> None:
        """Add a symbolic link."""
        self.directory(os.path.dirname(name.strip("/")))
        self._entry(name, 0o120777, target.encode())

    def chardev(self, name: str, major: int, minor: int) -> None:
        """Add a character device node (no privileges needed to archive it)."""
        self.directory(os.path.dirname(name.strip("/")))
        self._entry(name, 0o020600, rdev=(major, minor))

    def finish(self) -> bytes:
        """The archive, trailer included."""
        self._entry("TRAILER!!!", 0)
        return self.buffer.getvalue()


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _module_bytes(path: str) -> bytes:
    data = _read(path)
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        raise GuestImageError(f"{path} is zstd-compressed; the guest builder reads plain, .xz or .gz modules")
    return data


def _guest_path(path: str, unpacked: t.Sequence[str]) -> str:
    """Where a file of the host, or of a package unpacked under one of ``unpacked``, goes in the guest."""
    for root in unpacked:
        if path.startswith(root.rstrip("/") + "/"):
            return path[len(root.rstrip("/")) :]
    return path


def _inputs(
    busybox: str,
    programs: t.Sequence[str],
    extra: t.Mapping[str, bytes],
    boot_modules: t.Sequence[str] = (),
    unpacked: t.Sequence[str] = (),
) -> t.Tuple[str, str, t.Dict[str, bytes], t.Set[str]]:
    """Kernel path, release, every initramfs file (path in the guest -> bytes), the executables.

    ``programs`` are binaries shipped with their libraries: the host's, or of Debian packages unpacked under
    ``unpacked`` (placed in the guest as the package places them); ``extra`` files are executable scripts;
    ``boot_modules`` are kernel modules this image loads at boot beyond BOOT_MODULES."""
    boot = BOOT_MODULES + tuple(boot_modules)
    kernel, release = find_kernel()
    tree = os.path.join("/lib/modules", release)
    builtin_path = os.path.join(tree, "modules.builtin")
    builtin = _read(builtin_path).decode().split() if os.path.exists(builtin_path) else []
    dep_text = _read(os.path.join(tree, "modules.dep")).decode()
    files: t.Dict[str, bytes] = {}
    boot_names = []
    for rel in module_order(dep_text, builtin, boot + OPTIONAL_MODULES):
        name = _module_name(rel)
        files[f"lib/modules/{name}.ko"] = _module_bytes(os.path.join(tree, rel))
    for rel in module_order(dep_text, builtin, boot):
        boot_names.append(_module_name(rel))
    for optional in OPTIONAL_MODULES:
        chain = [_module_name(rel) for rel in module_order(dep_text, builtin, [optional])]
        files[f"etc/modules.need/{optional}"] = "".join(f"{name}\n" for name in chain).encode()
    if not os.path.isfile(busybox):
        raise GuestImageError(f"{busybox} not found; install the Debian package busybox-static")
    files["bin/busybox"] = _read(busybox)
    files["init"] = INIT.encode()
    files["etc/modules.boot"] = "\n".join(boot_names).encode() + b"\n"
    files["etc/udhcpc/default.script"] = DHCP_SCRIPT.encode()
    files["etc/acpi/PWRF/00000080"] = POWEROFF.encode()
    files["sbin/shutdown"] = POWEROFF.encode()
    files["etc/hosts"] = b"127.0.0.1 localhost\n"
    executables = {"init", "bin/busybox", "etc/udhcpc/default.script", "etc/acpi/PWRF/00000080", "sbin/shutdown"}
    library_dirs = [
        os.path.join(root, sub) for root in unpacked for sub in ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu")
    ]
    for program in programs:
        # The program and its libraries, loader included: exec needs the loader executable too.
        for path in [program] + shared_libraries(program, library_dirs):
            name = _guest_path(path, unpacked).lstrip("/")
            files[name] = _read(os.path.realpath(path))
            executables.add(name)
    for name, data in extra.items():
        files[name] = data
        executables.add(name)
    return kernel, release, files, executables


def build_initrd(files: t.Mapping[str, bytes], executables: t.Collection[str] = ()) -> bytes:
    """The gzip-compressed newc archive of ``files`` (deterministic: fixed order and times)."""
    archive = Cpio()
    for directory in ("dev", "proc", "sys", "run", "tmp", "var", "etc", "usr/bin", "usr/sbin"):
        archive.directory(directory)
    # The kernel opens /dev/console for /init before devtmpfs is mounted.
    archive.chardev("dev/console", 5, 1)
    for name in sorted(files):
        archive.file(name, files[name], 0o755 if name in executables else 0o644)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6) as gz:
        gz.write(archive.finish())
    return out.getvalue()


def ensure_guest_image(
    cache_dir: str = DEFAULT_CACHE,
    busybox: str = "/bin/busybox",
    agent: t.Optional[str] = "/usr/sbin/qemu-ga",
    programs: t.Sequence[str] = (),
    extra: t.Optional[t.Mapping[str, bytes]] = None,
    boot_modules: t.Sequence[str] = (),
    unpacked: t.Sequence[str] = (),
) -> t.Tuple[GuestImage, bool]:
    """Build the guest unless the cache holds one for the same inputs: (image, built_now)."""
    if agent and not os.path.exists(agent):
        agent = None
    shipped = [agent, *programs] if agent else programs
    kernel, release, files, executables = _inputs(busybox, shipped, extra or {}, boot_modules, unpacked)
    digest = hashlib.sha256(BUILDER_VERSION.encode())
    for name in sorted(files):
        digest.update(name.encode() + (b"\1" if name in executables else b"\0") + hashlib.sha256(files[name]).digest())
    kernel_bytes = _read(kernel)
    digest.update(hashlib.sha256(kernel_bytes).digest())
    key = digest.hexdigest()[:16]
    target = os.path.join(cache_dir, key)
    manifest = os.path.join(target, "manifest.json")
    if os.path.isfile(manifest):
        with open(manifest, encoding="utf-8") as handle:
            return GuestImage(**json.load(handle)), False
    image = GuestImage(
        kernel=os.path.join(target, "vmlinuz"),
        initrd=os.path.join(target, "initrd.img"),
        key=key,
        kernel_release=release,
        agent=agent is not None,
        bzimage=os.path.join(target, "vmlinuz"),
    )
    staging = f"{target}.tmp-{os.getpid()}"
    os.makedirs(staging, mode=0o755, exist_ok=True)
    try:
        with open(os.path.join(staging, "vmlinuz"), "wb") as handle:
            handle.write(kernel_bytes)
        elf = pvh_kernel(kernel_bytes)
        if elf is not None:
            image.kernel = os.path.join(target, "vmlinux")
            with open(os.path.join(staging, "vmlinux"), "wb") as handle:
                handle.write(elf)
        with open(os.path.join(staging, "initrd.img"), "wb") as handle:
            handle.write(build_initrd(files, executables))
        with open(os.path.join(staging, "manifest.json"), "w", encoding="utf-8") as handle:
            json.dump(image.to_dict(), handle, indent=2, sort_keys=True)
        for name in os.listdir(staging):
            os.chmod(os.path.join(staging, name), 0o644)
        os.chmod(cache_dir, 0o755)
        # A concurrent builder may have won; its result is identical, keep it.
        try:
            os.rename(staging, target)
        except OSError:
            if not os.path.isfile(os.path.join(target, "manifest.json")):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return image, True
