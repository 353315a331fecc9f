"""module_defaults on group/sharedvirt.kvm.libvirt reaches every member, through real ansible-playbook."""

from __future__ import annotations

from testbed.ansible import run_playbook

# test:///default has a domain named "test"; the system hypervisor has none. A member that missed the
# group's uri would connect to the default URI and report a domain to create.
PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/sharedvirt.kvm.libvirt:
      uri: test:///default
  tasks:
    - name: Many domains in one task
      sharedvirt.kvm.domains:
        domains: [{name: test, state: present}]
      register: many
    - name: One domain
      sharedvirt.kvm.domain:
        name: test
        state: present
      register: one
    - name: What the group's uri reached
      ansible.builtin.assert:
        that:
          - many is not changed
          - one is not changed
          - many.results[0].domain.uuid == one.domain.uuid
"""


def test_domains_and_domain_take_the_group_uri() -> None:
    run = run_playbook(PLAY, check=True)
    assert run.rc == 0, run.output
    assert run.recap["ok"] == 3, run.output
