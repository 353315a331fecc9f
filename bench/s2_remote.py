"""Scenario 2's remote rows: the same 500 neighbours on a namespace hypervisor reached over SSH, found by the
vm_ip lookup from this controller and by the vm_ip_info module as a task on that hypervisor."""

from __future__ import annotations

import json
import typing as t

from harness import WORK, Section
from testbed.ansible import run_playbook
from testbed.hosts import HostBed
from testbed.netns import NetNs
from testbed.plugins import lookup

REMOTE_LOOKUP = "ours over SSH, {n} MACs from a remote hypervisor's neighbours (lookup)"
REMOTE_MODULE = "ours over SSH, {n} MACs from a remote hypervisor's neighbours (vm_ip_info task)"
LOCAL_MODULE = "ours, {n} MACs from this host's neighbours (vm_ip_info task, local connection)"

PLAY = """
- name: Look the MACs up on the hypervisor
  hosts: {host}
  gather_facts: false
  vars:
    expected: {expected}
  tasks:
    - name: Find them
      sharedvirt.kvm.vm_ip_info:
        terms: "{{{{ expected.keys() | list }}}}"
        sources: [arp]
      register: found
    - name: Check them
      ansible.builtin.assert:
        that: found.first == expected
        quiet: true
"""


def fill_table(netns: str, macs: t.Sequence[str], ips: t.Sequence[str]) -> None:
    """A bridge with the entries as permanent neighbours inside the hypervisor's namespace (no traffic)."""
    NetNs.run_in(netns, "ip", "link", "add", "synbr", "type", "bridge")
    NetNs.run_in(netns, "ip", "link", "set", "synbr", "up")
    batch = "".join(f"neigh replace {ip} lladdr {mac} dev synbr nud permanent\n" for ip, mac in zip(ips, macs))
    path = WORK / "remote-neighbours.batch"
    path.write_text(batch)
    NetNs.run_in(netns, "ip", "-batch", str(path))


def task_runner(host: str, inventory: t.Any, expected: t.Mapping[str, str]) -> t.Callable[[], None]:
    play = PLAY.format(host=host, expected=json.dumps(dict(expected)))

    def go() -> None:
        played = run_playbook(play, inventory=inventory)
        if played.rc != 0:
            raise RuntimeError(f"vm_ip_info on {host} failed: {played.output[-2000:]}")

    return go


def measure_remote(
    section: Section,
    reps: int,
    measure_all: t.Callable[[Section, int, t.Mapping[str, t.Callable[[], None]]], None],
    macs: t.Sequence[str],
    ips: t.Sequence[str],
) -> t.List[str]:
    """Time the remote rows (the local lookup row is measured by the caller); returns their labels."""
    n = len(macs)
    labels = [REMOTE_LOOKUP.format(n=n), REMOTE_MODULE.format(n=n), LOCAL_MODULE.format(n=n)]
    with HostBed("svb-ip", 1) as bed:
        host = bed.hosts[0]
        fill_table(host.name, macs, ips)
        uri = bed.ssh_uri(host)
        reached = bed.inventory()
        reached["hypervisors"]["vars"]["ansible_connection"] = "ssh"
        inventory = WORK / "remote-ip.yml"
        inventory.write_text(json.dumps({"all": {"children": reached}}))
        expected = dict(zip(macs, ips))

        def remote_lookup() -> None:
            if lookup("vm_ip", *macs, uri=[uri], sources=["arp"]) != list(ips):
                raise RuntimeError(f"the lookup over SSH to {uri} did not find the {n} neighbours")

        measure_all(
            section,
            reps,
            {
                labels[0]: remote_lookup,
                labels[1]: task_runner(host.name, inventory, expected),
                labels[2]: task_runner("localhost", "localhost,", expected),
            },
        )
    return labels
