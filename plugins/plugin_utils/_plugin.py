# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this plugin util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.
"""Glue for lookup and inventory plugins: connections and the one path to AnsibleError."""

from __future__ import annotations

import contextlib
import typing as t

from ansible.errors import AnsibleError
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.sharedvirt.kvm.plugins.module_utils._client import LibvirtClient
from ansible_collections.sharedvirt.kvm.plugins.module_utils._errors import (
    CollectionError,
    LibvirtError,
    MissingLibrary,
)


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
