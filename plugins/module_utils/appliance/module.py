"""The storage_appliance_info module (Ansible glue)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.errors import ConnectError
from .._core.module import LibvirtModule
from .client import AgentError, read_guest_file
from .model import STATUS_PATH, parse_status


def run_storage_appliance_info(module: LibvirtModule) -> t.Dict[str, t.Any]:
    name = module.params["name"]
    try:
        client = module.client()
    except ConnectError as err:
        if not module.params["allow_unreachable"]:
            raise
        return {"changed": False, "appliance": {"name": name, "reachable": False, "reason": err.message}}
    dom = client.domain(name)  # None when not defined
    appliance: t.Dict[str, t.Any] = {"name": name, "reachable": True, "defined": dom is not None, "running": False}
    if dom is not None and dom.isActive():
        appliance["running"] = True
        appliance.update(_status(client, dom))
    return {"changed": False, "appliance": appliance}


def _status(client: t.Any, dom: t.Any) -> t.Dict[str, t.Any]:
    """The appliance's report; role unknown while its agent or its script has not started."""
    try:
        text = read_guest_file(client, dom, STATUS_PATH)
    except AgentError as err:
        return {"role": "unknown", "reason": err.message, "volumes": [], "degraded": []}
    if text is None:
        return {"role": "unknown", "reason": "the appliance has not reported yet", "volumes": [], "degraded": []}
    return parse_status(text)
