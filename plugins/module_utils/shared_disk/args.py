"""The shared_disk module's options (also a step of the converge module)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.args import DISK_AUTH, HOSTS, PEERS

SHARED_DISK_SPEC: t.Dict[str, t.Any] = {
    "volume": {
        "type": "dict",
        "options": {"pool": {"type": "str", "required": True}, "name": {"type": "str", "required": True}},
    },
    "network": {
        "type": "dict",
        "options": {
            "protocol": {"type": "str", "required": True, "choices": ["iscsi", "rbd", "nfs", "gluster"]},
            "name": {"type": "str", "required": True},
            "hosts": HOSTS,
            "auth": DISK_AUTH,
        },
    },
    "capacity": {"type": "raw"},
    "format": {"type": "str", "default": "raw"},
    "target": {"type": "str", "required": True},
    "device": {"type": "str", "default": "disk", "choices": ["disk", "lun"]},
    "reservations": {"type": "str", "choices": ["managed"]},
    "bus": {"type": "str", "choices": ["virtio", "scsi", "sata"]},
    "serial": {"type": "str"},
    "wwn": {"type": "str"},
    "readonly": {"type": "bool", "default": False},
    "cache": {"type": "str", "default": "none"},
    "domains": {"type": "list", "elements": "str", "required": True},
    "detach_others": {"type": "bool", "default": False},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "delete_volume": {"type": "bool", "default": False},
    "peers": PEERS,
    "timeout": {"type": "int", "default": 120},
}


# One of the two ways to name the disk, never both.
SHARED_DISK_RULES: t.Dict[str, t.Any] = {
    "mutually_exclusive": [("volume", "network")],
    "required_one_of": [("volume", "network")],
}
