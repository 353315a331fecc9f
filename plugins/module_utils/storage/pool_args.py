"""The pool module's options (also a step of the converge module)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.args import PEERS, STORAGE_TIMEOUT

POOL_TYPES: t.List[str] = [
    "dir",
    "fs",
    "logical",
    "zfs",
    "disk",
    "scsi",
    "mpath",
    "netfs",
    "iscsi",
    "iscsi-direct",
    "rbd",
    "gluster",
]

POOL_SPEC: t.Dict[str, t.Any] = {
    "timeout": STORAGE_TIMEOUT,
    "name": {"type": "str", "required": True},
    "type": {"type": "str", "choices": POOL_TYPES},
    "source": {
        "type": "dict",
        "options": {
            "hosts": {
                "type": "list",
                "elements": "dict",
                "options": {"name": {"type": "str"}, "port": {"type": "int"}},
            },
            "device": {"type": "list", "elements": "str"},
            "dir": {"type": "str"},
            "name": {"type": "str"},
            "format": {"type": "str"},
            "adapter": {"type": "str"},
            "initiator": {"type": "str"},
            "auth": {
                "type": "dict",
                "options": {
                    "type": {"type": "str"},
                    "username": {"type": "str"},
                    "secret": {
                        "type": "dict",
                        "no_log": False,  # a reference to a libvirt secret, not the secret value
                        "options": {"usage": {"type": "str"}, "uuid": {"type": "str"}},
                    },
                },
            },
        },
    },
    "target": {
        "type": "dict",
        "options": {
            "path": {"type": "str"},
            "mode": {"type": "str"},
            "owner": {"type": "int"},
            "group": {"type": "int"},
        },
    },
    "xml": {"type": "str"},
    "state": {"type": "str", "default": "active", "choices": ["present", "active", "inactive", "absent"]},
    "autostart": {"type": "bool"},
    "build": {"type": "str", "default": "auto", "choices": ["auto", "never", "overwrite"]},
    "confirm": {"type": "str"},
    "purge": {"type": "bool", "default": False},
    "purge_volumes": {"type": "list", "elements": "str"},
    "refresh": {"type": "bool", "default": False},
    "tier": {"type": "str"},
    "force": {"type": "bool", "default": False},
    "peers": PEERS,
}
