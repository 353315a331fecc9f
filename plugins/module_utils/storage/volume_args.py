"""The volume module's options: one volume (also each item of the volumes module), and the file transfers that
only the single module makes (its action plugin carries an upload from the controller)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.args import PEERS, STORAGE_TIMEOUT

VOLUME_ITEM_SPEC: t.Dict[str, t.Any] = {
    "pool": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "format": {"type": "str", "choices": ["raw", "qcow2", "vmdk", "vdi", "vhd", "vpc", "qed", "iso"]},
    "capacity": {"type": "raw"},
    "allocation": {"type": "str", "default": "thin", "choices": ["thin", "full"]},
    "clone_from": {
        "type": "dict",
        "options": {
            "pool": {"type": "str"},
            "name": {"type": "str", "required": True},
            "mode": {"type": "str", "default": "linked", "choices": ["linked", "full"]},
        },
    },
    "allow_shrink": {"type": "bool", "default": False},
    "overcommit": {
        "type": "dict",
        "options": {
            "ratio": {"type": "float", "required": True},
            "action": {"type": "str", "choices": ["fail", "warn"], "default": "fail"},
        },
    },
    "flatten": {"type": "bool", "default": False},
    "wipe": {
        "type": "str",
        "choices": ["zero", "nnsa", "dod", "bsi", "gutmann", "schneier", "pfitzner7", "pfitzner33", "random", "trim"],
    },
}

VOLUME_TRANSFERS: t.Dict[str, t.Any] = {
    "upload": {
        "type": "dict",
        "options": {
            "src": {"type": "path", "required": True},
            "remote_src": {"type": "bool", "default": False},
            "checksum": {"type": "str", "required": True},
            "source_format": {"type": "str", "choices": ["raw", "qcow2", "vmdk", "vdi", "vpc", "vhdx"]},
            "max_virtual_size": {"type": "int", "default": 1099511627776},
            "replace": {"type": "bool", "default": False},
        },
    },
    "download": {
        "type": "dict",
        "options": {"dest": {"type": "path", "required": True}, "mode": {"type": "str", "default": "0600"}},
    },
}

# The volumes module: many volume items over shared defaults.
VOLUMES_SPEC: t.Dict[str, t.Any] = {
    "volumes": {"type": "list", "elements": "dict", "required": True},
    "defaults": {"type": "dict", "default": {}},
    "timeout": STORAGE_TIMEOUT,
    "peers": PEERS,
}
