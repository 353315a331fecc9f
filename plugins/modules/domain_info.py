#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: domain_info
short_description: Facts about libvirt domains
version_added: 0.1.0
description:
  - Lists the domains of a hypervisor with the same normalised facts the M(sharedvirt.kvm.domain)
    module returns, filtered by name pattern, state and metadata, over a read-only connection.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
  - sharedvirt.kvm.attributes.info_module
options:
  name:
    description: Only domains whose name matches this shell pattern (V(web*), V(db-[0-9])).
    type: str
  state:
    description: Only domains in this state group.
    type: str
    choices: [running, paused, shutoff]
  metadata:
    description: Only domains whose collection metadata has all these key/value pairs.
    type: dict
  xml:
    description: Also return each domain's persistent XML (display passwords masked).
    type: bool
    default: false
  query:
    description:
      - A JMESPath expression applied to RV(domains); its value is returned as RV(query_result).
      - Needs the jmespath library where the task runs.
    type: str
requirements:
  - jmespath (only for O(query))
"""

EXAMPLES = r"""
- name: All running web guests
  sharedvirt.kvm.domain_info:
    name: "web*"
    state: running
  register: web

- name: MACs of the guests of group db
  sharedvirt.kvm.domain_info:
    metadata: {group: db}
    query: "[].{name: name, macs: interfaces[].mac}"
  register: db
"""

RETURN = r"""
domains:
  description: The matching domains, sorted by name, with the facts M(sharedvirt.kvm.domain) returns.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "web1", "state": "running", "persistent": true, "autostart": false, "vcpus": 2,
            "memory": 1073741824, "interfaces": [{"mac": "52:54:00:fa:61:75", "source": {"network": "lab"}}],
            "metadata": {"group": "web"}, "job": null, "block_jobs": []}]
  contains:
    job:
      description:
        - The domain job that runs now (a migration, save, snapshot or backup) with its progress - C(operation),
          C(elapsed_ms), C(data_total), C(data_processed), C(data_remaining) (bytes), C(percent) and, for a
          migration, C(downtime_ms). Null when none runs.
      type: dict
      sample: {"operation": "migration_out", "elapsed_ms": 5200, "data_total": 1073741824, "percent": 41.3}
    block_jobs:
      description:
        - Each disk's block job (a copy by M(sharedvirt.kvm.disk_move), a pull by O(sharedvirt.kvm.volume#module:flatten),
          a commit) - C(disk), C(type), C(done_bytes), C(total_bytes), C(percent), C(ready) (the copy is in step and
          can pivot) and C(bandwidth) (MiB/s, 0 for no limit).
      type: list
      elements: dict
      sample: [{"disk": "vda", "type": "copy", "done_bytes": 20971520, "total_bytes": 50331648, "percent": 41.7,
                "ready": false, "bandwidth": 1}]
query_result:
  description: The value of O(query) over RV(domains).
  returned: when O(query) is set
  type: raw
  sample: [{"name": "web1", "macs": ["52:54:00:fa:61:75"]}]
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.module import run_domain_info

ARGUMENT_SPEC = {
    "name": {"type": "str"},
    "state": {"type": "str", "choices": ["running", "paused", "shutoff"]},
    "metadata": {"type": "dict"},
    "xml": {"type": "bool", "default": False},
    "query": {"type": "str"},
}


def main() -> None:
    module = LibvirtModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.run(run_domain_info)


if __name__ == "__main__":
    main()
