"""One inventory parse timed inside a Python that has imported and initialised Ansible already (the plugin's
own cost).

Usage: inventory_inproc.py [--profile] SOURCE... -- prints {"seconds": ..., "hosts": ...}; with --profile the
parse runs under cProfile and "profile" lists where its time went: [label, cumulative seconds, calls].
"""

from __future__ import annotations

import contextlib
import cProfile
import json
import pstats
import sys
import time
import typing as t

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader

# (label, file suffix, function name): the parts of a parse worth telling apart, cumulative (they nest).
PARTS = (
    ("find and load the plugins (our code, our documented options)", "ansible/plugins/loader.py", "get_with_context"),
    ("whole parse (InventoryModule.parse)", "inventory/libvirt.py", "parse"),
    ("connect to the hypervisors", "plugin_utils/_plugin.py", "open_hypervisors"),
    ("read every hypervisor (libvirt calls, XML, addresses)", "inventory/libvirt.py", "read_all"),
    ("libvirt: domain XML", "libvirt.py", "XMLDesc"),
    ("parse domain XML", "ElementTree.py", "XML"),
    ("resolve addresses", "addresses/resolve.py", "resolve"),
    ("populate (hosts, variables, groups)", "inventory/libvirt.py", "populate"),
    ("make_unsafe", "plugin_utils/_plugin.py", "make_unsafe"),
    ("Ansible: set_variable (tags every value)", "inventory/manager.py", "set_variable"),
    ("Ansible: add_host", "inventory/data.py", "add_host"),
    ("Ansible: add_group + add_child", "inventory/data.py", "add_child"),
    ("constructed: compose, groups, keyed_groups", "plugins/inventory/__init__.py", "_set_composite_vars"),
)


def summary(stats: pstats.Stats) -> t.List[t.Tuple[str, float, int]]:
    table = stats.stats  # type: ignore[attr-defined]  # {(file, line, func): (cc, nc, tt, ct, callers)}
    out = []
    for label, suffix, name in PARTS:
        hits = [v for (file, _line, func), v in table.items() if func == name and file.endswith(suffix)]
        out.append((label, round(sum(v[3] for v in hits), 4), sum(v[1] for v in hits)))
    return out


def main(args: t.List[str]) -> None:
    profile = "--profile" in args
    sources = [a for a in args if a != "--profile"]
    init_plugin_loader()
    loader = DataLoader()
    # Ansible's own first-use work (its builtin routing table, ~0.14 s here) happens in every ansible-inventory
    # run whatever the plugin; a trivial inventory does it first, so that only the plugin's cost is timed.
    InventoryManager(loader=loader, sources=["localhost,"])
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with profiler if profile else contextlib.nullcontext():
        inventory = InventoryManager(loader=loader, sources=sources)
    seconds = time.perf_counter() - started
    result: t.Dict[str, t.Any] = {"seconds": seconds, "hosts": len(inventory.get_hosts())}
    if profile:
        result["profile"] = summary(pstats.Stats(profiler))
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
