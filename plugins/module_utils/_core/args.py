"""Argument-spec pieces several modules share (each module still documents them itself)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

# Storage servers of a network disk or pool: host name or address, and port.
HOSTS: t.Dict[str, t.Any] = {
    "type": "list",
    "elements": "dict",
    "options": {"name": {"type": "str"}, "port": {"type": "int"}},
}

# Credentials of a network disk: a user name and a reference to a libvirt secret.
DISK_AUTH: t.Dict[str, t.Any] = {
    "type": "dict",
    "options": {
        "username": {"type": "str"},
        "secret": {
            "type": "dict",
            "no_log": False,  # a reference to a libvirt secret, not the secret value
            "options": {"type": {"type": "str"}, "usage": {"type": "str"}, "uuid": {"type": "str"}},
        },
    },
}

# The other hypervisors of the cluster, asked by every "in use" and "running" check.
PEERS: t.Dict[str, t.Any] = {"type": "list", "elements": "str", "default": []}

# The bound of calls that can wait on a storage server (documented by the connection.storage_timeout fragment).
STORAGE_TIMEOUT: t.Dict[str, t.Any] = {"type": "int", "default": 120}
