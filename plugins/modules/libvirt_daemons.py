#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_daemons
short_description: Keep libvirt's daemons running on hosts whose PID 1 is not systemd
version_added: 0.1.0
description:
  - Starts virtlogd, virtlockd and libvirtd (in that order) with pid files when they do not run, and
    restarts them on request (for example from a handler after a configuration change).
  - For containers and minimal hosts without systemd. On systemd hosts use M(ansible.builtin.systemd_service);
    this module refuses to run there so that the two never fight over a daemon.
  - Guests keep running across a libvirtd restart.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.attributes
options:
  daemons:
    description: The daemons to manage.
    type: list
    elements: str
    choices: [virtlogd, virtlockd, libvirtd]
    default: [virtlogd, libvirtd]
  state:
    description: V(started) starts what does not run; V(restarted) restarts every daemon in O(daemons).
    type: str
    choices: [started, restarted]
    default: started
  listen:
    description:
      - Start libvirtd with C(--listen), which its TCP and TLS listeners (C(listen_tcp), C(listen_tls) in
        libvirtd.conf) need without systemd; a running libvirtd without it is restarted.
    type: bool
    default: false
  pid_dir:
    description: Where the pid files are (C(<daemon>.pid)).
    type: path
    default: /run
  timeout:
    description: Seconds to wait for a daemon to start or stop.
    type: int
    default: 30
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
    description: With O(state=started), running daemons (with C(--listen) when asked for) report no change.
"""

EXAMPLES = r"""
- name: Make sure libvirt runs (container without systemd)
  sharedvirt.kvm.libvirt_daemons:

- name: Restart libvirtd after a configuration change, listening on TCP
  sharedvirt.kvm.libvirt_daemons:
    daemons: [libvirtd]
    state: restarted
    listen: true
"""

RETURN = r"""
actions:
  description: What the run did (or would do, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["start virtlogd", "start libvirtd"]
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import CollectionModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.host.daemons_module import run_daemons

ARGUMENT_SPEC = {
    "daemons": {
        "type": "list",
        "elements": "str",
        "choices": ["virtlogd", "virtlockd", "libvirtd"],
        "default": ["virtlogd", "libvirtd"],
    },
    "state": {"type": "str", "choices": ["started", "restarted"], "default": "started"},
    "listen": {"type": "bool", "default": False},
    "pid_dir": {"type": "path", "default": "/run"},
    "timeout": {"type": "int", "default": 30},
}


def main() -> None:
    CollectionModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_daemons)


if __name__ == "__main__":
    main()
