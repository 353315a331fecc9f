"""The storage appliance image: the embedded guest plus tgtd, exporting the guest's disks over iSCSI with CHAP.

Nothing is downloaded: tgtd, tgtadm and their libraries come from the host's Debian package tgt. The appliance
reads its settings from a small read-only disk (serial given by sv_appliance=SERIAL), never from the kernel
command line, so the CHAP password is not in the domain definition. The settings are key=value lines:

  iqn=iqn.2026-12.org.example:appliance-a
  user=kvm
  password=the CHAP secret
  lun=1 SERIAL        one per exported disk: the LUN number, the serial of the appliance's disk behind it

Serial console markers: SVKVM-TARGET (exported, with the LUNs), SVKVM-TARGET-FAIL (what went wrong).
"""

from __future__ import annotations

from .guest_image import GuestImage, ensure_guest_image

PROGRAMS = ("/usr/sbin/tgtd", "/usr/sbin/tgtadm")

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
tgtd || fail "tgtd did not start"
n=0; until tgtadm --lld iscsi --mode target --op show >/dev/null 2>&1; do
  n=$((n+1)); [ $n -gt 100 ] && fail "tgtd does not answer"; sleep 0.1
done
t() { tgtadm --lld iscsi "$@" || fail "tgtadm $*"; }
t --mode target --op new --tid 1 --targetname "$iqn"
exported=
set -- $luns
while [ $# -ge 2 ]; do
  dev=$(disk_of "$2") || fail "no disk with serial $2 for LUN $1"
  # O_DIRECT: a write tgtd acknowledges is on the appliance's disk, not in its page cache (a crash loses nothing).
  t --mode logicalunit --op new --tid 1 --lun "$1" --backing-store "$dev" --bsoflags direct
  exported="$exported $1=$2"
  shift 2
done
tgtadm --lld iscsi --mode account --op new --user "$user" --password "$password" >/dev/null 2>&1 \
  || fail "tgtadm could not add the CHAP account"
t --mode account --op bind --tid 1 --user "$user"
t --mode target --op bind --tid 1 --initiator-address ALL
echo "SVKVM-TARGET $iqn luns=${exported# }"
"""


def appliance_image(cache_dir: str) -> GuestImage:
    """The appliance, built once per content hash (the guest's inputs plus tgt's binaries and this script)."""
    return ensure_guest_image(cache_dir, programs=PROGRAMS, extra={"sbin/svkvm-appliance": APPLIANCE.encode()})[0]
