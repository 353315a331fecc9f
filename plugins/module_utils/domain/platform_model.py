"""What a guest OS sees of its platform, Windows guests in mind: Hyper-V enlightenments, the clock and its
timers, input devices (a USB tablet), the video model and a virtual TPM (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.errors import SpecError
from .._core.spec import Spec, choice, in_range, join_path, option
from .._core.xmlutil import child, sub

HYPERV_FLAGS = ("relaxed", "vapic", "vpindex", "synic", "stimer", "reset", "frequencies", "tlbflush", "ipi")
TIMERS = ("rtc", "pit", "hpet", "hypervclock", "kvmclock", "tsc")


@dataclasses.dataclass
class HypervSpec(Spec):
    """Hyper-V enlightenments: Windows runs faster and keeps time better when it knows it is a guest."""

    relaxed: t.Optional[bool] = option()
    vapic: t.Optional[bool] = option()
    vpindex: t.Optional[bool] = option()
    synic: t.Optional[bool] = option()
    stimer: t.Optional[bool] = option()
    reset: t.Optional[bool] = option()
    frequencies: t.Optional[bool] = option()
    tlbflush: t.Optional[bool] = option()
    ipi: t.Optional[bool] = option()
    spinlocks: t.Optional[int] = option(normalize=in_range(0, 2**32 - 1))  # retries before a spinning vCPU yields

    def validate(self, path: str) -> None:
        if self.spinlocks and self.spinlocks < 4095:
            raise SpecError(join_path(path, "spinlocks"), f"{self.spinlocks} retries: give 0 (off) or at least 4095")
        if self.stimer and not (self.synic and self.vpindex):
            raise SpecError(join_path(path, "stimer"), "needs synic and vpindex on as well")


@dataclasses.dataclass
class TimerSpec(Spec):
    IDENTITY = ("name",)

    name: t.Optional[str] = option(normalize=choice(TIMERS))
    present: t.Optional[bool] = option()
    tickpolicy: t.Optional[str] = option(normalize=choice(("delay", "catchup", "merge", "discard")))


@dataclasses.dataclass
class ClockSpec(Spec):
    """The guest's clock: V(localtime) for Windows, which keeps the hardware clock in local time; the timers listed
    are set, others are left as libvirt has them."""

    offset: t.Optional[str] = option(normalize=choice(("utc", "localtime")))
    timers: t.Optional[t.List[TimerSpec]] = option(spec=TimerSpec, many=True, extra="keep")


@dataclasses.dataclass
class InputSpec(Spec):
    """An input device; the ones declared are added, libvirt's own (PS/2 mouse and keyboard) stay."""

    IDENTITY = ("type", "bus")

    type: t.Optional[str] = option(normalize=choice(("tablet", "mouse", "keyboard")))
    bus: t.Optional[str] = option(normalize=choice(("usb", "ps2", "virtio")))


@dataclasses.dataclass
class VideoSpec(Spec):
    model: t.Optional[str] = option(normalize=choice(("vga", "cirrus", "qxl", "virtio", "bochs", "ramfb", "none")))
    vram: t.Optional[int] = option(normalize=in_range(1024, 2**30))  # KiB
    heads: t.Optional[int] = option(normalize=in_range(1, 16))


@dataclasses.dataclass
class TpmSpec(Spec):
    """A virtual TPM: an emulator (swtpm, its state kept by libvirt) or the host's TPM passed through."""

    model: t.Optional[str] = option(normalize=choice(("tpm-crb", "tpm-tis")))
    backend: t.Optional[str] = option(normalize=choice(("emulator", "passthrough")))
    version: t.Optional[str] = option(normalize=choice(("2.0", "1.2")))
    device: t.Optional[str] = option()  # the host's TPM for passthrough, such as /dev/tpm0

    def validate(self, path: str) -> None:
        if self.backend == "passthrough" and not self.device:
            raise SpecError(join_path(path, "device"), "a passthrough TPM names the host's device, such as /dev/tpm0")
        if self.backend == "emulator" and self.device:
            raise SpecError(join_path(path, "device"), "an emulated TPM has no host device; leave device unset")


def _on(node: t.Optional[ET.Element]) -> bool:
    return node is not None and node.get("state", "on") == "on"


def read_platform(root: ET.Element) -> t.Dict[str, t.Any]:
    """The platform fields of a domain from libvirt's XML."""
    hyperv = root.find("features/hyperv")
    flags = {flag: _on(None if hyperv is None else hyperv.find(flag)) for flag in HYPERV_FLAGS}
    spin = None if hyperv is None else hyperv.find("spinlocks")
    clock = root.find("clock")
    timers = [] if clock is None else clock.findall("timer")
    video = root.find("devices/video/model")
    tpm = root.find("devices/tpm")
    backend = None if tpm is None else tpm.find("backend")
    return {
        "hyperv": HypervSpec(**flags, spinlocks=int(spin.get("retries", "0")) if _on(spin) and spin is not None else 0),
        "clock": ClockSpec(
            offset=None if clock is None else clock.get("offset"),
            timers=[TimerSpec(t.get("name"), t.get("present", "yes") == "yes", t.get("tickpolicy")) for t in timers],
        ),
        "inputs": [InputSpec(i.get("type"), i.get("bus")) for i in root.findall("devices/input")],
        "video": None
        if video is None
        else VideoSpec(video.get("type"), _int(video.get("vram")), _int(video.get("heads"))),
        "tpm": None
        if tpm is None
        else TpmSpec(
            tpm.get("model"),
            None if backend is None else backend.get("type"),
            None if backend is None else backend.get("version"),
            _tpm_device(backend),
        ),
    }


def _tpm_device(backend: t.Optional[ET.Element]) -> t.Optional[str]:
    device = None if backend is None else backend.find("device")
    return None if device is None else device.get("path")


def _int(value: t.Optional[str]) -> t.Optional[int]:
    return None if value is None else int(value)


def platform_given(root: ET.Element) -> t.Dict[str, bool]:
    """Which platform fields a user's XML declares (what it leaves out is not compared)."""
    return {
        "hyperv": root.find("features/hyperv") is not None,
        "clock": root.find("clock") is not None,
        "inputs": root.find("devices/input") is not None,
        "video": root.find("devices/video") is not None,
        "tpm": root.find("devices/tpm") is not None,
    }


def render_platform(root: ET.Element, spec: t.Any) -> None:
    """Apply the set platform fields of ``spec`` (a DomainSpec) to libvirt's XML."""
    if spec.hyperv is not None:
        _render_hyperv(child(child(root, "features"), "hyperv"), spec.hyperv)
    if spec.clock is not None:
        _render_clock(child(root, "clock"), spec.clock)
    devices = child(root, "devices")
    for wanted in spec.inputs or []:
        if not any(i.get("type") == wanted.type and i.get("bus") == wanted.bus for i in devices.findall("input")):
            sub(devices, "input", type=wanted.type, bus=wanted.bus)
    if spec.video is not None:
        model = child(child(devices, "video"), "model")
        for key in ("type", "vram", "heads"):
            value = spec.video.model if key == "type" else getattr(spec.video, key)
            if value is not None:
                model.set(key, str(value))
    if spec.tpm is not None:
        _render_tpm(devices, spec.tpm)


def _render_hyperv(node: ET.Element, spec: HypervSpec) -> None:
    node.set("mode", "custom")
    for flag in HYPERV_FLAGS:
        value = getattr(spec, flag)
        if value is not None:
            child(node, flag).set("state", "on" if value else "off")
    if spec.spinlocks is not None:
        spin = child(node, "spinlocks")
        spin.attrib.clear()
        spin.set("state", "on" if spec.spinlocks else "off")
        if spec.spinlocks:
            spin.set("retries", str(spec.spinlocks))


def _render_clock(node: ET.Element, spec: ClockSpec) -> None:
    if spec.offset is not None:
        node.set("offset", spec.offset)
    for timer in spec.timers or []:
        found = next((el for el in node.findall("timer") if el.get("name") == timer.name), None)
        el = found if found is not None else sub(node, "timer", name=timer.name)
        if timer.present is not None:
            el.set("present", "yes" if timer.present else "no")
        if timer.tickpolicy is not None:
            el.set("tickpolicy", timer.tickpolicy)


def _render_tpm(devices: ET.Element, spec: TpmSpec) -> None:
    tpm = child(devices, "tpm")
    if spec.model:
        tpm.set("model", spec.model)
    backend = child(tpm, "backend")
    if spec.backend and spec.backend != backend.get("type"):
        backend.attrib.clear()
        backend[:] = []
        backend.set("type", spec.backend)
    if spec.version and backend.get("type") == "emulator":
        backend.set("version", spec.version)
    if spec.device and backend.get("type") == "passthrough":
        child(backend, "device").set("path", spec.device)
