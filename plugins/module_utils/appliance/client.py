"""Reading a file inside the appliance through its QEMU guest agent (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import base64
import json
import typing as t

from .._core.client import LibvirtClient
from .._core.errors import CollectionError

try:
    import libvirt
    import libvirt_qemu
except ImportError:  # the libvirt binding ships both; require_libvirt() reports a missing binding
    libvirt = libvirt_qemu = None

AGENT_TIMEOUT = 10


class AgentError(CollectionError):
    """The guest agent did not answer (not started yet, or no channel)."""


def read_guest_file(client: LibvirtClient, dom: t.Any, path: str) -> t.Optional[str]:
    """The text of ``path`` in the running domain, or None when the guest has no such file (yet)."""
    name = dom.name()
    hint = f"domain {name} needs the guest agent channel (guest_agent: true) and qemu-ga running in it"
    opened = _agent(client, dom, hint, "guest-file-open", {"path": path, "mode": "r"}, missing_ok=True)
    if opened is None:
        return None
    try:
        chunk = _agent(client, dom, hint, "guest-file-read", {"handle": opened, "count": 65536})
        return base64.b64decode(chunk.get("buf-b64", "")).decode("utf-8", "replace")
    finally:
        _agent(client, dom, hint, "guest-file-close", {"handle": opened})


def _agent(
    client: LibvirtClient, dom: t.Any, hint: str, command: str, arguments: t.Dict[str, t.Any], missing_ok: bool = False
) -> t.Any:
    if libvirt_qemu is None:
        raise CollectionError("the Python module libvirt_qemu (part of the libvirt binding) is missing")
    request = json.dumps({"execute": command, "arguments": arguments})
    try:
        answer = libvirt_qemu.qemuAgentCommand(dom, request, AGENT_TIMEOUT, 0)
    except libvirt.libvirtError as err:  # the agent's own error text says what went wrong
        if missing_ok and "No such file" in str(err):
            return None
        raise AgentError(f"{command} in {dom.name()} on {client.uri} failed: {err}; {hint}") from err
    return json.loads(answer)["return"]
