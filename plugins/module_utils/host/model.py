"""Facts about a hypervisor host read from libvirt's capabilities XML and /proc/cpuinfo."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.xmlutil import parse_xml, text_of


def capabilities_facts(xml: str) -> t.Dict[str, t.Any]:
    """host_uuid, arch, cpu model and the domain types libvirt offers per guest arch."""
    root = parse_xml(xml, "capabilities")
    domain_types: t.Dict[str, t.List[str]] = {}
    for guest in root.findall("guest"):
        arch = guest.find("arch")
        if arch is None or guest.findtext("os_type") != "hvm":
            continue
        types = sorted({d.get("type", "") for d in arch.findall("domain")} - {""})
        domain_types[arch.get("name", "")] = types
    return {
        "host_uuid": text_of(root, "host/uuid"),
        "arch": text_of(root, "host/cpu/arch"),
        "cpu_model": text_of(root, "host/cpu/model"),
        "domain_types": domain_types,
    }


def cpu_virtualization(cpuinfo: str) -> t.Optional[str]:
    """'vmx' (Intel VT-x) or 'svm' (AMD-V) when the CPU flags offer hardware virtualization."""
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            for flag in ("vmx", "svm"):
                if flag in flags:
                    return flag
    return None


def capabilities_virtualization(xml: str) -> t.Optional[str]:
    """'vmx', 'svm' or 'none' from the host CPU features in libvirt's capabilities; None when not listed.

    libvirt lists the host CPU's features beyond its named model, and no named x86 model includes
    vmx/svm, so an x86 host that offers them lists them; this also works for a remote URI.
    """
    cpu = parse_xml(xml, "capabilities").find("host/cpu")
    if cpu is None or cpu.findtext("arch") not in ("x86_64", "i686"):
        return None
    features = {f.get("name") for f in cpu.findall("feature")}
    if not features:
        return None
    return next((flag for flag in ("vmx", "svm") if flag in features), "none")


def preferred_domain_type(offered: t.Sequence[str], hardware_virtualization: t.Optional[bool]) -> str:
    """'kvm' when libvirt offers it and the CPU can back it, else 'qemu' (TCG emulation).

    libvirt lists kvm whenever /dev/kvm opens, which a nested or emulated host may allow without
    VT-x/AMD-V; a guest of type kvm then fails to start, so the CPU flags decide when known.
    """
    if "kvm" in offered and hardware_virtualization is not False:
        return "kvm"
    return "qemu"


def uri_is_local(uri: str) -> bool:
    """True when ``uri`` names the machine that runs the code (no host part, or a unix socket)."""
    scheme, rest = uri.split("://", 1) if "://" in uri else (uri, "")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return host in ("", "localhost", "127.0.0.1", "[::1]") or scheme.endswith("+unix")


def pin_overlaps(pins: t.Mapping[str, t.Sequence[int]]) -> t.List[t.Dict[str, t.Any]]:
    """Host CPUs that the vCPUs of more than one running domain are pinned to (pinning is for isolation: two
    guests on one pinned CPU compete for it), each with the domains, by CPU."""
    users: t.Dict[int, t.List[str]] = {}
    for name, cpus in sorted(pins.items()):
        for cpu in sorted(set(cpus)):
            users.setdefault(cpu, []).append(name)
    return [{"cpu": cpu, "domains": names} for cpu, names in sorted(users.items()) if len(names) > 1]
