"""One inventory parse timed inside a Python that has imported Ansible already (the plugin's own cost).

Usage: inventory_inproc.py SOURCE... -- prints {"seconds": ..., "hosts": ...}.
"""

from __future__ import annotations

import json
import sys
import time
import typing as t

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader


def main(sources: t.List[str]) -> None:
    init_plugin_loader()
    loader = DataLoader()
    started = time.perf_counter()
    inventory = InventoryManager(loader=loader, sources=sources)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "hosts": len(inventory.get_hosts())}))


if __name__ == "__main__":
    main(sys.argv[1:])
