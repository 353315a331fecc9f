"""KSM (memory de-duplication), hugepages and userfaultfd of a hypervisor: desired values, plan, apply.

The settings live in /sys and are lost at boot; ``persist`` writes a systemd-tmpfiles file of our
own that sets the same values at every boot (hosts without systemd get the file too; it does no harm).
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import os
import typing as t

from .._core.errors import CollectionError, SpecError
from .._core.units import to_bytes

SYS_MM = "/sys/kernel/mm"
KSM_KEYS = {"enabled": "run", "pages_to_scan": "pages_to_scan", "sleep_millisecs": "sleep_millisecs"}
KSM_STATS = ("pages_shared", "pages_sharing", "pages_unshared", "full_scans")
# QEMU needs userfaultfd for post-copy migration; libvirt 9.0 runs it unprivileged and does not pass it
# /dev/userfaultfd, so only this sysctl lets it fault pages in from the source host.
USERFAULTFD = "/proc/sys/vm/unprivileged_userfaultfd"
TMPFILES = "/etc/tmpfiles.d/sharedvirt-host-memory.conf"
HEADER = "# Managed by sharedvirt.kvm (host_memory): KSM and hugepages at boot."


def hugepage_dir(size: t.Any, root: str = SYS_MM) -> str:
    """sysfs directory of one hugepage size (``2MiB`` -> hugepages-2048kB)."""
    kib = to_bytes(size, "hugepages.size") // 1024
    return f"{root}/hugepages/hugepages-{kib}kB"


def desired_values(
    ksm: t.Optional[t.Mapping[str, t.Any]],
    hugepages: t.Optional[t.Mapping[str, t.Any]],
    root: str = SYS_MM,
    userfaultfd: t.Optional[bool] = None,
) -> t.Dict[str, str]:
    """sysfs or sysctl path -> value for the options that are set (only those are compared)."""
    out: t.Dict[str, str] = {} if userfaultfd is None else {USERFAULTFD: str(int(userfaultfd))}
    for option, key in KSM_KEYS.items():
        value = (ksm or {}).get(option)
        if value is None:
            continue
        if option == "enabled":
            value = int(bool(value))
        elif int(value) < 1:
            raise SpecError(f"ksm.{option}", f"{value} is not positive")
        out[f"{root}/ksm/{key}"] = str(int(value))
    if hugepages and hugepages.get("count") is not None:
        if int(hugepages["count"]) < 0:
            raise SpecError("hugepages.count", f"{hugepages['count']} is negative")
        out[f"{hugepage_dir(hugepages.get('size') or '2MiB', root)}/nr_hugepages"] = str(int(hugepages["count"]))
    return out


def plan(
    desired: t.Mapping[str, str], actual: t.Mapping[str, t.Optional[str]]
) -> t.Dict[str, t.Tuple[t.Optional[str], str]]:
    """path -> (before, after) for every value that differs."""
    return {path: (actual.get(path), value) for path, value in desired.items() if actual.get(path) != value}


def tmpfiles_text(desired: t.Mapping[str, str]) -> str:
    """The persistence file: one ``w`` line per value, in a stable order."""
    lines = [HEADER] + [f"w {path} - - - - {value}" for path, value in sorted(desired.items())]
    return "\n".join(lines) + "\n"


def read_value(path: str) -> t.Optional[str]:
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return None


def write_value(path: str, value: str) -> None:
    if not os.path.exists(path):
        raise CollectionError(f"{path} does not exist: this kernel has no {_feature(path)} support")
    try:
        with open(path, "w", encoding="ascii") as handle:
            handle.write(value)
    except OSError as err:
        raise CollectionError(f"cannot write {value} to {path}: {err.strerror}; run the task as root") from None
    if path.endswith("nr_hugepages") and read_value(path) != value:
        raise CollectionError(
            f"the kernel reserved only {read_value(path)} of {value} hugepages ({path}): memory is too "
            "fragmented or too small; reserve them at boot (persist=true) or ask for fewer"
        )


def _feature(path: str) -> str:
    if path == USERFAULTFD:
        return "unprivileged userfaultfd (Linux 5.2 or later)"
    return "hugepage size" if "hugepages-" in path else "KSM"


def memory_facts(root: str = SYS_MM, page_size: int = 4096) -> t.Dict[str, t.Any]:
    """KSM state and savings, and the hugepages of every size."""
    ksm: t.Dict[str, t.Any] = {}
    for key in ("run", "pages_to_scan", "sleep_millisecs", *KSM_STATS):
        value = read_value(f"{root}/ksm/{key}")
        ksm[key] = int(value) if value is not None else None
    ksm["enabled"] = ksm["run"] == 1
    # pages_sharing counts the guest pages that point at a shared page: the memory KSM saves.
    ksm["saved_bytes"] = (ksm["pages_sharing"] or 0) * page_size
    sizes = []
    base = f"{root}/hugepages"
    for entry in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        kib = int(entry.split("-")[1].rstrip("kB"))
        sizes.append(
            {
                "size": kib * 1024,
                "count": int(read_value(f"{base}/{entry}/nr_hugepages") or 0),
                "free": int(read_value(f"{base}/{entry}/free_hugepages") or 0),
            }
        )
    allowed = read_value(USERFAULTFD)
    return {"ksm": ksm, "hugepages": sizes, "unprivileged_userfaultfd": None if allowed is None else allowed == "1"}
