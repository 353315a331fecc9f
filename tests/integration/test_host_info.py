"""host_info through ansible-playbook on the real libvirtd, with module_defaults on the action group."""

from __future__ import annotations

import typing as t

from testbed.ansible import run_playbook
from testbed.guest import local_domain_type
from testbed.paths import ROOT

PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/sharedvirt.kvm.libvirt:
      uri: qemu:///system
  tasks:
    - name: Read the hypervisor
      sharedvirt.kvm.host_info:
      register: hv
    - name: Check what it says
      ansible.builtin.assert:
        that:
          - hv is not changed
          - hv.host.uri == 'qemu:///system'
          - hv.host.hypervisor == 'QEMU'
          - hv.host.libvirt_version is version('9.0.0', '>=')
          - hv.host.domain_type == '{domain_type}'
          - hv.host.cpus >= 1
          - hv.host.host_uuid | length == 36
"""


def test_host_info_ladder(system_conn: t.Any) -> None:
    play = PLAY.format(domain_type=local_domain_type(system_conn))
    for check, diff in ((True, False), (True, True), (False, False), (False, True)):
        run = run_playbook(play, check=check, diff=diff)
        assert run.rc == 0, run.output
        assert run.recap["changed"] == 0 and run.recap["failed"] == 0, run.output


def test_group_defaults_reach_the_module(system_conn: t.Any) -> None:
    play = PLAY.replace("uri: qemu:///system", "uri: test:///default").split("    - name: Check", maxsplit=1)[0]
    play += """    - ansible.builtin.assert:
        that: hv.host.hypervisor == 'TEST'
"""
    run = run_playbook(play)
    assert run.rc == 0, run.output


def test_shipped_host_report_playbook(system_conn: t.Any) -> None:
    run = run_playbook(ROOT / "playbooks" / "host_report.yml", extra_vars="sharedvirt_hosts=localhost")
    assert run.rc == 0, run.output
    assert f"guests run as {local_domain_type(system_conn)}" in run.output
