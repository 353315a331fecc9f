"""Ansible glue of the libvirt_daemons module."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import os
import typing as t

from .._core.errors import CollectionError
from .._core.module import CollectionModule
from . import daemons


def run_daemons(module: CollectionModule) -> t.Dict[str, t.Any]:
    params = module.params
    if os.path.isdir("/run/systemd/system"):
        raise CollectionError(
            "systemd manages services on this host; use ansible.builtin.systemd_service for libvirt's daemons"
        )
    pid_dir, listen, timeout = params["pid_dir"], params["listen"], params["timeout"]
    current = {d: daemons.running(d, pid_dir) for d in params["daemons"]}
    steps = daemons.plan_daemons(params["daemons"], params["state"], listen, current)
    if not module.check_mode:
        for action, daemon in steps:
            if action == "restart":
                daemons.stop(daemon, pid_dir, timeout)
            daemons.start(daemon, pid_dir, listen, timeout)
    return {"changed": bool(steps), "actions": [f"{action} {daemon}" for action, daemon in steps]}
