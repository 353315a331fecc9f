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

A pair (docs/storage-appliance.md) adds:

  role=primary        or secondary (without it: a single appliance)
  peer=10.0.0.52      the other appliance's own address
  leg_iqn=...         this appliance's leg target (served as secondary), peer_leg_iqn=... the other one's
  leg_password=...    the leg target's CHAP password (same user; the hypervisors do not have it)
  service=10.0.0.60/24  the pair's address, which only the primary holds
  alone=1             a primary may start without its secondary (set by a takeover, after fencing)

The primary mirrors each LUN (md RAID1, metadata 1.0, internal bitmap) over its own disk and the secondary's,
which it reaches with the kernel's iSCSI initiator (iscsistart; no iscsid), and serves the mirror.

State: /run/svkvm-status (key=value lines; storage_appliance_info reads it through the guest agent). Serial
console markers: SVKVM-TARGET (exported, with the LUNs), SVKVM-LEG (a secondary's legs), SVKVM-MIRROR (a LUN's
mirror changed state), SVKVM-STANDBY (a primary that found the service address taken), SVKVM-WAIT (a primary
waiting for its secondary), SVKVM-TARGET-FAIL (what went wrong).
"""

from __future__ import annotations

import os

from .guest_image import GuestImage, ensure_guest_image
from .paths import UNPACKED

# Loaded at boot by the guest's /init. crc32c: LIO allocates it for every login (the digests), even when no
# digest is negotiated. iscsi_tcp and raid1: a primary's leg on the secondary, and its mirror.
MODULES = ("crc32c_generic", "iscsi_target_mod", "target_core_iblock", "iscsi_tcp", "raid1", "sd_mod")
# Debian packages unpacked by tools/setup.sh (tools/guest-packages.txt): iscsistart and mdadm with their libraries.
PACKAGES = ("open-iscsi", "libopeniscsiusr", "mdadm", "libisns0")
PROGRAMS = ("open-iscsi/sbin/iscsistart", "mdadm/sbin/mdadm")

APPLIANCE = r"""#!/bin/sh
# $1: the serial of the settings disk. Disks are found by serial: their order on the bus is no contract.
disk_of() {
  for s in /sys/block/*/serial; do
    [ "$(cat "$s" 2>/dev/null)" = "$1" ] && { d=${s%/serial}; echo "/dev/${d##*/}"; return 0; }
  done
  return 1
}
# The state storage_appliance_info reads through the guest agent, replaced whole.
report() { printf '%s\n' "$@" > /run/svkvm-status.tmp && mv /run/svkvm-status.tmp /run/svkvm-status; }
fail() { echo "SVKVM-TARGET-FAIL $*"; report "role=failed" "reason=$*"; exit 1; }
n=0; until conf=$(disk_of "$1"); do n=$((n+1)); [ $n -gt 100 ] && fail "no disk with serial $1"; sleep 0.1; done
# Each key once; lun lines accumulate. NUL padding and comment lines are skipped.
iqn=; user=; password=; luns=; role=single; peer=; leg_iqn=; peer_leg_iqn=; leg_password=; service=; alone=
dd if="$conf" bs=4096 count=16 2>/dev/null | tr -d '\000' > /run/appliance.conf
while IFS= read -r line; do
  case $line in
    iqn=*) iqn=${line#iqn=} ;;
    user=*) user=${line#user=} ;;
    password=*) password=${line#password=} ;;
    lun=*) luns="$luns ${line#lun=}" ;;
    role=*) role=${line#role=} ;;
    peer=*) peer=${line#peer=} ;;
    leg_iqn=*) leg_iqn=${line#leg_iqn=} ;;
    peer_leg_iqn=*) peer_leg_iqn=${line#peer_leg_iqn=} ;;
    leg_password=*) leg_password=${line#leg_password=} ;;
    service=*) service=${line#service=} ;;
    alone=*) alone=${line#alone=} ;;
  esac
done < /run/appliance.conf
rm -f /run/appliance.conf
[ -n "$iqn" ] && [ -n "$user" ] && [ -n "$password" ] || fail "settings need iqn, user and password"
case $role in
  single) ;;
  primary|secondary)
    [ -n "$peer" ] && [ -n "$leg_iqn" ] && [ -n "$peer_leg_iqn" ] && [ -n "$leg_password" ] && [ -n "$service" ] \
      || fail "a $role needs peer, leg_iqn, peer_leg_iqn, leg_password and service" ;;
  *) fail "unknown role $role" ;;
esac
grep -q " /sys/kernel/config " /proc/mounts || mount -t configfs configfs /sys/kernel/config || fail "mount configfs"
core=/sys/kernel/config/target/core
# set FILE VALUE, without a newline (LIO would keep it in a CHAP name); the failure names the file, never the value
# (the CHAP password is one).
set_attr() { printf '%s' "$2" > "$1" 2>/dev/null || fail "could not write $1"; }

# export_target IQN USER PASSWORD LUN:SERIAL:DEVICE...: one target with its LUNs, CHAP on, the portal last (an
# initiator that reaches it finds the target complete). A LUN's unit serial is its settings serial, the same on
# both appliances of a pair: a consumer sees the same disk after a takeover.
export_target() {
  tpg=/sys/kernel/config/target/iscsi/$1/tpgt_1
  mkdir -p "$tpg" || fail "could not create the target $1"
  t_user=$2; t_password=$3; shift 3
  for entry in "$@"; do
    lun=${entry%%:*}; rest=${entry#*:}; serial=${rest%%:*}; dev=${rest#*:}
    # The backstore is named by the serial: the same on every boot.
    store=$core/iblock_$lun/$serial
    mkdir -p "$store" || fail "could not create the backstore of LUN $lun"
    set_attr "$store/control" "udev_path=$dev"
    set_attr "$store/wwn/vpd_unit_serial" "$serial"
    set_attr "$store/enable" 1
    mkdir -p "$tpg/lun/lun_$lun" || fail "could not create LUN $lun"
    ln -s "$store" "$tpg/lun/lun_$lun/$serial" || fail "could not map $serial to LUN $lun"
  done
  # Any initiator that knows the CHAP account; the hypervisors' initiator names are not known here.
  set_attr "$tpg/attrib/generate_node_acls" 1
  set_attr "$tpg/attrib/cache_dynamic_acls" 1
  set_attr "$tpg/attrib/demo_mode_write_protect" 0
  set_attr "$tpg/attrib/authentication" 1
  set_attr "$tpg/auth/userid" "$t_user"
  set_attr "$tpg/auth/password" "$t_password"
  set_attr "$tpg/enable" 1
  mkdir "$tpg/np/0.0.0.0:3260" || fail "could not open the portal on port 3260"
}

# LUN:SERIAL:DEVICE of this appliance's own disks.
own_disks() {
  set -- $luns
  while [ $# -ge 2 ]; do
    dev=$(disk_of "$2") || fail "no disk with serial $2 for LUN $1"
    printf '%s:%s:%s ' "$1" "$2" "$dev"
    shift 2
  done
}

case $role in
  single)
    disks=$(own_disks)
    export_target "$iqn" "$user" "$password" $disks
    echo "SVKVM-TARGET $iqn luns=${disks% }"
    report "role=single" "target=$iqn"
    exit 0 ;;
  secondary)
    # Its disks are the primary's second legs, served under a target of its own with the leg password, which
    # the hypervisors do not have: only the primary writes them.
    disks=$(own_disks)
    export_target "$leg_iqn" "$user" "$leg_password" $disks
    echo "SVKVM-LEG $leg_iqn luns=${disks% }"
    report "role=secondary" "target=$leg_iqn" "peer=$peer"
    exit 0 ;;
esac

# The primary.
svc_ip=${service%/*}
mkdir -p /etc/iscsi /run/lock/iscsi /var/lock /run/mdadm
logins=0
# leg_of SERIAL: the secondary's disk with that unit serial, on a session that still runs.
leg_of() {
  for d in /sys/block/sd*; do
    [ "$(cat "$d/device/state" 2>/dev/null)" = running ] || continue
    [ "$(tail -c +5 "$d/device/vpd_pg80" 2>/dev/null | tr -d '\000')" = "$1" ] && { echo "/dev/${d##*/}"; return 0; }
  done
  return 1
}
# iscsistart runs no daemon: a session whose connection failed is never recovered (its disks go offline after 5 s
# and md fails them), and a login under the name of a failed session is refused; so each login takes a new name.
login_leg() {
  logins=$((logins + 1))
  timeout 20 iscsistart -i "$leg_iqn.initiator$logins" -t "$peer_leg_iqn" -g 1 -a "$peer" -u "$user" \
    -w "$leg_password" -P "iface.iscsi_ifacename=leg$logins" -P node.session.timeo.replacement_timeout=5 \
    -P "node.conn[0].timeo.noop_out_interval=2" -P "node.conn[0].timeo.noop_out_timeout=2" >/dev/null 2>&1 || return 1
  # The disks of the new session appear asynchronously.
  n=0; while [ $n -lt 50 ]; do all_legs && return 0; sleep 0.2; n=$((n+1)); done
  return 1
}
all_legs() {
  set -- $luns
  while [ $# -ge 2 ]; do leg_of "$2" >/dev/null || return 1; shift 2; done
}
# grow LUN SERIAL: once both legs grew (the role grows the volume on each host; the secondary's needs a rescan
# here), the mirror grows to the smaller. md cannot move an internal bitmap that sits before a metadata 1.0
# superblock at the end of the legs, so the bitmap goes for the resize and comes back after it.
grow() {
  for dev in $(leg_of "$2"); do echo 1 > "/sys/block/${dev##*/}/device/rescan"; done
  sizes=$(for m in /sys/block/md$1/md/dev-*; do cat "/sys/block/${m##*/dev-}/size"; done 2>/dev/null | tr '\n' ' ')
  eval "was=\$sizes_$1"
  if [ -n "$was" ] && [ "$sizes" != "$was" ]; then
    before=$(cat "/sys/block/md$1/size")
    mdadm "/dev/md$1" --grow --bitmap=none >/dev/null 2>&1
    mdadm "/dev/md$1" --grow --size=max >/dev/null 2>&1
    mdadm "/dev/md$1" --grow --bitmap=internal >/dev/null 2>&1
    echo "SVKVM-GROW lun=$1 sectors=$before->$(cat "/sys/block/md$1/size")"
  fi
  eval "sizes_$1=\$sizes"
}
# heal: drop legs whose disk went offline, add the disks each mirror lacks (re-add first: the bitmap then copies
# only what changed), log in again when a leg is missing, and report. $1: whether to log in now (yes or no).
heal() {
  login=$1
  lines="role=primary
service=$svc_ip
peer=$peer"
  missing=
  set -- $luns
  while [ $# -ge 2 ]; do
    md=/sys/block/md$1/md
    for member in "$md"/dev-*; do
      dev=${member##*/dev-}
      [ -e "$member" ] || continue
      case $(cat "/sys/block/$dev/device/state" 2>/dev/null || echo running) in
        running) grep -q faulty "$member/state" 2>/dev/null || continue ;;
      esac
      mdadm "/dev/md$1" --fail "/dev/$dev" >/dev/null 2>&1
      mdadm "/dev/md$1" --remove "/dev/$dev" >/dev/null 2>&1
      [ -e "/sys/block/$dev/device/delete" ] && echo 1 > "/sys/block/$dev/device/delete"
    done
    for dev in $(disk_of "$2") $(leg_of "$2"); do
      [ -e "$md/dev-${dev##*/}" ] && continue
      mdadm "/dev/md$1" --re-add "$dev" >/dev/null 2>&1 || mdadm "/dev/md$1" --add "$dev" >/dev/null 2>&1
    done
    leg_of "$2" >/dev/null || missing=1
    legs=$(grep -l in_sync "$md"/dev-*/state 2>/dev/null | wc -l)
    [ "$login" = yes ] && [ "$legs" -ge 2 ] && grow "$1" "$2"
    case $(cat "$md/sync_action" 2>/dev/null) in
      recover|resync)
        state=resync
        read -r done_ _ total < "$md/sync_completed"
        case $done_$total in
          *[!0-9]*|'') ;;
          *) [ "$total" -gt 0 ] && state="resync progress=$((done_ * 100 / total))" ;;
        esac ;;
      *) if [ "$legs" -ge 2 ]; then state=clean; else state=degraded; fi ;;
    esac
    line="lun=$1 state=$state legs=$legs/2"
    lines="$lines
$line"
    shift 2
  done
  [ -n "$missing" ] && [ "$login" = yes ] && login_leg
  report "$lines"
  [ "$lines" != "$last" ] && echo "$lines" | grep '^lun=' | sed 's/^/SVKVM-MIRROR /'
  last=$lines
}

# Never two primaries on one address: a primary that finds it taken (the other appliance took over while this
# one's host was away) serves nothing until the role makes it the secondary.
if ! arping -D -q -c 2 -w 3 -I eth0 "$svc_ip"; then
  echo "SVKVM-STANDBY the service address $svc_ip is in use"
  report "role=standby" "reason=the service address $svc_ip is in use"
  exit 0
fi
# A primary starts with its secondary's legs: md then picks the freshest copy of each LUN. Without them it starts
# only when the settings say alone (a takeover, after the other host was fenced): the absent copy may be newer.
report "role=waiting" "reason=the secondary's legs at $peer"
until login_leg; do
  [ "$alone" = 1 ] && break
  [ -z "$waited" ] && echo "SVKVM-WAIT the secondary's legs at $peer" && waited=1
  sleep 5
done
entries=
set -- $luns
while [ $# -ge 2 ]; do
  own=$(disk_of "$2") || fail "no disk with serial $2 for LUN $1"
  have=
  for dev in $own $(leg_of "$2"); do mdadm --examine "$dev" >/dev/null 2>&1 && have="$have $dev"; done
  if [ -n "$have" ]; then
    mdadm --assemble "/dev/md$1" --run $have >/dev/null 2>&1 || fail "could not assemble the mirror of LUN $1"
  else
    # A new pair: the mirror starts on this disk, and the secondary's is added (copied in full), never assumed.
    mdadm --create "/dev/md$1" --run --level=1 --metadata=1.0 --bitmap=internal --raid-devices=2 "$own" missing \
      >/dev/null 2>&1 || fail "could not create the mirror of LUN $1"
  fi
  entries="$entries $1:$2:/dev/md$1"
  shift 2
done
heal no
export_target "$iqn" "$user" "$password" $entries
ip addr add "$service" dev eth0 || fail "could not take the service address $service"
# Tell the hypervisors at once that the address is here (after a takeover their sessions reconnect to it).
arping -U -c 2 -I eth0 -s "$svc_ip" "$svc_ip" >/dev/null 2>&1
echo "SVKVM-TARGET $iqn luns=${entries# }"
round=0
while :; do
  round=$((round + 1))
  if [ $((round % 5)) -eq 0 ]; then heal yes; else heal no; fi
  sleep 2
done
"""


def appliance_image(cache_dir: str) -> GuestImage:
    """The appliance, built once per content hash (the guest's inputs, LIO's modules, the initiator, mdadm and
    this script)."""
    roots = [os.path.join(UNPACKED, package) for package in PACKAGES]
    return ensure_guest_image(
        cache_dir,
        programs=[os.path.join(UNPACKED, program) for program in PROGRAMS],
        extra={"sbin/svkvm-appliance": APPLIANCE.encode()},
        boot_modules=MODULES,
        unpacked=roots,
    )[0]
