"""The shared_storage role's own options against this machine's libvirtd (its cluster behaviour, one pool on two
namespace hypervisors, is the molecule scenario extensions/molecule/shared_storage)."""

from __future__ import annotations

import contextlib
import typing as t
from pathlib import Path

import libvirt
import yaml
from testbed.ansible import PlaybookRun, playbook_ok, run_playbook
from testbed.lab import Lab


def role(**role_vars: t.Any) -> PlaybookRun:
    task = {"name": "Run it", "ansible.builtin.include_role": {"name": "sharedvirt.kvm.shared_storage"},
            "vars": {"shared_storage_boot_timeout": 0, **role_vars}}  # fmt: skip
    return run_playbook(yaml.safe_dump([{"name": "The role", "hosts": "localhost", "gather_facts": False,
                                         "tasks": [task]}]))  # fmt: skip


def test_the_pool_and_its_secret_go_to_the_libvirt_the_pools_uri_names(lab: Lab, prefix: str, tmp_path: Path) -> None:
    """``uri`` in shared_storage_pool is where the role works, not the libvirt the play would use without it (this
    machine's), where the role used to make the pool and its secret."""
    name, usage = f"{prefix}-ss", f"iqn.2026-12.org.sharedvirt:{prefix}"
    lab.pools.append(name)  # removed should the role make it here after all
    pool = {"name": name, "type": "dir", "target": {"path": str(tmp_path / "pool")}}

    def secret_here() -> bool:
        with contextlib.suppress(libvirt.libvirtError):
            lab.conn.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, usage)
            return True
        return False

    try:
        # libvirt's test driver (no secrets there): the pool is made in it. Each module run opens the driver
        # afresh, so the volume lists cannot be compared.
        made = playbook_ok(role(shared_storage_pool={"uri": "test:///default", **pool}, shared_storage_verify=False))
        assert "changed=1" in made.output, made.output
        assert name not in lab.conn.listStoragePools() + lab.conn.listDefinedStoragePools()
        # The secret follows the pool's uri: a libvirt that does not answer fails the role at the secret, and
        # nothing is made here.
        secret = {"usage_type": "iscsi", "usage_id": usage, "value": "svt-not-here"}
        nowhere = {"uri": f"qemu+unix:///system?socket={tmp_path / 'no-libvirtd'}", **pool}
        refused = role(shared_storage_pool=nowhere, shared_storage_secret=secret)
        assert refused.rc != 0 and "Secret of the shared pool" in refused.output, refused.output
        assert not secret_here()
        assert name not in lab.conn.listStoragePools() + lab.conn.listDefinedStoragePools()
    finally:
        with contextlib.suppress(libvirt.libvirtError):
            lab.conn.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, usage).undefine()
