# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options of every module (set once with module_defaults on group/sharedvirt.kvm.libvirt).
    DOCUMENTATION = r"""
options:
  uri:
    description:
      - The libvirt connection URI of the hypervisor, for example V(qemu:///system),
        V(qemu+ssh://root@host1/system) or V(qemu+tcp://10.0.0.11/system).
      - When not set, the environment variable E(LIBVIRT_DEFAULT_URI) on the host that runs the task is used,
        and then V(qemu:///system).
    type: str
  connect_timeout:
    description:
      - Seconds to wait for the connection to open before failing with the URI named in the message.
      - Open connections send keepalives, so a dead peer is noticed within about 20 seconds.
    type: int
    default: 30
requirements:
  - libvirt-python >= 9.0 on the host that runs the task
"""

    # The same options for lookup and inventory plugins, which run on the controller.
    PLUGINS = r"""
options:
  uri:
    description:
      - The libvirt connection URI of the hypervisor, for example V(qemu+ssh://root@host1/system).
      - When not set, E(LIBVIRT_DEFAULT_URI) on the controller is used, and then V(qemu:///system).
    type: str
    env:
      - name: LIBVIRT_DEFAULT_URI
  connect_timeout:
    description:
      - Seconds to wait for each connection to open.
    type: int
    default: 30
requirements:
  - libvirt-python >= 9.0 on the Ansible controller
"""
