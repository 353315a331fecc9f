"""Host devices on the real libvirtd: a domain is defined with one of this machine's PCI devices (not started,
so the device stays with its driver) and reads back unchanged; a device the machine lacks is refused, listing
the PCI devices it has as lspci -Dnn shows them."""

from __future__ import annotations

from pathlib import Path

from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.params import guest_params

from ansible_collections.sharedvirt.kvm.plugins.modules import domain

PCI = Path("/sys/bus/pci/devices")


def test_a_host_pci_device_round_trips_and_a_missing_one_is_refused_with_the_hosts_list(lab: Lab) -> None:
    present = sorted(p.name for p in PCI.iterdir())
    assert present, "this machine shows no PCI devices"
    params = guest_params(lab, f"{lab.prefix}-pci", None, state="present")
    params["hostdevs"] = [{"type": "pci", "address": present[0], "managed": False}]
    steps = ladder(domain, params)
    assert steps[2]["domain"]["hostdevs"] == [{"type": "pci", "address": present[0], "managed": False}]

    absent = "0000:fe:1f.7"
    assert absent not in present
    refused = run_module(domain, dict(params, hostdevs=[{"address": absent}]))
    assert refused["failed"] and refused["msg"].startswith(f"hostdevs[0].address: no PCI device {absent} on ")
    vendor = (PCI / present[0] / "vendor").read_text().strip()[2:]
    device = (PCI / present[0] / "device").read_text().strip()[2:]
    assert f"{present[0]} [{vendor}:{device}]" in refused["msg"]  # what lspci -Dnn prints for it
    kept = lab.conn.lookupByName(params["name"]).XMLDesc(0)
    assert "<hostdev mode='subsystem' type='pci' managed='no'>" in kept  # the refused change changed nothing
