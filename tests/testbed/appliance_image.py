"""The storage appliance image: the embedded guest exporting its disks with the kernel's own iSCSI target (LIO).

Nothing is downloaded and no target daemon is added: the guest's Debian kernel carries LIO (iscsi_target_mod,
target_core_iblock), which a shell script configures through configfs. LIO reads a LUN's size from its disk at
every READ CAPACITY, so a disk the host grows live is a bigger LUN at once (tgtd keeps the size it opened with).
Its block backstore writes straight to the disk, past the appliance's page cache: a write it acknowledges is on
the appliance's disk.

The appliance reads its settings from a small read-only disk (serial given by sv_appliance=SERIAL), never from
the kernel command line, so the CHAP password is not in the domain definition. The settings are key=value lines:

  iqn=iqn.2026-12.org.example:appliance-a
  user=kvm
  password=the CHAP secret
  lun=1 SERIAL        one per exported disk: the LUN number, the serial of the appliance's disk behind it

Serial console markers: SVKVM-TARGET (exported, with the LUNs), SVKVM-TARGET-FAIL (what went wrong).
"""

from __future__ import annotations

from .guest_image import GuestImage, ensure_guest_image

# Loaded at boot by the guest's /init. crc32c: LIO allocates it for every login (the digests), even when no
# digest is negotiated.
MODULES = ("crc32c_generic", "iscsi_target_mod", "target_core_iblock")

APPLIANCE = r"""#!/bin/sh
# $1: the serial of the settings disk. Disks are found by serial: their order on the bus is no contract.
disk_of() {
  for s in /sys/block/*/serial; do
    [ "$(cat "$s" 2>/dev/null)" = "$1" ] && { d=${s%/serial}; echo "/dev/${d##*/}"; return 0; }
  done
  return 1
}
fail() { echo "SVKVM-TARGET-FAIL $*"; exit 1; }
n=0; until conf=$(disk_of "$1"); do n=$((n+1)); [ $n -gt 100 ] && fail "no disk with serial $1"; sleep 0.1; done
# Each key once; lun lines accumulate. NUL padding and comment lines are skipped.
iqn=; user=; password=; luns=
dd if="$conf" bs=4096 count=16 2>/dev/null | tr -d '\000' > /run/appliance.conf
while IFS= read -r line; do
  case $line in
    iqn=*) iqn=${line#iqn=} ;;
    user=*) user=${line#user=} ;;
    password=*) password=${line#password=} ;;
    lun=*) luns="$luns ${line#lun=}" ;;
  esac
done < /run/appliance.conf
rm -f /run/appliance.conf
[ -n "$iqn" ] && [ -n "$user" ] && [ -n "$password" ] || fail "settings need iqn, user and password"
grep -q " /sys/kernel/config " /proc/mounts || mount -t configfs configfs /sys/kernel/config || fail "mount configfs"
core=/sys/kernel/config/target/core
tpg=/sys/kernel/config/target/iscsi/$iqn/tpgt_1
# set FILE VALUE, without a newline (LIO would keep it in a CHAP name); the failure names the file, never the value
# (the CHAP password is one).
set_attr() { printf '%s' "$2" > "$1" 2>/dev/null || fail "could not write $1"; }
mkdir -p "$tpg" || fail "could not create the target $iqn"
exported=
set -- $luns
while [ $# -ge 2 ]; do
  dev=$(disk_of "$2") || fail "no disk with serial $2 for LUN $1"
  # The backstore is named by the disk's serial, which is also the LUN's unit serial: the same on every boot.
  store=$core/iblock_$1/$2
  mkdir -p "$store" || fail "could not create the backstore of LUN $1"
  set_attr "$store/control" "udev_path=$dev"
  set_attr "$store/wwn/vpd_unit_serial" "$2"
  set_attr "$store/enable" 1
  mkdir -p "$tpg/lun/lun_$1" || fail "could not create LUN $1"
  ln -s "$store" "$tpg/lun/lun_$1/$2" || fail "could not map $2 to LUN $1"
  exported="$exported $1=$2"
  shift 2
done
# Any initiator that knows the CHAP account; the hypervisors' initiator names are not known here.
set_attr "$tpg/attrib/generate_node_acls" 1
set_attr "$tpg/attrib/cache_dynamic_acls" 1
set_attr "$tpg/attrib/demo_mode_write_protect" 0
set_attr "$tpg/attrib/authentication" 1
set_attr "$tpg/auth/userid" "$user"
set_attr "$tpg/auth/password" "$password"
set_attr "$tpg/enable" 1
# The portal last: an initiator that reaches it finds the target complete.
mkdir "$tpg/np/0.0.0.0:3260" || fail "could not open the portal on port 3260"
echo "SVKVM-TARGET $iqn luns=${exported# }"
"""


def appliance_image(cache_dir: str) -> GuestImage:
    """The appliance, built once per content hash (the guest's inputs plus LIO's modules and this script)."""
    return ensure_guest_image(cache_dir, extra={"sbin/svkvm-appliance": APPLIANCE.encode()}, boot_modules=MODULES)[0]
