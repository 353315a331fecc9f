"""Glue for lookup and inventory plugins: connections and the one path to AnsibleError."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this plugin util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import contextlib
import dataclasses
import typing as t

from ansible.errors import AnsibleError
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.client import LibvirtClient, resolve_uri
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import (
    AuthError,
    CollectionError,
    LibvirtError,
    MissingLibrary,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.client import LibvirtKnowledge


def to_ansible_error(err: CollectionError, error_class: t.Type[AnsibleError] = AnsibleError) -> AnsibleError:
    """The AnsibleError (or subclass) that reports ``err`` to the user."""
    message = err.message
    if isinstance(err, MissingLibrary):
        message = f"{message} (plugins run on the Ansible controller)"
    elif isinstance(err, LibvirtError) and err.code is not None:
        message = f"{message} [libvirt error {err.code}]"
    return error_class(message)


@contextlib.contextmanager
def ansible_errors(error_class: t.Type[AnsibleError] = AnsibleError) -> t.Iterator[None]:
    """Context manager: collection errors inside leave as ``error_class``."""
    try:
        yield
    except CollectionError as err:
        raise to_ansible_error(err, error_class) from err


def connect(uri: t.Optional[str], timeout: float, readonly: bool = True) -> LibvirtClient:
    """A connection for a plugin; read-only unless the plugin has to write."""
    return LibvirtClient.connect(uri, readonly=readonly, timeout=timeout)


def make_unsafe(value: t.Any) -> t.Any:
    """Mark values that come from libvirt or guests as unsafe, so Jinja never evaluates them."""
    return wrap_var(value)


@dataclasses.dataclass
class Hypervisors:
    """Open connections (one per URI) and the URIs that could not be reached, with why."""

    knowledge: t.List[LibvirtKnowledge]
    unreachable: t.Dict[str, str]

    def close(self) -> None:
        for item in self.knowledge:
            item.client.close()


def open_hypervisors(
    uris: t.Sequence[t.Optional[str]],
    timeout: float,
    agent: bool,
    probe_limit: int = 1024,
    probe_rate: float = 200.0,
    neighbour_route: str = "auto",
) -> Hypervisors:
    """Connect to every URI. The agent source needs read-write; without that right we read only."""
    opened = Hypervisors([], {})
    for uri in dict.fromkeys(uris or [None]):
        try:
            try:
                client = connect(uri, timeout, readonly=not agent)
            except AuthError:
                if not agent:
                    raise
                client = connect(uri, timeout, readonly=True)
        except CollectionError as err:
            opened.unreachable[resolve_uri(uri)] = str(to_ansible_error(err))
            continue
        opened.knowledge.append(
            LibvirtKnowledge(
                client,
                probe_limit=probe_limit,
                probe_rate=probe_rate,
                neighbour_route=neighbour_route,
                connect_timeout=int(timeout),
            )
        )
    return opened
