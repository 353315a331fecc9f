"""What a hypervisor can run, read through libvirt and (for this machine) /proc/cpuinfo (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import LibvirtClient, is_not_found, libvirt, libvirt_errors
from .._core.cpuset import parse_cpuset
from .._core.xmlutil import parse_xml
from .model import (
    capabilities_facts,
    capabilities_virtualization,
    cpu_virtualization,
    preferred_domain_type,
    uri_is_local,
)


def cpu_flags(uri: str, capabilities: str) -> t.Optional[str]:
    """vmx/svm/none: this machine's CPU flags when ``uri`` is this machine, else the capabilities' CPU features."""
    if not uri_is_local(uri):
        return capabilities_virtualization(capabilities)
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        return cpu_virtualization(cpuinfo.read()) or "none"


def domain_type_of(capabilities: t.Mapping[str, t.Any], flags: t.Optional[str]) -> str:
    offered = capabilities["domain_types"].get(capabilities["arch"], [])
    return preferred_domain_type(offered, None if flags is None else flags != "none")


def host_domain_type(client: LibvirtClient) -> str:
    """The domain type guests of this hypervisor should use: kvm where it can run, else qemu (TCG)."""
    capabilities = client.call(f"read the capabilities of {client.uri}", client.conn.getCapabilities)
    return domain_type_of(capabilities_facts(capabilities), cpu_flags(client.uri, capabilities))


def pinned_vcpus(client: LibvirtClient) -> t.Dict[str, t.List[int]]:
    """The host CPUs each running domain's vCPUs are pinned to (domains without vCPU pins left out)."""
    found = {}
    with libvirt_errors(f"read the vCPU pins of the domains on {client.uri}"):
        for dom in client.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            try:
                xml = dom.XMLDesc(0)
            except libvirt.libvirtError as err:
                if is_not_found(err):
                    continue  # gone between the listing and the read
                raise
            root = parse_xml(xml, f"XML of domain {dom.name()!r}")
            cpus = [cpu for pin in root.findall("cputune/vcpupin") for cpu in parse_cpuset(pin.get("cpuset", ""))]
            if cpus:
                found[dom.name()] = sorted(set(cpus))
    return found


def isolated_cpus(path: str = "/sys/devices/system/cpu/isolated") -> t.List[int]:
    """The CPUs the kernel keeps the scheduler off (isolcpus=): where pinned guests belong."""
    with open(path, encoding="ascii") as handle:
        text = handle.read().strip()
    return parse_cpuset(text) if text else []


def ksm_per_guest(client: LibvirtClient, run_dir: str = "/run/libvirt/qemu", page_size: int = 4096) -> t.List[t.Any]:
    """For each running domain of this machine, how many of its QEMU's pages KSM merged (the kernel's
    /proc/<pid>/ksm_merging_pages), or why that cannot be said."""
    found: t.List[t.Any] = []
    with libvirt_errors(f"list the running domains of {client.uri}"):
        names = sorted(d.name() for d in client.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE))
    for name in names:
        entry: t.Dict[str, t.Any] = {"name": name, "merging_pages": None, "merged_bytes": None}
        try:
            with open(f"{run_dir}/{name}.pid", encoding="ascii") as handle:
                pid = int(handle.read().strip())
            with open(f"/proc/{pid}/ksm_merging_pages", encoding="ascii") as handle:
                pages = int(handle.read().strip())
            entry.update(merging_pages=pages, merged_bytes=pages * page_size)
        except FileNotFoundError as err:
            kernel = "ksm_merging_pages" in str(err.filename)
            entry["reason"] = "this kernel does not report KSM per process" if kernel else "its QEMU is not there"
        found.append(entry)
    return found
