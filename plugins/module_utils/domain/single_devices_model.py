"""The devices a domain has at most one of: guest agent channel, lock manager lease, balloon, watchdog (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.spec import XmlSpec, choice, option
from .._core.xmlutil import element, sub

AGENT_CHANNEL = "org.qemu.guest_agent.0"
LEASE_LOCKSPACE = "sharedvirt"
WATCHDOG_MODELS = ("i6300esb", "ib700", "diag288", "itco", "none")
WATCHDOG_ACTIONS = ("reset", "shutdown", "poweroff", "pause", "none", "dump", "inject-nmi")


@dataclasses.dataclass
class WatchdogSpec(XmlSpec):
    """A hardware watchdog: when the guest stops feeding it, QEMU does ``action``. ``model: none`` removes it."""

    model: t.Optional[str] = option(normalize=choice(WATCHDOG_MODELS))
    action: t.Optional[str] = option(normalize=choice(WATCHDOG_ACTIONS))

    @classmethod
    def from_element(cls, root: ET.Element) -> WatchdogSpec:
        return cls(model=root.get("model"), action=root.get("action"))

    def to_element(self) -> ET.Element:
        return element("watchdog", model=self.model or "i6300esb", action=self.action or "reset")


def read_watchdog(devices: ET.Element) -> WatchdogSpec:
    """The watchdog, or ``model: none`` without one (what a declaration of ``none`` compares equal to)."""
    found = devices.find("watchdog")
    return WatchdogSpec.from_element(found) if found is not None else WatchdogSpec(model="none")


def render_watchdog(devices: ET.Element, wanted: WatchdogSpec) -> None:
    """Set the declared fields on the watchdog (adding one), or remove it for ``model: none``."""
    found = devices.find("watchdog")
    if wanted.model == "none":
        if found is not None:
            devices.remove(found)
        return
    if found is None:
        devices.append(wanted.to_element())
        return
    for key in ("model", "action"):
        value = getattr(wanted, key)
        if value is not None:
            found.set(key, value)


def agent_channel(devices: ET.Element) -> t.Optional[ET.Element]:
    for channel in devices.findall("channel"):
        target = channel.find("target")
        if target is not None and target.get("name") == AGENT_CHANNEL:
            return channel
    return None


def read_lease(devices: ET.Element) -> str:
    for lease in devices.findall("lease"):
        if lease.findtext("lockspace") == LEASE_LOCKSPACE:
            target = lease.find("target")
            return "" if target is None else target.get("path", "")
    return ""


def render_lease(devices: ET.Element, name: str, directory: str) -> None:
    """One lease, key = the domain's name, in the lockspace <directory>/sharedvirt ('' removes it)."""
    for old in devices.findall("lease"):
        if old.findtext("lockspace") == LEASE_LOCKSPACE:
            devices.remove(old)
    if directory:
        lease = sub(devices, "lease")
        sub(lease, "lockspace", LEASE_LOCKSPACE)
        sub(lease, "key", name)
        sub(lease, "target", path=directory)


def render_agent(devices: ET.Element, wanted: bool) -> None:
    channel = agent_channel(devices)
    if wanted and channel is None:
        channel = sub(devices, "channel", type="unix")
        sub(channel, "target", type="virtio", name=AGENT_CHANNEL)
    elif not wanted and channel is not None:
        devices.remove(channel)


def render_balloon(devices: ET.Element, model: str) -> None:
    balloon = devices.find("memballoon")
    if balloon is None or balloon.get("model") != model:
        if balloon is not None:
            devices.remove(balloon)
        sub(devices, "memballoon", model=model)
