#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: topology
short_description: Draw which VM runs where, on which network, sharing which disk - as SVG, DOT or Mermaid
version_added: 0.1.0
description:
  - Reads every hypervisor in O(hypervisors) over read-only connections - its VMs (state, vCPUs, memory), libvirt
    networks with their portgroups and VLANs, the host bridges VMs are plugged into, and storage pools - and
    draws one picture of them all.
  - Each hypervisor is a box holding its objects. A disk marked shareable (what M(sharedvirt.kvm.shared_disk)
    attaches) is one node between the boxes, with an edge to every VM that carries it, on whichever hypervisor
    that VM runs; a pool volume counts as the same disk on every host that names the same file.
  - Returns the picture as Graphviz DOT and as Mermaid flowchart text (for Markdown pages), and writes it to
    O(dest) when asked - SVG through Graphviz's C(dot), which must be installed on the host that runs the task.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads and draws; reports whether O(dest) would change, without writing it.
  diff_mode:
    support: full
    details:
      - Shows the file O(dest) held and the picture that replaces it.
  idempotent:
    support: full
    description: The file is written only when the picture differs from what it holds.
requirements:
  - libvirt-python >= 9.0 on the host that runs the task
  - Graphviz (C(dot)) on that host for O(format=svg)
options:
  hypervisors:
    description: The libvirt URIs of the hypervisors to draw, for example V(qemu+ssh://root@hv1/system).
    type: list
    elements: str
    required: true
  connect_timeout:
    description: Seconds to wait for each connection to open.
    type: int
    default: 30
  dest:
    description: Where to write the picture, on the host that runs the task. Without it, the picture is only returned.
    type: path
  format:
    description:
      - V(svg), V(dot) or V(mermaid). Defaults to what the suffix of O(dest) says (C(.svg), C(.dot) or C(.gv),
        C(.mmd) or C(.md)), else V(svg).
    type: str
    choices: [svg, dot, mermaid]
  mode:
    description: File mode of a new or rewritten O(dest).
    type: str
    default: "0644"
seealso:
  - module: sharedvirt.kvm.domain_info
  - module: sharedvirt.kvm.shared_disk
"""

EXAMPLES = r"""
- name: Draw the cluster into an SVG on the controller
  sharedvirt.kvm.topology:
    hypervisors:
      - qemu+ssh://root@hv1/system
      - qemu+ssh://root@hv2/system
    dest: /tmp/cluster.svg
  delegate_to: localhost

- name: The same picture as Mermaid text for a Markdown page
  sharedvirt.kvm.topology:
    hypervisors: "{{ groups['hypervisors'] | map('extract', hostvars, 'sharedvirt_libvirt_uri') | list }}"
  register: cluster_picture

- name: Show it
  ansible.builtin.debug:
    msg: "{{ cluster_picture.mermaid }}"
"""

RETURN = r"""
hosts:
  description: What was read on each hypervisor.
  returned: always
  type: list
  elements: dict
  contains:
    uri:
      description: The hypervisor's URI.
      type: str
    hostname:
      description: Its host name.
      type: str
    vms:
      description: Its VMs with C(name), C(state), C(vcpus), C(memory) (bytes), C(nics) and C(disks).
      type: list
      elements: dict
    networks:
      description: Names of its libvirt networks.
      type: list
      elements: str
    pools:
      description: Names of its storage pools.
      type: list
      elements: str
shared_disks:
  description: Each shareable disk, once, with the VMs that carry it and their hypervisors.
  returned: always
  type: list
  elements: dict
  sample: [{"disk": "/srv/shared/quorum.raw", "vms": [{"name": "db1", "hypervisor": "hv1"}, {"name": "db2", "hypervisor": "hv2"}]}]
actions:
  description: What the task did (or would do), in words.
  returned: always
  type: list
  elements: str
  sample: ["write the svg picture of 2 hypervisors to /tmp/cluster.svg"]
dot:
  description: The picture in Graphviz DOT.
  returned: always
  type: str
mermaid:
  description: The picture as a Mermaid flowchart.
  returned: always
  type: str
dest:
  description: The file written (or that would be).
  returned: when O(dest) is set
  type: str
format:
  description: The format of O(dest).
  returned: when O(dest) is set
  type: str
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import CollectionModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.topology.module import run_topology

ARGUMENT_SPEC = {
    "hypervisors": {"type": "list", "elements": "str", "required": True},
    "connect_timeout": {"type": "int", "default": 30},
    "dest": {"type": "path"},
    "format": {"type": "str", "choices": ["svg", "dot", "mermaid"]},
    "mode": {"type": "str", "default": "0644"},
}


def main() -> None:
    CollectionModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_topology)


if __name__ == "__main__":
    main()
