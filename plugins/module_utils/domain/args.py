"""The domain module's argument spec (documented in modules/domain.py), shared with the domains module."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.args import DISK_AUTH, HOSTS, PEERS
from .limits_model import MEMTUNE, SCHEDULER, IotuneSpec
from .platform_model import HYPERV_FLAGS, TIMERS

# Rates take a unit (V(2MiB) per second), operation counts and burst lengths are whole numbers.
_IOTUNE: t.Dict[str, t.Any] = {
    name: {"type": "raw" if "bytes_sec" in name and not name.endswith("length") else "int"}
    for name in (f.name for f in dataclasses.fields(IotuneSpec))
}

_DISK_SOURCE: t.Dict[str, t.Any] = {
    "file": {"type": "str"},
    "dev": {"type": "str"},
    "pool": {"type": "str"},
    "volume": {"type": "str"},
    "protocol": {"type": "str", "choices": ["iscsi", "rbd", "nfs", "gluster", "nbd", "http", "https"]},
    "name": {"type": "str"},
    "hosts": HOSTS,
    "auth": DISK_AUTH,
}

DOMAIN_ARGUMENT_SPEC: t.Dict[str, t.Any] = {
    "name": {"type": "str"},
    "state": {
        "type": "str",
        "default": "present",
        "choices": ["present", "running", "shutdown", "paused", "restarted", "absent"],
    },
    "timeout": {"type": "int", "default": 120},
    "force": {"type": "bool", "default": False},
    "allowed_paths": {"type": "list", "elements": "str", "default": []},
    "autostart": {"type": "bool"},
    "recreate": {"type": "str", "default": "never", "choices": ["never", "options-changed", "always"]},
    "remove_storage": {"type": "str", "default": "none", "choices": ["none", "owned"]},
    "discard": {
        "type": "list",
        "elements": "str",
        "default": [],
        "choices": ["nvram", "tpm", "managed_save", "snapshots", "checkpoints"],
    },
    "overcommit": {
        "type": "dict",
        "options": {
            "vcpu_ratio": {"type": "float"},
            "memory_ratio": {"type": "float"},
            "action": {"type": "str", "default": "fail", "choices": ["fail", "warn"]},
        },
    },
    "xml": {"type": "str"},
    "type": {"type": "str", "choices": ["kvm", "qemu"]},
    "title": {"type": "str"},
    "description": {"type": "str"},
    "metadata": {"type": "dict"},
    "memory": {"type": "raw"},
    "current_memory": {"type": "raw"},
    "max_memory": {"type": "raw"},
    "max_memory_slots": {"type": "int"},
    "vcpus": {"type": "int"},
    "max_vcpus": {"type": "int"},
    "iothreads": {"type": "int"},
    "cpu": {
        "type": "dict",
        "options": {
            "mode": {"type": "str"},
            "model": {"type": "str"},
            "topology": {
                "type": "dict",
                "options": {k: {"type": "int"} for k in ("sockets", "dies", "cores", "threads")},
            },
        },
    },
    "cputune": {
        "type": "dict",
        "options": {
            "vcpupin": {
                "type": "list",
                "elements": "dict",
                "options": {"vcpu": {"type": "int", "required": True}, "cpuset": {"type": "str", "required": True}},
            },
            "emulatorpin": {"type": "str"},
            **{name: {"type": "int"} for name in SCHEDULER},
            "iothreadpin": {
                "type": "list",
                "elements": "dict",
                "options": {"iothread": {"type": "int", "required": True}, "cpuset": {"type": "str", "required": True}},
            },
        },
    },
    "memory_backing": {
        "type": "dict",
        "options": {"hugepages": {"type": "bool"}, "nosharepages": {"type": "bool"}, "locked": {"type": "bool"}},
    },
    "memtune": {"type": "dict", "options": {name: {"type": "raw"} for name in MEMTUNE}},
    "hyperv": {
        "type": "dict",
        "options": {**{flag: {"type": "bool"} for flag in HYPERV_FLAGS}, "spinlocks": {"type": "int"}},
    },
    "clock": {
        "type": "dict",
        "options": {
            "offset": {"type": "str", "choices": ["utc", "localtime"]},
            "timers": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "name": {"type": "str", "required": True, "choices": list(TIMERS)},
                    "present": {"type": "bool"},
                    "tickpolicy": {"type": "str", "choices": ["delay", "catchup", "merge", "discard"]},
                },
            },
        },
    },
    "inputs": {
        "type": "list",
        "elements": "dict",
        "options": {
            "type": {"type": "str", "required": True, "choices": ["tablet", "mouse", "keyboard"]},
            "bus": {"type": "str", "default": "usb", "choices": ["usb", "ps2", "virtio"]},
        },
    },
    "video": {
        "type": "dict",
        "options": {
            "model": {"type": "str", "choices": ["vga", "cirrus", "qxl", "virtio", "bochs", "ramfb", "none"]},
            "vram": {"type": "int"},
            "heads": {"type": "int"},
        },
    },
    "tpm": {
        "type": "dict",
        "options": {
            "model": {"type": "str", "default": "tpm-crb", "choices": ["tpm-crb", "tpm-tis"]},
            "backend": {"type": "str", "default": "emulator", "choices": ["emulator", "passthrough"]},
            "version": {"type": "str", "choices": ["2.0", "1.2"]},
            "device": {"type": "str"},
        },
    },
    "blkiotune": {"type": "dict", "options": {"weight": {"type": "int"}}},
    "memballoon": {"type": "str"},
    "arch": {"type": "str"},
    "machine": {"type": "str"},
    "cluster": {
        "type": "dict",
        "options": {
            "ha": {"type": "bool"},
            "priority": {"type": "int"},
            "maintenance_policy": {"type": "str", "choices": ["migrate", "shutdown", "stay"]},
            "anti_affinity": {"type": "str"},
            "record_pool": {"type": "str"},
        },
    },
    "watchdog": {
        "type": "dict",
        "options": {
            "model": {"type": "str", "choices": ["i6300esb", "ib700", "diag288", "itco", "none"]},
            "action": {
                "type": "str",
                "choices": ["reset", "shutdown", "poweroff", "pause", "none", "dump", "inject-nmi"],
            },
        },
    },
    "firmware": {"type": "str", "choices": ["bios", "efi"]},
    "secure_boot": {"type": "bool"},
    "kernel": {"type": "str"},
    "initrd": {"type": "str"},
    "cmdline": {"type": "str"},
    "boot": {"type": "list", "elements": "str"},
    "disks": {
        "type": "list",
        "elements": "dict",
        "options": {
            "target": {"type": "str", "required": True},
            "bus": {"type": "str", "choices": ["virtio", "scsi", "sata", "ide", "usb", "fdc"]},
            "device": {"type": "str", "default": "disk", "choices": ["disk", "cdrom", "lun"]},
            "source": {"type": "dict", "options": _DISK_SOURCE},
            "format": {"type": "str"},
            "cache": {
                "type": "str",
                "choices": ["none", "writethrough", "writeback", "directsync", "unsafe", "default"],
            },
            "io": {"type": "str", "choices": ["native", "threads", "io_uring"]},
            "discard": {"type": "str", "choices": ["unmap", "ignore"]},
            "serial": {"type": "str"},
            "wwn": {"type": "str"},
            "readonly": {"type": "bool"},
            "shareable": {"type": "bool"},
            "iotune": {"type": "dict", "options": _IOTUNE},
        },
    },
    "hostdevs": {
        "type": "list",
        "elements": "dict",
        "options": {
            "type": {"type": "str", "default": "pci", "choices": ["pci", "usb", "mdev"]},
            "address": {"type": "str", "required": True},
            "managed": {"type": "bool"},
            "model": {"type": "str", "choices": ["vfio-pci", "vfio-ccw", "vfio-ap"]},
        },
    },
    "interfaces": {
        "type": "list",
        "elements": "dict",
        "options": {
            "mac": {"type": "str"},
            "source": {
                "type": "dict",
                "required": True,
                "options": {
                    "network": {"type": "str"},
                    "portgroup": {"type": "str"},
                    "bridge": {"type": "str"},
                    "dev": {"type": "str"},
                    "mode": {"type": "str", "choices": ["bridge", "vepa", "private", "passthrough"]},
                    "hostdev": {"type": "str"},
                },
            },
            "model": {"type": "str"},
            "virtualport": {"type": "str", "choices": ["openvswitch", "802.1Qbh", "802.1Qbg"]},
            "vlan": {"type": "dict", "options": {"tag": {"type": "int"}}},
            "link_state": {"type": "str", "choices": ["up", "down"]},
        },
    },
    "graphics": {
        "type": "list",
        "elements": "dict",
        "options": {
            "type": {"type": "str", "required": True, "choices": ["vnc", "spice"]},
            "listen": {"type": "str"},
            "port": {"type": "int"},
            "password": {"type": "str", "no_log": True},
        },
    },
    "serial": {
        "type": "dict",
        "options": {"type": {"type": "str", "default": "pty", "choices": ["pty", "file"]}, "path": {"type": "str"}},
    },
    "guest_agent": {"type": "bool"},
    "lease": {"type": "path"},
}

# The domains module: many domain items over shared defaults, one connection.
DOMAINS_SPEC: t.Dict[str, t.Any] = {
    "domains": {"type": "list", "elements": "dict", "required": True},
    "defaults": {"type": "dict", "default": {}},
    "peers": PEERS,
}
