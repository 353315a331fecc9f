"""The topology module on the real libvirtd: the ladder writes the SVG once, and the picture holds this host's
guest and its network; a changed host changes the picture."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from testbed.lab import Lab
from testbed.modules import ladder, run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import topology

pytestmark = pytest.mark.whole_host  # it reads or changes what every guest of the host shares

URI = "qemu:///system"


def test_topology_ladder_draws_this_hosts_guest_and_redraws_when_it_changes(lab: Lab, tmp_path: Path) -> None:
    net = lab.network()
    guest = lab.guest("topo", networks=[net], start=False, boots=False)
    params = {"hypervisors": [URI], "dest": str(tmp_path / "host.svg")}
    steps = ladder(topology, params)
    assert steps[2]["actions"] == [f"write the svg picture of 1 hypervisors to {tmp_path / 'host.svg'}"]
    assert steps[1]["diff"]["before"] == "" and steps[1]["diff"]["after"].startswith("<?xml")
    picture = html.unescape((tmp_path / "host.svg").read_text())  # Graphviz writes "-" as &#45;
    assert f"h0/vm/{guest.name}" in picture and f"h0/net/{net.name}" in picture
    guest.dom.undefine()  # the host changes: the next run redraws
    redrawn = run_module(topology, params)
    assert redrawn["changed"] and f"h0/vm/{guest.name}" not in html.unescape((tmp_path / "host.svg").read_text())
