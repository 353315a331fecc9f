"""Load this collection's lookup, filter and inventory plugins in-process, as Ansible does."""

from __future__ import annotations

import typing as t

from .paths import COLLECTIONS, link_collection

link_collection()

from ansible.plugins.loader import init_plugin_loader, lookup_loader  # noqa: E402
from ansible.utils.collection_loader import AnsibleCollectionConfig  # noqa: E402


def init_collection_loader() -> None:
    """Ansible's collection finder over the test tree, once per process: under pytest, pytest-ansible
    (--ansible-unit-inject-only) has installed it already; the benchmarks call this themselves."""
    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader([str(COLLECTIONS)])


def lookup(name: str, *terms: t.Any, **options: t.Any) -> list[t.Any]:
    """``query('sharedvirt.kvm.<name>', *terms, **options)``: the plugin's list, unmodified."""
    init_collection_loader()
    plugin = lookup_loader.get(f"sharedvirt.kvm.{name}")
    assert plugin is not None, f"lookup sharedvirt.kvm.{name} not found"
    return t.cast(list[t.Any], plugin.run(list(terms), variables={}, **options))
